//! Training kernels over ndarray batches, one file per layer: forward and backward
//! side by side, tests at the bottom.

pub mod activation;
pub mod adaptive_avg_pool;
pub mod batch_norm;
pub mod conv2d;
pub mod dropout;
pub mod flatten;
pub mod fold_batch_norm;
pub mod linear;
pub mod pool;
pub mod softmax;
mod weight_bias;
pub mod zero_pad;

pub use batch_norm::{BatchNorm, BatchNormCache};
pub use conv2d::{Conv2d, Conv2dSpec};
pub use dropout::DropoutRng;
pub use linear::{Gradients, Linear};
pub use pool::MaxPoolIndices;
