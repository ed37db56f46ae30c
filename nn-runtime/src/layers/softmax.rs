//! `Softmax` over the feature axis of a `[batch, features]` batch.

use ndarray::{Array2, ArrayView2, ArrayViewMut2, Axis, Zip};

use crate::Float;

/// Row-wise softmax in place, shifted by the row maximum for stability.
pub fn forward_in_place<F: Float>(mut x: Array2<F>) -> Array2<F> {
    softmax_rows(x.view_mut());
    x
}

/// Row-wise softmax of a standard-layout batch, in place.
pub fn softmax_rows<F: Float>(mut x: ArrayViewMut2<F>) {
    for row in x.axis_iter_mut(Axis(0)) {
        crate::frozen::softmax_in_place(row.into_slice().expect("rows are contiguous"));
    }
}

/// `grad_in = y ⊙ (g - Σ g ⊙ y)` per row, overwriting `grad` with `grad_in`.
pub fn backward_in_place<F: Float>(y: ArrayView2<F>, mut grad: ArrayViewMut2<F>) {
    Zip::from(grad.rows_mut()).and(y.rows()).for_each(|mut g, y| {
        let dot: F = g.iter().zip(y).map(|(&g, &y)| g * y).sum();
        g.zip_mut_with(&y, |g, &y| *g = y * (*g - dot));
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finite_diff::{assert_grad_close, numeric_grad};
    use ndarray::array;
    use proptest::prelude::*;

    #[test]
    fn forward_matches_pytorch_and_survives_huge_logits() {
        // torch.softmax(torch.tensor([[1., 2., 3.]], dtype=torch.float64), 1)
        let y = forward_in_place(array![[1.0, 2.0, 3.0], [1e4, 0.0, -1e4]]);
        let want: [f64; 3] = [0.09003057317038046, 0.24472847105479764, 0.6652409557748219];
        assert!(y.row(0).iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-15));
        assert_eq!(y.row(1).to_vec(), vec![1.0, 0.0, 0.0]);
    }

    proptest! {
        #[test]
        fn backward_matches_finite_differences(
            xs in proptest::collection::vec(-5.0..5.0f64, 8),
            rs in proptest::collection::vec(-1.0..1.0f64, 8),
        ) {
            let x = Array2::from_shape_vec((2, 4), xs).unwrap();
            let r = Array2::from_shape_vec((2, 4), rs).unwrap();
            let y = forward_in_place(x.clone());
            let mut grad = r.clone();
            backward_in_place(y.view(), grad.view_mut());
            let numeric = numeric_grad(&x, |x| (forward_in_place(x.clone()) * &r).sum());
            assert_grad_close(&grad, &numeric);
        }
    }
}
