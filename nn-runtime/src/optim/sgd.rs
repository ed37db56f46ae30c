//! `Sgd`: stochastic gradient descent with momentum, dampening, Nesterov momentum and
//! weight decay, as PyTorch's `torch.optim.SGD`.

use ndarray::Zip;

use super::{flush_subnormal, state_error, Optimizer, OptimizerState, ParamBuffers};
use crate::{Error, Float, Params};

/// Stochastic gradient descent, step for step as PyTorch's `SGD`. Per parameter `p`
/// with gradient `g`:
///
/// ```text
/// g ← g + weight_decay · p
/// b ← g on the first step, else momentum · b + (1 - dampening) · g   (with momentum only)
/// g ← g + momentum · b if nesterov, else b                           (with momentum only)
/// p ← p - lr · g
/// ```
///
/// The gradients are read, never changed. With momentum, the buffers `b` are the
/// state's `momentum_buffer.<parameter key>` tensors.
/// A buffer that would be subnormal is stored as zero, so steps never compute on
/// subnormals (slow on x86); the difference is below f32's precision.
#[derive(Debug, Clone)]
pub struct Sgd<F> {
    lr: f64,
    momentum: f64,
    dampening: f64,
    nesterov: bool,
    weight_decay: f64,
    step: u64,
    momentum_buffers: ParamBuffers<F, 1>,
}

impl<F: Float> Sgd<F> {
    /// Plain SGD with learning rate `lr`: no momentum, no weight decay.
    pub fn new(lr: f64) -> Self {
        Sgd {
            lr,
            momentum: 0.0,
            dampening: 0.0,
            nesterov: false,
            weight_decay: 0.0,
            step: 0,
            momentum_buffers: ParamBuffers::new(["momentum_buffer"]),
        }
    }

    /// The momentum factor (PyTorch's default `0`: none).
    pub fn momentum(self, momentum: f64) -> Self {
        Sgd { momentum, ..self }
    }

    /// The dampening of the gradient's share in the momentum buffer (default `0`).
    pub fn dampening(self, dampening: f64) -> Self {
        Sgd { dampening, ..self }
    }

    /// Nesterov momentum (default off). PyTorch accepts it only with a positive
    /// momentum and no dampening; here the formula is applied as written in any case.
    pub fn nesterov(self, nesterov: bool) -> Self {
        Sgd { nesterov, ..self }
    }

    /// The L2 penalty added to the gradient (default `0`).
    pub fn weight_decay(self, weight_decay: f64) -> Self {
        Sgd { weight_decay, ..self }
    }
}

impl<F: Float> Optimizer<F> for Sgd<F> {
    /// # Panics
    /// With momentum, if the momentum buffers belong to another model (see
    /// [`OptimizerState::check_fits`]).
    fn step<P: Params<F> + ?Sized>(&mut self, model: &mut P) {
        self.step += 1;
        let lr = F::of(self.lr);
        // Where PyTorch skips a zero weight decay, adding 0·p leaves a finite gradient as it is.
        let weight_decay = F::of(self.weight_decay);
        if self.momentum == 0.0 {
            model.for_each_param_mut(&mut |_, mut value, grad| {
                Zip::from(&mut value).and(&grad).for_each(|p, &g| *p -= lr * (g + weight_decay * *p));
            });
            return;
        }
        let momentum = F::of(self.momentum);
        let gradient_share = F::of(1.0 - self.dampening);
        let nesterov = self.nesterov;
        self.momentum_buffers.for_each(model, |mut value, grad, [buffer], fresh| {
            // PyTorch's first step sets the buffer to the gradient, undampened: b ← 0·0 + 1·g.
            let (keep, share) = if fresh { (F::zero(), F::one()) } else { (momentum, gradient_share) };
            Zip::from(&mut value).and(&grad).and(buffer).for_each(|p, &g, b| {
                let g = g + weight_decay * *p;
                *b = flush_subnormal(*b * keep + share * g);
                let g = if nesterov { g + momentum * *b } else { *b };
                *p -= lr * g;
            });
        });
    }

    fn lr(&self) -> f64 {
        self.lr
    }

    fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }

    fn state(&self) -> OptimizerState<F> {
        OptimizerState { step: self.step, tensors: self.momentum_buffers.tensors() }
    }

    /// Restores the step count and momentum buffers; without momentum, a state that
    /// holds buffers is an error.
    fn load_state(&mut self, state: OptimizerState<F>) -> Result<(), Error> {
        if self.momentum == 0.0 {
            if let Some((name, _)) = state.tensors.first() {
                return Err(state_error(format!("unexpected tensor `{name}`: this SGD has no momentum")));
            }
        } else {
            self.momentum_buffers.load(state.step, state.tensors)?;
        }
        self.step = state.step;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::testing::{assert_state_round_trips, assert_steps, Toy};

    // The expected values come from PyTorch's `_single_tensor_sgd` update rule
    // transcribed into python3 float64 (g += wd·p; buf = g first, else
    // buf·m + (1-d)·g; g = g + m·buf if nesterov else buf; p += -lr·g).

    #[test]
    fn plain_matches_pytorch() {
        assert_steps(Sgd::new(0.1), [[0.95, -1.9, 0.3], [0.94, -1.93, 0.37], [0.98, -2.02, 0.365]]);
    }

    #[test]
    fn weight_decay_matches_pytorch() {
        let expected = [
            [0.94, -1.88, 0.29500000000000004],
            [0.9206, -1.8912, 0.36205000000000004],
            [0.951394, -1.962288, 0.35342950000000006],
        ];
        assert_steps(Sgd::new(0.1).weight_decay(0.1), expected);
    }

    #[test]
    fn momentum_matches_pytorch() {
        let expected = [
            [0.95, -1.9, 0.3],
            [0.8949999999999999, -1.8399999999999999, 0.18999999999999997],
            [0.8855, -1.876, 0.08599999999999997],
        ];
        assert_steps(Sgd::new(0.1).momentum(0.9), expected);
    }

    #[test]
    fn dampening_skips_the_first_step_as_pytorch() {
        let expected = [
            [0.95, -1.9, 0.3],
            [0.8999999999999999, -1.825, 0.15499999999999997],
            [0.8749999999999999, -1.8025, 0.021999999999999964],
        ];
        assert_steps(Sgd::new(0.1).momentum(0.9).dampening(0.5), expected);
    }

    #[test]
    fn nesterov_matches_pytorch() {
        let expected =
            [[0.905, -1.81, 0.12], [0.8455, -1.786, 0.09099999999999998], [0.87695, -1.9084, -0.007600000000000037]];
        assert_steps(Sgd::new(0.1).momentum(0.9).nesterov(true), expected);
        let expected = [
            [0.886, -1.772, 0.11050000000000004],
            [0.801566, -1.698132, 0.07535050000000003],
            [0.803319646, -1.759334292, -0.029221209499999984],
        ];
        assert_steps(Sgd::new(0.1).momentum(0.9).nesterov(true).weight_decay(0.1), expected);
    }

    #[test]
    fn state_round_trips_to_the_same_numbers() {
        assert_state_round_trips(|| Sgd::new(0.1).momentum(0.9).dampening(0.1).weight_decay(0.01));
        assert_state_round_trips(|| Sgd::new(0.1));
    }

    #[test]
    fn rejects_momentum_buffers_without_momentum() {
        let mut with_momentum = Sgd::<f64>::new(0.1).momentum(0.9);
        with_momentum.step(&mut Toy::new([1.0, 2.0, 3.0]));
        let state = with_momentum.state();
        assert_eq!(state.tensors[0].0, "momentum_buffer.0.weight");
        let err = Sgd::new(0.1).load_state(state).unwrap_err();
        assert!(err.to_string().contains("unexpected tensor `momentum_buffer.0.weight`: this SGD has no momentum"));
    }
}
