//! The Cortex-M4/M7 loop of the im2col GEMM's rows (see [`conv2d`](crate::int8::conv2d)):
//! four weight rows at a time by two patches, requantised and stored, with the DSP
//! extension through `asm!`.

use core::arch::asm;

use crate::int8::requant::Short;

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
            "ldr {xp}, [{kn}, #36]\n",
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
            "ldr {xa}, [{kn}, #32]\n",
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
    act_min: i32,
    y: *mut i8,
    pixels: usize,
) {
    let mut k: [u32; 11] = [
        words as u32,
        bias as u32,
        shorts as u32,
        y as u32,
        blocks as u32,
        pixels as u32,
        (pairs / 8) as u32,
        (pairs % 8) as u32,
        (act_min as u32 & 0xff) * 0x0101_0101,
        patches as u32,
        (8 * pairs) as u32,
    ];
    // SAFETY: the caller's bounds; the loop reads and writes the 44 bytes of `k` and 8
    // bytes below the stack pointer it reserves; M4 stores halfwords at any byte boundary.
    unsafe {
        asm!(
            "sub sp, sp, #8",
            "6:",
            gemm_2x2_rows!("0"),
            gemm_2x2_rows!("1"),
            "ldr {wp}, [{kn}]",
            "ldr {t}, [{kn}, #40]",
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
