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

/// One kernel row of two adjacent depthwise outputs at `{q}`, taps from `{wp}` + `$row`·8.
macro_rules! depthwise_row {
    (1, $row:literal) => {
        concat!(
            "ldrd {w01}, {w2}, [{wp}, #",
            $row,
            " * 8]\n",
            "ldr {t}, [{q}]\n",
            "smlad {a0}, {w01}, {t}, {a0}\n",
            "ldr {t}, [{q}, #2]\n",
            "smlad {a1}, {w01}, {t}, {a1}\n",
            "ldr {t}, [{q}, #4]\n",
            "smlabb {a0}, {w2}, {t}, {a0}\n",
            "smlabt {a1}, {w2}, {t}, {a1}\n",
        )
    };
    (2, $row:literal) => {
        concat!(
            "ldrd {w01}, {w2}, [{wp}, #",
            $row,
            " * 8]\n",
            "ldr {t}, [{q}]\n",
            "smlad {a0}, {w01}, {t}, {a0}\n",
            "ldr {t}, [{q}, #4]\n",
            "smlabb {a0}, {w2}, {t}, {a0}\n",
            "smlad {a1}, {w01}, {t}, {a1}\n",
            "ldr {t}, [{q}, #8]\n",
            "smlabb {a1}, {w2}, {t}, {a1}\n",
        )
    };
}

/// The three kernel rows of two adjacent outputs of a depthwise 3×3 layer of stride
/// `$s`: the input pairs from the 16-bit plane at `at` (rows `row_bytes` apart) times the
/// taps `w` (per row, `(w0, w1)` and `w2`), added to `acc`.
macro_rules! depthwise_pair {
    ($s:tt, $at:expr, $row_bytes:expr, $w:expr, $acc:expr) => {{
        let [mut a0, mut a1] = $acc;
        asm!(
            "mov {q}, {p}",
            depthwise_row!($s, 0),
            "add {q}, {p}, {rs}",
            depthwise_row!($s, 1),
            "add {q}, {q}, {rs}",
            depthwise_row!($s, 2),
            p = in(reg) $at, rs = in(reg) $row_bytes, wp = in(reg) $w.as_ptr(),
            q = out(reg) _, w01 = out(reg) _, w2 = out(reg) _, t = out(reg) _,
            a0 = inout(reg) a0, a1 = inout(reg) a1,
            options(pure, readonly, nostack, preserves_flags),
        );
        [a0, a1]
    }};
}

/// See [`three_rows`](super::depthwise::three_rows).
///
/// # Safety
/// As there: the words read lie in the plane.
#[inline(always)]
pub(crate) unsafe fn depthwise_three_rows<const S: usize>(
    at: *const i16,
    row_len: usize,
    w: &[u32; 6],
    acc: [i32; 2],
) -> [i32; 2] {
    // SAFETY: the caller's contract; M4 loads words from any 16-bit boundary.
    unsafe {
        if S == 1 {
            depthwise_pair!(1, at, 2 * row_len, w, acc)
        } else {
            depthwise_pair!(2, at, 2 * row_len, w, acc)
        }
    }
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
