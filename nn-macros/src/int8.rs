//! The int8 form of a network: `Net::quantize`, `NetInt8` (its `infer`, `save` and
//! `load`) and the `Net::INT8` an int8 weight file bakes. Each layer's kind says what it
//! is in int8 ([`LayerKind::int8`](crate::kinds::LayerKind::int8)); this module sequences
//! them: which quantisation each layer reads and writes, where a ReLU fuses into the
//! clamp of the layer before it and where a BatchNorm folds into it.

use std::collections::BTreeSet;

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use crate::arena::{Arena, Program, Step, Value};
use crate::chain::{array, frozen_chain};
use crate::check::{CheckedLayer, Network};
use crate::kinds::usize_lit;
use crate::shape::Shape;

/// What a layer is in int8.
pub enum Int8 {
    /// Int8 weights with a scale per output channel and an int32 bias (`Linear`, `Conv2d`).
    Weighted(Weighted),
    /// An integer computation that keeps its input's scale and zero point (pooling,
    /// padding, `Flatten`, `Dropout`): its step in the arena.
    Keeps(Step),
    /// `ReLU`: the clamp of the layer before it, or `max(q, zero_point)` after a layer
    /// that keeps its input's quantisation.
    Relu,
    /// `BatchNorm`: folded into the `Linear` or `Conv2d` directly before it.
    Folded,
    /// The final `Softmax`: applied in f32 to the dequantised output by `infer_f32`.
    Softmax,
    /// `Residual`: its chain, then TFLite's int8 ADD of the chain's output and its input;
    /// or, with a projection `shortcut`, of the chain's output and the shortcut's. The
    /// chain is `inner()[..split]`, the shortcut (empty for the identity) `inner()[split..]`.
    Residual { split: usize, projection: bool },
    /// No int8 form: why, the reason of the error `quantize` returns.
    Unsupported(String),
}

/// A layer with int8 weights.
pub struct Weighted {
    /// Its kernel's type, the int8 struct's field.
    pub ty: TokenStream,
    /// The weight's PyTorch shape, output channels first.
    pub shape: Vec<usize>,
    /// The packed matrix: `(groups, rows per group, columns)`.
    pub matrix: (usize, usize, usize),
    /// Its code in the arena, writing `y` from `x` (a [`Step::Into`]).
    pub infer: TokenStream,
    /// The kernel from the int8 file `file`, for the input quantisation `input` and the
    /// fused ReLU `relu` (locals of the generated code).
    pub load: TokenStream,
    /// The type of the weight its constructor takes by reference (a baked constant).
    pub weight_ty: TokenStream,
    /// What the constructor takes after the input zero point (a convolution's geometry).
    pub extra: TokenStream,
}

/// What a kind's `int8` sees.
pub struct Int8Site<'c> {
    pub layer: &'c CheckedLayer,
    /// The quantisation (`nn::int8::Quant`) of the input, an expression on `self`.
    pub quant: TokenStream,
    /// The keys of the layers whose weights are widened to 16 bits ([`widened`]).
    pub widened: &'c BTreeSet<String>,
}

/// The bytes widening may add to a network's int8 weights.
const WIDEN_BUDGET: usize = 96 * 1024;

/// The fewest output pixels (multiply-accumulates per weight) a widened layer has.
const WIDEN_PIXELS: usize = 32;

/// The keys of the ungrouped convolutions whose int8 weights are stored widened to 16
/// bits (`nn::int8::Conv2d`'s `WORDS = 4`: twice the bytes, and on a Cortex-M4 6
/// instructions per 8 multiply-accumulates instead of 8). In order of their output
/// pixels, most first, each layer of at least [`WIDEN_PIXELS`] whose widened copy still
/// fits the [`WIDEN_BUDGET`] of added bytes: the bytes go where they save the most.
fn widened(layers: &[CheckedLayer]) -> BTreeSet<String> {
    fn candidates<'a>(layers: &'a [CheckedLayer], found: &mut Vec<(usize, usize, &'a str)>) {
        let none = BTreeSet::new();
        for layer in layers {
            let form = layer.kind.int8(&Int8Site { layer, quant: quote!(), widened: &none });
            if let (Int8::Weighted(Weighted { matrix: (1, rows, cols), .. }), Shape::Image { height, width, .. }) =
                (form, layer.output)
            {
                // The words added: per block of four rows and column pair, 8 bytes.
                found.push((height * width, rows.div_ceil(4) * cols.div_ceil(2) * 8, &layer.key));
            }
            candidates(layer.kind.inner(), found);
        }
    }
    let mut found = Vec::new();
    candidates(layers, &mut found);
    found.sort_by_key(|&(pixels, ..)| std::cmp::Reverse(pixels));
    let mut spent = 0;
    let mut keys = BTreeSet::new();
    for (pixels, bytes, key) in found {
        if pixels >= WIDEN_PIXELS && spent + bytes <= WIDEN_BUDGET {
            spent += bytes;
            keys.insert(key.to_owned());
        }
    }
    keys
}

/// A value of `shape` named `x` as a flat slice (`mutable` or not).
fn flat(shape: Shape, x: TokenStream, mutable: bool) -> TokenStream {
    match (shape, mutable) {
        (Shape::Flat(_), false) => quote!(&#x[..]),
        (Shape::Flat(_), true) => quote!(&mut #x[..]),
        (Shape::Image { .. }, false) => quote!(#x.as_flattened().as_flattened()),
        (Shape::Image { .. }, true) => quote!(#x.as_flattened_mut().as_flattened_mut()),
    }
}

/// One quantisation point: a weighted layer with what fuses into it, or a residual add.
enum Unit<'a> {
    Weighted {
        layer: &'a CheckedLayer,
        weighted: Weighted,
        /// The BatchNorm folded into it.
        fold: Option<&'a CheckedLayer>,
        relu: bool,
        /// The key of the last layer fused into it, whose float output calibrates it.
        observed: &'a str,
    },
    Residual {
        layer: &'a CheckedLayer,
        inner: Vec<Unit<'a>>,
        /// The projection shortcut's units, `None` for the identity.
        shortcut: Option<Vec<Unit<'a>>>,
        relu: bool,
        observed: &'a str,
    },
}

/// A chain in int8: its quantisation points, its steps sequenced in a [`Program`].
struct Plan<'a> {
    units: Vec<Unit<'a>>,
    /// The quantisation of the chain's output, an expression on `self`.
    output: TokenStream,
}

/// A whole network in int8: its plan, the program of `infer_with` and its output value.
fn plan_network(net: &Network) -> Result<(Plan<'_>, Program, Value), String> {
    let (mut program, x) = Program::new(quote!(i8), net.input);
    let (plan, y) = plan(&net.layers, &mut program, x, quote!(self.input), &widened(&net.layers))?;
    Ok((plan, program, y))
}

/// The plan of `layers` on `x`, quantised as `input`, sequenced in `program`; or why it
/// has no int8 form.
fn plan<'a>(
    layers: &'a [CheckedLayer],
    program: &mut Program,
    x: Value,
    input: TokenStream,
    widened: &BTreeSet<String>,
) -> Result<(Plan<'a>, Value), String> {
    let mut units = Vec::new();
    let (mut x, mut quant) = (x, input);
    let forms: Vec<Int8> =
        layers.iter().map(|layer| layer.kind.int8(&Int8Site { layer, quant: quant.clone(), widened })).collect();
    let mut i = 0;
    while i < layers.len() {
        let layer = &layers[i];
        let at = Int8Site { layer, quant: quant.clone(), widened };
        let describe = || format!("`{}` (layer `{}`)", layer.kind.describe(), layer.key);
        match &forms[i] {
            Int8::Weighted(_) => {
                let mut end = i + 1;
                let fold = matches!(forms.get(end), Some(Int8::Folded)).then(|| {
                    end += 1;
                    &layers[end - 1]
                });
                let relu = matches!(forms.get(end), Some(Int8::Relu));
                if relu {
                    end += 1;
                }
                // `forms` holds sites of the quantisation before this layer: rebuild the kernel's.
                let Int8::Weighted(weighted) = layer.kind.int8(&at) else {
                    return Err(format!("{} changed its int8 form", describe()));
                };
                x = program.step(x, layer.output, Step::Into(weighted.infer.clone()));
                // The folded BatchNorm and the fused ReLU are the layer's output itself.
                for passed in &layers[i + 1..end] {
                    x = program.step(x, passed.output, Step::View);
                }
                let output = format_ident!("{}_output", layer.field);
                quant = quote!(self.#output);
                units.push(Unit::Weighted { layer, weighted, fold, relu, observed: &layers[end - 1].key });
                i = end;
                continue;
            }
            Int8::Residual { split, projection } => {
                let (split, projection) = (*split, *projection);
                let (chain, rest) = layer.kind.inner().split_at(split);
                // The block input lives on until the add: nothing may change it in place.
                program.pin(x);
                let (inner, chain_out) = plan(chain, program, x, quant.clone(), widened)?;
                let (shortcut, other) = if projection {
                    let (short, short_out) = plan(rest, program, x, quant.clone(), widened)?;
                    (Some(short.units), short_out)
                } else {
                    (None, x)
                };
                let add = format_ident!("{}_add", layer.field);
                let code = quote!(self.#add.add_in_place(::nn::arena::scalars_mut(y), ::nn::arena::scalars(x)););
                let sum = program.add_into(chain_out, other, code);
                program.unpin(x);
                x = sum;
                let relu = matches!(forms.get(i + 1), Some(Int8::Relu));
                let mut end = i + 1;
                if relu {
                    x = program.step(x, layers[end].output, Step::View);
                    end += 1;
                }
                let output = format_ident!("{}_output", layer.field);
                quant = quote!(self.#output);
                units.push(Unit::Residual {
                    layer,
                    inner: inner.units,
                    shortcut,
                    relu,
                    observed: &layers[end - 1].key,
                });
                i = end;
                continue;
            }
            Int8::Relu => {
                let code = quote!(::nn::int8::relu_in_place(::nn::arena::scalars_mut(y), #quant.zero_point););
                x = program.step(x, layer.output, Step::InPlace(code));
            }
            Int8::Keeps(_) => {
                let Int8::Keeps(step) = layer.kind.int8(&at) else {
                    return Err(format!("{} changed its int8 form", describe()));
                };
                x = program.step(x, layer.output, step);
            }
            Int8::Softmax => x = program.step(x, layer.output, Step::View),
            Int8::Folded => {
                return Err(format!(
                    "{} has no int8 form here: a BatchNorm folds into a `Linear` or `Conv2d` directly before it",
                    describe()
                ))
            }
            Int8::Unsupported(why) => return Err(format!("{} has no int8 form: {why}", describe())),
        }
        i += 1;
    }
    Ok((Plan { units, output: quant }, x))
}

/// Everything int8 a network gets: `NetInt8` (no_std), and `quantize`, `save`, `load` (std).
pub fn items(net: &Network) -> TokenStream {
    let Network { vis, name, .. } = net;
    let int8 = format_ident!("{}Int8", name);
    match plan_network(net) {
        Ok((plan, program, y)) => {
            let plain = int8_struct(net, &plan, program, y);
            let std = std_items(net, &plan);
            quote! {
                #plain
                ::nn::__std_only! { #std }
            }
        }
        Err(reason) => {
            let doc = format!("`{name}` has no int8 form: {reason}. `{name}::quantize` returns this as an error.");
            let name_str = name.to_string();
            let in_dim = crate::chain::batch_dim(net.input);
            quote! {
                #[doc = #doc]
                #[derive(Clone, Copy, Debug, PartialEq)]
                #vis enum #int8 {}

                ::nn::__std_only! {
                    impl #name<f32> {
                        /// Post-training int8 quantisation: this network has none, see the int8 type.
                        pub fn quantize(
                            &self,
                            _calibration: ::nn::ndarray::ArrayView<f32, #in_dim>,
                        ) -> ::core::result::Result<#int8, ::nn::Error> {
                            ::core::result::Result::Err(::nn::Error::InvalidLayer {
                                layer: ::std::string::String::from(#name_str),
                                reason: ::std::string::String::from(#reason),
                            })
                        }
                    }
                }
            }
        }
    }
}

/// Every unit in order, inner chains flattened.
fn walk<'u, 'a>(units: &'u [Unit<'a>], out: &mut Vec<&'u Unit<'a>>) {
    for unit in units {
        out.push(unit);
        if let Unit::Residual { inner, shortcut, .. } = unit {
            walk(inner, out);
            if let Some(shortcut) = shortcut {
                walk(shortcut, out);
            }
        }
    }
}

/// The struct's fields of each unit.
fn fields(units: &[Unit<'_>]) -> Vec<TokenStream> {
    let mut all = Vec::new();
    walk(units, &mut all);
    all.into_iter()
        .flat_map(|unit| match unit {
            Unit::Weighted { layer, weighted, .. } => {
                let (field, ty) = (&layer.field, &weighted.ty);
                let scale = format_ident!("{}_weight_scale", layer.field);
                let output = format_ident!("{}_output", layer.field);
                let out = usize_lit(weighted.shape[0]);
                let describe = layer.kind.describe();
                let (doc, scale_doc, output_doc) = (
                    format!("`{describe}`: int8 weights and int32 bias, packed for the kernel."),
                    format!("`{describe}`: the scale of each output channel's weights."),
                    format!("`{describe}`: its output's scale and zero point."),
                );
                vec![
                    quote!(#[doc = #doc] pub #field: #ty),
                    quote!(#[doc = #scale_doc] pub #scale: [f32; #out]),
                    quote!(#[doc = #output_doc] pub #output: ::nn::int8::Quant),
                ]
            }
            Unit::Residual { layer, .. } => {
                let add = format_ident!("{}_add", layer.field);
                let output = format_ident!("{}_output", layer.field);
                let describe = layer.kind.describe();
                let (doc, output_doc) = (
                    format!("`{describe}`: the int8 add of its chain's output and its input."),
                    format!("`{describe}`: its output's scale and zero point."),
                );
                vec![
                    quote!(#[doc = #doc] pub #add: ::nn::int8::Add),
                    quote!(#[doc = #output_doc] pub #output: ::nn::int8::Quant),
                ]
            }
        })
        .collect()
}

/// `NetInt8` and its `infer`, `quantize_input`, `dequantize_output`, `infer_f32`.
fn int8_struct(net: &Network, plan: &Plan<'_>, program: Program, y: Value) -> TokenStream {
    let Network { vis, name, .. } = net;
    let (int8, scratch) = (format_ident!("{}Int8", name), format_ident!("{}Int8Scratch", name));
    let fields = fields(&plan.units);
    let (input_i8, output_i8) = (array(net.input, quote!(i8)), array(net.output(), quote!(i8)));
    let (input_f32, output_f32) = (array(net.input, quote!(f32)), array(net.output(), quote!(f32)));
    let output_quant = &plan.output;
    let Arena { plan: arena, buffers, body } = program.finish(y, &quote!(#int8::ARENA));
    let buffers = usize_lit(buffers);
    let (q_zeros, y_zeros) = (array(net.input, quote!(0i8)), array(net.output(), quote!(0.0f32)));
    let out_zeros = array(net.output(), quote!(0i8));
    let (x_in, q_out) = (flat(net.input, quote!(x), false), flat(net.input, quote!(q), true));
    let (y_in, y_out) = (flat(net.output(), quote!(y), false), flat(net.output(), quote!(out), true));
    let softmax = matches!(
        net.layers.last().map(|layer| layer.kind.int8(&Int8Site { layer, quant: quote!(), widened: &BTreeSet::new() })),
        Some(Int8::Softmax)
    );
    let finish = if softmax { quote!(let mut y = y; ::nn::frozen::softmax_in_place(&mut y[..]);) } else { quote!() };
    let f32_doc = if softmax {
        "Int8 inference on a float sample: quantise, `infer`, dequantise, then the final Softmax in f32."
    } else {
        "Int8 inference on a float sample: quantise, `infer`, dequantise."
    };
    let doc = format!(
        "`{name}` quantised to int8 (TFLite's scheme): fixed-size arrays, no heap, `no_std`. \
         Made by `{name}::quantize`, `{int8}::load` or a baked `{name}::INT8`."
    );
    let scratch_doc = format!(
        "The activation memory of `{int8}::infer_with`: `{int8}::SCRATCH_BYTES` bytes, aligned to \
         16. `{scratch}::new()` is `const`, so that it can be a `static`."
    );
    let infer_with_doc = format!(
        "Int8 inference on one quantised sample in `scratch`, a buffer the caller provides \
         (a `static` `{scratch}`): the same bits as `infer`, no stack beyond the output and \
         the kernels' own locals."
    );
    quote! {
        #[doc = #doc]
        #[derive(Clone, Copy, Debug, PartialEq)]
        #vis struct #int8 {
            /// The input's scale and zero point.
            pub input: ::nn::int8::Quant,
            #(#fields,)*
        }

        #[doc = #scratch_doc]
        // A convenience name, unused by a program that takes `Scratch` by its size.
        #[allow(dead_code)]
        #vis type #scratch = ::nn::Scratch<{ #int8::SCRATCH_BYTES }>;

        impl #int8 {
            /// Where each activation buffer of `infer_with` lives in its arena, in bytes.
            pub const ARENA: ::nn::arena::Plan<#buffers> = #arena;

            /// Activation bytes of `infer_with`: the arena its plan needs (`ARENA`), where
            /// the layers' outputs reuse each other's space once dead, so that it holds the
            /// most bytes live at once (a chain's largest adjacent pair) rather than their
            /// sum. The input and output are the caller's.
            pub const SCRATCH_BYTES: usize = Self::ARENA.len;

            /// Int8 inference on one quantised sample: integer arithmetic only, no
            /// allocation, its activations in a scratch on the stack (`SCRATCH_BYTES`).
            pub fn infer(&self, x: &#input_i8) -> #output_i8 {
                self.infer_with(x, &mut #scratch::new())
            }

            #[doc = #infer_with_doc]
            pub fn infer_with(&self, x: &#input_i8, scratch: &mut #scratch) -> #output_i8 {
                let (input, mut out) = (x, #out_zeros);
                let output = &mut out;
                let arena = scratch.elements_mut::<i8>();
                #body
                out
            }

            /// A float sample quantised with the input's scale and zero point.
            pub fn quantize_input(&self, x: &#input_f32) -> #input_i8 {
                let mut q = #q_zeros;
                self.input.quantize_slice(#x_in, #q_out);
                q
            }

            /// An int8 output in real units, with the output's scale and zero point.
            pub fn dequantize_output(&self, y: &#output_i8) -> #output_f32 {
                let mut out = #y_zeros;
                #output_quant.dequantize_slice(#y_in, #y_out);
                out
            }

            #[doc = #f32_doc]
            pub fn infer_f32(&self, x: &#input_f32) -> #output_f32 {
                let y = self.dequantize_output(&self.infer(&self.quantize_input(x)));
                #finish
                y
            }
        }
    }
}

/// The int8 file's layers, in order: its schema.
fn schema(units: &[Unit<'_>]) -> Vec<TokenStream> {
    let mut all = Vec::new();
    walk(units, &mut all);
    all.into_iter()
        .map(|unit| match unit {
            Unit::Weighted { layer, weighted, .. } => {
                let (key, dims) = (&layer.key, weighted.shape.iter().map(|&d| usize_lit(d)));
                quote!(::nn::int8::file::Layer::Weighted { key: #key, shape: &[#(#dims),*] })
            }
            Unit::Residual { layer, .. } => {
                let key = &layer.key;
                quote!(::nn::int8::file::Layer::Residual { key: #key })
            }
        })
        .collect()
}

/// `quantize`'s statements per unit: each writes its tensors into `file` and binds `q`,
/// its output's quantisation.
fn quantize_units(units: &[Unit<'_>]) -> TokenStream {
    units
        .iter()
        .map(|unit| match unit {
            Unit::Weighted { layer, weighted, fold, observed, .. } => {
                let (field, key, outputs) = (&layer.field, &layer.key, usize_lit(weighted.shape[0]));
                let dims = weighted.shape.iter().map(|&d| usize_lit(d));
                let source = match fold {
                    Some(bn) => {
                        let bn = &bn.field;
                        quote!(let folded = self.#field.fold_batch_norm(&self.#bn)?; let layer = &folded;)
                    }
                    None => quote!(let layer = &self.#field;),
                };
                quote! {
                    #source
                    let weight = layer.weight.as_standard_layout();
                    let bias = layer.bias.as_ref().map(|b| b.to_vec());
                    let weight = weight.as_slice().expect("a standard-layout array is contiguous");
                    let quantized = ::nn::int8::ptq::quantize_layer(weight, #outputs, bias.as_deref(), q.scale);
                    let q = ranges.quant(#observed);
                    file.set_weighted(#key, &[#(#dims),*], &quantized.weight, &quantized.weight_scale, &quantized.bias, q);
                }
            }
            Unit::Residual { layer, inner, shortcut, observed, .. } => {
                let (key, inner) = (&layer.key, quantize_units(inner));
                let shortcut = shortcut.as_deref().map(quantize_units).map(|units| quote!({ #units let _ = q; }));
                quote! {
                    {
                        #inner
                        let _ = q;
                    }
                    #shortcut
                    let q = ranges.quant(#observed);
                    file.set_output(#key, q);
                }
            }
        })
        .collect()
}

/// `from_file`'s statements per unit: each fills its fields of `net` and binds `q`.
fn load_units(units: &[Unit<'_>]) -> TokenStream {
    units
        .iter()
        .map(|unit| match unit {
            Unit::Weighted { layer, weighted, relu, .. } => {
                let (field, key, load) = (&layer.field, &layer.key, &weighted.load);
                let (scale, output) = (format_ident!("{}_weight_scale", field), format_ident!("{}_output", field));
                quote! {
                    {
                        let (input, relu) = (q, #relu);
                        net.#field = #load;
                    }
                    net.#scale.copy_from_slice(&file.weight_scale(#key));
                    let q = file.output(#key);
                    net.#output = q;
                }
            }
            Unit::Residual { layer, inner, shortcut, relu, .. } => {
                let (field, key, inner) = (&layer.field, &layer.key, load_units(inner));
                let (add, output) = (format_ident!("{}_add", field), format_ident!("{}_output", field));
                let shortcut = match shortcut {
                    Some(units) => {
                        let units = load_units(units);
                        quote!({ #units q })
                    }
                    None => quote!(q),
                };
                quote! {
                    let chain = { #inner q };
                    let shortcut = #shortcut;
                    net.#add = file.add(#key, chain, shortcut, #relu);
                    let q = file.output(#key);
                    net.#output = q;
                }
            }
        })
        .collect()
}

/// `save`'s statements per unit.
fn save_units(units: &[Unit<'_>]) -> TokenStream {
    let mut all = Vec::new();
    walk(units, &mut all);
    all.into_iter()
        .map(|unit| match unit {
            Unit::Weighted { layer, weighted, .. } => {
                let (field, key) = (&layer.field, &layer.key);
                let (scale, output) = (format_ident!("{}_weight_scale", field), format_ident!("{}_output", field));
                let dims = weighted.shape.iter().map(|&d| usize_lit(d));
                let (groups, rows, cols) = weighted.matrix;
                let (groups, rows, cols) = (usize_lit(groups), usize_lit(rows), usize_lit(cols));
                let len = usize_lit(weighted.shape.iter().product());
                quote! {
                    let mut weight = ::std::vec![0i8; #len];
                    self.#field.weights.unpack(#groups, #rows, #cols, &mut weight);
                    file.set_weighted(#key, &[#(#dims),*], &weight, &self.#scale, &self.#field.bias, self.#output);
                }
            }
            Unit::Residual { layer, .. } => {
                let (key, output) = (&layer.key, format_ident!("{}_output", layer.field));
                quote!(file.set_output(#key, self.#output);)
            }
        })
        .collect()
}

/// `Net::quantize`, the frozen model's hidden `__calibrate`, and `NetInt8`'s `save`,
/// `load` and `LAYERS`.
fn std_items(net: &Network, plan: &Plan<'_>) -> TokenStream {
    let Network { name, .. } = net;
    let (int8, frozen) = (format_ident!("{}Int8", name), format_ident!("{}Frozen", name));
    let name_str = name.to_string();
    let in_dim = crate::chain::batch_dim(net.input);
    let input_shape = {
        let dims = net.input.dims().into_iter().map(usize_lit);
        quote!([#(#dims),*])
    };
    let input_f32 = array(net.input, quote!(f32));
    let sample = match net.input {
        Shape::Flat(_) => quote!(<&#input_f32>::try_from(flat)),
        Shape::Image { height, width, .. } => {
            let (h, w) = (usize_lit(height), usize_lit(width));
            quote!(<&#input_f32>::try_from(flat.as_chunks::<#w>().0.as_chunks::<#h>().0))
        }
    };
    let Arena { plan: calibrate_plan, buffers, body: calibrate } = calibrate_steps(net);
    let buffers = usize_lit(buffers);
    let frozen_zeros = array(net.output(), quote!(F::zero()));
    let frozen_input = crate::chain::frozen_array(net.input);
    let schema = schema(&plan.units);
    let n_layers = usize_lit(schema.len());
    let (quantize, load, save) = (quantize_units(&plan.units), load_units(&plan.units), save_units(&plan.units));
    quote! {
        impl #name<f32> {
            /// Post-training int8 quantisation, as TFLite's converter does it: each
            /// activation's range from this float model's forward pass over `calibration`
            /// (`[n, ..INPUT_SHAPE]`), BatchNorm folded first, weights per output channel,
            /// int32 biases, ReLU fused as a clamp.
            pub fn quantize(
                &self,
                calibration: ::nn::ndarray::ArrayView<f32, #in_dim>,
            ) -> ::core::result::Result<#int8, ::nn::Error> {
                ::nn::check_batch(#name_str, calibration.shape(), &#input_shape)?;
                if calibration.shape()[0] == 0 {
                    return ::core::result::Result::Err(::nn::Error::Dataset(::std::format!(
                        "{}::quantize needs at least one calibration sample", #name_str
                    )));
                }
                let frozen = self.freeze();
                let mut ranges = ::nn::int8::ptq::Calibration::new();
                for sample in calibration.outer_iter() {
                    let sample = sample.as_standard_layout();
                    let flat = sample.as_slice().expect("a standard-layout array is contiguous");
                    ranges.input.observe(flat);
                    let x = #sample.expect("check_batch checked the sample's shape");
                    frozen.__calibrate(x, &mut |key, values| ranges.observe(key, values));
                }
                let mut file = ::nn::int8::file::Int8File::new();
                let q = ranges.input.quant();
                file.set_input(q);
                #quantize
                let _ = q;
                ::core::result::Result::Ok(*#int8::from_file(&file))
            }
        }

        impl<F: ::nn::Float> #frozen<F> {
            /// `infer`, handing each layer's output to `observe` with the layer's key.
            #[doc(hidden)]
            pub fn __calibrate(&self, x: &#frozen_input, observe: &mut dyn FnMut(&'static str, &[F])) {
                const PLAN: ::nn::arena::Plan<#buffers> = #calibrate_plan;
                let mut arena = ::std::vec![F::zero(); PLAN.len];
                let arena = &mut arena[..];
                let (input, mut out) = (x, #frozen_zeros);
                let output = &mut out;
                #calibrate
            }
        }

        impl #int8 {
            /// The layers of its int8 file, in order.
            pub const LAYERS: [::nn::int8::file::Layer<'static>; #n_layers] = [#(#schema),*];

            /// Saves it as an int8 safetensors file, keyed like the float state dict.
            pub fn save(&self, path: impl ::core::convert::AsRef<::std::path::Path>) -> ::core::result::Result<(), ::nn::Error> {
                let mut file = ::nn::int8::file::Int8File::new();
                file.set_input(self.input);
                #save
                file.save(path)
            }

            /// Loads an int8 file saved by `save` (or written by another tool in the same
            /// layout), strictly: a missing, unexpected, mis-shaped or wrong-dtype tensor,
            /// a zero point outside the int8 range or a scale that is not positive is an error.
            pub fn load(path: impl ::core::convert::AsRef<::std::path::Path>) -> ::core::result::Result<Self, ::nn::Error> {
                let file = ::nn::int8::file::Int8File::load(path, &Self::LAYERS)?;
                ::core::result::Result::Ok(*Self::from_file(&file))
            }

            /// The model a checked int8 file holds, built on the heap (its weights may be
            /// larger than a stack).
            #[doc(hidden)]
            pub fn from_file(file: &::nn::int8::file::Int8File) -> ::std::boxed::Box<Self> {
                // SAFETY: the int8 struct holds only integers, `f32`s and arrays of them,
                // for which all-zero bytes are valid.
                let mut net = unsafe { ::nn::frozen::zeroed_box::<Self>() };
                let q = file.input();
                net.input = q;
                #load
                let _ = q;
                net
            }
        }
    }
}

/// The frozen inference with each layer's output observed: its arena plan (the constant
/// `PLAN`'s), its buffer count and its statements.
fn calibrate_steps(net: &Network) -> Arena {
    let (mut program, x) = Program::new(quote!(F), net.input);
    let y = frozen_chain(&mut program, &net.layers, x, &mut |program, layer, value| {
        let key = &layer.key;
        program.read(value, quote!(observe(#key, ::nn::arena::scalars(x));));
    });
    program.finish(y, &quote!(PLAN))
}

/// The tensors an int8 file must hold for `net`, and how each unit bakes from them.
pub mod bake {
    use super::*;
    use safetensors::tensor::{Dtype, SafeTensors};

    /// `Name::INT8` from the int8 file `file`, or one message per problem.
    pub fn int8_const(net: &Network, file: &SafeTensors<'_>, path: &str) -> Result<TokenStream, Vec<String>> {
        let (plan, ..) = plan_network(net).map_err(|reason| {
            vec![format!("`#[weights]` names an int8 file, but `{}` cannot be quantised: {reason}", net.name)]
        })?;
        let mut problems = Vec::new();
        let mut reader = Reader { file, problems: &mut problems, seen: Vec::new() };
        let input = reader.quant("input.scale", "input.zero_point");
        let input_quant = QuantLit(input);
        let mut fields = vec![quote!(input: #input_quant)];
        let _ = units(&plan.units, &mut reader, input, &mut fields);
        let seen = reader.seen.clone();
        let mut extra: Vec<String> = file
            .tensors()
            .into_iter()
            .filter(|(name, _)| !seen.contains(name))
            .map(|(name, view)| {
                format!(
                    "the int8 weight file has a tensor `{name}` ({:?} {:?}) that the declaration does not have: \
                     a baked weight file must match it exactly",
                    view.dtype(),
                    view.shape()
                )
            })
            .collect();
        extra.sort();
        problems.extend(extra);
        if !problems.is_empty() {
            return Err(problems);
        }
        let Network { name, .. } = net;
        let int8 = format_ident!("{}Int8", name);
        let doc = format!("The int8 model of `{path}`, baked in at compile time, in read-only memory.");
        Ok(quote! {
            impl #name<f32> {
                #[doc = #doc]
                pub const INT8: &'static #int8 = {
                    static INT8: #int8 = #int8 { #(#fields,)* };
                    &INT8
                };
            }
        })
    }

    /// Reads the tensors of an int8 file, recording what it read and what is wrong.
    struct Reader<'r, 'f> {
        file: &'r SafeTensors<'f>,
        problems: &'r mut Vec<String>,
        seen: Vec<String>,
    }

    impl Reader<'_, '_> {
        /// The bytes of `name`, checked to be `dtype` of `shape`.
        fn tensor(&mut self, name: &str, dtype: Dtype, shape: &[usize]) -> Option<Vec<u8>> {
            self.seen.push(name.to_string());
            let Ok(found) = self.file.tensor(name) else {
                self.problems.push(format!(
                    "the int8 weight file has no tensor `{name}`: the declaration expects {dtype:?} {shape:?}"
                ));
                return None;
            };
            if found.dtype() != dtype || found.shape() != shape {
                self.problems.push(format!(
                    "tensor `{name}` is {:?} {:?} in the int8 weight file, but the declaration expects {dtype:?} {shape:?}",
                    found.dtype(),
                    found.shape()
                ));
                return None;
            }
            Some(found.data().to_vec())
        }

        /// Scales, checked positive and finite.
        fn scales(&mut self, name: &str, shape: &[usize]) -> Option<Vec<f32>> {
            let bytes = self.tensor(name, Dtype::F32, shape)?;
            let values: Vec<f32> =
                bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
            if let Some(bad) = values.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
                self.problems.push(format!("tensor `{name}` holds scale {bad}; a scale must be positive and finite"));
                return None;
            }
            Some(values)
        }

        /// A scalar scale and zero point as a `Quant` expression.
        fn quant(&mut self, scale: &str, zero_point: &str) -> Option<(f32, i32)> {
            let s = self.scales(scale, &[]).and_then(|s| s.first().copied());
            let zp = self.tensor(zero_point, Dtype::I32, &[]).map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]));
            if let Some(zp) = zp {
                if !(-128..=127).contains(&zp) {
                    self.problems.push(format!(
                        "tensor `{zero_point}` holds zero point {zp}, outside the int8 range -128..=127"
                    ));
                    return None;
                }
            }
            Some((s?, zp?))
        }
    }

    /// `Quant { .. }` of `(scale, zero_point)`.
    fn quant_expr(q: Option<(f32, i32)>) -> TokenStream {
        let (scale, zp) = q.unwrap_or((1.0, 0));
        let (scale, zp) = (Literal::f32_suffixed(scale), Literal::i32_suffixed(zp));
        quote!(::nn::int8::Quant { scale: #scale, zero_point: #zp })
    }

    /// A quantisation read from the file, as it prints into the constant.
    #[derive(Clone, Copy)]
    struct QuantLit(Option<(f32, i32)>);

    impl quote::ToTokens for QuantLit {
        fn to_tokens(&self, tokens: &mut TokenStream) {
            tokens.extend(quant_expr(self.0));
        }
    }

    /// Bytes reinterpreted as `ty` in a constant (the file is little-endian, as the targets are).
    fn transmuted(bytes: &[u8], ty: TokenStream) -> TokenStream {
        let (len, lit) = (usize_lit(bytes.len()), Literal::byte_string(bytes));
        quote!(unsafe { ::core::mem::transmute::<[u8; #len], #ty>(*#lit) })
    }

    /// Each unit's fields of the constant; returns the quantisation of the chain's output.
    fn units(
        units: &[Unit<'_>],
        reader: &mut Reader<'_, '_>,
        input: Option<(f32, i32)>,
        fields: &mut Vec<TokenStream>,
    ) -> Option<(f32, i32)> {
        let mut q = input;
        for unit in units {
            match unit {
                Unit::Weighted { layer, weighted, relu, .. } => {
                    let (field, key) = (&layer.field, &layer.key);
                    let out = weighted.shape[0];
                    let weight = reader.tensor(&format!("{key}.weight"), Dtype::I8, &weighted.shape);
                    let scales = reader.scales(&format!("{key}.weight_scale"), &[out]);
                    let bias = reader.tensor(&format!("{key}.bias"), Dtype::I32, &[out]);
                    let output = reader.quant(&format!("{key}.output_scale"), &format!("{key}.output_zero_point"));
                    let (scale, output_field) =
                        (format_ident!("{}_weight_scale", field), format_ident!("{}_output", field));
                    if let (Some(weight), Some(scales), Some(bias), Some(input), Some(output)) =
                        (weight, scales.clone(), bias, q, output)
                    {
                        let o = usize_lit(out);
                        let w = transmuted(&weight, weighted.weight_ty.clone());
                        let b = transmuted(&bias, quote!([i32; #o]));
                        let s_bytes: Vec<u8> = scales.iter().flat_map(|s| s.to_le_bytes()).collect();
                        let s = transmuted(&s_bytes, quote!([f32; #o]));
                        let (ty, extra) = (&weighted.ty, &weighted.extra);
                        let (s_in, zp_in) = (Literal::f32_suffixed(input.0), Literal::i32_suffixed(input.1));
                        let (s_out, zp_out) = (Literal::f32_suffixed(output.0), Literal::i32_suffixed(output.1));
                        let out_quant = QuantLit(Some(output));
                        fields.push(quote! {
                            #field: <#ty>::new(
                                &#w,
                                #b,
                                ::nn::int8::Requantize::new(#s_in, &#s, #s_out, #zp_out, #relu),
                                #zp_in
                                #extra
                            )
                        });
                        fields.push(quote!(#scale: #s));
                        fields.push(quote!(#output_field: #out_quant));
                    }
                    q = output;
                }
                Unit::Residual { layer, inner, shortcut, relu, .. } => {
                    let (field, key) = (&layer.field, &layer.key);
                    let chain = self::units(inner, reader, q, fields);
                    let short = match shortcut {
                        Some(shortcut) => self::units(shortcut, reader, q, fields),
                        None => q,
                    };
                    let output = reader.quant(&format!("{key}.output_scale"), &format!("{key}.output_zero_point"));
                    let (add, output_field) = (format_ident!("{}_add", field), format_ident!("{}_output", field));
                    let (c, s, o) = (QuantLit(chain), QuantLit(short), QuantLit(output));
                    fields.push(quote!(#add: ::nn::int8::Add::new(#c, #s, #o, #relu)));
                    fields.push(quote!(#output_field: #o));
                    q = output;
                }
            }
        }
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn network(source: &str) -> Network {
        crate::check::check(syn::parse_str(source).expect("parses")).expect("checks")
    }

    #[test]
    fn the_widened_layers_are_ungrouped_convolutions_of_many_pixels_within_the_budget() {
        let net = network(
            "struct W { input: [8, 16, 16], \
             Conv2d(8, 8, 3, padding = 1) -> Conv2d(8, 8, 3, padding = 1, groups = 8) -> Conv2d(8, 128, 1) \
             -> Conv2d(128, 128, 3, stride = 2, padding = 1) -> Conv2d(128, 8, 1) \
             -> Conv2d(8, 8, 3, stride = 2, padding = 1) -> Flatten -> Linear(128, 2) }",
        );
        // Layer 1 is grouped, layer 3's 147 KiB overflow the budget, layer 5 has 16
        // pixels and layer 7 is a Linear; layer 4 (64 pixels) still fits after 0 and 2.
        let keys: Vec<String> = widened(&net.layers).into_iter().collect();
        assert_eq!(keys, ["0", "2", "4"]);
    }

    /// `(key, fused ReLU, folded BatchNorm's key, observed key)` of each weighted unit.
    fn weighted(plan: &Plan<'_>) -> Vec<(String, bool, Option<String>, String)> {
        let mut all = Vec::new();
        walk(&plan.units, &mut all);
        all.into_iter()
            .filter_map(|unit| match unit {
                Unit::Weighted { layer, fold, relu, observed, .. } => {
                    Some((layer.key.clone(), *relu, fold.map(|bn| bn.key.clone()), observed.to_string()))
                }
                Unit::Residual { .. } => None,
            })
            .collect()
    }

    #[test]
    fn relu_fuses_into_the_layer_before_it_and_clamps_after_a_pool() {
        let net = network(
            "struct A { input: [1, 6, 6], Conv2d(1, 2, 3) -> ReLU -> MaxPool2d(2) -> ReLU -> Flatten -> Linear(8, 2) }",
        );
        let (planned, program, y) = plan_network(&net).unwrap();
        let expected = [("0".into(), true, None, "1".into()), ("5".into(), false, None, "5".into())];
        assert_eq!(weighted(&planned), expected);
        let infer: String = program.finish(y, &quote!(PLAN)).body.to_string().split_whitespace().collect();
        assert_eq!(infer.matches("relu_in_place").count(), 1, "{infer}");
        // In place on the pool's output, at the zero point of the convolution's output.
        assert!(infer.contains("relu_in_place(::nn::arena::scalars_mut(y),self.layer0_output.zero_point)"), "{infer}");
    }

    #[test]
    fn batch_norm_folds_only_into_a_weighted_layer_directly_before_it() {
        let net = network("struct B { Linear(4, 4) -> BatchNorm1d(4) -> ReLU -> Linear(4, 2) }");
        let (planned, ..) = plan_network(&net).unwrap();
        let expected = [("0".into(), true, Some("1".into()), "2".into()), ("3".into(), false, None, "3".into())];
        assert_eq!(weighted(&planned), expected);
        let net = network("struct C { Linear(4, 4) -> ReLU -> BatchNorm1d(4) -> Linear(4, 2) }");
        let error = plan_network(&net).err().unwrap();
        assert!(error.contains("(layer `2`) has no int8 form here: a BatchNorm folds"), "{error}");
    }

    #[test]
    fn a_residual_adds_after_its_chain_and_fuses_the_relu_after_it() {
        let net = network("struct R { Linear(4, 4) -> Residual(Linear(4, 4) -> ReLU -> Linear(4, 4)) -> ReLU }");
        let (planned, ..) = plan_network(&net).unwrap();
        let Unit::Residual { layer, inner, shortcut: None, relu, observed } = &planned.units[1] else {
            panic!("a residual unit")
        };
        assert_eq!((layer.key.as_str(), inner.len(), *relu, *observed), ("1", 2, true, "2"));
        assert_eq!(planned.output.to_string(), "self . layer1_output");
    }

    #[test]
    fn a_projection_shortcut_plans_both_sides_and_bakes_its_add_from_their_outputs() {
        use safetensors::tensor::{Dtype, TensorView};
        let net = network("struct P { Linear(4, 4) -> Residual(Linear(4, 4), shortcut = Linear(4, 4)) -> ReLU }");
        let (planned, ..) = plan_network(&net).unwrap();
        let keys: Vec<String> = weighted(&planned).into_iter().map(|(key, ..)| key).collect();
        assert_eq!(keys, ["0", "1.0", "1.shortcut.0"]);
        let Unit::Residual { inner, shortcut: Some(shortcut), relu: true, .. } = &planned.units[1] else {
            panic!("a residual unit with a shortcut and the ReLU fused")
        };
        assert_eq!((inner.len(), shortcut.len()), (1, 1));

        type Tensors = Vec<(String, Dtype, Vec<usize>, Vec<u8>)>;
        fn quant(tensors: &mut Tensors, key: &str, scale: f32, zero_point: i32) {
            tensors.push((format!("{key}scale"), Dtype::F32, vec![], scale.to_le_bytes().to_vec()));
            tensors.push((format!("{key}zero_point"), Dtype::I32, vec![], zero_point.to_le_bytes().to_vec()));
        }
        let mut tensors = Tensors::new();
        quant(&mut tensors, "input.", 0.01, 0);
        quant(&mut tensors, "1.output_", 0.125, 3);
        for (key, scale, zero_point) in [("0", 0.1, -1), ("1.0", 0.25, 1), ("1.shortcut.0", 0.5, -2)] {
            quant(&mut tensors, &format!("{key}.output_"), scale, zero_point);
            tensors.push((format!("{key}.weight"), Dtype::I8, vec![4, 4], vec![1; 16]));
            tensors.push((format!("{key}.weight_scale"), Dtype::F32, vec![4], 0.02f32.to_le_bytes().repeat(4)));
            tensors.push((format!("{key}.bias"), Dtype::I32, vec![4], 0i32.to_le_bytes().repeat(4)));
        }
        let serialize = |skip: &str| {
            let views = tensors.iter().filter(|(name, ..)| name != skip).map(|(name, dtype, shape, bytes)| {
                (name.clone(), TensorView::new(*dtype, shape.clone(), bytes).unwrap())
            });
            safetensors::serialize(views, &None).unwrap()
        };
        let bytes = serialize("");
        let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let baked: String = bake::int8_const(&net, &file, "p").unwrap().to_string().split_whitespace().collect();
        let (chain, short, out) = (
            "::nn::int8::Quant{scale:0.25f32,zero_point:1i32}",
            "::nn::int8::Quant{scale:0.5f32,zero_point:-2i32}",
            "::nn::int8::Quant{scale:0.125f32,zero_point:3i32}",
        );
        assert!(baked.contains(&format!("layer1_add:::nn::int8::Add::new({chain},{short},{out},true)")), "{baked}");
        assert!(baked.contains("layer1_shortcut_0:"), "{baked}");
        let bytes = serialize("1.shortcut.0.bias");
        let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let problems = bake::int8_const(&net, &file, "p").err().unwrap();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("no tensor `1.shortcut.0.bias`"), "{problems:?}");
    }

    #[test]
    fn a_layer_without_an_int8_form_is_named() {
        let net = network("struct G { Linear(4, 4) -> GELU -> Linear(4, 2) }");
        let error = plan_network(&net).err().unwrap();
        assert!(error.starts_with("`GELU` (layer `1`) has no int8 form"), "{error}");
    }
}
