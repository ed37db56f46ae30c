//! The weight gradient of a stride-1 `Conv2d` by a direct kernel: no im2col matrix, and
//! no GEMM sliver packed from one. In wide columns (output `(oy, ox)` at `oy·Wp + ox`,
//! `Wp` the padded width) the gradient of tap `(c, ki, kj)` of output channel `o` is one
//! dot product per image over its `span` columns:
//!
//! `dW[o][c][ki][kj] += Σ_q g[o][q] · x[c][ki·Wp + kj + q]`
//!
//! the output gradient's row `o` (gaps zero) against the padded plane `c` shifted by the
//! tap: [`crate::gemm`]'s `shifted_dots`, a register tile of a few output channels by
//! adjacent taps of one kernel row. As a GEMM (`dW = g · colsᵀ`), every sliver of `colsᵀ`
//! was written value by value from the image before the micro-kernel read it once, which
//! cost more than the products.

use ndarray::ArrayViewMut2;

use super::Geometry;
use crate::gemm::{shifted_dots, Shifted, MAX_ROWS, MAX_SHIFTS};
use crate::Float;

/// Adds the weight gradient of `n` images to `weight_grad` (`[out_c, in_c·kh·kw]`):
/// `images` are the chunk's (padded) images, `image_len` apart, and `grads` the output
/// gradients in wide columns, `[out_c, row_len]` with image `i` at columns
/// `i·span..(i + 1)·span`, gaps zero.
pub(super) fn add_weight_grad<F: Float>(
    images: &[F],
    image_len: usize,
    n: usize,
    grads: &[F],
    row_len: usize,
    geometry: &Geometry,
    weight_grad: &mut ArrayViewMut2<F>,
) {
    let (out_c, (kh, kw)) = (geometry.out_c, geometry.window.kernel);
    let (padded_h, padded_w) = geometry.padded_hw();
    let span = geometry.span;
    // The tile's rows of `g` are read again for every kernel row, from cache.
    for c in 0..geometry.in_c {
        for o0 in (0..out_c).step_by(MAX_ROWS) {
            for ki in 0..kh {
                for kj0 in (0..kw).step_by(MAX_SHIFTS) {
                    let (rows, shifts) = (MAX_ROWS.min(out_c - o0), MAX_SHIFTS.min(kw - kj0));
                    let offset = (c * padded_h + ki) * padded_w + kj0;
                    let operands = Shifted {
                        a: &grads[o0 * row_len..],
                        a_rs: row_len,
                        a_step: span,
                        b: &images[offset..],
                        b_step: image_len,
                        n,
                        len: span,
                    };
                    let sums = shifted_dots(operands, rows, shifts);
                    let first_tap = (c * kh + ki) * kw + kj0;
                    for (o, sums) in sums.iter().enumerate().take(rows) {
                        for (s, &sum) in sums.iter().enumerate().take(shifts) {
                            weight_grad[[o0 + o, first_tap + s]] += sum;
                        }
                    }
                }
            }
        }
    }
}
