//! The layer kinds, one module each. A kind owns its arguments (a row of [`KINDS`]),
//! its shape rule and everything it contributes to the generated items, through the
//! [`LayerKind`] trait, whose methods have no defaults: a new kind states each
//! contribution, even "none". What spans layers (the tape, buffer reuse, borrowing,
//! residual prefixes, the early return at the first layer) is the chain's, in
//! `chain.rs`.
//!
//! Adding a kind: a new module here, its row in [`KINDS`], and its runtime files.

mod activation;
mod adaptive_avg_pool;
mod batch_norm;
mod conv2d;
mod dropout;
mod flatten;
mod linear;
mod nested;
mod pool;
mod residual;
mod softmax;
mod zero_pad;

use std::collections::HashMap;
use std::fmt;

use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{format_ident, quote};

use crate::chain::{Backward, Frozen, Site, Tape, WsSite, WsStep};
use crate::check::{CheckedLayer, Errors, FoldedBatchNorm};
use crate::int8::{Int8, Int8Site};
use crate::parse::{Arg, LayerDecl};
use crate::shape::Shape;

pub use nested::Nested;

/// Every kind the DSL knows, spelled as in PyTorch, in the order the docs list them.
pub const KINDS: &[KindSpec] = &[
    linear::LINEAR,
    activation::RELU,
    activation::SIGMOID,
    activation::TANH,
    activation::GELU,
    activation::LEAKY_RELU,
    softmax::SOFTMAX,
    dropout::DROPOUT,
    conv2d::CONV2D,
    pool::MAX_POOL2D,
    pool::AVG_POOL2D,
    adaptive_avg_pool::ADAPTIVE_AVG_POOL2D,
    zero_pad::ZERO_PAD2D,
    batch_norm::BATCH_NORM1D,
    batch_norm::BATCH_NORM2D,
    flatten::FLATTEN,
    residual::RESIDUAL,
];

/// A resolved layer: what it contributes to each generated item.
pub trait LayerKind: fmt::Debug {
    /// How the layer reads in docs, as written in the DSL: `Linear(784, 256)`.
    fn describe(&self) -> String;
    /// The shape it produces from `input`, or why it cannot take it.
    fn output(&self, input: Shape, at: &ShapeSite<'_>) -> Result<Shape, syn::Error>;
    /// The layers of its inner chain (a `Residual`'s), for walks over every layer.
    fn inner(&self) -> &[CheckedLayer];
    /// Its parameters and buffers, or `None` for a layer without state.
    fn params(&self, layer: &CheckedLayer) -> Option<Params>;
    /// What the training forward keeps for the backward.
    fn tape(&self, site: &Site<'_>) -> Tape;
    /// The forward statement(s), binding `site.y()` from `site.x()`.
    fn forward(&self, site: &Site<'_>) -> TokenStream;
    /// The backward step: parameter gradients and d loss / d input.
    fn backward(&self, site: &Site<'_>) -> Backward;
    /// Its step when the chain keeps every value in preallocated buffers, or `None`
    /// if it has no such form (the chain then keeps a tape).
    fn workspace(&self, site: &WsSite<'_>) -> Option<WsStep>;
    /// What it is in the frozen `infer_with`: a step in the activation arena.
    fn frozen(&self, layer: &CheckedLayer) -> Frozen<'_>;
    /// What it is in int8 (`quantize`, the int8 struct and its `infer`), or why it has
    /// no int8 form.
    fn int8(&self, site: &Int8Site<'_>) -> Int8;
    /// Compile-time checks the generated code makes for this layer (`net` is the
    /// declaring network).
    fn assertions(&self, layer: &CheckedLayer, net: &Ident) -> TokenStream;
    /// Whether it draws from the network's dropout random stream.
    fn draws_random(&self) -> bool;
    /// Whether its output may stay borrowed from a borrowed input (a reshape).
    fn keeps_borrow(&self) -> bool;
}

/// One row of the kind table.
pub struct KindSpec {
    /// The name in the DSL (PyTorch's class name).
    pub name: &'static str,
    /// Its arguments, positional order first; a chain kind has none.
    pub params: &'static [ParamSpec],
    /// Whether its parentheses hold a chain of layers instead of arguments.
    pub chain: bool,
    /// What it tells of its input size: read for a first layer without `input:`, and
    /// after a network declared elsewhere.
    pub states_input: StatesInput,
    /// Builds the layer from its checked arguments.
    pub resolve: fn(&mut Resolve<'_>) -> Option<Box<dyn LayerKind>>,
}

/// What a kind tells of the size of its input before any shape is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatesInput {
    /// Its input is flat, of the size of this argument.
    Flat(&'static str),
    /// It keeps a flat size, so the layer after it tells.
    Keeps,
    /// Nothing.
    Nothing,
}

/// What an argument must be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgType {
    /// A positive integer.
    Dim,
    /// A positive integer, or `_` to infer it from the previous layer.
    DimOrInfer,
    /// A non-negative integer.
    Count,
    /// A positive integer `k` (for both axes) or a pair `(h, w)` of them.
    DimPair,
    /// A non-negative integer or a pair `(h, w)` of them.
    CountPair,
    /// A float (integers accepted).
    Number,
    /// `true` or `false`.
    Bool,
}

/// The default of an optional argument.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Default {
    /// The argument must be given.
    Required,
    Int(u64),
    Number(f64),
    Bool(bool),
    /// Defaults to the value of another argument (`stride = kernel_size`).
    SameAs(&'static str),
}

/// One argument of a layer kind.
#[derive(Clone, Copy, Debug)]
pub struct ParamSpec {
    pub name: &'static str,
    pub ty: ArgType,
    pub default: Default,
}

/// An argument spec, for the kinds' tables.
pub const fn param(name: &'static str, ty: ArgType, default: Default) -> ParamSpec {
    ParamSpec { name, ty, default }
}

impl KindSpec {
    /// The kind spelled exactly `name`.
    pub fn find(name: &str) -> Option<&'static KindSpec> {
        KINDS.iter().find(|kind| kind.name == name)
    }

    /// How a correct use reads, for messages.
    pub fn usage(&self) -> String {
        if self.chain {
            return format!("{}(<layer> -> <layer> ...)", self.name);
        }
        if self.params.is_empty() {
            return self.name.to_string();
        }
        let args: Vec<String> = self
            .params
            .iter()
            .map(|p| match p.default {
                Default::Required => p.name.to_string(),
                Default::Int(v) => format!("{} = {v}", p.name),
                Default::Number(v) => format!("{} = {v:?}", p.name),
                Default::Bool(v) => format!("{} = {v}", p.name),
                Default::SameAs(other) => format!("{} = {other}", p.name),
            })
            .collect();
        format!("{}({})", self.name, args.join(", "))
    }

    /// The known kind closest to an unknown `name`, if it is plausibly a typo.
    pub fn nearest(name: &str) -> Option<&'static KindSpec> {
        let lower = name.to_lowercase();
        KINDS
            .iter()
            .map(|kind| (edit_distance(&lower, &kind.name.to_lowercase()), kind))
            .filter(|&(distance, _)| distance <= 2)
            .min_by_key(|&(distance, _)| distance)
            .map(|(_, kind)| kind)
    }
}

/// Levenshtein distance between two strings.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, &cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// What a kind's `resolve` sees: its arguments after defaults, and where it stands.
pub struct Resolve<'a> {
    pub decl: &'a LayerDecl,
    pub values: HashMap<&'static str, Arg>,
    /// The shape fed in, unless an earlier error left it unknown.
    pub input: Option<Shape>,
    pub key: &'a str,
    pub field: &'a Ident,
    /// The last layer of the network (not of an inner chain).
    pub is_last: bool,
    /// Every layer name so far, for duplicates inside inner chains.
    pub fields: &'a mut HashMap<String, Span>,
    pub errors: &'a mut Errors,
}

impl Resolve<'_> {
    /// An integer argument (checked by its spec).
    pub fn int(&self, name: &str) -> Option<usize> {
        match self.values.get(name) {
            Some(Arg::Int(v, _)) => usize::try_from(*v).ok(),
            _ => None,
        }
    }

    /// A size argument that is `k` or `(h, w)` (checked by its spec), as `(h, w)`.
    pub fn pair(&self, name: &str) -> Option<(usize, usize)> {
        match self.values.get(name) {
            Some(Arg::Int(v, _)) => usize::try_from(*v).ok().map(|v| (v, v)),
            Some(Arg::Tuple(items, _)) => match items[..] {
                [Arg::Int(h, _), Arg::Int(w, _)] => Some((usize::try_from(h).ok()?, usize::try_from(w).ok()?)),
                _ => None,
            },
            _ => None,
        }
    }

    /// A number argument (checked by its spec).
    pub fn number(&self, name: &str) -> f64 {
        match self.values.get(name) {
            Some(Arg::Int(v, _)) => *v as f64,
            Some(Arg::Float(v, _)) => *v,
            _ => f64::NAN,
        }
    }

    /// A boolean argument (checked by its spec).
    pub fn flag(&self, name: &str) -> bool {
        matches!(self.values.get(name), Some(Arg::Bool(true, _)))
    }

    /// The channels of an image input.
    pub fn channels(&self) -> Option<usize> {
        match self.input {
            Some(Shape::Image { channels, .. }) => Some(channels),
            _ => None,
        }
    }

    /// An error spanning the whole layer.
    pub fn error(&mut self, message: impl fmt::Display) {
        self.errors.push(self.decl.error(message));
    }

    /// A size argument that may be `_`: the value given, or `previous`, what the
    /// previous layer produces.
    pub fn size_or_inferred(&mut self, name: &str, previous: Option<usize>) -> Option<usize> {
        match (self.values.get(name), previous, self.input) {
            (Some(Arg::Infer(_)), Some(n), _) => Some(n),
            (Some(Arg::Infer(span)), None, Some(shape)) => {
                let error = syn::Error::new(*span, format!("`_` cannot be inferred from the previous layer's {shape}"));
                self.errors.push(error);
                None
            }
            (Some(Arg::Infer(span)), None, None) => {
                if self.errors.is_empty() {
                    let error = syn::Error::new(*span, "`_` has nothing before it to infer from: write the number");
                    self.errors.push(error);
                }
                None
            }
            _ => self.int(name),
        }
    }
}

/// What a kind's shape rule sees beyond its input.
pub struct ShapeSite<'a> {
    pub decl: &'a LayerDecl,
    /// The layers after this one in its chain (a nested network reads its output size there).
    pub rest: &'a [LayerDecl],
}

impl ShapeSite<'_> {
    /// The input as a flat vector, or the error `kind` gives on an image.
    pub fn flat(&self, kind: &str, input: Shape) -> Result<usize, syn::Error> {
        match input {
            Shape::Flat(n) => Ok(n),
            Shape::Image { .. } => Err(self.decl.error(format!(
                "`{kind}` expects a flat input [features], but the previous layer produces the image {input}: \
                 insert `Flatten` before it"
            ))),
        }
    }

    /// The input as an image `(channels, height, width)`, or the error `kind` gives on a vector.
    pub fn image(&self, kind: &str, input: Shape) -> Result<(usize, usize, usize), syn::Error> {
        match input {
            Shape::Image { channels, height, width } => Ok((channels, height, width)),
            Shape::Flat(_) => Err(self.decl.error(format!(
                "`{kind}` expects an image [channels, height, width], but the previous layer produces {input}"
            ))),
        }
    }
}

/// What a layer with state puts in the training struct, its state dict and its frozen copy.
pub struct Params {
    /// The training struct's field type, its `init` and `zeroed` expressions.
    pub ty: TokenStream,
    pub init: TokenStream,
    pub zeros: TokenStream,
    /// Its entries of the state dict.
    pub state: State,
    /// Its fields of the `#[repr(C)]` frozen struct, in order.
    pub frozen: Vec<FrozenField>,
    /// The statement(s) of `freeze_into` that fill them.
    pub freeze: TokenStream,
}

/// A layer's entries of the state dict.
pub enum State {
    /// Tensors under `<key>.<name>`. `visit` lists the names the runtime layer's
    /// `visit` takes, in its order; `tensors` those the layer has.
    Tensors { visit: &'static [&'static str], tensors: Vec<Tensor> },
    /// A network declared elsewhere: its own entries, under `<key>.`.
    Nested(Ident),
}

/// One tensor of the state dict.
pub struct Tensor {
    pub name: &'static str,
    /// PyTorch's shape.
    pub shape: Vec<usize>,
    /// A parameter (counted in `NUM_PARAMS`), not a buffer such as `running_mean`.
    pub trainable: bool,
}

/// One field of the frozen struct.
pub struct FrozenField {
    pub name: Ident,
    pub ty: TokenStream,
    pub doc: String,
    /// How `#[weights]` fills it from a weight file.
    pub bake: Bake,
}

/// How `#[weights]` fills a frozen field.
pub enum Bake {
    /// From the tensor `key` of this `shape`, transposed (a 2-d `[out, in]` stored as `[in][out]`) or not.
    Tensor { key: String, shape: Vec<usize>, transposed: bool },
    /// A Linear's or Conv2d's weight, or its bias (`bias`), with the BatchNorm after it
    /// folded in: from the layer's tensor `key` (`None`: a bias the layer lacks, zero)
    /// and the BatchNorm's four tensors.
    Folded { key: Option<String>, shape: Vec<usize>, transposed: bool, bias: bool, batch_norm: FoldedBatchNorm },
    /// It cannot: the message says why and what to do instead.
    Cannot(String),
}

impl CheckedLayer {
    /// The frozen struct's field `<field>_<what>`.
    pub fn frozen_field(&self, what: &str) -> Ident {
        format_ident!("{}_{}", self.field, what)
    }

    /// The state-dict key `<key>.<name>`.
    pub fn tensor_key(&self, name: &str) -> String {
        format!("{}.{name}", self.key)
    }

    /// A frozen field's doc: `` `Linear(784, 256)` weight. ``
    pub fn frozen_doc(&self, what: &str) -> String {
        format!("`{}` {what}.", self.kind.describe())
    }
}

/// `n` as an unsuffixed integer literal.
pub fn usize_lit(n: usize) -> Literal {
    Literal::usize_unsuffixed(n)
}

/// `x` as an `f64` literal.
pub fn f64_lit(x: f64) -> Literal {
    Literal::f64_suffixed(x)
}

/// The state-dict tensors and frozen fields of a layer with a weight and, when `bias`
/// holds, a bias of `outputs` values: `weight` is the weight's frozen type, PyTorch
/// shape, whether it is stored transposed, and what its doc says.
pub fn weight_and_bias(
    layer: &CheckedLayer,
    weight: (TokenStream, Vec<usize>, bool, &str),
    bias: bool,
    outputs: usize,
) -> (Vec<Tensor>, Vec<FrozenField>) {
    let (ty, shape, transposed, doc) = weight;
    let o = usize_lit(outputs);
    let mut tensors = vec![Tensor { name: "weight", shape: shape.clone(), trainable: true }];
    let mut frozen = vec![FrozenField {
        name: layer.frozen_field("weight"),
        ty,
        doc: layer.frozen_doc(doc),
        bake: Bake::Tensor { key: layer.tensor_key("weight"), shape, transposed },
    }];
    if bias {
        tensors.push(Tensor { name: "bias", shape: vec![outputs], trainable: true });
        frozen.push(FrozenField {
            name: layer.frozen_field("bias"),
            ty: quote!([F; #o]),
            doc: layer.frozen_doc("bias"),
            bake: Bake::Tensor { key: layer.tensor_key("bias"), shape: vec![outputs], transposed: false },
        });
    }
    (tensors, frozen)
}

/// The frozen fields and `freeze_into` statement of a Linear or Conv2d: `frozen` and
/// `freeze` as they are alone, or, when the layer takes in the BatchNorm after it, a
/// bias in any case and the copy taken of the folded layer.
pub fn folded_weight(
    layer: &CheckedLayer,
    weight: (TokenStream, Vec<usize>, bool, &str),
    bias: bool,
    outputs: usize,
    freeze_weight: TokenStream,
) -> (Vec<FrozenField>, TokenStream) {
    let field = &layer.field;
    let Some(batch_norm) = layer.folds_in() else {
        let (_, frozen) = weight_and_bias(layer, weight, bias, outputs);
        let bias_out = bias_arg(layer, bias, quote!(&mut frozen.));
        return (frozen, quote!(self.#field.freeze_into(#freeze_weight, #bias_out);));
    };
    let (_, mut frozen) = weight_and_bias(layer, weight, true, outputs);
    for field in &mut frozen {
        if let Bake::Tensor { key, shape, transposed } = &field.bake {
            let is_bias = field.name == layer.frozen_field("bias");
            field.bake = Bake::Folded {
                key: (!is_bias || bias).then(|| key.clone()),
                shape: shape.clone(),
                transposed: *transposed,
                bias: is_bias,
                batch_norm: batch_norm.clone(),
            };
        }
    }
    let bias_field = layer.frozen_field("bias");
    let batch_norm = &batch_norm.field;
    let freeze = quote! {
        self.#field
            .fold_batch_norm(&self.#batch_norm)
            .expect("network! checked that the BatchNorm's channels are this layer's outputs")
            .freeze_into(#freeze_weight, Some(&mut frozen.#bias_field));
    };
    (frozen, freeze)
}

/// The optional bias a kernel takes: `Some(<by><field>_bias)` or `None`.
pub fn bias_arg(layer: &CheckedLayer, bias: bool, by: TokenStream) -> TokenStream {
    let field = layer.frozen_field("bias");
    if bias {
        quote!(Some(#by #field))
    } else {
        quote!(None)
    }
}

/// `k` when both axes agree, `(h, w)` otherwise, as a pair argument reads in the DSL.
pub fn describe_pair((h, w): (usize, usize)) -> String {
    if h == w {
        h.to_string()
    } else {
        format!("({h}, {w})")
    }
}

/// `, bias = false` when there is no bias, for [`LayerKind::describe`].
pub fn bias_suffix(bias: bool) -> &'static str {
    if bias {
        ""
    } else {
        ", bias = false"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(name: &str) -> &'static KindSpec {
        KindSpec::find(name).expect("a kind")
    }

    #[test]
    fn suggests_the_nearest_kind() {
        assert_eq!(KindSpec::nearest("Relu").map(|k| k.name), Some("ReLU"));
        assert_eq!(KindSpec::nearest("Lienar").map(|k| k.name), Some("Linear"));
        assert_eq!(KindSpec::nearest("ZeroPad").map(|k| k.name), Some("ZeroPad2d"));
        assert_eq!(KindSpec::nearest("Encoder").map(|k| k.name), None);
    }

    #[test]
    fn usage_lists_arguments_with_defaults() {
        assert_eq!(kind("Linear").usage(), "Linear(in_features, out_features, bias = true)");
        assert_eq!(kind("MaxPool2d").usage(), "MaxPool2d(kernel_size, stride = kernel_size)");
        assert_eq!(kind("ZeroPad2d").usage(), "ZeroPad2d(left, right, top, bottom)");
        assert_eq!(kind("Residual").usage(), "Residual(<layer> -> <layer> ...)");
        assert_eq!(kind("ReLU").usage(), "ReLU");
    }

    #[test]
    fn every_kind_has_one_row() {
        let mut names: Vec<&str> = KINDS.iter().map(|k| k.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), KINDS.len(), "a kind is listed twice");
    }
}
