//! The single DSP-extension instructions the int8 kernels are written in, as functions:
//! on Cortex-M4/M7 each is one instruction in `asm!` (pure, no memory: rustc allocates
//! the registers around it), elsewhere plain Rust with the same result.

#[cfg(arm_dsp)]
use core::arch::asm;

/// `SMLAD`: `acc + a.lo · b.lo + a.hi · b.hi` on the signed 16-bit halves, wrapping.
#[inline(always)]
pub(crate) fn smlad(a: u32, b: u32, acc: i32) -> i32 {
    #[cfg(arm_dsp)]
    {
        let out;
        // SAFETY: one register-only instruction.
        unsafe {
            asm!("smlad {o}, {a}, {b}, {c}", o = lateout(reg) out, a = in(reg) a, b = in(reg) b, c = in(reg) acc, options(pure, nomem, nostack, preserves_flags))
        };
        out
    }
    #[cfg(not(arm_dsp))]
    {
        acc.wrapping_add(i32::from(a as i16) * i32::from(b as i16))
            .wrapping_add(i32::from((a >> 16) as i16) * i32::from((b >> 16) as i16))
    }
}

/// `SMLABB`: `acc + a.lo · b.lo`, wrapping.
#[inline(always)]
pub(crate) fn smlabb(a: u32, b: u32, acc: i32) -> i32 {
    #[cfg(arm_dsp)]
    {
        let out;
        // SAFETY: one register-only instruction.
        unsafe {
            asm!("smlabb {o}, {a}, {b}, {c}", o = lateout(reg) out, a = in(reg) a, b = in(reg) b, c = in(reg) acc, options(pure, nomem, nostack, preserves_flags))
        };
        out
    }
    #[cfg(not(arm_dsp))]
    {
        acc.wrapping_add(i32::from(a as i16) * i32::from(b as i16))
    }
}

/// `SMLABT`: `acc + a.lo · b.hi`, wrapping.
#[inline(always)]
pub(crate) fn smlabt(a: u32, b: u32, acc: i32) -> i32 {
    #[cfg(arm_dsp)]
    {
        let out;
        // SAFETY: one register-only instruction.
        unsafe {
            asm!("smlabt {o}, {a}, {b}, {c}", o = lateout(reg) out, a = in(reg) a, b = in(reg) b, c = in(reg) acc, options(pure, nomem, nostack, preserves_flags))
        };
        out
    }
    #[cfg(not(arm_dsp))]
    {
        acc.wrapping_add(i32::from(a as i16) * i32::from((b >> 16) as i16))
    }
}

/// `SMMLAR`: `add + (a · b + 2^31) / 2^32` (the rounded high word of the 64-bit
/// product, plus `add`), wrapping.
#[inline(always)]
pub(crate) fn smmlar(a: i32, b: i32, add: i32) -> i32 {
    #[cfg(arm_dsp)]
    {
        let out;
        // SAFETY: one register-only instruction.
        unsafe {
            asm!("smmlar {o}, {a}, {b}, {c}", o = lateout(reg) out, a = in(reg) a, b = in(reg) b, c = in(reg) add, options(pure, nomem, nostack, preserves_flags))
        };
        out
    }
    #[cfg(not(arm_dsp))]
    {
        (((i64::from(add) << 32).wrapping_add(i64::from(a) * i64::from(b)).wrapping_add(1 << 31)) >> 32) as i32
    }
}

/// `SSAT #8`: `v` clamped to `−128..=127`.
#[inline(always)]
pub(crate) fn ssat8(v: i32) -> i32 {
    #[cfg(arm_dsp)]
    {
        let out;
        // SAFETY: one register-only instruction (it may set the Q flag, which nothing reads).
        unsafe { asm!("ssat {o}, #8, {v}", o = lateout(reg) out, v = in(reg) v, options(pure, nomem, nostack)) };
        out
    }
    #[cfg(not(arm_dsp))]
    {
        v.clamp(-128, 127)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each case by hand from the Armv7-M reference manual's pseudocode.
    #[test]
    fn each_instruction_computes_its_manual_formula() {
        let pair = |lo: i16, hi: i16| (lo as u16 as u32) | ((hi as u16 as u32) << 16);
        // 3·(−5) + (−7)·11 = −92, plus 100.
        assert_eq!(smlad(pair(3, -7), pair(-5, 11), 100), 8);
        assert_eq!(smlabb(pair(3, -7), pair(-5, 11), 100), 85);
        assert_eq!(smlabt(pair(3, -7), pair(-5, 11), 100), 133);
        // (−32768)² · 2 wraps past i32::MAX.
        assert_eq!(smlad(pair(-32768, -32768), pair(-32768, -32768), 0), i32::MIN);
        // 2^30 · 3 = 3 · 2^30: high word 0.75 → 1 (rounded), plus 5.
        assert_eq!(smmlar(1 << 30, 3, 5), 6);
        // 2^30 · 2 = 2^31: exactly 0.5 rounds up; −2^31 → −0.5 rounds up to 0.
        assert_eq!(smmlar(1 << 30, 2, 0), 1);
        assert_eq!(smmlar(1 << 30, -2, 0), 0);
        assert_eq!(smmlar(i32::MIN, i32::MIN, 0), 1 << 30);
        assert_eq!(ssat8(300), 127);
        assert_eq!(ssat8(-300), -128);
        assert_eq!(ssat8(-5), -5);
    }
}
