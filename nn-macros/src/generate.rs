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
        #frozen_weights
    }
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

fn num_params(layer: &Layer) -> usize {
    match layer {
        Layer::Linear { inputs, outputs, bias } => inputs * outputs + if *bias { *outputs } else { 0 },
        _ => 0,
    }
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
    let num_params = usize_lit(all_layers(&net.layers).iter().map(|l| num_params(&l.layer)).sum());
    let scratch = usize_lit(net.layers.iter().map(|l| l.input.len() + l.output.len()).max().unwrap_or(0));
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
            pub const NUM_PARAMS: usize = #num_params;
            /// Bytes of the frozen model: what its weights take in flash.
            pub const FROZEN_BYTES: usize = ::core::mem::size_of::<#frozen<F>>();
            /// Bytes of the largest pair of activation buffers `infer` keeps on the stack.
            pub const SCRATCH_BYTES: usize = #scratch * ::core::mem::size_of::<F>();
        }
    }
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
        match &layer.layer {
            Layer::Linear { inputs, outputs, bias } => {
                let (i, o) = (usize_lit(*inputs), usize_lit(*outputs));
                let keys = keys(layer, &["weight", "bias"]);
                let (weight, bias_field) = frozen_fields(layer);
                let bias_out = if *bias { quote!(Some(&mut frozen.#bias_field)) } else { quote!(None) };
                fields.push(quote!(#[doc = #doc] pub #field: ::nn::layers::Linear<F>));
                inits.push(quote!(#field: ::nn::layers::Linear::init(#i, #o, #bias, rng)));
                zeros.push(quote!(#field: ::nn::layers::Linear::zeros(#i, #o, #bias)));
                visits.push(quote!(self.#field.visit(#keys, visitor);));
                visits_mut.push(quote!(self.#field.visit_mut(#keys, visitor);));
                freezes.push(quote!(self.#field.freeze_into(frozen.#weight.as_flattened_mut(), #bias_out);));
            }
            Layer::Activation(_) | Layer::Softmax | Layer::Dropout { .. } | Layer::Flatten => {}
            other => unreachable!("check rejects {other:?} before generation"),
        }
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
    let plan = Plan::new(&net.layers);
    let tape_fields = plan.tape_fields(net, &in_dim);
    let forward_infer = forward_inference(&net.layers);
    let (forward_train, tape_init) = plan.forward_train(&net.layers);
    let backward = plan.backward(&net.layers);
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
            fn zeroed() -> Self {
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
                let x0 = x;
                #forward_infer
            }

            /// The training forward pass: the output and the tape `backward` consumes.
            ///
            /// # Panics
            /// If the batch's feature dimensions differ from the declaration.
            pub fn forward_train<'a>(
                &self,
                x: ::nn::ndarray::ArrayView<'a, F, #in_dim>,
            ) -> (::nn::ndarray::Array<F, #out_dim>, #tape<'a, F>) {
                ::nn::check_batch(#name_str, x.shape(), &#input_shape).unwrap_or_else(|e| panic!("{e}"));
                let x0 = ::nn::ndarray::CowArray::from(x);
                #forward_train
                (output, #tape { #tape_init _batch: ::core::marker::PhantomData })
            }

            /// Accumulates every parameter's gradient from `grad_out` (d loss / d output).
            /// Like PyTorch for an input that needs no gradient, it skips d loss / d input.
            pub fn backward(&mut self, tape: #tape<'_, F>, grad_out: ::nn::ndarray::ArrayView<F, #out_dim>) {
                self.backward_from(tape, grad_out, false);
            }

            /// [`Self::backward`], and returns d loss / d input (for a network used as a layer).
            pub fn backward_with_input_grad(
                &mut self,
                tape: #tape<'_, F>,
                grad_out: ::nn::ndarray::ArrayView<F, #out_dim>,
            ) -> ::nn::ndarray::Array<F, #in_dim> {
                self.backward_from(tape, grad_out, true).expect("input gradient requested")
            }

            /// The backward pass in reverse layer order; `input_grad` asks for d loss / d input.
            fn backward_from(
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
                #(#freezes)*
                frozen
            }
        }

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
            fn forward_train<'a>(
                &self,
                x: ::nn::ndarray::ArrayView<'a, F, #in_dim>,
            ) -> (::nn::ndarray::Array<F, #out_dim>, #tape<'a, F>) {
                #name::forward_train(self, x)
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
            fn save(&self, path: impl ::core::convert::AsRef<::std::path::Path>) -> ::core::result::Result<(), ::nn::Error> {
                #name::save(self, path)
            }
            fn load(path: impl ::core::convert::AsRef<::std::path::Path>) -> ::core::result::Result<Self, ::nn::Error> {
                #name::load(path)
            }
        }
    }
}

/// How a layer reads in docs: `Linear(784, 256)`.
fn describe(layer: &Layer) -> String {
    match layer {
        Layer::Linear { inputs, outputs, bias: true } => format!("Linear({inputs}, {outputs})"),
        Layer::Linear { inputs, outputs, bias: false } => format!("Linear({inputs}, {outputs}, bias = false)"),
        other => format!("{other:?}"),
    }
}

/// The frozen struct's field names for a layer's weight and bias.
fn frozen_fields(layer: &CheckedLayer) -> (Ident, Ident) {
    (format_ident!("{}_weight", layer.field), format_ident!("{}_bias", layer.field))
}

/// Which values between layers the tape keeps, and where gradients start.
struct Plan {
    /// `keep[i]`: value `i` (the input of layer `i`) is stored in the tape.
    keep: Vec<bool>,
}

impl Plan {
    fn new(layers: &[CheckedLayer]) -> Self {
        let n = layers.len();
        let keep = (0..=n)
            .map(|i| {
                let input_needed = i < n && needs_input(&layers[i].layer);
                let output_needed = i > 0 && needs_output(&layers[i - 1].layer);
                input_needed || output_needed
            })
            .collect();
        Plan { keep }
    }

    fn tape_fields(&self, net: &Network, in_dim: &TokenStream) -> Vec<TokenStream> {
        let mut fields = Vec::new();
        for (i, &keep) in self.keep.iter().enumerate() {
            if !keep {
                continue;
            }
            let value = format_ident!("x{}", i);
            if i == 0 {
                fields.push(quote!(#value: ::nn::ndarray::CowArray<'a, F, #in_dim>));
            } else {
                let dim = batch_dim(net.layers[i - 1].output);
                fields.push(quote!(#value: ::nn::ndarray::Array<F, #dim>));
            }
        }
        for (i, layer) in net.layers.iter().enumerate() {
            if let Layer::Dropout { .. } = layer.layer {
                let mask = format_ident!("mask{}", i);
                let dim = batch_dim(layer.input);
                fields.push(quote!(#mask: ::nn::ndarray::Array<F, #dim>));
            }
        }
        fields
    }

    /// The training forward pass: statements ending in `let output = ...;`, and the
    /// tape's field initialisers.
    fn forward_train(&self, layers: &[CheckedLayer]) -> (TokenStream, TokenStream) {
        let mut body = TokenStream::new();
        let mut tape = TokenStream::new();
        let n = layers.len();
        for (i, layer) in layers.iter().enumerate() {
            let (x, y) = (format_ident!("x{}", i), format_ident!("x{}", i + 1));
            // Value 0 is the borrowed batch; a value the tape keeps must not be consumed.
            let consumable = i > 0 && !self.keep[i];
            let owned = if consumable { quote!(#x) } else { quote!(#x.to_owned()) };
            let field = &layer.field;
            body.extend(match &layer.layer {
                Layer::Linear { .. } => quote!(let #y = self.#field.forward(#x.view());),
                Layer::Activation(act) => {
                    let act = activation(act);
                    if consumable {
                        quote!(let #y = ::nn::layers::activation::forward_in_place(#act, #x);)
                    } else {
                        quote!(let #y = ::nn::layers::activation::forward(#act, #x.view());)
                    }
                }
                Layer::Softmax => quote!(let #y = ::nn::layers::softmax::forward_in_place(#owned);),
                Layer::Dropout { p } => {
                    let (p, mask) = (f64_lit(*p), format_ident!("mask{}", i));
                    tape.extend(quote!(#mask,));
                    quote!(let (#y, #mask) = ::nn::layers::dropout::forward_train(#p, #owned, &self.dropout_rng);)
                }
                other => unreachable!("check rejects {other:?} before generation"),
            });
        }
        for (i, &keep) in self.keep.iter().enumerate().take(n) {
            if keep {
                let x = format_ident!("x{}", i);
                tape.extend(quote!(#x,));
            }
        }
        let last = format_ident!("x{}", n);
        if self.keep[n] {
            tape.extend(quote!(#last,));
            body.extend(quote!(let output = #last.clone();));
        } else {
            body.extend(quote!(let output = #last;));
        }
        (body, tape)
    }

    /// The backward pass: statements in reverse layer order, ending in the input gradient.
    fn backward(&self, layers: &[CheckedLayer]) -> TokenStream {
        let mut body = TokenStream::new();
        // Whether `g` is still the caller's view (elementwise layers need it owned).
        let mut g_is_view = true;
        for (i, layer) in layers.iter().enumerate().rev() {
            let field = &layer.field;
            let owned_g = if g_is_view { quote!(let mut g = g.to_owned();) } else { quote!(let mut g = g;) };
            let (x, y) = (format_ident!("x{}", i), format_ident!("x{}", i + 1));
            let first = i == 0;
            let step = match &layer.layer {
                Layer::Linear { .. } => {
                    let accumulate = quote!(self.#field.backward(tape.#x.view(), g.view()););
                    if first {
                        quote!(#accumulate return input_grad.then(|| self.#field.input_grad(g.view()));)
                    } else {
                        quote!(#accumulate let g = self.#field.input_grad(g.view());)
                    }
                }
                Layer::Activation(act) => {
                    let saved = if df_from_output(act) { &y } else { &x };
                    let act = activation(act);
                    quote!(#owned_g ::nn::layers::activation::backward_in_place(#act, tape.#saved.view(), g.view_mut());)
                }
                Layer::Softmax => quote!(#owned_g ::nn::layers::softmax::backward_in_place(tape.#y.view(), g.view_mut());),
                Layer::Dropout { .. } => {
                    let mask = format_ident!("mask{}", i);
                    quote!(#owned_g ::nn::layers::dropout::backward_in_place(tape.#mask.view(), g.view_mut());)
                }
                other => unreachable!("check rejects {other:?} before generation"),
            };
            let ends_here = matches!(layer.layer, Layer::Linear { .. }) && first;
            body.extend(step);
            g_is_view = false;
            if ends_here {
                return body;
            }
        }
        body.extend(quote!(input_grad.then_some(g)));
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

/// The inference forward pass: one statement per layer, in place wherever possible.
fn forward_inference(layers: &[CheckedLayer]) -> TokenStream {
    let mut body = TokenStream::new();
    for (i, layer) in layers.iter().enumerate() {
        let (x, y) = (format_ident!("x{}", i), format_ident!("x{}", i + 1));
        let owned = if i == 0 { quote!(#x.to_owned()) } else { quote!(#x) };
        let field = &layer.field;
        body.extend(match &layer.layer {
            Layer::Linear { .. } => quote!(let #y = self.#field.forward(#x.view());),
            Layer::Activation(act) => {
                let act = activation(act);
                quote!(let #y = ::nn::layers::activation::forward_in_place(#act, #owned);)
            }
            Layer::Softmax => quote!(let #y = ::nn::layers::softmax::forward_in_place(#owned);),
            Layer::Dropout { .. } => quote!(let #y = #owned;),
            other => unreachable!("check rejects {other:?} before generation"),
        });
    }
    let last = format_ident!("x{}", layers.len());
    body.extend(quote!(::core::result::Result::Ok(#last)));
    body
}

/// The frozen struct and its `infer`: fixed-size arrays, no heap, `no_std`.
fn frozen_items(net: &Network) -> TokenStream {
    let Network { vis, name, .. } = net;
    let frozen = format_ident!("{}Frozen", name);
    let mut fields = Vec::new();
    let mut steps = TokenStream::new();
    for (i, layer) in net.layers.iter().enumerate() {
        let (x, y) = (format_ident!("x{}", i), format_ident!("x{}", i + 1));
        // `x0` is the caller's reference; later values are arrays on the stack.
        let (by_ref, by_value) = if i == 0 { (quote!(x), quote!(*x)) } else { (quote!(&#x), quote!(#x)) };
        steps.extend(match &layer.layer {
            Layer::Linear { inputs, outputs, bias } => {
                let (weight, bias_field) = frozen_fields(layer);
                let (i_len, o_len) = (usize_lit(*inputs), usize_lit(*outputs));
                let doc = format!("`{}` weight, input-major: `[in][out]`.", describe(&layer.layer));
                fields.push(quote!(#[doc = #doc] pub #weight: [[F; #o_len]; #i_len]));
                let bias_arg = if *bias {
                    let doc = format!("`{}` bias.", describe(&layer.layer));
                    fields.push(quote!(#[doc = #doc] pub #bias_field: [F; #o_len]));
                    quote!(Some(&self.#bias_field))
                } else {
                    quote!(None)
                };
                quote!(let #y = ::nn::frozen::dense(&self.#weight, #bias_arg, #by_ref);)
            }
            Layer::Activation(act) => {
                let act = activation(act);
                quote!(let mut #y = #by_value; ::nn::frozen::activate(#act, &mut #y);)
            }
            Layer::Softmax => quote!(let mut #y = #by_value; ::nn::frozen::softmax_in_place(&mut #y);),
            Layer::Dropout { .. } => quote!(let #y = #by_value;),
            other => unreachable!("check rejects {other:?} before generation"),
        });
    }
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
                #steps
                #last
            }
        }
    }
}
