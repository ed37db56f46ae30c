//! The vector instruction sets the kernels run on, and elementwise loops compiled for
//! each.
//!
//! A plain build targets baseline x86-64 (SSE2, four f32 lanes). [`dispatch`] runs a
//! [`VectorLoop`] compiled for AVX-512 or AVX2 when the CPU has it, checked at run time,
//! so a user gets the wide kernels without `-C target-cpu=native`. Rust never fuses a
//! multiply and an add on its own, and `sqrt` and `/` are correctly rounded on every
//! instruction set, so every version computes bit-identical results.
//!
//! Which instruction set runs is [`kernel`]: the fastest this CPU has, unless
//! [`force_kernel`] or the `NN_GEMM_KERNEL` environment variable chose another, so the
//! AVX2 and portable paths can be measured and tested on an AVX-512 machine too.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;

use crate::Error;

/// An instruction set the matrix-product micro-kernels and the vector loops are
/// compiled for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// x86-64 AVX-512F: the `8 × 32` f32 micro-kernel.
    Avx512,
    /// x86-64 AVX2 with FMA: the `6 × 16` f32 micro-kernel.
    Avx2,
    /// aarch64 NEON: the `8 × 12` f32 micro-kernel.
    Neon,
    /// Portable code as the build targets it: the `4 × 8` micro-kernel, for any scalar.
    Portable,
}

impl Kernel {
    /// Every kernel, fastest first.
    pub const ALL: [Kernel; 4] = [Kernel::Avx512, Kernel::Avx2, Kernel::Neon, Kernel::Portable];

    /// The name `NN_GEMM_KERNEL` takes: `avx512`, `avx2`, `neon` or `portable`.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Avx512 => "avx512",
            Kernel::Avx2 => "avx2",
            Kernel::Neon => "neon",
            Kernel::Portable => "portable",
        }
    }

    /// Whether this CPU can run the kernel.
    pub fn runs_here(self) -> bool {
        match self {
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => std::is_x86_feature_detected!("avx512f"),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma"),
            #[cfg(target_arch = "aarch64")]
            Kernel::Neon => std::arch::is_aarch64_feature_detected!("neon"),
            Kernel::Portable => true,
            _ => false,
        }
    }

    /// The kernels this CPU runs, fastest first (the portable one always).
    pub fn available() -> impl Iterator<Item = Kernel> {
        Kernel::ALL.into_iter().filter(|kernel| kernel.runs_here())
    }
}

impl fmt::Display for Kernel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kernel::Avx512 => "AVX-512",
            Kernel::Avx2 => "AVX2",
            Kernel::Neon => "NEON",
            Kernel::Portable => "portable",
        })
    }
}

impl FromStr for Kernel {
    type Err = Error;

    /// Parses a [`Kernel::name`].
    fn from_str(name: &str) -> Result<Self, Error> {
        Kernel::ALL.into_iter().find(|kernel| kernel.name() == name).ok_or_else(|| Error::Kernel {
            name: name.to_owned(),
            reason: "not a kernel: expected one of avx512, avx2, neon, portable".to_owned(),
        })
    }
}

/// [`force_kernel`]'s choice: 0 for none, else the index in [`Kernel::ALL`] plus one.
static FORCED: AtomicU8 = AtomicU8::new(0);

/// The kernel the matrix products and vector loops use: the one [`force_kernel`] set,
/// else the one `NN_GEMM_KERNEL` names, else the fastest this CPU runs. f64 products
/// always use the portable micro-kernel.
///
/// # Panics
/// If `NN_GEMM_KERNEL` names no kernel, or one this CPU cannot run (read once, at the
/// first call): the message says which and why.
pub fn kernel() -> Kernel {
    static DEFAULT: OnceLock<Kernel> = OnceLock::new();
    match FORCED.load(Ordering::Relaxed) {
        0 => *DEFAULT.get_or_init(|| match std::env::var("NN_GEMM_KERNEL") {
            Ok(name) => runnable(name.parse()).unwrap_or_else(|error| panic!("NN_GEMM_KERNEL: {error}")),
            Err(_) => Kernel::available().next().expect("the portable kernel runs everywhere"),
        }),
        index => Kernel::ALL[usize::from(index) - 1],
    }
}

/// Makes every later product and vector loop, on every thread, use `kernel`; `None`
/// goes back to the default of [`kernel`]. Every kernel computes the same products to
/// float rounding; the vector loops give the same bits on all of them.
///
/// # Errors
/// [`Error::Kernel`] if this CPU cannot run `kernel`; the choice is then unchanged.
pub fn force_kernel(kernel: Option<Kernel>) -> Result<(), Error> {
    let forced = match kernel {
        Some(kernel) => {
            let kernel = runnable(Ok(kernel))?;
            Kernel::ALL.iter().position(|&k| k == kernel).expect("every kernel is in ALL") as u8 + 1
        }
        None => 0,
    };
    FORCED.store(forced, Ordering::Relaxed);
    Ok(())
}

/// `kernel` if this CPU runs it, else why not.
fn runnable(kernel: Result<Kernel, Error>) -> Result<Kernel, Error> {
    let kernel = kernel?;
    if kernel.runs_here() {
        return Ok(kernel);
    }
    let here: Vec<&str> = Kernel::available().map(Kernel::name).collect();
    Err(Error::Kernel {
        name: kernel.name().to_owned(),
        reason: format!("this CPU cannot run it; it runs {}", here.join(", ")),
    })
}

/// A loop over slices that [`dispatch`] compiles once per instruction set.
pub(crate) trait VectorLoop {
    /// Runs the loop. Implementations mark it `#[inline(always)]`, so that it is
    /// compiled into each of [`dispatch`]'s versions with their instruction sets.
    fn run(self);
}

/// Runs `body` compiled for [`kernel`]'s instruction set.
#[inline(always)]
pub(crate) fn dispatch(body: impl VectorLoop) {
    dispatch_on(kernel(), body)
}

/// Runs the closure `body` compiled for [`kernel`]'s instruction set: [`dispatch`] for a
/// loop written in place. The closure and what it calls are compiled so only where
/// inlined: mark them `#[inline(always)]` (`vectorised(#[inline(always)] || ...)`).
#[inline(always)]
pub(crate) fn vectorised(body: impl FnOnce()) {
    dispatch(Closure(body))
}

/// A closure as a [`VectorLoop`].
struct Closure<B>(B);

impl<B: FnOnce()> VectorLoop for Closure<B> {
    #[inline(always)]
    fn run(self) {
        (self.0)()
    }
}

/// Runs `body` compiled for `kernel`'s instruction set, which this CPU runs (NEON is
/// aarch64's baseline, so there it and the portable kernel are the build's own code).
#[inline(always)]
pub(crate) fn dispatch_on(kernel: Kernel, body: impl VectorLoop) {
    debug_assert!(kernel.runs_here(), "{kernel} does not run here");
    #[cfg(target_arch = "x86_64")]
    match kernel {
        // SAFETY: the CPU supports AVX-512F: `kernel` runs here.
        Kernel::Avx512 => return unsafe { avx512(body) },
        // SAFETY: the CPU supports AVX2 and FMA: `kernel` runs here.
        Kernel::Avx2 => return unsafe { avx2(body) },
        Kernel::Neon | Kernel::Portable => {}
    }
    body.run()
}

/// `body` compiled with AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn avx512(body: impl VectorLoop) {
    body.run()
}

/// `body` compiled with AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn avx2(body: impl VectorLoop) {
    body.run()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_parse_from_their_names_and_say_what_is_wrong() {
        for kernel in Kernel::ALL {
            assert_eq!(kernel.name().parse::<Kernel>().unwrap(), kernel);
        }
        let error = "sse9".parse::<Kernel>().unwrap_err().to_string();
        assert_eq!(error, "gemm kernel `sse9`: not a kernel: expected one of avx512, avx2, neon, portable");
        assert!(Kernel::Portable.runs_here());
        assert_eq!(Kernel::available().last(), Some(Kernel::Portable));
    }

    #[test]
    fn a_kernel_this_cpu_cannot_run_is_refused() {
        let Some(missing) = Kernel::ALL.into_iter().find(|kernel| !kernel.runs_here()) else {
            panic!("no CPU runs both AVX-512 and NEON");
        };
        let error = force_kernel(Some(missing)).unwrap_err().to_string();
        assert!(error.starts_with(&format!("gemm kernel `{}`: this CPU cannot run it; it runs ", missing.name())));
        assert!(error.ends_with("portable"), "{error}");
    }
}
