//! The one error type of the runtime: every bad input a caller can hand us.

use std::path::PathBuf;

/// Everything that can go wrong at run time: bad shapes, bad files, bad numbers.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A batch or tensor whose shape differs from what the network declares.
    #[error("{what}: expected shape {expected:?}, found {found:?}")]
    Shape {
        /// What was being checked (e.g. `"Mlp input"`).
        what: String,
        /// The shape the declaration requires (`0` stands for any batch size).
        expected: Vec<usize>,
        /// The shape that was passed.
        found: Vec<usize>,
    },
    /// A layer built from arguments that do not fit together, such as `groups` that do
    /// not divide a convolution's channels, or a weight of the wrong shape for it.
    #[error("{layer}: {reason}")]
    InvalidLayer {
        /// The layer, as it would be declared (e.g. `"Conv2d(6, 9, (3, 3), groups = 4)"`).
        layer: String,
        /// What does not fit.
        reason: String,
    },
    /// The operating system refused a read or write.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A weight file that is not valid safetensors (corrupt or truncated).
    #[error("{}: not a valid safetensors file: {reason}", path.display())]
    WeightFormat {
        /// The weight file.
        path: PathBuf,
        /// What the parser found wrong.
        reason: String,
    },
    /// A tensor the network needs is absent from the weight file.
    #[error("{}: missing tensor `{name}`", path.display())]
    MissingTensor {
        /// The weight file.
        path: PathBuf,
        /// The state-dict key that was not found.
        name: String,
    },
    /// The weight file holds a tensor the network does not have.
    #[error("{}: unexpected tensor `{name}` (the network has no such parameter)", path.display())]
    UnexpectedTensor {
        /// The weight file.
        path: PathBuf,
        /// The state-dict key that is not part of the network.
        name: String,
    },
    /// A tensor of the right name but the wrong shape.
    #[error("{}: tensor `{name}` has shape {found:?}, the network expects {expected:?}", path.display())]
    TensorShape {
        /// The weight file.
        path: PathBuf,
        /// The state-dict key.
        name: String,
        /// The shape the network declares.
        expected: Vec<usize>,
        /// The shape in the file.
        found: Vec<usize>,
    },
    /// A tensor of the right name but a dtype the network cannot hold.
    #[error("{}: tensor `{name}` has dtype {found}, expected {expected}", path.display())]
    TensorDtype {
        /// The weight file.
        path: PathBuf,
        /// The state-dict key.
        name: String,
        /// The dtype the network needs.
        expected: String,
        /// The dtype in the file.
        found: String,
    },
    /// A tensor whose values a model cannot hold: NaN, ±inf, an f64 beyond f32's range,
    /// a negative variance or batch count, an int8 zero point outside −128..=127, a
    /// scale that is not positive and finite.
    #[error("{}: tensor `{name}` {reason}", path.display())]
    TensorValue {
        /// The weight file.
        path: PathBuf,
        /// The state-dict key.
        name: String,
        /// Which value is wrong, and why.
        reason: String,
    },
    /// Tensors that cannot be written as one weight file (two of one name, or data
    /// that does not match the shape).
    #[error("{}: cannot save: {reason}", path.display())]
    InvalidTensors {
        /// The weight file that was not written.
        path: PathBuf,
        /// What is wrong with the tensors.
        reason: String,
    },
    /// A data file (IDX, dataset) that is missing, truncated or malformed.
    #[error("{}: {reason}", path.display())]
    Data {
        /// The data file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Inputs and labels that do not belong together (e.g. different counts).
    #[error("invalid dataset: {0}")]
    Dataset(String),
    /// A checkpoint that does not fit the model or optimiser being resumed.
    #[error("{}: invalid checkpoint: {reason}", path.display())]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// What does not fit.
        reason: String,
    },
    /// The training loss became NaN or infinite.
    #[error("loss became {value} at epoch {epoch}, step {step}; training stopped")]
    NonFiniteLoss {
        /// 1-based epoch.
        epoch: usize,
        /// 1-based step within the epoch.
        step: usize,
        /// The offending loss value.
        value: f64,
    },
    /// A parameter, buffer or optimiser tensor became NaN or infinite: the checkpoint
    /// (or weight file) is not written, so the last good one stays in place.
    #[error("`{name}` holds {value} after epoch {epoch}; the checkpoint was not written, the previous one is kept")]
    NonFiniteParameter {
        /// The tensor's key in the checkpoint (`model.0.weight`, `optim.exp_avg.0.weight`).
        name: String,
        /// Completed epochs at the failed save.
        epoch: usize,
        /// The first non-finite value found.
        value: f64,
    },
    /// BatchNorm in training was given one value per channel, which PyTorch refuses with
    /// `ValueError: Expected more than 1 value per channel when training`.
    #[error("BatchNorm in training needs more than 1 value per channel, but {reason}")]
    SingleValueBatch {
        /// Which batch holds a single sample, and how to avoid it.
        reason: String,
    },
    /// A training option outside the range it allows.
    #[error("invalid `{option}`: {reason}")]
    InvalidOption {
        /// The option (`batch_size`, ...).
        option: String,
        /// The value given and the range allowed.
        reason: String,
    },
    /// A plot could not be drawn or written.
    #[error("{}: cannot draw plot: {reason}", path.display())]
    Plot {
        /// The image file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A matrix-product kernel that does not exist or that this CPU cannot run.
    #[error("gemm kernel `{name}`: {reason}")]
    Kernel {
        /// The kernel asked for (`NN_GEMM_KERNEL`'s value, or a name).
        name: String,
        /// Why it cannot be used.
        reason: String,
    },
}
