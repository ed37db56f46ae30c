//! Folding a BatchNorm into the Linear or Conv2d before it, for inference: with the
//! running statistics, `BN(W x + b)` is `scale ⊙ (W x + b) + shift` per output channel,
//! so one layer of weight `scale[o] · W[o]` and bias `scale[o] · b[o] + shift[o]`
//! computes both in one pass. A frozen (and an int8) copy is taken of the folded layer:
//! fewer passes, fewer bytes of weights, and no BatchNorm buffer.

use ndarray::{Array, Array1, ArrayView, ArrayView1, Axis, RemoveAxis};

use super::batch_norm::BatchNorm;
use super::conv2d::Conv2d;
use super::linear::Linear;
use crate::{Error, Float};

/// The weight (output channels along axis 0: Linear's `[out, in]`, Conv2d's
/// `[out_c, in_c / groups, kh, kw]`) and bias of a layer followed by `batch_norm` in
/// inference, folded into one: `w'[o] = w[o] · scale[o]` and
/// `b'[o] = b[o] · scale[o] + shift[o]` (`b = 0` without a bias), with
/// [`BatchNorm::scale_shift`]'s `scale = γ / √(running_var + ε)` and
/// `shift = β − running_mean · scale`, computed in `F`.
///
/// An error if the BatchNorm's channels are not the layer's outputs.
pub fn fold_batch_norm<F: Float, D: RemoveAxis>(
    what: &str,
    weight: ArrayView<F, D>,
    bias: Option<ArrayView1<F>>,
    batch_norm: &BatchNorm<F>,
) -> Result<(Array<F, D>, Array1<F>), Error> {
    let outputs = weight.len_of(Axis(0));
    if batch_norm.weight.len() != outputs {
        return Err(Error::InvalidLayer {
            layer: what.to_string(),
            reason: format!(
                "a BatchNorm of {} channels cannot be folded into a layer of {outputs} outputs",
                batch_norm.weight.len()
            ),
        });
    }
    let (scale, shift) = batch_norm.scale_shift();
    let mut folded = weight.to_owned();
    for (mut row, &s) in folded.axis_iter_mut(Axis(0)).zip(&scale) {
        row.mapv_inplace(|w| w * s);
    }
    let folded_bias =
        Array1::from_shape_fn(outputs, |o| bias.as_ref().map_or(F::zero(), |b| b[o]) * scale[o] + shift[o]);
    Ok((folded, folded_bias))
}

impl<F: Float> Conv2d<F> {
    /// This layer with the `batch_norm` after it folded in (see [`fold_batch_norm`]): it
    /// computes inference's `BN(conv(x))`, and has a bias whether or not this one has.
    pub fn fold_batch_norm(&self, batch_norm: &BatchNorm<F>) -> Result<Self, Error> {
        let spec = self.spec();
        let bias = self.bias.as_ref().map(|b| b.view());
        let (weight, bias) = fold_batch_norm(&spec.to_string(), self.weight.view(), bias, batch_norm)?;
        Conv2d::from_parts(spec.bias(true), weight, Some(bias))
    }
}

impl<F: Float> Linear<F> {
    /// This layer with the `batch_norm` after it folded in (see [`fold_batch_norm`]): it
    /// computes inference's `BN(linear(x))`, and has a bias whether or not this one has.
    pub fn fold_batch_norm(&self, batch_norm: &BatchNorm<F>) -> Result<Self, Error> {
        let (outputs, inputs) = self.weight.dim();
        let what = format!("Linear({inputs}, {outputs})");
        let (weight, bias) =
            fold_batch_norm(&what, self.weight.view(), self.bias.as_ref().map(|b| b.view()), batch_norm)?;
        Ok(Linear::from_parts(weight, Some(bias)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frozen;
    use crate::layers::conv2d::Conv2dSpec;
    use ndarray::{Array2, Array4};
    use rand::{Rng, SeedableRng};

    /// A BatchNorm with random affine parameters and running statistics far from 0 and 1.
    fn random_batch_norm(channels: usize, rng: &mut impl Rng) -> BatchNorm<f32> {
        let mut bn = BatchNorm::new(channels, 1e-5, 0.1);
        bn.weight.mapv_inplace(|_| rng.random_range(0.5..2.0));
        bn.bias.mapv_inplace(|_| rng.random_range(-1.0..1.0));
        bn.running_mean.mapv_inplace(|_| rng.random_range(-1.0..1.0));
        bn.running_var.mapv_inplace(|_| rng.random_range(0.1..3.0));
        bn
    }

    /// Within f32 rounding of values of order 1: the folded layer rounds `w · scale` once
    /// per weight, and sums in another order.
    fn assert_close(got: f32, want: f32, at: impl core::fmt::Debug) {
        assert!((got - want).abs() <= 1e-5 * (1.0 + want.abs()), "{at:?}: folded {got} vs {want}");
    }

    /// The frozen copy of a folded Conv2d of 4 to 8 channels with `CG` input channels per
    /// group equals Conv2d then BatchNorm2d in eval mode.
    fn check_folded_conv<const CG: usize>(bias: bool, rng: &mut impl Rng) {
        let spec = Conv2dSpec::new(4, 8, (3, 3)).stride((2, 1)).padding((1, 1)).groups(4 / CG).bias(bias);
        let conv = Conv2d::<f32>::init(spec, rng).unwrap();
        let bn = random_batch_norm(8, rng);
        let x: [[[f32; 6]; 7]; 4] =
            core::array::from_fn(|_| core::array::from_fn(|_| core::array::from_fn(|_| rng.random_range(-1.0..1.0))));
        let batch = Array4::from_shape_fn((1, 4, 7, 6), |(_, c, i, j)| x[c][i][j]);
        let want = bn.forward(conv.forward(batch.view()).view());

        let folded = conv.fold_batch_norm(&bn).unwrap();
        let (mut weight, mut frozen_bias) = ([[[[0.0f32; 3]; 3]; CG]; 8], [0.0f32; 8]);
        folded.freeze_into(weight.as_flattened_mut().as_flattened_mut().as_flattened_mut(), Some(&mut frozen_bias));
        let mut y = [[[0.0f32; 6]; 4]; 8];
        frozen::conv2d_into(&weight, Some(&frozen_bias), &x, &mut y, (2, 1), (1, 1));
        for ((_, o, i, j), &w) in want.indexed_iter() {
            assert_close(y[o][i][j], w, (CG, bias, o, i, j));
        }
    }

    /// Dense, grouped and depthwise convolutions, with and without a bias.
    #[test]
    fn folded_frozen_conv_equals_conv_then_batch_norm() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        for bias in [true, false] {
            check_folded_conv::<4>(bias, &mut rng);
            check_folded_conv::<2>(bias, &mut rng);
            check_folded_conv::<1>(bias, &mut rng);
        }
    }

    /// The frozen copy of a folded Linear equals Linear then BatchNorm1d in eval mode.
    #[test]
    fn folded_frozen_linear_equals_linear_then_batch_norm() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(12);
        for bias in [true, false] {
            let linear = Linear::<f32>::init(5, 3, bias, &mut rng);
            let bn = random_batch_norm(3, &mut rng);
            let x: [f32; 5] = core::array::from_fn(|_| rng.random_range(-1.0..1.0));
            let want = bn.forward(linear.forward(Array2::from_shape_fn((1, 5), |(_, i)| x[i]).view()).view());

            let folded = linear.fold_batch_norm(&bn).unwrap();
            let (mut weight_t, mut frozen_bias) = ([[0.0f32; 3]; 5], [0.0f32; 3]);
            folded.freeze_into(weight_t.as_flattened_mut(), Some(&mut frozen_bias));
            let mut y = [0.0f32; 3];
            frozen::dense_into(&weight_t, Some(&frozen_bias), &x, &mut y);
            for (o, &w) in want.row(0).iter().enumerate() {
                assert_close(y[o], w, (bias, o));
            }
        }
    }

    #[test]
    fn channels_that_differ_are_an_error() {
        let conv = Conv2d::<f32>::zeros(Conv2dSpec::new(2, 4, (3, 3))).unwrap();
        let error = conv.fold_batch_norm(&BatchNorm::new(3, 1e-5, 0.1)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "Conv2d(2, 4, (3, 3), stride = (1, 1), padding = (0, 0), groups = 1, bias = true): \
             a BatchNorm of 3 channels cannot be folded into a layer of 4 outputs"
        );
        let error = Linear::<f32>::zeros(5, 3, true).fold_batch_norm(&BatchNorm::new(5, 1e-5, 0.1)).unwrap_err();
        assert!(error.to_string().starts_with("Linear(5, 3): a BatchNorm of 5 channels"), "{error}");
    }
}
