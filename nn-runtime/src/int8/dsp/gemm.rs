//! The Cortex-M4/M7 loop of the im2col GEMM's rows (see [`conv2d`](crate::int8::conv2d)):
//! four weight rows at a time by two patches, requantised and stored, with the DSP
//! extension through `asm!`.
//!
//! The loop keeps its state in twelve registers (all that `asm!` may take) and a table
//! `{kn}` points to, whose words are, by byte offset: 0 the rows' biases, 4 their short
//! requantisations, 8 the outputs of the next row, 12 the blocks left, 16 the pixels (the
//! distance between two rows' outputs), 20 the passes of eight column pairs, 24 where the
//! first pass enters, 28 `act_min` in each byte, 32 the patches, 36 the distance from the
//! end of a block's first half back to the start of its second.
//!
//! Widened weights (16 bits, four words per column pair) spare the `SXTB16`s: one `LDRD`
//! of both rows' pairs, one of both patches' and four `SMLAD`, 6 instructions for 8
//! multiply-accumulates instead of 8.

use core::arch::asm;

use crate::int8::requant::Short;

/// One column pair of widened weights: both rows' pairs at `{wp}` (advanced past the
/// block's four words) and both patches' at `{xp}` into the four accumulators.
macro_rules! column_pair_wide {
    () => {
        concat!(
            "ldrd {w}, {t}, [{wp}], #16\n",
            "ldrd {xa}, {xb}, [{xp}], #8\n",
            "smlad {a00}, {w}, {xa}, {a00}\n",
            "smlad {a01}, {w}, {xb}, {a01}\n",
            "smlad {a10}, {t}, {xa}, {a10}\n",
            "smlad {a11}, {t}, {xb}, {a11}\n",
        )
    };
}

/// One column pair in the layout `$layout`: `narrow` (`column_pair_2x2` in `dsp`) or
/// `wide` ([`column_pair_wide`]).
macro_rules! column_pair_of {
    (narrow) => {
        pairs_2x2!(1)
    };
    (wide) => {
        column_pair_wide!()
    };
}

/// Eight column pairs in the layout `$layout`, the first labelled `10` and the others
/// `11`…`17`, so that a table can enter the pass at any of them.
macro_rules! labelled_pass {
    ($layout:tt) => {
        concat!(
            "10:\n",
            column_pair_of!($layout),
            "11:\n",
            column_pair_of!($layout),
            "12:\n",
            column_pair_of!($layout),
            "13:\n",
            column_pair_of!($layout),
            "14:\n",
            column_pair_of!($layout),
            "15:\n",
            column_pair_of!($layout),
            "16:\n",
            column_pair_of!($layout),
            "17:\n",
            column_pair_of!($layout),
        )
    };
}

/// The clamp of both rows' packed output bytes at `act_min` (`{kn}` + 28) by one `SSUB8`
/// and `SEL` each, or nothing where `act_min` is −128 and `SSAT` has clamped already.
macro_rules! clamp_2x2 {
    (clamp) => {
        concat!(
            "ldr {xa}, [{kn}, #28]\n",
            "ssub8 {t}, {a00}, {xa}\n",
            "sel {a00}, {a00}, {xa}\n",
            "ssub8 {t}, {a10}, {xa}\n",
            "sel {a10}, {a10}, {xa}\n",
        )
    };
    (no_clamp) => {
        ""
    };
}

/// One pair of weight rows (the half of the block `{wp}` points to) by both patches:
/// the accumulators start at the rows' biases, the column pairs run from the pass's
/// entry (a `TBB` into [`labelled_pass`]) and then in whole passes, then each row's
/// short requantisation, `SSAT #8`, both outputs' bytes packed, the clamp `$clamp`, and a
/// `STRH` into each row's outputs, which then advance by two rows. Besides the
/// `8 · pairs` instructions of the products (`6 · pairs` widened) and 2 per pass, 44
/// instructions, 49 with the clamp.
macro_rules! gemm_2x2_rows {
    ($layout:tt, $clamp:tt) => {
        concat!(
            "ldr {t}, [{kn}]\n",
            "ldrd {a00}, {a10}, [{t}], #8\n",
            "str {t}, [{kn}]\n",
            "mov {a01}, {a00}\n",
            "mov {a11}, {a10}\n",
            "ldr {xp}, [{kn}, #32]\n",
            "ldr {n}, [{kn}, #20]\n",
            "ldr {t}, [{kn}, #24]\n",
            "tbb [pc, {t}]\n",
            "1:\n",
            ".byte (10f - 1b) / 2\n",
            ".byte (11f - 1b) / 2\n",
            ".byte (12f - 1b) / 2\n",
            ".byte (13f - 1b) / 2\n",
            ".byte (14f - 1b) / 2\n",
            ".byte (15f - 1b) / 2\n",
            ".byte (16f - 1b) / 2\n",
            ".byte (17f - 1b) / 2\n",
            ".p2align 1\n",
            "2:\n",
            labelled_pass!($layout),
            "subs {n}, {n}, #1\n",
            "bne 2b\n",
            "ldr {xp}, [{kn}, #4]\n",
            "ldrd {w}, {xa}, [{xp}]\n",
            "ldr {xb}, [{xp}, #8]\n",
            short_one!("{a00}", "{w}", "{xa}", "{xb}"),
            short_one!("{a01}", "{w}", "{xa}", "{xb}"),
            "ldrd {w}, {xa}, [{xp}, #12]\n",
            "ldr {xb}, [{xp}, #20]\n",
            short_one!("{a10}", "{w}", "{xa}", "{xb}"),
            short_one!("{a11}", "{w}", "{xa}", "{xb}"),
            "add {xp}, {xp}, #24\n",
            "str {xp}, [{kn}, #4]\n",
            "ssat {a00}, #8, {a00}\n",
            "ssat {a01}, #8, {a01}\n",
            "ssat {a10}, #8, {a10}\n",
            "ssat {a11}, #8, {a11}\n",
            "bfi {a00}, {a01}, #8, #8\n",
            "bfi {a10}, {a11}, #8, #8\n",
            clamp_2x2!($clamp),
            "ldr {xp}, [{kn}, #8]\n",
            "ldr {t}, [{kn}, #16]\n",
            "strh {a00}, [{xp}]\n",
            "strh {a10}, [{xp}, {t}]\n",
            "add {xp}, {xp}, {t}, lsl #1\n",
            "str {xp}, [{kn}, #8]\n",
        )
    };
}

/// The whole `asm!` loop of [`gemm_2x2`] in the layout `$layout` with the clamp
/// `$clamp`: per block both halves ([`gemm_2x2_rows`]), the weight pointer stepped back
/// from the end of the first half to the start of the second (`{kn}` + 36) and from the
/// end of the second to the next block (`$half`: the bytes of a half's words of a
/// pair), until no block is left (`{kn}` + 12).
macro_rules! gemm_2x2_loop {
    ($layout:tt, $half:literal, $clamp:tt, $k:expr, $words:expr) => {
        asm!(
            "6:",
            gemm_2x2_rows!($layout, $clamp),
            "ldr {t}, [{kn}, #36]",
            "sub {wp}, {wp}, {t}",
            gemm_2x2_rows!($layout, $clamp),
            concat!("sub {wp}, {wp}, #", $half),
            "ldr {t}, [{kn}, #12]",
            "subs {t}, {t}, #1",
            "str {t}, [{kn}, #12]",
            "bne 6b",
            kn = in(reg) $k, wp = inout(reg) $words => _,
            xp = out(reg) _, n = out(reg) _, w = out(reg) _, t = out(reg) _, xa = out(reg) _, xb = out(reg) _,
            a00 = out(reg) _, a01 = out(reg) _, a10 = out(reg) _, a11 = out(reg) _,
            options(nostack),
        )
    };
}

/// The outputs at pixels `p` and `p + 1` of `blocks` blocks of four weight rows (`pairs`
/// column pairs each, from `words`; widened when `wide`) times the two patches `patches`
/// (interleaved pairs),
/// with the rows' biases `bias` and short requantisations `shorts` (the output's zero
/// point in them), clamped at `act_min`, into `y` (at row 0's pixel `p`; rows `pixels`
/// apart): one `asm!` loop, per pair of rows 8 instructions per column pair (6
/// widened), 2 per pass of eight and 44 for the rest (49 where `act_min` is above
/// −128), and 7 per block.
///
/// # Safety
/// `words` holds `blocks · pairs` pairs (of 2 words, or of 4 when `wide`), `patches`
/// `pairs`, 4-byte aligned; `bias` and
/// `shorts` hold `4 · blocks`; `y` reaches `(4 · blocks − 1) · pixels + 2` bytes;
/// `blocks > 0` and `pairs > 0`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) unsafe fn gemm_2x2(
    words: *const u32,
    wide: bool,
    pairs: usize,
    blocks: usize,
    patches: *const [u32; 2],
    bias: *const i32,
    shorts: *const Short,
    act_min: i32,
    y: *mut i8,
    pixels: usize,
) {
    // The first pass runs the last `pairs % 8` column pairs of a pass (all eight when
    // `pairs` is a multiple of 8), entering at the first of them.
    let mut k: [u32; 10] = [
        bias as u32,
        shorts as u32,
        y as u32,
        blocks as u32,
        pixels as u32,
        pairs.div_ceil(8) as u32,
        ((8 - pairs % 8) % 8) as u32,
        (act_min as u32 & 0xff) * 0x0101_0101,
        patches as u32,
        if wide { 16 * pairs - 8 } else { 8 * pairs - 4 } as u32,
    ];
    // SAFETY: the caller's bounds; the loop reads and writes the 40 bytes of `k`; M4
    // stores halfwords at any byte boundary; the `TBB` table's eight entries lie within
    // its 255 halfwords (a pass is at most 64 instructions of 4 bytes).
    unsafe {
        match (wide, act_min == -128) {
            (false, true) => gemm_2x2_loop!(narrow, "4", no_clamp, k.as_mut_ptr(), words),
            (false, false) => gemm_2x2_loop!(narrow, "4", clamp, k.as_mut_ptr(), words),
            (true, true) => gemm_2x2_loop!(wide, "8", no_clamp, k.as_mut_ptr(), words),
            (true, false) => gemm_2x2_loop!(wide, "8", clamp, k.as_mut_ptr(), words),
        }
    }
}
