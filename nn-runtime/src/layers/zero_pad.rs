//! `ZeroPad2d(left, right, top, bottom)` over `[batch, C, H, W]` batches: a border of
//! zeros of its own width on each side (PyTorch's argument order), for the asymmetric
//! padding a convolution's own `padding` cannot express. Backward crops the border off.

use ndarray::{s, Array4, ArrayView4};

use crate::Float;

/// The batch `x` inside borders of zeros, `[batch, C, top + H + bottom, left + W + right]`.
pub fn zero_pad2d<F: Float>(x: ArrayView4<F>, (left, right, top, bottom): (usize, usize, usize, usize)) -> Array4<F> {
    let (batch, channels, h, w) = x.dim();
    let mut y = Array4::zeros((batch, channels, top + h + bottom, left + w + right));
    y.slice_mut(s![.., .., top..top + h, left..left + w]).assign(&x);
    y
}

/// d loss / d x: the output gradient without its border (which only zeros produced).
pub fn zero_pad2d_backward<F: Float>(
    grad_out: ArrayView4<F>,
    (left, right, top, bottom): (usize, usize, usize, usize),
) -> Array4<F> {
    let (_, _, oh, ow) = grad_out.dim();
    grad_out.slice(s![.., .., top..oh - bottom, left..ow - right]).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finite_diff::{assert_grad_close, numeric_grad};
    use crate::frozen;
    use rand::{Rng, SeedableRng};

    /// The padded batch holds the input where PyTorch puts it, zeros elsewhere, and the
    /// frozen kernel gives the same values.
    #[test]
    fn forward_places_the_input_inside_the_border_as_the_frozen_kernel() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(6);
        let padding = (2, 0, 1, 3);
        let x = Array4::from_shape_simple_fn((1, 2, 3, 4), || rng.random_range(-1.0f32..1.0));
        let y = zero_pad2d(x.view(), padding);
        assert_eq!(y.dim(), (1, 2, 7, 6));
        for ((_, c, i, j), &v) in y.indexed_iter() {
            let inside = (1..4).contains(&i) && (2..6).contains(&j);
            assert_eq!(v, if inside { x[[0, c, i - 1, j - 2]] } else { 0.0 }, "[{c}, {i}, {j}]");
        }
        let image: [[[f32; 4]; 3]; 2] =
            core::array::from_fn(|c| core::array::from_fn(|i| core::array::from_fn(|j| x[[0, c, i, j]])));
        let frozen: [[[f32; 6]; 7]; 2] = frozen::zero_pad2d(&image, padding);
        assert!(y.indexed_iter().all(|((_, c, i, j), &v)| v == frozen[c][i][j]));
    }

    #[test]
    fn backward_matches_finite_differences() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for padding in [(1, 2, 0, 3), (0, 0, 0, 0), (3, 1, 2, 2)] {
            let x = Array4::from_shape_simple_fn((2, 2, 3, 4), || rng.random_range(-1.0..1.0));
            let y = zero_pad2d(x.view(), padding);
            let r = Array4::from_shape_simple_fn(y.raw_dim(), || rng.random_range(-1.0..1.0));
            let numeric = numeric_grad(&x, |x| (zero_pad2d(x.view(), padding) * &r).sum());
            assert_grad_close(&zero_pad2d_backward(r.view(), padding), &numeric);
        }
    }
}
