//! The Cortex-M4/M7 inner loop of [`dot4`](super::packed::dot4), with the DSP extension
//! through `asm!`: per column pair, one `LDR` of the input pair, one `LDRD` of the two
//! weight words, four `SXTB16` and four `SMLAD` — eight multiply-accumulates in ten
//! instructions, unrolled eight times (`.rept`, which must match [`UNROLL`]).

use core::arch::asm;

use super::packed::dot4_portable;

/// Column pairs per pass of the unrolled loop.
const UNROLL: usize = 8;

/// See [`dot4`](super::packed::dot4).
#[inline]
pub(crate) fn dot4<const PAIRS: usize>(w: &[[u32; 2]; PAIRS], x: &[u32; PAIRS]) -> [i32; 4] {
    let passes = PAIRS / UNROLL;
    let (mut a0, mut a1, mut a2, mut a3) = (0i32, 0i32, 0i32, 0i32);
    if passes > 0 {
        // SAFETY: the loop reads `passes · UNROLL` column pairs: that many words of `x`
        // and twice as many of `w`, all in bounds and 4-byte aligned (LDRD needs it).
        unsafe {
            asm!(
                "2:",
                ".rept 8",
                "ldr {x}, [{xp}], #4",
                "ldrd {w0}, {w1}, [{wp}], #8",
                "sxtb16 {t}, {w0}",
                "sxtb16 {w0}, {w0}, ror #8",
                "smlad {a0}, {t}, {x}, {a0}",
                "smlad {a1}, {w0}, {x}, {a1}",
                "sxtb16 {t}, {w1}",
                "sxtb16 {w1}, {w1}, ror #8",
                "smlad {a2}, {t}, {x}, {a2}",
                "smlad {a3}, {w1}, {x}, {a3}",
                ".endr",
                "subs {n}, {n}, #1",
                "bne 2b",
                xp = inout(reg) x.as_ptr() => _,
                wp = inout(reg) w.as_ptr() => _,
                n = inout(reg) passes => _,
                x = out(reg) _,
                w0 = out(reg) _,
                w1 = out(reg) _,
                t = out(reg) _,
                a0 = inout(reg) a0,
                a1 = inout(reg) a1,
                a2 = inout(reg) a2,
                a3 = inout(reg) a3,
                options(nostack, readonly),
            );
        }
    }
    let done = passes * UNROLL;
    let tail = dot4_portable(&w[done..], &x[done..]);
    [a0.wrapping_add(tail[0]), a1.wrapping_add(tail[1]), a2.wrapping_add(tail[2]), a3.wrapping_add(tail[3])]
}
