//! Max and average pooling without padding, PyTorch's floor output size.
//!
//! The per-plane loops here are also the training kernels' (`layers::pool`), so a frozen
//! model pools bit-identically to the model it was frozen from.

use crate::frozen::output_len;
use crate::Float;

/// Max pooling of one row-major plane `x` of width `width` into `y` (rows of
/// `out_width`), windows `kernel`×`kernel` every `stride`.
///
/// Each window starts from its first value and is read row by row; a value replaces the
/// maximum only when it is greater, or NaN — so NaN propagates and ties keep the first
/// maximum, as in PyTorch's kernel. A row of outputs is updated tap after tap, by a
/// select rather than a branch on the data (which mispredicted on random values).
#[inline]
pub(crate) fn max_pool_plane<F: Float>(
    x: &[F],
    width: usize,
    y: &mut [F],
    out_width: usize,
    kernel: usize,
    stride: usize,
) {
    for (oy, out_row) in y.chunks_exact_mut(out_width).enumerate() {
        let first = oy * stride * width;
        for (max, &v) in out_row.iter_mut().zip(x[first..].iter().step_by(stride)) {
            *max = v;
        }
        for ki in 0..kernel {
            let row_start = first + ki * width;
            for kj in usize::from(ki == 0)..kernel {
                for (max, &v) in out_row.iter_mut().zip(x[row_start + kj..].iter().step_by(stride)) {
                    *max = if (v > *max) | v.is_nan() { v } else { *max };
                }
            }
        }
    }
}

/// Average pooling of one row-major plane, shaped as in [`max_pool_plane`]: each
/// window's sum, in row order, divided by `kernel²` (PyTorch divides, it does not scale).
#[inline]
pub(crate) fn avg_pool_plane<F: Float>(
    x: &[F],
    width: usize,
    y: &mut [F],
    out_width: usize,
    kernel: usize,
    stride: usize,
) {
    let area = F::of((kernel * kernel) as f64);
    for (oy, out_row) in y.chunks_exact_mut(out_width).enumerate() {
        out_row.fill(F::zero());
        for ki in 0..kernel {
            let row_start = (oy * stride + ki) * width;
            for kj in 0..kernel {
                for (sum, &v) in out_row.iter_mut().zip(x[row_start + kj..].iter().step_by(stride)) {
                    *sum += v;
                }
            }
        }
        for sum in out_row {
            *sum /= area;
        }
    }
}

/// PyTorch's `MaxPool2d(kernel, stride)` on one `[C, H, W]` image, into `y`.
///
/// # Panics
/// If `OH`×`OW` is not the output size that `H`×`W`, `kernel` and `stride` give.
#[inline]
pub fn max_pool2d_into<F: Float, const C: usize, const H: usize, const W: usize, const OH: usize, const OW: usize>(
    x: &[[[F; W]; H]; C],
    y: &mut [[[F; OW]; OH]; C],
    kernel: usize,
    stride: usize,
) {
    check_output::<H, W, OH, OW>(kernel, stride);
    for (plane, out) in x.iter().zip(y) {
        max_pool_plane(plane.as_flattened(), W, out.as_flattened_mut(), OW, kernel, stride);
    }
}

/// PyTorch's `AvgPool2d(kernel, stride)` on one `[C, H, W]` image, into `y`.
///
/// # Panics
/// If `OH`×`OW` is not the output size that `H`×`W`, `kernel` and `stride` give.
#[inline]
pub fn avg_pool2d_into<F: Float, const C: usize, const H: usize, const W: usize, const OH: usize, const OW: usize>(
    x: &[[[F; W]; H]; C],
    y: &mut [[[F; OW]; OH]; C],
    kernel: usize,
    stride: usize,
) {
    check_output::<H, W, OH, OW>(kernel, stride);
    for (plane, out) in x.iter().zip(y) {
        avg_pool_plane(plane.as_flattened(), W, out.as_flattened_mut(), OW, kernel, stride);
    }
}

fn check_output<const H: usize, const W: usize, const OH: usize, const OW: usize>(kernel: usize, stride: usize) {
    let (oh, ow) = (output_len(H, kernel, stride, 0), output_len(W, kernel, stride, 0));
    assert!(OH == oh && OW == ow, "pooling output must be {oh}x{ow}, not {OH}x{OW}");
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use crate::layers::pool;
    use ndarray::Array4;
    use rand::{Rng, SeedableRng};

    fn image<const C: usize, const H: usize, const W: usize>(seed: u64) -> [[[f32; W]; H]; C] {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        core::array::from_fn(|_| core::array::from_fn(|_| core::array::from_fn(|_| rng.random_range(-1.0..1.0))))
    }

    /// Same plane loops, so frozen and training pooling agree bit for bit.
    fn check<const C: usize, const H: usize, const W: usize, const OH: usize, const OW: usize>(k: usize, s: usize) {
        let x = image::<C, H, W>(k as u64 * 10 + s as u64);
        let batch = Array4::from_shape_fn((1, C, H, W), |(_, c, i, j)| x[c][i][j]);
        let (mut max, mut avg) = ([[[f32::NAN; OW]; OH]; C], [[[f32::NAN; OW]; OH]; C]);
        max_pool2d_into::<f32, C, H, W, OH, OW>(&x, &mut max, k, s);
        avg_pool2d_into::<f32, C, H, W, OH, OW>(&x, &mut avg, k, s);
        let want_max = pool::max_pool2d(batch.view(), k, s);
        let want_avg = pool::avg_pool2d(batch.view(), k, s);
        assert_eq!(want_max.shape(), [1, C, OH, OW]);
        for ((_, c, i, j), &w) in want_max.indexed_iter() {
            assert_eq!(max[c][i][j].to_bits(), w.to_bits());
        }
        for ((_, c, i, j), &w) in want_avg.indexed_iter() {
            assert_eq!(avg[c][i][j].to_bits(), w.to_bits());
        }
    }

    /// The definition: each window from its first value, row by row, a value taking the
    /// maximum's place only when greater or NaN.
    fn window_max(x: &[f32], width: usize, kernel: usize, start: usize) -> f32 {
        let mut max = x[start];
        for row in 0..kernel {
            for &v in &x[start + row * width..][..kernel] {
                if v > max || v.is_nan() {
                    max = v;
                }
            }
        }
        max
    }

    /// Bit for bit the definition, with NaNs, infinities and signed zeros among the
    /// values (so that which of two equal maxima is kept shows), overlapping windows
    /// and gaps between them.
    #[test]
    fn max_pool_plane_is_the_definition_with_nan_and_ties() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(9);
        let specials = [f32::NAN, -f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.0, -0.0, 1.0];
        for (h, w, kernel, stride) in [(7, 9, 3, 1), (8, 8, 2, 2), (9, 11, 3, 2), (10, 7, 2, 3), (6, 6, 1, 1)] {
            let x: Vec<f32> = (0..h * w)
                .map(|_| {
                    if rng.random_bool(0.3) {
                        specials[rng.random_range(0..specials.len())]
                    } else {
                        rng.random_range(-1.0..1.0)
                    }
                })
                .collect();
            let (oh, ow) = (output_len(h, kernel, stride, 0), output_len(w, kernel, stride, 0));
            let mut y = vec![0.5; oh * ow];
            max_pool_plane(&x, w, &mut y, ow, kernel, stride);
            for (i, &got) in y.iter().enumerate() {
                let want = window_max(&x, w, kernel, (i / ow) * stride * w + (i % ow) * stride);
                assert_eq!(got.to_bits(), want.to_bits(), "{h}x{w}, kernel {kernel}, stride {stride}, output {i}");
            }
        }
    }

    #[test]
    fn equals_ndarray_forward() {
        check::<6, 28, 28, 14, 14>(2, 2);
        check::<2, 7, 5, 3, 2>(2, 2);
        check::<3, 6, 7, 4, 5>(3, 1);
        check::<1, 9, 8, 3, 2>(3, 3);
        check::<2, 7, 7, 2, 2>(3, 4);
    }
}
