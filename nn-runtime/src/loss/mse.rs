//! `MseLoss`: the mean squared error, as PyTorch's `nn.MSELoss()`.

use ndarray::{Array2, ArrayView2};

use super::{mean_elementwise, Loss};
use crate::Float;

/// Mean squared error over all elements: `mean((pred - target)²)`.
///
/// # Panics
/// The [`Loss`] methods panic if `pred` and `target` (and `grad`) differ in shape.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MseLoss;

impl MseLoss {
    /// The mean squared error (PyTorch's `reduction='mean'`).
    pub const fn new() -> Self {
        MseLoss
    }
}

/// The loss term `d²` of a difference `d`, and its slope `2d`.
fn squared<F: Float>(d: F) -> (F, F) {
    (d * d, d + d)
}

impl<F: Float> Loss<F> for MseLoss {
    type Target<'a> = ArrayView2<'a, F>;

    fn loss_and_grad_into(&self, pred: ArrayView2<F>, target: ArrayView2<F>, grad: &mut Array2<F>) -> F {
        mean_elementwise("MseLoss", pred, target, Some(grad), squared)
    }

    fn loss(&self, pred: ArrayView2<F>, target: ArrayView2<F>) -> F {
        mean_elementwise("MseLoss", pred, target, None, squared)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finite_diff::{assert_grad_close, numeric_grad};
    use ndarray::array;
    use proptest::prelude::*;

    #[test]
    fn matches_hand_computed() {
        // mean((p - t)²) over d = [1, 0, -2, 3]: 14 / 4; gradient 2d / 4.
        let pred = array![[1.0, 2.0], [3.0, 4.0]];
        let target = array![[0.0, 2.0], [5.0, 1.0]];
        let (loss, grad) = MseLoss::new().loss_and_grad(pred.view(), target.view());
        assert_eq!(loss, 3.5);
        assert_eq!(grad, array![[0.5, 0.0], [-1.0, 1.5]]);
        assert_eq!(MseLoss::new().loss(pred.view(), target.view()), 3.5);
    }

    #[test]
    fn computes_in_f32() {
        let loss: f32 = MseLoss::new().loss(array![[1.0f32, -1.0]].view(), array![[0.0f32, 0.0]].view());
        assert_eq!(loss, 1.0);
    }

    #[test]
    #[should_panic(expected = "MseLoss: predictions and targets differ in shape")]
    fn rejects_mismatched_shapes() {
        MseLoss::new().loss(Array2::<f64>::zeros((2, 3)).view(), Array2::zeros((3, 2)).view());
    }

    proptest! {
        #[test]
        fn gradient_matches_finite_differences(
            rows in 1usize..4, cols in 1usize..5, values in proptest::collection::vec(-3.0..3.0f64, 32),
        ) {
            let pred = Array2::from_shape_fn((rows, cols), |(i, j)| values[i * cols + j]);
            let target = Array2::from_shape_fn((rows, cols), |(i, j)| values[16 + i * cols + j]);
            let (loss, grad) = MseLoss::new().loss_and_grad(pred.view(), target.view());
            prop_assert_eq!(loss, MseLoss::new().loss(pred.view(), target.view()));
            let numeric = numeric_grad(&pred, |p| MseLoss::new().loss(p.view(), target.view()));
            assert_grad_close(&grad, &numeric);
        }
    }
}
