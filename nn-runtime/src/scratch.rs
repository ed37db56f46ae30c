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
/// The buffer is taken out of `key` while `f` runs, and put back after, so that a call
/// made inside `f` on the same thread — as when `f` waits for a rayon job and the thread
/// runs another task meanwhile — gets a buffer of its own (a fresh one: of the two, the
/// longer is kept).
pub(crate) fn with_scratch<F: Float, const N: usize, R>(
    key: &'static LocalKey<RefCell<Scratch>>,
    lens: [usize; N],
    f: impl FnOnce([&mut [F]; N]) -> R,
) -> R {
    let mut buffer = key.with_borrow_mut(|buffers| core::mem::take(slot::<F>(buffers)));
    let total = lens.iter().sum();
    if buffer.len() < total {
        buffer.resize(total, F::zero());
    }
    let mut rest = &mut buffer[..];
    let result = f(lens.map(|len| {
        let (slice, tail) = core::mem::take(&mut rest).split_at_mut(len);
        rest = tail;
        slice
    }));
    key.with_borrow_mut(|buffers| {
        let kept = slot::<F>(buffers);
        if kept.len() < buffer.len() {
            *kept = buffer;
        }
    });
    result
}

/// The buffer of `F` in `buffers`, added empty if there is none yet.
fn slot<F: Float>(buffers: &mut Scratch) -> &mut Vec<F> {
    let index = match buffers.iter().position(|buffer| buffer.is::<Vec<F>>()) {
        Some(index) => index,
        None => {
            buffers.push(Box::new(Vec::<F>::new()));
            buffers.len() - 1
        }
    };
    buffers[index].downcast_mut::<Vec<F>>().expect("found by its type")
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        static KEY: RefCell<Scratch> = const { RefCell::new(Vec::new()) };
    }

    /// A call inside another on the same key (what a thread waiting for a rayon job does
    /// when it runs another task) gets its own buffer, and the longer buffer is kept.
    #[test]
    fn nested_calls_get_buffers_of_their_own() {
        with_scratch(&KEY, [3], |[outer]: [&mut [f32]; 1]| {
            outer.fill(1.0);
            with_scratch(&KEY, [5], |[inner]: [&mut [f32]; 1]| inner.fill(2.0));
            assert_eq!(outer, [1.0; 3], "the inner call did not write the outer one's buffer");
        });
        with_scratch(&KEY, [5], |[again]: [&mut [f32]; 1]| assert_eq!(again, [2.0; 5], "the longer buffer is kept"));
        with_scratch(&KEY, [2], |[other]: [&mut [f64]; 1]| assert_eq!(other, [0.0; 2], "one buffer per type"));
    }
}
