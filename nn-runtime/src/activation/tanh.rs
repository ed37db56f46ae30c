use super::Activation;
use crate::Float;

/// The hyperbolic tangent.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tanh;

impl<F: Float> Activation<F> for Tanh {
    const DF_FROM_OUTPUT: bool = true;
    #[inline(always)]
    fn f(self, x: F) -> F {
        x.tanh_libm()
    }
    #[inline(always)]
    fn df(self, y: F) -> F {
        F::one() - y * y
    }
}
