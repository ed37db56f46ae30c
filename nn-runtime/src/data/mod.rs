//! Data loading: IDX files, MNIST, and batches of any labelled dataset, shuffled
//! anew every epoch from a seed.

mod dataset;
pub mod idx;
mod mnist;

pub use dataset::{Batches, DataLoader, Dataset};
pub use idx::{read_idx, Idx};
pub use mnist::{Mnist, TrainTest};
