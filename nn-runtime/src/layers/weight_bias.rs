//! The parameter plumbing `Linear` and `Conv2d` share: a weight of any rank and an
//! optional bias, each visited with its gradient under its state-dict key.

use ndarray::{Array, Array1, Dimension};

use crate::params::{Entry, EntryMut};
use crate::Float;

/// Visits `weight` then, if present, `bias` (each `(value, grad)`) under `keys`.
pub(crate) fn visit<F: Float, D: Dimension>(
    keys: [&str; 2],
    (weight, weight_grad): (&Array<F, D>, &Array<F, D>),
    bias: Option<(&Array1<F>, &Array1<F>)>,
    visitor: &mut dyn FnMut(&str, Entry<'_, F>),
) {
    visitor(keys[0], Entry::Param { value: weight.view().into_dyn(), grad: weight_grad.view().into_dyn() });
    if let Some((bias, grad)) = bias {
        visitor(keys[1], Entry::Param { value: bias.view().into_dyn(), grad: grad.view().into_dyn() });
    }
}

/// Writable counterpart of [`visit`].
pub(crate) fn visit_mut<F: Float, D: Dimension>(
    keys: [&str; 2],
    (weight, weight_grad): (&mut Array<F, D>, &mut Array<F, D>),
    bias: Option<(&mut Array1<F>, &mut Array1<F>)>,
    visitor: &mut dyn FnMut(&str, EntryMut<'_, F>),
) {
    visitor(keys[0], EntryMut::Param { value: weight.view_mut().into_dyn(), grad: weight_grad.view_mut().into_dyn() });
    if let Some((bias, grad)) = bias {
        visitor(keys[1], EntryMut::Param { value: bias.view_mut().into_dyn(), grad: grad.view_mut().into_dyn() });
    }
}

/// Copies a bias into a frozen layer's array, when both exist.
pub(crate) fn freeze_bias<F: Float>(bias: Option<&Array1<F>>, frozen: Option<&mut [F]>) {
    if let (Some(src), Some(dst)) = (bias, frozen) {
        for (d, &s) in dst.iter_mut().zip(src) {
            *d = s;
        }
    }
}
