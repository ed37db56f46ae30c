//! Stage 3: a checked network → Rust items: the training struct, its tape and
//! workspace, the frozen struct, and the trait impls. The per-layer statements come
//! from each layer's kind (`kinds`), their sequencing from `chain`; nothing here
//! recomputes a shape (they come from `check`) or inlines arithmetic.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use crate::arena::{Arena, Program};
use crate::chain::{all_layers, array, batch_dim, frozen_array, frozen_chain, ChainGen, Mode, Storage, Workspace};
use crate::check::{CheckedLayer, Network};
use crate::kinds::{usize_lit, FrozenField, KindSpec, State};
use crate::shape::Shape;

/// Everything `network!` emits for one declaration.
pub fn generate(net: &Network, frozen_weights: Option<TokenStream>) -> TokenStream {
    let Network { attrs, vis, name, .. } = net;
    let frozen = format_ident!("{}Frozen", name);
    let std_items = std_items(net);
    let frozen_items = frozen_items(net);
    let int8_items = crate::int8::items(net);
    let consts = shape_consts(net);
    let name_str = name.to_string();
    let (input_size, output_size) = (typenum(net.input.len()), typenum(net.output().len()));
    let (input_len, output_len) = (usize_lit(net.input.len()), usize_lit(net.output().len()));
    let assertions = all_layers(&net.layers).into_iter().map(|layer| layer.kind.assertions(layer, name));
    let input_macro = input_macro(net);
    quote! {
        ::nn::__std_only! { #std_items }
        ::nn::__no_std_only! {
            #(#attrs)*
            #vis struct #name<F = f32>(::core::marker::PhantomData<F>);
        }
        #frozen_items
        #int8_items
        #consts
        #[automatically_derived]
        impl<F: ::nn::Float> ::nn::Network for #name<F> {
            type Input = #input_size;
            type Output = #output_size;
            const NAME: &'static str = #name_str;
        }
        #[automatically_derived]
        impl<F: ::nn::Float> ::nn::Network for #frozen<F> {
            type Input = #input_size;
            type Output = #output_size;
            const NAME: &'static str = #name_str;
        }
        #[automatically_derived]
        impl<F: ::nn::Float, Source> ::nn::TakesInput<#input_len, Source> for #name<F> {}
        #[automatically_derived]
        impl<F: ::nn::Float, Consumer> ::nn::ProducesOutput<#output_len, Consumer> for #name<F> {}
        #[automatically_derived]
        impl<F: ::nn::Float, Next: ::nn::TakesInput<#output_len, #name<F>>> ::nn::Feeds<Next> for #name<F> {}
        #(#assertions)*
        #frozen_weights
        #input_macro
    }
}

/// A hidden `macro_rules!` named like the network that re-invokes `network!` on a
/// declaration with this network's input shape put in: how a network whose first layer
/// is this one learns its input (a proc macro cannot read another declaration). It is
/// re-exported beside the struct, so that importing the struct imports it.
fn input_macro(net: &Network) -> TokenStream {
    let name = &net.name;
    let module = format_ident!("__nn_input_of_{}", name);
    let dims = dims_lit(net.input);
    quote! {
        #[doc(hidden)]
        #[allow(non_snake_case)]
        mod #module {
            #[allow(unused_macros)]
            macro_rules! #name {
                (@nn_input [$($head:tt)*] { $($body:tt)* }) => {
                    ::nn::network! { @nn_nested $($head)* { input: #dims, $($body)* } }
                };
            }
            #[allow(unused_imports)]
            pub(crate) use #name;
        }
        #[doc(hidden)]
        #[allow(unused_imports)]
        pub(crate) use #module::#name;
    }
}

/// For a declaration without `input:` whose first layer is a network declared elsewhere:
/// the call of that network's input macro ([`input_macro`]), which declares this network
/// again with the nested network's input shape. `raw` is the declaration as written.
pub fn defer_to_nested_input(decl: &crate::parse::NetworkDecl, raw: &TokenStream) -> Option<TokenStream> {
    let first = decl.layers.first()?;
    let name = first.kind.to_string();
    let names_a_network = KindSpec::find(&name).is_none() && KindSpec::nearest(&name).is_none() && first.args.is_none();
    if decl.input.is_some() || !names_a_network {
        return None;
    }
    let mut head: Vec<proc_macro2::TokenTree> = raw.clone().into_iter().collect();
    let body = match head.pop() {
        Some(proc_macro2::TokenTree::Group(body)) if body.delimiter() == proc_macro2::Delimiter::Brace => body.stream(),
        _ => return None,
    };
    let network = &first.kind;
    Some(quote::quote_spanned!(network.span()=> #network! { @nn_input [#(#head)*] { #body } }))
}

/// What a failed declaration still emits beside its errors, so that code using the
/// network reports those errors alone, not a cascade of unknown names.
pub fn stubs(decl: &crate::parse::NetworkDecl) -> TokenStream {
    let (vis, name) = (&decl.vis, &decl.name);
    let [frozen, tape, workspace] = ["Frozen", "Tape", "Workspace"].map(|suffix| format_ident!("{}{}", name, suffix));
    quote! {
        #[allow(dead_code)]
        #vis struct #name<F = f32>(::core::marker::PhantomData<F>);
        #[allow(dead_code)]
        #vis struct #frozen<F = f32>(::core::marker::PhantomData<F>);
        #[allow(dead_code)]
        #vis struct #tape<'a, F = f32>(::core::marker::PhantomData<&'a F>);
        #[allow(dead_code)]
        #vis struct #workspace<F = f32>(::core::marker::PhantomData<F>);
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

/// `[784]` / `[1, 28, 28]` as a literal array of `usize`.
fn dims_lit(shape: Shape) -> TokenStream {
    let dims = shape.dims().into_iter().map(usize_lit);
    quote!([#(#dims),*])
}

/// The number of trainable scalars of a layer, as a constant expression.
fn num_params(layer: &CheckedLayer) -> TokenStream {
    match layer.kind.params(layer).map(|params| params.state) {
        None => quote!(0),
        Some(State::Tensors { tensors, .. }) => {
            let n: usize = tensors.iter().filter(|t| t.trainable).map(|t| t.shape.iter().product::<usize>()).sum();
            let n = usize_lit(n);
            quote!(#n)
        }
        Some(State::Nested(network)) => quote!(#network::<F>::NUM_PARAMS),
    }
}

/// The multiply-accumulates of a layer's inference on one sample, as a constant
/// expression: each weight of two or more dimensions (a Linear's, a Conv2d's) is used
/// once per output position (its output's values over its output channels).
fn macs(layer: &CheckedLayer) -> TokenStream {
    match layer.kind.params(layer).map(|params| params.state) {
        None => quote!(0),
        Some(State::Tensors { tensors, .. }) => {
            let n: usize = tensors
                .iter()
                .filter(|t| t.name == "weight" && t.shape.len() >= 2)
                .map(|t| t.shape.iter().product::<usize>() * (layer.output.len() / t.shape[0]))
                .sum();
            let n = usize_lit(n);
            quote!(#n)
        }
        Some(State::Nested(network)) => quote!(#network::<F>::MACS),
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
    let num_params = all_layers(&net.layers).into_iter().map(num_params);
    let macs = all_layers(&net.layers).into_iter().map(macs);
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
            /// Multiply-accumulates of one inference (those of its Linear and Conv2d
            /// layers, the work that dominates it).
            pub const MACS: usize = 0 #(+ #macs)*;
            /// Bytes of the frozen model: what its weights take in flash.
            pub const FROZEN_BYTES: usize = ::core::mem::size_of::<#frozen<F>>();
            /// Activation bytes of `infer_with`: the arena its plan needs
            /// (the frozen struct's `ARENA`), where the layers' outputs reuse each other's space once
            /// dead, so that it holds the most bytes live at once (a chain's largest
            /// adjacent pair) rather than their sum. The input and output are the caller's.
            /// `infer` holds this much on the stack; stack frames and register spills
            /// come on top.
            pub const SCRATCH_BYTES: usize = #frozen::<f32>::ARENA.len * ::core::mem::size_of::<F>();
        }
    }
}

/// The training struct, its tape, and the `Params`/`Model` impls: `std` only.
fn std_items(net: &Network) -> TokenStream {
    let Network { attrs, vis, name, .. } = net;
    let tape = format_ident!("{}Tape", name);
    let frozen = format_ident!("{}Frozen", name);
    let layers = all_layers(&net.layers);

    let mut fields = Vec::new();
    let mut inits = Vec::new();
    let mut zeros = Vec::new();
    let mut visits = Vec::new();
    let mut visits_mut = Vec::new();
    let mut freezes = Vec::new();
    for layer in &layers {
        let Some(params) = layer.kind.params(layer) else {
            continue;
        };
        let field = &layer.field;
        let doc = format!("`{}` (state-dict key `{}`).", layer.kind.describe(), layer.key);
        let (ty, init, zero) = (params.ty, params.init, params.zeros);
        fields.push(quote!(#[doc = #doc] pub #field: #ty));
        inits.push(quote!(#field: #init));
        zeros.push(quote!(#field: #zero));
        match params.state {
            State::Tensors { visit, .. } => {
                let keys = visit.iter().map(|name| layer.tensor_key(name));
                let keys = quote!([#(#keys),*]);
                visits.push(quote!(self.#field.visit(#keys, visitor);));
                visits_mut.push(quote!(self.#field.visit_mut(#keys, visitor);));
            }
            State::Nested(_) => {
                let key = format!("{}.", layer.key);
                visits.push(
                    quote!(self.#field.visit(&mut |name, entry| visitor(&::std::format!("{}{}", #key, name), entry));),
                );
                visits_mut.push(
                    quote!(self.#field.visit_mut(&mut |name, entry| visitor(&::std::format!("{}{}", #key, name), entry));),
                );
            }
        }
        freezes.push(params.freeze);
    }
    if layers.iter().any(|layer| layer.kind.draws_random()) {
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
    let tape_entries = training.tape_entries();
    let tape_fields = tape_entries.iter().map(|(name, ty)| quote!(#name: #ty));
    let forward_train = training.forward();
    let backward = training.backward(true);
    let forward_infer = ChainGen::new(&net.layers, String::new(), Storage::Cow, Mode::Inference).forward();
    let output = training.output();
    // A tape that keeps the output holds a copy, since the output goes to the caller.
    let output_clone = if training.keeps_output() { quote!(let tape_output = #output.clone();) } else { quote!() };
    let tape_init: Vec<TokenStream> = tape_entries
        .iter()
        .map(|(value, _)| if *value == output { quote!(#value: tape_output) } else { quote!(#value) })
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

        #[automatically_derived]
        impl<F: ::nn::Float> ::nn::Params<F> for #name<F> {
            fn visit(&self, visitor: &mut dyn FnMut(&str, ::nn::Entry<'_, F>)) {
                #(#visits)*
            }
            fn visit_mut(&mut self, visitor: &mut dyn FnMut(&str, ::nn::EntryMut<'_, F>)) {
                #(#visits_mut)*
            }
        }

        #[automatically_derived]
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

/// `XWorkspace` and `X::train_step`: a training step (forward, loss, backward) into
/// preallocated buffers, so that after the first call at a batch size it allocates
/// nothing, and the gradients are written rather than added (no `zero_grad` pass).
///
/// Networks whose every layer has a workspace form get the buffer-reusing body; others
/// run `forward_train`/`backward` inside the same API.
fn workspace_items(net: &Network) -> TokenStream {
    let Network { vis, name, .. } = net;
    let workspace = format_ident!("{}Workspace", name);
    let n = net.layers.len();
    let in_dim = batch_dim(net.input);
    let name_str = name.to_string();
    let input_shape = dims_lit(net.input);
    let doc = format!(
        "Buffers [`{name}::train_step`] reuses: after its first call at a batch size, a training step allocates nothing."
    );
    let chain = ChainGen::new(&net.layers, String::new(), Storage::Cow, Mode::Training);
    let (fields, news, body, inference) = if let Some(ws) = chain.workspace() {
        let Workspace { mut fields, mut news, forward, inference, backward } = ws;
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

        #[automatically_derived]
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
        /// for networks with a workspace form, nothing is allocated after the first call
        /// at a batch size. Returns the output `[batch, OUTPUT]`, which lives in `ws`.
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

/// The frozen struct and its `infer`, `infer_with`: fixed-size arrays, no heap, `no_std`.
fn frozen_items(net: &Network) -> TokenStream {
    let Network { vis, name, .. } = net;
    let frozen = format_ident!("{}Frozen", name);
    let fields = frozen_fields(&net.layers)
        .into_iter()
        .map(|FrozenField { name, ty, doc, .. }| quote!(#[doc = #doc] pub #name: #ty));
    let (mut program, x) = Program::new(quote!(F), net.input);
    let y = frozen_chain(&mut program, &net.layers, x, &mut |_, _, _| ());
    let plan_path = quote!(#frozen::<f32>::ARENA);
    let Arena { plan, buffers, body } = program.finish(y, &plan_path);
    let buffers = usize_lit(buffers);
    let input = frozen_array(net.input);
    let output = frozen_array(net.output());
    let zeros = array(net.output(), quote!(F::zero()));
    let doc = format!("`{name}` frozen for inference: weights in fixed-size arrays, no heap, `no_std`.");
    let scratch_doc = format!(
        "Inference on one sample in `scratch`, a buffer the caller provides (a `static`, or \
         `nn::Scratch::boxed()`): no stack beyond the output and the kernels' own locals. `N` \
         must be at least `{name}::<F>::SCRATCH_BYTES`, checked at compile time."
    );
    quote! {
        #[doc = #doc]
        #[repr(C)]
        #vis struct #frozen<F = f32> {
            #(#fields,)*
            _scalar: ::core::marker::PhantomData<F>,
        }

        impl #frozen<f32> {
            /// Where each activation buffer of `infer_with` lives in its arena, in
            /// elements of the scalar (the same for `f32` and `f64`).
            pub const ARENA: ::nn::arena::Plan<#buffers> = #plan;
        }

        impl<F: ::nn::Float> #frozen<F> {
            /// Inference on one sample, its activations in an arena on the stack
            /// (`SCRATCH_BYTES` of it); allocates nothing. The same bits as `infer_with`.
            pub fn infer(&self, x: &#input) -> #output {
                let mut arena = [F::zero(); #frozen::<f32>::ARENA.len];
                let mut output = #zeros;
                self.infer_in(x, &mut output, &mut arena);
                output
            }

            #[doc = #scratch_doc]
            pub fn infer_with<const N: usize>(&self, x: &#input, scratch: &mut ::nn::Scratch<N>) -> #output {
                const {
                    ::core::assert!(
                        N >= #name::<F>::SCRATCH_BYTES,
                        "the scratch is smaller than the network's SCRATCH_BYTES"
                    )
                };
                let mut output = #zeros;
                self.infer_in(x, &mut output, scratch.elements_mut::<F>());
                output
            }

            /// `input` through every layer into `output`, the activations in `arena` at
            /// the offsets of `ARENA` (at least `ARENA.len` elements).
            #[doc(hidden)]
            pub fn infer_in(&self, input: &#input, output: &mut #output, arena: &mut [F]) {
                #body
            }
        }
    }
}

/// The frozen struct's fields of every layer, in order: its `#[repr(C)]` layout, and
/// the order `#[weights]` bakes them in.
pub fn frozen_fields(layers: &[CheckedLayer]) -> Vec<FrozenField> {
    all_layers(layers)
        .into_iter()
        .filter_map(|layer| layer.kind.params(layer))
        .flat_map(|params| params.frozen)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Fold;
    use crate::kinds::Bake;

    fn network(source: &str) -> Network {
        crate::check::check(syn::parse_str(source).expect("parses")).expect("checks")
    }

    /// The generated code without whitespace, which token printing places freely.
    fn generated(source: &str) -> String {
        generate(&network(source), None).to_string().split_whitespace().collect()
    }

    fn has(code: &str, piece: &str) -> bool {
        code.contains(&piece.split_whitespace().collect::<String>())
    }

    #[test]
    fn backward_binds_a_gradient_mut_only_where_it_is_changed_in_place() {
        let mlp = generated("struct Mlp { Linear(4, 3) -> ReLU -> Linear(3, 2) }");
        assert!(has(&mlp, "let mut g = self . layer2 . input_grad (g . view ()) ;"), "{mlp}");
        assert!(!has(&mlp, "let mut g = g ;"));
        // The first layer returns its input gradient only when asked.
        assert!(has(&mlp, "return input_grad . then (| | self . layer0 . input_grad (g . view ())) ;"));
    }

    #[test]
    fn dense_and_conv_chains_get_workspace_buffers_and_others_a_tape() {
        let dense = generated("struct D { Linear(4, 3) -> Dropout(0.5) -> Linear(3, 2) }");
        assert!(has(&dense, "mask1 : :: nn :: ndarray :: Array < F , :: nn :: ndarray :: Ix2 >"), "{dense}");
        assert!(!has(&dense, "TapedWorkspace"));
        let conv =
            generated("struct C { input: [1, 4, 4], Conv2d(1, 2, 3) -> MaxPool2d(2) -> Flatten -> Linear(2, 2) }");
        assert!(has(&conv, "x1 : :: nn :: ndarray :: Array < F , :: nn :: ndarray :: Ix4 >"), "{conv}");
        assert!(has(&conv, "mask1 : :: nn :: layers :: MaxPoolIndices"), "{conv}");
        assert!(!has(&conv, "TapedWorkspace"));
        let residual = generated("struct R { Linear(4, 4) -> Residual(Linear(4, 4) -> ReLU) -> Linear(4, 2) }");
        assert!(has(&residual, "type RWorkspace < F = f32 > = :: nn :: TapedWorkspace < F > ;"), "{residual}");
    }

    #[test]
    fn frozen_layout_comes_from_each_kind() {
        let net = network("struct F { Linear(4, 3, bias = false) -> ReLU -> BatchNorm1d(3) -> Linear(3, 2) }");
        let fields: Vec<String> = frozen_fields(&net.layers).iter().map(|f| f.name.to_string()).collect();
        assert_eq!(fields, ["layer0_weight", "layer2_scale", "layer2_shift", "layer3_weight", "layer3_bias"]);
        let baked: Vec<bool> =
            frozen_fields(&net.layers).iter().map(|f| matches!(f.bake, Bake::Tensor { .. })).collect();
        assert_eq!(baked, [true, false, false, true, true]);
        // Trainable scalars: 12, none, then γ and β (3 + 3), then 6 + 2.
        let counts: Vec<String> = net.layers.iter().map(|l| num_params(l).to_string()).collect();
        assert_eq!(counts, ["12", "0", "6", "8"]);
    }

    #[test]
    fn a_batch_norm_after_a_weight_layer_folds_into_it() {
        let net = network("struct F { Linear(4, 3, bias = false) -> BatchNorm1d(3) -> Linear(3, 2) }");
        let fields: Vec<String> = frozen_fields(&net.layers).iter().map(|f| f.name.to_string()).collect();
        // The folded Linear gains a bias; the BatchNorm keeps no scale and shift.
        assert_eq!(fields, ["layer0_weight", "layer0_bias", "layer2_weight", "layer2_bias"]);
        let baked: Vec<bool> =
            frozen_fields(&net.layers).iter().map(|f| matches!(f.bake, Bake::Folded { .. })).collect();
        assert_eq!(baked, [true, true, false, false]);
        let folds: Vec<&Fold> = net.layers.iter().map(|l| &l.fold).collect();
        assert!(
            matches!(folds[..], [Fold::TakesIn(bn), Fold::Folded, Fold::Alone] if bn.field == "layer1" && bn.key == "1" && bn.eps == 1e-5),
            "{folds:?}"
        );
    }

    #[test]
    fn activations_and_windows_are_checked_against_the_runtime() {
        let net = generated("struct A { input: [1, 5, 5], MaxPool2d(2) -> LeakyReLU(0.1) -> Flatten }");
        assert!(has(&net, "window_output (5 , 2 , 2 , 0) , :: core :: option :: Option :: Some (2)"), "{net}");
        assert!(has(
            &net,
            "LeakyRelu < f32 > as :: nn :: activation :: Activation < f32 > > :: DF_FROM_OUTPUT == false"
        ));
    }
}
