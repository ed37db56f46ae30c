//! Learning-rate schedules, as PyTorch's `torch.optim.lr_scheduler`: a schedule is a
//! function of the epoch ([`LrSchedule`]); an [`LrScheduler`] applies it to an optimiser.
//!
//! ```
//! use nn_runtime::optim::{LrScheduler, Optimizer, Sgd, StepLR};
//!
//! let mut opt = Sgd::<f32>::new(0.5);
//! let mut scheduler = LrScheduler::new(StepLR::new(2, 0.5), &mut opt);
//! for _epoch in 0..3 {
//!     // ... train one epoch with `opt` ...
//!     scheduler.step(&mut opt);
//! }
//! assert_eq!(opt.lr(), 0.25); // halved after epoch 2
//! ```

use std::f64::consts::PI;

use super::Optimizer;
use crate::Float;

/// A learning-rate schedule: the learning rate of every epoch, from the base one.
pub trait LrSchedule {
    /// The learning rate after `epoch` calls of [`LrScheduler::step`] (PyTorch's
    /// `last_epoch`), when the optimiser started at `base_lr`.
    fn lr_at(&self, base_lr: f64, epoch: usize) -> f64;
}

impl<S: LrSchedule + ?Sized> LrSchedule for Box<S> {
    fn lr_at(&self, base_lr: f64, epoch: usize) -> f64 {
        (**self).lr_at(base_lr, epoch)
    }
}

/// Multiplies the learning rate by `gamma` every `step_size` epochs: `base · γ^⌊epoch / step_size⌋`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepLR {
    step_size: usize,
    gamma: f64,
}

impl StepLR {
    /// Decay by `gamma` every `step_size` epochs (PyTorch's default `gamma` is `0.1`).
    ///
    /// # Panics
    /// If `step_size` is zero.
    pub fn new(step_size: usize, gamma: f64) -> Self {
        assert!(step_size > 0, "StepLR: step_size must be positive");
        StepLR { step_size, gamma }
    }
}

impl LrSchedule for StepLR {
    fn lr_at(&self, base_lr: f64, epoch: usize) -> f64 {
        base_lr * self.gamma.powf((epoch / self.step_size) as f64)
    }
}

/// Multiplies the learning rate by `gamma` every epoch: `base · γ^epoch`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExponentialLR {
    gamma: f64,
}

impl ExponentialLR {
    /// Decay by `gamma` every epoch.
    pub fn new(gamma: f64) -> Self {
        ExponentialLR { gamma }
    }
}

impl LrSchedule for ExponentialLR {
    fn lr_at(&self, base_lr: f64, epoch: usize) -> f64 {
        base_lr * self.gamma.powf(epoch as f64)
    }
}

/// Half a cosine from the base learning rate down to `eta_min` over `t_max` epochs:
/// `eta_min + (base - eta_min) · (1 + cos(π · epoch / t_max)) / 2`. Past `t_max` it
/// rises again, as PyTorch's (the curve has period `2 · t_max`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CosineAnnealingLR {
    t_max: usize,
    eta_min: f64,
}

impl CosineAnnealingLR {
    /// Anneal over `t_max` epochs down to `eta_min` (PyTorch's default `0`).
    ///
    /// # Panics
    /// If `t_max` is zero.
    pub fn new(t_max: usize, eta_min: f64) -> Self {
        assert!(t_max > 0, "CosineAnnealingLR: t_max must be positive");
        CosineAnnealingLR { t_max, eta_min }
    }
}

impl LrSchedule for CosineAnnealingLR {
    fn lr_at(&self, base_lr: f64, epoch: usize) -> f64 {
        let phase = PI * epoch as f64 / self.t_max as f64;
        self.eta_min + (base_lr - self.eta_min) * (1.0 + phase.cos()) / 2.0
    }
}

/// A linear ramp of the learning rate's factor from `start_factor` to `end_factor` over
/// `total_iters` epochs, then constant: PyTorch's `LinearLR`, typically a warm-up.
/// `base · (start + (end - start) · min(epoch, total_iters) / total_iters)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinearWarmup {
    start_factor: f64,
    end_factor: f64,
    total_iters: usize,
}

impl LinearWarmup {
    /// Ramp the factor from `start_factor` to `end_factor` over `total_iters` epochs.
    ///
    /// # Panics
    /// If `total_iters` is zero.
    pub fn new(start_factor: f64, end_factor: f64, total_iters: usize) -> Self {
        assert!(total_iters > 0, "LinearWarmup: total_iters must be positive");
        LinearWarmup { start_factor, end_factor, total_iters }
    }
}

impl Default for LinearWarmup {
    /// PyTorch's defaults: from a third of the base rate to all of it over 5 epochs.
    fn default() -> Self {
        LinearWarmup::new(1.0 / 3.0, 1.0, 5)
    }
}

impl LrSchedule for LinearWarmup {
    fn lr_at(&self, base_lr: f64, epoch: usize) -> f64 {
        let progress = epoch.min(self.total_iters) as f64 / self.total_iters as f64;
        base_lr * (self.start_factor + (self.end_factor - self.start_factor) * progress)
    }
}

/// Applies a schedule to an optimiser, as a PyTorch scheduler: created when training
/// starts, stepped after each epoch.
///
/// To resume at epoch `k`, create it on an optimiser set to the base learning rate and
/// call [`LrScheduler::step`] `k` times.
#[derive(Debug, Clone)]
pub struct LrScheduler<S> {
    schedule: S,
    base_lr: f64,
    epoch: usize,
}

impl<S: LrSchedule> LrScheduler<S> {
    /// Takes `opt`'s learning rate as the base one and sets it to the schedule's value
    /// at epoch 0, as constructing a PyTorch scheduler does.
    pub fn new<F: Float>(schedule: S, opt: &mut impl Optimizer<F>) -> Self {
        let base_lr = opt.lr();
        opt.set_lr(schedule.lr_at(base_lr, 0));
        LrScheduler { schedule, base_lr, epoch: 0 }
    }

    /// Ends an epoch: advances the count and sets `opt`'s learning rate (PyTorch's
    /// `scheduler.step()`).
    pub fn step<F: Float>(&mut self, opt: &mut impl Optimizer<F>) {
        self.epoch += 1;
        opt.set_lr(self.last_lr());
    }

    /// Epochs stepped so far (PyTorch's `last_epoch`).
    pub fn epoch(&self) -> usize {
        self.epoch
    }

    /// The learning rate the schedule set last (PyTorch's `get_last_lr()`).
    pub fn last_lr(&self) -> f64 {
        self.schedule.lr_at(self.base_lr, self.epoch)
    }

    /// The learning rate the optimiser had when the schedule took it over.
    pub fn base_lr(&self) -> f64 {
        self.base_lr
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::testing::assert_close;
    use crate::optim::Sgd;

    /// The learning rates of epochs `0..=n`, as a scheduler sets them on an optimiser.
    fn lrs(schedule: impl LrSchedule, base_lr: f64, n: usize) -> Vec<f64> {
        let mut opt = Sgd::<f64>::new(base_lr);
        let mut scheduler = LrScheduler::new(schedule, &mut opt);
        let mut seen = vec![opt.lr()];
        for _ in 0..n {
            scheduler.step(&mut opt);
            seen.push(opt.lr());
        }
        assert_eq!(scheduler.epoch(), n);
        assert_eq!(scheduler.last_lr(), opt.lr());
        seen
    }

    // The expected values come from PyTorch's chainable `get_lr` of each scheduler
    // (torch/optim/lr_scheduler.py) transcribed into python3 float64 and stepped from
    // the base rate; the closed forms here agree to rounding.

    #[test]
    fn step_lr_matches_pytorch() {
        assert_close(&lrs(StepLR::new(3, 0.5), 0.1, 7), &[0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025], 1e-15);
    }

    #[test]
    fn exponential_lr_matches_pytorch() {
        let expected = [0.1, 0.09000000000000001, 0.08100000000000002, 0.07290000000000002, 0.06561000000000002];
        assert_close(&lrs(ExponentialLR::new(0.9), 0.1, 4), &expected, 1e-15);
    }

    #[test]
    fn cosine_annealing_matches_pytorch() {
        let expected = [
            0.1,
            0.08681980515339464,
            0.05500000000000001,
            0.023180194846605363,
            0.01,
            0.023180194846605363,
            0.05500000000000002,
            0.08681980515339469,
            0.10000000000000006,
            0.0868198051533947,
        ];
        assert_close(&lrs(CosineAnnealingLR::new(4, 0.01), 0.1, 9), &expected, 1e-14);
    }

    #[test]
    fn linear_warmup_matches_pytorch_linear_lr() {
        let expected = [0.025, 0.043750000000000004, 0.06250000000000001, 0.08125000000000002, 0.1, 0.1, 0.1];
        assert_close(&lrs(LinearWarmup::new(0.25, 1.0, 4), 0.1, 6), &expected, 1e-15);
        let expected = [0.2, 0.15000000000000002, 0.10000000000000002, 0.10000000000000002];
        assert_close(&lrs(LinearWarmup::new(1.0, 0.5, 2), 0.2, 3), &expected, 1e-15);
        assert_eq!(LinearWarmup::default().lr_at(3.0, 0), 1.0);
    }

    #[test]
    fn boxed_schedules_are_schedules() {
        let schedule: Box<dyn LrSchedule> = Box::new(StepLR::new(1, 0.5));
        assert_eq!(lrs(schedule, 1.0, 2), [1.0, 0.5, 0.25]);
    }
}
