use super::Activation;
use crate::Float;

/// `1 / (1 + e^-x)`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sigmoid;

impl<F: Float> Activation<F> for Sigmoid {
    const DF_FROM_OUTPUT: bool = true;
    #[inline(always)]
    fn f(self, x: F) -> F {
        F::one() / (F::one() + (-x).exp_libm())
    }
    #[inline(always)]
    fn df(self, y: F) -> F {
        y * (F::one() - y)
    }
}
