//! Optimisers, learning-rate schedules and gradient clipping, step for step as PyTorch.

use ndarray::ArrayD;

use crate::{Error, Float, Params};

/// An optimiser's state, for checkpoints: the step count and named tensors
/// (e.g. `exp_avg.0.weight`), enough to resume to the same numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct OptimizerState<F> {
    /// Steps taken so far.
    pub step: u64,
    /// Per-parameter buffers, keyed `<buffer>.<parameter key>`.
    pub tensors: Vec<(String, ArrayD<F>)>,
}

/// Updates a model's parameters from their accumulated gradients.
pub trait Optimizer<F: Float> {
    /// One update of every trainable parameter of `model`, as PyTorch's `opt.step()`.
    fn step<P: Params<F> + ?Sized>(&mut self, model: &mut P);
    /// The current learning rate.
    fn lr(&self) -> f64;
    /// Sets the learning rate (what schedules do between epochs).
    fn set_lr(&mut self, lr: f64);
    /// A copy of the state, for a checkpoint.
    fn state(&self) -> OptimizerState<F>;
    /// Restores a state saved by [`Optimizer::state`]; an error names what does not fit.
    fn load_state(&mut self, state: OptimizerState<F>) -> Result<(), Error>;
}
