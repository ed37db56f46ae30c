//! `AdaptiveAvgPool2d((oh, ow))` over `[batch, C, H, W]` batches: each output the
//! average of PyTorch's window `[⌊i·H/oh⌋, ⌈(i+1)·H/oh⌉)` × `[⌊j·W/ow⌋, ⌈(j+1)·W/ow⌉)`;
//! `(1, 1)` is global average pooling. The forward runs the frozen kernel's plane loop.

use ndarray::{Array4, ArrayView4};

use crate::frozen::{adaptive_avg_pool_plane, adaptive_window};
use crate::Float;

/// Adaptive average pooling of a batch `x` to `[batch, C, oh, ow]`, for inference and
/// training alike (backward needs only the input's size).
pub fn adaptive_avg_pool2d<F: Float>(x: ArrayView4<F>, out_hw: (usize, usize)) -> Array4<F> {
    let x = x.as_standard_layout();
    let (batch, channels, h, w) = x.dim();
    let mut y = Array4::zeros((batch, channels, out_hw.0, out_hw.1));
    let x_planes = x.as_slice().expect("standard layout").chunks_exact(h * w);
    let y_planes = y.as_slice_mut().expect("fresh array").chunks_exact_mut(out_hw.0 * out_hw.1);
    for (x, y) in x_planes.zip(y_planes) {
        adaptive_avg_pool_plane(x, (h, w), y, out_hw);
    }
    y
}

/// d loss / d x, `[batch, C, H, W]` for `input_hw = (H, W)`: each output's gradient,
/// divided by its window's height and width, added onto every input of its window.
pub fn adaptive_avg_pool2d_backward<F: Float>(grad_out: ArrayView4<F>, input_hw: (usize, usize)) -> Array4<F> {
    let grad_out = grad_out.as_standard_layout();
    let (batch, channels, oh, ow) = grad_out.dim();
    let (h, w) = input_hw;
    let mut grad_in = Array4::zeros((batch, channels, h, w));
    let g_planes = grad_out.as_slice().expect("standard layout").chunks_exact(oh * ow);
    let dx_planes = grad_in.as_slice_mut().expect("fresh array").chunks_exact_mut(h * w);
    for (g, dx) in g_planes.zip(dx_planes) {
        for (oy, g_row) in g.chunks_exact(ow).enumerate() {
            let rows = adaptive_window(oy, h, oh);
            for (ox, &g) in g_row.iter().enumerate() {
                let cols = adaptive_window(ox, w, ow);
                let share = g / F::of(rows.len() as f64) / F::of(cols.len() as f64);
                for row in rows.clone() {
                    for v in &mut dx[row * w..][cols.clone()] {
                        *v += share;
                    }
                }
            }
        }
    }
    grad_in
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finite_diff::{assert_grad_close, numeric_grad};
    use crate::frozen;
    use proptest::prelude::{proptest, ProptestConfig};
    use rand::{Rng, SeedableRng};

    /// The definition, one output at a time: the mean of its window.
    #[test]
    fn forward_is_the_mean_of_each_window() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(2);
        for ((h, w), (oh, ow)) in [((7, 5), (3, 2)), ((5, 5), (1, 1)), ((2, 3), (4, 5)), ((6, 4), (6, 4))] {
            let x = Array4::from_shape_simple_fn((2, 3, h, w), || rng.random_range(-1.0..1.0));
            let y = adaptive_avg_pool2d(x.view(), (oh, ow));
            for ((n, c, i, j), &got) in y.indexed_iter() {
                let (rows, cols) = (adaptive_window(i, h, oh), adaptive_window(j, w, ow));
                let window = x.slice(ndarray::s![n, c, rows, cols]);
                let want = window.sum() / window.len() as f64;
                assert!((got - want).abs() < 1e-12, "{h}x{w} -> {oh}x{ow} at {n} {c} {i} {j}: {got} vs {want}");
            }
        }
    }

    /// The frozen kernel gives the training forward's values bit for bit.
    #[test]
    fn frozen_equals_training_forward() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(4);
        let x: [[[f32; 10]; 49]; 3] =
            core::array::from_fn(|_| core::array::from_fn(|_| core::array::from_fn(|_| rng.random_range(-1.0..1.0))));
        let mut frozen = [[[0.0f32; 3]; 4]; 3];
        frozen::adaptive_avg_pool2d_into(&x, &mut frozen);
        let batch = Array4::from_shape_fn((1, 3, 49, 10), |(_, c, i, j)| x[c][i][j]);
        let y = adaptive_avg_pool2d(batch.view(), (4, 3));
        assert!(y.indexed_iter().all(|((_, c, i, j), &v)| v.to_bits() == frozen[c][i][j].to_bits()));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn backward_matches_finite_differences(
            h in 1usize..7, w in 1usize..7, oh in 1usize..5, ow in 1usize..5, seed in 0u64..1000,
        ) {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let x = Array4::from_shape_simple_fn((2, 2, h, w), || rng.random_range(-1.0..1.0));
            let r = Array4::from_shape_simple_fn((2, 2, oh, ow), || rng.random_range(-1.0..1.0));
            let analytic = adaptive_avg_pool2d_backward(r.view(), (h, w));
            let numeric = numeric_grad(&x, |x| (adaptive_avg_pool2d(x.view(), (oh, ow)) * &r).sum());
            assert_grad_close(&analytic, &numeric);
        }
    }
}
