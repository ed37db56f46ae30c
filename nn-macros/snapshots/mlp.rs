pub struct Mlp<F: ::nn::Float = f32> {
    ///`Linear(784, 256)` (state-dict key `0`).
    pub layer0: ::nn::layers::Linear<F>,
    ///`Linear(256, 10)` (state-dict key `2`).
    pub layer2: ::nn::layers::Linear<F>,
}
///What [`Mlp::backward`] needs from [`Mlp::forward_train`]; it may borrow the batch.
pub struct MlpTape<'a, F: ::nn::Float = f32> {
    x0: ::nn::ndarray::CowArray<'a, F, ::nn::ndarray::Ix2>,
    x2: ::nn::ndarray::Array<F, ::nn::ndarray::Ix2>,
    _batch: ::core::marker::PhantomData<&'a F>,
}
impl<F: ::nn::Float> Mlp<F> {
    /// A freshly initialised network: PyTorch's default init for every layer.
    pub fn init<R: ::nn::rand::Rng + ?Sized>(rng: &mut R) -> Self {
        Mlp {
            layer0: ::nn::layers::Linear::init(784, 256, true, rng),
            layer2: ::nn::layers::Linear::init(256, 10, true, rng),
        }
    }
    /// A network with every parameter zero (what `load` fills in).
    #[doc(hidden)]
    pub fn zeroed() -> Self {
        Mlp {
            layer0: ::nn::layers::Linear::zeros(784, 256, true),
            layer2: ::nn::layers::Linear::zeros(256, 10, true),
        }
    }
    /// Inference on a batch (`[batch, ..INPUT_SHAPE]`): dropout off, running statistics.
    ///
    /// # Panics
    /// If the batch's feature dimensions differ from the declaration; see `try_forward`.
    pub fn forward(
        &self,
        x: ::nn::ndarray::ArrayView<F, ::nn::ndarray::Ix2>,
    ) -> ::nn::ndarray::Array<F, ::nn::ndarray::Ix2> {
        self.try_forward(x).unwrap_or_else(|e| panic!("{e}"))
    }
    /// Inference on a batch, with a wrong-shaped batch returned as [`nn::Error::Shape`].
    pub fn try_forward(
        &self,
        x: ::nn::ndarray::ArrayView<F, ::nn::ndarray::Ix2>,
    ) -> ::core::result::Result<
        ::nn::ndarray::Array<F, ::nn::ndarray::Ix2>,
        ::nn::Error,
    > {
        ::nn::check_batch("Mlp", x.shape(), &[784])?;
        let x0 = ::nn::ndarray::CowArray::from(x);
        let x1 = self.layer0.forward(x0.view());
        let x2 = ::nn::layers::activation::forward_in_place(::nn::activation::Relu, x1);
        let x3 = self.layer2.forward(x2.view());
        ::core::result::Result::Ok(x3)
    }
    /// The training forward pass: the output and the tape `backward` consumes.
    ///
    /// # Panics
    /// If the batch's feature dimensions differ from the declaration.
    pub fn forward_train<'a>(
        &self,
        x: ::nn::ndarray::ArrayView<'a, F, ::nn::ndarray::Ix2>,
    ) -> (::nn::ndarray::Array<F, ::nn::ndarray::Ix2>, MlpTape<'a, F>) {
        self.forward_train_cow(::nn::ndarray::CowArray::from(x))
    }
    /// [`Self::forward_train`] for a batch that is borrowed or owned: an owned
    /// batch moves into the tape instead of being borrowed from the caller.
    pub fn forward_train_cow<'a>(
        &self,
        x: ::nn::ndarray::CowArray<'a, F, ::nn::ndarray::Ix2>,
    ) -> (::nn::ndarray::Array<F, ::nn::ndarray::Ix2>, MlpTape<'a, F>) {
        ::nn::check_batch("Mlp", x.shape(), &[784]).unwrap_or_else(|e| panic!("{e}"));
        let x0 = x;
        let x1 = self.layer0.forward(x0.view());
        let x2 = ::nn::layers::activation::forward_in_place(::nn::activation::Relu, x1);
        let x3 = self.layer2.forward(x2.view());
        (
            x3,
            MlpTape {
                x0,
                x2,
                _batch: ::core::marker::PhantomData,
            },
        )
    }
    /// Accumulates every parameter's gradient from `grad_out` (d loss / d output).
    /// Like PyTorch for an input that needs no gradient, it skips d loss / d input.
    pub fn backward(
        &mut self,
        tape: MlpTape<'_, F>,
        grad_out: ::nn::ndarray::ArrayView<F, ::nn::ndarray::Ix2>,
    ) {
        self.backward_from(tape, grad_out, false);
    }
    /// [`Self::backward`], and returns d loss / d input (for a network used as a layer).
    pub fn backward_with_input_grad(
        &mut self,
        tape: MlpTape<'_, F>,
        grad_out: ::nn::ndarray::ArrayView<F, ::nn::ndarray::Ix2>,
    ) -> ::nn::ndarray::Array<F, ::nn::ndarray::Ix2> {
        self.backward_from(tape, grad_out, true).expect("input gradient requested")
    }
    /// The backward pass in reverse layer order; `input_grad` asks for d loss / d input.
    #[doc(hidden)]
    pub fn backward_from(
        &mut self,
        tape: MlpTape<'_, F>,
        grad_out: ::nn::ndarray::ArrayView<F, ::nn::ndarray::Ix2>,
        input_grad: bool,
    ) -> ::core::option::Option<::nn::ndarray::Array<F, ::nn::ndarray::Ix2>> {
        ::nn::check_batch("Mlp", grad_out.shape(), &[10])
            .unwrap_or_else(|e| panic!("gradient: {e}"));
        let g = grad_out;
        self.layer2.backward(tape.x2.view(), g.view());
        let mut g = self.layer2.input_grad(g.view());
        ::nn::layers::activation::backward_in_place(
            ::nn::activation::Relu,
            tape.x2.view(),
            g.view_mut(),
        );
        self.layer0.backward(tape.x0.view(), g.view());
        return input_grad.then(|| self.layer0.input_grad(g.view()));
    }
    /// Sets every gradient to zero.
    pub fn zero_grad(&mut self) {
        ::nn::Params::zero_grads(self);
    }
    /// Saves the weights as safetensors with PyTorch `state_dict` keys.
    pub fn save(
        &self,
        path: impl ::core::convert::AsRef<::std::path::Path>,
    ) -> ::core::result::Result<(), ::nn::Error> {
        ::nn::io::save(self, path.as_ref())
    }
    /// Loads weights saved by `save` or by PyTorch (`nn.Sequential` of the same layers); strict.
    pub fn load(
        path: impl ::core::convert::AsRef<::std::path::Path>,
    ) -> ::core::result::Result<Self, ::nn::Error> {
        let mut model = Self::zeroed();
        ::nn::io::load(&mut model, path.as_ref())?;
        ::core::result::Result::Ok(model)
    }
    /// A fixed-size, heap-free copy for inference (`no_std` firmware bakes the same type).
    pub fn freeze(&self) -> ::std::boxed::Box<MlpFrozen<F>> {
        let mut frozen = unsafe { ::nn::frozen::zeroed_box::<MlpFrozen<F>>() };
        self.freeze_into(&mut frozen);
        frozen
    }
    /// Copies every weight into an existing frozen model (of a network used as a layer).
    #[doc(hidden)]
    pub fn freeze_into(&self, frozen: &mut MlpFrozen<F>) {
        self.layer0
            .freeze_into(
                frozen.layer0_weight.as_flattened_mut(),
                Some(&mut frozen.layer0_bias),
            );
        self.layer2
            .freeze_into(
                frozen.layer2_weight.as_flattened_mut(),
                Some(&mut frozen.layer2_bias),
            );
    }
}
///Buffers [`Mlp::train_step`] reuses: after its first call at a batch size, a training step allocates nothing.
pub struct MlpWorkspace<F: ::nn::Float = f32> {
    x1: ::nn::ndarray::Array<F, ::nn::ndarray::Ix2>,
    x2: ::nn::ndarray::Array<F, ::nn::ndarray::Ix2>,
    g2: ::nn::ndarray::Array<F, ::nn::ndarray::Ix2>,
    x3: ::nn::ndarray::Array<F, ::nn::ndarray::Ix2>,
    g3: ::nn::ndarray::Array<F, ::nn::ndarray::Ix2>,
    batch: usize,
}
impl<F: ::nn::Float> MlpWorkspace<F> {
    /// Buffers for batches of `batch` samples (`train_step` resizes them when the batch changes).
    pub fn new(batch: usize) -> Self {
        MlpWorkspace {
            x1: ::nn::ndarray::Array::zeros((batch, 256)),
            x2: ::nn::ndarray::Array::zeros((batch, 256)),
            g2: ::nn::ndarray::Array::zeros((batch, 256)),
            x3: ::nn::ndarray::Array::zeros((batch, 10)),
            g3: ::nn::ndarray::Array::zeros((batch, 10)),
            batch,
        }
    }
    /// The network's output `[batch, OUTPUT]` of the last `train_step`.
    pub fn output(&self) -> ::nn::ndarray::ArrayView2<'_, F> {
        self.x3.view()
    }
}
#[automatically_derived]
impl<F: ::nn::Float> ::core::default::Default for MlpWorkspace<F> {
    fn default() -> Self {
        Self::new(0)
    }
}
impl<F: ::nn::Float> Mlp<F> {
    /// One training step: forward, `loss`, and backward, with the gradients
    /// written (not added: no `zero_grad` needed) and every intermediate kept in
    /// `ws`. Returns the loss; `ws.output()` holds the network's output. Follow it
    /// with the optimiser's `step`.
    ///
    /// # Panics
    /// If the batch's feature dimensions differ from the declaration.
    pub fn train_step<L: ::nn::loss::Loss<F>>(
        &mut self,
        ws: &mut MlpWorkspace<F>,
        x: ::nn::ndarray::ArrayView<F, ::nn::ndarray::Ix2>,
        target: L::Target<'_>,
        loss: &L,
    ) -> F {
        ::nn::check_batch("Mlp", x.shape(), &[784]).unwrap_or_else(|e| panic!("{e}"));
        let batch = x.shape()[0];
        if ws.batch != batch {
            *ws = MlpWorkspace::new(batch);
        }
        self.layer0.forward_into(x.view(), &mut ws.x1);
        ::nn::layers::activation::forward_into(
            ::nn::activation::Relu,
            ws.x1.view(),
            ws.x2.view_mut(),
        );
        self.layer2.forward_into(ws.x2.view(), &mut ws.x3);
        let value = loss.loss_and_grad_into(ws.x3.view(), target, &mut ws.g3);
        self.layer2
            .backward_with(
                ws.x2.view(),
                ws.g3.view(),
                ::nn::layers::Gradients::Overwrite,
            );
        self.layer2.input_grad_into(ws.g3.view(), &mut ws.g2);
        ::nn::layers::activation::backward_in_place(
            ::nn::activation::Relu,
            ws.x2.view(),
            ws.g2.view_mut(),
        );
        self.layer0
            .backward_with(x.view(), ws.g2.view(), ::nn::layers::Gradients::Overwrite);
        value
    }
    /// Inference on a batch (dropout off, running statistics) into `ws`'s buffers:
    /// for networks with a workspace form, nothing is allocated after the first call
    /// at a batch size. Returns the output `[batch, OUTPUT]`, which lives in `ws`.
    ///
    /// # Panics
    /// If the batch's feature dimensions differ from the declaration.
    pub fn forward_with<'w>(
        &self,
        ws: &'w mut MlpWorkspace<F>,
        x: ::nn::ndarray::ArrayView<F, ::nn::ndarray::Ix2>,
    ) -> ::nn::ndarray::ArrayView2<'w, F> {
        ::nn::check_batch("Mlp", x.shape(), &[784]).unwrap_or_else(|e| panic!("{e}"));
        let batch = x.shape()[0];
        if ws.batch != batch {
            *ws = MlpWorkspace::new(batch);
        }
        self.layer0.forward_into(x.view(), &mut ws.x1);
        ::nn::layers::activation::forward_into(
            ::nn::activation::Relu,
            ws.x1.view(),
            ws.x2.view_mut(),
        );
        self.layer2.forward_into(ws.x2.view(), &mut ws.x3);
        ws.x3.view()
    }
}
#[automatically_derived]
impl<F: ::nn::Float> ::nn::Params<F> for Mlp<F> {
    fn visit(&self, visitor: &mut dyn FnMut(&str, ::nn::Entry<'_, F>)) {
        self.layer0.visit(["0.weight", "0.bias"], visitor);
        self.layer2.visit(["2.weight", "2.bias"], visitor);
    }
    fn visit_mut(&mut self, visitor: &mut dyn FnMut(&str, ::nn::EntryMut<'_, F>)) {
        self.layer0.visit_mut(["0.weight", "0.bias"], visitor);
        self.layer2.visit_mut(["2.weight", "2.bias"], visitor);
    }
}
#[automatically_derived]
impl<F: ::nn::Float> ::nn::Model<F> for Mlp<F> {
    type InputDim = ::nn::ndarray::Ix2;
    type OutputDim = ::nn::ndarray::Ix2;
    type Tape<'a> = MlpTape<'a, F>;
    type Workspace = MlpWorkspace<F>;
    fn init<R: ::nn::rand::Rng + ?Sized>(rng: &mut R) -> Self {
        Mlp::init(rng)
    }
    fn forward(
        &self,
        x: ::nn::ndarray::ArrayView<F, ::nn::ndarray::Ix2>,
    ) -> ::nn::ndarray::Array<F, ::nn::ndarray::Ix2> {
        Mlp::forward(self, x)
    }
    fn try_forward(
        &self,
        x: ::nn::ndarray::ArrayView<F, ::nn::ndarray::Ix2>,
    ) -> ::core::result::Result<
        ::nn::ndarray::Array<F, ::nn::ndarray::Ix2>,
        ::nn::Error,
    > {
        Mlp::try_forward(self, x)
    }
    fn forward_train_cow<'a>(
        &self,
        x: ::nn::ndarray::CowArray<'a, F, ::nn::ndarray::Ix2>,
    ) -> (::nn::ndarray::Array<F, ::nn::ndarray::Ix2>, MlpTape<'a, F>) {
        Mlp::forward_train_cow(self, x)
    }
    fn backward(
        &mut self,
        tape: MlpTape<'_, F>,
        grad_out: ::nn::ndarray::ArrayView<F, ::nn::ndarray::Ix2>,
    ) {
        Mlp::backward(self, tape, grad_out)
    }
    fn backward_with_input_grad(
        &mut self,
        tape: MlpTape<'_, F>,
        grad_out: ::nn::ndarray::ArrayView<F, ::nn::ndarray::Ix2>,
    ) -> ::nn::ndarray::Array<F, ::nn::ndarray::Ix2> {
        Mlp::backward_with_input_grad(self, tape, grad_out)
    }
    fn train_step<L: ::nn::loss::Loss<F>>(
        &mut self,
        ws: &mut MlpWorkspace<F>,
        x: ::nn::ndarray::ArrayView<F, ::nn::ndarray::Ix2>,
        target: L::Target<'_>,
        loss: &L,
    ) -> F {
        Mlp::train_step(self, ws, x, target, loss)
    }
    fn step_output(ws: &MlpWorkspace<F>) -> ::nn::ndarray::ArrayView2<'_, F> {
        ws.output()
    }
    fn save(
        &self,
        path: impl ::core::convert::AsRef<::std::path::Path>,
    ) -> ::core::result::Result<(), ::nn::Error> {
        Mlp::save(self, path)
    }
    fn load(
        path: impl ::core::convert::AsRef<::std::path::Path>,
    ) -> ::core::result::Result<Self, ::nn::Error> {
        Mlp::load(path)
    }
}
::nn::__no_std_only! {
    pub struct Mlp < F = f32 > (::core::marker::PhantomData < F >);
}
///`Mlp` frozen for inference: weights in fixed-size arrays, no heap, `no_std`.
#[repr(C)]
pub struct MlpFrozen<F = f32> {
    ///`Linear(784, 256)` weight, input-major `[in][out]`.
    pub layer0_weight: [[F; 256]; 784],
    ///`Linear(784, 256)` bias.
    pub layer0_bias: [F; 256],
    ///`Linear(256, 10)` weight, input-major `[in][out]`.
    pub layer2_weight: [[F; 10]; 256],
    ///`Linear(256, 10)` bias.
    pub layer2_bias: [F; 10],
    _scalar: ::core::marker::PhantomData<F>,
}
impl<F: ::nn::Float> MlpFrozen<F> {
    /// Inference on one sample; allocates nothing.
    pub fn infer(&self, x: &[F; 784]) -> [F; 10] {
        let x0 = x;
        let x1: [F; 256] = ::nn::frozen::dense(
            &self.layer0_weight,
            Some(&self.layer0_bias),
            x0,
        );
        let mut x2: [F; 256] = x1;
        ::nn::frozen::activate(::nn::activation::Relu, &mut x2);
        let x3: [F; 10] = ::nn::frozen::dense(
            &self.layer2_weight,
            Some(&self.layer2_bias),
            &x2,
        );
        x3
    }
}
impl<F: ::nn::Float> Mlp<F> {
    /// Input features per sample (`C*H*W` for an image network).
    pub const INPUT: usize = 784;
    /// Output features per sample.
    pub const OUTPUT: usize = 10;
    /// The shape of one input sample, as declared.
    pub const INPUT_SHAPE: [usize; 1] = [784];
    /// The shape of one output sample.
    pub const OUTPUT_SHAPE: [usize; 1] = [10];
    /// Number of trainable scalars.
    pub const NUM_PARAMS: usize = 0 + 200960 + 0 + 2570;
    /// Bytes of the frozen model: what its weights take in flash.
    pub const FROZEN_BYTES: usize = ::core::mem::size_of::<MlpFrozen<F>>();
    /// Activation bytes of `infer`: the largest input-plus-output array pair of any
    /// layer (the first layer's input is the caller's), plus what nested chains and
    /// networks hold. Stack frames and register spills come on top of it.
    pub const SCRATCH_BYTES: usize = {
        let sizes = [
            ::core::mem::size_of::<[F; 1040]>(),
            ::core::mem::size_of::<[F; 512]>(),
            ::core::mem::size_of::<[F; 266]>(),
        ];
        let mut max = 0;
        let mut i = 0;
        while i < sizes.len() {
            if sizes[i] > max {
                max = sizes[i];
            }
            i += 1;
        }
        max
    };
}
#[automatically_derived]
impl<F: ::nn::Float> ::nn::Network for Mlp<F> {
    type Input = ::nn::typenum::UInt<
        ::nn::typenum::UInt<
            ::nn::typenum::UInt<
                ::nn::typenum::UInt<
                    ::nn::typenum::UInt<
                        ::nn::typenum::UInt<
                            ::nn::typenum::UInt<
                                ::nn::typenum::UInt<
                                    ::nn::typenum::UInt<
                                        ::nn::typenum::UInt<
                                            ::nn::typenum::UTerm,
                                            ::nn::typenum::B1,
                                        >,
                                        ::nn::typenum::B1,
                                    >,
                                    ::nn::typenum::B0,
                                >,
                                ::nn::typenum::B0,
                            >,
                            ::nn::typenum::B0,
                        >,
                        ::nn::typenum::B1,
                    >,
                    ::nn::typenum::B0,
                >,
                ::nn::typenum::B0,
            >,
            ::nn::typenum::B0,
        >,
        ::nn::typenum::B0,
    >;
    type Output = ::nn::typenum::UInt<
        ::nn::typenum::UInt<
            ::nn::typenum::UInt<
                ::nn::typenum::UInt<::nn::typenum::UTerm, ::nn::typenum::B1>,
                ::nn::typenum::B0,
            >,
            ::nn::typenum::B1,
        >,
        ::nn::typenum::B0,
    >;
    const NAME: &'static str = "Mlp";
}
#[automatically_derived]
impl<F: ::nn::Float> ::nn::Network for MlpFrozen<F> {
    type Input = ::nn::typenum::UInt<
        ::nn::typenum::UInt<
            ::nn::typenum::UInt<
                ::nn::typenum::UInt<
                    ::nn::typenum::UInt<
                        ::nn::typenum::UInt<
                            ::nn::typenum::UInt<
                                ::nn::typenum::UInt<
                                    ::nn::typenum::UInt<
                                        ::nn::typenum::UInt<
                                            ::nn::typenum::UTerm,
                                            ::nn::typenum::B1,
                                        >,
                                        ::nn::typenum::B1,
                                    >,
                                    ::nn::typenum::B0,
                                >,
                                ::nn::typenum::B0,
                            >,
                            ::nn::typenum::B0,
                        >,
                        ::nn::typenum::B1,
                    >,
                    ::nn::typenum::B0,
                >,
                ::nn::typenum::B0,
            >,
            ::nn::typenum::B0,
        >,
        ::nn::typenum::B0,
    >;
    type Output = ::nn::typenum::UInt<
        ::nn::typenum::UInt<
            ::nn::typenum::UInt<
                ::nn::typenum::UInt<::nn::typenum::UTerm, ::nn::typenum::B1>,
                ::nn::typenum::B0,
            >,
            ::nn::typenum::B1,
        >,
        ::nn::typenum::B0,
    >;
    const NAME: &'static str = "Mlp";
}
#[automatically_derived]
impl<F: ::nn::Float, Source> ::nn::TakesInput<784, Source> for Mlp<F> {}
#[automatically_derived]
impl<F: ::nn::Float, Consumer> ::nn::ProducesOutput<10, Consumer> for Mlp<F> {}
#[automatically_derived]
impl<F: ::nn::Float, Next: ::nn::TakesInput<10, Mlp<F>>> ::nn::Feeds<Next> for Mlp<F> {}
const _: () = ::core::assert!(
    < ::nn::activation::Relu as ::nn::activation::Activation < f32 >> ::DF_FROM_OUTPUT ==
    true,
    "nn-macros and nn-runtime disagree on whether this activation differentiates from its output",
);
