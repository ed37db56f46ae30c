//! `Adam`: adaptive moment estimation, as PyTorch's `torch.optim.Adam`; its decoupled
//! weight decay serves [`super::AdamW`] too.

use ndarray::Zip;

use super::{flush_subnormal, Optimizer, OptimizerState, ParamBuffers};
use crate::gemm::num_threads;
use crate::simd::{dispatch, VectorLoop};
use crate::{Error, Float, Params};

/// How the weight decay enters the update.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum WeightDecay {
    /// Adam's L2 penalty: `g ← g + wd · p`.
    L2,
    /// AdamW's decoupled decay: `p ← p · (1 - lr · wd)` before the update.
    Decoupled,
}

/// Adam, step for step as PyTorch's (the single-tensor path without AMSGrad). At step
/// `t`, per parameter `p` with gradient `g`:
///
/// ```text
/// g ← g + weight_decay · p
/// m ← m + (1 - β₁) · (g - m)          (PyTorch's lerp)
/// v ← β₂ · v + (1 - β₂) · g²
/// p ← p - lr / (1 - β₁ᵗ) · m / (√v / √(1 - β₂ᵗ) + eps)
/// ```
///
/// The gradients are read, never changed. `m` and `v` are the state's
/// `exp_avg.<parameter key>` and `exp_avg_sq.<parameter key>` tensors.
/// One departure, below f32's precision: `m` and `v` are stored as zero where they
/// would be subnormal, so steps never compute on subnormals (slow on x86).
#[derive(Debug, Clone)]
pub struct Adam<F> {
    lr: f64,
    betas: (f64, f64),
    eps: f64,
    weight_decay: f64,
    decay: WeightDecay,
    step: u64,
    moments: ParamBuffers<F, 2>,
}

impl<F: Float> Adam<F> {
    /// Adam with learning rate `lr` and PyTorch's defaults: betas `(0.9, 0.999)`,
    /// eps `1e-8`, no weight decay.
    pub fn new(lr: f64) -> Self {
        Self::with_decay(lr, 0.0, WeightDecay::L2)
    }

    /// Adam with the given weight decay, PyTorch's other defaults.
    pub(super) fn with_decay(lr: f64, weight_decay: f64, decay: WeightDecay) -> Self {
        Adam {
            lr,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay,
            decay,
            step: 0,
            moments: ParamBuffers::new(["exp_avg", "exp_avg_sq"]),
        }
    }

    /// The decay rates `(β₁, β₂)` of the first and second moment averages.
    pub fn betas(self, beta1: f64, beta2: f64) -> Self {
        Adam { betas: (beta1, beta2), ..self }
    }

    /// The term added to the denominator for numerical stability.
    pub fn eps(self, eps: f64) -> Self {
        Adam { eps, ..self }
    }

    /// The weight decay factor.
    pub fn weight_decay(self, weight_decay: f64) -> Self {
        Adam { weight_decay, ..self }
    }
}

impl<F: Float> Optimizer<F> for Adam<F> {
    /// # Panics
    /// If the moment buffers belong to another model (see [`OptimizerState::check_fits`]).
    fn step<P: Params<F> + ?Sized>(&mut self, model: &mut P) {
        self.step += 1;
        let (beta1, beta2) = self.betas;
        // PyTorch computes these scalars in double precision (Python floats).
        let t = self.step as f64;
        let step_size = F::of(self.lr / (1.0 - beta1.powf(t)));
        let bias_correction2_sqrt = F::of((1.0 - beta2.powf(t)).sqrt());
        // Where PyTorch skips a zero term, adding 0·p or multiplying by 1 changes nothing finite.
        let (l2, keep) = match self.decay {
            WeightDecay::L2 => (F::of(self.weight_decay), F::one()),
            WeightDecay::Decoupled => (F::zero(), F::of(1.0 - self.lr * self.weight_decay)),
        };
        let update = Update {
            l2,
            keep,
            one_minus_beta1: F::of(1.0 - beta1),
            beta2: F::of(beta2),
            one_minus_beta2: F::of(1.0 - beta2),
            step_size,
            bias_correction2_sqrt,
            eps: F::of(self.eps),
        };
        self.moments.for_each(model, |mut value, grad, [exp_avg, exp_avg_sq], _| {
            match (value.as_slice_mut(), grad.as_slice(), exp_avg.as_slice_mut(), exp_avg_sq.as_slice_mut()) {
                (Some(p), Some(g), Some(m), Some(v)) => update.run_on_slices(p, g, m, v),
                _ => Zip::from(&mut value)
                    .and(&grad)
                    .and(exp_avg)
                    .and(exp_avg_sq)
                    .for_each(|p, &g, m, v| update.apply(p, g, m, v)),
            }
        });
    }

    fn lr(&self) -> f64 {
        self.lr
    }

    fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }

    fn state(&self) -> OptimizerState<F> {
        OptimizerState { step: self.step, tensors: self.moments.tensors() }
    }

    fn load_state(&mut self, state: OptimizerState<F>) -> Result<(), Error> {
        self.moments.load(state.step, state.tensors)?;
        self.step = state.step;
        Ok(())
    }
}

/// One step's coefficients of the Adam update, applied to one element by [`Update::apply`].
#[derive(Debug, Clone, Copy)]
struct Update<F> {
    l2: F,
    keep: F,
    one_minus_beta1: F,
    beta2: F,
    one_minus_beta2: F,
    step_size: F,
    bias_correction2_sqrt: F,
    eps: F,
}

impl<F: Float> Update<F> {
    /// Updates parameter `p` with gradient `g` and its moments `m` and `v`.
    #[inline(always)]
    fn apply(&self, p: &mut F, g: F, m: &mut F, v: &mut F) {
        let g = g + self.l2 * *p;
        *p *= self.keep;
        *m = flush_subnormal(*m + self.one_minus_beta1 * (g - *m));
        *v = flush_subnormal(*v * self.beta2 + self.one_minus_beta2 * g * g);
        // PyTorch's addcdiv: p + (-step_size · m) / denom.
        *p -= self.step_size * *m / (v.sqrt() / self.bias_correction2_sqrt + self.eps);
    }

    /// Updates contiguous slices, split across [`num_threads`] threads when they are
    /// long enough for the split to pay.
    fn run_on_slices(self, p: &mut [F], g: &[F], m: &mut [F], v: &mut [F]) {
        let threads = if p.len() >= PARALLEL_MIN_ELEMENTS { num_threads() } else { 1 };
        if threads == 1 {
            return dispatch(SliceUpdate { update: self, p, g, m, v });
        }
        let chunk = p.len().div_ceil(threads);
        rayon::scope(|scope| {
            let parts = p.chunks_mut(chunk).zip(g.chunks(chunk)).zip(m.chunks_mut(chunk)).zip(v.chunks_mut(chunk));
            for (((p, g), m), v) in parts {
                scope.spawn(move |_| dispatch(SliceUpdate { update: self, p, g, m, v }));
            }
        });
    }
}

/// The fewest elements of a parameter whose update is split across threads.
const PARALLEL_MIN_ELEMENTS: usize = 1 << 15;

/// [`Update`] over a parameter, its gradient and moments as contiguous slices: the loop
/// [`dispatch`] compiles for the CPU's widest vectors.
struct SliceUpdate<'a, F> {
    update: Update<F>,
    p: &'a mut [F],
    g: &'a [F],
    m: &'a mut [F],
    v: &'a mut [F],
}

impl<F: Float> VectorLoop for SliceUpdate<'_, F> {
    #[inline(always)]
    fn run(self) {
        let SliceUpdate { update, p, g, m, v } = self;
        for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m).zip(v) {
            update.apply(p, g, m, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::testing::{assert_close, assert_state_round_trips, assert_steps, Toy, GRADS};

    // The expected values come from PyTorch's `_single_tensor_adam` update rule
    // transcribed into python3 float64 (g += wd·p; m = lerp(m, g, 1-b1);
    // v = v·b2 + (1-b2)·g²; p += -(lr/(1-b1^t)) · m / (sqrt(v)/sqrt(1-b2^t) + eps)).

    #[test]
    fn matches_pytorch() {
        let expected = [
            [0.900000002, -1.900000001, 0.4000000005],
            [0.8196959063846517, -1.8572151424292265, 0.36135299546439126],
            [0.8103259663582116, -1.8739083089980522, 0.32997869807095803],
        ];
        assert_steps(Adam::new(0.1), expected);
    }

    #[test]
    fn weight_decay_matches_pytorch() {
        let expected = [
            [0.9000000016666666, -1.9000000008333333, 0.4000000004878049],
            [0.8136483454297575, -1.8400703555381717, 0.3590364179045027],
            [0.7829837790790071, -1.8329095846341414, 0.32484816243103876],
        ];
        assert_steps(Adam::new(0.1).weight_decay(0.1), expected);
    }

    #[test]
    fn betas_and_eps_match_pytorch() {
        let expected = [
            [0.9001996007984032, -1.9000999000999002, 0.40004997501249373],
            [0.8231926767691575, -1.8624448665517757, 0.3666361486663222],
            [0.8231926767691575, -1.88817449807089, 0.3407534654682281],
        ];
        assert_steps(Adam::new(0.1).betas(0.8, 0.99).eps(1e-3), expected);
    }

    #[test]
    fn computes_in_f32() {
        // The first row of `matches_pytorch`, to f32 precision.
        let mut toy = Toy::<f32>::new([1.0, -2.0, 0.5]);
        toy.set_grads(GRADS[0]);
        let mut opt = Adam::new(0.1);
        opt.step(&mut toy);
        assert_close(&toy.values(), &[0.900000002, -1.900000001, 0.4000000005], 1e-7);
    }

    #[test]
    fn strided_parameters_update_as_contiguous_ones() {
        // A column-major parameter has no standard-order slice: it takes the `Zip` path,
        // a contiguous one the dispatched vector loop. Both give the same bits.
        let contiguous = ndarray::Array2::from_shape_fn((3, 4), |(i, j)| (i * 4 + j) as f32 * 0.37 - 2.0);
        let column_major = {
            let mut t = ndarray::Array2::zeros((4, 3)).reversed_axes();
            t.assign(&contiguous);
            t
        };
        assert!(column_major.as_slice().is_none());
        let grad = contiguous.mapv(|x| (x * 1.7).sin());
        let models = [contiguous, column_major].map(|value| {
            let value = value.into_dyn();
            let mut toy = Toy(vec![("0.weight", value, grad.clone().into_dyn())]);
            let mut opt = Adam::new(0.01).weight_decay(0.1);
            (0..3).for_each(|_| opt.step(&mut toy));
            toy.values()
        });
        assert_eq!(models[0], models[1]);
    }

    #[test]
    fn every_instruction_set_of_this_cpu_updates_to_the_same_bits() {
        // 1000 values: whole vectors of every width and a tail; some gradients tiny, so
        // that moments flush to zero on some lanes.
        let start = |i: usize| ((i * 37 % 101) as f32 - 50.0) * 0.013;
        let grad: Vec<f32> = (0..1000).map(|i| if i % 7 == 0 { 1e-30 } else { (start(i) * 3.1).sin() }).collect();
        let update = Update {
            l2: 0.01,
            keep: 1.0,
            one_minus_beta1: 0.1,
            beta2: 0.999,
            one_minus_beta2: 0.001,
            step_size: 0.01,
            bias_correction2_sqrt: 0.05,
            eps: 1e-8,
        };
        let run = |kernel: Option<crate::simd::Kernel>| {
            let (mut p, mut m, mut v): (Vec<f32>, Vec<f32>, Vec<f32>) =
                ((0..1000).map(start).collect(), vec![0.0; 1000], vec![0.0; 1000]);
            for _ in 0..3 {
                let body = SliceUpdate { update, p: &mut p, g: &grad, m: &mut m, v: &mut v };
                match kernel {
                    Some(kernel) => crate::simd::dispatch_on(kernel, body),
                    None => body
                        .p
                        .iter_mut()
                        .zip(body.g)
                        .zip(body.m.iter_mut())
                        .zip(body.v.iter_mut())
                        .for_each(|(((p, &g), m), v)| update.apply(p, g, m, v)),
                }
            }
            [p, m, v].map(|values| values.iter().map(|x| x.to_bits()).collect::<Vec<_>>())
        };
        let scalar = run(None);
        for kernel in crate::simd::Kernel::available() {
            assert_eq!(run(Some(kernel)), scalar, "{kernel}");
        }
    }

    #[test]
    fn state_round_trips_to_the_same_numbers() {
        assert_state_round_trips(|| Adam::new(0.1).weight_decay(0.01));
        let mut opt = Adam::new(0.1);
        opt.step(&mut Toy::<f64>::new([1.0, -2.0, 0.5]));
        let names: Vec<String> = opt.state().tensors.into_iter().map(|(name, _)| name).collect();
        assert_eq!(names, ["exp_avg.0.weight", "exp_avg_sq.0.weight", "exp_avg.0.bias", "exp_avg_sq.0.bias"]);
    }
}
