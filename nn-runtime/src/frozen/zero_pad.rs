//! `ZeroPad2d` of a frozen model: one `[C, H, W]` image surrounded by zeros.

use crate::Float;

/// PyTorch's `ZeroPad2d((left, right, top, bottom))` on one image, into `y`: `x` in the
/// middle of `[C, OH, OW]`, the rest zeros; `right` and `bottom` follow from the sizes.
///
/// # Panics
/// If `OH < top + H` or `OW < left + W` (the generated code never passes such sizes).
#[inline]
pub fn zero_pad2d_into<F: Float, const C: usize, const H: usize, const W: usize, const OH: usize, const OW: usize>(
    x: &[[[F; W]; H]; C],
    y: &mut [[[F; OW]; OH]; C],
    left: usize,
    top: usize,
) {
    y.as_flattened_mut().as_flattened_mut().fill(F::zero());
    for (plane, out) in x.iter().zip(y) {
        for (row, out_row) in plane.iter().zip(&mut out[top..top + H]) {
            out_row[left..left + W].copy_from_slice(row);
        }
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use crate::layers::zero_pad::{forward, Padding};
    use ndarray::Array4;

    /// Bit-identical to the training kernel.
    #[test]
    fn equals_ndarray_forward() {
        let x: [[[f32; 3]; 2]; 2] = [[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], [[-1.0, -2.0, -3.0], [-4.0, -5.0, -6.0]]];
        let mut y = [[[f32::NAN; 4]; 5]; 2];
        zero_pad2d_into::<f32, 2, 2, 3, 5, 4>(&x, &mut y, 0, 2);
        let batch = Array4::from_shape_fn((1, 2, 2, 3), |(_, c, i, j)| x[c][i][j]);
        let want = forward(batch.view(), Padding { left: 0, right: 1, top: 2, bottom: 1 });
        assert_eq!(want.shape(), [1, 2, 5, 4]);
        for ((_, c, i, j), &w) in want.indexed_iter() {
            assert_eq!(y[c][i][j].to_bits(), w.to_bits());
        }
    }
}
