use super::Activation;
use crate::Float;

/// GELU in its exact form, PyTorch's default: `x * Φ(x) = x/2 * (1 + erf(x/√2))`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gelu;

impl<F: Float> Activation<F> for Gelu {
    const DF_FROM_OUTPUT: bool = false;
    #[inline(always)]
    fn f(self, x: F) -> F {
        let half = F::of(0.5);
        half * x * (F::one() + (x * F::of(core::f64::consts::FRAC_1_SQRT_2)).erf_libm())
    }
    /// `Φ(x) + x φ(x)`.
    #[inline(always)]
    fn df(self, x: F) -> F {
        let half = F::of(0.5);
        let cdf = half * (F::one() + (x * F::of(core::f64::consts::FRAC_1_SQRT_2)).erf_libm());
        let pdf = (-half * x * x).exp_libm() * F::of(0.398_942_280_401_432_7); // 1/√(2π)
        cdf + x * pdf
    }
}
