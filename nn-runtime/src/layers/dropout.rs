//! `Dropout(p)`: zeroes each element with probability `p` in training and scales the
//! survivors by `1/(1-p)`; the identity in inference.

use std::cell::Cell;

use ndarray::{Array, ArrayView, ArrayViewMut, Dimension, Zip};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::Float;

/// The random stream a model's dropout layers draw from: seeded once at `init`, so
/// training with the same seed is reproducible, and advanced by every training pass.
#[derive(Debug, Clone)]
pub struct DropoutRng {
    seed: u64,
    draws: Cell<u64>,
}

impl DropoutRng {
    /// A stream starting from `seed`.
    pub fn new(seed: u64) -> Self {
        DropoutRng { seed, draws: Cell::new(0) }
    }

    /// The generator for the next mask; each call gives an independent stream.
    pub fn next_rng(&self) -> StdRng {
        let draw = self.draws.get();
        self.draws.set(draw + 1);
        StdRng::seed_from_u64(self.seed ^ draw.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }
}

/// Applies dropout to `x` in place; returns the output and the mask (`0` or `1/(1-p)`)
/// that backward multiplies by.
pub fn forward_train<F: Float, D: Dimension>(
    p: f64,
    mut x: Array<F, D>,
    rng: &DropoutRng,
) -> (Array<F, D>, Array<F, D>) {
    let mut mask = Array::zeros(x.raw_dim());
    draw_mask(p, mask.view_mut(), rng);
    x *= &mask;
    (x, mask)
}

/// Dropout of `x` into `y`, drawing the new mask into `mask` (same shape; no allocation).
pub fn forward_train_into<F: Float, D: Dimension>(
    p: f64,
    x: ArrayView<F, D>,
    mut y: ArrayViewMut<F, D>,
    mut mask: ArrayViewMut<F, D>,
    rng: &DropoutRng,
) {
    draw_mask(p, mask.view_mut(), rng);
    Zip::from(&mut y).and(&mask).and(&x).for_each(|y, &m, &x| *y = x * m);
}

/// Fills `mask` with `0` (probability `p`) or `1/(1-p)`, from the model's next stream.
fn draw_mask<F: Float, D: Dimension>(p: f64, mut mask: ArrayViewMut<F, D>, rng: &DropoutRng) {
    let mut rng = rng.next_rng();
    let keep_scale = F::of(1.0 / (1.0 - p));
    mask.map_inplace(|m| *m = if rng.random::<f64>() < p { F::zero() } else { keep_scale });
}

/// `grad ⊙= mask`.
pub fn backward_in_place<F: Float, D: Dimension>(mask: ArrayView<F, D>, mut grad: ArrayViewMut<F, D>) {
    Zip::from(&mut grad).and(&mask).for_each(|g, &m| *g *= m);
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn drops_about_p_and_preserves_the_mean() {
        let rng = DropoutRng::new(7);
        let (y, mask) = forward_train(0.25, Array2::<f64>::ones((100, 100)), &rng);
        let dropped = y.iter().filter(|&&v| v == 0.0).count();
        assert!((2300..2700).contains(&dropped), "dropped {dropped} of 10000 at p = 0.25");
        assert!((y.mean().unwrap() - 1.0).abs() < 0.03);
        assert_eq!(y, mask, "mask holds 0 or 1/(1-p)");
    }

    #[test]
    fn same_seed_same_masks_and_each_pass_differs() {
        let (a, b) = (DropoutRng::new(3), DropoutRng::new(3));
        let first = forward_train(0.5, Array2::<f32>::ones((4, 8)), &a).1;
        assert_eq!(first, forward_train(0.5, Array2::<f32>::ones((4, 8)), &b).1);
        assert_ne!(first, forward_train(0.5, Array2::<f32>::ones((4, 8)), &a).1);
    }

    #[test]
    fn backward_is_mask_times_grad() {
        let rng = DropoutRng::new(1);
        let (_, mask) = forward_train(0.5, Array2::<f64>::ones((3, 3)), &rng);
        let mut grad = Array2::from_elem((3, 3), 2.0);
        backward_in_place(mask.view(), grad.view_mut());
        assert_eq!(grad, &mask * 2.0);
    }
}
