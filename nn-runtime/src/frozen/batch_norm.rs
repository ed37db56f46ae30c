//! Inference of a frozen `BatchNorm1d`/`BatchNorm2d`: one multiply-add per element with
//! per-channel coefficients folded from the running statistics.

use crate::Float;

/// The per-channel `(scale, shift)` with which inference computes
/// `y = (x − mean) / √(var + eps) · γ + β` as `y = x · scale + shift`, folded as
/// PyTorch's CPU kernel does: `scale = γ / √(var + eps)`, `shift = β − mean · scale`.
#[inline]
pub fn batch_norm_scale_shift<F: Float>(weight: F, bias: F, running_mean: F, running_var: F, eps: F) -> (F, F) {
    let scale = weight * (F::one() / (running_var + eps).sqrt());
    (scale, bias - running_mean * scale)
}

/// `BatchNorm1d` inference in place on one `[C]` sample.
#[inline]
pub fn batch_norm1d<F: Float, const C: usize>(x: &mut [F; C], scale: &[F; C], shift: &[F; C]) {
    for ((v, &a), &b) in x.iter_mut().zip(scale).zip(shift) {
        *v = *v * a + b;
    }
}

/// `BatchNorm2d` inference in place on one `[C, H, W]` image.
#[inline]
pub fn batch_norm2d<F: Float, const C: usize, const H: usize, const W: usize>(
    x: &mut [[[F; W]; H]; C],
    scale: &[F; C],
    shift: &[F; C],
) {
    for ((plane, &a), &b) in x.iter_mut().zip(scale).zip(shift) {
        for v in plane.as_flattened_mut() {
            *v = *v * a + b;
        }
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use crate::layers::batch_norm::BatchNorm;
    use ndarray::{Array2, Array4};
    use rand::{Rng, SeedableRng};

    /// A layer with random affine parameters and running statistics.
    fn random_layer(channels: usize, rng: &mut impl Rng) -> BatchNorm<f32> {
        let mut layer = BatchNorm::new(channels, 1e-5, 0.1);
        layer.weight.mapv_inplace(|_| rng.random_range(0.5..2.0));
        layer.bias.mapv_inplace(|_| rng.random_range(-1.0..1.0));
        layer.running_mean.mapv_inplace(|_| rng.random_range(-1.0..1.0));
        layer.running_var.mapv_inplace(|_| rng.random_range(0.1..3.0));
        layer
    }

    fn coefficients<const C: usize>(layer: &BatchNorm<f32>) -> ([f32; C], [f32; C]) {
        let (scale, shift) = layer.scale_shift();
        (core::array::from_fn(|c| scale[c]), core::array::from_fn(|c| shift[c]))
    }

    /// Same coefficients and the same multiply-add: bit-identical to the ndarray forward.
    #[test]
    fn equals_ndarray_forward() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        let layer = random_layer(3, &mut rng);
        let (scale, shift) = coefficients::<3>(&layer);
        let mut image: [[[f32; 5]; 4]; 3] =
            core::array::from_fn(|_| core::array::from_fn(|_| core::array::from_fn(|_| rng.random_range(-3.0..3.0))));
        let want = layer.forward(Array4::from_shape_fn((1, 3, 4, 5), |(_, c, i, j)| image[c][i][j]).view());
        batch_norm2d(&mut image, &scale, &shift);
        for ((_, c, i, j), &w) in want.indexed_iter() {
            assert_eq!(image[c][i][j].to_bits(), w.to_bits());
        }

        let layer = random_layer(6, &mut rng);
        let (scale, shift) = coefficients::<6>(&layer);
        let mut sample: [f32; 6] = core::array::from_fn(|_| rng.random_range(-3.0..3.0));
        let want = layer.forward(Array2::from_shape_fn((1, 6), |(_, c)| sample[c]).view());
        batch_norm1d(&mut sample, &scale, &shift);
        for ((_, c), &w) in want.indexed_iter() {
            assert_eq!(sample[c].to_bits(), w.to_bits());
        }
    }
}
