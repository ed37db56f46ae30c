//! `HuberLoss`: quadratic near zero, linear beyond `delta`, as PyTorch's `nn.HuberLoss(delta=...)`.

use ndarray::{Array2, ArrayView2};

use super::{mean_elementwise, Loss};
use crate::Float;

/// The Huber loss of `d = pred - target`, averaged over all elements:
/// `½ d²` where `|d| < delta`, else `delta · (|d| - ½ delta)`.
///
/// # Panics
/// The [`Loss`] methods panic if `pred` and `target` (and `grad`) differ in shape.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HuberLoss {
    delta: f64,
}

impl HuberLoss {
    /// The Huber loss with threshold `delta` (PyTorch's default is `1.0`, see [`Default`]).
    ///
    /// # Panics
    /// If `delta` is not positive, which PyTorch rejects too.
    pub fn new(delta: f64) -> Self {
        assert!(delta > 0.0, "HuberLoss: delta must be positive, found {delta}");
        HuberLoss { delta }
    }

    /// The threshold between the quadratic and the linear part.
    pub fn delta(&self) -> f64 {
        self.delta
    }

    /// The loss term of a difference `d`, and its slope `clamp(d, -delta, delta)`.
    fn term_and_slope<F: Float>(delta: F, d: F) -> (F, F) {
        let half = F::of(0.5);
        let z = d.abs();
        let term = if z < delta { half * z * z } else { delta * (z - half * delta) };
        (term, d.max(-delta).min(delta))
    }
}

impl Default for HuberLoss {
    /// `delta = 1.0`, as PyTorch.
    fn default() -> Self {
        HuberLoss::new(1.0)
    }
}

impl<F: Float> Loss<F> for HuberLoss {
    type Target<'a> = ArrayView2<'a, F>;

    fn loss_and_grad_into(&self, pred: ArrayView2<F>, target: ArrayView2<F>, grad: &mut Array2<F>) -> F {
        let delta = F::of(self.delta);
        mean_elementwise("HuberLoss", pred, target, Some(grad), |d| Self::term_and_slope(delta, d))
    }

    fn loss(&self, pred: ArrayView2<F>, target: ArrayView2<F>) -> F {
        let delta = F::of(self.delta);
        mean_elementwise("HuberLoss", pred, target, None, |d| Self::term_and_slope(delta, d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finite_diff::{assert_grad_close, numeric_grad};
    use ndarray::array;
    use proptest::prelude::*;

    #[test]
    fn matches_hand_computed_on_both_branches() {
        // delta = 1, d = [0.5, -2, 1, 3]: terms ½·0.25, 1·(2 - ½), 1·(1 - ½), 1·(3 - ½)
        // = 0.125 + 1.5 + 0.5 + 2.5 = 4.625, mean 1.15625; gradient clamp(d, -1, 1) / 4.
        let pred = array![[0.5, -2.0], [1.0, 3.0]];
        let target = Array2::zeros((2, 2));
        let (loss, grad) = HuberLoss::default().loss_and_grad(pred.view(), target.view());
        assert_eq!(loss, 1.15625);
        assert_eq!(grad, array![[0.125, -0.25], [0.25, 0.25]]);

        // delta = 2, d = [1.5, -3]: ½·2.25 = 1.125 and 2·(3 - 1) = 4, mean 2.5625; gradient [1.5, -2] / 2.
        let (loss, grad) = HuberLoss::new(2.0).loss_and_grad(array![[2.5, -1.0]].view(), array![[1.0, 2.0]].view());
        assert_eq!(loss, 2.5625);
        assert_eq!(grad, array![[0.75, -1.0]]);
    }

    #[test]
    #[should_panic(expected = "delta must be positive")]
    fn rejects_non_positive_delta() {
        HuberLoss::new(0.0);
    }

    proptest! {
        #[test]
        fn gradient_matches_finite_differences(
            rows in 1usize..4, cols in 1usize..5, delta in 0.1..3.0f64,
            values in proptest::collection::vec(-4.0..4.0f64, 12),
        ) {
            let pred = Array2::from_shape_fn((rows, cols), |(i, j)| values[i * cols + j]);
            let target = Array2::zeros((rows, cols));
            let huber = HuberLoss::new(delta);
            // Central differences straddling the kink at |d| = delta are not a derivative.
            prop_assume!(pred.iter().all(|d| (d.abs() - delta).abs() > 1e-3));
            let (loss, grad) = huber.loss_and_grad(pred.view(), target.view());
            prop_assert_eq!(loss, huber.loss(pred.view(), target.view()));
            let numeric = numeric_grad(&pred, |p| huber.loss(p.view(), target.view()));
            assert_grad_close(&grad, &numeric);
        }
    }
}
