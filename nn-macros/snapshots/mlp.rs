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
    /// If the batch's feature dimensions differ from the declaration, or if a
    /// BatchNorm layer sees a single value per channel (a batch of 1 sample),
    /// which PyTorch refuses with a `ValueError`; `Trainer::fit` reports that
    /// case as `Error::SingleValueBatch` before training.
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
    ///
    /// # Panics
    /// If `grad_out`'s feature dimensions differ from the output's, or its batch
    /// size from the batch `tape` was recorded on.
    pub fn backward(
        &mut self,
        tape: MlpTape<'_, F>,
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
    /// If the batch's feature dimensions differ from the declaration, if `target`
    /// does not fit the output (the loss's own check), or if a BatchNorm layer sees
    /// a single value per channel, which PyTorch refuses with a `ValueError`;
    /// `Trainer::fit` reports the last as `Error::SingleValueBatch` before training.
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
impl MlpFrozen<f32> {
    /// Where each activation buffer of `infer_with` lives in its arena, in
    /// elements of the scalar (the same for `f32` and `f64`).
    pub const ARENA: ::nn::arena::Plan<1> = ::nn::arena::plan([
        ::nn::arena::Buffer {
            len: 256,
            first: 0,
            last: 2,
        },
    ]);
}
impl<F: ::nn::Float> MlpFrozen<F> {
    /// Inference on one sample, its activations in an arena on the stack
    /// (`SCRATCH_BYTES` of it); allocates nothing. The same bits as `infer_with`.
    pub fn infer(&self, x: &[F; 784]) -> [F; 10] {
        let mut arena = [F::zero(); MlpFrozen::<f32>::ARENA.len];
        let mut output = [F::zero(); 10];
        self.infer_in(x, &mut output, &mut arena);
        output
    }
    ///Inference on one sample in `scratch`, a buffer the caller provides (a `static`, or `nn::Scratch::boxed()`): no stack beyond the output and the kernels' own locals. `N` must be at least `Mlp::<F>::SCRATCH_BYTES`, checked at compile time.
    pub fn infer_with<const N: usize>(
        &self,
        x: &[F; 784],
        scratch: &mut ::nn::Scratch<N>,
    ) -> [F; 10] {
        const {
            ::core::assert!(
                N >= Mlp:: < F > ::SCRATCH_BYTES,
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
    pub fn infer_in(&self, input: &[F; 784], output: &mut [F; 10], arena: &mut [F]) {
        {
            let x: &[F; 784] = ::nn::arena::cast(::nn::arena::scalars(input));
            let [y] = ::nn::arena::regions(
                arena,
                [(MlpFrozen::<f32>::ARENA.offsets[0], 256)],
            );
            let y: &mut [F; 256] = ::nn::arena::cast_mut(y);
            ::nn::frozen::dense_into(&self.layer0_weight, Some(&self.layer0_bias), x, y);
        }
        {
            let [y] = ::nn::arena::regions(
                arena,
                [(MlpFrozen::<f32>::ARENA.offsets[0], 256)],
            );
            let y: &mut [F; 256] = ::nn::arena::cast_mut(y);
            ::nn::frozen::activate(::nn::activation::Relu, ::nn::arena::scalars_mut(y));
        }
        {
            let [x] = ::nn::arena::regions(
                arena,
                [(MlpFrozen::<f32>::ARENA.offsets[0], 256)],
            );
            let x: &[F; 256] = ::nn::arena::cast(x);
            let y: &mut [F; 10] = ::nn::arena::cast_mut(
                ::nn::arena::scalars_mut(&mut *output),
            );
            ::nn::frozen::dense_into(&self.layer2_weight, Some(&self.layer2_bias), x, y);
        }
    }
}
///`Mlp` quantised to int8 (TFLite's scheme): fixed-size arrays, no heap, `no_std`. Made by `Mlp::quantize`, `MlpInt8::load` or a baked `Mlp::INT8`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MlpInt8 {
    /// The input's scale and zero point.
    pub input: ::nn::int8::Quant,
    ///`Linear(784, 256)`: int8 weights and int32 bias, packed for the kernel.
    pub layer0: ::nn::int8::Dense<784, 256, 392, 64>,
    ///`Linear(784, 256)`: the scale of each output channel's weights.
    pub layer0_weight_scale: [f32; 256],
    ///`Linear(784, 256)`: its output's scale and zero point.
    pub layer0_output: ::nn::int8::Quant,
    ///`Linear(256, 10)`: int8 weights and int32 bias, packed for the kernel.
    pub layer2: ::nn::int8::Dense<256, 10, 128, 3>,
    ///`Linear(256, 10)`: the scale of each output channel's weights.
    pub layer2_weight_scale: [f32; 10],
    ///`Linear(256, 10)`: its output's scale and zero point.
    pub layer2_output: ::nn::int8::Quant,
}
///The activation memory of `MlpInt8::infer_with`: `MlpInt8::SCRATCH_BYTES` bytes, aligned to 16. `MlpInt8Scratch::new()` is `const`, so that it can be a `static`.
#[allow(dead_code)]
pub type MlpInt8Scratch = ::nn::Scratch<{ MlpInt8::SCRATCH_BYTES }>;
impl MlpInt8 {
    /// Where each activation buffer of `infer_with` lives in its arena, in bytes.
    pub const ARENA: ::nn::arena::Plan<1> = ::nn::arena::plan([
        ::nn::arena::Buffer {
            len: 256,
            first: 0,
            last: 1,
        },
    ]);
    /// Activation bytes of `infer_with`: the arena its plan needs (`ARENA`), where
    /// the layers' outputs reuse each other's space once dead, so that it holds the
    /// most bytes live at once (a chain's largest adjacent pair) rather than their
    /// sum. The input and output are the caller's.
    pub const SCRATCH_BYTES: usize = Self::ARENA.len;
    /// Int8 inference on one quantised sample: integer arithmetic only, no
    /// allocation, its activations in a scratch on the stack (`SCRATCH_BYTES`).
    pub fn infer(&self, x: &[i8; 784]) -> [i8; 10] {
        self.infer_with(x, &mut MlpInt8Scratch::new())
    }
    ///Int8 inference on one quantised sample in `scratch`, a buffer the caller provides (a `static` `MlpInt8Scratch`): the same bits as `infer`, no stack beyond the output and the kernels' own locals.
    pub fn infer_with(&self, x: &[i8; 784], scratch: &mut MlpInt8Scratch) -> [i8; 10] {
        let (input, mut out) = (x, [0i8; 10]);
        let output = &mut out;
        let arena = scratch.elements_mut::<i8>();
        {
            let x: &[i8; 784] = ::nn::arena::cast(::nn::arena::scalars(input));
            let [y] = ::nn::arena::regions(arena, [(MlpInt8::ARENA.offsets[0], 256)]);
            let y: &mut [i8; 256] = ::nn::arena::cast_mut(y);
            self.layer0.infer_into(x, y);
        }
        {
            let [x] = ::nn::arena::regions(arena, [(MlpInt8::ARENA.offsets[0], 256)]);
            let x: &[i8; 256] = ::nn::arena::cast(x);
            let y: &mut [i8; 10] = ::nn::arena::cast_mut(
                ::nn::arena::scalars_mut(&mut *output),
            );
            self.layer2.infer_into(x, y);
        }
        out
    }
    /// A float sample quantised with the input's scale and zero point.
    pub fn quantize_input(&self, x: &[f32; 784]) -> [i8; 784] {
        let mut q = [0i8; 784];
        self.input.quantize_slice(&x[..], &mut q[..]);
        q
    }
    /// An int8 output in real units, with the output's scale and zero point.
    pub fn dequantize_output(&self, y: &[i8; 10]) -> [f32; 10] {
        let mut out = [0.0f32; 10];
        self.layer2_output.dequantize_slice(&y[..], &mut out[..]);
        out
    }
    ///Int8 inference on a float sample: quantise, `infer`, dequantise.
    pub fn infer_f32(&self, x: &[f32; 784]) -> [f32; 10] {
        let y = self.dequantize_output(&self.infer(&self.quantize_input(x)));
        y
    }
}
impl Mlp<f32> {
    /// Post-training int8 quantisation, as TFLite's converter does it: each
    /// activation's range from this float model's forward pass over `calibration`
    /// (`[n, ..INPUT_SHAPE]`), BatchNorm folded first, weights per output channel,
    /// int32 biases, ReLU fused as a clamp.
    pub fn quantize(
        &self,
        calibration: ::nn::ndarray::ArrayView<f32, ::nn::ndarray::Ix2>,
    ) -> ::core::result::Result<MlpInt8, ::nn::Error> {
        ::nn::check_batch("Mlp", calibration.shape(), &[784])?;
        if calibration.shape()[0] == 0 {
            return ::core::result::Result::Err(
                ::nn::Error::Dataset(
                    ::std::format!(
                        "{}::quantize needs at least one calibration sample", "Mlp"
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
            let x = <&[f32; 784]>::try_from(flat)
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
            256,
            bias.as_deref(),
            q.scale,
        );
        let q = ranges.quant("1");
        file.set_weighted(
            "0",
            &[256, 784],
            &quantized.weight,
            &quantized.weight_scale,
            &quantized.bias,
            q,
        );
        let layer = &self.layer2;
        let weight = layer.weight.as_standard_layout();
        let bias = layer.bias.as_ref().map(|b| b.to_vec());
        let weight = weight.as_slice().expect("a standard-layout array is contiguous");
        let quantized = ::nn::int8::ptq::quantize_layer(
            weight,
            10,
            bias.as_deref(),
            q.scale,
        );
        let q = ranges.quant("2");
        file.set_weighted(
            "2",
            &[10, 256],
            &quantized.weight,
            &quantized.weight_scale,
            &quantized.bias,
            q,
        );
        let _ = q;
        ::core::result::Result::Ok(*MlpInt8::from_file(&file))
    }
}
impl<F: ::nn::Float> MlpFrozen<F> {
    /// `infer`, handing each layer's output to `observe` with the layer's key.
    #[doc(hidden)]
    pub fn __calibrate(
        &self,
        x: &[F; 784],
        observe: &mut dyn FnMut(&'static str, &[F]),
    ) {
        const PLAN: ::nn::arena::Plan<1> = ::nn::arena::plan([
            ::nn::arena::Buffer {
                len: 256,
                first: 0,
                last: 4,
            },
        ]);
        let mut arena = ::std::vec![F::zero(); PLAN.len];
        let arena = &mut arena[..];
        let (input, mut out) = (x, [F::zero(); 10]);
        let output = &mut out;
        {
            let x: &[F; 784] = ::nn::arena::cast(::nn::arena::scalars(input));
            let [y] = ::nn::arena::regions(arena, [(PLAN.offsets[0], 256)]);
            let y: &mut [F; 256] = ::nn::arena::cast_mut(y);
            ::nn::frozen::dense_into(&self.layer0_weight, Some(&self.layer0_bias), x, y);
        }
        {
            let [x] = ::nn::arena::regions(arena, [(PLAN.offsets[0], 256)]);
            let x: &[F; 256] = ::nn::arena::cast(x);
            observe("0", ::nn::arena::scalars(x));
        }
        {
            let [y] = ::nn::arena::regions(arena, [(PLAN.offsets[0], 256)]);
            let y: &mut [F; 256] = ::nn::arena::cast_mut(y);
            ::nn::frozen::activate(::nn::activation::Relu, ::nn::arena::scalars_mut(y));
        }
        {
            let [x] = ::nn::arena::regions(arena, [(PLAN.offsets[0], 256)]);
            let x: &[F; 256] = ::nn::arena::cast(x);
            observe("1", ::nn::arena::scalars(x));
        }
        {
            let [x] = ::nn::arena::regions(arena, [(PLAN.offsets[0], 256)]);
            let x: &[F; 256] = ::nn::arena::cast(x);
            let y: &mut [F; 10] = ::nn::arena::cast_mut(
                ::nn::arena::scalars_mut(&mut *output),
            );
            ::nn::frozen::dense_into(&self.layer2_weight, Some(&self.layer2_bias), x, y);
        }
        {
            let x: &[F; 10] = ::nn::arena::cast(::nn::arena::scalars(&*output));
            observe("2", ::nn::arena::scalars(x));
        }
    }
}
impl MlpInt8 {
    /// The layers of its int8 file, in order.
    pub const LAYERS: [::nn::int8::file::Layer<'static>; 2] = [
        ::nn::int8::file::Layer::Weighted {
            key: "0",
            shape: &[256, 784],
        },
        ::nn::int8::file::Layer::Weighted {
            key: "2",
            shape: &[10, 256],
        },
    ];
    /// Saves it as an int8 safetensors file, keyed like the float state dict.
    pub fn save(
        &self,
        path: impl ::core::convert::AsRef<::std::path::Path>,
    ) -> ::core::result::Result<(), ::nn::Error> {
        let mut file = ::nn::int8::file::Int8File::new();
        file.set_input(self.input);
        let mut weight = ::std::vec![0i8; 200704];
        self.layer0.weights.unpack(1, 256, 784, &mut weight);
        file.set_weighted(
            "0",
            &[256, 784],
            &weight,
            &self.layer0_weight_scale,
            &self.layer0.bias,
            self.layer0_output,
        );
        let mut weight = ::std::vec![0i8; 2560];
        self.layer2.weights.unpack(1, 10, 256, &mut weight);
        file.set_weighted(
            "2",
            &[10, 256],
            &weight,
            &self.layer2_weight_scale,
            &self.layer2.bias,
            self.layer2_output,
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
            net.layer0 = file.dense::<784, 256, 392, 64>("0", input, relu);
        }
        net.layer0_weight_scale.copy_from_slice(&file.weight_scale("0"));
        let q = file.output("0");
        net.layer0_output = q;
        {
            let (input, relu) = (q, false);
            net.layer2 = file.dense::<256, 10, 128, 3>("2", input, relu);
        }
        net.layer2_weight_scale.copy_from_slice(&file.weight_scale("2"));
        let q = file.output("2");
        net.layer2_output = q;
        let _ = q;
        net
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
    /// Multiply-accumulates of one inference (those of its Linear and Conv2d
    /// layers, the work that dominates it).
    pub const MACS: usize = 0 + 200704 + 0 + 2560;
    /// Bytes of the frozen model: what its weights take in flash.
    pub const FROZEN_BYTES: usize = ::core::mem::size_of::<MlpFrozen<F>>();
    /// Activation bytes of `infer_with`: the arena its plan needs
    /// (the frozen struct's `ARENA`), where the layers' outputs reuse each other's space once
    /// dead, so that it holds the most bytes live at once (a chain's largest
    /// adjacent pair) rather than their sum. The input and output are the caller's.
    /// `infer` holds this much on the stack; stack frames and register spills
    /// come on top.
    pub const SCRATCH_BYTES: usize = MlpFrozen::<f32>::ARENA.len
        * ::core::mem::size_of::<F>();
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
#[doc(hidden)]
#[allow(non_snake_case)]
mod __nn_input_of_Mlp {
    #[allow(unused_macros)]
    macro_rules! Mlp {
        (@ nn_input[$($head:tt)*] { $($body:tt)* }) => {
            ::nn::network! { @ nn_nested $($head)* { input : [784], $($body)* } }
        };
    }
    #[allow(unused_imports)]
    pub(crate) use Mlp;
}
#[doc(hidden)]
#[allow(unused_imports)]
pub(crate) use __nn_input_of_Mlp::Mlp;
