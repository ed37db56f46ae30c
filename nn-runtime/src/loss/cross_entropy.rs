//! `CrossEntropyLoss`: log-softmax and negative log-likelihood fused, over class-index
//! labels, as PyTorch's `nn.CrossEntropyLoss(label_smoothing=...)`.

use ndarray::{Array2, ArrayView1, ArrayView2, Axis};

use super::Loss;
use crate::Float;

/// Cross-entropy of logits `[batch, classes]` against class indices `[batch]`, averaged
/// over the batch. With label smoothing `ε`, each row's loss is
/// `(1 - ε) · (-log p[label]) + ε · mean over classes of (-log p)`, as PyTorch's.
///
/// The log-softmax is shifted by each row's maximum, so logits of any finite size
/// (±1e4 and beyond) give a finite loss and gradient.
///
/// # Panics
/// The [`Loss`] methods panic if the number of labels differs from the batch size, or
/// if a label is not below the number of classes (PyTorch raises an error for both).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CrossEntropyLoss {
    label_smoothing: f64,
}

impl CrossEntropyLoss {
    /// The plain cross-entropy, without label smoothing.
    pub const fn new() -> Self {
        CrossEntropyLoss { label_smoothing: 0.0 }
    }

    /// Moves `smoothing` of each label's mass uniformly onto all classes.
    ///
    /// # Panics
    /// If `smoothing` is outside `[0, 1]`, which PyTorch rejects too.
    pub fn label_smoothing(self, smoothing: f64) -> Self {
        assert!(
            (0.0..=1.0).contains(&smoothing),
            "CrossEntropyLoss: label_smoothing must be in [0, 1], found {smoothing}"
        );
        CrossEntropyLoss { label_smoothing: smoothing }
    }

    /// The row losses summed, divided by the batch size; with `grad`, also writes
    /// `(softmax - smoothed one-hot) / batch` there, row by row, without allocating.
    fn mean_loss<F: Float>(
        &self,
        logits: ArrayView2<F>,
        labels: ArrayView1<usize>,
        mut grad: Option<&mut Array2<F>>,
    ) -> F {
        let (batch, classes) = logits.dim();
        assert_eq!(labels.len(), batch, "CrossEntropyLoss: {} labels for a batch of {batch} logits", labels.len());
        if let Some(grad) = &grad {
            assert_eq!(
                grad.dim(),
                (batch, classes),
                "CrossEntropyLoss: the gradient buffer differs in shape from the logits"
            );
        }
        let eps = self.label_smoothing;
        let on_label = F::of(1.0 - eps);
        let on_every_class = F::of(eps / classes as f64);
        let norm = F::of(1.0 / batch as f64);
        let mut total = F::zero();
        for (i, (row, &label)) in logits.axis_iter(Axis(0)).zip(labels).enumerate() {
            assert!(label < classes, "CrossEntropyLoss: label {label} is out of range for {classes} classes");
            let lse = log_sum_exp(row);
            let neg_log_p_sum: F = row.iter().map(|&x| lse - x).sum();
            total += on_label * (lse - row[label]) + on_every_class * neg_log_p_sum;
            if let Some(grad) = &mut grad {
                for (j, (g, &x)) in grad.row_mut(i).into_iter().zip(row).enumerate() {
                    let target = if j == label { on_label + on_every_class } else { on_every_class };
                    *g = ((x - lse).exp_libm() - target) * norm;
                }
            }
        }
        total / F::of(batch as f64)
    }
}

/// `log Σ exp(x)`, computed as `max + log Σ exp(x - max)` so no term overflows.
fn log_sum_exp<F: Float>(row: ArrayView1<F>) -> F {
    let max = row.iter().copied().fold(F::neg_infinity(), F::max);
    let sum: F = row.iter().map(|&x| (x - max).exp_libm()).sum();
    max + sum.ln()
}

impl<F: Float> Loss<F> for CrossEntropyLoss {
    type Target<'a> = ArrayView1<'a, usize>;

    fn loss_and_grad_into(&self, logits: ArrayView2<F>, labels: ArrayView1<usize>, grad: &mut Array2<F>) -> F {
        self.mean_loss(logits, labels, Some(grad))
    }

    fn loss(&self, logits: ArrayView2<F>, labels: ArrayView1<usize>) -> F {
        self.mean_loss(logits, labels, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finite_diff::{assert_grad_close, numeric_grad};
    use ndarray::array;
    use proptest::prelude::*;

    fn assert_close(a: &Array2<f64>, b: &Array2<f64>) {
        assert!(a.iter().zip(b).all(|(a, b)| (a - b).abs() < 1e-15), "{a} vs {b}");
    }

    #[test]
    fn matches_hand_computed() {
        // -log softmax([1, 2, 3])[2] = log(e + e² + e³) - 3; gradient softmax - onehot,
        // softmax([1, 2, 3]) = [0.0900.., 0.2447.., 0.6652..] (python3, math.exp in float64).
        let logits: Array2<f64> = array![[1.0, 2.0, 3.0]];
        let (loss, grad) = CrossEntropyLoss::new().loss_and_grad(logits.view(), array![2].view());
        assert!((loss - 0.40760596444438013).abs() < 1e-15);
        assert_close(&grad, &array![[0.09003057317038048, 0.2447284710547977, 0.665240955774822 - 1.0]]);
    }

    #[test]
    fn matches_pytorch_label_smoothing_formula() {
        // (1 - ε)·nll + ε·mean_j(lse - x_j) with ε = 0.1: 0.9·0.40760.. + 0.1·1.40760..;
        // gradient softmax - 0.9·onehot - 0.1/3 (python3, float64).
        let criterion = CrossEntropyLoss::new().label_smoothing(0.1);
        let (loss, grad): (f64, _) = criterion.loss_and_grad(array![[1.0, 2.0, 3.0]].view(), array![2].view());
        assert!((loss - 0.5076059644443801).abs() < 1e-15);
        assert_close(&grad, &array![[0.05669723983704714, 0.21139513772146437, -0.26809237755851134]]);

        // Two rows, ε = 0.2, mean over the batch (same script).
        let criterion = CrossEntropyLoss::new().label_smoothing(0.2);
        let logits: Array2<f64> = array![[0.5, -1.0, 2.0, 0.0], [3.0, 3.0, -2.0, 1.0]];
        let (loss, grad) = criterion.loss_and_grad(logits.view(), array![1, 0].view());
        assert!((loss - 2.0895618708080486).abs() < 1e-14);
        let want = array![
            [0.054222354757489856, -0.4073231032956256, 0.33004996144308707, 0.023050787095048604],
            [-0.19158127605423486, 0.20841872394576516, -0.023427237009459274, 0.006589789117928832]
        ];
        assert_close(&grad, &want);
    }

    #[test]
    fn is_stable_for_huge_logits() {
        // log-softmax([1e4, 0, -1e4]) = [0, -1e4, -2e4] up to e^-1e4, which underflows to 0.
        let logits = array![[1e4, 0.0, -1e4], [1e4, 0.0, -1e4]];
        let (loss, grad) = CrossEntropyLoss::new().loss_and_grad(logits.view(), array![0, 2].view());
        assert_eq!(loss, 1e4);
        assert_eq!(grad, array![[0.0, 0.0, 0.0], [0.5, 0.0, -0.5]]);

        let logits = logits.mapv(|x| x as f32);
        let (loss, grad) =
            CrossEntropyLoss::new().label_smoothing(0.1).loss_and_grad(logits.view(), array![0, 2].view());
        // Row losses 0.1·mean(0, 1e4, 2e4) = 1e3 and 0.9·2e4 + 1e3 = 1.9e4.
        assert!((loss - 1e4).abs() < 1e-2, "{loss}");
        assert!(grad.iter().all(|g| g.is_finite()));
    }

    #[test]
    #[should_panic(expected = "label 3 is out of range for 3 classes")]
    fn rejects_out_of_range_labels() {
        CrossEntropyLoss::new().loss(array![[1.0, 2.0, 3.0]].view(), array![3].view());
    }

    proptest! {
        #[test]
        fn gradient_matches_finite_differences(
            batch in 1usize..4, classes in 1usize..5, smoothing in 0.0..1.0f64,
            values in proptest::collection::vec(-5.0..5.0f64, 12), label_seeds in proptest::collection::vec(0usize..100, 3),
        ) {
            let logits = Array2::from_shape_fn((batch, classes), |(i, j)| values[i * classes + j]);
            let labels = ndarray::Array1::from_shape_fn(batch, |i| label_seeds[i] % classes);
            let criterion = CrossEntropyLoss::new().label_smoothing(smoothing);
            let (loss, grad) = criterion.loss_and_grad(logits.view(), labels.view());
            prop_assert_eq!(loss, criterion.loss(logits.view(), labels.view()));
            let numeric = numeric_grad(&logits, |x| criterion.loss(x.view(), labels.view()));
            assert_grad_close(&grad, &numeric);
        }
    }
}
