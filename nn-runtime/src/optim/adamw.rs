//! `AdamW`: Adam with decoupled weight decay, as PyTorch's `torch.optim.AdamW`.

use super::adam::WeightDecay;
use super::{Adam, Optimizer, OptimizerState};
use crate::{Error, Float, Params};

/// AdamW, step for step as PyTorch's: each step first shrinks every parameter,
/// `p ← p · (1 - lr · weight_decay)`, then applies [`Adam`]'s update without an L2
/// term. The state's tensors are Adam's (`exp_avg.<key>`, `exp_avg_sq.<key>`).
#[derive(Debug, Clone)]
pub struct AdamW<F>(Adam<F>);

impl<F: Float> AdamW<F> {
    /// AdamW with learning rate `lr` and PyTorch's defaults: betas `(0.9, 0.999)`,
    /// eps `1e-8`, weight decay `0.01`.
    pub fn new(lr: f64) -> Self {
        AdamW(Adam::with_decay(lr, 0.01, WeightDecay::Decoupled))
    }

    /// The decay rates `(β₁, β₂)` of the first and second moment averages.
    pub fn betas(self, beta1: f64, beta2: f64) -> Self {
        AdamW(self.0.betas(beta1, beta2))
    }

    /// The term added to the denominator for numerical stability.
    pub fn eps(self, eps: f64) -> Self {
        AdamW(self.0.eps(eps))
    }

    /// The decoupled weight decay factor.
    pub fn weight_decay(self, weight_decay: f64) -> Self {
        AdamW(self.0.weight_decay(weight_decay))
    }
}

impl<F: Float> Optimizer<F> for AdamW<F> {
    /// # Panics
    /// If the moment buffers belong to another model (see [`OptimizerState::check_fits`]).
    fn step<P: Params<F> + ?Sized>(&mut self, model: &mut P) {
        self.0.step(model);
    }

    fn lr(&self) -> f64 {
        self.0.lr()
    }

    fn set_lr(&mut self, lr: f64) {
        self.0.set_lr(lr);
    }

    fn state(&self) -> OptimizerState<F> {
        self.0.state()
    }

    fn load_state(&mut self, state: OptimizerState<F>) -> Result<(), Error> {
        self.0.load_state(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::testing::{assert_state_round_trips, assert_steps};

    // The expected values come from PyTorch's `_single_tensor_adam` with
    // `decoupled_weight_decay` (AdamW) transcribed into python3 float64:
    // p *= 1 - lr·wd; m = lerp(m, g, 1-b1); v = v·b2 + (1-b2)·g²;
    // p += -(lr/(1-b1^t)) · m / (sqrt(v)/sqrt(1-b2^t) + eps).

    #[test]
    fn matches_pytorch_with_default_weight_decay() {
        let expected = [
            [0.899000002, -1.898000001, 0.3995000005],
            [0.8177969063826517, -1.8533171424282264, 0.36045349546389127],
            [0.807609169449829, -1.868156991854624, 0.32871874457499417],
        ];
        assert_steps(AdamW::new(0.1), expected);
    }

    #[test]
    fn builders_match_pytorch() {
        let expected = [
            [0.8501996007984032, -1.8000999000999, 0.3750499750124937],
            [0.7306826967292372, -1.6724398715467805, 0.3228836499156975],
            [0.6941485618927754, -1.614547509488556, 0.28085678422181853],
        ];
        assert_steps(AdamW::new(0.1).betas(0.8, 0.99).eps(1e-3).weight_decay(0.5), expected);
    }

    #[test]
    fn state_round_trips_to_the_same_numbers() {
        assert_state_round_trips(|| AdamW::new(0.1).weight_decay(0.1));
    }
}
