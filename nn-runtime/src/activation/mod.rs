//! Elementwise activations as scalar functions: each file holds `f` and its
//! derivative `df` side by side. The ndarray training kernels
//! ([`crate::layers::activation`]) and the frozen kernels ([`crate::frozen`]) both
//! call these, so training and inference compute the same numbers.

mod gelu;
mod leaky_relu;
mod relu;
mod sigmoid;
mod tanh;

pub use gelu::Gelu;
pub use leaky_relu::LeakyRelu;
pub use relu::Relu;
pub use sigmoid::Sigmoid;
pub use tanh::Tanh;

use crate::Float;

/// An elementwise activation `y = f(x)` and its derivative.
pub trait Activation<F: Float>: Copy {
    /// Whether [`Activation::df`] is computed from the output `y` (true) or the input `x`.
    ///
    /// Reading the output lets the forward pass overwrite its input in place.
    const DF_FROM_OUTPUT: bool;
    /// The activation.
    fn f(self, x: F) -> F;
    /// `dy/dx`, given `y` when [`Activation::DF_FROM_OUTPUT`] holds and `x` otherwise.
    fn df(self, saved: F) -> F;
}
