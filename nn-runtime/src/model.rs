//! What the trainer needs of a network: the trait every `network!` struct implements.

use std::path::Path;

use ndarray::{Array, Array2, ArrayView, ArrayView2, CowArray, Dimension};

use crate::loss::Loss;
use crate::{Error, Float, Params};

/// A trainable network: forward, taped forward, backward, and its weight files.
///
/// `network!` implements it by delegating to the struct's inherent methods of the
/// same names; generic code such as the trainer (`nn::train`, with the `train`
/// feature) and [`crate::Chain`] goes through this trait.
pub trait Model<F: Float>: Params<F> + Sized {
    /// The batch dimension of inputs: `Ix2` ([batch, features]) or `Ix4` ([batch, C, H, W]).
    type InputDim: Dimension;
    /// The batch dimension of outputs.
    type OutputDim: Dimension;
    /// What `backward` needs from `forward_train`; it may borrow the batch.
    type Tape<'a>;
    /// The buffers [`Model::train_step`] reuses from one step to the next.
    type Workspace: Default;

    /// A freshly initialised network (PyTorch's default init).
    fn init<R: rand::Rng + ?Sized>(rng: &mut R) -> Self;
    /// Inference: dropout off, BatchNorm on running statistics.
    fn forward(&self, x: ArrayView<F, Self::InputDim>) -> Array<F, Self::OutputDim>;
    /// [`Model::forward`], with a wrong-shaped batch returned as an error.
    fn try_forward(&self, x: ArrayView<F, Self::InputDim>) -> Result<Array<F, Self::OutputDim>, Error>;
    /// Training forward pass: the output and the tape `backward` consumes.
    ///
    /// # Panics
    /// If the batch's feature dimensions differ from the declaration, or a BatchNorm
    /// layer sees a single value per channel (PyTorch's `ValueError`; the trainer
    /// reports it as [`Error::SingleValueBatch`] before training).
    fn forward_train<'a>(&self, x: ArrayView<'a, F, Self::InputDim>) -> (Array<F, Self::OutputDim>, Self::Tape<'a>) {
        self.forward_train_cow(CowArray::from(x))
    }
    /// [`Model::forward_train`] for a batch that is borrowed or owned (an owned batch
    /// moves into the tape): how a network feeds another in [`crate::Chain`].
    fn forward_train_cow<'a>(&self, x: CowArray<'a, F, Self::InputDim>) -> (Array<F, Self::OutputDim>, Self::Tape<'a>);
    /// Accumulates every parameter gradient; skips d loss / d input.
    ///
    /// # Panics
    /// If `grad_out` is not shaped as the output of the forward that made `tape`.
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

    /// One training step into `ws`: forward, `loss` and backward, with the gradients
    /// written rather than added (no `zero_grad` needed). Returns the loss; follow it
    /// with the optimiser's `step`.
    ///
    /// # Panics
    /// As [`Model::forward_train`], and if `target` does not fit the output.
    fn train_step<L: Loss<F>>(
        &mut self,
        ws: &mut Self::Workspace,
        x: ArrayView<F, Self::InputDim>,
        target: L::Target<'_>,
        loss: &L,
    ) -> F;
    /// The output `[batch, outputs]` of the last [`Model::train_step`] into `ws`.
    fn step_output(ws: &Self::Workspace) -> ArrayView2<'_, F>;

    /// Sets every gradient to zero.
    fn zero_grad(&mut self) {
        self.zero_grads();
    }
}

/// The buffers of [`taped_train_step`]: the output, flattened to `[batch, outputs]`,
/// and the loss gradient.
#[derive(Debug, Clone)]
pub struct TapedWorkspace<F> {
    output: Array2<F>,
    grad: Array2<F>,
}

impl<F: Float> Default for TapedWorkspace<F> {
    fn default() -> Self {
        TapedWorkspace { output: Array2::zeros((0, 0)), grad: Array2::zeros((0, 0)) }
    }
}

impl<F: Float> TapedWorkspace<F> {
    /// The network's output `[batch, outputs]` of the last step.
    pub fn output(&self) -> ArrayView2<'_, F> {
        self.output.view()
    }

    /// Keeps `output` (any rank, flattened to `[batch, outputs]`) as the last output.
    pub fn store_output<D: Dimension>(&mut self, output: Array<F, D>) -> ArrayView2<'_, F> {
        let batch = output.shape()[0];
        let features = output.len() / batch.max(1);
        self.output = output.into_shape_with_order((batch, features)).expect("standard layout");
        self.output.view()
    }
}

/// [`Model::train_step`] through `zero_grad`, `forward_train`, the loss and `backward`:
/// what networks without a buffer-reusing step (convolutional ones, [`crate::Chain`]) run.
pub fn taped_train_step<F: Float, M: Model<F>, L: Loss<F>>(
    model: &mut M,
    ws: &mut TapedWorkspace<F>,
    x: ArrayView<F, M::InputDim>,
    target: L::Target<'_>,
    loss: &L,
) -> F {
    model.zero_grad();
    let (output, tape) = model.forward_train(x);
    let output_dim = output.raw_dim();
    let flat_dim = ws.store_output(output).raw_dim();
    if ws.grad.raw_dim() != flat_dim {
        ws.grad = Array2::zeros(flat_dim);
    }
    let value = loss.loss_and_grad_into(ws.output.view(), target, &mut ws.grad);
    let grad = ws.grad.view().into_shape_with_order(output_dim).expect("standard layout");
    model.backward(tape, grad);
    value
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
