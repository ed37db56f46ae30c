//! `BatchNorm1d(n)` and `BatchNorm2d(c)`: one implementation over batches whose second
//! axis is the channel — `[batch, C]` or `[batch, C, H, W]` — normalising each channel
//! over every other axis, with PyTorch's running statistics.
//!
//! A model's `forward_train` takes `&self`, so the training forward cannot touch the
//! running statistics: it returns the batch statistics in its [`BatchNormCache`], and the
//! model's backward folds them in with [`BatchNorm::update_running_stats`] before it
//! hands the cache to [`BatchNorm::backward`]. (PyTorch updates them in the forward; the
//! result after each training step is the same.)

use ndarray::{Array, Array1, Array3, ArrayView, Axis, Dimension, Zip};

use crate::frozen::batch_norm_scale_shift;
use crate::params::{Entry, EntryMut};
use crate::Float;

/// Batch normalisation with a learnt per-channel affine map and running statistics.
#[derive(Debug, Clone)]
pub struct BatchNorm<F> {
    /// γ, `[C]`, initialised to 1.
    pub weight: Array1<F>,
    /// β, `[C]`, initialised to 0.
    pub bias: Array1<F>,
    /// d loss / d γ, accumulated by [`BatchNorm::backward`].
    pub weight_grad: Array1<F>,
    /// d loss / d β, accumulated by [`BatchNorm::backward`].
    pub bias_grad: Array1<F>,
    /// Running mean of the batch means, `[C]`, initialised to 0; used in inference.
    pub running_mean: Array1<F>,
    /// Running mean of the unbiased batch variances, `[C]`, initialised to 1; used in inference.
    pub running_var: Array1<F>,
    /// Training batches folded into the running statistics.
    pub num_batches_tracked: i64,
    /// Added to the variance before its square root.
    pub eps: f64,
    /// Weight of each new batch in the running statistics: `running = (1 − momentum)·running + momentum·batch`.
    pub momentum: f64,
}

/// What a training forward leaves for backward: the normalised input and the batch
/// statistics (PyTorch's `save_mean`/`save_invstd`, and the update of the running ones).
#[derive(Debug, Clone)]
pub struct BatchNormCache<F> {
    /// `x̂ = (x − mean) / √(var + eps)`, seen as `[batch, C, positions]`.
    normalized: Array3<F>,
    /// `1 / √(var + eps)` per channel, with the biased batch variance.
    inv_std: Array1<F>,
    /// The batch mean per channel.
    mean: Array1<F>,
    /// The unbiased batch variance per channel (`Σ (x − mean)² / (n − 1)`).
    unbiased_var: Array1<F>,
}

impl<F: Float> BatchNorm<F> {
    /// A layer over `num_features` channels as PyTorch initialises it: γ = 1, β = 0,
    /// running mean 0, running variance 1 (PyTorch's defaults are `eps = 1e-5`,
    /// `momentum = 0.1`).
    pub fn new(num_features: usize, eps: f64, momentum: f64) -> Self {
        BatchNorm {
            weight: Array1::ones(num_features),
            bias: Array1::zeros(num_features),
            weight_grad: Array1::zeros(num_features),
            bias_grad: Array1::zeros(num_features),
            running_mean: Array1::zeros(num_features),
            running_var: Array1::ones(num_features),
            num_batches_tracked: 0,
            eps,
            momentum,
        }
    }

    /// Inference with the running statistics: `y = x · scale + shift` per channel (see
    /// [`BatchNorm::scale_shift`]).
    pub fn forward<D: Dimension>(&self, x: ArrayView<F, D>) -> Array<F, D> {
        let (batch, channels, positions) = self.split(x.shape());
        let (scale, shift) = self.scale_shift();
        let mut y = x.as_standard_layout().into_owned();
        let mut y3 = y.view_mut().into_shape_with_order((batch, channels, positions)).expect("standard layout");
        for ((mut y_c, &a), &b) in y3.axis_iter_mut(Axis(1)).zip(&scale).zip(&shift) {
            y_c.mapv_inplace(|v| v * a + b);
        }
        y
    }

    /// Training forward with the batch statistics: `y = (x − mean) / √(var + eps) · γ + β`,
    /// `var` biased. The running statistics are left alone: pass the cache to
    /// [`BatchNorm::update_running_stats`], then to [`BatchNorm::backward`].
    ///
    /// # Panics
    /// If a channel has a single value (batch 1 of `BatchNorm1d`), as PyTorch refuses it.
    pub fn forward_train<D: Dimension>(&self, x: ArrayView<F, D>) -> (Array<F, D>, BatchNormCache<F>) {
        let (batch, channels, positions) = self.split(x.shape());
        let count = batch * positions;
        assert!(count > 1, "BatchNorm needs more than 1 value per channel when training, got input {:?}", x.shape());
        let x = x.as_standard_layout();
        let x3 = x.view().into_shape_with_order((batch, channels, positions)).expect("standard layout");
        let (n, eps) = (F::of(count as f64), F::of(self.eps));
        let mut normalized = Array3::zeros(x3.raw_dim());
        let mut y = Array3::zeros(x3.raw_dim());
        let mut inv_std = Array1::zeros(channels);
        let mut mean = Array1::zeros(channels);
        let mut unbiased_var = Array1::zeros(channels);
        for (c, x_c) in x3.axis_iter(Axis(1)).enumerate() {
            let mu = x_c.sum() / n;
            let squares = x_c.fold(F::zero(), |acc, &v| acc + (v - mu) * (v - mu));
            let sigma_inv = F::one() / (squares / n + eps).sqrt();
            let (gamma, beta) = (self.weight[c], self.bias[c]);
            Zip::from(normalized.index_axis_mut(Axis(1), c)).and(y.index_axis_mut(Axis(1), c)).and(&x_c).for_each(
                |h, y, &v| {
                    *h = (v - mu) * sigma_inv;
                    *y = *h * gamma + beta;
                },
            );
            inv_std[c] = sigma_inv;
            mean[c] = mu;
            unbiased_var[c] = squares / (n - F::one());
        }
        let y = y.into_shape_with_order(x.raw_dim()).expect("same size");
        (y, BatchNormCache { normalized, inv_std, mean, unbiased_var })
    }

    /// Folds a training batch's statistics into the running ones, as PyTorch's training
    /// forward does: `running = (1 − momentum)·running + momentum·batch` (the variance
    /// unbiased), and counts the batch in `num_batches_tracked`.
    pub fn update_running_stats(&mut self, cache: &BatchNormCache<F>) {
        let momentum = F::of(self.momentum);
        let keep = F::one() - momentum;
        Zip::from(&mut self.running_mean).and(&cache.mean).for_each(|r, &b| *r = momentum * b + keep * *r);
        Zip::from(&mut self.running_var).and(&cache.unbiased_var).for_each(|r, &b| *r = momentum * b + keep * *r);
        self.num_batches_tracked += 1;
    }

    /// Accumulates d loss / d γ `= Σ g x̂` and d loss / d β `= Σ g`, and returns d loss / d x
    /// `= γ/(n·σ) · (n·g − Σ g − x̂ · Σ g x̂)` (sums per channel over its `n` values),
    /// computed in the cache's buffer.
    pub fn backward<D: Dimension>(&mut self, cache: BatchNormCache<F>, grad_out: ArrayView<F, D>) -> Array<F, D> {
        let (batch, channels, positions) = self.split(grad_out.shape());
        let split = (batch, channels, positions);
        assert_eq!(split, cache.normalized.dim(), "BatchNorm grad_out must be shaped as the forward's input");
        let grad_out = grad_out.as_standard_layout();
        let g3 = grad_out.view().into_shape_with_order(split).expect("standard layout");
        let n = F::of((batch * positions) as f64);
        let mut grad_in = cache.normalized;
        for (c, (g_c, mut h_c)) in g3.axis_iter(Axis(1)).zip(grad_in.axis_iter_mut(Axis(1))).enumerate() {
            let sum_g = g_c.sum();
            let sum_gh = Zip::from(&g_c).and(&h_c).fold(F::zero(), |acc, &g, &h| acc + g * h);
            self.weight_grad[c] += sum_gh;
            self.bias_grad[c] += sum_g;
            let k = self.weight[c] * cache.inv_std[c] / n;
            Zip::from(&mut h_c).and(&g_c).for_each(|h, &g| *h = k * (n * g - sum_g - *h * sum_gh));
        }
        grad_in.into_shape_with_order(grad_out.raw_dim()).expect("same size")
    }

    /// The per-channel `(scale, shift)` of inference, `y = x · scale + shift`, from the
    /// running statistics (what a frozen model stores, see
    /// [`crate::frozen::batch_norm_scale_shift`]).
    pub fn scale_shift(&self) -> (Array1<F>, Array1<F>) {
        let eps = F::of(self.eps);
        let mut scale = Array1::zeros(self.weight.raw_dim());
        let mut shift = Array1::zeros(self.weight.raw_dim());
        Zip::from(&mut scale)
            .and(&mut shift)
            .and(&self.weight)
            .and(&self.bias)
            .and(&self.running_mean)
            .and(&self.running_var)
            .for_each(|a, b, &w, &bias, &mean, &var| (*a, *b) = batch_norm_scale_shift(w, bias, mean, var, eps));
        (scale, shift)
    }

    /// Writes the inference `(scale, shift)` into a frozen layer's arrays.
    pub fn freeze_into(&self, scale: &mut [F], shift: &mut [F]) {
        let (s, b) = self.scale_shift();
        scale.copy_from_slice(s.as_slice().expect("contiguous"));
        shift.copy_from_slice(b.as_slice().expect("contiguous"));
    }

    /// Visits `weight`, `bias`, `running_mean`, `running_var` and `num_batches_tracked`
    /// under their state-dict keys, in that order.
    pub fn visit(&self, keys: [&str; 5], visitor: &mut dyn FnMut(&str, Entry<'_, F>)) {
        visitor(
            keys[0],
            Entry::Param { value: self.weight.view().into_dyn(), grad: self.weight_grad.view().into_dyn() },
        );
        visitor(keys[1], Entry::Param { value: self.bias.view().into_dyn(), grad: self.bias_grad.view().into_dyn() });
        visitor(keys[2], Entry::Buffer(self.running_mean.view().into_dyn()));
        visitor(keys[3], Entry::Buffer(self.running_var.view().into_dyn()));
        visitor(keys[4], Entry::Count(self.num_batches_tracked));
    }

    /// Writable counterpart of [`BatchNorm::visit`].
    pub fn visit_mut(&mut self, keys: [&str; 5], visitor: &mut dyn FnMut(&str, EntryMut<'_, F>)) {
        let weight =
            EntryMut::Param { value: self.weight.view_mut().into_dyn(), grad: self.weight_grad.view_mut().into_dyn() };
        visitor(keys[0], weight);
        visitor(
            keys[1],
            EntryMut::Param { value: self.bias.view_mut().into_dyn(), grad: self.bias_grad.view_mut().into_dyn() },
        );
        visitor(keys[2], EntryMut::Buffer(self.running_mean.view_mut().into_dyn()));
        visitor(keys[3], EntryMut::Buffer(self.running_var.view_mut().into_dyn()));
        visitor(keys[4], EntryMut::Count(&mut self.num_batches_tracked));
    }

    /// A batch's shape seen as `(batch, channels, positions per channel)`.
    fn split(&self, shape: &[usize]) -> (usize, usize, usize) {
        assert!(shape.len() >= 2, "BatchNorm expects [batch, C, ...], got {shape:?}");
        let channels = self.weight.len();
        assert_eq!(shape[1], channels, "BatchNorm expects {channels} channels, got input {shape:?}");
        (shape[0], shape[1], shape[2..].iter().product())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finite_diff::{assert_grad_close, numeric_grad};
    use ndarray::{Array2, Array4};
    use proptest::prelude::{proptest, ProptestConfig};
    use rand::{Rng, SeedableRng};

    fn close(got: impl IntoIterator<Item = f64>, want: &[f64]) {
        let got: Vec<f64> = got.into_iter().collect();
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "{got:?} vs {want:?}");
        }
    }

    /// Three training steps on `x_t[n,c,i,j] = ((7t + 5n + 3c + 2i + j) mod 11)/2 − 2 + t/4`
    /// (shape [3, 2, 2, 2]), γ = [1.5, −0.5], β = [0.25, 1], against PyTorch's formulas in
    /// this python3 script:
    /// ```text
    /// rm, rv = [0.0]*C, [1.0]*C
    /// for t in range(3):
    ///     for c in range(C):
    ///         v = [x(t,n,c,i,j) for n in range(N) for i in range(H) for j in range(W)]
    ///         m = len(v); mean = sum(v)/m; ss = sum((a-mean)**2 for a in v)
    ///         y[n,c,i,j] = (x(t,n,c,i,j)-mean)/math.sqrt(ss/m+eps)*gamma[c]+beta[c]  # biased var
    ///         rm[c] = momentum*mean + (1-momentum)*rm[c]
    ///         rv[c] = momentum*ss/(m-1) + (1-momentum)*rv[c]                       # unbiased var
    /// inference = (x(2,n,c,i,j)-rm[c])/math.sqrt(rv[c]+eps)*gamma[c]+beta[c]
    /// ```
    #[test]
    fn running_stats_after_three_steps_match_pytorch() {
        let mut layer = BatchNorm::<f64>::new(2, 1e-5, 0.1);
        layer.weight = ndarray::array![1.5, -0.5];
        layer.bias = ndarray::array![0.25, 1.0];
        let x = |t: usize| {
            Array4::from_shape_fn((3, 2, 2, 2), |(n, c, i, j)| {
                ((7 * t + 5 * n + 3 * c + 2 * i + j) % 11) as f64 * 0.5 - 2.0 + t as f64 * 0.25
            })
        };
        let mut last = None;
        for t in 0..3 {
            let (y, cache) = layer.forward_train(x(t).view());
            layer.update_running_stats(&cache);
            last = Some(y);
        }
        assert_eq!(layer.num_batches_tracked, 3);
        close(layer.running_mean.iter().copied(), &[0.20570833333333333, 0.19420833333333334]);
        close(layer.running_var.iter().copied(), &[1.373225378787879, 1.4548503787878788]);
        close(
            last.unwrap().iter().take(8).copied(),
            &[
                -0.7722476830972282,
                -0.2389010658291092,
                0.29444555143900986,
                0.827792168707129,
                0.8539487994374606,
                0.6786873587624134,
                0.5034259180873663,
                0.328164477412319,
            ],
        );
        close(
            layer.forward(x(2).view()).iter().take(8).copied(),
            &[
                -0.013312000567166637,
                0.6267009641494629,
                1.2667139288660922,
                1.906726893582722,
                0.45870596813849807,
                0.251439355217281,
                0.04417274229606405,
                -0.16309387062515301,
            ],
        );
    }

    #[test]
    fn visits_state_dict_entries_in_pytorch_order() {
        let mut layer = BatchNorm::<f32>::new(3, 1e-5, 0.1);
        let mut seen = Vec::new();
        layer.visit(["weight", "bias", "running_mean", "running_var", "num_batches_tracked"], &mut |key, entry| {
            let kind = match entry {
                Entry::Param { value, .. } => format!("param {:?}", value.shape()),
                Entry::Buffer(value) => format!("buffer {:?}", value.shape()),
                Entry::Count(count) => format!("count {count}"),
            };
            seen.push(format!("{key}: {kind}"));
        });
        assert_eq!(
            seen,
            [
                "weight: param [3]",
                "bias: param [3]",
                "running_mean: buffer [3]",
                "running_var: buffer [3]",
                "num_batches_tracked: count 0"
            ]
        );
        layer.visit_mut(["w", "b", "m", "v", "n"], &mut |_, entry| {
            if let EntryMut::Count(count) = entry {
                *count = 7;
            }
        });
        assert_eq!(layer.num_batches_tracked, 7);
    }

    #[test]
    #[should_panic(expected = "more than 1 value per channel")]
    fn training_on_a_single_value_per_channel_panics() {
        BatchNorm::<f64>::new(2, 1e-5, 0.1).forward_train(Array2::zeros((1, 2)).view());
    }

    /// Checks γ, β and input gradients of the training forward against finite differences.
    fn check_backward<D: Dimension>(x: Array<f64, D>, rng: &mut impl Rng) {
        let mut layer = BatchNorm::<f64>::new(x.shape()[1], 1e-5, 0.1);
        layer.weight.mapv_inplace(|_| rng.random_range(0.5..2.0));
        layer.bias.mapv_inplace(|_| rng.random_range(-1.0..1.0));
        let (y, cache) = layer.forward_train(x.view());
        let r = Array::from_shape_simple_fn(y.raw_dim(), || rng.random_range(-1.0..1.0));
        let loss = |layer: &BatchNorm<f64>, x: &Array<f64, D>| (layer.forward_train(x.view()).0 * &r).sum();

        let mut analytic = layer.clone();
        let grad_x = analytic.backward(cache, r.view());

        assert_grad_close(&grad_x, &numeric_grad(&x, |x| loss(&layer, x)));
        let numeric_w = numeric_grad(&layer.weight, |w| loss(&BatchNorm { weight: w.clone(), ..layer.clone() }, &x));
        assert_grad_close(&analytic.weight_grad, &numeric_w);
        let numeric_b = numeric_grad(&layer.bias, |b| loss(&BatchNorm { bias: b.clone(), ..layer.clone() }, &x));
        assert_grad_close(&analytic.bias_grad, &numeric_b);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn backward_matches_finite_differences(
            batch in 2usize..5, channels in 1usize..4, h in 1usize..3, w in 1usize..3, seed in 0u64..1000,
        ) {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let x1 = Array2::from_shape_simple_fn((batch, channels), || rng.random_range(-2.0..2.0));
            check_backward(x1, &mut rng);
            let x2 = Array4::from_shape_simple_fn((batch, channels, h, w), || rng.random_range(-2.0..2.0));
            check_backward(x2, &mut rng);
        }
    }
}
