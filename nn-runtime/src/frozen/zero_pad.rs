//! `ZeroPad2d(left, right, top, bottom)` of a frozen model: the image inside a border of
//! zeros, PyTorch's argument order.

use crate::Float;

/// PyTorch's `ZeroPad2d((left, right, top, bottom))` on one `[C, H, W]` image: output
/// row `top + i`, column `left + j` holds `x[c][i][j]`, everything else is zero.
///
/// # Panics
/// If `OH ≠ top + H + bottom` or `OW ≠ left + W + right`.
#[inline]
pub fn zero_pad2d<F: Float, const C: usize, const H: usize, const W: usize, const OH: usize, const OW: usize>(
    x: &[[[F; W]; H]; C],
    (left, right, top, bottom): (usize, usize, usize, usize),
) -> [[[F; OW]; OH]; C] {
    assert!(
        OH == top + H + bottom && OW == left + W + right,
        "zero_pad2d of {H}x{W} by ({left}, {right}, {top}, {bottom}) is {}x{}, not {OH}x{OW}",
        top + H + bottom,
        left + W + right,
    );
    let mut y = [[[F::zero(); OW]; OH]; C];
    for (plane, image) in y.iter_mut().zip(x) {
        for (row, x_row) in plane[top..].iter_mut().zip(image) {
            row[left..left + W].copy_from_slice(x_row);
        }
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_each_side_by_its_own_amount() {
        let x = [[[1.0, 2.0], [3.0, 4.0]]];
        let y: [[[f32; 5]; 3]; 1] = zero_pad2d(&x, (1, 2, 0, 1));
        assert_eq!(y, [[[0.0, 1.0, 2.0, 0.0, 0.0], [0.0, 3.0, 4.0, 0.0, 0.0], [0.0; 5]]]);
    }
}
