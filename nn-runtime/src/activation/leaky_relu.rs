use super::Activation;
use crate::Float;

/// `x` for positive `x`, `slope * x` otherwise (PyTorch's default slope is 0.01).
#[derive(Debug, Clone, Copy)]
pub struct LeakyRelu<F> {
    /// The slope for negative inputs.
    pub slope: F,
}

impl<F: Float> Activation<F> for LeakyRelu<F> {
    const DF_FROM_OUTPUT: bool = false;
    #[inline(always)]
    fn f(self, x: F) -> F {
        if x > F::zero() {
            x
        } else {
            self.slope * x
        }
    }
    #[inline(always)]
    fn df(self, x: F) -> F {
        if x > F::zero() {
            F::one()
        } else {
            self.slope
        }
    }
}
