//! Stage 2: the syntax tree → a checked network. Resolves every argument against the
//! layer table, computes every layer's input and output shape once, and reports every
//! problem as a spanned error saying what was expected and what was found.

use std::collections::HashMap;

use proc_macro2::{Ident, Span};
use syn::{Attribute, LitStr, Visibility};

use crate::layer::{Activation, ArgType, CheckedLayer, Default, Kind, Layer};
use crate::parse::{error_spanning, Arg, LayerDecl, NetworkDecl};
use crate::shape::{window_output, Shape};

/// A declaration every part of which has been checked: `generate` trusts it.
pub struct Network {
    pub attrs: Vec<Attribute>,
    pub weights: Option<LitStr>,
    pub vis: Visibility,
    pub name: Ident,
    pub input: Shape,
    pub layers: Vec<CheckedLayer>,
}

impl Network {
    pub fn output(&self) -> Shape {
        self.layers.last().map_or(self.input, |layer| layer.output)
    }
}

/// Collects errors so that one expansion reports all of them.
#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }
}

/// Checks a parsed declaration.
pub fn check(decl: NetworkDecl) -> syn::Result<Network> {
    let mut errors = Errors::default();
    let input = match &decl.input {
        Some(input) => declared_input(input, &mut errors),
        None => inferred_input(&decl.layers[0], &mut errors),
    };
    let mut fields = HashMap::new();
    let layers = check_chain(&decl.layers, input, "", "layer", true, &mut fields, &mut errors);
    match (errors.0, input) {
        (Some(error), _) => Err(error),
        (None, Some(input)) if layers.len() == decl.layers.len() => {
            Ok(Network { attrs: decl.attrs, weights: decl.weights, vis: decl.vis, name: decl.name, input, layers })
        }
        (None, _) => Err(syn::Error::new(decl.body_span, "nn internal error: a layer was dropped without a message")),
    }
}

fn declared_input(input: &crate::parse::InputDecl, errors: &mut Errors) -> Option<Shape> {
    let mut dims = Vec::new();
    for dim in &input.dims {
        match dim {
            Arg::Int(v, _) if *v > 0 => dims.push(*v as usize),
            other => {
                errors.push(syn::Error::new(
                    other.span(),
                    format!("expected a positive integer size, found {}", other.describe()),
                ));
                return None;
            }
        }
    }
    match dims[..] {
        [n] => Some(Shape::Flat(n)),
        [channels, height, width] => Some(Shape::Image { channels, height, width }),
        _ => {
            errors.push(error_spanning(
                input.start,
                input.end,
                format!(
                    "expected `input: [features]` or `input: [channels, height, width]`, found {} dimensions",
                    dims.len()
                ),
            ));
            None
        }
    }
}

/// The input shape when there is no `input:` line: only a `Linear` with a number fixes it.
fn inferred_input(first: &LayerDecl, errors: &mut Errors) -> Option<Shape> {
    let first_arg = first.args.as_ref().and_then(|args| args.positional.first());
    match (Kind::from_name(&first.kind.to_string()), first_arg) {
        (Some(Kind::Linear), Some(Arg::Int(n, _))) if *n > 0 => Some(Shape::Flat(*n as usize)),
        (Some(Kind::Linear), Some(Arg::Infer(span))) => {
            errors.push(syn::Error::new(
                *span,
                "`_` has nothing before it to infer from: the first layer needs a number, e.g. `Linear(784, 256)`",
            ));
            None
        }
        (Some(Kind::Linear), _) => None,
        (kind, _) => {
            let what = kind.map_or_else(|| format!("`{}`", first.kind), |kind| format!("`{}`", kind.name()));
            errors.push(first.error(format!(
                "the first layer {what} does not fix the input shape: declare it before the layers, \
                 e.g. `input: [1, 28, 28],` or `input: [784],`"
            )));
            None
        }
    }
}

/// Checks `layers` fed by `input`; `key_prefix`/`field_prefix` name nested layers.
fn check_chain(
    layers: &[LayerDecl],
    input: Option<Shape>,
    key_prefix: &str,
    field_prefix: &str,
    top_level: bool,
    fields: &mut HashMap<String, Span>,
    errors: &mut Errors,
) -> Vec<CheckedLayer> {
    let mut checked = Vec::with_capacity(layers.len());
    let mut shape = input;
    for (index, decl) in layers.iter().enumerate() {
        let (key, field) = match &decl.field {
            Some(name) => (format!("{key_prefix}{name}"), name.clone()),
            None => (format!("{key_prefix}{index}"), Ident::new(&format!("{field_prefix}{index}"), decl.kind.span())),
        };
        if let Some(first) = fields.insert(field.to_string(), field.span()) {
            let mut error =
                syn::Error::new(field.span(), format!("duplicate layer name `{field}`: each layer needs its own name"));
            error.combine(syn::Error::new(first, format!("`{field}` is first used here")));
            errors.push(error);
        }
        let is_last = top_level && index + 1 == layers.len();
        let Some(layer) = resolve(decl, shape, &key, &field, is_last, fields, errors) else {
            shape = None;
            continue;
        };
        let output = match &layer {
            Layer::Network(network) => shape.and_then(|_| nested_output(network, &layers[index + 1..], errors)),
            _ => output_shape(decl, &layer, shape, errors),
        };
        let (Some(input), Some(output)) = (shape, output) else {
            shape = None;
            continue;
        };
        shape = Some(output);
        checked.push(CheckedLayer { field, key, layer, input, output });
    }
    checked
}

/// The value of each argument of `decl`, by parameter name, after defaults.
fn resolve_args(decl: &LayerDecl, kind: Kind, errors: &mut Errors) -> Option<HashMap<&'static str, Arg>> {
    let specs = kind.params();
    let Some(args) = &decl.args else {
        if specs.iter().any(|p| p.default == Default::Required) {
            errors.push(decl.error(format!("`{}` needs arguments: expected `{}`", kind.name(), kind.usage())));
            return None;
        }
        return Some(defaults(specs, HashMap::new()));
    };
    if specs.is_empty() && kind != Kind::Residual {
        errors.push(syn::Error::new(
            args.span,
            format!("`{}` takes no arguments: write `{}` without parentheses", kind.name(), kind.name()),
        ));
        return None;
    }
    let required = specs.iter().filter(|p| p.default == Default::Required).count();
    if args.positional.len() > specs.len() || (args.positional.len() < required && args.keywords.is_empty()) {
        errors.push(syn::Error::new(
            args.span,
            format!(
                "`{}` expects {} argument{} ({}), found {}",
                kind.name(),
                if required == specs.len() { required.to_string() } else { format!("{required} to {}", specs.len()) },
                if specs.len() == 1 { "" } else { "s" },
                kind.usage(),
                args.positional.len() + args.keywords.len()
            ),
        ));
        return None;
    }
    let mut values: HashMap<&'static str, Arg> = HashMap::new();
    for (spec, arg) in specs.iter().zip(&args.positional) {
        values.insert(spec.name, arg.clone());
    }
    let mut ok = true;
    for (key, arg) in &args.keywords {
        let Some(spec) = specs.iter().find(|p| key == p.name) else {
            let names: Vec<&str> = specs.iter().map(|p| p.name).collect();
            errors.push(syn::Error::new(
                key.span(),
                format!("unknown argument `{key}` for `{}`: expected one of {}", kind.name(), names.join(", ")),
            ));
            ok = false;
            continue;
        };
        if values.insert(spec.name, arg.clone()).is_some() {
            errors.push(syn::Error::new(key.span(), format!("argument `{key}` is given twice")));
            ok = false;
        }
    }
    for spec in specs.iter().filter(|p| p.default == Default::Required) {
        if !values.contains_key(spec.name) {
            errors.push(syn::Error::new(
                args.span,
                format!("`{}` is missing its `{}` argument: expected `{}`", kind.name(), spec.name, kind.usage()),
            ));
            ok = false;
        }
    }
    for spec in specs {
        if let Some(arg) = values.get(spec.name) {
            ok &= check_type(spec.name, spec.ty, arg, errors);
        }
    }
    ok.then(|| defaults(specs, values))
}

/// Fills in the defaults of the arguments not given.
fn defaults(specs: &[crate::layer::ParamSpec], mut values: HashMap<&'static str, Arg>) -> HashMap<&'static str, Arg> {
    for spec in specs {
        if values.contains_key(spec.name) {
            continue;
        }
        let span = Span::call_site();
        let value = match spec.default {
            Default::Required => continue,
            Default::Int(v) => Arg::Int(v, span),
            Default::Number(v) => Arg::Float(v, span),
            Default::Bool(v) => Arg::Bool(v, span),
            Default::SameAs(other) => values[other].clone(),
        };
        values.insert(spec.name, value);
    }
    values
}

fn check_type(name: &str, ty: ArgType, arg: &Arg, errors: &mut Errors) -> bool {
    let expected = match (ty, arg) {
        (ArgType::Dim | ArgType::DimOrInfer, Arg::Int(v, _)) if *v > 0 => return true,
        (ArgType::DimOrInfer, Arg::Infer(_)) => return true,
        (ArgType::Count, Arg::Int(..)) => return true,
        (ArgType::Number, Arg::Int(..) | Arg::Float(..)) => return true,
        (ArgType::Bool, Arg::Bool(..)) => return true,
        (ArgType::Dim, _) => "a positive integer",
        (ArgType::DimOrInfer, _) => "a positive integer or `_`",
        (ArgType::Count, _) => "a non-negative integer",
        (ArgType::Number, _) => "a number",
        (ArgType::Bool, _) => "`true` or `false`",
    };
    errors.push(syn::Error::new(arg.span(), format!("`{name}` must be {expected}, found {}", arg.describe())));
    false
}

fn int(values: &HashMap<&str, Arg>, name: &str) -> Option<usize> {
    match values.get(name) {
        Some(Arg::Int(v, _)) => Some(*v as usize),
        _ => None,
    }
}

fn number(values: &HashMap<&str, Arg>, name: &str) -> f64 {
    match values.get(name) {
        Some(Arg::Int(v, _)) => *v as f64,
        Some(Arg::Float(v, _)) => *v,
        _ => unreachable!("checked by `check_type`"),
    }
}

fn flag(values: &HashMap<&str, Arg>, name: &str) -> bool {
    matches!(values.get(name), Some(Arg::Bool(true, _)))
}

/// A size argument that may be `_`: the value given, or the one the previous layer produces.
fn size_or_inferred(
    values: &HashMap<&str, Arg>,
    name: &str,
    previous: Option<usize>,
    input: Option<Shape>,
    errors: &mut Errors,
) -> Option<usize> {
    match (values.get(name), previous, input) {
        (Some(Arg::Infer(_)), Some(n), _) => Some(n),
        (Some(Arg::Infer(span)), None, Some(shape)) => {
            errors.push(syn::Error::new(*span, format!("`_` cannot be inferred from the previous layer's {shape}")));
            None
        }
        (Some(Arg::Infer(span)), None, None) => {
            if errors.0.is_none() {
                errors.push(syn::Error::new(*span, "`_` has nothing before it to infer from: write the number"));
            }
            None
        }
        _ => int(values, name),
    }
}

/// Resolves one layer's arguments into a [`Layer`].
fn resolve(
    decl: &LayerDecl,
    input: Option<Shape>,
    key: &str,
    field: &Ident,
    is_last: bool,
    fields: &mut HashMap<String, Span>,
    errors: &mut Errors,
) -> Option<Layer> {
    let name = decl.kind.to_string();
    let Some(kind) = Kind::from_name(&name) else {
        return nested_network(decl, errors);
    };
    let values = resolve_args(decl, kind, errors)?;
    let channels = |shape: Option<Shape>| match shape {
        Some(Shape::Image { channels, .. }) => Some(channels),
        _ => None,
    };
    let layer = match kind {
        Kind::Linear => Layer::Linear {
            inputs: size_or_inferred(&values, "in_features", input.map(Shape::len), input, errors)?,
            outputs: int(&values, "out_features")?,
            bias: flag(&values, "bias"),
        },
        Kind::ReLU => Layer::Activation(Activation::Relu),
        Kind::Sigmoid => Layer::Activation(Activation::Sigmoid),
        Kind::Tanh => Layer::Activation(Activation::Tanh),
        Kind::GELU => Layer::Activation(Activation::Gelu),
        Kind::LeakyReLU => Layer::Activation(Activation::LeakyRelu(number(&values, "negative_slope"))),
        Kind::Softmax => {
            if !is_last {
                errors.push(decl.error(
                    "`Softmax` must be the last layer: it turns the outputs into probabilities for inference; \
                     for training, end with the logits and use `CrossEntropyLoss`, which applies log-softmax itself",
                ));
                return None;
            }
            Layer::Softmax
        }
        Kind::Dropout => {
            let p = number(&values, "p");
            if !(0.0..1.0).contains(&p) {
                let span = values["p"].span();
                errors.push(syn::Error::new(span, format!("dropout probability must be in [0, 1), found {p:?}")));
                return None;
            }
            Layer::Dropout { p }
        }
        Kind::Conv2d => Layer::Conv2d {
            in_channels: size_or_inferred(&values, "in_channels", channels(input), input, errors)?,
            out_channels: int(&values, "out_channels")?,
            kernel: int(&values, "kernel_size")?,
            stride: int(&values, "stride")?,
            padding: int(&values, "padding")?,
            bias: flag(&values, "bias"),
        },
        Kind::MaxPool2d => Layer::MaxPool2d { kernel: int(&values, "kernel_size")?, stride: int(&values, "stride")? },
        Kind::AvgPool2d => Layer::AvgPool2d { kernel: int(&values, "kernel_size")?, stride: int(&values, "stride")? },
        Kind::BatchNorm1d | Kind::BatchNorm2d => {
            let previous = if kind == Kind::BatchNorm1d { input.map(Shape::len) } else { channels(input) };
            let eps = number(&values, "eps");
            let momentum = number(&values, "momentum");
            if eps <= 0.0 || !(0.0..=1.0).contains(&momentum) {
                errors.push(decl.error(format!(
                    "expected `eps > 0` and `momentum` in [0, 1], found eps = {eps:?}, momentum = {momentum:?}"
                )));
                return None;
            }
            Layer::BatchNorm {
                features: size_or_inferred(&values, "num_features", previous, input, errors)?,
                eps,
                momentum,
            }
        }
        Kind::Flatten => Layer::Flatten,
        Kind::Residual => {
            let Some(chain) = decl.args.as_ref().and_then(|args| args.chain.as_ref()) else {
                errors.push(decl.error("`Residual` needs a chain of layers: `Residual(Linear(64, 64) -> ReLU)`"));
                return None;
            };
            let inner = check_chain(chain, input, &format!("{key}."), &format!("{field}_"), false, fields, errors);
            if inner.len() != chain.len() {
                return None;
            }
            Layer::Residual(inner)
        }
    };
    Some(layer)
}

/// An identifier that is not a layer kind: a typo (with a suggestion) or another network.
fn nested_network(decl: &LayerDecl, errors: &mut Errors) -> Option<Layer> {
    let name = decl.kind.to_string();
    if let Some(kind) = Kind::nearest(&name) {
        errors.push(syn::Error::new(
            decl.kind.span(),
            format!("unknown layer `{name}`: did you mean `{}`? (expected `{}`)", kind.name(), kind.usage()),
        ));
        return None;
    }
    if let Some(args) = &decl.args {
        errors.push(syn::Error::new(
            args.span,
            format!("`{name}` is not a layer kind, so it is taken as a network declared elsewhere, which takes no arguments"),
        ));
        return None;
    }
    Some(Layer::Network(decl.kind.clone()))
}

/// The shape `layer` produces from `input`, or an error saying why it cannot take it.
fn output_shape(decl: &LayerDecl, layer: &Layer, input: Option<Shape>, errors: &mut Errors) -> Option<Shape> {
    let input = input?;
    let kind = decl.kind.to_string();
    let flat = |errors: &mut Errors| match input {
        Shape::Flat(n) => Some(n),
        Shape::Image { .. } => {
            errors.push(decl.error(format!(
                "`{kind}` expects a flat input [features], but the previous layer produces the image {input}: \
                 insert `Flatten` before it"
            )));
            None
        }
    };
    let image = |errors: &mut Errors| match input {
        Shape::Image { channels, height, width } => Some((channels, height, width)),
        Shape::Flat(_) => {
            errors.push(decl.error(format!(
                "`{kind}` expects an image [channels, height, width], but the previous layer produces {input}"
            )));
            None
        }
    };
    let output = match layer {
        Layer::Linear { inputs, outputs, .. } => {
            let n = flat(errors)?;
            if n != *inputs {
                let span = decl.args.as_ref().map_or(decl.kind.span(), |args| args.positional[0].span());
                errors.push(syn::Error::new(
                    span,
                    format!(
                        "Linear({inputs}, {outputs}) expects {inputs} input features, but the previous layer produces {n}"
                    ),
                ));
                return None;
            }
            Shape::Flat(*outputs)
        }
        Layer::Softmax => Shape::Flat(flat(errors)?),
        Layer::Activation(_) | Layer::Dropout { .. } => input,
        Layer::Conv2d { in_channels, out_channels, kernel, stride, padding, .. } => {
            let (channels, height, width) = image(errors)?;
            if channels != *in_channels {
                errors.push(decl.error(format!(
                    "Conv2d expects {in_channels} input channels, but the previous layer produces {channels} (shape {input})"
                )));
                return None;
            }
            let (Some(h), Some(w)) =
                (window_output(height, *kernel, *stride, *padding), window_output(width, *kernel, *stride, *padding))
            else {
                errors.push(decl.error(format!(
                    "Conv2d kernel {kernel}x{kernel} is larger than its padded input {}x{} (input {input}, padding {padding})",
                    height + 2 * padding,
                    width + 2 * padding
                )));
                return None;
            };
            Shape::Image { channels: *out_channels, height: h, width: w }
        }
        Layer::MaxPool2d { kernel, stride } | Layer::AvgPool2d { kernel, stride } => {
            let (channels, height, width) = image(errors)?;
            let (Some(h), Some(w)) =
                (window_output(height, *kernel, *stride, 0), window_output(width, *kernel, *stride, 0))
            else {
                errors.push(decl.error(format!(
                    "{kind} window {kernel}x{kernel} is larger than its input {height}x{width} (shape {input})"
                )));
                return None;
            };
            Shape::Image { channels, height: h, width: w }
        }
        Layer::BatchNorm { features, .. } => {
            let found = if kind == "BatchNorm1d" { flat(errors)? } else { image(errors)?.0 };
            if found != *features {
                let what = if kind == "BatchNorm1d" { "features" } else { "channels" };
                errors.push(decl.error(format!(
                    "{kind}({features}) expects {features} {what}, but the previous layer produces {found} (shape {input})"
                )));
                return None;
            }
            input
        }
        Layer::Flatten => Shape::Flat(input.len()),
        Layer::Residual(inner) => {
            let output = inner.last().map_or(input, |layer| layer.output);
            if output != input {
                errors.push(decl.error(format!(
                    "a Residual chain must keep the shape (y = x + chain(x)), but it turns {input} into {output}"
                )));
                return None;
            }
            input
        }
        Layer::Network(_) => unreachable!("nested networks take `nested_output`"),
    };
    Some(output)
}

/// The output shape of a network used as a layer. Its declaration is expanded
/// separately, so the size is read from the first later layer that states its input
/// size (`Linear(32, 10)`), and the type system checks it against the network.
fn nested_output(network: &Ident, rest: &[LayerDecl], errors: &mut Errors) -> Option<Shape> {
    for decl in rest {
        let stated = |name: &str| {
            let args = decl.args.as_ref()?;
            let keyword = args.keywords.iter().find(|(key, _)| key == name).map(|(_, arg)| arg);
            match keyword.or(args.positional.first()) {
                Some(Arg::Int(n, _)) if *n > 0 => Some(Shape::Flat(*n as usize)),
                _ => None,
            }
        };
        let found = match Kind::from_name(&decl.kind.to_string()) {
            Some(
                Kind::ReLU | Kind::Sigmoid | Kind::Tanh | Kind::GELU | Kind::LeakyReLU | Kind::Dropout | Kind::Softmax,
            ) => continue,
            Some(Kind::Linear) => stated("in_features"),
            Some(Kind::BatchNorm1d) => stated("num_features"),
            _ => None,
        };
        if found.is_none() {
            errors.push(decl.error(format!(
                "the output size of `{network}` (declared elsewhere) is not known here: \
                 write this layer's input size as a number, e.g. `Linear(32, 10)` after `{network}`"
            )));
        }
        return found;
    }
    errors.push(syn::Error::new(
        network.span(),
        format!(
            "the output size of `{network}` (declared elsewhere) is not known here: follow it with a layer \
             that states its input size, e.g. `Linear(32, 10)`, or compose whole networks with `nn::Chain`"
        ),
    ));
    None
}
