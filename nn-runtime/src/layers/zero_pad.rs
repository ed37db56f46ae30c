//! `ZeroPad2d(left, right, top, bottom)`: surrounds each plane of `[batch, C, H, W]`
//! with zeros, PyTorch's argument order. Its backward crops the padding off the gradient.

use ndarray::{s, Array4, ArrayView4, ArrayViewMut4};

use crate::Float;

/// How many zero columns and rows go on each side, as PyTorch orders them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Padding {
    /// Columns before the first.
    pub left: usize,
    /// Columns after the last.
    pub right: usize,
    /// Rows before the first.
    pub top: usize,
    /// Rows after the last.
    pub bottom: usize,
}

/// `[batch, C, H, W]` → `[batch, C, top + H + bottom, left + W + right]`, the input in
/// the middle and zeros around it.
pub fn forward<F: Float>(x: ArrayView4<F>, pad: Padding) -> Array4<F> {
    let (batch, channels, h, w) = x.dim();
    let mut y = Array4::zeros((batch, channels, pad.top + h + pad.bottom, pad.left + w + pad.right));
    y.slice_mut(s![.., .., pad.top..pad.top + h, pad.left..pad.left + w]).assign(&x);
    y
}

/// [`forward`] into `y`, `[batch, C, top + H + bottom, left + W + right]`, written over.
pub fn forward_into<F: Float>(x: ArrayView4<F>, mut y: ArrayViewMut4<F>, pad: Padding) {
    let (batch, channels, h, w) = x.dim();
    let want = (batch, channels, pad.top + h + pad.bottom, pad.left + w + pad.right);
    assert_eq!(y.dim(), want, "ZeroPad2d output buffer has shape {:?}, expected {want:?}", y.dim());
    y.fill(F::zero());
    y.slice_mut(s![.., .., pad.top..pad.top + h, pad.left..pad.left + w]).assign(&x);
}

/// [`backward`] into `grad_in`, shaped as the input, written over.
pub fn backward_into<F: Float>(g: ArrayView4<F>, mut grad_in: ArrayViewMut4<F>, pad: Padding) {
    let (_, _, h, w) = g.dim();
    grad_in.assign(&g.slice(s![.., .., pad.top..h - pad.bottom, pad.left..w - pad.right]));
}

/// d loss / d input from d loss / d output `g`: the middle of `g`, the padding cropped.
pub fn backward<F: Float>(g: ArrayView4<F>, pad: Padding) -> Array4<F> {
    let (_, _, h, w) = g.dim();
    g.slice(s![.., .., pad.top..h - pad.bottom, pad.left..w - pad.right]).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finite_diff::{assert_grad_close, numeric_grad};
    use ndarray::array;
    use rand::{Rng, SeedableRng};

    const PAD: Padding = Padding { left: 1, right: 2, top: 0, bottom: 1 };

    /// PyTorch's `nn.ZeroPad2d((1, 2, 0, 1))` on a 2×2 plane: one column left, two
    /// right, no row above, one below.
    #[test]
    fn forward_pads_in_pytorch_order() {
        let x = array![[[[1.0, 2.0], [3.0, 4.0]]]];
        let want = array![[[[0.0, 1.0, 2.0, 0.0, 0.0], [0.0, 3.0, 4.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0]]]];
        assert_eq!(forward(x.view(), PAD), want);
        assert_eq!(backward(want.view(), PAD), x);
        let (mut y, mut dx) = (Array4::from_elem(want.raw_dim(), 9.0), Array4::from_elem(x.raw_dim(), 9.0));
        forward_into(x.view(), y.view_mut(), PAD);
        backward_into(want.view(), dx.view_mut(), PAD);
        assert_eq!((y, dx), (want, x), "the _into forms write over their buffers");
    }

    #[test]
    fn backward_matches_finite_differences() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        let x = Array4::from_shape_simple_fn((2, 3, 3, 4), || rng.random_range(-1.0..1.0));
        let y = forward(x.view(), PAD);
        let r = Array4::from_shape_simple_fn(y.raw_dim(), || rng.random_range(-1.0..1.0));
        let numeric = numeric_grad(&x, |x| (forward(x.view(), PAD) * &r).sum());
        assert_grad_close(&backward(r.view(), PAD), &numeric);
    }
}
