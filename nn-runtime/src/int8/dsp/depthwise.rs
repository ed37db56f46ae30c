//! The Cortex-M4/M7 loop of a depthwise 3×3 layer's stripe (see
//! [`depthwise`](crate::int8::depthwise)), with the DSP extension through `asm!`.

use core::arch::asm;

use crate::int8::requant::Short;

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
            "ldr {w2}, [{k}, #40]\n",
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
            "ldr {w2}, [{k}, #40]\n",
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
/// (when `{k}` + 48 says the width is odd) its last output, then the next row.
macro_rules! depthwise_stripe_loop {
    ($s:tt) => {
        concat!(
            "2:\n",
            "ldr {n}, [{k}, #44]\n",
            "3:\n",
            depthwise_stripe_pair!($s),
            "add {p}, {p}, #4 * ",
            stringify!($s),
            "\n",
            "subs {n}, {n}, #1\n",
            "bne 3b\n",
            "ldr {t}, [{k}, #48]\n",
            "cmp {t}, #0\n",
            "beq 4f\n",
            depthwise_stripe_one!(),
            "add {p}, {p}, #2 * ",
            stringify!($s),
            "\n",
            "4:\n",
            "ldr {t}, [{k}, #52]\n",
            "add {p}, {p}, {t}\n",
            "ldr {t}, [{k}, #56]\n",
            "subs {t}, {t}, #1\n",
            "str {t}, [{k}, #56]\n",
            "bne 2b\n",
        )
    };
}

/// The `rows` output rows (each `ow` long, `ow ≥ 2`) of one channel of a depthwise 3×3
/// layer of stride `S` into `y`, from its widened stripe at `plane` (rows `width` apart),
/// with the taps `taps` (per kernel row, `(w0, w1)` and `w2`), the bias `bias`, the short
/// requantisation `short` (the zero point in it) and the output's `act_min`: one `asm!` loop.
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
    act_min: i32,
    y: *mut i8,
) {
    let [m, round, shift] = short.words();
    let step = 2 * S * (width - ow);
    let mut k: [u32; 15] = [
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
        (act_min as u32 & 0xff) * 0x0101_0101,
        (ow / 2) as u32,
        (ow % 2) as u32,
        step as u32,
        rows as u32,
    ];
    // SAFETY: the caller's bounds; the loop reads and writes the 60 bytes of `k` and
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
