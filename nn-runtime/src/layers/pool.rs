//! `MaxPool2d(k)` and `AvgPool2d(k)` over `[batch, C, H, W]` batches: windows of
//! `kernel`×`kernel` every `stride`, no padding, PyTorch's floor output size
//! `⌊(H − kernel) / stride⌋ + 1`.
//!
//! Every plane is pooled by the frozen kernels' own loops ([`crate::frozen`]).

use ndarray::{Array4, ArrayView4};

use crate::frozen::{avg_pool_plane, max_pool_plane, output_len};
use crate::Float;

/// What [`max_pool2d_backward`] needs of a training forward: where each maximum came from.
#[derive(Debug, Clone)]
pub struct MaxPoolIndices {
    /// For every output, the flat index `h·W + w` of its maximum in its input plane
    /// (PyTorch's `return_indices`); shaped as the output.
    pub indices: Array4<usize>,
    /// The input's `(H, W)`.
    pub input_hw: (usize, usize),
}

/// Max pooling for inference.
pub fn max_pool2d<F: Float>(x: ArrayView4<F>, kernel: usize, stride: usize) -> Array4<F> {
    let x = x.as_standard_layout();
    let planes = Planes::new(x.dim(), kernel, stride);
    let mut y = Array4::zeros(planes.output_dim());
    for (plane, out) in planes.split(x.as_slice().expect("standard layout"), y.as_slice_mut().expect("fresh array")) {
        max_pool_plane(plane, planes.w, out, planes.ow, kernel, stride, None);
    }
    y
}

/// Max pooling for training: the output and, for backward, where each maximum came
/// from (ties go to the first maximum in the window, read row by row, as PyTorch).
pub fn max_pool2d_train<F: Float>(x: ArrayView4<F>, kernel: usize, stride: usize) -> (Array4<F>, MaxPoolIndices) {
    let x = x.as_standard_layout();
    let planes = Planes::new(x.dim(), kernel, stride);
    let mut y = Array4::zeros(planes.output_dim());
    let mut indices = Array4::zeros(planes.output_dim());
    let index_planes = indices.as_slice_mut().expect("fresh array").chunks_exact_mut(planes.oh * planes.ow);
    let value_planes = planes.split(x.as_slice().expect("standard layout"), y.as_slice_mut().expect("fresh array"));
    for ((plane, out), argmax) in value_planes.zip(index_planes) {
        max_pool_plane(plane, planes.w, out, planes.ow, kernel, stride, Some(argmax));
    }
    (y, MaxPoolIndices { indices, input_hw: (planes.h, planes.w) })
}

/// d loss / d x of max pooling: each output's gradient goes to the input it was the
/// maximum of (summed where overlapping windows share a maximum).
pub fn max_pool2d_backward<F: Float>(indices: &MaxPoolIndices, grad_out: ArrayView4<F>) -> Array4<F> {
    assert_eq!(grad_out.shape(), indices.indices.shape(), "max_pool2d grad_out must be shaped as the output");
    let (batch, channels, oh, ow) = grad_out.dim();
    let (h, w) = indices.input_hw;
    let grad_out = grad_out.as_standard_layout();
    let mut grad_in = Array4::zeros((batch, channels, h, w));
    let outputs = grad_out.as_slice().expect("standard layout").chunks_exact(oh * ow);
    let argmax = indices.indices.as_slice().expect("fresh array").chunks_exact(oh * ow);
    for ((grad_plane, g), argmax) in
        grad_in.as_slice_mut().expect("fresh array").chunks_exact_mut(h * w).zip(outputs).zip(argmax)
    {
        for (&g, &i) in g.iter().zip(argmax) {
            grad_plane[i] += g;
        }
    }
    grad_in
}

/// Average pooling, for inference and training alike (its backward needs no tape).
pub fn avg_pool2d<F: Float>(x: ArrayView4<F>, kernel: usize, stride: usize) -> Array4<F> {
    let x = x.as_standard_layout();
    let planes = Planes::new(x.dim(), kernel, stride);
    let mut y = Array4::zeros(planes.output_dim());
    for (plane, out) in planes.split(x.as_slice().expect("standard layout"), y.as_slice_mut().expect("fresh array")) {
        avg_pool_plane(plane, planes.w, out, planes.ow, kernel, stride);
    }
    y
}

/// d loss / d x of average pooling of an input of spatial size `input_hw = (H, W)`:
/// each output's gradient, divided by `kernel²`, added to every input of its window.
pub fn avg_pool2d_backward<F: Float>(
    grad_out: ArrayView4<F>,
    input_hw: (usize, usize),
    kernel: usize,
    stride: usize,
) -> Array4<F> {
    let (batch, channels, _, _) = grad_out.dim();
    let (h, w) = input_hw;
    let planes = Planes::new((batch, channels, h, w), kernel, stride);
    assert_eq!(grad_out.dim(), planes.output_dim(), "avg_pool2d grad_out must be shaped as the output");
    let grad_out = grad_out.as_standard_layout();
    let area = F::of((kernel * kernel) as f64);
    let mut grad_in = Array4::zeros((batch, channels, h, w));
    let outputs = grad_out.as_slice().expect("standard layout");
    for (g, grad_plane) in outputs
        .chunks_exact(planes.oh * planes.ow)
        .zip(grad_in.as_slice_mut().expect("fresh array").chunks_exact_mut(h * w))
    {
        for (oy, g_row) in g.chunks_exact(planes.ow).enumerate() {
            for ki in 0..kernel {
                let row_start = (oy * stride + ki) * w;
                for kj in 0..kernel {
                    for (d, &g) in grad_plane[row_start + kj..].iter_mut().step_by(stride).zip(g_row) {
                        *d += g / area;
                    }
                }
            }
        }
    }
    grad_in
}

/// The sizes of one pooling of a batch, seen as `batch·C` independent planes.
struct Planes {
    batch: usize,
    channels: usize,
    h: usize,
    w: usize,
    oh: usize,
    ow: usize,
}

impl Planes {
    fn new((batch, channels, h, w): (usize, usize, usize, usize), kernel: usize, stride: usize) -> Self {
        assert!(kernel > 0 && stride > 0, "pooling kernel and stride must be positive");
        let (oh, ow) = (output_len(h, kernel, stride, 0), output_len(w, kernel, stride, 0));
        Planes { batch, channels, h, w, oh, ow }
    }

    fn output_dim(&self) -> (usize, usize, usize, usize) {
        (self.batch, self.channels, self.oh, self.ow)
    }

    /// Pairs each input plane with its output plane.
    fn split<'a, F>(&self, x: &'a [F], y: &'a mut [F]) -> impl Iterator<Item = (&'a [F], &'a mut [F])> {
        x.chunks_exact(self.h * self.w).zip(y.chunks_exact_mut(self.oh * self.ow))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finite_diff::{assert_grad_close, numeric_grad};
    use ndarray::{array, Array};
    use proptest::prelude::{proptest, ProptestConfig};
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};

    /// Windows of 2 every 2 over a 4×5 plane: the last column is dropped (floor), and
    /// the ties (two 7s, four 1s) keep the first maximum read row by row, as PyTorch.
    #[test]
    fn forward_matches_pytorch_definition() {
        let x = array![[[
            [1.0, 7.0, 2.0, 3.0, 9.0],
            [7.0, 0.0, 3.0, -1.0, 9.0],
            [-4.0, -2.0, 1.0, 1.0, 9.0],
            [-3.0, -5.0, 1.0, 1.0, 9.0]
        ]]];
        let (max, indices) = max_pool2d_train(x.view(), 2, 2);
        assert_eq!(max, array![[[[7.0, 3.0], [-2.0, 1.0]]]]);
        assert_eq!(indices.indices, array![[[[1, 3], [11, 12]]]]);
        assert_eq!(max_pool2d(x.view(), 2, 2), max);
        // Window means: (1+7+7+0)/4, (2+3+3-1)/4, (-4-2-3-5)/4, (1+1+1+1)/4.
        assert_eq!(avg_pool2d(x.view(), 2, 2), array![[[[3.75, 1.75], [-3.5, 1.0]]]]);
    }

    /// NaN wins the window and stays, and a window of −∞ points at its first element,
    /// as in PyTorch.
    #[test]
    fn max_propagates_nan_and_keeps_the_first_of_infinities() {
        let x = array![[[
            [1.0, f64::NAN, f64::NEG_INFINITY, f64::NEG_INFINITY],
            [5.0, 2.0, f64::NEG_INFINITY, f64::NEG_INFINITY]
        ]]];
        let (y, indices) = max_pool2d_train(x.view(), 2, 2);
        assert!(y[[0, 0, 0, 0]].is_nan());
        assert_eq!(indices.indices, array![[[[1, 2]]]]);
        assert_eq!(y[[0, 0, 0, 1]], f64::NEG_INFINITY);
        assert!(max_pool2d(x.view(), 2, 2)[[0, 0, 0, 0]].is_nan());
    }

    /// loss = Σ y ⊙ r for a fixed random `r`, so d loss / d y = r.
    fn weighted_sum(y: &Array4<f64>, r: &Array4<f64>) -> f64 {
        (y * r).sum()
    }

    /// The definition, one output at a time.
    fn reference(x: &Array4<f64>, k: usize, s: usize, reduce: fn(&[f64]) -> f64) -> Array4<f64> {
        let (b, c, h, w) = x.dim();
        Array::from_shape_fn((b, c, (h - k) / s + 1, (w - k) / s + 1), |(n, ch, i, j)| {
            let window: Vec<f64> = (0..k * k).map(|t| x[[n, ch, i * s + t / k, j * s + t % k]]).collect();
            reduce(&window)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn forward_and_backward_match_definition_and_finite_differences(
            batch in 1usize..3, channels in 1usize..3, kernel in 1usize..4, stride in 1usize..4,
            extra_h in 0usize..4, extra_w in 0usize..4, seed in 0u64..1000,
        ) {
            let (h, w) = (kernel + extra_h, kernel + extra_w);
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            // Distinct values 0.1 apart: no window has a tie that a finite difference could flip.
            let mut values: Vec<f64> = (0..batch * channels * h * w).map(|v| v as f64 * 0.1 - 1.0).collect();
            values.shuffle(&mut rng);
            let x = Array4::from_shape_vec((batch, channels, h, w), values).unwrap();

            let (max, indices) = max_pool2d_train(x.view(), kernel, stride);
            let avg = avg_pool2d(x.view(), kernel, stride);
            assert_eq!(&max, &reference(&x, kernel, stride, |v| v.iter().copied().fold(f64::NEG_INFINITY, f64::max)));
            let mean = reference(&x, kernel, stride, |v| v.iter().sum::<f64>() / v.len() as f64);
            assert!(avg.iter().zip(&mean).all(|(a, m)| (a - m).abs() < 1e-12));

            let r = Array4::from_shape_simple_fn(max.raw_dim(), || rng.random_range(-1.0..1.0));
            let numeric_max = numeric_grad(&x, |x| weighted_sum(&max_pool2d(x.view(), kernel, stride), &r));
            assert_grad_close(&max_pool2d_backward(&indices, r.view()), &numeric_max);
            let numeric_avg = numeric_grad(&x, |x| weighted_sum(&avg_pool2d(x.view(), kernel, stride), &r));
            assert_grad_close(&avg_pool2d_backward(r.view(), (h, w), kernel, stride), &numeric_avg);
        }
    }
}
