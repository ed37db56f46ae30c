//! Elementwise kernels compiled for the widest vector instructions the CPU has.
//!
//! A plain build targets baseline x86-64 (SSE2, four f32 lanes). [`dispatch`] runs a
//! [`Kernel`] compiled for AVX-512 or AVX2 when the CPU has it, checked at run time,
//! so a user gets the wide kernels without `-C target-cpu=native`. Rust never fuses a
//! multiply and an add on its own, and `sqrt` and `/` are correctly rounded on every
//! instruction set, so every version computes bit-identical results.

/// A loop over slices that [`dispatch`] compiles once per instruction set.
pub(crate) trait Kernel {
    /// Runs the loop. Implementations mark it `#[inline(always)]`, so that it is
    /// compiled into each of [`dispatch`]'s versions with their instruction sets.
    fn run(self);
}

/// Runs `kernel` compiled for AVX-512F or AVX2 where the CPU has them, else as built.
#[inline(always)]
pub(crate) fn dispatch(kernel: impl Kernel) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F, checked just above.
            return unsafe { avx512(kernel) };
        }
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            return unsafe { avx2(kernel) };
        }
    }
    kernel.run()
}

/// `kernel` compiled with AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn avx512(kernel: impl Kernel) {
    kernel.run()
}

/// `kernel` compiled with AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn avx2(kernel: impl Kernel) {
    kernel.run()
}
