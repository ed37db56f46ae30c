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

/// One accumulator `$a`'s short requantisation (see [`Short`]) with the constants `$m`
/// (m), `$r` (the rounding constant, the zero point in it) and `$s` (the shift), `{t}` a
/// temporary: `LSL`, `SMMLAR`, `ADD … ASR #31` and `ASR`.
macro_rules! short_one {
    ($a:literal, $m:literal, $r:literal, $s:literal) => {
        concat!(
            "lsl {t}, ",
            $a,
            ", #1\n",
            "smmlar {t}, {t}, ",
            $m,
            ", ",
            $r,
            "\n",
            "add ",
            $a,
            ", {t}, ",
            $a,
            ", asr #31\n",
            "asr ",
            $a,
            ", ",
            $a,
            ", ",
            $s,
            "\n",
        )
    };
}

/// See [`apply_2x2`](super::requant::apply_2x2): per row, `LDRD` and `LDR` of its
/// constants, then per accumulator `LSL`, `SMMLAR`, `ADD … ASR #31`, `ASR`, `SSAT #8`
/// and the clamp at `act_min`.
#[inline(always)]
pub(crate) fn short_2x2(acc: [i32; 4], rows: &[Short; 2], act_min: i32) -> [i8; 4] {
    let [mut a0, mut b0, mut a1, mut b1] = acc;
    // SAFETY: reads the two `repr(C)` `Short`s `rows` points to (24 bytes); registers only
    // otherwise.
    unsafe {
        asm!(
            "ldrd {m}, {r}, [{p}]",
            "ldr {s}, [{p}, #8]",
            short_one!("{a0}", "{m}", "{r}", "{s}"),
            short_one!("{b0}", "{m}", "{r}", "{s}"),
            "ldrd {m}, {r}, [{p}, #12]",
            "ldr {s}, [{p}, #20]",
            short_one!("{a1}", "{m}", "{r}", "{s}"),
            short_one!("{b1}", "{m}", "{r}", "{s}"),
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
            p = in(reg) rows.as_ptr(), amin = in(reg) act_min,
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
pub(crate) fn short_pair(acc: [i32; 2], short: &Short, act_min: i32) -> [i8; 2] {
    let [mut a0, mut a1] = acc;
    // SAFETY: reads the `repr(C)` `Short` `short` points to (12 bytes); registers only
    // otherwise.
    unsafe {
        asm!(
            "ldrd {m}, {r}, [{p}]",
            "ldr {s}, [{p}, #8]",
            short_one!("{a0}", "{m}", "{r}", "{s}"),
            short_one!("{a1}", "{m}", "{r}", "{s}"),
            "ssat {a0}, #8, {a0}",
            "ssat {a1}, #8, {a1}",
            "cmp {a0}, {amin}",
            "it lt",
            "movlt {a0}, {amin}",
            "cmp {a1}, {amin}",
            "it lt",
            "movlt {a1}, {amin}",
            p = in(reg) short as *const Short, amin = in(reg) act_min,
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

/// One pair of a patch for [`gather`]: the inputs at the next two offsets from `{c}`,
/// packed, into the next slot.
macro_rules! gather_pair {
    () => {
        concat!(
            "ldrd {o0}, {o1}, [{op}], #8\n",
            "ldrsb {o0}, [{c}, {o0}]\n",
            "ldrsb {o1}, [{c}, {o1}]\n",
            "pkhbt {o0}, {o0}, {o1}, lsl #16\n",
            "str {o0}, [{pp}], #8\n",
        )
    };
}

/// One pair of both patches for [`gather_two`]: at each of the next two offsets from
/// `{c}` the two pixels' inputs by one `LDRH`, the four bytes packed and split by
/// `SXTB16` into the first pixel's pair and the second's, stored by one `STRD`.
macro_rules! gather_pair_two {
    () => {
        concat!(
            "ldrd {o0}, {o1}, [{op}], #8\n",
            "ldrh {o0}, [{c}, {o0}]\n",
            "ldrh {o1}, [{c}, {o1}]\n",
            "pkhbt {o0}, {o0}, {o1}, lsl #16\n",
            "sxtb16 {t}, {o0}\n",
            "sxtb16 {o0}, {o0}, ror #8\n",
            "strd {t}, {o0}, [{pp}], #8\n",
        )
    };
}

/// A gather loop of `$pair` (a macro of one pair), four pairs per pass and then one.
macro_rules! gather_loop {
    ($pair:ident, $($operands:tt)*) => {
        asm!(
            "cmp {n4}, #0",
            "beq 3f",
            "2:",
            $pair!(),
            $pair!(),
            $pair!(),
            $pair!(),
            "subs {n4}, {n4}, #1",
            "bne 2b",
            "3:",
            "cmp {n}, #0",
            "beq 5f",
            "4:",
            $pair!(),
            "subs {n}, {n}, #1",
            "bne 4b",
            "5:",
            $($operands)*
        )
    };
}

/// See `gather` in [`conv2d`](super::conv2d), for a window inside the image: per pair of
/// the patch, `LDRD` of its two offsets, two `LDRSB` from `corner`, `PKHBT` and a `STR`
/// into every other word from `patch` (the pixel's slot), four pairs per pass.
///
/// # Safety
/// `offsets` holds `pairs` pairs of offsets, each indexing an input from `corner`; `patch`
/// reaches `2 · pairs − 1` words; `offsets` is 4-byte aligned (`LDRD` needs it).
#[inline(always)]
pub(crate) unsafe fn gather(corner: *const i8, offsets: *const [u32; 2], pairs: usize, patch: *mut u32) {
    // SAFETY: the caller's bounds; M4 loads and stores words at any 4-byte boundary.
    unsafe {
        gather_loop!(
            gather_pair,
            c = in(reg) corner, op = inout(reg) offsets => _, pp = inout(reg) patch => _,
            n4 = inout(reg) pairs / 4 => _, n = inout(reg) pairs % 4 => _,
            o0 = out(reg) _, o1 = out(reg) _,
            options(nostack),
        );
    }
}

/// See `gather` in [`conv2d`](super::conv2d): both patches of two windows inside the image
/// one input apart (stride 1, one output row), the first's corner at `corner`: per pair,
/// 7 instructions for both instead of 10.
///
/// # Safety
/// `offsets` holds `pairs` pairs of offsets, each indexing an input from `corner` with
/// the input after it; `patches` holds `pairs` pairs, 4-byte aligned as `offsets` is.
#[inline(always)]
pub(crate) unsafe fn gather_two(corner: *const i8, offsets: *const [u32; 2], pairs: usize, patches: *mut [u32; 2]) {
    // SAFETY: the caller's bounds; M4 loads halfwords at any byte boundary.
    unsafe {
        gather_loop!(
            gather_pair_two,
            c = in(reg) corner, op = inout(reg) offsets => _, pp = inout(reg) patches => _,
            n4 = inout(reg) pairs / 4 => _, n = inout(reg) pairs % 4 => _,
            o0 = out(reg) _, o1 = out(reg) _, t = out(reg) _,
            options(nostack),
        );
    }
}

// After the macros above, which `gemm`'s loop expands too.
mod depthwise;
mod gemm;

pub(crate) use depthwise::Stripe;
pub(crate) use gemm::gemm_2x2;
