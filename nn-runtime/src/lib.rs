//! Runtime of `nn`: the pieces that `network!`-generated code calls.
//!
//! Without the `std` feature this crate is `#![no_std]` and needs no allocator: it
//! holds the [`Float`] trait, the [`Network`] shape trait, the [`frozen`] and [`int8`]
//! inference kernels and the [`arena`] their activations live in ([`Scratch`] and the
//! compile-time planner). With `std` it adds ndarray training kernels ([`layers`]),
//! losses ([`loss`]), optimisers ([`optim`]), weight files ([`io`]) and data loading
//! ([`data`]): all that `network!`-generated code calls. The `train` feature adds the
//! training loop (`train`: trainer, checkpoints, progress bar, plot) and with it the
//! indicatif and plotters dependencies. Both are on by default.
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]

pub mod activation;
pub mod arena;
mod float;
pub mod frozen;
pub mod int8;
mod network;

pub use arena::Scratch;
pub use float::Float;
pub use rand;
pub use typenum;

#[cfg(feature = "std")]
pub use ndarray;
pub use network::{assert_produces_output, assert_takes_input, Chain, Feeds, Network, ProducesOutput, TakesInput};

#[cfg(feature = "std")]
mod chain;
#[cfg(feature = "std")]
pub mod data;
#[cfg(feature = "std")]
mod error;
#[cfg(feature = "std")]
pub mod gemm;
#[cfg(feature = "std")]
pub mod io;
#[cfg(feature = "std")]
pub mod layers;
#[cfg(feature = "std")]
pub mod loss;
#[cfg(feature = "std")]
mod model;
#[cfg(feature = "std")]
pub mod optim;
#[cfg(feature = "std")]
mod params;
#[cfg(feature = "std")]
mod scratch;
#[cfg(feature = "std")]
mod simd;
#[cfg(feature = "train")]
pub mod train;

#[cfg(feature = "std")]
pub use error::Error;
#[cfg(feature = "std")]
pub use model::{check_batch, taped_train_step, Model, TapedWorkspace};
#[cfg(feature = "std")]
pub use params::{Entry, EntryMut, ParamUpdate, Params};

/// Expands its input only when `nn-runtime` has the `std` feature: `network!` wraps
/// every training item in it, so one declaration builds for a host and a firmware.
#[cfg(feature = "std")]
#[doc(hidden)]
#[macro_export]
macro_rules! __std_only {
    ($($item:tt)*) => { $($item)* };
}

/// Expands its input only when `nn-runtime` has the `std` feature (here it has not).
#[cfg(not(feature = "std"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __std_only {
    ($($item:tt)*) => {};
}

/// Expands its input only without the `std` feature: the `no_std` stand-ins of training items.
#[cfg(feature = "std")]
#[doc(hidden)]
#[macro_export]
macro_rules! __no_std_only {
    ($($item:tt)*) => {};
}

/// Expands its input only without the `std` feature (here it is missing, so it expands).
#[cfg(not(feature = "std"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __no_std_only {
    ($($item:tt)*) => { $($item)* };
}

#[cfg(all(test, feature = "std"))]
mod finite_diff;
