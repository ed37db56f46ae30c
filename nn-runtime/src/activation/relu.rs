use super::Activation;
use crate::Float;

/// `max(0, x)`. Its gradient at 0 is 0, and NaN stays NaN, as in PyTorch.
#[derive(Debug, Clone, Copy, Default)]
pub struct Relu;

impl<F: Float> Activation<F> for Relu {
    const DF_FROM_OUTPUT: bool = true;
    #[inline(always)]
    fn f(self, x: F) -> F {
        // Written so that NaN (for which every comparison is false) passes through.
        if x <= F::zero() {
            F::zero()
        } else {
            x
        }
    }
    #[inline(always)]
    fn df(self, y: F) -> F {
        if y > F::zero() {
            F::one()
        } else {
            F::zero()
        }
    }
}
