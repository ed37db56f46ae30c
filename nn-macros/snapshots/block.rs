pub struct Block<F: ::nn::Float = f32> {
    ///`Linear(16, 16)` (state-dict key `0`).
    pub layer0: ::nn::layers::Linear<F>,
    ///`Linear(16, 16)` (state-dict key `1.0`).
    pub layer1_0: ::nn::layers::Linear<F>,
    ///`Encoder` (state-dict key `enc`).
    pub enc: Encoder<F>,
    ///`Linear(8, 4)` (state-dict key `3`).
    pub layer3: ::nn::layers::Linear<F>,
}
///What [`Block::backward`] needs from [`Block::forward_train`]; it may borrow the batch.
pub struct BlockTape<'a, F: ::nn::Float = f32> {
    x0: ::nn::ndarray::CowArray<'a, F, ::nn::ndarray::Ix2>,
    x3: ::nn::ndarray::Array<F, ::nn::ndarray::Ix2>,
    r1_x0: ::nn::ndarray::Array<F, ::nn::ndarray::Ix2>,
    r1_x1: ::nn::ndarray::Array<F, ::nn::ndarray::Ix2>,
    net2: EncoderTape<'a, F>,
    _batch: ::core::marker::PhantomData<&'a F>,
}
impl<F: ::nn::Float> Block<F> {
    /// A freshly initialised network: PyTorch's default init for every layer.
    pub fn init<R: ::nn::rand::Rng + ?Sized>(rng: &mut R) -> Self {
        Block {
            layer0: ::nn::layers::Linear::init(16, 16, true, rng),
            layer1_0: ::nn::layers::Linear::init(16, 16, true, rng),
            enc: Encoder::init(rng),
            layer3: ::nn::layers::Linear::init(8, 4, true, rng),
        }
    }
    /// A network with every parameter zero (what `load` fills in).
    #[doc(hidden)]
    pub fn zeroed() -> Self {
        Block {
            layer0: ::nn::layers::Linear::zeros(16, 16, true),
            layer1_0: ::nn::layers::Linear::zeros(16, 16, true),
            enc: Encoder::zeroed(),
            layer3: ::nn::layers::Linear::zeros(8, 4, true),
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
        ::nn::check_batch("Block", x.shape(), &[16])?;
        let x0 = ::nn::ndarray::CowArray::from(x);
        let x1 = self.layer0.forward(x0.view());
        let r1_x0 = x1.to_owned();
        let r1_x1 = self.layer1_0.forward(r1_x0.view());
        let r1_x2 = ::nn::layers::activation::forward_in_place(
            ::nn::activation::Gelu,
            r1_x1,
        );
        let mut x2 = r1_x2;
        x2 += &x1;
        let x3 = self.enc.forward(x2.view());
        let x4 = self.layer3.forward(x3.view());
        ::core::result::Result::Ok(x4)
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
        x: ::nn::ndarray::ArrayView<'a, F, ::nn::ndarray::Ix2>,
    ) -> (::nn::ndarray::Array<F, ::nn::ndarray::Ix2>, BlockTape<'a, F>) {
        self.forward_train_cow(::nn::ndarray::CowArray::from(x))
    }
    /// [`Self::forward_train`] for a batch that is borrowed or owned: an owned
    /// batch moves into the tape instead of being borrowed from the caller.
    pub fn forward_train_cow<'a>(
        &self,
        x: ::nn::ndarray::CowArray<'a, F, ::nn::ndarray::Ix2>,
    ) -> (::nn::ndarray::Array<F, ::nn::ndarray::Ix2>, BlockTape<'a, F>) {
        ::nn::check_batch("Block", x.shape(), &[16]).unwrap_or_else(|e| panic!("{e}"));
        let x0 = x;
        let x1 = self.layer0.forward(x0.view());
        let r1_x0 = x1.to_owned();
        let r1_x1 = self.layer1_0.forward(r1_x0.view());
        let r1_x2 = ::nn::layers::activation::forward(
            ::nn::activation::Gelu,
            r1_x1.view(),
        );
        let mut x2 = r1_x2;
        x2 += &x1;
        let (x3, net2) = self.enc.forward_train_cow(::nn::ndarray::CowArray::from(x2));
        let x4 = self.layer3.forward(x3.view());
        (
            x4,
            BlockTape {
                x0,
                x3,
                r1_x0,
                r1_x1,
                net2,
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
        tape: BlockTape<'_, F>,
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
        tape: BlockTape<'_, F>,
        grad_out: ::nn::ndarray::ArrayView<F, ::nn::ndarray::Ix2>,
    ) -> ::nn::ndarray::Array<F, ::nn::ndarray::Ix2> {
        self.backward_from(tape, grad_out, true).expect("input gradient requested")
    }
    /// The backward pass in reverse layer order; `input_grad` asks for d loss / d input.
    #[doc(hidden)]
    pub fn backward_from(
        &mut self,
        tape: BlockTape<'_, F>,
        grad_out: ::nn::ndarray::ArrayView<F, ::nn::ndarray::Ix2>,
        input_grad: bool,
    ) -> ::core::option::Option<::nn::ndarray::Array<F, ::nn::ndarray::Ix2>> {
        ::nn::check_batch("Block", grad_out.shape(), &[4])
            .unwrap_or_else(|e| panic!("gradient: {e}"));
        let g = grad_out;
        self.layer3.backward(tape.x3.view(), g.view());
        let g = self.layer3.input_grad(g.view());
        let mut g = self
            .enc
            .backward_from(tape.net2, g.view(), true)
            .expect("input gradient requested");
        let skip1 = {
            let mut g = g.to_owned();
            ::nn::layers::activation::backward_in_place(
                ::nn::activation::Gelu,
                tape.r1_x1.view(),
                g.view_mut(),
            );
            self.layer1_0.backward(tape.r1_x0.view(), g.view());
            self.layer1_0.input_grad(g.view())
        };
        g += &skip1;
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
    pub fn freeze(&self) -> ::std::boxed::Box<BlockFrozen<F>> {
        let mut frozen = unsafe { ::nn::frozen::zeroed_box::<BlockFrozen<F>>() };
        self.freeze_into(&mut frozen);
        frozen
    }
    /// Copies every weight into an existing frozen model (of a network used as a layer).
    #[doc(hidden)]
    pub fn freeze_into(&self, frozen: &mut BlockFrozen<F>) {
        self.layer0
            .freeze_into(
                frozen.layer0_weight.as_flattened_mut(),
                Some(&mut frozen.layer0_bias),
            );
        self.layer1_0
            .freeze_into(
                frozen.layer1_0_weight.as_flattened_mut(),
                Some(&mut frozen.layer1_0_bias),
            );
        self.enc.freeze_into(&mut frozen.enc);
        self.layer3
            .freeze_into(
                frozen.layer3_weight.as_flattened_mut(),
                Some(&mut frozen.layer3_bias),
            );
    }
}
///[`Block::train_step`]'s buffers: the output and its gradient.
pub type BlockWorkspace<F = f32> = ::nn::TapedWorkspace<F>;
impl<F: ::nn::Float> Block<F> {
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
        ws: &mut BlockWorkspace<F>,
        x: ::nn::ndarray::ArrayView<F, ::nn::ndarray::Ix2>,
        target: L::Target<'_>,
        loss: &L,
    ) -> F {
        ::nn::taped_train_step(self, ws, x, target, loss)
    }
    /// Inference on a batch (dropout off, running statistics) into `ws`'s buffers:
    /// for networks with a workspace form, nothing is allocated after the first call
    /// at a batch size. Returns the output `[batch, OUTPUT]`, which lives in `ws`.
    ///
    /// # Panics
    /// If the batch's feature dimensions differ from the declaration.
    pub fn forward_with<'w>(
        &self,
        ws: &'w mut BlockWorkspace<F>,
        x: ::nn::ndarray::ArrayView<F, ::nn::ndarray::Ix2>,
    ) -> ::nn::ndarray::ArrayView2<'w, F> {
        ws.store_output(self.forward(x))
    }
}
#[automatically_derived]
impl<F: ::nn::Float> ::nn::Params<F> for Block<F> {
    fn visit(&self, visitor: &mut dyn FnMut(&str, ::nn::Entry<'_, F>)) {
        self.layer0.visit(["0.weight", "0.bias"], visitor);
        self.layer1_0.visit(["1.0.weight", "1.0.bias"], visitor);
        self.enc
            .visit(
                &mut |name, entry| visitor(&::std::format!("{}{}", "enc.", name), entry),
            );
        self.layer3.visit(["3.weight", "3.bias"], visitor);
    }
    fn visit_mut(&mut self, visitor: &mut dyn FnMut(&str, ::nn::EntryMut<'_, F>)) {
        self.layer0.visit_mut(["0.weight", "0.bias"], visitor);
        self.layer1_0.visit_mut(["1.0.weight", "1.0.bias"], visitor);
        self.enc
            .visit_mut(
                &mut |name, entry| visitor(&::std::format!("{}{}", "enc.", name), entry),
            );
        self.layer3.visit_mut(["3.weight", "3.bias"], visitor);
    }
}
#[automatically_derived]
impl<F: ::nn::Float> ::nn::Model<F> for Block<F> {
    type InputDim = ::nn::ndarray::Ix2;
    type OutputDim = ::nn::ndarray::Ix2;
    type Tape<'a> = BlockTape<'a, F>;
    type Workspace = BlockWorkspace<F>;
    fn init<R: ::nn::rand::Rng + ?Sized>(rng: &mut R) -> Self {
        Block::init(rng)
    }
    fn forward(
        &self,
        x: ::nn::ndarray::ArrayView<F, ::nn::ndarray::Ix2>,
    ) -> ::nn::ndarray::Array<F, ::nn::ndarray::Ix2> {
        Block::forward(self, x)
    }
    fn try_forward(
        &self,
        x: ::nn::ndarray::ArrayView<F, ::nn::ndarray::Ix2>,
    ) -> ::core::result::Result<
        ::nn::ndarray::Array<F, ::nn::ndarray::Ix2>,
        ::nn::Error,
    > {
        Block::try_forward(self, x)
    }
    fn forward_train_cow<'a>(
        &self,
        x: ::nn::ndarray::CowArray<'a, F, ::nn::ndarray::Ix2>,
    ) -> (::nn::ndarray::Array<F, ::nn::ndarray::Ix2>, BlockTape<'a, F>) {
        Block::forward_train_cow(self, x)
    }
    fn backward(
        &mut self,
        tape: BlockTape<'_, F>,
        grad_out: ::nn::ndarray::ArrayView<F, ::nn::ndarray::Ix2>,
    ) {
        Block::backward(self, tape, grad_out)
    }
    fn backward_with_input_grad(
        &mut self,
        tape: BlockTape<'_, F>,
        grad_out: ::nn::ndarray::ArrayView<F, ::nn::ndarray::Ix2>,
    ) -> ::nn::ndarray::Array<F, ::nn::ndarray::Ix2> {
        Block::backward_with_input_grad(self, tape, grad_out)
    }
    fn train_step<L: ::nn::loss::Loss<F>>(
        &mut self,
        ws: &mut BlockWorkspace<F>,
        x: ::nn::ndarray::ArrayView<F, ::nn::ndarray::Ix2>,
        target: L::Target<'_>,
        loss: &L,
    ) -> F {
        Block::train_step(self, ws, x, target, loss)
    }
    fn step_output(ws: &BlockWorkspace<F>) -> ::nn::ndarray::ArrayView2<'_, F> {
        ws.output()
    }
    fn save(
        &self,
        path: impl ::core::convert::AsRef<::std::path::Path>,
    ) -> ::core::result::Result<(), ::nn::Error> {
        Block::save(self, path)
    }
    fn load(
        path: impl ::core::convert::AsRef<::std::path::Path>,
    ) -> ::core::result::Result<Self, ::nn::Error> {
        Block::load(path)
    }
}
::nn::__no_std_only! {
    pub struct Block < F = f32 > (::core::marker::PhantomData < F >);
}
///`Block` frozen for inference: weights in fixed-size arrays, no heap, `no_std`.
#[repr(C)]
pub struct BlockFrozen<F = f32> {
    ///`Linear(16, 16)` weight, input-major `[in][out]`.
    pub layer0_weight: [[F; 16]; 16],
    ///`Linear(16, 16)` bias.
    pub layer0_bias: [F; 16],
    ///`Linear(16, 16)` weight, input-major `[in][out]`.
    pub layer1_0_weight: [[F; 16]; 16],
    ///`Linear(16, 16)` bias.
    pub layer1_0_bias: [F; 16],
    ///`Encoder` frozen.
    pub enc: EncoderFrozen<F>,
    ///`Linear(8, 4)` weight, input-major `[in][out]`.
    pub layer3_weight: [[F; 4]; 8],
    ///`Linear(8, 4)` bias.
    pub layer3_bias: [F; 4],
    _scalar: ::core::marker::PhantomData<F>,
}
impl BlockFrozen<f32> {
    /// Where each activation buffer of `infer_with` lives in its arena, in
    /// elements of the scalar (the same for `f32` and `f64`).
    pub const ARENA: ::nn::arena::Plan<4> = ::nn::arena::plan([
        ::nn::arena::Buffer {
            len: 16,
            first: 0,
            last: 3,
        },
        ::nn::arena::Buffer {
            len: 16,
            first: 1,
            last: 4,
        },
        ::nn::arena::Buffer {
            len: 8,
            first: 4,
            last: 5,
        },
        ::nn::arena::Buffer {
            len: EncoderFrozen::<f32>::ARENA.len,
            first: 4,
            last: 4,
        },
    ]);
}
impl<F: ::nn::Float> BlockFrozen<F> {
    /// Inference on one sample, its activations in an arena on the stack
    /// (`SCRATCH_BYTES` of it); allocates nothing. The same bits as `infer_with`.
    pub fn infer(&self, x: &[F; 16]) -> [F; 4] {
        let mut arena = [F::zero(); BlockFrozen::<f32>::ARENA.len];
        let mut output = [F::zero(); 4];
        self.infer_in(x, &mut output, &mut arena);
        output
    }
    ///Inference on one sample in `scratch`, a buffer the caller provides (a `static`, or `nn::Scratch::boxed()`): no stack beyond the output and the kernels' own locals. `N` must be at least `Block::<F>::SCRATCH_BYTES`, checked at compile time.
    pub fn infer_with<const N: usize>(
        &self,
        x: &[F; 16],
        scratch: &mut ::nn::Scratch<N>,
    ) -> [F; 4] {
        const {
            ::core::assert!(
                N >= Block:: < F > ::SCRATCH_BYTES,
                "the scratch is smaller than the network's SCRATCH_BYTES"
            )
        };
        let mut output = [F::zero(); 4];
        self.infer_in(x, &mut output, scratch.elements_mut::<F>());
        output
    }
    /// `input` through every layer into `output`, the activations in `arena` at
    /// the offsets of `ARENA` (at least `ARENA.len` elements).
    #[doc(hidden)]
    pub fn infer_in(&self, input: &[F; 16], output: &mut [F; 4], arena: &mut [F]) {
        {
            let x: &[F; 16] = ::nn::arena::cast(::nn::arena::scalars(input));
            let [y] = ::nn::arena::regions(
                arena,
                [(BlockFrozen::<f32>::ARENA.offsets[0], 16)],
            );
            let y: &mut [F; 16] = ::nn::arena::cast_mut(y);
            ::nn::frozen::dense_into(&self.layer0_weight, Some(&self.layer0_bias), x, y);
        }
        {
            let [x, y] = ::nn::arena::regions(
                arena,
                [
                    (BlockFrozen::<f32>::ARENA.offsets[0], 16),
                    (BlockFrozen::<f32>::ARENA.offsets[1], 16),
                ],
            );
            let x: &[F; 16] = ::nn::arena::cast(x);
            let y: &mut [F; 16] = ::nn::arena::cast_mut(y);
            ::nn::frozen::dense_into(
                &self.layer1_0_weight,
                Some(&self.layer1_0_bias),
                x,
                y,
            );
        }
        {
            let [y] = ::nn::arena::regions(
                arena,
                [(BlockFrozen::<f32>::ARENA.offsets[1], 16)],
            );
            let y: &mut [F; 16] = ::nn::arena::cast_mut(y);
            ::nn::frozen::activate(::nn::activation::Gelu, ::nn::arena::scalars_mut(y));
        }
        {
            let [x, y] = ::nn::arena::regions(
                arena,
                [
                    (BlockFrozen::<f32>::ARENA.offsets[0], 16),
                    (BlockFrozen::<f32>::ARENA.offsets[1], 16),
                ],
            );
            let x: &[F; 16] = ::nn::arena::cast(x);
            let y: &mut [F; 16] = ::nn::arena::cast_mut(y);
            ::nn::frozen::add_in_place(
                ::nn::arena::scalars_mut(y),
                ::nn::arena::scalars(x),
            );
        }
        {
            let [x, y, scratch] = ::nn::arena::regions(
                arena,
                [
                    (BlockFrozen::<f32>::ARENA.offsets[1], 16),
                    (BlockFrozen::<f32>::ARENA.offsets[2], 8),
                    (
                        BlockFrozen::<f32>::ARENA.offsets[3],
                        EncoderFrozen::<f32>::ARENA.len,
                    ),
                ],
            );
            let x: &[F; 16] = ::nn::arena::cast(x);
            let y: &mut [F; 8] = ::nn::arena::cast_mut(y);
            let scratch: &mut [F] = scratch;
            *y = {
                let mut out = ::core::array::from_fn(|_| F::zero());
                self.enc.infer_in(x, &mut out, scratch);
                out
            };
        }
        {
            let [x] = ::nn::arena::regions(
                arena,
                [(BlockFrozen::<f32>::ARENA.offsets[2], 8)],
            );
            let x: &[F; 8] = ::nn::arena::cast(x);
            let y: &mut [F; 4] = ::nn::arena::cast_mut(
                ::nn::arena::scalars_mut(&mut *output),
            );
            ::nn::frozen::dense_into(&self.layer3_weight, Some(&self.layer3_bias), x, y);
        }
    }
}
///`Block` has no int8 form: `GELU` (layer `1.1`) has no int8 form: of the activations, only ReLU has an int8 form here (a clamp at the zero point); run this network in f32 (`freeze`). `Block::quantize` returns this as an error.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BlockInt8 {}
impl Block<f32> {
    /// Post-training int8 quantisation: this network has none, see the int8 type.
    pub fn quantize(
        &self,
        _calibration: ::nn::ndarray::ArrayView<f32, ::nn::ndarray::Ix2>,
    ) -> ::core::result::Result<BlockInt8, ::nn::Error> {
        ::core::result::Result::Err(::nn::Error::InvalidLayer {
            layer: ::std::string::String::from("Block"),
            reason: ::std::string::String::from(
                "`GELU` (layer `1.1`) has no int8 form: of the activations, only ReLU has an int8 form here (a clamp at the zero point); run this network in f32 (`freeze`)",
            ),
        })
    }
}
impl<F: ::nn::Float> Block<F> {
    /// Input features per sample (`C*H*W` for an image network).
    pub const INPUT: usize = 16;
    /// Output features per sample.
    pub const OUTPUT: usize = 4;
    /// The shape of one input sample, as declared.
    pub const INPUT_SHAPE: [usize; 1] = [16];
    /// The shape of one output sample.
    pub const OUTPUT_SHAPE: [usize; 1] = [4];
    /// Number of trainable scalars.
    pub const NUM_PARAMS: usize = 0 + 272 + 0 + 272 + 0 + Encoder::<F>::NUM_PARAMS + 36;
    /// Multiply-accumulates of one inference (those of its Linear and Conv2d
    /// layers, the work that dominates it).
    pub const MACS: usize = 0 + 256 + 0 + 256 + 0 + Encoder::<F>::MACS + 32;
    /// Bytes of the frozen model: what its weights take in flash.
    pub const FROZEN_BYTES: usize = ::core::mem::size_of::<BlockFrozen<F>>();
    /// Activation bytes of `infer_with`: the arena its plan needs
    /// (the frozen struct's `ARENA`), where the layers' outputs reuse each other's space once
    /// dead, so that it holds the most bytes live at once (a chain's largest
    /// adjacent pair) rather than their sum. The input and output are the caller's.
    /// `infer` holds this much on the stack; stack frames and register spills
    /// come on top.
    pub const SCRATCH_BYTES: usize = BlockFrozen::<f32>::ARENA.len
        * ::core::mem::size_of::<F>();
}
#[automatically_derived]
impl<F: ::nn::Float> ::nn::Network for Block<F> {
    type Input = ::nn::typenum::UInt<
        ::nn::typenum::UInt<
            ::nn::typenum::UInt<
                ::nn::typenum::UInt<
                    ::nn::typenum::UInt<::nn::typenum::UTerm, ::nn::typenum::B1>,
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
            ::nn::typenum::UInt<::nn::typenum::UTerm, ::nn::typenum::B1>,
            ::nn::typenum::B0,
        >,
        ::nn::typenum::B0,
    >;
    const NAME: &'static str = "Block";
}
#[automatically_derived]
impl<F: ::nn::Float> ::nn::Network for BlockFrozen<F> {
    type Input = ::nn::typenum::UInt<
        ::nn::typenum::UInt<
            ::nn::typenum::UInt<
                ::nn::typenum::UInt<
                    ::nn::typenum::UInt<::nn::typenum::UTerm, ::nn::typenum::B1>,
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
            ::nn::typenum::UInt<::nn::typenum::UTerm, ::nn::typenum::B1>,
            ::nn::typenum::B0,
        >,
        ::nn::typenum::B0,
    >;
    const NAME: &'static str = "Block";
}
#[automatically_derived]
impl<F: ::nn::Float, Source> ::nn::TakesInput<16, Source> for Block<F> {}
#[automatically_derived]
impl<F: ::nn::Float, Consumer> ::nn::ProducesOutput<4, Consumer> for Block<F> {}
#[automatically_derived]
impl<F: ::nn::Float, Next: ::nn::TakesInput<4, Block<F>>> ::nn::Feeds<Next>
for Block<F> {}
const _: () = ::core::assert!(
    < ::nn::activation::Gelu as ::nn::activation::Activation < f32 >> ::DF_FROM_OUTPUT ==
    false,
    "nn-macros and nn-runtime disagree on whether this activation differentiates from its output",
);
const _: fn() = ::nn::assert_takes_input::<Encoder<f32>, Block<f32>, 16>;
const _: fn() = ::nn::assert_produces_output::<Encoder<f32>, Block<f32>, 8>;
#[doc(hidden)]
#[allow(non_snake_case)]
mod __nn_input_of_Block {
    #[allow(unused_macros)]
    macro_rules! Block {
        (@ nn_input[$($head:tt)*] { $($body:tt)* }) => {
            ::nn::network! { @ nn_nested $($head)* { input : [16], $($body)* } }
        };
    }
    #[allow(unused_imports)]
    pub(crate) use Block;
}
#[doc(hidden)]
#[allow(unused_imports)]
pub(crate) use __nn_input_of_Block::Block;
