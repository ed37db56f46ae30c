//! [`Chain`] as a trainable model: `B(A(x))`, forward in order and backward in reverse.

use std::path::Path;

use ndarray::{Array, ArrayView, ArrayView2, CowArray};
use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::loss::Loss;
use crate::params::{Entry, EntryMut};
use crate::{taped_train_step, Chain, Error, Feeds, Float, Model, Params, TapedWorkspace};

impl<F: Float, A: Params<F>, B: Params<F>> Params<F> for Chain<A, B> {
    fn visit(&self, visitor: &mut dyn FnMut(&str, Entry<'_, F>)) {
        self.first.visit(&mut |name, entry| visitor(&format!("0.{name}"), entry));
        self.second.visit(&mut |name, entry| visitor(&format!("1.{name}"), entry));
    }

    fn visit_mut(&mut self, visitor: &mut dyn FnMut(&str, EntryMut<'_, F>)) {
        self.first.visit_mut(&mut |name, entry| visitor(&format!("0.{name}"), entry));
        self.second.visit_mut(&mut |name, entry| visitor(&format!("1.{name}"), entry));
    }
}

impl<F, A, B> Model<F> for Chain<A, B>
where
    F: Float,
    A: Model<F> + Feeds<B>,
    B: Model<F, InputDim = A::OutputDim>,
{
    type InputDim = A::InputDim;
    type OutputDim = B::OutputDim;
    type Tape<'a> = (A::Tape<'a>, B::Tape<'a>);
    type Workspace = TapedWorkspace<F>;

    fn init<R: rand::Rng + ?Sized>(rng: &mut R) -> Self {
        Chain { first: A::init(rng), second: B::init(rng) }
    }

    fn forward(&self, x: ArrayView<F, Self::InputDim>) -> Array<F, Self::OutputDim> {
        self.second.forward(self.first.forward(x).view())
    }

    fn try_forward(&self, x: ArrayView<F, Self::InputDim>) -> Result<Array<F, Self::OutputDim>, Error> {
        self.second.try_forward(self.first.try_forward(x)?.view())
    }

    fn forward_train_cow<'a>(&self, x: CowArray<'a, F, Self::InputDim>) -> (Array<F, Self::OutputDim>, Self::Tape<'a>) {
        let (hidden, first) = self.first.forward_train_cow(x);
        let (output, second) = self.second.forward_train_cow(CowArray::from(hidden));
        (output, (first, second))
    }

    fn backward(&mut self, (first, second): Self::Tape<'_>, grad_out: ArrayView<F, Self::OutputDim>) {
        let grad_hidden = self.second.backward_with_input_grad(second, grad_out);
        self.first.backward(first, grad_hidden.view());
    }

    fn backward_with_input_grad(
        &mut self,
        (first, second): Self::Tape<'_>,
        grad_out: ArrayView<F, Self::OutputDim>,
    ) -> Array<F, Self::InputDim> {
        let grad_hidden = self.second.backward_with_input_grad(second, grad_out);
        self.first.backward_with_input_grad(first, grad_hidden.view())
    }

    fn train_step<L: Loss<F>>(
        &mut self,
        ws: &mut TapedWorkspace<F>,
        x: ArrayView<F, Self::InputDim>,
        target: L::Target<'_>,
        loss: &L,
    ) -> F {
        taped_train_step(self, ws, x, target, loss)
    }

    fn step_output(ws: &TapedWorkspace<F>) -> ArrayView2<'_, F> {
        ws.output()
    }

    fn save(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        crate::io::save(self, path.as_ref())
    }

    fn load(path: impl AsRef<Path>) -> Result<Self, Error> {
        let mut model = Self::init(&mut StdRng::seed_from_u64(0));
        crate::io::load(&mut model, path.as_ref())?;
        Ok(model)
    }
}
