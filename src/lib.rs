//! # nn — neural networks declared in Rust source, checked and unrolled at compile time
//!
//! ```
//! use nn::prelude::*;
//!
//! network! {
//!     /// The classic MNIST classifier.
//!     pub struct Mlp {
//!         Linear(784, 256) -> ReLU -> Linear(256, 10)
//!     }
//! }
//! # fn main() {}
//! ```
//!
//! `network!` checks every shape while it expands and generates a struct with
//! statically sized layers, straight-line forward and backward code, and a frozen
//! `no_std` copy for inference. This crate is the facade: it re-exports the macro,
//! the runtime and the crates whose versions a user must match.
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]

pub use nn_macros::network;
pub use nn_runtime::*;

/// Everything a model declaration and a training loop need, in one import.
pub mod prelude {
    pub use crate::network;
    pub use nn_runtime::{Chain, Float, Network};

    #[cfg(feature = "std")]
    pub use nn_runtime::{loss::*, optim::*, Model, Params};
}
