//! Losses, mean-reduced and numerically equal to PyTorch's.

use ndarray::{Array2, ArrayView2};

use crate::Float;

/// A loss over a batch of predictions `[batch, outputs]`, mean-reduced as PyTorch's
/// default `reduction='mean'`.
pub trait Loss<F: Float> {
    /// What the predictions are compared with: class indices (`ArrayView1<usize>`)
    /// or a tensor of the predictions' shape (`ArrayView2<F>`).
    type Target<'a>: Copy;

    /// The loss, and its gradient with respect to the predictions written into
    /// `grad` (same shape as `pred`; no allocation).
    fn loss_and_grad_into(&self, pred: ArrayView2<F>, target: Self::Target<'_>, grad: &mut Array2<F>) -> F;

    /// The loss alone.
    fn loss(&self, pred: ArrayView2<F>, target: Self::Target<'_>) -> F;

    /// The loss and its gradient with respect to the predictions.
    fn loss_and_grad(&self, pred: ArrayView2<F>, target: Self::Target<'_>) -> (F, Array2<F>) {
        let mut grad = Array2::zeros(pred.raw_dim());
        let loss = self.loss_and_grad_into(pred, target, &mut grad);
        (loss, grad)
    }
}
