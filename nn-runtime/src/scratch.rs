//! Per-thread scratch buffers that outlive a call: what one call leaves, the next reuses,
//! so kernels that need working memory allocate only until their buffers have grown.

use std::any::Any;
use std::cell::RefCell;
use std::thread::LocalKey;

use crate::Float;

/// One thread's scratch: a `Vec<F>` per scalar type `F`, created on first use.
pub(crate) type Scratch = Vec<Box<dyn Any>>;

/// Calls `f` with the scratch for `F` behind `key`, cut into slices of the lengths
/// `lens`; their contents are whatever the previous call left.
///
/// # Panics
/// If `f` uses the same `key` again (each kernel that nests in another has its own).
pub(crate) fn with_scratch<F: Float, const N: usize, R>(
    key: &'static LocalKey<RefCell<Scratch>>,
    lens: [usize; N],
    f: impl FnOnce([&mut [F]; N]) -> R,
) -> R {
    key.with_borrow_mut(|buffers| {
        let index = match buffers.iter().position(|buffer| buffer.is::<Vec<F>>()) {
            Some(index) => index,
            None => {
                buffers.push(Box::new(Vec::<F>::new()));
                buffers.len() - 1
            }
        };
        let buffer = buffers[index].downcast_mut::<Vec<F>>().expect("found by its type");
        let total = lens.iter().sum();
        if buffer.len() < total {
            buffer.resize(total, F::zero());
        }
        let mut rest = &mut buffer[..];
        f(lens.map(|len| {
            let (slice, tail) = core::mem::take(&mut rest).split_at_mut(len);
            rest = tail;
            slice
        }))
    })
}
