//! Stage 3: a checked network → Rust items. Emits one statement per layer (forward in
//! order, backward in reverse) that calls `nn` runtime kernels with constant shapes; it
//! never recomputes a shape (they come from `check`) and never inlines arithmetic.

use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};

use crate::check::Network;
use crate::layer::{Activation, CheckedLayer, Layer};
use crate::shape::Shape;

/// Everything `network!` emits for one declaration.
pub fn generate(net: &Network, frozen_weights: Option<TokenStream>) -> TokenStream {
    let Network { attrs, vis, name, .. } = net;
    let frozen = format_ident!("{}Frozen", name);
    let std_items = std_items(net);
    let frozen_items = frozen_items(net);
    let consts = shape_consts(net);
    let name_str = name.to_string();
    let (input_size, output_size) = (typenum(net.input.len()), typenum(net.output().len()));
    let (input_len, output_len) = (usize_lit(net.input.len()), usize_lit(net.output().len()));
    let nested_checks = nested_size_checks(net);
    quote! {
        ::nn::__std_only! { #std_items }
        ::nn::__no_std_only! {
            #(#attrs)*
            #vis struct #name<F = f32>(::core::marker::PhantomData<F>);
        }
        #frozen_items
        #consts
        impl<F: ::nn::Float> ::nn::Network for #name<F> {
            type Input = #input_size;
            type Output = #output_size;
            const NAME: &'static str = #name_str;
        }
        impl<F: ::nn::Float> ::nn::Network for #frozen<F> {
            type Input = #input_size;
            type Output = #output_size;
            const NAME: &'static str = #name_str;
        }
        impl<F: ::nn::Float, Source> ::nn::TakesInput<#input_len, Source> for #name<F> {}
        impl<F: ::nn::Float, Consumer> ::nn::ProducesOutput<#output_len, Consumer> for #name<F> {}
        impl<F: ::nn::Float, Next: ::nn::TakesInput<#output_len, #name<F>>> ::nn::Feeds<Next> for #name<F> {}
        #nested_checks
        #frozen_weights
    }
}

/// For each network used as a layer: compile-time proof that the sizes around it meet,
/// through [`nn::TakesInput`] / [`nn::ProducesOutput`] so a mismatch names both networks.
fn nested_size_checks(net: &Network) -> TokenStream {
    let name = &net.name;
    all_layers(&net.layers)
        .into_iter()
        .filter_map(|layer| match &layer.layer {
            Layer::Network(network) => {
                let (input, output) = (usize_lit(layer.input.len()), usize_lit(layer.output.len()));
                Some(quote! {
                    const _: fn() = ::nn::assert_takes_input::<#network<f32>, #name<f32>, #input>;
                    const _: fn() = ::nn::assert_produces_output::<#network<f32>, #name<f32>, #output>;
                })
            }
            _ => None,
        })
        .collect()
}

/// The type-level number `n` as typenum's binary `UInt<..., B1>` chain.
fn typenum(n: usize) -> TokenStream {
    if n == 0 {
        return quote!(::nn::typenum::UTerm);
    }
    let bit = if n & 1 == 1 { quote!(::nn::typenum::B1) } else { quote!(::nn::typenum::B0) };
    let rest = typenum(n >> 1);
    quote!(::nn::typenum::UInt<#rest, #bit>)
}

fn usize_lit(n: usize) -> Literal {
    Literal::usize_unsuffixed(n)
}

fn f64_lit(x: f64) -> Literal {
    Literal::f64_suffixed(x)
}

/// `[784]` / `[1, 28, 28]` as a literal array of `usize`.
fn dims_lit(shape: Shape) -> TokenStream {
    let dims = shape.dims().into_iter().map(usize_lit);
    quote!([#(#dims),*])
}

/// The ndarray dimension type of a batch of `shape`.
fn batch_dim(shape: Shape) -> TokenStream {
    match shape {
        Shape::Flat(_) => quote!(::nn::ndarray::Ix2),
        Shape::Image { .. } => quote!(::nn::ndarray::Ix4),
    }
}

/// The frozen (fixed-size array) type of one sample of `shape`.
fn frozen_array(shape: Shape) -> TokenStream {
    match shape {
        Shape::Flat(n) => {
            let n = usize_lit(n);
            quote!([F; #n])
        }
        Shape::Image { channels, height, width } => {
            let (c, h, w) = (usize_lit(channels), usize_lit(height), usize_lit(width));
            quote!([[[F; #w]; #h]; #c])
        }
    }
}

/// Every layer in execution order, residual chains flattened, for the parameter walk.
fn all_layers(layers: &[CheckedLayer]) -> Vec<&CheckedLayer> {
    let mut all = Vec::new();
    for layer in layers {
        all.push(layer);
        if let Layer::Residual(inner) = &layer.layer {
            all.extend(all_layers(inner));
        }
    }
    all
}

/// The runtime activation value for a resolved activation.
fn activation(act: &Activation) -> TokenStream {
    match act {
        Activation::Relu => quote!(::nn::activation::Relu),
        Activation::Sigmoid => quote!(::nn::activation::Sigmoid),
        Activation::Tanh => quote!(::nn::activation::Tanh),
        Activation::Gelu => quote!(::nn::activation::Gelu),
        Activation::LeakyRelu(slope) => {
            let slope = f64_lit(*slope);
            quote!(::nn::activation::LeakyRelu { slope: F::of(#slope) })
        }
    }
}

/// Whether an activation's derivative reads its output (so it may run in place).
fn df_from_output(act: &Activation) -> bool {
    matches!(act, Activation::Relu | Activation::Sigmoid | Activation::Tanh)
}

/// The number of trainable scalars of a layer, as a constant expression.
fn num_params(layer: &Layer) -> TokenStream {
    let n = match layer {
        Layer::Linear { inputs, outputs, bias } => inputs * outputs + if *bias { *outputs } else { 0 },
        Layer::Conv2d { in_channels, out_channels, kernel, bias, .. } => {
            out_channels * in_channels * kernel * kernel + if *bias { *out_channels } else { 0 }
        }
        Layer::BatchNorm { features, .. } => 2 * features,
        Layer::Network(network) => return quote!(#network::<F>::NUM_PARAMS),
        _ => 0,
    };
    let n = usize_lit(n);
    quote!(#n)
}

/// The associated constants of the network type, present with and without `std`.
fn shape_consts(net: &Network) -> TokenStream {
    let name = &net.name;
    let frozen = format_ident!("{}Frozen", name);
    let input = usize_lit(net.input.len());
    let output = usize_lit(net.output().len());
    let input_shape = dims_lit(net.input);
    let output_shape = dims_lit(net.output());
    let (in_rank, out_rank) = (usize_lit(net.input.dims().len()), usize_lit(net.output().dims().len()));
    let num_params = all_layers(&net.layers).into_iter().map(|l| num_params(&l.layer));
    let scratch = scratch_bytes(&net.layers);
    quote! {
        impl<F: ::nn::Float> #name<F> {
            /// Input features per sample (`C*H*W` for an image network).
            pub const INPUT: usize = #input;
            /// Output features per sample.
            pub const OUTPUT: usize = #output;
            /// The shape of one input sample, as declared.
            pub const INPUT_SHAPE: [usize; #in_rank] = #input_shape;
            /// The shape of one output sample.
            pub const OUTPUT_SHAPE: [usize; #out_rank] = #output_shape;
            /// Number of trainable scalars.
            pub const NUM_PARAMS: usize = 0 #(+ #num_params)*;
            /// Bytes of the frozen model: what its weights take in flash.
            pub const FROZEN_BYTES: usize = ::core::mem::size_of::<#frozen<F>>();
            /// Activation bytes of `infer`: the largest input-plus-output array pair of any
            /// layer (the first layer's input is the caller's), plus what nested chains and
            /// networks hold. Stack frames and register spills come on top of it.
            pub const SCRATCH_BYTES: usize = #scratch;
        }
    }
}

/// A constant expression for the largest activation storage `infer` holds at once:
/// each layer's input and output, plus what a nested chain or network holds inside.
fn scratch_bytes(layers: &[CheckedLayer]) -> TokenStream {
    let per_layer = layers.iter().map(|layer| {
        let arrays = usize_lit(layer.input.len() + layer.output.len());
        let inside = match &layer.layer {
            Layer::Residual(inner) => scratch_bytes(inner),
            Layer::Network(network) => quote!(#network::<F>::SCRATCH_BYTES),
            _ => quote!(0),
        };
        quote!(#arrays * ::core::mem::size_of::<F>() + #inside)
    });
    quote! {{
        let sizes = [#(#per_layer),*];
        let mut max = 0;
        let mut i = 0;
        while i < sizes.len() {
            if sizes[i] > max {
                max = sizes[i];
            }
            i += 1;
        }
        max
    }}
}

/// How a layer's state-dict keys read: `["0.weight", "0.bias"]`.
fn keys(layer: &CheckedLayer, names: &[&str]) -> TokenStream {
    let keys = names.iter().map(|n| format!("{}.{n}", layer.key));
    quote!([#(#keys),*])
}

/// The training struct, its tape, and the `Params`/`Model` impls: `std` only.
fn std_items(net: &Network) -> TokenStream {
    let Network { attrs, vis, name, .. } = net;
    let tape = format_ident!("{}Tape", name);
    let frozen = format_ident!("{}Frozen", name);
    let layers = all_layers(&net.layers);
    let has_dropout = layers.iter().any(|l| matches!(l.layer, Layer::Dropout { .. }));

    let mut fields = Vec::new();
    let mut inits = Vec::new();
    let mut zeros = Vec::new();
    let mut visits = Vec::new();
    let mut visits_mut = Vec::new();
    let mut freezes = Vec::new();
    for layer in &layers {
        let field = &layer.field;
        let doc = format!("`{}` (state-dict key `{}`).", describe(&layer.layer), layer.key);
        let frozen_names = frozen_fields(layer);
        let (first, second) = (&frozen_names.0, &frozen_names.1);
        let (ty, init, zero, visit_keys, freeze) = match &layer.layer {
            Layer::Linear { inputs, outputs, bias } => {
                let (i, o) = (usize_lit(*inputs), usize_lit(*outputs));
                let bias_out = if *bias { quote!(Some(&mut frozen.#second)) } else { quote!(None) };
                (
                    quote!(::nn::layers::Linear<F>),
                    quote!(::nn::layers::Linear::init(#i, #o, #bias, rng)),
                    quote!(::nn::layers::Linear::zeros(#i, #o, #bias)),
                    Some(keys(layer, &["weight", "bias"])),
                    quote!(self.#field.freeze_into(frozen.#first.as_flattened_mut(), #bias_out);),
                )
            }
            Layer::Conv2d { in_channels, out_channels, kernel, stride, padding, bias } => {
                let args = [in_channels, out_channels, kernel, stride, padding].map(|n| usize_lit(*n));
                let bias_out = if *bias { quote!(Some(&mut frozen.#second)) } else { quote!(None) };
                (
                    quote!(::nn::layers::Conv2d<F>),
                    quote!(::nn::layers::Conv2d::init(#(#args,)* #bias, rng)),
                    quote!(::nn::layers::Conv2d::zeros(#(#args,)* #bias)),
                    Some(keys(layer, &["weight", "bias"])),
                    quote! {
                        self.#field.freeze_into(
                            frozen.#first.as_flattened_mut().as_flattened_mut().as_flattened_mut(),
                            #bias_out,
                        );
                    },
                )
            }
            Layer::BatchNorm { features, eps, momentum } => {
                let (n, eps, momentum) = (usize_lit(*features), f64_lit(*eps), f64_lit(*momentum));
                let new = quote!(::nn::layers::BatchNorm::new(#n, #eps, #momentum));
                (
                    quote!(::nn::layers::BatchNorm<F>),
                    new.clone(),
                    new,
                    Some(keys(layer, &["weight", "bias", "running_mean", "running_var", "num_batches_tracked"])),
                    quote!(self.#field.freeze_into(&mut frozen.#first, &mut frozen.#second);),
                )
            }
            Layer::Network(network) => {
                let key = format!("{}.", layer.key);
                visits.push(
                    quote!(self.#field.visit(&mut |name, entry| visitor(&::std::format!("{}{}", #key, name), entry));),
                );
                visits_mut.push(
                    quote!(self.#field.visit_mut(&mut |name, entry| visitor(&::std::format!("{}{}", #key, name), entry));),
                );
                (
                    quote!(#network<F>),
                    quote!(#network::init(rng)),
                    quote!(#network::zeroed()),
                    None,
                    quote!(self.#field.freeze_into(&mut frozen.#field);),
                )
            }
            _ => continue,
        };
        fields.push(quote!(#[doc = #doc] pub #field: #ty));
        inits.push(quote!(#field: #init));
        zeros.push(quote!(#field: #zero));
        if let Some(keys) = visit_keys {
            visits.push(quote!(self.#field.visit(#keys, visitor);));
            visits_mut.push(quote!(self.#field.visit_mut(#keys, visitor);));
        }
        freezes.push(freeze);
    }
    if has_dropout {
        fields.push(quote!(dropout_rng: ::nn::layers::DropoutRng));
        inits.push(quote!(dropout_rng: ::nn::layers::DropoutRng::new(::nn::rand::Rng::random(rng))));
        zeros.push(quote!(dropout_rng: ::nn::layers::DropoutRng::new(0)));
    }

    let in_dim = batch_dim(net.input);
    let out_dim = batch_dim(net.output());
    let name_str = name.to_string();
    let input_shape = dims_lit(net.input);
    let output_shape = dims_lit(net.output());
    let training = ChainGen::new(&net.layers, String::new(), Storage::Cow, Mode::Training);
    let tape_fields = training.tape_fields();
    let (forward_train, tape_init) = training.forward(Mode::Training);
    let backward = training.backward(true);
    let inference = ChainGen::new(&net.layers, String::new(), Storage::Cow, Mode::Inference);
    let (forward_infer, _) = inference.forward(Mode::Inference);
    let output = training.value(net.layers.len());
    // A tape that keeps the output holds a copy, since the output goes to the caller.
    let output_clone =
        if training.keep[net.layers.len()] { quote!(let tape_output = #output.clone();) } else { quote!() };
    let tape_init: Vec<TokenStream> = tape_init
        .iter()
        .map(|value| if *value == output { quote!(#value: tape_output) } else { quote!(#value) })
        .collect();
    let workspace_items = workspace_items(net);
    let workspace = format_ident!("{}Workspace", name);
    let tape_doc = format!("What [`{name}::backward`] needs from [`{name}::forward_train`]; it may borrow the batch.");

    quote! {
        #(#attrs)*
        #vis struct #name<F: ::nn::Float = f32> {
            #(#fields,)*
        }

        #[doc = #tape_doc]
        #vis struct #tape<'a, F: ::nn::Float = f32> {
            #(#tape_fields,)*
            _batch: ::core::marker::PhantomData<&'a F>,
        }

        impl<F: ::nn::Float> #name<F> {
            /// A freshly initialised network: PyTorch's default init for every layer.
            pub fn init<R: ::nn::rand::Rng + ?Sized>(rng: &mut R) -> Self {
                #name { #(#inits,)* }
            }

            /// A network with every parameter zero (what `load` fills in).
            #[doc(hidden)]
            pub fn zeroed() -> Self {
                #name { #(#zeros,)* }
            }

            /// Inference on a batch (`[batch, ..INPUT_SHAPE]`): dropout off, running statistics.
            ///
            /// # Panics
            /// If the batch's feature dimensions differ from the declaration; see `try_forward`.
            pub fn forward(&self, x: ::nn::ndarray::ArrayView<F, #in_dim>) -> ::nn::ndarray::Array<F, #out_dim> {
                self.try_forward(x).unwrap_or_else(|e| panic!("{e}"))
            }

            /// Inference on a batch, with a wrong-shaped batch returned as [`nn::Error::Shape`].
            pub fn try_forward(
                &self,
                x: ::nn::ndarray::ArrayView<F, #in_dim>,
            ) -> ::core::result::Result<::nn::ndarray::Array<F, #out_dim>, ::nn::Error> {
                ::nn::check_batch(#name_str, x.shape(), &#input_shape)?;
                let x0 = ::nn::ndarray::CowArray::from(x);
                #forward_infer
                ::core::result::Result::Ok(#output)
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
                x: ::nn::ndarray::ArrayView<'a, F, #in_dim>,
            ) -> (::nn::ndarray::Array<F, #out_dim>, #tape<'a, F>) {
                self.forward_train_cow(::nn::ndarray::CowArray::from(x))
            }

            /// [`Self::forward_train`] for a batch that is borrowed or owned: an owned
            /// batch moves into the tape instead of being borrowed from the caller.
            pub fn forward_train_cow<'a>(
                &self,
                x: ::nn::ndarray::CowArray<'a, F, #in_dim>,
            ) -> (::nn::ndarray::Array<F, #out_dim>, #tape<'a, F>) {
                ::nn::check_batch(#name_str, x.shape(), &#input_shape).unwrap_or_else(|e| panic!("{e}"));
                let x0 = x;
                #forward_train
                #output_clone
                (#output, #tape { #(#tape_init,)* _batch: ::core::marker::PhantomData })
            }

            /// Accumulates every parameter's gradient from `grad_out` (d loss / d output).
            /// Like PyTorch for an input that needs no gradient, it skips d loss / d input.
            ///
            /// # Panics
            /// If `grad_out`'s feature dimensions differ from the output's, or its batch
            /// size from the batch `tape` was recorded on.
            pub fn backward(&mut self, tape: #tape<'_, F>, grad_out: ::nn::ndarray::ArrayView<F, #out_dim>) {
                self.backward_from(tape, grad_out, false);
            }

            /// [`Self::backward`], and returns d loss / d input (for a network used as a layer).
            ///
            /// # Panics
            /// As [`Self::backward`].
            pub fn backward_with_input_grad(
                &mut self,
                tape: #tape<'_, F>,
                grad_out: ::nn::ndarray::ArrayView<F, #out_dim>,
            ) -> ::nn::ndarray::Array<F, #in_dim> {
                self.backward_from(tape, grad_out, true).expect("input gradient requested")
            }

            /// The backward pass in reverse layer order; `input_grad` asks for d loss / d input.
            #[doc(hidden)]
            pub fn backward_from(
                &mut self,
                tape: #tape<'_, F>,
                grad_out: ::nn::ndarray::ArrayView<F, #out_dim>,
                input_grad: bool,
            ) -> ::core::option::Option<::nn::ndarray::Array<F, #in_dim>> {
                ::nn::check_batch(#name_str, grad_out.shape(), &#output_shape).unwrap_or_else(|e| panic!("gradient: {e}"));
                let g = grad_out;
                #backward
            }

            /// Sets every gradient to zero.
            pub fn zero_grad(&mut self) {
                ::nn::Params::zero_grads(self);
            }

            /// Saves the weights as safetensors with PyTorch `state_dict` keys.
            pub fn save(&self, path: impl ::core::convert::AsRef<::std::path::Path>) -> ::core::result::Result<(), ::nn::Error> {
                ::nn::io::save(self, path.as_ref())
            }

            /// Loads weights saved by `save` or by PyTorch (`nn.Sequential` of the same layers); strict.
            pub fn load(path: impl ::core::convert::AsRef<::std::path::Path>) -> ::core::result::Result<Self, ::nn::Error> {
                let mut model = Self::zeroed();
                ::nn::io::load(&mut model, path.as_ref())?;
                ::core::result::Result::Ok(model)
            }

            /// A fixed-size, heap-free copy for inference (`no_std` firmware bakes the same type).
            pub fn freeze(&self) -> ::std::boxed::Box<#frozen<F>> {
                // SAFETY: the frozen struct holds only arrays of `F: Float` and a
                // `PhantomData`, for which all-zero bytes are valid (`0.0`).
                let mut frozen = unsafe { ::nn::frozen::zeroed_box::<#frozen<F>>() };
                self.freeze_into(&mut frozen);
                frozen
            }

            /// Copies every weight into an existing frozen model (of a network used as a layer).
            #[doc(hidden)]
            pub fn freeze_into(&self, frozen: &mut #frozen<F>) {
                #(#freezes)*
            }
        }

        #workspace_items

        impl<F: ::nn::Float> ::nn::Params<F> for #name<F> {
            fn visit(&self, visitor: &mut dyn FnMut(&str, ::nn::Entry<'_, F>)) {
                #(#visits)*
            }
            fn visit_mut(&mut self, visitor: &mut dyn FnMut(&str, ::nn::EntryMut<'_, F>)) {
                #(#visits_mut)*
            }
        }

        impl<F: ::nn::Float> ::nn::Model<F> for #name<F> {
            type InputDim = #in_dim;
            type OutputDim = #out_dim;
            type Tape<'a> = #tape<'a, F>;
            type Workspace = #workspace<F>;

            fn init<R: ::nn::rand::Rng + ?Sized>(rng: &mut R) -> Self {
                #name::init(rng)
            }
            fn forward(&self, x: ::nn::ndarray::ArrayView<F, #in_dim>) -> ::nn::ndarray::Array<F, #out_dim> {
                #name::forward(self, x)
            }
            fn try_forward(
                &self,
                x: ::nn::ndarray::ArrayView<F, #in_dim>,
            ) -> ::core::result::Result<::nn::ndarray::Array<F, #out_dim>, ::nn::Error> {
                #name::try_forward(self, x)
            }
            fn forward_train_cow<'a>(
                &self,
                x: ::nn::ndarray::CowArray<'a, F, #in_dim>,
            ) -> (::nn::ndarray::Array<F, #out_dim>, #tape<'a, F>) {
                #name::forward_train_cow(self, x)
            }
            fn backward(&mut self, tape: #tape<'_, F>, grad_out: ::nn::ndarray::ArrayView<F, #out_dim>) {
                #name::backward(self, tape, grad_out)
            }
            fn backward_with_input_grad(
                &mut self,
                tape: #tape<'_, F>,
                grad_out: ::nn::ndarray::ArrayView<F, #out_dim>,
            ) -> ::nn::ndarray::Array<F, #in_dim> {
                #name::backward_with_input_grad(self, tape, grad_out)
            }
            fn train_step<L: ::nn::loss::Loss<F>>(
                &mut self,
                ws: &mut #workspace<F>,
                x: ::nn::ndarray::ArrayView<F, #in_dim>,
                target: L::Target<'_>,
                loss: &L,
            ) -> F {
                #name::train_step(self, ws, x, target, loss)
            }
            fn step_output(ws: &#workspace<F>) -> ::nn::ndarray::ArrayView2<'_, F> {
                ws.output()
            }
            fn save(&self, path: impl ::core::convert::AsRef<::std::path::Path>) -> ::core::result::Result<(), ::nn::Error> {
                #name::save(self, path)
            }
            fn load(path: impl ::core::convert::AsRef<::std::path::Path>) -> ::core::result::Result<Self, ::nn::Error> {
                #name::load(path)
            }
        }
    }
}

/// How a layer reads in docs, as it is written in the DSL: `Linear(784, 256)`.
fn describe(layer: &Layer) -> String {
    let bias = |bias: &bool| if *bias { "" } else { ", bias = false" };
    match layer {
        Layer::Linear { inputs, outputs, bias: b } => format!("Linear({inputs}, {outputs}{})", bias(b)),
        Layer::Conv2d { in_channels, out_channels, kernel, stride, padding, bias: b } => format!(
            "Conv2d({in_channels}, {out_channels}, {kernel}, stride = {stride}, padding = {padding}{})",
            bias(b)
        ),
        Layer::BatchNorm { features, eps, momentum } => {
            format!("BatchNorm({features}, eps = {eps:?}, momentum = {momentum:?})")
        }
        Layer::Network(network) => network.to_string(),
        _ => String::new(),
    }
}

/// The frozen struct's field names for a layer's two tensors: weight and bias, or
/// BatchNorm's scale and shift.
fn frozen_fields(layer: &CheckedLayer) -> (Ident, Ident) {
    let field = &layer.field;
    match layer.layer {
        Layer::BatchNorm { .. } => (format_ident!("{}_scale", field), format_ident!("{}_shift", field)),
        _ => (format_ident!("{}_weight", field), format_ident!("{}_bias", field)),
    }
}

/// Whether a value between layers may borrow the caller's batch.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Storage {
    /// `CowArray<'a, F, D>`: the batch itself, or a reshaped view of it.
    Cow,
    /// `Array<F, D>`: computed by a layer.
    Owned,
}

/// Which forward pass is being generated.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// `try_forward`: dropout off, running statistics, nothing taped.
    Inference,
    /// `forward_train`: batch statistics, and every value backward needs is kept.
    Training,
}

/// Code generation for one chain of layers: the network's, or a `Residual`'s.
struct ChainGen<'l> {
    layers: &'l [CheckedLayer],
    /// Prepended to every local and tape field, so nested chains do not clash.
    prefix: String,
    /// How the chain's input is held.
    input: Storage,
    /// `keep[i]`: value `i` (the input of layer `i`; `n` is the output) goes in the tape.
    keep: Vec<bool>,
}

impl<'l> ChainGen<'l> {
    fn new(layers: &'l [CheckedLayer], prefix: String, input: Storage, mode: Mode) -> Self {
        let n = layers.len();
        let keep = (0..=n)
            .map(|i| {
                let input_needed = i < n && needs_input(&layers[i].layer);
                let output_needed = i > 0 && needs_output(&layers[i - 1].layer);
                mode == Mode::Training && (input_needed || output_needed)
            })
            .collect();
        ChainGen { layers, prefix, input, keep }
    }

    fn value(&self, i: usize) -> Ident {
        format_ident!("{}x{}", self.prefix, i)
    }

    /// A per-layer tape entry other than a value: a dropout mask, pooling indices, ...
    fn cache(&self, what: &str, i: usize) -> Ident {
        format_ident!("{}{}{}", self.prefix, what, i)
    }

    fn shape(&self, i: usize) -> Shape {
        if i == 0 {
            self.layers[0].input
        } else {
            self.layers[i - 1].output
        }
    }

    /// How each value is held: a `Flatten` of a borrowed batch stays borrowed.
    fn storage(&self) -> Vec<Storage> {
        let mut storage = vec![self.input];
        for layer in self.layers {
            let previous = *storage.last().expect("starts with the input");
            storage.push(if matches!(layer.layer, Layer::Flatten) { previous } else { Storage::Owned });
        }
        storage
    }

    /// The tape's fields for this chain, nested chains included.
    fn tape_fields(&self) -> Vec<TokenStream> {
        let storage = self.storage();
        let mut fields = Vec::new();
        for (i, &keep) in self.keep.iter().enumerate() {
            if keep {
                let (value, dim) = (self.value(i), batch_dim(self.shape(i)));
                fields.push(match storage[i] {
                    Storage::Cow => quote!(#value: ::nn::ndarray::CowArray<'a, F, #dim>),
                    Storage::Owned => quote!(#value: ::nn::ndarray::Array<F, #dim>),
                });
            }
        }
        for (i, layer) in self.layers.iter().enumerate() {
            let dim = batch_dim(layer.input);
            match &layer.layer {
                Layer::Dropout { .. } => {
                    let mask = self.cache("mask", i);
                    fields.push(quote!(#mask: ::nn::ndarray::Array<F, #dim>));
                }
                Layer::MaxPool2d { .. } => {
                    let indices = self.cache("pool", i);
                    fields.push(quote!(#indices: ::nn::layers::MaxPoolIndices));
                }
                Layer::BatchNorm { .. } => {
                    let cache = self.cache("bn", i);
                    fields.push(quote!(#cache: ::nn::layers::BatchNormCache<F>));
                }
                Layer::Residual(inner) => fields.extend(self.residual(i, inner, Mode::Training).tape_fields()),
                Layer::Network(network) => {
                    let (cache, tape) = (self.cache("net", i), format_ident!("{}Tape", network));
                    fields.push(quote!(#cache: #tape<'a, F>));
                }
                _ => {}
            }
        }
        fields
    }

    fn residual(&self, i: usize, inner: &'l [CheckedLayer], mode: Mode) -> ChainGen<'l> {
        ChainGen::new(inner, format!("{}r{}_", self.prefix, i), Storage::Owned, mode)
    }

    /// The forward pass, one statement per layer, ending with the chain's output in
    /// `self.value(n)`; returns the statements and the tape entries it fills.
    fn forward(&self, mode: Mode) -> (TokenStream, Vec<Ident>) {
        let storage = self.storage();
        let training = mode == Mode::Training;
        let mut body = TokenStream::new();
        let mut tape = Vec::new();
        for (i, layer) in self.layers.iter().enumerate() {
            let (x, y, field) = (self.value(i), self.value(i + 1), &layer.field);
            // A value the tape keeps must not be consumed by an in-place layer.
            let consumable = !self.keep[i];
            let owned = match (consumable, storage[i]) {
                (true, Storage::Owned) => quote!(#x),
                (true, Storage::Cow) => quote!(#x.into_owned()),
                (false, _) => quote!(#x.to_owned()),
            };
            body.extend(match &layer.layer {
                Layer::Linear { .. } | Layer::Conv2d { .. } => quote!(let #y = self.#field.forward(#x.view());),
                Layer::Activation(act) => {
                    let act = activation(act);
                    if consumable {
                        quote!(let #y = ::nn::layers::activation::forward_in_place(#act, #owned);)
                    } else {
                        quote!(let #y = ::nn::layers::activation::forward(#act, #x.view());)
                    }
                }
                Layer::Softmax => quote!(let #y = ::nn::layers::softmax::forward_in_place(#owned);),
                Layer::Dropout { p } if training => {
                    let (p, mask) = (f64_lit(*p), self.cache("mask", i));
                    tape.push(mask.clone());
                    quote!(let (#y, #mask) = ::nn::layers::dropout::forward_train(#p, #owned, &self.dropout_rng);)
                }
                Layer::Dropout { .. } => quote!(let #y = #x;),
                Layer::MaxPool2d { kernel, stride } => {
                    let (k, s) = (usize_lit(*kernel), usize_lit(*stride));
                    if training {
                        let indices = self.cache("pool", i);
                        tape.push(indices.clone());
                        quote!(let (#y, #indices) = ::nn::layers::pool::max_pool2d_train(#x.view(), #k, #s);)
                    } else {
                        quote!(let #y = ::nn::layers::pool::max_pool2d(#x.view(), #k, #s);)
                    }
                }
                Layer::AvgPool2d { kernel, stride } => {
                    let (k, s) = (usize_lit(*kernel), usize_lit(*stride));
                    quote!(let #y = ::nn::layers::pool::avg_pool2d(#x.view(), #k, #s);)
                }
                Layer::BatchNorm { .. } if training => {
                    let cache = self.cache("bn", i);
                    tape.push(cache.clone());
                    quote!(let (#y, #cache) = self.#field.forward_train(#x.view());)
                }
                Layer::BatchNorm { .. } => quote!(let #y = self.#field.forward(#x.view());),
                Layer::Flatten => match (layer.input, consumable, storage[i]) {
                    (Shape::Flat(_), _, _) => quote!(let #y = #x;),
                    (_, true, Storage::Cow) => quote!(let #y = ::nn::layers::flatten::flatten_cow(#x);),
                    _ => quote!(let #y = ::nn::layers::flatten::flatten(#owned);),
                },
                Layer::Residual(inner) => {
                    let chain = self.residual(i, inner, mode);
                    let (inner_body, inner_tape) = chain.forward(mode);
                    tape.extend(inner_tape);
                    let (inner_x, inner_y) = (chain.value(0), chain.value(inner.len()));
                    // The tape may keep the chain's output; the sum then starts from a copy.
                    let inner_out = if chain.keep[inner.len()] { quote!(#inner_y.clone()) } else { quote!(#inner_y) };
                    quote! {
                        let #inner_x = #x.to_owned();
                        #inner_body
                        let mut #y = #inner_out;
                        #y += &#x;
                    }
                }
                Layer::Network(_) if training => {
                    let cache = self.cache("net", i);
                    tape.push(cache.clone());
                    let cow = match (consumable, storage[i]) {
                        (true, Storage::Cow) => quote!(#x),
                        (true, Storage::Owned) => quote!(::nn::ndarray::CowArray::from(#x)),
                        (false, _) => quote!(::nn::ndarray::CowArray::from(#x.to_owned())),
                    };
                    quote!(let (#y, #cache) = self.#field.forward_train_cow(#cow);)
                }
                Layer::Network(_) => quote!(let #y = self.#field.forward(#x.view());),
            });
        }
        tape.extend(self.keep.iter().enumerate().filter(|(_, &keep)| keep).map(|(i, _)| self.value(i)));
        (body, tape)
    }

    /// The backward pass in reverse layer order. `g` holds d loss / d output on entry
    /// (a view). The block evaluates to the chain's input gradient: an `Option` gated
    /// by `input_grad` at the top level, an owned array for a nested chain.
    fn backward(&self, top_level: bool) -> TokenStream {
        let mut body = TokenStream::new();
        let mut g_is_view = true;
        for (i, layer) in self.layers.iter().enumerate().rev() {
            let field = &layer.field;
            let owned_g = if g_is_view { quote!(let mut g = g.to_owned();) } else { quote!(let mut g = g;) };
            let (x, y) = (self.value(i), self.value(i + 1));
            let stop_here = top_level && i == 0;
            let hw = match layer.input {
                Shape::Image { height, width, .. } => {
                    let (h, w) = (usize_lit(height), usize_lit(width));
                    quote!(, (#h, #w))
                }
                Shape::Flat(_) => quote!(),
            };
            let step = match &layer.layer {
                Layer::Linear { .. } => {
                    let accumulate = quote!(self.#field.backward(tape.#x.view(), g.view()););
                    if stop_here {
                        quote!(#accumulate return input_grad.then(|| self.#field.input_grad(g.view()));)
                    } else {
                        quote!(#accumulate let g = self.#field.input_grad(g.view());)
                    }
                }
                Layer::Conv2d { .. } => {
                    let accumulate = quote!(self.#field.backward(tape.#x.view(), g.view()););
                    if stop_here {
                        quote!(#accumulate return input_grad.then(|| self.#field.input_grad(g.view() #hw));)
                    } else {
                        quote!(#accumulate let g = self.#field.input_grad(g.view() #hw);)
                    }
                }
                Layer::Activation(act) => {
                    let saved = if df_from_output(act) { &y } else { &x };
                    let act = activation(act);
                    quote!(#owned_g ::nn::layers::activation::backward_in_place(#act, tape.#saved.view(), g.view_mut());)
                }
                Layer::Softmax => {
                    quote!(#owned_g ::nn::layers::softmax::backward_in_place(tape.#y.view(), g.view_mut());)
                }
                Layer::Dropout { .. } => {
                    let mask = self.cache("mask", i);
                    quote!(#owned_g ::nn::layers::dropout::backward_in_place(tape.#mask.view(), g.view_mut());)
                }
                Layer::MaxPool2d { .. } => {
                    let indices = self.cache("pool", i);
                    quote!(let g = ::nn::layers::pool::max_pool2d_backward(&tape.#indices, g.view());)
                }
                Layer::AvgPool2d { kernel, stride } => {
                    let (k, s) = (usize_lit(*kernel), usize_lit(*stride));
                    quote!(let g = ::nn::layers::pool::avg_pool2d_backward(g.view() #hw, #k, #s);)
                }
                Layer::BatchNorm { .. } => {
                    let cache = self.cache("bn", i);
                    quote! {
                        self.#field.update_running_stats(&tape.#cache);
                        let g = self.#field.backward(tape.#cache, g.view());
                    }
                }
                Layer::Flatten => match layer.input {
                    Shape::Flat(_) => quote!(),
                    Shape::Image { channels, height, width } => {
                        let (c, h, w) = (usize_lit(channels), usize_lit(height), usize_lit(width));
                        quote!(#owned_g let g = ::nn::layers::flatten::unflatten(g, (#c, #h, #w));)
                    }
                },
                Layer::Residual(inner) => {
                    let inner_backward = self.residual(i, inner, Mode::Training).backward(false);
                    let skip = self.cache("skip", i);
                    quote! {
                        let #skip = { let g = g.view(); #inner_backward };
                        #owned_g
                        g += &#skip;
                    }
                }
                Layer::Network(_) => {
                    let cache = self.cache("net", i);
                    if stop_here {
                        quote!(return self.#field.backward_from(tape.#cache, g.view(), input_grad);)
                    } else {
                        quote! {
                            let g = self.#field.backward_from(tape.#cache, g.view(), true)
                                .expect("input gradient requested");
                        }
                    }
                }
            };
            body.extend(step);
            if stop_here && matches!(layer.layer, Layer::Linear { .. } | Layer::Conv2d { .. } | Layer::Network(_)) {
                return body;
            }
            g_is_view = g_is_view && matches!((&layer.layer, layer.input), (Layer::Flatten, Shape::Flat(_)));
        }
        let g = if g_is_view { quote!(g.to_owned()) } else { quote!(g) };
        body.extend(if top_level { quote!(input_grad.then(|| #g)) } else { g });
        body
    }
}

fn needs_input(layer: &Layer) -> bool {
    match layer {
        Layer::Linear { .. } | Layer::Conv2d { .. } => true,
        Layer::Activation(act) => !df_from_output(act),
        _ => false,
    }
}

fn needs_output(layer: &Layer) -> bool {
    match layer {
        Layer::Activation(act) => df_from_output(act),
        Layer::Softmax => true,
        _ => false,
    }
}

/// `XWorkspace` and `X::train_step`: a training step (forward, loss, backward) into
/// preallocated buffers, so that after the first call at a batch size it allocates
/// nothing, and the gradients are written rather than added (no `zero_grad` pass).
///
/// Networks of dense layers (Linear, activations, Softmax, Dropout, Flatten) get the
/// buffer-reusing body; others run `forward_train`/`backward` inside the same API.
fn workspace_items(net: &Network) -> TokenStream {
    let Network { vis, name, .. } = net;
    let workspace = format_ident!("{}Workspace", name);
    let n = net.layers.len();
    let in_dim = batch_dim(net.input);
    let name_str = name.to_string();
    let input_shape = dims_lit(net.input);
    let dense = matches!(net.output(), Shape::Flat(_))
        && net.layers.iter().all(|l| {
            matches!(
                l.layer,
                Layer::Linear { .. } | Layer::Activation(_) | Layer::Softmax | Layer::Dropout { .. } | Layer::Flatten
            )
        });
    let doc = format!(
        "Buffers [`{name}::train_step`] reuses: after its first call at a batch size, a training step allocates nothing."
    );
    let batch_shape = |shape: Shape| {
        let dims = shape.dims().into_iter().map(usize_lit);
        quote!((batch, #(#dims),*))
    };

    let (fields, news, body, inference) = if dense {
        // The gradient of value i lives in buffer `gradient[i]`: elementwise layers work
        // in place on their output's gradient buffer, the others write a new one.
        let mut gradient = vec![n; n + 1];
        for i in (0..n).rev() {
            let elementwise =
                matches!(net.layers[i].layer, Layer::Activation(_) | Layer::Softmax | Layer::Dropout { .. });
            gradient[i] = if elementwise { gradient[i + 1] } else { i };
        }
        let value = |i: usize| {
            if i == 0 {
                quote!(x)
            } else {
                let v = format_ident!("x{}", i);
                quote!(ws.#v)
            }
        };
        let grad = |i: usize| format_ident!("g{}", gradient[i]);
        let mut fields = Vec::new();
        let mut news = Vec::new();
        for (i, layer) in (1..).zip(&net.layers) {
            let (x, dim, shape) = (format_ident!("x{}", i), batch_dim(layer.output), batch_shape(layer.output));
            fields.push(quote!(#x: ::nn::ndarray::Array<F, #dim>));
            news.push(quote!(#x: ::nn::ndarray::Array::zeros(#shape)));
            if gradient[i] == i {
                let g = format_ident!("g{}", i);
                fields.push(quote!(#g: ::nn::ndarray::Array<F, #dim>));
                news.push(quote!(#g: ::nn::ndarray::Array::zeros(#shape)));
            }
        }
        let mut forward = TokenStream::new();
        let mut inference = TokenStream::new();
        for (i, layer) in net.layers.iter().enumerate() {
            let (src, dst, field) = (value(i), format_ident!("x{}", i + 1), &layer.field);
            // Inference differs from training only in dropout, which it skips.
            inference.extend(match &layer.layer {
                Layer::Dropout { .. } => quote!(ws.#dst.assign(&#src);),
                _ => quote!(),
            });
            let step = match &layer.layer {
                Layer::Linear { .. } => quote!(self.#field.forward_into(#src.view(), &mut ws.#dst);),
                Layer::Activation(act) => {
                    let act = activation(act);
                    quote!(::nn::layers::activation::forward_into(#act, #src.view(), ws.#dst.view_mut());)
                }
                Layer::Softmax => quote! {
                    ws.#dst.assign(&#src);
                    ::nn::layers::softmax::softmax_rows(ws.#dst.view_mut());
                },
                Layer::Dropout { p } => {
                    let (p, mask) = (f64_lit(*p), format_ident!("mask{}", i));
                    let (dim, shape) = (batch_dim(layer.input), batch_shape(layer.input));
                    fields.push(quote!(#mask: ::nn::ndarray::Array<F, #dim>));
                    news.push(quote!(#mask: ::nn::ndarray::Array::zeros(#shape)));
                    quote! {
                        ::nn::layers::dropout::forward_train_into(
                            #p, #src.view(), ws.#dst.view_mut(), ws.#mask.view_mut(), &self.dropout_rng,
                        );
                    }
                }
                Layer::Flatten => quote!(::nn::layers::flatten::copy_flat(#src.view(), ws.#dst.view_mut());),
                _ => unreachable!("only dense layers take this path"),
            };
            if !matches!(layer.layer, Layer::Dropout { .. }) {
                inference.extend(step.clone());
            }
            forward.extend(step);
        }
        let mut backward = TokenStream::new();
        for (i, layer) in net.layers.iter().enumerate().rev() {
            let (src, out, field) = (value(i), format_ident!("x{}", i + 1), &layer.field);
            let (g_out, g_in) = (grad(i + 1), grad(i));
            backward.extend(match &layer.layer {
                Layer::Linear { .. } => {
                    let accumulate = quote! {
                        self.#field.backward_with(#src.view(), ws.#g_out.view(), ::nn::layers::Gradients::Overwrite);
                    };
                    if i == 0 {
                        accumulate
                    } else {
                        quote!(#accumulate self.#field.input_grad_into(ws.#g_out.view(), &mut ws.#g_in);)
                    }
                }
                _ if i == 0 => quote!(),
                Layer::Activation(act) => {
                    let saved = if df_from_output(act) { quote!(ws.#out) } else { src };
                    let act = activation(act);
                    quote!(::nn::layers::activation::backward_in_place(#act, #saved.view(), ws.#g_in.view_mut());)
                }
                Layer::Softmax => {
                    quote!(::nn::layers::softmax::backward_in_place(ws.#out.view(), ws.#g_in.view_mut());)
                }
                Layer::Dropout { .. } => {
                    let mask = format_ident!("mask{}", i);
                    quote!(::nn::layers::dropout::backward_in_place(ws.#mask.view(), ws.#g_in.view_mut());)
                }
                Layer::Flatten => quote!(::nn::layers::flatten::copy_flat(ws.#g_out.view(), ws.#g_in.view_mut());),
                _ => unreachable!("only dense layers take this path"),
            });
        }
        let (output, g_output) = (format_ident!("x{}", n), format_ident!("g{}", n));
        let body = quote! {
            #forward
            let value = loss.loss_and_grad_into(ws.#output.view(), target, &mut ws.#g_output);
            #backward
            value
        };
        fields.push(quote!(batch: usize));
        news.push(quote!(batch));
        (fields, news, body, inference)
    } else {
        let doc = format!("[`{name}::train_step`]'s buffers: the output and its gradient.");
        let train_step = train_step_fn(&workspace, &in_dim, quote!(::nn::taped_train_step(self, ws, x, target, loss)));
        let forward_with = forward_with_fn(&workspace, &in_dim, quote!(ws.store_output(self.forward(x))));
        return quote! {
            #[doc = #doc]
            #vis type #workspace<F = f32> = ::nn::TapedWorkspace<F>;

            impl<F: ::nn::Float> #name<F> {
                #train_step
                #forward_with
            }
        };
    };
    let output = format_ident!("x{}", n);
    let train_step = train_step_fn(
        &workspace,
        &in_dim,
        quote! {
            ::nn::check_batch(#name_str, x.shape(), &#input_shape).unwrap_or_else(|e| panic!("{e}"));
            let batch = x.shape()[0];
            if ws.batch != batch {
                *ws = #workspace::new(batch);
            }
            #body
        },
    );

    let forward_with = forward_with_fn(
        &workspace,
        &in_dim,
        quote! {
            ::nn::check_batch(#name_str, x.shape(), &#input_shape).unwrap_or_else(|e| panic!("{e}"));
            let batch = x.shape()[0];
            if ws.batch != batch {
                *ws = #workspace::new(batch);
            }
            #inference
            ws.#output.view()
        },
    );

    quote! {
        #[doc = #doc]
        #vis struct #workspace<F: ::nn::Float = f32> {
            #(#fields,)*
        }

        impl<F: ::nn::Float> #workspace<F> {
            /// Buffers for batches of `batch` samples (`train_step` resizes them when the batch changes).
            pub fn new(batch: usize) -> Self {
                #workspace { #(#news,)* }
            }

            /// The network's output `[batch, OUTPUT]` of the last `train_step`.
            pub fn output(&self) -> ::nn::ndarray::ArrayView2<'_, F> {
                self.#output.view()
            }
        }

        impl<F: ::nn::Float> ::core::default::Default for #workspace<F> {
            fn default() -> Self {
                Self::new(0)
            }
        }

        impl<F: ::nn::Float> #name<F> {
            #train_step
            #forward_with
        }
    }
}

/// The inherent `forward_with` with the given body (which sees `self`, `ws` and `x`).
fn forward_with_fn(workspace: &Ident, in_dim: &TokenStream, body: TokenStream) -> TokenStream {
    quote! {
        /// Inference on a batch (dropout off, running statistics) into `ws`'s buffers:
        /// for dense networks, nothing is allocated after the first call at a batch
        /// size. Returns the output `[batch, OUTPUT]`, which lives in `ws`.
        ///
        /// # Panics
        /// If the batch's feature dimensions differ from the declaration.
        pub fn forward_with<'w>(
            &self,
            ws: &'w mut #workspace<F>,
            x: ::nn::ndarray::ArrayView<F, #in_dim>,
        ) -> ::nn::ndarray::ArrayView2<'w, F> {
            #body
        }
    }
}

/// The inherent `train_step` with the given body (which sees `self`, `ws`, `x`,
/// `target` and `loss`).
fn train_step_fn(workspace: &Ident, in_dim: &TokenStream, body: TokenStream) -> TokenStream {
    quote! {
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
            ws: &mut #workspace<F>,
            x: ::nn::ndarray::ArrayView<F, #in_dim>,
            target: L::Target<'_>,
            loss: &L,
        ) -> F {
            #body
        }
    }
}

/// The frozen struct and its `infer`: fixed-size arrays, no heap, `no_std`.
fn frozen_items(net: &Network) -> TokenStream {
    let Network { vis, name, .. } = net;
    let frozen = format_ident!("{}Frozen", name);
    let fields = all_layers(&net.layers).into_iter().flat_map(frozen_struct_fields);
    let steps = frozen_steps(&net.layers, "");
    let input = frozen_array(net.input);
    let output = frozen_array(net.output());
    let last = format_ident!("x{}", net.layers.len());
    let doc = format!("`{name}` frozen for inference: weights in fixed-size arrays, no heap, `no_std`.");
    quote! {
        #[doc = #doc]
        #[repr(C)]
        #vis struct #frozen<F = f32> {
            #(#fields,)*
            _scalar: ::core::marker::PhantomData<F>,
        }

        impl<F: ::nn::Float> #frozen<F> {
            /// Inference on one sample; allocates nothing.
            pub fn infer(&self, x: &#input) -> #output {
                let x0 = x;
                #steps
                #last
            }
        }
    }
}

/// The frozen struct's fields for one layer (its weights, in `frozen_tensors` order).
fn frozen_struct_fields(layer: &CheckedLayer) -> Vec<TokenStream> {
    let (first, second) = frozen_fields(layer);
    let doc = |what: &str| format!("`{}` {what}.", describe(&layer.layer));
    let (first_doc, second_doc) = (doc("weight"), doc("bias"));
    match &layer.layer {
        Layer::Linear { inputs, outputs, bias } => {
            let (i, o) = (usize_lit(*inputs), usize_lit(*outputs));
            let weight_doc = doc("weight, input-major `[in][out]`");
            let mut fields = vec![quote!(#[doc = #weight_doc] pub #first: [[F; #o]; #i])];
            if *bias {
                fields.push(quote!(#[doc = #second_doc] pub #second: [F; #o]));
            }
            fields
        }
        Layer::Conv2d { in_channels, out_channels, kernel, bias, .. } => {
            let (c, o, k) = (usize_lit(*in_channels), usize_lit(*out_channels), usize_lit(*kernel));
            let mut fields = vec![quote!(#[doc = #first_doc] pub #first: [[[[F; #k]; #k]; #c]; #o])];
            if *bias {
                fields.push(quote!(#[doc = #second_doc] pub #second: [F; #o]));
            }
            fields
        }
        Layer::BatchNorm { features, .. } => {
            let n = usize_lit(*features);
            let (scale_doc, shift_doc) = (doc("scale `γ/√(var+ε)`"), doc("shift `β − mean·scale`"));
            vec![quote!(#[doc = #scale_doc] pub #first: [F; #n]), quote!(#[doc = #shift_doc] pub #second: [F; #n])]
        }
        Layer::Network(network) => {
            let (field, frozen, doc) = (&layer.field, format_ident!("{}Frozen", network), doc("frozen"));
            vec![quote!(#[doc = #doc] pub #field: #frozen<F>)]
        }
        _ => Vec::new(),
    }
}

/// `infer`'s statements for a chain: `x{i+1}` from `x{i}`; `x0` is a reference.
fn frozen_steps(layers: &[CheckedLayer], prefix: &str) -> TokenStream {
    let mut steps = TokenStream::new();
    for (i, layer) in layers.iter().enumerate() {
        let (x, y) = (format_ident!("{}x{}", prefix, i), format_ident!("{}x{}", prefix, i + 1));
        // `x0` is a reference (the caller's, or the residual input); later values are arrays.
        let (by_ref, by_value) = if i == 0 { (quote!(#x), quote!(*#x)) } else { (quote!(&#x), quote!(#x)) };
        let slice_mut = |shape: Shape| match shape {
            Shape::Flat(_) => quote!(&mut #y),
            Shape::Image { .. } => quote!(#y.as_flattened_mut().as_flattened_mut()),
        };
        let (first, second) = frozen_fields(layer);
        let y_slice = slice_mut(layer.output);
        // Every value is annotated: the kernels' output sizes are not inferable otherwise.
        let ty = frozen_array(layer.output);
        let (typed, typed_mut) = (quote!(#y: #ty), quote!(mut #y: #ty));
        steps.extend(match &layer.layer {
            Layer::Linear { bias, .. } => {
                let bias = if *bias { quote!(Some(&self.#second)) } else { quote!(None) };
                quote!(let #typed = ::nn::frozen::dense(&self.#first, #bias, #by_ref);)
            }
            Layer::Conv2d { stride, padding, bias, .. } => {
                let bias = if *bias { quote!(Some(&self.#second)) } else { quote!(None) };
                let (s, p) = (usize_lit(*stride), usize_lit(*padding));
                quote!(let #typed = ::nn::frozen::conv2d(&self.#first, #bias, #by_ref, #s, #p);)
            }
            Layer::Activation(act) => {
                let act = activation(act);
                quote!(let #typed_mut = #by_value; ::nn::frozen::activate(#act, #y_slice);)
            }
            Layer::Softmax => quote!(let #typed_mut = #by_value; ::nn::frozen::softmax_in_place(&mut #y);),
            Layer::Dropout { .. } => quote!(let #typed = #by_value;),
            Layer::MaxPool2d { kernel, stride } | Layer::AvgPool2d { kernel, stride } => {
                let (k, s) = (usize_lit(*kernel), usize_lit(*stride));
                let pool = if matches!(layer.layer, Layer::MaxPool2d { .. }) {
                    quote!(::nn::frozen::max_pool2d)
                } else {
                    quote!(::nn::frozen::avg_pool2d)
                };
                quote!(let #typed = #pool(#by_ref, #k, #s);)
            }
            Layer::BatchNorm { .. } => {
                let kernel = match layer.input {
                    Shape::Flat(_) => quote!(::nn::frozen::batch_norm1d),
                    Shape::Image { .. } => quote!(::nn::frozen::batch_norm2d),
                };
                quote!(let #typed_mut = #by_value; #kernel(&mut #y, &self.#first, &self.#second);)
            }
            Layer::Flatten => match layer.input {
                Shape::Flat(_) => quote!(let #typed = #by_value;),
                Shape::Image { .. } => quote!(let #typed = ::nn::frozen::flatten(#by_ref);),
            },
            Layer::Residual(inner) => {
                let inner_prefix = format!("{prefix}r{i}_");
                let inner_steps = frozen_steps(inner, &inner_prefix);
                let (inner_x, inner_y) =
                    (format_ident!("{}x0", inner_prefix), format_ident!("{}x{}", inner_prefix, inner.len()));
                let x_slice = match layer.input {
                    Shape::Flat(_) => quote!(#inner_x),
                    Shape::Image { .. } => quote!(#inner_x.as_flattened().as_flattened()),
                };
                quote! {
                    let #inner_x = #by_ref;
                    #inner_steps
                    let #typed_mut = #inner_y;
                    ::nn::frozen::add_in_place(#y_slice, #x_slice);
                }
            }
            Layer::Network(_) => {
                let field = &layer.field;
                quote!(let #typed = self.#field.infer(#by_ref);)
            }
        });
    }
    steps
}
