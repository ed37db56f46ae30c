use super::Activation;
use crate::Float;

/// `max(0, x)`. Its gradient at 0 is 0, as in PyTorch.
#[derive(Debug, Clone, Copy, Default)]
pub struct Relu;

impl<F: Float> Activation<F> for Relu {
    const DF_FROM_OUTPUT: bool = true;
    #[inline(always)]
    fn f(self, x: F) -> F {
        if x > F::zero() {
            x
        } else {
            F::zero()
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
