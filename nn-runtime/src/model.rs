//! What the trainer needs of a network: the trait every `network!` struct implements.

use std::path::Path;

use ndarray::{Array, ArrayView, CowArray, Dimension};

use crate::{Error, Float, Params};

/// A trainable network: forward, taped forward, backward, and its weight files.
///
/// `network!` implements it by delegating to the struct's inherent methods of the
/// same names (DESIGN §4); generic code such as [`crate::train`] and [`crate::Chain`]
/// goes through this trait.
pub trait Model<F: Float>: Params<F> + Sized {
    /// The batch dimension of inputs: `Ix2` ([batch, features]) or `Ix4` ([batch, C, H, W]).
    type InputDim: Dimension;
    /// The batch dimension of outputs.
    type OutputDim: Dimension;
    /// What `backward` needs from `forward_train`; it may borrow the batch.
    type Tape<'a>;

    /// A freshly initialised network (PyTorch's default init).
    fn init<R: rand::Rng + ?Sized>(rng: &mut R) -> Self;
    /// Inference: dropout off, BatchNorm on running statistics.
    fn forward(&self, x: ArrayView<F, Self::InputDim>) -> Array<F, Self::OutputDim>;
    /// [`Model::forward`], with a wrong-shaped batch returned as an error.
    fn try_forward(&self, x: ArrayView<F, Self::InputDim>) -> Result<Array<F, Self::OutputDim>, Error>;
    /// Training forward pass: the output and the tape `backward` consumes.
    fn forward_train<'a>(&self, x: ArrayView<'a, F, Self::InputDim>) -> (Array<F, Self::OutputDim>, Self::Tape<'a>) {
        self.forward_train_cow(CowArray::from(x))
    }
    /// [`Model::forward_train`] for a batch that is borrowed or owned (an owned batch
    /// moves into the tape): how a network feeds another in [`crate::Chain`].
    fn forward_train_cow<'a>(&self, x: CowArray<'a, F, Self::InputDim>) -> (Array<F, Self::OutputDim>, Self::Tape<'a>);
    /// Accumulates every parameter gradient; skips d loss / d input.
    fn backward(&mut self, tape: Self::Tape<'_>, grad_out: ArrayView<F, Self::OutputDim>);
    /// Accumulates every parameter gradient and returns d loss / d input.
    fn backward_with_input_grad(
        &mut self,
        tape: Self::Tape<'_>,
        grad_out: ArrayView<F, Self::OutputDim>,
    ) -> Array<F, Self::InputDim>;
    /// Writes the weights as safetensors with PyTorch `state_dict` keys.
    fn save(&self, path: impl AsRef<Path>) -> Result<(), Error>;
    /// Reads weights saved by [`Model::save`] or by PyTorch; strict.
    fn load(path: impl AsRef<Path>) -> Result<Self, Error>;

    /// Sets every gradient to zero.
    fn zero_grad(&mut self) {
        self.zero_grads();
    }
}

/// Checks a batch's shape against a network's per-sample shape: every axis after the
/// batch axis must match. The error names the network and both shapes.
pub fn check_batch(network: &str, found: &[usize], sample: &[usize]) -> Result<(), Error> {
    if found.len() == sample.len() + 1 && found[1..] == *sample {
        return Ok(());
    }
    let mut expected = vec![0];
    expected.extend_from_slice(sample);
    Err(Error::Shape {
        what: format!("{network} batch ([batch, ..] with any batch size)"),
        expected,
        found: found.to_vec(),
    })
}
