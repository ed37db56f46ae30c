//! Frozen inference kernels over fixed-size arrays: no heap, no `std`, the same code
//! on a host and on a microcontroller (so their results are bit-identical).
//!
//! `network!` emits a `XFrozen` struct whose `infer` calls these once per layer.

mod adaptive_avg_pool;
mod batch_norm;
mod conv2d;
mod dense;
mod pool;
mod zero_pad;

pub use adaptive_avg_pool::adaptive_avg_pool2d_into;
pub use batch_norm::{batch_norm1d, batch_norm2d, batch_norm_scale_shift};
pub use conv2d::{conv2d_into, window_output};
pub use dense::dense_into;
pub use pool::{avg_pool2d_into, max_pool2d_into};
pub use zero_pad::zero_pad2d_into;

pub(crate) use conv2d::output_len;
// Shared with the training kernels in `layers`.
#[cfg(feature = "std")]
pub(crate) use {
    adaptive_avg_pool::{adaptive_avg_pool_plane, adaptive_window},
    conv2d::Window,
    pool::{avg_pool_plane, max_pool_plane},
};

use crate::activation::Activation;
use crate::Float;

/// Applies an activation to every element of `x` in place.
#[inline]
pub fn activate<F: Float>(act: impl Activation<F>, x: &mut [F]) {
    for v in x {
        *v = act.f(*v);
    }
}

/// Softmax in place, shifted by the maximum so that logits of ±1e4 stay finite.
/// `exp` is `libm`'s, on every target.
pub fn softmax_in_place<F: Float>(x: &mut [F]) {
    let max = x.iter().copied().fold(F::neg_infinity(), F::max);
    let mut total = F::zero();
    for v in x.iter_mut() {
        *v = (*v - max).exp_libm();
        total += *v;
    }
    for v in x.iter_mut() {
        *v /= total;
    }
}

/// A heap-allocated, zero-filled `T` built without touching the stack, for frozen
/// models too large for it.
///
/// # Safety
/// All-zero bytes must be a valid `T`, as they are for arrays of `f32`/`f64`.
#[cfg(feature = "std")]
#[doc(hidden)]
pub unsafe fn zeroed_box<T>() -> Box<T> {
    // SAFETY: the caller guarantees that all-zero bytes are a valid `T`.
    unsafe { Box::<T>::new_zeroed().assume_init() }
}

/// `y += x` elementwise: the skip connection of `Residual`.
#[inline]
pub fn add_in_place<F: Float>(y: &mut [F], x: &[F]) {
    for (y, &x) in y.iter_mut().zip(x) {
        *y += x;
    }
}
