//! Losses, mean-reduced and numerically equal to PyTorch's.
//!
//! Each loss implements the [`Loss`] trait, which the facade's prelude exports:
//! `criterion.loss_and_grad(pred, target)` needs it in scope.

mod cross_entropy;
mod huber;
mod mse;

pub use cross_entropy::CrossEntropyLoss;
pub use huber::HuberLoss;
pub use mse::MseLoss;

use ndarray::{Array2, ArrayView2, Zip};

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

/// The mean over all elements of `term(p - t)`, where `term_and_slope(d)` returns the
/// loss term of a difference `d` and its derivative; with `grad`, also writes
/// `slope(p - t) / n` there. Shared by the elementwise losses (MSE, Huber).
///
/// # Panics
/// If `pred`, `target` and `grad` differ in shape.
fn mean_elementwise<F: Float>(
    loss: &str,
    pred: ArrayView2<F>,
    target: ArrayView2<F>,
    grad: Option<&mut Array2<F>>,
    term_and_slope: impl Fn(F) -> (F, F),
) -> F {
    assert_eq!(pred.shape(), target.shape(), "{loss}: predictions and targets differ in shape");
    let count = F::of(pred.len() as f64);
    let mut sum = F::zero();
    match grad {
        Some(grad) => {
            assert_eq!(grad.shape(), pred.shape(), "{loss}: the gradient buffer differs in shape from the predictions");
            let norm = F::of(1.0 / pred.len() as f64);
            Zip::from(grad).and(&pred).and(&target).for_each(|g, &p, &t| {
                let (term, slope) = term_and_slope(p - t);
                sum += term;
                *g = slope * norm;
            });
        }
        None => Zip::from(&pred).and(&target).for_each(|&p, &t| sum += term_and_slope(p - t).0),
    }
    sum / count
}
