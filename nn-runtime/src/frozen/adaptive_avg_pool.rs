//! `AdaptiveAvgPool2d((oh, ow))`: average pooling to a fixed output size, with PyTorch's
//! windows; `(1, 1)` is global average pooling.
//!
//! The plane loop here is also the training kernel's (`layers::adaptive_avg_pool`), so a
//! frozen model pools bit-identically to the model it was frozen from.

use core::ops::Range;

use crate::Float;

/// The input indices that output `i` of `out_len` averages along one axis, PyTorch's
/// `[⌊i·in_len / out_len⌋, ⌈(i + 1)·in_len / out_len⌉)`: windows that tile the input,
/// overlapping by one where `out_len` does not divide `in_len`.
#[inline]
pub(crate) fn adaptive_window(i: usize, in_len: usize, out_len: usize) -> Range<usize> {
    i * in_len / out_len..((i + 1) * in_len).div_ceil(out_len)
}

/// Adaptive average pooling of one row-major plane `x` of `in_hw` into `y` of `out_hw`:
/// each window's sum, in row order, divided by its height and then by its width (as
/// PyTorch's CPU kernel does).
#[inline]
pub(crate) fn adaptive_avg_pool_plane<F: Float>(x: &[F], in_hw: (usize, usize), y: &mut [F], out_hw: (usize, usize)) {
    let ((h, w), (oh, ow)) = (in_hw, out_hw);
    for (oy, out_row) in y.chunks_exact_mut(ow).enumerate() {
        let rows = adaptive_window(oy, h, oh);
        for (ox, out) in out_row.iter_mut().enumerate() {
            let cols = adaptive_window(ox, w, ow);
            let mut sum = F::zero();
            for row in rows.clone() {
                for &v in &x[row * w..][cols.clone()] {
                    sum += v;
                }
            }
            *out = sum / F::of(rows.len() as f64) / F::of(cols.len() as f64);
        }
    }
}

/// PyTorch's `AdaptiveAvgPool2d((OH, OW))` on one `[C, H, W]` image, into `y`.
#[inline]
pub fn adaptive_avg_pool2d_into<
    F: Float,
    const C: usize,
    const H: usize,
    const W: usize,
    const OH: usize,
    const OW: usize,
>(
    x: &[[[F; W]; H]; C],
    y: &mut [[[F; OW]; OH]; C],
) {
    for (plane, out) in x.iter().zip(y.iter_mut()) {
        adaptive_avg_pool_plane(plane.as_flattened(), (H, W), out.as_flattened_mut(), (OH, OW));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PyTorch's windows for 10 → 4 (`adaptive_avg_pool2d` of a 10-long axis):
    /// `[0, 3), [2, 5), [5, 8), [7, 10)`; and global pooling, one window of everything.
    #[test]
    fn windows_are_pytorchs() {
        let windows: Vec<_> = (0..4).map(|i| adaptive_window(i, 10, 4)).collect();
        assert_eq!(windows, [0..3, 2..5, 5..8, 7..10]);
        assert_eq!(adaptive_window(0, 7, 1), 0..7);
        let upsampled: Vec<_> = (0..3).map(|i| adaptive_window(i, 2, 3)).collect();
        assert_eq!(upsampled, [0..1, 0..2, 1..2]);
    }

    /// Values from PyTorch's formula by hand: a 3×4 plane `0..12` pooled to 2×3.
    /// Rows `[0, 2), [1, 3)`; columns `[0, 2), [1, 3), [2, 4)`.
    #[test]
    fn averages_each_window() {
        let x: [[[f64; 4]; 3]; 1] = [[[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0], [8.0, 9.0, 10.0, 11.0]]];
        let mut y = [[[f64::NAN; 3]; 2]; 1];
        adaptive_avg_pool2d_into(&x, &mut y);
        // (0+1+4+5)/4, (1+2+5+6)/4, (2+3+6+7)/4, then the same one row down (+4).
        assert_eq!(y, [[[2.5, 3.5, 4.5], [6.5, 7.5, 8.5]]]);
        let mut global = [[[f64::NAN; 1]; 1]; 1];
        adaptive_avg_pool2d_into(&x, &mut global);
        assert_eq!(global, [[[5.5]]]);
    }
}
