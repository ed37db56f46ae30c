pub struct LeNet<F: ::nn::Float = f32> {
    ///`Conv2d(1, 6, 5, stride = 1, padding = 2)` (state-dict key `0`).
    pub layer0: ::nn::layers::Conv2d<F>,
    ///`Conv2d(6, 16, 5, stride = 1, padding = 0)` (state-dict key `3`).
    pub layer3: ::nn::layers::Conv2d<F>,
    ///`Linear(400, 120)` (state-dict key `7`).
    pub layer7: ::nn::layers::Linear<F>,
    ///`Linear(120, 84)` (state-dict key `9`).
    pub layer9: ::nn::layers::Linear<F>,
    ///`Linear(84, 10)` (state-dict key `11`).
    pub layer11: ::nn::layers::Linear<F>,
}
///What [`LeNet::backward`] needs from [`LeNet::forward_train`]; it may borrow the batch.
pub struct LeNetTape<'a, F: ::nn::Float = f32> {
    x0: ::nn::ndarray::CowArray<'a, F, ::nn::ndarray::Ix4>,
    x2: ::nn::ndarray::Array<F, ::nn::ndarray::Ix4>,
    x3: ::nn::ndarray::Array<F, ::nn::ndarray::Ix4>,
    x5: ::nn::ndarray::Array<F, ::nn::ndarray::Ix4>,
    x7: ::nn::ndarray::Array<F, ::nn::ndarray::Ix2>,
    x9: ::nn::ndarray::Array<F, ::nn::ndarray::Ix2>,
    x11: ::nn::ndarray::Array<F, ::nn::ndarray::Ix2>,
    pool2: ::nn::layers::MaxPoolIndices,
    pool5: ::nn::layers::MaxPoolIndices,
    _batch: ::core::marker::PhantomData<&'a F>,
}
impl<F: ::nn::Float> LeNet<F> {
    /// A freshly initialised network: PyTorch's default init for every layer.
    pub fn init<R: ::nn::rand::Rng + ?Sized>(rng: &mut R) -> Self {
        LeNet {
            layer0: ::nn::layers::Conv2d::init(
                    ::nn::layers::Conv2dSpec::new(1, 6, (5, 5))
                        .stride((1, 1))
                        .padding((2, 2))
                        .bias(true),
                    rng,
                )
                .expect(
                    "network! checked that the kernel and stride are positive and groups divide both channel counts",
                ),
            layer3: ::nn::layers::Conv2d::init(
                    ::nn::layers::Conv2dSpec::new(6, 16, (5, 5))
                        .stride((1, 1))
                        .padding((0, 0))
                        .bias(true),
                    rng,
                )
                .expect(
                    "network! checked that the kernel and stride are positive and groups divide both channel counts",
                ),
            layer7: ::nn::layers::Linear::init(400, 120, true, rng),
            layer9: ::nn::layers::Linear::init(120, 84, true, rng),
            layer11: ::nn::layers::Linear::init(84, 10, true, rng),
        }
    }
    /// A network with every parameter zero (what `load` fills in).
    #[doc(hidden)]
    pub fn zeroed() -> Self {
        LeNet {
            layer0: ::nn::layers::Conv2d::zeros(
                    ::nn::layers::Conv2dSpec::new(1, 6, (5, 5))
                        .stride((1, 1))
                        .padding((2, 2))
                        .bias(true),
                )
                .expect(
                    "network! checked that the kernel and stride are positive and groups divide both channel counts",
                ),
            layer3: ::nn::layers::Conv2d::zeros(
                    ::nn::layers::Conv2dSpec::new(6, 16, (5, 5))
                        .stride((1, 1))
                        .padding((0, 0))
                        .bias(true),
                )
                .expect(
                    "network! checked that the kernel and stride are positive and groups divide both channel counts",
                ),
            layer7: ::nn::layers::Linear::zeros(400, 120, true),
            layer9: ::nn::layers::Linear::zeros(120, 84, true),
            layer11: ::nn::layers::Linear::zeros(84, 10, true),
        }
    }
    /// Inference on a batch (`[batch, ..INPUT_SHAPE]`): dropout off, running statistics.
    ///
    /// # Panics
    /// If the batch's feature dimensions differ from the declaration; see `try_forward`.
    pub fn forward(
        &self,
        x: ::nn::ndarray::ArrayView<F, ::nn::ndarray::Ix4>,
    ) -> ::nn::ndarray::Array<F, ::nn::ndarray::Ix2> {
        self.try_forward(x).unwrap_or_else(|e| panic!("{e}"))
    }
    /// Inference on a batch, with a wrong-shaped batch returned as [`nn::Error::Shape`].
    pub fn try_forward(
        &self,
        x: ::nn::ndarray::ArrayView<F, ::nn::ndarray::Ix4>,
    ) -> ::core::result::Result<
        ::nn::ndarray::Array<F, ::nn::ndarray::Ix2>,
        ::nn::Error,
    > {
        ::nn::check_batch("LeNet", x.shape(), &[1, 28, 28])?;
        let x0 = ::nn::ndarray::CowArray::from(x);
        let x1 = self.layer0.forward(x0.view());
        let x2 = ::nn::layers::activation::forward_in_place(::nn::activation::Relu, x1);
        let x3 = ::nn::layers::pool::max_pool2d(x2.view(), 2, 2);
        let x4 = self.layer3.forward(x3.view());
        let x5 = ::nn::layers::activation::forward_in_place(::nn::activation::Relu, x4);
        let x6 = ::nn::layers::pool::max_pool2d(x5.view(), 2, 2);
        let x7 = ::nn::layers::flatten::flatten(x6);
        let x8 = self.layer7.forward(x7.view());
        let x9 = ::nn::layers::activation::forward_in_place(::nn::activation::Relu, x8);
        let x10 = self.layer9.forward(x9.view());
        let x11 = ::nn::layers::activation::forward_in_place(
            ::nn::activation::Relu,
            x10,
        );
        let x12 = self.layer11.forward(x11.view());
        ::core::result::Result::Ok(x12)
    }
    /// The training forward pass: the output and the tape `backward` consumes.
    ///
    /// # Panics
    /// If the batch's feature dimensions differ from the declaration, or if a
    /// BatchNorm layer sees a single value per channel (a batch of 1 sample),
    /// which PyTorch refuses with a `ValueError`; `Trainer::fit` reports that
    /// case as `Error::SingleValueBatch` before training.
    pub fn forward_train<'a>(
        &self,
        x: ::nn::ndarray::ArrayView<'a, F, ::nn::ndarray::Ix4>,
    ) -> (::nn::ndarray::Array<F, ::nn::ndarray::Ix2>, LeNetTape<'a, F>) {
        self.forward_train_cow(::nn::ndarray::CowArray::from(x))
    }
    /// [`Self::forward_train`] for a batch that is borrowed or owned: an owned
    /// batch moves into the tape instead of being borrowed from the caller.
    pub fn forward_train_cow<'a>(
        &self,
        x: ::nn::ndarray::CowArray<'a, F, ::nn::ndarray::Ix4>,
    ) -> (::nn::ndarray::Array<F, ::nn::ndarray::Ix2>, LeNetTape<'a, F>) {
        ::nn::check_batch("LeNet", x.shape(), &[1, 28, 28])
            .unwrap_or_else(|e| panic!("{e}"));
        let x0 = x;
        let x1 = self.layer0.forward(x0.view());
        let x2 = ::nn::layers::activation::forward_in_place(::nn::activation::Relu, x1);
        let (x3, pool2) = ::nn::layers::pool::max_pool2d_train(x2.view(), 2, 2);
        let x4 = self.layer3.forward(x3.view());
        let x5 = ::nn::layers::activation::forward_in_place(::nn::activation::Relu, x4);
        let (x6, pool5) = ::nn::layers::pool::max_pool2d_train(x5.view(), 2, 2);
        let x7 = ::nn::layers::flatten::flatten(x6);
        let x8 = self.layer7.forward(x7.view());
        let x9 = ::nn::layers::activation::forward_in_place(::nn::activation::Relu, x8);
        let x10 = self.layer9.forward(x9.view());
        let x11 = ::nn::layers::activation::forward_in_place(
            ::nn::activation::Relu,
            x10,
        );
        let x12 = self.layer11.forward(x11.view());
        (
            x12,
            LeNetTape {
                x0,
                x2,
                x3,
                x5,
                x7,
                x9,
                x11,
                pool2,
                pool5,
                _batch: ::core::marker::PhantomData,
            },
        )
    }
    /// Accumulates every parameter's gradient from `grad_out` (d loss / d output).
    /// Like PyTorch for an input that needs no gradient, it skips d loss / d input.
    ///
    /// # Panics
    /// If `grad_out`'s feature dimensions differ from the output's, or its batch
    /// size from the batch `tape` was recorded on.
    pub fn backward(
        &mut self,
        tape: LeNetTape<'_, F>,
        grad_out: ::nn::ndarray::ArrayView<F, ::nn::ndarray::Ix2>,
    ) {
        self.backward_from(tape, grad_out, false);
    }
    /// [`Self::backward`], and returns d loss / d input (for a network used as a layer).
    ///
    /// # Panics
    /// As [`Self::backward`].
    pub fn backward_with_input_grad(
        &mut self,
        tape: LeNetTape<'_, F>,
        grad_out: ::nn::ndarray::ArrayView<F, ::nn::ndarray::Ix2>,
    ) -> ::nn::ndarray::Array<F, ::nn::ndarray::Ix4> {
        self.backward_from(tape, grad_out, true).expect("input gradient requested")
    }
    /// The backward pass in reverse layer order; `input_grad` asks for d loss / d input.
    #[doc(hidden)]
    pub fn backward_from(
        &mut self,
        tape: LeNetTape<'_, F>,
        grad_out: ::nn::ndarray::ArrayView<F, ::nn::ndarray::Ix2>,
        input_grad: bool,
    ) -> ::core::option::Option<::nn::ndarray::Array<F, ::nn::ndarray::Ix4>> {
        ::nn::check_batch("LeNet", grad_out.shape(), &[10])
            .unwrap_or_else(|e| panic!("gradient: {e}"));
        let g = grad_out;
        self.layer11.backward(tape.x11.view(), g.view());
        let mut g = self.layer11.input_grad(g.view());
        ::nn::layers::activation::backward_in_place(
            ::nn::activation::Relu,
            tape.x11.view(),
            g.view_mut(),
        );
        self.layer9.backward(tape.x9.view(), g.view());
        let mut g = self.layer9.input_grad(g.view());
        ::nn::layers::activation::backward_in_place(
            ::nn::activation::Relu,
            tape.x9.view(),
            g.view_mut(),
        );
        self.layer7.backward(tape.x7.view(), g.view());
        let g = self.layer7.input_grad(g.view());
        let g = ::nn::layers::flatten::unflatten(g, (16, 5, 5));
        let mut g = ::nn::layers::pool::max_pool2d_backward(&tape.pool5, g.view());
        ::nn::layers::activation::backward_in_place(
            ::nn::activation::Relu,
            tape.x5.view(),
            g.view_mut(),
        );
        self.layer3.backward(tape.x3.view(), g.view());
        let g = self.layer3.input_grad(g.view(), (14, 14));
        let mut g = ::nn::layers::pool::max_pool2d_backward(&tape.pool2, g.view());
        ::nn::layers::activation::backward_in_place(
            ::nn::activation::Relu,
            tape.x2.view(),
            g.view_mut(),
        );
        self.layer0.backward(tape.x0.view(), g.view());
        return input_grad.then(|| self.layer0.input_grad(g.view(), (28, 28)));
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
    pub fn freeze(&self) -> ::std::boxed::Box<LeNetFrozen<F>> {
        let mut frozen = unsafe { ::nn::frozen::zeroed_box::<LeNetFrozen<F>>() };
        self.freeze_into(&mut frozen);
        frozen
    }
    /// Copies every weight into an existing frozen model (of a network used as a layer).
    #[doc(hidden)]
    pub fn freeze_into(&self, frozen: &mut LeNetFrozen<F>) {
        self.layer0
            .freeze_into(
                frozen
                    .layer0_weight
                    .as_flattened_mut()
                    .as_flattened_mut()
                    .as_flattened_mut(),
                Some(&mut frozen.layer0_bias),
            );
        self.layer3
            .freeze_into(
                frozen
                    .layer3_weight
                    .as_flattened_mut()
                    .as_flattened_mut()
                    .as_flattened_mut(),
                Some(&mut frozen.layer3_bias),
            );
        self.layer7
            .freeze_into(
                frozen.layer7_weight.as_flattened_mut(),
                Some(&mut frozen.layer7_bias),
            );
        self.layer9
            .freeze_into(
                frozen.layer9_weight.as_flattened_mut(),
                Some(&mut frozen.layer9_bias),
            );
        self.layer11
            .freeze_into(
                frozen.layer11_weight.as_flattened_mut(),
                Some(&mut frozen.layer11_bias),
            );
    }
}
///Buffers [`LeNet::train_step`] reuses: after its first call at a batch size, a training step allocates nothing.
pub struct LeNetWorkspace<F: ::nn::Float = f32> {
    x1: ::nn::ndarray::Array<F, ::nn::ndarray::Ix4>,
    x2: ::nn::ndarray::Array<F, ::nn::ndarray::Ix4>,
    g2: ::nn::ndarray::Array<F, ::nn::ndarray::Ix4>,
    x3: ::nn::ndarray::Array<F, ::nn::ndarray::Ix4>,
    g3: ::nn::ndarray::Array<F, ::nn::ndarray::Ix4>,
    mask2: ::nn::layers::MaxPoolIndices,
    x4: ::nn::ndarray::Array<F, ::nn::ndarray::Ix4>,
    x5: ::nn::ndarray::Array<F, ::nn::ndarray::Ix4>,
    g5: ::nn::ndarray::Array<F, ::nn::ndarray::Ix4>,
    x6: ::nn::ndarray::Array<F, ::nn::ndarray::Ix4>,
    g6: ::nn::ndarray::Array<F, ::nn::ndarray::Ix4>,
    mask5: ::nn::layers::MaxPoolIndices,
    x7: ::nn::ndarray::Array<F, ::nn::ndarray::Ix2>,
    g7: ::nn::ndarray::Array<F, ::nn::ndarray::Ix2>,
    x8: ::nn::ndarray::Array<F, ::nn::ndarray::Ix2>,
    x9: ::nn::ndarray::Array<F, ::nn::ndarray::Ix2>,
    g9: ::nn::ndarray::Array<F, ::nn::ndarray::Ix2>,
    x10: ::nn::ndarray::Array<F, ::nn::ndarray::Ix2>,
    x11: ::nn::ndarray::Array<F, ::nn::ndarray::Ix2>,
    g11: ::nn::ndarray::Array<F, ::nn::ndarray::Ix2>,
    x12: ::nn::ndarray::Array<F, ::nn::ndarray::Ix2>,
    g12: ::nn::ndarray::Array<F, ::nn::ndarray::Ix2>,
    batch: usize,
}
impl<F: ::nn::Float> LeNetWorkspace<F> {
    /// Buffers for batches of `batch` samples (`train_step` resizes them when the batch changes).
    pub fn new(batch: usize) -> Self {
        LeNetWorkspace {
            x1: ::nn::ndarray::Array::zeros((batch, 6, 28, 28)),
            x2: ::nn::ndarray::Array::zeros((batch, 6, 28, 28)),
            g2: ::nn::ndarray::Array::zeros((batch, 6, 28, 28)),
            x3: ::nn::ndarray::Array::zeros((batch, 6, 14, 14)),
            g3: ::nn::ndarray::Array::zeros((batch, 6, 14, 14)),
            mask2: ::core::default::Default::default(),
            x4: ::nn::ndarray::Array::zeros((batch, 16, 10, 10)),
            x5: ::nn::ndarray::Array::zeros((batch, 16, 10, 10)),
            g5: ::nn::ndarray::Array::zeros((batch, 16, 10, 10)),
            x6: ::nn::ndarray::Array::zeros((batch, 16, 5, 5)),
            g6: ::nn::ndarray::Array::zeros((batch, 16, 5, 5)),
            mask5: ::core::default::Default::default(),
            x7: ::nn::ndarray::Array::zeros((batch, 400)),
            g7: ::nn::ndarray::Array::zeros((batch, 400)),
            x8: ::nn::ndarray::Array::zeros((batch, 120)),
            x9: ::nn::ndarray::Array::zeros((batch, 120)),
            g9: ::nn::ndarray::Array::zeros((batch, 120)),
            x10: ::nn::ndarray::Array::zeros((batch, 84)),
            x11: ::nn::ndarray::Array::zeros((batch, 84)),
            g11: ::nn::ndarray::Array::zeros((batch, 84)),
            x12: ::nn::ndarray::Array::zeros((batch, 10)),
            g12: ::nn::ndarray::Array::zeros((batch, 10)),
            batch,
        }
    }
    /// The network's output `[batch, OUTPUT]` of the last `train_step`.
    pub fn output(&self) -> ::nn::ndarray::ArrayView2<'_, F> {
        self.x12.view()
    }
}
#[automatically_derived]
impl<F: ::nn::Float> ::core::default::Default for LeNetWorkspace<F> {
    fn default() -> Self {
        Self::new(0)
    }
}
impl<F: ::nn::Float> LeNet<F> {
    /// One training step: forward, `loss`, and backward, with the gradients
    /// written (not added: no `zero_grad` needed) and every intermediate kept in
    /// `ws`. Returns the loss; `ws.output()` holds the network's output. Follow it
    /// with the optimiser's `step`.
    ///
    /// # Panics
    /// If the batch's feature dimensions differ from the declaration, if `target`
    /// does not fit the output (the loss's own check), or if a BatchNorm layer sees
    /// a single value per channel, which PyTorch refuses with a `ValueError`;
    /// `Trainer::fit` reports the last as `Error::SingleValueBatch` before training.
    pub fn train_step<L: ::nn::loss::Loss<F>>(
        &mut self,
        ws: &mut LeNetWorkspace<F>,
        x: ::nn::ndarray::ArrayView<F, ::nn::ndarray::Ix4>,
        target: L::Target<'_>,
        loss: &L,
    ) -> F {
        ::nn::check_batch("LeNet", x.shape(), &[1, 28, 28])
            .unwrap_or_else(|e| panic!("{e}"));
        let batch = x.shape()[0];
        if ws.batch != batch {
            *ws = LeNetWorkspace::new(batch);
        }
        self.layer0.forward_into(x.view(), ws.x1.view_mut());
        ::nn::layers::activation::forward_into(
            ::nn::activation::Relu,
            ws.x1.view(),
            ws.x2.view_mut(),
        );
        ::nn::layers::pool::max_pool2d_train_into(
            ws.x2.view(),
            ws.x3.view_mut(),
            &mut ws.mask2,
            2,
            2,
        );
        self.layer3.forward_into(ws.x3.view(), ws.x4.view_mut());
        ::nn::layers::activation::forward_into(
            ::nn::activation::Relu,
            ws.x4.view(),
            ws.x5.view_mut(),
        );
        ::nn::layers::pool::max_pool2d_train_into(
            ws.x5.view(),
            ws.x6.view_mut(),
            &mut ws.mask5,
            2,
            2,
        );
        ::nn::layers::flatten::copy_flat(ws.x6.view(), ws.x7.view_mut());
        self.layer7.forward_into(ws.x7.view(), &mut ws.x8);
        ::nn::layers::activation::forward_into(
            ::nn::activation::Relu,
            ws.x8.view(),
            ws.x9.view_mut(),
        );
        self.layer9.forward_into(ws.x9.view(), &mut ws.x10);
        ::nn::layers::activation::forward_into(
            ::nn::activation::Relu,
            ws.x10.view(),
            ws.x11.view_mut(),
        );
        self.layer11.forward_into(ws.x11.view(), &mut ws.x12);
        let value = loss.loss_and_grad_into(ws.x12.view(), target, &mut ws.g12);
        self.layer11
            .backward_with(
                ws.x11.view(),
                ws.g12.view(),
                ::nn::layers::Gradients::Overwrite,
            );
        self.layer11.input_grad_into(ws.g12.view(), &mut ws.g11);
        ::nn::layers::activation::backward_in_place(
            ::nn::activation::Relu,
            ws.x11.view(),
            ws.g11.view_mut(),
        );
        self.layer9
            .backward_with(
                ws.x9.view(),
                ws.g11.view(),
                ::nn::layers::Gradients::Overwrite,
            );
        self.layer9.input_grad_into(ws.g11.view(), &mut ws.g9);
        ::nn::layers::activation::backward_in_place(
            ::nn::activation::Relu,
            ws.x9.view(),
            ws.g9.view_mut(),
        );
        self.layer7
            .backward_with(
                ws.x7.view(),
                ws.g9.view(),
                ::nn::layers::Gradients::Overwrite,
            );
        self.layer7.input_grad_into(ws.g9.view(), &mut ws.g7);
        ::nn::layers::flatten::copy_flat(ws.g7.view(), ws.g6.view_mut());
        ::nn::layers::pool::max_pool2d_backward_into(
            &ws.mask5,
            ws.g6.view(),
            ws.g5.view_mut(),
        );
        ::nn::layers::activation::backward_in_place(
            ::nn::activation::Relu,
            ws.x5.view(),
            ws.g5.view_mut(),
        );
        self.layer3
            .backward_with(
                ws.x3.view(),
                ws.g5.view(),
                ::nn::layers::Gradients::Overwrite,
            );
        self.layer3.input_grad_into(ws.g5.view(), ws.g3.view_mut());
        ::nn::layers::pool::max_pool2d_backward_into(
            &ws.mask2,
            ws.g3.view(),
            ws.g2.view_mut(),
        );
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
        ws: &'w mut LeNetWorkspace<F>,
        x: ::nn::ndarray::ArrayView<F, ::nn::ndarray::Ix4>,
    ) -> ::nn::ndarray::ArrayView2<'w, F> {
        ::nn::check_batch("LeNet", x.shape(), &[1, 28, 28])
            .unwrap_or_else(|e| panic!("{e}"));
        let batch = x.shape()[0];
        if ws.batch != batch {
            *ws = LeNetWorkspace::new(batch);
        }
        self.layer0.forward_into(x.view(), ws.x1.view_mut());
        ::nn::layers::activation::forward_into(
            ::nn::activation::Relu,
            ws.x1.view(),
            ws.x2.view_mut(),
        );
        ::nn::layers::pool::max_pool2d_into(ws.x2.view(), ws.x3.view_mut(), 2, 2);
        self.layer3.forward_into(ws.x3.view(), ws.x4.view_mut());
        ::nn::layers::activation::forward_into(
            ::nn::activation::Relu,
            ws.x4.view(),
            ws.x5.view_mut(),
        );
        ::nn::layers::pool::max_pool2d_into(ws.x5.view(), ws.x6.view_mut(), 2, 2);
        ::nn::layers::flatten::copy_flat(ws.x6.view(), ws.x7.view_mut());
        self.layer7.forward_into(ws.x7.view(), &mut ws.x8);
        ::nn::layers::activation::forward_into(
            ::nn::activation::Relu,
            ws.x8.view(),
            ws.x9.view_mut(),
        );
        self.layer9.forward_into(ws.x9.view(), &mut ws.x10);
        ::nn::layers::activation::forward_into(
            ::nn::activation::Relu,
            ws.x10.view(),
            ws.x11.view_mut(),
        );
        self.layer11.forward_into(ws.x11.view(), &mut ws.x12);
        ws.x12.view()
    }
}
#[automatically_derived]
impl<F: ::nn::Float> ::nn::Params<F> for LeNet<F> {
    fn visit(&self, visitor: &mut dyn FnMut(&str, ::nn::Entry<'_, F>)) {
        self.layer0.visit(["0.weight", "0.bias"], visitor);
        self.layer3.visit(["3.weight", "3.bias"], visitor);
        self.layer7.visit(["7.weight", "7.bias"], visitor);
        self.layer9.visit(["9.weight", "9.bias"], visitor);
        self.layer11.visit(["11.weight", "11.bias"], visitor);
    }
    fn visit_mut(&mut self, visitor: &mut dyn FnMut(&str, ::nn::EntryMut<'_, F>)) {
        self.layer0.visit_mut(["0.weight", "0.bias"], visitor);
        self.layer3.visit_mut(["3.weight", "3.bias"], visitor);
        self.layer7.visit_mut(["7.weight", "7.bias"], visitor);
        self.layer9.visit_mut(["9.weight", "9.bias"], visitor);
        self.layer11.visit_mut(["11.weight", "11.bias"], visitor);
    }
}
#[automatically_derived]
impl<F: ::nn::Float> ::nn::Model<F> for LeNet<F> {
    type InputDim = ::nn::ndarray::Ix4;
    type OutputDim = ::nn::ndarray::Ix2;
    type Tape<'a> = LeNetTape<'a, F>;
    type Workspace = LeNetWorkspace<F>;
    fn init<R: ::nn::rand::Rng + ?Sized>(rng: &mut R) -> Self {
        LeNet::init(rng)
    }
    fn forward(
        &self,
        x: ::nn::ndarray::ArrayView<F, ::nn::ndarray::Ix4>,
    ) -> ::nn::ndarray::Array<F, ::nn::ndarray::Ix2> {
        LeNet::forward(self, x)
    }
    fn try_forward(
        &self,
        x: ::nn::ndarray::ArrayView<F, ::nn::ndarray::Ix4>,
    ) -> ::core::result::Result<
        ::nn::ndarray::Array<F, ::nn::ndarray::Ix2>,
        ::nn::Error,
    > {
        LeNet::try_forward(self, x)
    }
    fn forward_train_cow<'a>(
        &self,
        x: ::nn::ndarray::CowArray<'a, F, ::nn::ndarray::Ix4>,
    ) -> (::nn::ndarray::Array<F, ::nn::ndarray::Ix2>, LeNetTape<'a, F>) {
        LeNet::forward_train_cow(self, x)
    }
    fn backward(
        &mut self,
        tape: LeNetTape<'_, F>,
        grad_out: ::nn::ndarray::ArrayView<F, ::nn::ndarray::Ix2>,
    ) {
        LeNet::backward(self, tape, grad_out)
    }
    fn backward_with_input_grad(
        &mut self,
        tape: LeNetTape<'_, F>,
        grad_out: ::nn::ndarray::ArrayView<F, ::nn::ndarray::Ix2>,
    ) -> ::nn::ndarray::Array<F, ::nn::ndarray::Ix4> {
        LeNet::backward_with_input_grad(self, tape, grad_out)
    }
    fn train_step<L: ::nn::loss::Loss<F>>(
        &mut self,
        ws: &mut LeNetWorkspace<F>,
        x: ::nn::ndarray::ArrayView<F, ::nn::ndarray::Ix4>,
        target: L::Target<'_>,
        loss: &L,
    ) -> F {
        LeNet::train_step(self, ws, x, target, loss)
    }
    fn step_output(ws: &LeNetWorkspace<F>) -> ::nn::ndarray::ArrayView2<'_, F> {
        ws.output()
    }
    fn save(
        &self,
        path: impl ::core::convert::AsRef<::std::path::Path>,
    ) -> ::core::result::Result<(), ::nn::Error> {
        LeNet::save(self, path)
    }
    fn load(
        path: impl ::core::convert::AsRef<::std::path::Path>,
    ) -> ::core::result::Result<Self, ::nn::Error> {
        LeNet::load(path)
    }
}
::nn::__no_std_only! {
    pub struct LeNet < F = f32 > (::core::marker::PhantomData < F >);
}
///`LeNet` frozen for inference: weights in fixed-size arrays, no heap, `no_std`.
#[repr(C)]
pub struct LeNetFrozen<F = f32> {
    ///`Conv2d(1, 6, 5, stride = 1, padding = 2)` weight.
    pub layer0_weight: [[[[F; 5]; 5]; 1]; 6],
    ///`Conv2d(1, 6, 5, stride = 1, padding = 2)` bias.
    pub layer0_bias: [F; 6],
    ///`Conv2d(6, 16, 5, stride = 1, padding = 0)` weight.
    pub layer3_weight: [[[[F; 5]; 5]; 6]; 16],
    ///`Conv2d(6, 16, 5, stride = 1, padding = 0)` bias.
    pub layer3_bias: [F; 16],
    ///`Linear(400, 120)` weight, input-major `[in][out]`.
    pub layer7_weight: [[F; 120]; 400],
    ///`Linear(400, 120)` bias.
    pub layer7_bias: [F; 120],
    ///`Linear(120, 84)` weight, input-major `[in][out]`.
    pub layer9_weight: [[F; 84]; 120],
    ///`Linear(120, 84)` bias.
    pub layer9_bias: [F; 84],
    ///`Linear(84, 10)` weight, input-major `[in][out]`.
    pub layer11_weight: [[F; 10]; 84],
    ///`Linear(84, 10)` bias.
    pub layer11_bias: [F; 10],
    _scalar: ::core::marker::PhantomData<F>,
}
impl LeNetFrozen<f32> {
    /// Where each activation buffer of `infer_with` lives in its arena, in
    /// elements of the scalar (the same for `f32` and `f64`).
    pub const ARENA: ::nn::arena::Plan<6> = ::nn::arena::plan([
        ::nn::arena::Buffer {
            len: 4704,
            first: 0,
            last: 2,
        },
        ::nn::arena::Buffer {
            len: 1176,
            first: 2,
            last: 3,
        },
        ::nn::arena::Buffer {
            len: 1600,
            first: 3,
            last: 5,
        },
        ::nn::arena::Buffer {
            len: 400,
            first: 5,
            last: 6,
        },
        ::nn::arena::Buffer {
            len: 120,
            first: 6,
            last: 8,
        },
        ::nn::arena::Buffer {
            len: 84,
            first: 8,
            last: 10,
        },
    ]);
}
impl<F: ::nn::Float> LeNetFrozen<F> {
    /// Inference on one sample, its activations in an arena on the stack
    /// (`SCRATCH_BYTES` of it); allocates nothing. The same bits as `infer_with`.
    pub fn infer(&self, x: &[[[F; 28]; 28]; 1]) -> [F; 10] {
        let mut arena = [F::zero(); LeNetFrozen::<f32>::ARENA.len];
        let mut output = [F::zero(); 10];
        self.infer_in(x, &mut output, &mut arena);
        output
    }
    ///Inference on one sample in `scratch`, a buffer the caller provides (a `static`, or `nn::Scratch::boxed()`): no stack beyond the output and the kernels' own locals. `N` must be at least `LeNet::<F>::SCRATCH_BYTES`, checked at compile time.
    pub fn infer_with<const N: usize>(
        &self,
        x: &[[[F; 28]; 28]; 1],
        scratch: &mut ::nn::Scratch<N>,
    ) -> [F; 10] {
        const {
            ::core::assert!(
                N >= LeNet:: < F > ::SCRATCH_BYTES,
                "the scratch is smaller than the network's SCRATCH_BYTES"
            )
        };
        let mut output = [F::zero(); 10];
        self.infer_in(x, &mut output, scratch.elements_mut::<F>());
        output
    }
    /// `input` through every layer into `output`, the activations in `arena` at
    /// the offsets of `ARENA` (at least `ARENA.len` elements).
    #[doc(hidden)]
    pub fn infer_in(
        &self,
        input: &[[[F; 28]; 28]; 1],
        output: &mut [F; 10],
        arena: &mut [F],
    ) {
        {
            let x: &[[[F; 28]; 28]; 1] = ::nn::arena::cast(::nn::arena::scalars(input));
            let [y] = ::nn::arena::regions(
                arena,
                [(LeNetFrozen::<f32>::ARENA.offsets[0], 4704)],
            );
            let y: &mut [[[F; 28]; 28]; 6] = ::nn::arena::cast_mut(y);
            ::nn::frozen::conv2d_into(
                &self.layer0_weight,
                Some(&self.layer0_bias),
                x,
                y,
                (1, 1),
                (2, 2),
            );
        }
        {
            let [y] = ::nn::arena::regions(
                arena,
                [(LeNetFrozen::<f32>::ARENA.offsets[0], 4704)],
            );
            let y: &mut [[[F; 28]; 28]; 6] = ::nn::arena::cast_mut(y);
            ::nn::frozen::activate(::nn::activation::Relu, ::nn::arena::scalars_mut(y));
        }
        {
            let [x, y] = ::nn::arena::regions(
                arena,
                [
                    (LeNetFrozen::<f32>::ARENA.offsets[0], 4704),
                    (LeNetFrozen::<f32>::ARENA.offsets[1], 1176),
                ],
            );
            let x: &[[[F; 28]; 28]; 6] = ::nn::arena::cast(x);
            let y: &mut [[[F; 14]; 14]; 6] = ::nn::arena::cast_mut(y);
            ::nn::frozen::max_pool2d_into(x, y, 2, 2);
        }
        {
            let [x, y] = ::nn::arena::regions(
                arena,
                [
                    (LeNetFrozen::<f32>::ARENA.offsets[1], 1176),
                    (LeNetFrozen::<f32>::ARENA.offsets[2], 1600),
                ],
            );
            let x: &[[[F; 14]; 14]; 6] = ::nn::arena::cast(x);
            let y: &mut [[[F; 10]; 10]; 16] = ::nn::arena::cast_mut(y);
            ::nn::frozen::conv2d_into(
                &self.layer3_weight,
                Some(&self.layer3_bias),
                x,
                y,
                (1, 1),
                (0, 0),
            );
        }
        {
            let [y] = ::nn::arena::regions(
                arena,
                [(LeNetFrozen::<f32>::ARENA.offsets[2], 1600)],
            );
            let y: &mut [[[F; 10]; 10]; 16] = ::nn::arena::cast_mut(y);
            ::nn::frozen::activate(::nn::activation::Relu, ::nn::arena::scalars_mut(y));
        }
        {
            let [x, y] = ::nn::arena::regions(
                arena,
                [
                    (LeNetFrozen::<f32>::ARENA.offsets[2], 1600),
                    (LeNetFrozen::<f32>::ARENA.offsets[3], 400),
                ],
            );
            let x: &[[[F; 10]; 10]; 16] = ::nn::arena::cast(x);
            let y: &mut [[[F; 5]; 5]; 16] = ::nn::arena::cast_mut(y);
            ::nn::frozen::max_pool2d_into(x, y, 2, 2);
        }
        {
            let [x, y] = ::nn::arena::regions(
                arena,
                [
                    (LeNetFrozen::<f32>::ARENA.offsets[3], 400),
                    (LeNetFrozen::<f32>::ARENA.offsets[4], 120),
                ],
            );
            let x: &[F; 400] = ::nn::arena::cast(x);
            let y: &mut [F; 120] = ::nn::arena::cast_mut(y);
            ::nn::frozen::dense_into(&self.layer7_weight, Some(&self.layer7_bias), x, y);
        }
        {
            let [y] = ::nn::arena::regions(
                arena,
                [(LeNetFrozen::<f32>::ARENA.offsets[4], 120)],
            );
            let y: &mut [F; 120] = ::nn::arena::cast_mut(y);
            ::nn::frozen::activate(::nn::activation::Relu, ::nn::arena::scalars_mut(y));
        }
        {
            let [x, y] = ::nn::arena::regions(
                arena,
                [
                    (LeNetFrozen::<f32>::ARENA.offsets[4], 120),
                    (LeNetFrozen::<f32>::ARENA.offsets[5], 84),
                ],
            );
            let x: &[F; 120] = ::nn::arena::cast(x);
            let y: &mut [F; 84] = ::nn::arena::cast_mut(y);
            ::nn::frozen::dense_into(&self.layer9_weight, Some(&self.layer9_bias), x, y);
        }
        {
            let [y] = ::nn::arena::regions(
                arena,
                [(LeNetFrozen::<f32>::ARENA.offsets[5], 84)],
            );
            let y: &mut [F; 84] = ::nn::arena::cast_mut(y);
            ::nn::frozen::activate(::nn::activation::Relu, ::nn::arena::scalars_mut(y));
        }
        {
            let [x] = ::nn::arena::regions(
                arena,
                [(LeNetFrozen::<f32>::ARENA.offsets[5], 84)],
            );
            let x: &[F; 84] = ::nn::arena::cast(x);
            let y: &mut [F; 10] = ::nn::arena::cast_mut(
                ::nn::arena::scalars_mut(&mut *output),
            );
            ::nn::frozen::dense_into(
                &self.layer11_weight,
                Some(&self.layer11_bias),
                x,
                y,
            );
        }
    }
}
///`LeNet` quantised to int8 (TFLite's scheme): fixed-size arrays, no heap, `no_std`. Made by `LeNet::quantize`, `LeNetInt8::load` or a baked `LeNet::INT8`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LeNetInt8 {
    /// The input's scale and zero point.
    pub input: ::nn::int8::Quant,
    ///`Conv2d(1, 6, 5, stride = 1, padding = 2)`: int8 weights and int32 bias, packed for the kernel.
    pub layer0: ::nn::int8::Conv2d<1, 28, 28, 6, 28, 28, 13, 2, 4>,
    ///`Conv2d(1, 6, 5, stride = 1, padding = 2)`: the scale of each output channel's weights.
    pub layer0_weight_scale: [f32; 6],
    ///`Conv2d(1, 6, 5, stride = 1, padding = 2)`: its output's scale and zero point.
    pub layer0_output: ::nn::int8::Quant,
    ///`Conv2d(6, 16, 5, stride = 1, padding = 0)`: int8 weights and int32 bias, packed for the kernel.
    pub layer3: ::nn::int8::Conv2d<6, 14, 14, 16, 10, 10, 75, 4, 4>,
    ///`Conv2d(6, 16, 5, stride = 1, padding = 0)`: the scale of each output channel's weights.
    pub layer3_weight_scale: [f32; 16],
    ///`Conv2d(6, 16, 5, stride = 1, padding = 0)`: its output's scale and zero point.
    pub layer3_output: ::nn::int8::Quant,
    ///`Linear(400, 120)`: int8 weights and int32 bias, packed for the kernel.
    pub layer7: ::nn::int8::Dense<400, 120, 200, 30>,
    ///`Linear(400, 120)`: the scale of each output channel's weights.
    pub layer7_weight_scale: [f32; 120],
    ///`Linear(400, 120)`: its output's scale and zero point.
    pub layer7_output: ::nn::int8::Quant,
    ///`Linear(120, 84)`: int8 weights and int32 bias, packed for the kernel.
    pub layer9: ::nn::int8::Dense<120, 84, 60, 21>,
    ///`Linear(120, 84)`: the scale of each output channel's weights.
    pub layer9_weight_scale: [f32; 84],
    ///`Linear(120, 84)`: its output's scale and zero point.
    pub layer9_output: ::nn::int8::Quant,
    ///`Linear(84, 10)`: int8 weights and int32 bias, packed for the kernel.
    pub layer11: ::nn::int8::Dense<84, 10, 42, 3>,
    ///`Linear(84, 10)`: the scale of each output channel's weights.
    pub layer11_weight_scale: [f32; 10],
    ///`Linear(84, 10)`: its output's scale and zero point.
    pub layer11_output: ::nn::int8::Quant,
}
///The activation memory of `LeNetInt8::infer_with`: `LeNetInt8::SCRATCH_BYTES` bytes, aligned to 16. `LeNetInt8Scratch::new()` is `const`, so that it can be a `static`.
#[allow(dead_code)]
pub type LeNetInt8Scratch = ::nn::Scratch<{ LeNetInt8::SCRATCH_BYTES }>;
impl LeNetInt8 {
    /// Where each activation buffer of `infer_with` lives in its arena, in bytes.
    pub const ARENA: ::nn::arena::Plan<6> = ::nn::arena::plan([
        ::nn::arena::Buffer {
            len: 4704,
            first: 0,
            last: 1,
        },
        ::nn::arena::Buffer {
            len: 1176,
            first: 1,
            last: 2,
        },
        ::nn::arena::Buffer {
            len: 1600,
            first: 2,
            last: 3,
        },
        ::nn::arena::Buffer {
            len: 400,
            first: 3,
            last: 4,
        },
        ::nn::arena::Buffer {
            len: 120,
            first: 4,
            last: 5,
        },
        ::nn::arena::Buffer {
            len: 84,
            first: 5,
            last: 6,
        },
    ]);
    /// Activation bytes of `infer_with`: the arena its plan needs (`ARENA`), where
    /// the layers' outputs reuse each other's space once dead, so that it holds the
    /// most bytes live at once (a chain's largest adjacent pair) rather than their
    /// sum. The input and output are the caller's.
    pub const SCRATCH_BYTES: usize = Self::ARENA.len;
    /// Int8 inference on one quantised sample: integer arithmetic only, no
    /// allocation, its activations in a scratch on the stack (`SCRATCH_BYTES`).
    pub fn infer(&self, x: &[[[i8; 28]; 28]; 1]) -> [i8; 10] {
        self.infer_with(x, &mut LeNetInt8Scratch::new())
    }
    ///Int8 inference on one quantised sample in `scratch`, a buffer the caller provides (a `static` `LeNetInt8Scratch`): the same bits as `infer`, no stack beyond the output and the kernels' own locals.
    pub fn infer_with(
        &self,
        x: &[[[i8; 28]; 28]; 1],
        scratch: &mut LeNetInt8Scratch,
    ) -> [i8; 10] {
        let (input, mut out) = (x, [0i8; 10]);
        let output = &mut out;
        let arena = scratch.elements_mut::<i8>();
        {
            let x: &[[[i8; 28]; 28]; 1] = ::nn::arena::cast(::nn::arena::scalars(input));
            let [y] = ::nn::arena::regions(arena, [(LeNetInt8::ARENA.offsets[0], 4704)]);
            let y: &mut [[[i8; 28]; 28]; 6] = ::nn::arena::cast_mut(y);
            self.layer0.infer_into(x, y);
        }
        {
            let [x, y] = ::nn::arena::regions(
                arena,
                [
                    (LeNetInt8::ARENA.offsets[0], 4704),
                    (LeNetInt8::ARENA.offsets[1], 1176),
                ],
            );
            let x: &[[[i8; 28]; 28]; 6] = ::nn::arena::cast(x);
            let y: &mut [[[i8; 14]; 14]; 6] = ::nn::arena::cast_mut(y);
            ::nn::int8::max_pool2d_into(x, y, [2, 2], [2, 2]);
        }
        {
            let [x, y] = ::nn::arena::regions(
                arena,
                [
                    (LeNetInt8::ARENA.offsets[1], 1176),
                    (LeNetInt8::ARENA.offsets[2], 1600),
                ],
            );
            let x: &[[[i8; 14]; 14]; 6] = ::nn::arena::cast(x);
            let y: &mut [[[i8; 10]; 10]; 16] = ::nn::arena::cast_mut(y);
            self.layer3.infer_into(x, y);
        }
        {
            let [x, y] = ::nn::arena::regions(
                arena,
                [(LeNetInt8::ARENA.offsets[2], 1600), (LeNetInt8::ARENA.offsets[3], 400)],
            );
            let x: &[[[i8; 10]; 10]; 16] = ::nn::arena::cast(x);
            let y: &mut [[[i8; 5]; 5]; 16] = ::nn::arena::cast_mut(y);
            ::nn::int8::max_pool2d_into(x, y, [2, 2], [2, 2]);
        }
        {
            let [x, y] = ::nn::arena::regions(
                arena,
                [(LeNetInt8::ARENA.offsets[3], 400), (LeNetInt8::ARENA.offsets[4], 120)],
            );
            let x: &[i8; 400] = ::nn::arena::cast(x);
            let y: &mut [i8; 120] = ::nn::arena::cast_mut(y);
            self.layer7.infer_into(x, y);
        }
        {
            let [x, y] = ::nn::arena::regions(
                arena,
                [(LeNetInt8::ARENA.offsets[4], 120), (LeNetInt8::ARENA.offsets[5], 84)],
            );
            let x: &[i8; 120] = ::nn::arena::cast(x);
            let y: &mut [i8; 84] = ::nn::arena::cast_mut(y);
            self.layer9.infer_into(x, y);
        }
        {
            let [x] = ::nn::arena::regions(arena, [(LeNetInt8::ARENA.offsets[5], 84)]);
            let x: &[i8; 84] = ::nn::arena::cast(x);
            let y: &mut [i8; 10] = ::nn::arena::cast_mut(
                ::nn::arena::scalars_mut(&mut *output),
            );
            self.layer11.infer_into(x, y);
        }
        out
    }
    /// A float sample quantised with the input's scale and zero point.
    pub fn quantize_input(&self, x: &[[[f32; 28]; 28]; 1]) -> [[[i8; 28]; 28]; 1] {
        let mut q = [[[0i8; 28]; 28]; 1];
        self.input
            .quantize_slice(
                x.as_flattened().as_flattened(),
                q.as_flattened_mut().as_flattened_mut(),
            );
        q
    }
    /// An int8 output in real units, with the output's scale and zero point.
    pub fn dequantize_output(&self, y: &[i8; 10]) -> [f32; 10] {
        let mut out = [0.0f32; 10];
        self.layer11_output.dequantize_slice(&y[..], &mut out[..]);
        out
    }
    ///Int8 inference on a float sample: quantise, `infer`, dequantise.
    pub fn infer_f32(&self, x: &[[[f32; 28]; 28]; 1]) -> [f32; 10] {
        let y = self.dequantize_output(&self.infer(&self.quantize_input(x)));
        y
    }
}
impl LeNet<f32> {
    /// Post-training int8 quantisation, as TFLite's converter does it: each
    /// activation's range from this float model's forward pass over `calibration`
    /// (`[n, ..INPUT_SHAPE]`), BatchNorm folded first, weights per output channel,
    /// int32 biases, ReLU fused as a clamp.
    pub fn quantize(
        &self,
        calibration: ::nn::ndarray::ArrayView<f32, ::nn::ndarray::Ix4>,
    ) -> ::core::result::Result<LeNetInt8, ::nn::Error> {
        ::nn::check_batch("LeNet", calibration.shape(), &[1, 28, 28])?;
        if calibration.shape()[0] == 0 {
            return ::core::result::Result::Err(
                ::nn::Error::Dataset(
                    ::std::format!(
                        "{}::quantize needs at least one calibration sample", "LeNet"
                    ),
                ),
            );
        }
        let frozen = self.freeze();
        let mut ranges = ::nn::int8::ptq::Calibration::new();
        for sample in calibration.outer_iter() {
            let sample = sample.as_standard_layout();
            let flat = sample.as_slice().expect("a standard-layout array is contiguous");
            ranges.input.observe(flat);
            let x = <&[[[f32; 28]; 28]; 1]>::try_from(
                    flat.as_chunks::<28>().0.as_chunks::<28>().0,
                )
                .expect("check_batch checked the sample's shape");
            frozen.__calibrate(x, &mut |key, values| ranges.observe(key, values));
        }
        let mut file = ::nn::int8::file::Int8File::new();
        let q = ranges.input.quant();
        file.set_input(q);
        let layer = &self.layer0;
        let weight = layer.weight.as_standard_layout();
        let bias = layer.bias.as_ref().map(|b| b.to_vec());
        let weight = weight.as_slice().expect("a standard-layout array is contiguous");
        let quantized = ::nn::int8::ptq::quantize_layer(
            weight,
            6,
            bias.as_deref(),
            q.scale,
        );
        let q = ranges.quant("1");
        file.set_weighted(
            "0",
            &[6, 1, 5, 5],
            &quantized.weight,
            &quantized.weight_scale,
            &quantized.bias,
            q,
        );
        let layer = &self.layer3;
        let weight = layer.weight.as_standard_layout();
        let bias = layer.bias.as_ref().map(|b| b.to_vec());
        let weight = weight.as_slice().expect("a standard-layout array is contiguous");
        let quantized = ::nn::int8::ptq::quantize_layer(
            weight,
            16,
            bias.as_deref(),
            q.scale,
        );
        let q = ranges.quant("4");
        file.set_weighted(
            "3",
            &[16, 6, 5, 5],
            &quantized.weight,
            &quantized.weight_scale,
            &quantized.bias,
            q,
        );
        let layer = &self.layer7;
        let weight = layer.weight.as_standard_layout();
        let bias = layer.bias.as_ref().map(|b| b.to_vec());
        let weight = weight.as_slice().expect("a standard-layout array is contiguous");
        let quantized = ::nn::int8::ptq::quantize_layer(
            weight,
            120,
            bias.as_deref(),
            q.scale,
        );
        let q = ranges.quant("8");
        file.set_weighted(
            "7",
            &[120, 400],
            &quantized.weight,
            &quantized.weight_scale,
            &quantized.bias,
            q,
        );
        let layer = &self.layer9;
        let weight = layer.weight.as_standard_layout();
        let bias = layer.bias.as_ref().map(|b| b.to_vec());
        let weight = weight.as_slice().expect("a standard-layout array is contiguous");
        let quantized = ::nn::int8::ptq::quantize_layer(
            weight,
            84,
            bias.as_deref(),
            q.scale,
        );
        let q = ranges.quant("10");
        file.set_weighted(
            "9",
            &[84, 120],
            &quantized.weight,
            &quantized.weight_scale,
            &quantized.bias,
            q,
        );
        let layer = &self.layer11;
        let weight = layer.weight.as_standard_layout();
        let bias = layer.bias.as_ref().map(|b| b.to_vec());
        let weight = weight.as_slice().expect("a standard-layout array is contiguous");
        let quantized = ::nn::int8::ptq::quantize_layer(
            weight,
            10,
            bias.as_deref(),
            q.scale,
        );
        let q = ranges.quant("11");
        file.set_weighted(
            "11",
            &[10, 84],
            &quantized.weight,
            &quantized.weight_scale,
            &quantized.bias,
            q,
        );
        let _ = q;
        ::core::result::Result::Ok(*LeNetInt8::from_file(&file))
    }
}
impl<F: ::nn::Float> LeNetFrozen<F> {
    /// `infer`, handing each layer's output to `observe` with the layer's key.
    #[doc(hidden)]
    pub fn __calibrate(
        &self,
        x: &[[[F; 28]; 28]; 1],
        observe: &mut dyn FnMut(&'static str, &[F]),
    ) {
        const PLAN: ::nn::arena::Plan<6> = ::nn::arena::plan([
            ::nn::arena::Buffer {
                len: 4704,
                first: 0,
                last: 4,
            },
            ::nn::arena::Buffer {
                len: 1176,
                first: 4,
                last: 6,
            },
            ::nn::arena::Buffer {
                len: 1600,
                first: 6,
                last: 10,
            },
            ::nn::arena::Buffer {
                len: 400,
                first: 10,
                last: 13,
            },
            ::nn::arena::Buffer {
                len: 120,
                first: 13,
                last: 17,
            },
            ::nn::arena::Buffer {
                len: 84,
                first: 17,
                last: 21,
            },
        ]);
        let mut arena = ::std::vec![F::zero(); PLAN.len];
        let arena = &mut arena[..];
        let (input, mut out) = (x, [F::zero(); 10]);
        let output = &mut out;
        {
            let x: &[[[F; 28]; 28]; 1] = ::nn::arena::cast(::nn::arena::scalars(input));
            let [y] = ::nn::arena::regions(arena, [(PLAN.offsets[0], 4704)]);
            let y: &mut [[[F; 28]; 28]; 6] = ::nn::arena::cast_mut(y);
            ::nn::frozen::conv2d_into(
                &self.layer0_weight,
                Some(&self.layer0_bias),
                x,
                y,
                (1, 1),
                (2, 2),
            );
        }
        {
            let [x] = ::nn::arena::regions(arena, [(PLAN.offsets[0], 4704)]);
            let x: &[[[F; 28]; 28]; 6] = ::nn::arena::cast(x);
            observe("0", ::nn::arena::scalars(x));
        }
        {
            let [y] = ::nn::arena::regions(arena, [(PLAN.offsets[0], 4704)]);
            let y: &mut [[[F; 28]; 28]; 6] = ::nn::arena::cast_mut(y);
            ::nn::frozen::activate(::nn::activation::Relu, ::nn::arena::scalars_mut(y));
        }
        {
            let [x] = ::nn::arena::regions(arena, [(PLAN.offsets[0], 4704)]);
            let x: &[[[F; 28]; 28]; 6] = ::nn::arena::cast(x);
            observe("1", ::nn::arena::scalars(x));
        }
        {
            let [x, y] = ::nn::arena::regions(
                arena,
                [(PLAN.offsets[0], 4704), (PLAN.offsets[1], 1176)],
            );
            let x: &[[[F; 28]; 28]; 6] = ::nn::arena::cast(x);
            let y: &mut [[[F; 14]; 14]; 6] = ::nn::arena::cast_mut(y);
            ::nn::frozen::max_pool2d_into(x, y, 2, 2);
        }
        {
            let [x] = ::nn::arena::regions(arena, [(PLAN.offsets[1], 1176)]);
            let x: &[[[F; 14]; 14]; 6] = ::nn::arena::cast(x);
            observe("2", ::nn::arena::scalars(x));
        }
        {
            let [x, y] = ::nn::arena::regions(
                arena,
                [(PLAN.offsets[1], 1176), (PLAN.offsets[2], 1600)],
            );
            let x: &[[[F; 14]; 14]; 6] = ::nn::arena::cast(x);
            let y: &mut [[[F; 10]; 10]; 16] = ::nn::arena::cast_mut(y);
            ::nn::frozen::conv2d_into(
                &self.layer3_weight,
                Some(&self.layer3_bias),
                x,
                y,
                (1, 1),
                (0, 0),
            );
        }
        {
            let [x] = ::nn::arena::regions(arena, [(PLAN.offsets[2], 1600)]);
            let x: &[[[F; 10]; 10]; 16] = ::nn::arena::cast(x);
            observe("3", ::nn::arena::scalars(x));
        }
        {
            let [y] = ::nn::arena::regions(arena, [(PLAN.offsets[2], 1600)]);
            let y: &mut [[[F; 10]; 10]; 16] = ::nn::arena::cast_mut(y);
            ::nn::frozen::activate(::nn::activation::Relu, ::nn::arena::scalars_mut(y));
        }
        {
            let [x] = ::nn::arena::regions(arena, [(PLAN.offsets[2], 1600)]);
            let x: &[[[F; 10]; 10]; 16] = ::nn::arena::cast(x);
            observe("4", ::nn::arena::scalars(x));
        }
        {
            let [x, y] = ::nn::arena::regions(
                arena,
                [(PLAN.offsets[2], 1600), (PLAN.offsets[3], 400)],
            );
            let x: &[[[F; 10]; 10]; 16] = ::nn::arena::cast(x);
            let y: &mut [[[F; 5]; 5]; 16] = ::nn::arena::cast_mut(y);
            ::nn::frozen::max_pool2d_into(x, y, 2, 2);
        }
        {
            let [x] = ::nn::arena::regions(arena, [(PLAN.offsets[3], 400)]);
            let x: &[[[F; 5]; 5]; 16] = ::nn::arena::cast(x);
            observe("5", ::nn::arena::scalars(x));
        }
        {
            let [x] = ::nn::arena::regions(arena, [(PLAN.offsets[3], 400)]);
            let x: &[F; 400] = ::nn::arena::cast(x);
            observe("6", ::nn::arena::scalars(x));
        }
        {
            let [x, y] = ::nn::arena::regions(
                arena,
                [(PLAN.offsets[3], 400), (PLAN.offsets[4], 120)],
            );
            let x: &[F; 400] = ::nn::arena::cast(x);
            let y: &mut [F; 120] = ::nn::arena::cast_mut(y);
            ::nn::frozen::dense_into(&self.layer7_weight, Some(&self.layer7_bias), x, y);
        }
        {
            let [x] = ::nn::arena::regions(arena, [(PLAN.offsets[4], 120)]);
            let x: &[F; 120] = ::nn::arena::cast(x);
            observe("7", ::nn::arena::scalars(x));
        }
        {
            let [y] = ::nn::arena::regions(arena, [(PLAN.offsets[4], 120)]);
            let y: &mut [F; 120] = ::nn::arena::cast_mut(y);
            ::nn::frozen::activate(::nn::activation::Relu, ::nn::arena::scalars_mut(y));
        }
        {
            let [x] = ::nn::arena::regions(arena, [(PLAN.offsets[4], 120)]);
            let x: &[F; 120] = ::nn::arena::cast(x);
            observe("8", ::nn::arena::scalars(x));
        }
        {
            let [x, y] = ::nn::arena::regions(
                arena,
                [(PLAN.offsets[4], 120), (PLAN.offsets[5], 84)],
            );
            let x: &[F; 120] = ::nn::arena::cast(x);
            let y: &mut [F; 84] = ::nn::arena::cast_mut(y);
            ::nn::frozen::dense_into(&self.layer9_weight, Some(&self.layer9_bias), x, y);
        }
        {
            let [x] = ::nn::arena::regions(arena, [(PLAN.offsets[5], 84)]);
            let x: &[F; 84] = ::nn::arena::cast(x);
            observe("9", ::nn::arena::scalars(x));
        }
        {
            let [y] = ::nn::arena::regions(arena, [(PLAN.offsets[5], 84)]);
            let y: &mut [F; 84] = ::nn::arena::cast_mut(y);
            ::nn::frozen::activate(::nn::activation::Relu, ::nn::arena::scalars_mut(y));
        }
        {
            let [x] = ::nn::arena::regions(arena, [(PLAN.offsets[5], 84)]);
            let x: &[F; 84] = ::nn::arena::cast(x);
            observe("10", ::nn::arena::scalars(x));
        }
        {
            let [x] = ::nn::arena::regions(arena, [(PLAN.offsets[5], 84)]);
            let x: &[F; 84] = ::nn::arena::cast(x);
            let y: &mut [F; 10] = ::nn::arena::cast_mut(
                ::nn::arena::scalars_mut(&mut *output),
            );
            ::nn::frozen::dense_into(
                &self.layer11_weight,
                Some(&self.layer11_bias),
                x,
                y,
            );
        }
        {
            let x: &[F; 10] = ::nn::arena::cast(::nn::arena::scalars(&*output));
            observe("11", ::nn::arena::scalars(x));
        }
    }
}
impl LeNetInt8 {
    /// The layers of its int8 file, in order.
    pub const LAYERS: [::nn::int8::file::Layer<'static>; 5] = [
        ::nn::int8::file::Layer::Weighted {
            key: "0",
            shape: &[6, 1, 5, 5],
        },
        ::nn::int8::file::Layer::Weighted {
            key: "3",
            shape: &[16, 6, 5, 5],
        },
        ::nn::int8::file::Layer::Weighted {
            key: "7",
            shape: &[120, 400],
        },
        ::nn::int8::file::Layer::Weighted {
            key: "9",
            shape: &[84, 120],
        },
        ::nn::int8::file::Layer::Weighted {
            key: "11",
            shape: &[10, 84],
        },
    ];
    /// Saves it as an int8 safetensors file, keyed like the float state dict.
    pub fn save(
        &self,
        path: impl ::core::convert::AsRef<::std::path::Path>,
    ) -> ::core::result::Result<(), ::nn::Error> {
        let mut file = ::nn::int8::file::Int8File::new();
        file.set_input(self.input);
        let mut weight = ::std::vec![0i8; 150];
        self.layer0.weights.unpack(1, 6, 25, &mut weight);
        file.set_weighted(
            "0",
            &[6, 1, 5, 5],
            &weight,
            &self.layer0_weight_scale,
            &self.layer0.bias,
            self.layer0_output,
        );
        let mut weight = ::std::vec![0i8; 2400];
        self.layer3.weights.unpack(1, 16, 150, &mut weight);
        file.set_weighted(
            "3",
            &[16, 6, 5, 5],
            &weight,
            &self.layer3_weight_scale,
            &self.layer3.bias,
            self.layer3_output,
        );
        let mut weight = ::std::vec![0i8; 48000];
        self.layer7.weights.unpack(1, 120, 400, &mut weight);
        file.set_weighted(
            "7",
            &[120, 400],
            &weight,
            &self.layer7_weight_scale,
            &self.layer7.bias,
            self.layer7_output,
        );
        let mut weight = ::std::vec![0i8; 10080];
        self.layer9.weights.unpack(1, 84, 120, &mut weight);
        file.set_weighted(
            "9",
            &[84, 120],
            &weight,
            &self.layer9_weight_scale,
            &self.layer9.bias,
            self.layer9_output,
        );
        let mut weight = ::std::vec![0i8; 840];
        self.layer11.weights.unpack(1, 10, 84, &mut weight);
        file.set_weighted(
            "11",
            &[10, 84],
            &weight,
            &self.layer11_weight_scale,
            &self.layer11.bias,
            self.layer11_output,
        );
        file.save(path)
    }
    /// Loads an int8 file saved by `save` (or written by another tool in the same
    /// layout), strictly: a missing, unexpected, mis-shaped or wrong-dtype tensor,
    /// a zero point outside the int8 range or a scale that is not positive is an error.
    pub fn load(
        path: impl ::core::convert::AsRef<::std::path::Path>,
    ) -> ::core::result::Result<Self, ::nn::Error> {
        let file = ::nn::int8::file::Int8File::load(path, &Self::LAYERS)?;
        ::core::result::Result::Ok(*Self::from_file(&file))
    }
    /// The model a checked int8 file holds, built on the heap (its weights may be
    /// larger than a stack).
    #[doc(hidden)]
    pub fn from_file(file: &::nn::int8::file::Int8File) -> ::std::boxed::Box<Self> {
        let mut net = unsafe { ::nn::frozen::zeroed_box::<Self>() };
        let q = file.input();
        net.input = q;
        {
            let (input, relu) = (q, true);
            net.layer0 = file
                .conv2d::<
                    1,
                    28,
                    28,
                    6,
                    28,
                    28,
                    13,
                    2,
                    4,
                >(
                    "0",
                    input,
                    ::nn::int8::Geometry {
                        kernel: [5, 5],
                        stride: [1, 1],
                        padding: [2, 2],
                        groups: 1,
                    },
                    relu,
                );
        }
        net.layer0_weight_scale.copy_from_slice(&file.weight_scale("0"));
        let q = file.output("0");
        net.layer0_output = q;
        {
            let (input, relu) = (q, true);
            net.layer3 = file
                .conv2d::<
                    6,
                    14,
                    14,
                    16,
                    10,
                    10,
                    75,
                    4,
                    4,
                >(
                    "3",
                    input,
                    ::nn::int8::Geometry {
                        kernel: [5, 5],
                        stride: [1, 1],
                        padding: [0, 0],
                        groups: 1,
                    },
                    relu,
                );
        }
        net.layer3_weight_scale.copy_from_slice(&file.weight_scale("3"));
        let q = file.output("3");
        net.layer3_output = q;
        {
            let (input, relu) = (q, true);
            net.layer7 = file.dense::<400, 120, 200, 30>("7", input, relu);
        }
        net.layer7_weight_scale.copy_from_slice(&file.weight_scale("7"));
        let q = file.output("7");
        net.layer7_output = q;
        {
            let (input, relu) = (q, true);
            net.layer9 = file.dense::<120, 84, 60, 21>("9", input, relu);
        }
        net.layer9_weight_scale.copy_from_slice(&file.weight_scale("9"));
        let q = file.output("9");
        net.layer9_output = q;
        {
            let (input, relu) = (q, false);
            net.layer11 = file.dense::<84, 10, 42, 3>("11", input, relu);
        }
        net.layer11_weight_scale.copy_from_slice(&file.weight_scale("11"));
        let q = file.output("11");
        net.layer11_output = q;
        let _ = q;
        net
    }
}
impl<F: ::nn::Float> LeNet<F> {
    /// Input features per sample (`C*H*W` for an image network).
    pub const INPUT: usize = 784;
    /// Output features per sample.
    pub const OUTPUT: usize = 10;
    /// The shape of one input sample, as declared.
    pub const INPUT_SHAPE: [usize; 3] = [1, 28, 28];
    /// The shape of one output sample.
    pub const OUTPUT_SHAPE: [usize; 1] = [10];
    /// Number of trainable scalars.
    pub const NUM_PARAMS: usize = 0 + 156 + 0 + 0 + 2416 + 0 + 0 + 0 + 48120 + 0 + 10164
        + 0 + 850;
    /// Multiply-accumulates of one inference (those of its Linear and Conv2d
    /// layers, the work that dominates it).
    pub const MACS: usize = 0 + 117600 + 0 + 0 + 240000 + 0 + 0 + 0 + 48000 + 0 + 10080
        + 0 + 840;
    /// Bytes of the frozen model: what its weights take in flash.
    pub const FROZEN_BYTES: usize = ::core::mem::size_of::<LeNetFrozen<F>>();
    /// Activation bytes of `infer_with`: the arena its plan needs
    /// (the frozen struct's `ARENA`), where the layers' outputs reuse each other's space once
    /// dead, so that it holds the most bytes live at once (a chain's largest
    /// adjacent pair) rather than their sum. The input and output are the caller's.
    /// `infer` holds this much on the stack; stack frames and register spills
    /// come on top.
    pub const SCRATCH_BYTES: usize = LeNetFrozen::<f32>::ARENA.len
        * ::core::mem::size_of::<F>();
}
#[automatically_derived]
impl<F: ::nn::Float> ::nn::Network for LeNet<F> {
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
    const NAME: &'static str = "LeNet";
}
#[automatically_derived]
impl<F: ::nn::Float> ::nn::Network for LeNetFrozen<F> {
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
    const NAME: &'static str = "LeNet";
}
#[automatically_derived]
impl<F: ::nn::Float, Source> ::nn::TakesInput<784, Source> for LeNet<F> {}
#[automatically_derived]
impl<F: ::nn::Float, Consumer> ::nn::ProducesOutput<10, Consumer> for LeNet<F> {}
#[automatically_derived]
impl<F: ::nn::Float, Next: ::nn::TakesInput<10, LeNet<F>>> ::nn::Feeds<Next>
for LeNet<F> {}
const _: () = ::core::assert!(
    ::core::matches!(::nn::frozen::window_output(28, 5, 1, 2),
    ::core::option::Option::Some(28)) && ::core::matches!(::nn::frozen::window_output(28,
    5, 1, 2), ::core::option::Option::Some(28)),
    "nn-macros and nn-runtime disagree on this layer's output size",
);
const _: () = ::core::assert!(
    < ::nn::activation::Relu as ::nn::activation::Activation < f32 >> ::DF_FROM_OUTPUT ==
    true,
    "nn-macros and nn-runtime disagree on whether this activation differentiates from its output",
);
const _: () = ::core::assert!(
    ::core::matches!(::nn::frozen::window_output(28, 2, 2, 0),
    ::core::option::Option::Some(14)) && ::core::matches!(::nn::frozen::window_output(28,
    2, 2, 0), ::core::option::Option::Some(14)),
    "nn-macros and nn-runtime disagree on this layer's output size",
);
const _: () = ::core::assert!(
    ::core::matches!(::nn::frozen::window_output(14, 5, 1, 0),
    ::core::option::Option::Some(10)) && ::core::matches!(::nn::frozen::window_output(14,
    5, 1, 0), ::core::option::Option::Some(10)),
    "nn-macros and nn-runtime disagree on this layer's output size",
);
const _: () = ::core::assert!(
    < ::nn::activation::Relu as ::nn::activation::Activation < f32 >> ::DF_FROM_OUTPUT ==
    true,
    "nn-macros and nn-runtime disagree on whether this activation differentiates from its output",
);
const _: () = ::core::assert!(
    ::core::matches!(::nn::frozen::window_output(10, 2, 2, 0),
    ::core::option::Option::Some(5)) && ::core::matches!(::nn::frozen::window_output(10,
    2, 2, 0), ::core::option::Option::Some(5)),
    "nn-macros and nn-runtime disagree on this layer's output size",
);
const _: () = ::core::assert!(
    < ::nn::activation::Relu as ::nn::activation::Activation < f32 >> ::DF_FROM_OUTPUT ==
    true,
    "nn-macros and nn-runtime disagree on whether this activation differentiates from its output",
);
const _: () = ::core::assert!(
    < ::nn::activation::Relu as ::nn::activation::Activation < f32 >> ::DF_FROM_OUTPUT ==
    true,
    "nn-macros and nn-runtime disagree on whether this activation differentiates from its output",
);
#[doc(hidden)]
#[allow(non_snake_case)]
mod __nn_input_of_LeNet {
    #[allow(unused_macros)]
    macro_rules! LeNet {
        (@ nn_input[$($head:tt)*] { $($body:tt)* }) => {
            ::nn::network! { @ nn_nested $($head)* { input : [1, 28, 28], $($body)* } }
        };
    }
    #[allow(unused_imports)]
    pub(crate) use LeNet;
}
#[doc(hidden)]
#[allow(unused_imports)]
pub(crate) use __nn_input_of_LeNet::LeNet;
