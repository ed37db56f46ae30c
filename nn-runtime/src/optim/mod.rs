//! Optimisers, learning-rate schedules and gradient clipping, step for step as PyTorch.
//!
//! Every optimiser implements [`Optimizer`], which the facade's prelude exports.

mod adam;
mod adamw;
mod clip;
mod schedule;
mod sgd;

pub use adam::Adam;
pub use adamw::AdamW;
pub use clip::clip_grad_norm;
pub use schedule::{CosineAnnealingLR, ExponentialLR, LinearWarmup, LrSchedule, LrScheduler, StepLR};
pub use sgd::Sgd;

use std::path::PathBuf;

use ndarray::{ArrayD, ArrayViewMutD};

use crate::{Entry, Error, Float, Params};

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

impl<F: Float> OptimizerState<F> {
    /// Checks that every tensor belongs to a trainable parameter of `model` and has
    /// its shape, and that every parameter has buffers (when there are any).
    ///
    /// [`Optimizer::load_state`] cannot see the model, and [`Optimizer::step`] panics
    /// on a state that does not fit it; a caller resuming from a checkpoint calls this
    /// first to get the mismatch as an error instead.
    pub fn check_fits<P: Params<F> + ?Sized>(&self, model: &P) -> Result<(), Error> {
        let mut params = Vec::new();
        model.visit(&mut |key, entry| {
            if let Entry::Param { value, .. } = entry {
                params.push((key.to_owned(), value.shape().to_vec()));
            }
        });
        for (name, tensor) in &self.tensors {
            let key = param_key(name);
            match params.iter().find(|(param, _)| param == key) {
                None => return Err(state_error(format!("`{name}` belongs to no parameter of the model"))),
                Some((_, shape)) if shape != tensor.shape() => {
                    return Err(state_error(format!(
                        "`{name}` has shape {:?}, the parameter `{key}` has {shape:?}",
                        tensor.shape()
                    )))
                }
                Some(_) => {}
            }
        }
        let has_buffers = |key: &String| self.tensors.iter().any(|(name, _)| param_key(name) == key);
        match params.iter().find(|(key, _)| !self.tensors.is_empty() && !has_buffers(key)) {
            Some((key, _)) => Err(state_error(format!("no buffers for the parameter `{key}`"))),
            None => Ok(()),
        }
    }
}

/// `x`, or zero where `x` is subnormal (`0 < |x| <` the smallest normal number).
///
/// A moment buffer whose gradient stays zero (a weight on an always-blank pixel, a
/// dead ReLU unit) decays geometrically, `b ← 0.9·b`, into the subnormal range and
/// stays there: rounding keeps the last few units in the last place forever. Every
/// later step would then compute on subnormals, which x86 CPUs handle in microcode at
/// about a hundred times the cost of a normal operation (the seed model's Adam step
/// grew fivefold after a few epochs). Flushing the stored buffers changes an update
/// by at most `lr · 1.2e-38 / eps` in f32 — below the precision of any weight — and
/// keeps every step on the fast path. The select compiles to a vector compare.
#[inline(always)]
fn flush_subnormal<F: Float>(x: F) -> F {
    if x.abs() < F::min_positive_value() {
        F::zero()
    } else {
        x
    }
}

/// The parameter key of a state tensor's name: `0.weight` of `exp_avg.0.weight`.
fn param_key(name: &str) -> &str {
    name.split_once('.').map_or(name, |(_, key)| key)
}

/// A [`Error::Checkpoint`] about an optimiser state. Its path is empty: the state is
/// not read from a file here; the caller that read it may fill the path in.
fn state_error(reason: String) -> Error {
    Error::Checkpoint { path: PathBuf::new(), reason: format!("optimizer state: {reason}") }
}

/// The per-parameter buffers of an optimiser, `N` per parameter (Adam's `exp_avg` and
/// `exp_avg_sq`), in the order of [`Params::for_each_param_mut`].
///
/// They are created, zeroed, on the first step, and never reallocated after it. A
/// state loaded before the first step is matched to the parameters by key then.
#[derive(Debug, Clone)]
struct ParamBuffers<F, const N: usize> {
    /// The buffers' names, as in the state's keys (`exp_avg.0.weight`).
    names: [&'static str; N],
    slots: Vec<Slot<F, N>>,
    /// Whether `slots` follow the visit order (not after [`ParamBuffers::load`]).
    in_visit_order: bool,
}

/// One parameter's buffers, each of its shape.
#[derive(Debug, Clone)]
struct Slot<F, const N: usize> {
    key: String,
    buffers: [ArrayD<F>; N],
}

impl<F: Float, const N: usize> ParamBuffers<F, N> {
    fn new(names: [&'static str; N]) -> Self {
        ParamBuffers { names, slots: Vec::new(), in_visit_order: true }
    }

    /// Calls `update(value, grad, buffers, fresh)` for every trainable parameter, where
    /// `fresh` says that its buffers were just created (zeroed) on this first step.
    ///
    /// # Panics
    /// If the buffers were made for (or loaded from) another model: a missing or extra
    /// parameter, or another shape. [`OptimizerState::check_fits`] reports it as an error.
    fn for_each<P: Params<F> + ?Sized>(
        &mut self,
        model: &mut P,
        mut update: impl FnMut(ArrayViewMutD<'_, F>, ArrayViewMutD<'_, F>, &mut [ArrayD<F>; N], bool),
    ) {
        let fresh = self.slots.is_empty();
        let reorder = !self.in_visit_order;
        let mut index = 0;
        model.for_each_param_mut(&mut |key, value, grad| {
            if fresh {
                let buffers = std::array::from_fn(|_| ArrayD::zeros(value.raw_dim()));
                self.slots.push(Slot { key: key.to_owned(), buffers });
            } else if reorder {
                if let Some(offset) = self.slots.iter().skip(index).position(|slot| slot.key == key) {
                    self.slots.swap(index, index + offset);
                }
            }
            let slot = match self.slots.get_mut(index) {
                Some(slot) if slot.key == key => slot,
                _ => panic!("optimizer state does not fit the model: it has no buffers for the parameter `{key}`"),
            };
            for (name, buffer) in self.names.iter().zip(&slot.buffers) {
                assert_eq!(
                    buffer.shape(),
                    value.shape(),
                    "optimizer state does not fit the model: `{name}.{key}` differs in shape from its parameter"
                );
            }
            update(value, grad, &mut slot.buffers, fresh);
            index += 1;
        });
        if let Some(extra) = self.slots.get(index) {
            panic!("optimizer state does not fit the model: it has buffers for `{}`, not a parameter", extra.key);
        }
        self.in_visit_order = true;
    }

    /// Every buffer, named `<buffer>.<parameter key>`, parameter by parameter.
    fn tensors(&self) -> Vec<(String, ArrayD<F>)> {
        let named = |slot: &Slot<F, N>| {
            self.names
                .iter()
                .zip(&slot.buffers)
                .map(|(name, b)| (format!("{name}.{}", slot.key), b.clone()))
                .collect::<Vec<_>>()
        };
        self.slots.iter().flat_map(named).collect()
    }

    /// Replaces the buffers by those of a saved state, in any order, after checking that
    /// each parameter has every buffer exactly once and all of one shape. They are matched
    /// to the model's parameters by key on the next step.
    fn load(&mut self, step: u64, tensors: Vec<(String, ArrayD<F>)>) -> Result<(), Error> {
        if step > 0 && tensors.is_empty() {
            return Err(state_error(format!("step {step} but no {} buffers", self.names.join("/"))));
        }
        let mut gathered: Vec<(String, [Option<ArrayD<F>>; N])> = Vec::new();
        for (name, tensor) in tensors {
            let Some((buffer, key)) = name
                .split_once('.')
                .and_then(|(buffer, key)| Some((self.names.iter().position(|known| *known == buffer)?, key)))
            else {
                let expected = self.names.map(|known| format!("`{known}.<parameter>`")).join(" or ");
                return Err(state_error(format!("unexpected tensor `{name}`, expected {expected}")));
            };
            let index = match gathered.iter().position(|(known, _)| known == key) {
                Some(index) => index,
                None => {
                    gathered.push((key.to_owned(), std::array::from_fn(|_| None)));
                    gathered.len() - 1
                }
            };
            let slot = &mut gathered[index].1;
            if let Some(other) = slot.iter().flatten().find(|other| other.shape() != tensor.shape()) {
                return Err(state_error(format!(
                    "`{name}` has shape {:?}, other buffers of `{key}` have {:?}",
                    tensor.shape(),
                    other.shape()
                )));
            }
            if slot[buffer].replace(tensor).is_some() {
                return Err(state_error(format!("`{name}` appears twice")));
            }
        }
        let mut slots = Vec::with_capacity(gathered.len());
        for (key, buffers) in gathered {
            if let Some(missing) = buffers.iter().position(Option::is_none) {
                return Err(state_error(format!("`{}.{key}` is missing", self.names[missing])));
            }
            // Every buffer is present (checked just above): the default is never taken.
            slots.push(Slot { key, buffers: buffers.map(Option::unwrap_or_default) });
        }
        self.slots = slots;
        self.in_visit_order = false;
        Ok(())
    }
}

/// A tiny hand-written model for the optimiser tests: named tensors with gradients.
#[cfg(test)]
pub(crate) mod testing {
    use ndarray::{ArrayD, IxDyn};

    use super::Optimizer;
    use crate::{Entry, EntryMut, Float, Params};

    /// Parameters `(key, value, grad)`, visited in order.
    pub struct Toy<F>(pub Vec<(&'static str, ArrayD<F>, ArrayD<F>)>);

    impl<F: Float> Toy<F> {
        /// Parameters `0.weight` of shape `[2]` and `0.bias` of shape `[1]`, from `[w0, w1, b0]`.
        pub fn new(values: [f64; 3]) -> Self {
            let mut toy = Toy(vec![
                ("0.weight", ArrayD::zeros(IxDyn(&[2])), ArrayD::zeros(IxDyn(&[2]))),
                ("0.bias", ArrayD::zeros(IxDyn(&[1])), ArrayD::zeros(IxDyn(&[1]))),
            ]);
            fill(toy.0.iter_mut().map(|(_, value, _)| value), values);
            toy
        }

        /// Sets the gradients from `[w0, w1, b0]`.
        pub fn set_grads(&mut self, grads: [f64; 3]) {
            fill(self.0.iter_mut().map(|(_, _, grad)| grad), grads);
        }

        /// The values `[w0, w1, b0]`.
        pub fn values(&self) -> Vec<f64> {
            self.0.iter().flat_map(|(_, value, _)| value.iter().map(|&v| Float::to_f64(v))).collect()
        }
    }

    /// Writes `numbers` into the elements of `arrays`, in order.
    fn fill<'a, F: Float>(arrays: impl Iterator<Item = &'a mut ArrayD<F>>, numbers: [f64; 3]) {
        arrays.flat_map(|array| array.iter_mut()).zip(numbers).for_each(|(x, n)| *x = F::of(n));
    }

    impl<F: Float> Params<F> for Toy<F> {
        fn visit(&self, visitor: &mut dyn FnMut(&str, Entry<'_, F>)) {
            for (key, value, grad) in &self.0 {
                visitor(key, Entry::Param { value: value.view(), grad: grad.view() });
            }
        }

        fn visit_mut(&mut self, visitor: &mut dyn FnMut(&str, EntryMut<'_, F>)) {
            for (key, value, grad) in &mut self.0 {
                visitor(key, EntryMut::Param { value: value.view_mut(), grad: grad.view_mut() });
            }
        }
    }

    /// Gradients of `[w0, w1, b0]` for three steps of [`assert_steps`].
    pub const GRADS: [[f64; 3]; 3] = [[0.5, -1.0, 2.0], [0.1, 0.3, -0.7], [-0.4, 0.9, 0.05]];

    /// Runs three steps of `opt` on [`Toy`] from `[1, -2, 0.5]` with [`GRADS`] and compares
    /// the values after each step with a row of `expected`.
    pub fn assert_steps<O: Optimizer<f64>>(mut opt: O, expected: [[f64; 3]; 3]) {
        let mut toy = Toy::new([1.0, -2.0, 0.5]);
        for (grads, want) in GRADS.into_iter().zip(expected) {
            toy.set_grads(grads);
            opt.step(&mut toy);
            assert_close(&toy.values(), &want, 1e-14);
        }
    }

    /// Runs optimiser A for two steps, loads its state into a fresh B, runs both one more
    /// step on equal parameters, and asserts equal parameters and states after it.
    pub fn assert_state_round_trips<O: Optimizer<f64>>(make: impl Fn() -> O) {
        let (mut a, mut b) = (make(), make());
        let mut model_a = Toy::new([1.0, -2.0, 0.5]);
        for grads in &GRADS[..2] {
            model_a.set_grads(*grads);
            a.step(&mut model_a);
        }
        b.load_state(a.state()).expect("a state saved by the same optimiser loads");
        assert_eq!(b.state(), a.state());
        let mut model_b = Toy(model_a.0.clone());
        for model in [&mut model_a, &mut model_b] {
            model.set_grads(GRADS[2]);
        }
        a.step(&mut model_a);
        b.step(&mut model_b);
        assert_eq!(model_a.values(), model_b.values());
        assert_eq!(b.state(), a.state());
        assert_eq!(a.state().step, 3);
    }

    /// Asserts `actual ≈ expected` within `tolerance · (1 + |expected|)`, elementwise.
    pub fn assert_close(actual: &[f64], expected: &[f64], tolerance: f64) {
        assert_eq!(actual.len(), expected.len());
        for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
            assert!((a - e).abs() <= tolerance * (1.0 + e.abs()), "element {i}: {a} vs expected {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::Toy;
    use super::*;
    use ndarray::IxDyn;

    /// Named tensor shapes of a state, and the message loading or checking them gives.
    type Case = (&'static [(&'static str, &'static [usize])], &'static str);

    fn state(tensors: &[(&str, &[usize])]) -> OptimizerState<f64> {
        let tensors = tensors.iter().map(|(name, shape)| (name.to_string(), ArrayD::zeros(IxDyn(shape)))).collect();
        OptimizerState { step: 1, tensors }
    }

    fn reason(result: Result<(), Error>) -> String {
        match result {
            Err(Error::Checkpoint { reason, .. }) => reason,
            other => panic!("expected a checkpoint error, got {other:?}"),
        }
    }

    #[test]
    fn load_rejects_malformed_states() {
        let mut buffers = ParamBuffers::<f64, 2>::new(["exp_avg", "exp_avg_sq"]);
        let load = |buffers: &mut ParamBuffers<f64, 2>, s: OptimizerState<f64>| buffers.load(s.step, s.tensors);
        let cases: [Case; 5] = [
            (&[("momentum_buffer.0.weight", &[2])], "unexpected tensor `momentum_buffer.0.weight`"),
            (&[("exp_avg.0.weight", &[2]), ("exp_avg_sq.0.weight", &[3])], "`exp_avg_sq.0.weight` has shape [3]"),
            (&[("exp_avg.0.weight", &[2]), ("exp_avg.0.weight", &[2])], "`exp_avg.0.weight` appears twice"),
            (&[("exp_avg.0.weight", &[2])], "`exp_avg_sq.0.weight` is missing"),
            (&[], "step 1 but no exp_avg/exp_avg_sq buffers"),
        ];
        for (tensors, message) in cases {
            let got = reason(load(&mut buffers, state(tensors)));
            assert!(got.contains(message), "{got:?} should contain {message:?}");
        }
    }

    #[test]
    fn check_fits_names_the_mismatch() {
        let toy = Toy::<f64>::new([0.0; 3]);
        let fits = state(&[("exp_avg.0.bias", &[1]), ("exp_avg.0.weight", &[2])]);
        assert!(fits.check_fits(&toy).is_ok());
        assert!(state(&[]).check_fits(&toy).is_ok());
        let cases: [Case; 3] = [
            (&[("exp_avg.0.weight", &[2]), ("exp_avg.1.bias", &[1])], "`exp_avg.1.bias` belongs to no parameter"),
            (&[("exp_avg.0.weight", &[3]), ("exp_avg.0.bias", &[1])], "the parameter `0.weight` has [2]"),
            (&[("exp_avg.0.weight", &[2])], "no buffers for the parameter `0.bias`"),
        ];
        for (tensors, message) in cases {
            let got = reason(state(tensors).check_fits(&toy));
            assert!(got.contains(message), "{got:?} should contain {message:?}");
        }
    }

    #[test]
    fn loaded_buffers_are_matched_by_key_in_any_order() {
        let mut buffers = ParamBuffers::<f64, 1>::new(["momentum_buffer"]);
        let mut tensors = vec![
            ("momentum_buffer.0.bias".to_string(), ArrayD::from_elem(IxDyn(&[1]), 3.0)),
            ("momentum_buffer.0.weight".to_string(), ArrayD::from_elem(IxDyn(&[2]), 1.0)),
        ];
        buffers.load(1, tensors.clone()).unwrap();
        let mut seen = Vec::new();
        buffers.for_each(&mut Toy::<f64>::new([0.0; 3]), |_, _, [buffer], fresh| {
            assert!(!fresh);
            seen.extend(buffer.iter().copied());
        });
        assert_eq!(seen, [1.0, 1.0, 3.0]);
        tensors.reverse();
        assert_eq!(buffers.tensors(), tensors);
    }

    #[test]
    #[should_panic(expected = "it has no buffers for the parameter `0.bias`")]
    fn step_panics_on_a_state_of_another_model() {
        let mut buffers = ParamBuffers::<f64, 1>::new(["momentum_buffer"]);
        buffers.load(1, vec![("momentum_buffer.0.weight".to_string(), ArrayD::zeros(IxDyn(&[2])))]).unwrap();
        buffers.for_each(&mut Toy::<f64>::new([0.0; 3]), |_, _, _, _| {});
    }

    /// Steps `opt` once with unit gradients, then `steps` times with zero gradients, and
    /// returns its state's elements.
    fn state_after_zero_gradients<O: Optimizer<f32>>(mut opt: O, steps: usize) -> Vec<f32> {
        let mut toy = Toy::<f32>::new([1.0, -2.0, 0.5]);
        toy.set_grads([1.0; 3]);
        opt.step(&mut toy);
        toy.set_grads([0.0; 3]);
        (0..steps).for_each(|_| opt.step(&mut toy));
        opt.state().tensors.iter().flat_map(|(_, tensor)| tensor.iter().copied().collect::<Vec<_>>()).collect()
    }

    #[test]
    fn buffers_of_zero_gradients_decay_to_zero_not_to_subnormals() {
        // 0.9ⁿ takes a buffer of 0.1 or 1 below f32's smallest normal in about 830 steps;
        // rounding alone would then hold it at a few subnormal units forever.
        let sgd = state_after_zero_gradients(Sgd::new(0.1).momentum(0.9), 1500);
        let adam = state_after_zero_gradients(Adam::new(0.1), 1500);
        for (name, state) in [("Sgd momentum_buffer", &sgd), ("Adam exp_avg and exp_avg_sq", &adam)] {
            assert!(state.iter().all(|&x| x == 0.0 || x.is_normal()), "{name} holds a subnormal: {state:?}");
        }
        assert!(sgd.iter().all(|&b| b == 0.0), "momentum buffers decayed to zero: {sgd:?}");
        let exp_avg = &adam[..2].iter().chain(&adam[4..5]).copied().collect::<Vec<_>>();
        assert!(exp_avg.iter().all(|&m| m == 0.0), "exp_avg decayed to zero: {adam:?}");
    }
}
