//! A named walk over a model's tensors: optimisers, `zero_grad`, save and load all use it.

use ndarray::{ArrayViewD, ArrayViewMutD};

use crate::Float;

/// One tensor of a model, read-only, as [`Params::visit`] hands it out.
pub enum Entry<'a, F> {
    /// A trainable parameter and its accumulated gradient.
    Param {
        /// The current value.
        value: ArrayViewD<'a, F>,
        /// d loss / d value, accumulated since the last `zero_grad`.
        grad: ArrayViewD<'a, F>,
    },
    /// A float buffer that is saved but not trained (BatchNorm's running statistics).
    Buffer(ArrayViewD<'a, F>),
    /// An integer counter that is saved but not trained (`num_batches_tracked`).
    Count(i64),
}

/// One tensor of a model, writable, as [`Params::visit_mut`] hands it out.
pub enum EntryMut<'a, F> {
    /// A trainable parameter and its accumulated gradient.
    Param {
        /// The current value.
        value: ArrayViewMutD<'a, F>,
        /// d loss / d value, accumulated since the last `zero_grad`.
        grad: ArrayViewMutD<'a, F>,
    },
    /// A float buffer that is saved but not trained.
    Buffer(ArrayViewMutD<'a, F>),
    /// An integer counter that is saved but not trained.
    Count(&'a mut i64),
}

/// The callback of [`Params::for_each_param_mut`]: `(key, value, grad)`.
pub type ParamUpdate<'f, F> = dyn FnMut(&str, ArrayViewMutD<'_, F>, ArrayViewMutD<'_, F>) + 'f;

/// A named visit over every tensor of a model, in PyTorch `state_dict` order and
/// with PyTorch's keys (`0.weight`, `fc1.bias`, `features.0.weight`, ...).
pub trait Params<F: Float> {
    /// Calls `visitor` with each tensor's key and a read-only view.
    fn visit(&self, visitor: &mut dyn FnMut(&str, Entry<'_, F>));
    /// Calls `visitor` with each tensor's key and a writable view.
    fn visit_mut(&mut self, visitor: &mut dyn FnMut(&str, EntryMut<'_, F>));

    /// Calls `update(key, value, grad)` for each trainable parameter, in order.
    fn for_each_param_mut(&mut self, update: &mut ParamUpdate<'_, F>) {
        self.visit_mut(&mut |name, entry| {
            if let EntryMut::Param { value, grad } = entry {
                update(name, value, grad);
            }
        });
    }

    /// Sets every gradient to zero.
    fn zero_grads(&mut self) {
        self.for_each_param_mut(&mut |_, _, mut grad| grad.fill(F::zero()));
    }

    /// Number of trainable scalars.
    fn num_params(&self) -> usize {
        let mut count = 0;
        self.visit(&mut |_, entry| {
            if let Entry::Param { value, .. } = entry {
                count += value.len();
            }
        });
        count
    }
}
