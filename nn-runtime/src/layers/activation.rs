//! Elementwise activations over batches of any rank, in place where the tape allows.
//!
//! The scalar `f`/`df` pairs live in [`crate::activation`]; this file maps them over
//! ndarray batches for training.

use ndarray::{Array, ArrayView, ArrayViewMut, Dimension, Zip};

use crate::activation::Activation;
use crate::simd::vectorised;
use crate::Float;

/// `y = f(x)` overwriting `x` (used when the tape does not need `x`).
pub fn forward_in_place<F: Float, D: Dimension>(act: impl Activation<F>, mut x: Array<F, D>) -> Array<F, D> {
    x.mapv_inplace(|v| act.f(v));
    x
}

/// `y = f(x)` into a new array (used when the tape keeps `x`).
pub fn forward<F: Float, D: Dimension>(act: impl Activation<F>, x: ArrayView<F, D>) -> Array<F, D> {
    x.mapv(|v| act.f(v))
}

/// `y = f(x)` into an existing buffer of `x`'s shape (no allocation).
pub fn forward_into<F: Float, D: Dimension>(act: impl Activation<F>, x: ArrayView<F, D>, mut y: ArrayViewMut<F, D>) {
    assert_eq!(x.shape(), y.shape(), "activation output buffer must be shaped as the input");
    if let (Some(x), Some(y)) = (x.as_slice(), y.as_slice_mut()) {
        return vectorised(
            #[inline(always)]
            || y.iter_mut().zip(x).for_each(|(y, &x)| *y = act.f(x)),
        );
    }
    Zip::from(&mut y).and(&x).for_each(|y, &x| *y = act.f(x));
}

/// `grad ⊙= f'(·)`, reading `saved`: the layer's output when
/// [`Activation::DF_FROM_OUTPUT`] holds, its input otherwise.
pub fn backward_in_place<F: Float, D: Dimension>(
    act: impl Activation<F>,
    saved: ArrayView<F, D>,
    mut grad: ArrayViewMut<F, D>,
) {
    assert_eq!(saved.shape(), grad.shape(), "activation gradient must be shaped as the saved values");
    if let (Some(saved), Some(grad)) = (saved.as_slice(), grad.as_slice_mut()) {
        return vectorised(
            #[inline(always)]
            || grad.iter_mut().zip(saved).for_each(|(g, &s)| *g *= act.df(s)),
        );
    }
    Zip::from(&mut grad).and(&saved).for_each(|g, &s| *g *= act.df(s));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activation::{Gelu, LeakyRelu, Relu, Sigmoid, Tanh};
    use crate::finite_diff::{assert_grad_close, numeric_grad};
    use ndarray::{array, Array2};
    use proptest::prelude::*;

    fn check_backward<A: Activation<f64>>(act: A, x: Array2<f64>, r: Array2<f64>) {
        let y = forward(act, x.view());
        let saved = if A::DF_FROM_OUTPUT { y.clone() } else { x.clone() };
        let mut grad = r.clone();
        backward_in_place(act, saved.view(), grad.view_mut());
        let numeric = numeric_grad(&x, |x| (forward(act, x.view()) * &r).sum());
        assert_grad_close(&grad, &numeric);
        assert_eq!(forward_in_place(act, x.clone()), y, "in-place and copying forward agree");
    }

    /// Values away from the kinks at 0, where finite differences are meaningless.
    fn away_from_zero() -> impl Strategy<Value = f64> {
        prop_oneof![-4.0..-1e-3, 1e-3..4.0]
    }

    proptest! {
        #[test]
        fn every_activation_backward_matches_finite_differences(
            xs in proptest::collection::vec(away_from_zero(), 6),
            rs in proptest::collection::vec(-1.0..1.0f64, 6),
            slope in -0.5..0.5f64,
        ) {
            let x = Array2::from_shape_vec((2, 3), xs).unwrap();
            let r = Array2::from_shape_vec((2, 3), rs).unwrap();
            check_backward(Relu, x.clone(), r.clone());
            check_backward(Sigmoid, x.clone(), r.clone());
            check_backward(Tanh, x.clone(), r.clone());
            check_backward(Gelu, x.clone(), r.clone());
            check_backward(LeakyRelu { slope }, x, r);
        }
    }

    #[test]
    fn relu_propagates_nan_as_pytorch() {
        let y = forward(Relu, array![[f64::NAN, -1.0]].view());
        assert!(y[[0, 0]].is_nan());
        assert_eq!(y[[0, 1]], 0.0);
    }

    /// Reference values: PyTorch's formulas for relu, leaky_relu, sigmoid, tanh and exact gelu,
    /// evaluated in f64 with Python's `math` module.
    #[test]
    fn forward_matches_pytorch_values() {
        let x = array![[-2.0, -0.5, 0.0, 1.0, 3.0]];
        assert_eq!(forward(Relu, x.view()), array![[0.0, 0.0, 0.0, 1.0, 3.0]]);
        assert_eq!(forward(LeakyRelu { slope: 0.01 }, x.view()), array![[-0.02, -0.005, 0.0, 1.0, 3.0]]);
        let close = |a: Array2<f64>, b: Array2<f64>| a.iter().zip(&b).all(|(a, b)| (a - b).abs() < 1e-12);
        assert!(close(
            forward(Sigmoid, x.view()),
            array![[0.11920292202211755, 0.3775406687981454, 0.5, 0.7310585786300049, 0.9525741268224334]]
        ));
        assert!(close(
            forward(Tanh, x.view()),
            array![[-0.9640275800758169, -0.46211715726000974, 0.0, 0.7615941559557649, 0.9950547536867305]]
        ));
        // GELU exact: x/2 (1 + erf(x/√2)).
        assert!(close(
            forward(Gelu, x.view()),
            array![[-0.04550026389635842, -0.15426876936299344, 0.0, 0.8413447460685429, 2.99595030590511]]
        ));
    }
}
