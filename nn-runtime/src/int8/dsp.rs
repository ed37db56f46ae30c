//! The Cortex-M4/M7 inner loops of [`dot4`](super::packed::dot4) and
//! [`dot2x2`](super::packed::dot2x2), with the DSP extension through `asm!`.
//!
//! `dot4` (four rows, one input): per column pair, one `LDR` of the input pair, one
//! `LDRD` of the two weight words, four `SXTB16` and four `SMLAD` — eight
//! multiply-accumulates in ten instructions. `dot2x2` (two rows, two inputs whose pairs
//! are interleaved): one `LDR` of the rows' weight word, one `LDRD` of the two inputs'
//! pairs, two `SXTB16` and four `SMLAD` — eight in eight. The main loops run eight pairs
//! per pass, further loops the pairs left over. The passes are written out, not
//! `.rept`: LLVM sizes an `asm!` block by its lines when it places constant pools, so a
//! `.rept` that hides the size can leave a pool out of a load's reach.

use core::arch::asm;

use super::requant::Short;

/// The instructions of one column pair: the words at `{xp}` and `{wp}` (both advanced)
/// multiplied into the accumulators `{a0}`…`{a3}`.
macro_rules! column_pair {
    () => {
        concat!(
            "ldr {x}, [{xp}], #4\n",
            "ldrd {w0}, {w1}, [{wp}], #8\n",
            "sxtb16 {t}, {w0}\n",
            "sxtb16 {w0}, {w0}, ror #8\n",
            "smlad {a0}, {t}, {x}, {a0}\n",
            "smlad {a1}, {w0}, {x}, {a1}\n",
            "sxtb16 {t}, {w1}\n",
            "sxtb16 {w1}, {w1}, ror #8\n",
            "smlad {a2}, {t}, {x}, {a2}\n",
            "smlad {a3}, {w1}, {x}, {a3}\n",
        )
    };
}

/// Adds `pairs` column pairs, `per_pass` at a time, from `x` and `w` into `acc`.
///
/// # Safety
/// `x` must hold `pairs` words and `w` twice as many, 4-byte aligned (LDRD needs it);
/// `pairs` must be a positive multiple of `per_pass`, which is 1 or 8.
#[inline(always)]
unsafe fn accumulate(w: *const [u32; 2], x: *const u32, pairs: usize, per_pass: usize, acc: &mut [i32; 4]) {
    let [mut a0, mut a1, mut a2, mut a3] = *acc;
    // SAFETY: the caller's contract: every word read is in bounds and aligned.
    unsafe {
        if per_pass == 8 {
            asm!(
                "2:",
                column_pair!(),
                column_pair!(),
                column_pair!(),
                column_pair!(),
                column_pair!(),
                column_pair!(),
                column_pair!(),
                column_pair!(),
                "subs {n}, {n}, #1",
                "bne 2b",
                xp = inout(reg) x => _, wp = inout(reg) w => _, n = inout(reg) pairs / 8 => _,
                x = out(reg) _, w0 = out(reg) _, w1 = out(reg) _, t = out(reg) _,
                a0 = inout(reg) a0, a1 = inout(reg) a1, a2 = inout(reg) a2, a3 = inout(reg) a3,
                options(nostack, readonly),
            );
        } else {
            asm!(
                "2:",
                column_pair!(),
                "subs {n}, {n}, #1",
                "bne 2b",
                xp = inout(reg) x => _, wp = inout(reg) w => _, n = inout(reg) pairs => _,
                x = out(reg) _, w0 = out(reg) _, w1 = out(reg) _, t = out(reg) _,
                a0 = inout(reg) a0, a1 = inout(reg) a1, a2 = inout(reg) a2, a3 = inout(reg) a3,
                options(nostack, readonly),
            );
        }
    }
    *acc = [a0, a1, a2, a3];
}

/// See [`dot4`](super::packed::dot4).
#[inline]
pub(crate) fn dot4<const PAIRS: usize>(w: &[[u32; 2]; PAIRS], x: &[u32; PAIRS]) -> [i32; 4] {
    let mut acc = [0i32; 4];
    let main = PAIRS / 8 * 8;
    if main > 0 {
        // SAFETY: `main ≤ PAIRS` pairs of two arrays of `PAIRS` (aligned) elements.
        unsafe { accumulate(w.as_ptr(), x.as_ptr(), main, 8, &mut acc) };
    }
    if PAIRS > main {
        // SAFETY: the `PAIRS − main` pairs after the first `main`, in bounds.
        unsafe { accumulate(w[main..].as_ptr(), x[main..].as_ptr(), PAIRS - main, 1, &mut acc) };
    }
    acc
}

/// The instructions of one column pair of `dot2x2`: the weight word at `{wp}` (rows 0–1,
/// advanced past both words of the pair) and the two inputs' pairs at `{xp}` into
/// `{a00}` (row 0 · input A), `{a01}` (row 0 · B), `{a10}` and `{a11}`.
macro_rules! column_pair_2x2 {
    () => {
        concat!(
            "ldr {w}, [{wp}], #8\n",
            "ldrd {xa}, {xb}, [{xp}], #8\n",
            "sxtb16 {t}, {w}\n",
            "sxtb16 {w}, {w}, ror #8\n",
            "smlad {a00}, {t}, {xa}, {a00}\n",
            "smlad {a01}, {t}, {xb}, {a01}\n",
            "smlad {a10}, {w}, {xa}, {a10}\n",
            "smlad {a11}, {w}, {xb}, {a11}\n",
        )
    };
}

/// `$n` (8, 4 or 1) copies of [`column_pair_2x2`].
macro_rules! pairs_2x2 {
    (8) => {
        concat!(pairs_2x2!(4), pairs_2x2!(4))
    };
    (4) => {
        concat!(column_pair_2x2!(), column_pair_2x2!(), column_pair_2x2!(), column_pair_2x2!())
    };
    (1) => {
        column_pair_2x2!()
    };
}

/// One `asm!` loop of `dot2x2`: `$per_pass` column pairs per pass, `$passes` passes;
/// the pointers advance (`$w => $w_end`, `$x => $x_end`: `_` drops them).
macro_rules! loop_2x2 {
    ($per_pass:tt, $w:ident => $w_end:tt, $x:ident => $x_end:tt, $passes:expr, $acc:expr) => {
        asm!(
            "2:",
            pairs_2x2!($per_pass),
            "subs {n}, {n}, #1",
            "bne 2b",
            wp = inout(reg) $w => $w_end, xp = inout(reg) $x => $x_end, n = inout(reg) $passes => _,
            w = out(reg) _, t = out(reg) _, xa = out(reg) _, xb = out(reg) _,
            a00 = inout(reg) $acc[0], a01 = inout(reg) $acc[1], a10 = inout(reg) $acc[2], a11 = inout(reg) $acc[3],
            options(nostack, readonly),
        )
    };
}

/// See [`dot2x2`](super::packed::dot2x2).
#[inline]
pub(crate) fn dot2x2(w: &[[u32; 2]], half: usize, x: &[[u32; 2]], acc: [i32; 4]) -> [i32; 4] {
    let pairs = x.len();
    assert!(w.len() == pairs && half < 2, "the weights and the inputs hold different numbers of pairs");
    let mut acc = acc;
    let mut wp: *const u32 = w.as_flattened()[half..].as_ptr();
    let mut xp: *const [u32; 2] = x.as_ptr();
    // SAFETY: the loops read `pairs` pairs in all: words `2p + half` of `w` and the
    // (4-byte aligned, as LDRD needs) pairs of `x`, each in bounds.
    unsafe {
        if pairs >= 8 {
            loop_2x2!(8, wp => wp, xp => xp, pairs / 8, acc);
        }
        if pairs % 8 >= 4 {
            loop_2x2!(4, wp => wp, xp => xp, 1usize, acc);
        }
        if !pairs.is_multiple_of(4) {
            loop_2x2!(1, wp => _, xp => _, pairs % 4, acc);
        }
    }
    acc
}

/// See [`apply_2x2`](super::requant::apply_2x2): per row, `LDRD` and `LDR` of its
/// constants, then per accumulator `LSL`, `SMMLAR`, `ADD … ASR #31`, `ASR`, `ADD` of the
/// zero point, `SSAT #8` and the clamp at `act_min`.
#[inline(always)]
pub(crate) fn short_2x2(acc: [i32; 4], rows: &[Short; 2], zero_point: i32, act_min: i32) -> [i8; 4] {
    let [mut a0, mut b0, mut a1, mut b1] = acc;
    // SAFETY: reads the two `repr(C)` `Short`s `rows` points to (24 bytes); registers only
    // otherwise.
    unsafe {
        asm!(
            "ldrd {m}, {r}, [{p}]",
            "ldr {s}, [{p}, #8]",
            "lsl {t}, {a0}, #1",
            "smmlar {t}, {t}, {m}, {r}",
            "add {a0}, {t}, {a0}, asr #31",
            "asr {a0}, {a0}, {s}",
            "lsl {t}, {b0}, #1",
            "smmlar {t}, {t}, {m}, {r}",
            "add {b0}, {t}, {b0}, asr #31",
            "asr {b0}, {b0}, {s}",
            "ldrd {m}, {r}, [{p}, #12]",
            "ldr {s}, [{p}, #20]",
            "lsl {t}, {a1}, #1",
            "smmlar {t}, {t}, {m}, {r}",
            "add {a1}, {t}, {a1}, asr #31",
            "asr {a1}, {a1}, {s}",
            "lsl {t}, {b1}, #1",
            "smmlar {t}, {t}, {m}, {r}",
            "add {b1}, {t}, {b1}, asr #31",
            "asr {b1}, {b1}, {s}",
            "add {a0}, {a0}, {zp}",
            "add {b0}, {b0}, {zp}",
            "add {a1}, {a1}, {zp}",
            "add {b1}, {b1}, {zp}",
            "ssat {a0}, #8, {a0}",
            "ssat {b0}, #8, {b0}",
            "ssat {a1}, #8, {a1}",
            "ssat {b1}, #8, {b1}",
            "cmp {a0}, {amin}",
            "it lt",
            "movlt {a0}, {amin}",
            "cmp {b0}, {amin}",
            "it lt",
            "movlt {b0}, {amin}",
            "cmp {a1}, {amin}",
            "it lt",
            "movlt {a1}, {amin}",
            "cmp {b1}, {amin}",
            "it lt",
            "movlt {b1}, {amin}",
            p = in(reg) rows.as_ptr(), zp = in(reg) zero_point, amin = in(reg) act_min,
            m = out(reg) _, r = out(reg) _, s = out(reg) _, t = out(reg) _,
            a0 = inout(reg) a0, b0 = inout(reg) b0, a1 = inout(reg) a1, b1 = inout(reg) b1,
            options(pure, readonly, nostack),
        );
    }
    [a0 as i8, b0 as i8, a1 as i8, b1 as i8]
}

/// See [`apply_pair`](super::requant::apply_pair): the channel's constants by `LDRD`
/// and `LDR`, then per accumulator the instructions of [`short_2x2`].
#[inline(always)]
pub(crate) fn short_pair(acc: [i32; 2], short: &Short, zero_point: i32, act_min: i32) -> [i8; 2] {
    let [mut a0, mut a1] = acc;
    // SAFETY: reads the `repr(C)` `Short` `short` points to (12 bytes); registers only
    // otherwise.
    unsafe {
        asm!(
            "ldrd {m}, {r}, [{p}]",
            "ldr {s}, [{p}, #8]",
            "lsl {t}, {a0}, #1",
            "smmlar {t}, {t}, {m}, {r}",
            "add {a0}, {t}, {a0}, asr #31",
            "asr {a0}, {a0}, {s}",
            "lsl {t}, {a1}, #1",
            "smmlar {t}, {t}, {m}, {r}",
            "add {a1}, {t}, {a1}, asr #31",
            "asr {a1}, {a1}, {s}",
            "add {a0}, {a0}, {zp}",
            "add {a1}, {a1}, {zp}",
            "ssat {a0}, #8, {a0}",
            "ssat {a1}, #8, {a1}",
            "cmp {a0}, {amin}",
            "it lt",
            "movlt {a0}, {amin}",
            "cmp {a1}, {amin}",
            "it lt",
            "movlt {a1}, {amin}",
            p = in(reg) short as *const Short, zp = in(reg) zero_point, amin = in(reg) act_min,
            m = out(reg) _, r = out(reg) _, s = out(reg) _, t = out(reg) _,
            a0 = inout(reg) a0, a1 = inout(reg) a1,
            options(pure, readonly, nostack),
        );
    }
    [a0 as i8, a1 as i8]
}

/// See `widen` in [`depthwise`](super::depthwise): the `rows` rows of `w` inputs at `x`
/// in 16 bits into the rows of `width` at `values`, one `asm!` loop: per four inputs
/// `LDR`, `SXTB16` of the even and of the odd ones, `PKHBT`/`PKHTB` back into order and
/// two `STR`; per input left over `LDRSB` and `STRH`.
///
/// # Safety
/// `x` holds `rows · w` inputs and `values` `(rows − 1) · width + w` values; `0 < w ≤ width`
/// and `rows > 0`.
#[inline(always)]
pub(crate) unsafe fn widen(x: *const i8, w: usize, rows: usize, values: *mut i16, width: usize) {
    let k: [u32; 3] = [(w / 4) as u32, (w % 4) as u32, (2 * (width - w)) as u32];
    // SAFETY: the caller's bounds; the loop reads the 12 bytes of `k`; M4 loads and
    // stores words at any byte boundary.
    unsafe {
        asm!(
            "2:",
            "ldr {n}, [{k}]",
            "cmp {n}, #0",
            "beq 4f",
            "3:",
            "ldr {t}, [{xp}], #4",
            "sxtb16 {e}, {t}",
            "sxtb16 {o}, {t}, ror #8",
            "pkhbt {t}, {e}, {o}, lsl #16",
            "pkhtb {e}, {o}, {e}, asr #16",
            "str {t}, [{vp}], #4",
            "str {e}, [{vp}], #4",
            "subs {n}, {n}, #1",
            "bne 3b",
            "4:",
            "ldr {n}, [{k}, #4]",
            "cmp {n}, #0",
            "beq 6f",
            "5:",
            "ldrsb {t}, [{xp}], #1",
            "strh {t}, [{vp}], #2",
            "subs {n}, {n}, #1",
            "bne 5b",
            "6:",
            "ldr {t}, [{k}, #8]",
            "add {vp}, {vp}, {t}",
            "subs {rows}, {rows}, #1",
            "bne 2b",
            xp = inout(reg) x => _, vp = inout(reg) values => _, rows = inout(reg) rows => _,
            k = in(reg) k.as_ptr(),
            n = out(reg) _, t = out(reg) _, e = out(reg) _, o = out(reg) _,
            options(nostack),
        );
    }
}

/// The multiply-accumulates of a pair of depthwise outputs of stride `$s` at `{p}`
/// (three kernel rows `{rs}` bytes apart, the taps and bias from `{k}`), requantised
/// in the short form with the constants at `{k}` + 28 and stored at `{y}` (advanced).
macro_rules! depthwise_stripe_pair {
    ($s:tt) => {
        concat!(
            "ldr {a0}, [{k}, #24]\n",
            "mov {a1}, {a0}\n",
            "ldrd {w01}, {w2}, [{k}]\n",
            depthwise_stripe_row!($s, "{p}"),
            "add {q}, {p}, {rs}\n",
            "ldrd {w01}, {w2}, [{k}, #8]\n",
            depthwise_stripe_row!($s, "{q}"),
            "add {q}, {q}, {rs}\n",
            "ldrd {w01}, {w2}, [{k}, #16]\n",
            depthwise_stripe_row!($s, "{q}"),
            "ldrd {w01}, {w2}, [{k}, #28]\n",
            "ldr {q}, [{k}, #36]\n",
            "lsl {t}, {a0}, #1\n",
            "smmlar {t}, {t}, {w01}, {w2}\n",
            "add {a0}, {t}, {a0}, asr #31\n",
            "asr {a0}, {a0}, {q}\n",
            "lsl {t}, {a1}, #1\n",
            "smmlar {t}, {t}, {w01}, {w2}\n",
            "add {a1}, {t}, {a1}, asr #31\n",
            "asr {a1}, {a1}, {q}\n",
            "ldrd {w01}, {w2}, [{k}, #40]\n",
            "add {a0}, {a0}, {w01}\n",
            "add {a1}, {a1}, {w01}\n",
            "ssat {a0}, #8, {a0}\n",
            "ssat {a1}, #8, {a1}\n",
            "bfi {a0}, {a1}, #8, #8\n",
            "ssub8 {t}, {a0}, {w2}\n",
            "sel {a0}, {a0}, {w2}\n",
            "strh {a0}, [{y}], #2\n",
        )
    };
}

/// The one depthwise output at `{p}` (any stride), as [`depthwise_stripe_pair`] does
/// a pair's first.
macro_rules! depthwise_stripe_one {
    () => {
        concat!(
            "ldr {a0}, [{k}, #24]\n",
            "ldrd {w01}, {w2}, [{k}]\n",
            "ldr {t}, [{p}]\n",
            "smlad {a0}, {w01}, {t}, {a0}\n",
            "ldr {t}, [{p}, #4]\n",
            "smlabb {a0}, {w2}, {t}, {a0}\n",
            "add {q}, {p}, {rs}\n",
            "ldrd {w01}, {w2}, [{k}, #8]\n",
            "ldr {t}, [{q}]\n",
            "smlad {a0}, {w01}, {t}, {a0}\n",
            "ldr {t}, [{q}, #4]\n",
            "smlabb {a0}, {w2}, {t}, {a0}\n",
            "add {q}, {q}, {rs}\n",
            "ldrd {w01}, {w2}, [{k}, #16]\n",
            "ldr {t}, [{q}]\n",
            "smlad {a0}, {w01}, {t}, {a0}\n",
            "ldr {t}, [{q}, #4]\n",
            "smlabb {a0}, {w2}, {t}, {a0}\n",
            "ldrd {w01}, {w2}, [{k}, #28]\n",
            "ldr {q}, [{k}, #36]\n",
            "lsl {t}, {a0}, #1\n",
            "smmlar {t}, {t}, {w01}, {w2}\n",
            "add {a0}, {t}, {a0}, asr #31\n",
            "asr {a0}, {a0}, {q}\n",
            "ldrd {w01}, {w2}, [{k}, #40]\n",
            "add {a0}, {a0}, {w01}\n",
            "ssat {a0}, #8, {a0}\n",
            "ssub8 {t}, {a0}, {w2}\n",
            "sel {a0}, {a0}, {w2}\n",
            "strb {a0}, [{y}], #1\n",
        )
    };
}

/// One kernel row of a pair of depthwise outputs of stride `$s` from the row at `$at`.
macro_rules! depthwise_stripe_row {
    (1, $at:literal) => {
        concat!(
            "ldr {t}, [",
            $at,
            "]\n",
            "smlad {a0}, {w01}, {t}, {a0}\n",
            "ldr {t}, [",
            $at,
            ", #2]\n",
            "smlad {a1}, {w01}, {t}, {a1}\n",
            "ldr {t}, [",
            $at,
            ", #4]\n",
            "smlabb {a0}, {w2}, {t}, {a0}\n",
            "smlabt {a1}, {w2}, {t}, {a1}\n",
        )
    };
    (2, $at:literal) => {
        concat!(
            "ldr {t}, [",
            $at,
            "]\n",
            "smlad {a0}, {w01}, {t}, {a0}\n",
            "ldr {t}, [",
            $at,
            ", #4]\n",
            "smlabb {a0}, {w2}, {t}, {a0}\n",
            "smlad {a1}, {w01}, {t}, {a1}\n",
            "ldr {t}, [",
            $at,
            ", #8]\n",
            "smlabb {a1}, {w2}, {t}, {a1}\n",
        )
    };
}

/// The whole loop of a stripe, `$s` being the stride: per output row its pairs, then
/// (when `{k}` + 52 says the width is odd) its last output, then the next row.
macro_rules! depthwise_stripe_loop {
    ($s:tt) => {
        concat!(
            "2:\n",
            "ldr {n}, [{k}, #48]\n",
            "3:\n",
            depthwise_stripe_pair!($s),
            "add {p}, {p}, #4 * ",
            stringify!($s),
            "\n",
            "subs {n}, {n}, #1\n",
            "bne 3b\n",
            "ldr {t}, [{k}, #52]\n",
            "cmp {t}, #0\n",
            "beq 4f\n",
            depthwise_stripe_one!(),
            "add {p}, {p}, #2 * ",
            stringify!($s),
            "\n",
            "4:\n",
            "ldr {t}, [{k}, #56]\n",
            "add {p}, {p}, {t}\n",
            "ldr {t}, [{k}, #60]\n",
            "subs {t}, {t}, #1\n",
            "str {t}, [{k}, #60]\n",
            "bne 2b\n",
        )
    };
}

/// The `rows` output rows (each `ow` long, `ow ≥ 2`) of one channel of a depthwise 3×3
/// layer of stride `S` into `y`, from its widened stripe at `plane` (rows `width` apart),
/// with the taps `taps` (per kernel row, `(w0, w1)` and `w2`), the bias `bias`, the short
/// requantisation `short` and the output's `[zero point, act_min]`: one `asm!` loop.
/// Per pair, 28 instructions for the 18 multiply-accumulates (the loads of the bias and the
/// taps included) and 19 for the requantisation and the store, the clamp at `act_min` by
/// one `SSUB8` and `SEL` on both outputs' bytes.
///
/// # Safety
/// The plane holds `(rows − 1)·S + 3` rows of `width` 16-bit values and 2 more;
/// `(ow − 1)·S + 2 < width`; `y` holds `rows · ow`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) unsafe fn depthwise_stripe<const S: usize>(
    plane: *const i16,
    width: usize,
    rows: usize,
    ow: usize,
    taps: &[u32; 6],
    bias: i32,
    short: &Short,
    output: [i32; 2],
    y: *mut i8,
) {
    let [m, round, shift] = short.words();
    let step = 2 * S * (width - ow);
    let mut k: [u32; 16] = [
        taps[0],
        taps[1],
        taps[2],
        taps[3],
        taps[4],
        taps[5],
        bias as u32,
        m,
        round,
        shift,
        output[0] as u32,
        (output[1] as u32 & 0xff) * 0x0101_0101,
        (ow / 2) as u32,
        (ow % 2) as u32,
        step as u32,
        rows as u32,
    ];
    // SAFETY: the caller's bounds; the loop reads and writes the 64 bytes of `k` and
    // writes `rows · ow` bytes at `y`; M4 loads words from any 16-bit boundary.
    unsafe {
        if S == 1 {
            asm!(
                depthwise_stripe_loop!(1),
                p = inout(reg) plane => _, y = inout(reg) y => _, k = in(reg) k.as_mut_ptr(),
                rs = in(reg) 2 * width,
                n = out(reg) _, q = out(reg) _, t = out(reg) _, w01 = out(reg) _, w2 = out(reg) _,
                a0 = out(reg) _, a1 = out(reg) _,
                options(nostack),
            );
        } else {
            asm!(
                depthwise_stripe_loop!(2),
                p = inout(reg) plane => _, y = inout(reg) y => _, k = in(reg) k.as_mut_ptr(),
                rs = in(reg) 2 * width,
                n = out(reg) _, q = out(reg) _, t = out(reg) _, w01 = out(reg) _, w2 = out(reg) _,
                a0 = out(reg) _, a1 = out(reg) _,
                options(nostack),
            );
        }
    }
}

/// The multiply-accumulates and the requantisation of one pair of weight rows (half `$h`
/// of the block at `{k}` + 0) by both patches at `{k}` + 40, for [`gemm_2x2`]: the
/// accumulators start at the rows' biases (`{k}` + 4, advanced), `pairs / 8` passes of
/// eight column pairs and `pairs % 8` of one, `{k}` held on the stack while `{kn}`
/// counts them, then per row the short requantisation (`{k}` + 8, advanced), the
/// output's zero point added, `SSAT #8`, both outputs' bytes clamped at `act_min` by one
/// `SSUB8` and `SEL`, and a `STRH` into the row's outputs (`{k}` + 12, advanced by
/// two rows).
macro_rules! gemm_2x2_rows {
    ($h:literal) => {
        concat!(
            "ldr {t}, [{kn}, #4]\n",
            "ldr {a00}, [{t}], #4\n",
            "ldr {a10}, [{t}], #4\n",
            "str {t}, [{kn}, #4]\n",
            "mov {a01}, {a00}\n",
            "mov {a11}, {a10}\n",
            "ldr {wp}, [{kn}]\n",
            "add {wp}, {wp}, #",
            $h,
            " * 4\n",
            "ldr {xp}, [{kn}, #40]\n",
            "str {kn}, [sp]\n",
            "ldr {kn}, [{kn}, #24]\n",
            "cmp {kn}, #0\n",
            "beq 3f\n",
            "2:\n",
            pairs_2x2!(8),
            "subs {kn}, {kn}, #1\n",
            "bne 2b\n",
            "3:\n",
            "ldr {kn}, [sp]\n",
            "ldr {kn}, [{kn}, #28]\n",
            "cmp {kn}, #0\n",
            "beq 5f\n",
            "4:\n",
            pairs_2x2!(1),
            "subs {kn}, {kn}, #1\n",
            "bne 4b\n",
            "5:\n",
            "ldr {kn}, [sp]\n",
            "ldr {xp}, [{kn}, #8]\n",
            "ldrd {w}, {xa}, [{xp}]\n",
            "ldr {xb}, [{xp}, #8]\n",
            "lsl {t}, {a00}, #1\n",
            "smmlar {t}, {t}, {w}, {xa}\n",
            "add {a00}, {t}, {a00}, asr #31\n",
            "asr {a00}, {a00}, {xb}\n",
            "lsl {t}, {a01}, #1\n",
            "smmlar {t}, {t}, {w}, {xa}\n",
            "add {a01}, {t}, {a01}, asr #31\n",
            "asr {a01}, {a01}, {xb}\n",
            "ldrd {w}, {xa}, [{xp}, #12]\n",
            "ldr {xb}, [{xp}, #20]\n",
            "lsl {t}, {a10}, #1\n",
            "smmlar {t}, {t}, {w}, {xa}\n",
            "add {a10}, {t}, {a10}, asr #31\n",
            "asr {a10}, {a10}, {xb}\n",
            "lsl {t}, {a11}, #1\n",
            "smmlar {t}, {t}, {w}, {xa}\n",
            "add {a11}, {t}, {a11}, asr #31\n",
            "asr {a11}, {a11}, {xb}\n",
            "add {xp}, {xp}, #24\n",
            "str {xp}, [{kn}, #8]\n",
            "ldrd {w}, {xa}, [{kn}, #32]\n",
            "add {a00}, {a00}, {w}\n",
            "add {a01}, {a01}, {w}\n",
            "add {a10}, {a10}, {w}\n",
            "add {a11}, {a11}, {w}\n",
            "ssat {a00}, #8, {a00}\n",
            "ssat {a01}, #8, {a01}\n",
            "ssat {a10}, #8, {a10}\n",
            "ssat {a11}, #8, {a11}\n",
            "bfi {a00}, {a01}, #8, #8\n",
            "bfi {a10}, {a11}, #8, #8\n",
            "ssub8 {t}, {a00}, {xa}\n",
            "sel {a00}, {a00}, {xa}\n",
            "ssub8 {t}, {a10}, {xa}\n",
            "sel {a10}, {a10}, {xa}\n",
            "ldr {wp}, [{kn}, #12]\n",
            "ldr {t}, [{kn}, #20]\n",
            "strh {a00}, [{wp}]\n",
            "strh {a10}, [{wp}, {t}]\n",
            "add {wp}, {wp}, {t}, lsl #1\n",
            "str {wp}, [{kn}, #12]\n",
        )
    };
}

/// The outputs at pixels `p` and `p + 1` of `blocks` blocks of four weight rows (`pairs`
/// column pairs each, from `words`) times the two patches `patches` (interleaved pairs),
/// with the rows' biases `bias` and short requantisations `shorts`, for an output of
/// `[zero point, act_min]`, into `y` (at row 0's pixel `p`; rows `pixels` apart): one
/// `asm!` loop, per pair of rows 8 instructions per column pair and about 70 for the
/// rest.
///
/// # Safety
/// `words` holds `blocks · pairs` pairs, `patches` `pairs`, 4-byte aligned; `bias` and
/// `shorts` hold `4 · blocks`; `y` reaches `(4 · blocks − 1) · pixels + 2` bytes; `blocks > 0`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) unsafe fn gemm_2x2(
    words: *const [u32; 2],
    pairs: usize,
    blocks: usize,
    patches: *const [u32; 2],
    bias: *const i32,
    shorts: *const Short,
    output: [i32; 2],
    y: *mut i8,
    pixels: usize,
) {
    let mut k: [u32; 12] = [
        words as u32,
        bias as u32,
        shorts as u32,
        y as u32,
        blocks as u32,
        pixels as u32,
        (pairs / 8) as u32,
        (pairs % 8) as u32,
        output[0] as u32,
        (output[1] as u32 & 0xff) * 0x0101_0101,
        patches as u32,
        (8 * pairs) as u32,
    ];
    // SAFETY: the caller's bounds; the loop reads and writes the 48 bytes of `k` and 8
    // bytes below the stack pointer it reserves; M4 stores halfwords at any byte boundary.
    unsafe {
        asm!(
            "sub sp, sp, #8",
            "6:",
            gemm_2x2_rows!("0"),
            gemm_2x2_rows!("1"),
            "ldr {wp}, [{kn}]",
            "ldr {t}, [{kn}, #44]",
            "add {wp}, {wp}, {t}",
            "str {wp}, [{kn}]",
            "ldr {t}, [{kn}, #16]",
            "subs {t}, {t}, #1",
            "str {t}, [{kn}, #16]",
            "bne 6b",
            "add sp, sp, #8",
            kn = inout(reg) k.as_mut_ptr() => _,
            wp = out(reg) _, xp = out(reg) _, w = out(reg) _, t = out(reg) _, xa = out(reg) _, xb = out(reg) _,
            a00 = out(reg) _, a01 = out(reg) _, a10 = out(reg) _, a11 = out(reg) _,
        );
    }
}

/// One pair of a patch for [`gather`]: the inputs at the next two offsets from `{c}`,
/// packed, minus the zero point, into the next slot.
macro_rules! gather_pair {
    () => {
        concat!(
            "ldrd {o0}, {o1}, [{op}], #8\n",
            "ldrsb {o0}, [{c}, {o0}]\n",
            "ldrsb {o1}, [{c}, {o1}]\n",
            "pkhbt {o0}, {o0}, {o1}, lsl #16\n",
            "ssub16 {o0}, {o0}, {zp}\n",
            "str {o0}, [{pp}], #8\n",
        )
    };
}

/// See `gather` in [`conv2d`](super::conv2d), for a window inside the image: per pair of
/// the patch, `LDRD` of its two offsets, two `LDRSB` from `corner`, `PKHBT`, `SSUB16` of
/// the zero point and a `STR` into every other word from `patch` (the pixel's slot), four
/// pairs per pass.
///
/// # Safety
/// `offsets` holds `pairs` pairs of offsets, each indexing an input from `corner`; `patch`
/// reaches `2 · pairs − 1` words; `offsets` is 4-byte aligned (`LDRD` needs it).
#[inline(always)]
pub(crate) unsafe fn gather(corner: *const i8, offsets: *const [u32; 2], pairs: usize, zp: i32, patch: *mut u32) {
    let zp2 = (zp as u32 & 0xffff) * 0x1_0001;
    // SAFETY: the caller's bounds; M4 loads and stores words at any 4-byte boundary.
    unsafe {
        asm!(
            "cmp {n4}, #0",
            "beq 3f",
            "2:",
            gather_pair!(),
            gather_pair!(),
            gather_pair!(),
            gather_pair!(),
            "subs {n4}, {n4}, #1",
            "bne 2b",
            "3:",
            "cmp {n}, #0",
            "beq 5f",
            "4:",
            gather_pair!(),
            "subs {n}, {n}, #1",
            "bne 4b",
            "5:",
            c = in(reg) corner, op = inout(reg) offsets => _, pp = inout(reg) patch => _,
            n4 = inout(reg) pairs / 4 => _, n = inout(reg) pairs % 4 => _, zp = in(reg) zp2,
            o0 = out(reg) _, o1 = out(reg) _,
            options(nostack),
        );
    }
}
