//! The scalar type of every network: `f32` or `f64`.

use core::fmt::{Debug, Display};
use core::iter::Sum;
use core::ops::{AddAssign, DivAssign, MulAssign, SubAssign};

/// What the host build needs of a scalar on top of arithmetic: ndarray's GEMM.
#[cfg(feature = "std")]
pub trait HostScalar: ndarray::LinalgScalar + ndarray::ScalarOperand {}
#[cfg(feature = "std")]
impl<T: ndarray::LinalgScalar + ndarray::ScalarOperand> HostScalar for T {}

/// What the host build needs of a scalar on top of arithmetic (nothing without `std`).
#[cfg(not(feature = "std"))]
pub trait HostScalar {}
#[cfg(not(feature = "std"))]
impl<T> HostScalar for T {}

/// Only `f32` and `f64` may implement [`Float`]: a frozen model is built from all-zero
/// bytes (`freeze` allocates it zeroed), which must be a valid value of the scalar.
mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// A floating-point scalar a network computes in: implemented for `f32` and `f64`, and
/// sealed, since `freeze` relies on all-zero bytes being a valid value (`0.0`).
///
/// The transcendental functions go through `libm`, so the host and a `no_std`
/// firmware compute bit-identical results from the same code.
pub trait Float:
    sealed::Sealed
    + crate::arena::Scalar
    + num_traits::Float
    + num_traits::FromPrimitive
    + HostScalar
    + Copy
    + Default
    + Debug
    + Display
    + Send
    + Sync
    + Sum
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + 'static
{
    /// The safetensors dtype name of this scalar (`"F32"` or `"F64"`).
    const DTYPE: &'static str;
    /// Size in bytes.
    const BYTES: usize;
    /// Converts from `f64` (rounding to nearest for `f32`).
    fn of(x: f64) -> Self;
    /// Converts to `f64` exactly.
    fn to_f64(self) -> f64;
    /// `e^x` through `libm`, identical on every target.
    fn exp_libm(self) -> Self;
    /// The error function through `libm` (GELU's exact form).
    fn erf_libm(self) -> Self;
    /// `tanh` through `libm`.
    fn tanh_libm(self) -> Self;
    /// Reads one little-endian value from exactly [`Self::BYTES`] bytes.
    fn from_le_slice(bytes: &[u8]) -> Self;
    /// Writes this value as little-endian bytes into `out` (of length [`Self::BYTES`]).
    fn write_le(self, out: &mut [u8]);
}

macro_rules! impl_float {
    ($t:ty, $dtype:literal, $exp:path, $erf:path, $tanh:path) => {
        impl Float for $t {
            const DTYPE: &'static str = $dtype;
            const BYTES: usize = core::mem::size_of::<$t>();
            #[inline(always)]
            fn of(x: f64) -> Self {
                x as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn exp_libm(self) -> Self {
                $exp(self)
            }
            #[inline(always)]
            fn erf_libm(self) -> Self {
                $erf(self)
            }
            #[inline(always)]
            fn tanh_libm(self) -> Self {
                $tanh(self)
            }
            #[inline(always)]
            fn from_le_slice(bytes: &[u8]) -> Self {
                let mut raw = [0u8; core::mem::size_of::<$t>()];
                raw.copy_from_slice(bytes);
                <$t>::from_le_bytes(raw)
            }
            #[inline(always)]
            fn write_le(self, out: &mut [u8]) {
                out.copy_from_slice(&self.to_le_bytes());
            }
        }
    };
}

impl_float!(f32, "F32", libm::expf, libm::erff, libm::tanhf);
impl_float!(f64, "F64", libm::exp, libm::erf, libm::tanh);
