//! `Linear(in, out)`: `y = x Wᵀ + b`, weight stored as PyTorch's `[out, in]`.

use ndarray::{Array1, Array2, ArrayView2};
use rand::Rng;

use super::weight_bias;
use crate::gemm::matmul;
use crate::params::{Entry, EntryMut};
use crate::Float;

/// Whether a backward pass adds to the gradients (PyTorch's `backward`) or writes them
/// (a training step that starts from fresh gradients, saving the `zero_grad` pass).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gradients {
    /// `grad += ...`: gradients accumulate until `zero_grad`.
    Accumulate,
    /// `grad = ...`: the previous gradients are discarded.
    Overwrite,
}

/// A fully connected layer with its parameters and their gradients.
#[derive(Debug, Clone)]
pub struct Linear<F> {
    /// `[out, in]`, as PyTorch stores it.
    pub weight: Array2<F>,
    /// `[out]`, absent for `bias = false`.
    pub bias: Option<Array1<F>>,
    /// d loss / d weight, accumulated by [`Linear::backward`].
    pub weight_grad: Array2<F>,
    /// d loss / d bias, accumulated by [`Linear::backward`].
    pub bias_grad: Option<Array1<F>>,
}

impl<F: Float> Linear<F> {
    /// PyTorch's default init: weight and bias uniform in `±1/√in`
    /// (Kaiming-uniform with `a = √5`).
    pub fn init<R: Rng + ?Sized>(inputs: usize, outputs: usize, bias: bool, rng: &mut R) -> Self {
        let bound = 1.0 / (inputs as f64).sqrt();
        let mut uniform = || F::of(rng.random_range(-bound..bound));
        let weight = Array2::from_shape_simple_fn((outputs, inputs), &mut uniform);
        let bias = bias.then(|| Array1::from_shape_simple_fn(outputs, &mut uniform));
        Self::from_parts(weight, bias)
    }

    /// A layer with every parameter zero (what loading fills in).
    pub fn zeros(inputs: usize, outputs: usize, bias: bool) -> Self {
        Self::from_parts(Array2::zeros((outputs, inputs)), bias.then(|| Array1::zeros(outputs)))
    }

    /// A layer with the given weight `[out, in]` and bias `[out]`, gradients zeroed.
    pub fn from_parts(weight: Array2<F>, bias: Option<Array1<F>>) -> Self {
        let weight_grad = Array2::zeros(weight.raw_dim());
        let bias_grad = bias.as_ref().map(|b| Array1::zeros(b.raw_dim()));
        Linear { weight, bias, weight_grad, bias_grad }
    }

    /// `x Wᵀ + b` for a batch `x` of shape `[batch, in]`.
    pub fn forward(&self, x: ArrayView2<F>) -> Array2<F> {
        let mut y = Array2::zeros((x.nrows(), self.weight.nrows()));
        self.forward_into(x, &mut y);
        y
    }

    /// `x Wᵀ + b` written into `y` of shape `[batch, out]` (one GEMM call).
    pub fn forward_into(&self, x: ArrayView2<F>, y: &mut Array2<F>) {
        let beta = match &self.bias {
            Some(bias) => {
                y.assign(&bias.broadcast(y.raw_dim()).expect("bias has `out` elements"));
                F::one()
            }
            None => F::zero(),
        };
        matmul(F::one(), &x, &self.weight.t(), beta, &mut y.view_mut());
    }

    /// Accumulates `dW += gᵀ x` and `db += Σ g` for the batch `x` that produced `grad_out`.
    pub fn backward(&mut self, x: ArrayView2<F>, grad_out: ArrayView2<F>) {
        self.backward_with(x, grad_out, Gradients::Accumulate);
    }

    /// `dW = gᵀ x`, `db = Σ g`, added to or written over the gradients (one GEMM, no allocation).
    pub fn backward_with(&mut self, x: ArrayView2<F>, grad_out: ArrayView2<F>, gradients: Gradients) {
        let beta = match gradients {
            Gradients::Accumulate => F::one(),
            Gradients::Overwrite => F::zero(),
        };
        matmul(F::one(), &grad_out.t(), &x, beta, &mut self.weight_grad.view_mut());
        if let Some(bias_grad) = &mut self.bias_grad {
            if gradients == Gradients::Overwrite {
                bias_grad.fill(F::zero());
            }
            for row in grad_out.rows() {
                *bias_grad += &row;
            }
        }
    }

    /// d loss / d x `= g W`, of shape `[batch, in]`.
    pub fn input_grad(&self, grad_out: ArrayView2<F>) -> Array2<F> {
        let mut grad_in = Array2::zeros((grad_out.nrows(), self.weight.ncols()));
        self.input_grad_into(grad_out, &mut grad_in);
        grad_in
    }

    /// d loss / d x `= g W` written into `grad_in` of shape `[batch, in]` (one GEMM).
    pub fn input_grad_into(&self, grad_out: ArrayView2<F>, grad_in: &mut Array2<F>) {
        matmul(F::one(), &grad_out, &self.weight.view(), F::zero(), &mut grad_in.view_mut());
    }

    /// Visits `weight` then `bias` under their state-dict keys (`"0.weight"`, `"0.bias"`).
    pub fn visit(&self, keys: [&str; 2], visitor: &mut dyn FnMut(&str, Entry<'_, F>)) {
        let bias = self.bias.as_ref().zip(self.bias_grad.as_ref());
        weight_bias::visit(keys, (&self.weight, &self.weight_grad), bias, visitor);
    }

    /// Writable counterpart of [`Linear::visit`].
    pub fn visit_mut(&mut self, keys: [&str; 2], visitor: &mut dyn FnMut(&str, EntryMut<'_, F>)) {
        let bias = self.bias.as_mut().zip(self.bias_grad.as_mut());
        weight_bias::visit_mut(keys, (&mut self.weight, &mut self.weight_grad), bias, visitor);
    }

    /// Copies the weights into a frozen layer: `weight_t` is `[in][out]` (input-major,
    /// what [`crate::frozen::dense_into`] reads) flattened, `bias` has `out` elements.
    pub fn freeze_into(&self, weight_t: &mut [F], bias: Option<&mut [F]>) {
        for (dst, &w) in weight_t.iter_mut().zip(self.weight.t().iter()) {
            *dst = w;
        }
        weight_bias::freeze_bias(self.bias.as_ref(), bias);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finite_diff::{assert_grad_close, numeric_grad};
    use ndarray::{array, Array2};
    use proptest::prelude::proptest;
    use rand::Rng;

    /// loss = Σ y ⊙ r for a fixed random `r`, so d loss / d y = r.
    fn weighted_sum(y: &Array2<f64>, r: &Array2<f64>) -> f64 {
        (y * r).sum()
    }

    #[test]
    fn forward_matches_hand_computed() {
        let layer = Linear::from_parts(array![[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], Some(array![0.5, -0.5, 1.0]));
        let y = layer.forward(array![[1.0, -1.0]].view());
        assert_eq!(y, array![[-0.5, -1.5, 0.0]]);
    }

    #[test]
    fn init_is_bounded_by_one_over_sqrt_fan_in() {
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(1);
        let layer = Linear::<f64>::init(100, 20, true, &mut rng);
        assert!(layer.weight.iter().chain(layer.bias.as_ref().unwrap()).all(|w| w.abs() < 0.1));
        assert!(layer.weight.iter().any(|w| w.abs() > 0.09), "uses the whole range");
    }

    proptest! {
        #[test]
        fn backward_matches_finite_differences(
            batch in 1usize..4, inputs in 1usize..5, outputs in 1usize..5, bias: bool, seed in 0u64..1000,
        ) {
            let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed);
            let layer = Linear::<f64>::init(inputs, outputs, bias, &mut rng);
            let x = Array2::from_shape_simple_fn((batch, inputs), || rng.random_range(-2.0..2.0));
            let r = Array2::from_shape_simple_fn((batch, outputs), || rng.random_range(-1.0..1.0));

            let mut analytic = layer.clone();
            analytic.backward(x.view(), r.view());
            let grad_x = analytic.input_grad(r.view());

            let numeric_x = numeric_grad(&x, |x| weighted_sum(&layer.forward(x.view()), &r));
            let numeric_w = numeric_grad(&layer.weight, |w| {
                let probe = Linear::from_parts(w.clone(), layer.bias.clone());
                weighted_sum(&probe.forward(x.view()), &r)
            });
            assert_grad_close(&grad_x, &numeric_x);
            assert_grad_close(&analytic.weight_grad, &numeric_w);
            if let Some(bias) = &layer.bias {
                let numeric_b = numeric_grad(bias, |b| {
                    let probe = Linear::from_parts(layer.weight.clone(), Some(b.clone()));
                    weighted_sum(&probe.forward(x.view()), &r)
                });
                assert_grad_close(analytic.bias_grad.as_ref().unwrap(), &numeric_b);
            }
        }
    }
}
