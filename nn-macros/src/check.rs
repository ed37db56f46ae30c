//! Stage 2: the syntax tree → a checked network. Resolves every argument against the
//! kind table, computes every layer's input and output shape once (in checked
//! arithmetic, capped at [`MAX_SCALARS`]), and reports every problem as a spanned
//! error saying what was expected and what was found.

use std::collections::HashMap;

use proc_macro2::{Ident, Span};
use syn::{Attribute, LitStr, Visibility};

use crate::kinds::{ArgType, Default, KindSpec, LayerKind, Nested, ParamSpec, Resolve, ShapeSite, State, StatesInput};
use crate::parse::{error_spanning, Arg, InputDecl, LayerDecl, NetworkDecl};
use crate::shape::{exact_product, scalars, Shape, MAX_SCALARS, MAX_SCALARS_TEXT};

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
    /// The shape of one output sample.
    pub fn output(&self) -> Shape {
        self.layers.last().map_or(self.input, |layer| layer.output)
    }
}

/// A layer in place: its name, its state-dict key, its kind and its shapes.
#[derive(Debug)]
pub struct CheckedLayer {
    /// The struct field (or local name) the generated code uses for this layer.
    pub field: Ident,
    /// The PyTorch `state_dict` prefix, e.g. `"0"`, `"fc1"`, `"3.0"`.
    pub key: String,
    pub kind: Box<dyn LayerKind>,
    pub input: Shape,
    pub output: Shape,
    /// The layer's kind token, where the compiler's errors about it point.
    pub span: Span,
    /// How freezing merges it with a neighbour.
    pub fold: Fold,
}

/// How freezing merges a layer with its neighbour: a BatchNorm after a Linear or Conv2d
/// is folded into it (one pass instead of two, and no scale and shift arrays).
#[derive(Clone, Debug, PartialEq)]
pub enum Fold {
    /// Frozen on its own.
    Alone,
    /// A Linear or Conv2d that takes in the BatchNorm after it.
    TakesIn(FoldedBatchNorm),
    /// A BatchNorm taken into the layer before it: its frozen form is nothing.
    Folded,
}

/// The BatchNorm a Linear or Conv2d takes in when frozen.
#[derive(Clone, Debug, PartialEq)]
pub struct FoldedBatchNorm {
    /// Its field in the training struct.
    pub field: Ident,
    /// Its state-dict key, e.g. `"1"`.
    pub key: String,
    /// Its `eps`.
    pub eps: f64,
}

impl CheckedLayer {
    /// The BatchNorm this layer takes in when frozen, if any.
    pub fn folds_in(&self) -> Option<&FoldedBatchNorm> {
        match &self.fold {
            Fold::TakesIn(batch_norm) => Some(batch_norm),
            _ => None,
        }
    }

    /// Whether this layer's state dict is a weight and an optional bias (a Linear, a
    /// Conv2d), or running statistics (a BatchNorm).
    fn state_is(&self, name: &str) -> bool {
        matches!(
            self.kind.params(self).map(|params| params.state),
            Some(State::Tensors { visit, .. }) if visit.contains(&name)
        )
    }
}

/// Marks every BatchNorm right after a Linear or Conv2d as folded into it; `decls` are
/// the declarations of `layers`, one each.
fn mark_batch_norm_folds(layers: &mut [CheckedLayer], decls: &[LayerDecl]) {
    for i in 1..layers.len() {
        let (before, after) = layers.split_at_mut(i);
        let (layer, batch_norm) = (&mut before[i - 1], &mut after[0]);
        let weighted = layer.fold == Fold::Alone && layer.state_is("weight") && !layer.state_is("running_mean");
        if !(weighted && batch_norm.state_is("running_mean") && layer.output == batch_norm.input) {
            continue;
        }
        let Some(eps) = KindSpec::find(&decls[i].kind.to_string())
            .and_then(|spec| resolve_args(&decls[i], spec, &mut Errors::default()))
            .and_then(|values| match values.get("eps") {
                Some(Arg::Float(eps, _)) => Some(*eps),
                Some(Arg::Int(eps, _)) => Some(*eps as f64),
                _ => None,
            })
        else {
            continue;
        };
        let (field, key) = (batch_norm.field.clone(), batch_norm.key.clone());
        layer.fold = Fold::TakesIn(FoldedBatchNorm { field, key, eps });
        batch_norm.fold = Fold::Folded;
    }
}

/// Collects errors so that one expansion reports all of them.
#[derive(Default)]
pub struct Errors(Option<syn::Error>);

impl Errors {
    /// Adds an error.
    pub fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    /// Whether none was pushed.
    pub fn is_empty(&self) -> bool {
        self.0.is_none()
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

fn declared_input(input: &InputDecl, errors: &mut Errors) -> Option<Shape> {
    let mut dims = Vec::new();
    for dim in &input.dims {
        match dim {
            Arg::Int(v, _) if *v > 0 => dims.push(usize::try_from(*v).unwrap_or(usize::MAX)),
            other => {
                errors.push(syn::Error::new(
                    other.span(),
                    format!("expected a positive integer size, found {}", other.describe()),
                ));
                return None;
            }
        }
    }
    if scalars(&dims).is_none() {
        errors.push(error_spanning(
            input.start,
            input.end,
            format!(
                "an input sample of {} scalars is too large: a network's values hold at most {MAX_SCALARS_TEXT}",
                exact_product(&dims)
            ),
        ));
        return None;
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

/// The input shape when there is no `input:` line: a first layer that states a flat
/// input size (`Linear(784, ..)`) with a number fixes it.
fn inferred_input(first: &LayerDecl, errors: &mut Errors) -> Option<Shape> {
    let kind = KindSpec::find(&first.kind.to_string());
    if let Some(KindSpec { states_input: StatesInput::Flat(name), .. }) = kind {
        return match first.stated(name) {
            Some(Arg::Int(n, _)) if *n > 0 && *n as usize <= MAX_SCALARS => Some(Shape::Flat(*n as usize)),
            Some(Arg::Infer(span)) => {
                errors.push(syn::Error::new(
                    *span,
                    "`_` has nothing before it to infer from: the first layer needs a number, e.g. `Linear(784, 256)`",
                ));
                None
            }
            _ => None,
        };
    }
    let what = kind.map_or_else(|| format!("`{}`", first.kind), |kind| format!("`{}`", kind.name));
    errors.push(first.error(format!(
        "the first layer {what} does not fix the input shape: declare it before the layers, \
         e.g. `input: [1, 28, 28],` or `input: [784],`"
    )));
    None
}

/// Checks `layers` fed by `input`; `key_prefix`/`field_prefix` name inner layers.
pub fn check_chain(
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
        let Some(kind) = resolve(decl, shape, &key, &field, is_last, fields, errors) else {
            shape = None;
            continue;
        };
        let Some(input) = shape else {
            continue;
        };
        let at = ShapeSite { decl, rest: &layers[index + 1..] };
        let output = match kind.output(input, &at) {
            Ok(output) if scalars(&output.dims()).is_some() => output,
            Ok(output) => {
                errors.push(decl.error(format!(
                    "this layer's output {output} is too large: a network's values hold at most {MAX_SCALARS_TEXT} \
                     scalars per sample"
                )));
                shape = None;
                continue;
            }
            Err(error) => {
                errors.push(error);
                shape = None;
                continue;
            }
        };
        let layer = CheckedLayer { field, key, kind, input, output, span: decl.kind.span(), fold: Fold::Alone };
        if let Some(error) = oversized_tensor(&layer, decl) {
            errors.push(error);
        }
        shape = Some(output);
        checked.push(layer);
    }
    if checked.len() == layers.len() {
        mark_batch_norm_folds(&mut checked, layers);
    }
    checked
}

/// An error if one of the layer's tensors holds more than [`MAX_SCALARS`].
fn oversized_tensor(layer: &CheckedLayer, decl: &LayerDecl) -> Option<syn::Error> {
    let Some(State::Tensors { tensors, .. }) = layer.kind.params(layer).map(|params| params.state) else {
        return None;
    };
    let tensor = tensors.iter().find(|tensor| scalars(&tensor.shape).is_none())?;
    Some(decl.error(format!(
        "`{}` would hold {} scalars in `{}` {:?}: a tensor holds at most {MAX_SCALARS_TEXT}",
        layer.kind.describe(),
        exact_product(&tensor.shape),
        layer.tensor_key(tensor.name),
        tensor.shape
    )))
}

/// Resolves one layer's arguments into its kind.
fn resolve(
    decl: &LayerDecl,
    input: Option<Shape>,
    key: &str,
    field: &Ident,
    is_last: bool,
    fields: &mut HashMap<String, Span>,
    errors: &mut Errors,
) -> Option<Box<dyn LayerKind>> {
    let Some(spec) = KindSpec::find(&decl.kind.to_string()) else {
        return nested_network(decl, errors);
    };
    let values = resolve_args(decl, spec, errors)?;
    (spec.resolve)(&mut Resolve { decl, values, input, key, field, is_last, fields, errors })
}

/// The value of each argument of `decl`, by parameter name, after defaults.
fn resolve_args(decl: &LayerDecl, kind: &KindSpec, errors: &mut Errors) -> Option<HashMap<&'static str, Arg>> {
    let specs = kind.params;
    let Some(args) = &decl.args else {
        if specs.iter().any(|p| p.default == Default::Required) {
            errors.push(decl.error(format!("`{}` needs arguments: expected `{}`", kind.name, kind.usage())));
            return None;
        }
        return Some(defaults(specs, HashMap::new()));
    };
    if kind.chain {
        return Some(HashMap::new());
    }
    if specs.is_empty() {
        errors.push(syn::Error::new(
            args.span,
            format!("`{}` takes no arguments: write `{}` without parentheses", kind.name, kind.name),
        ));
        return None;
    }
    let required = specs.iter().filter(|p| p.default == Default::Required).count();
    if args.positional.len() > specs.len() || (args.positional.len() < required && args.keywords.is_empty()) {
        errors.push(syn::Error::new(
            args.span,
            format!(
                "`{}` expects {} argument{} ({}), found {}",
                kind.name,
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
                format!("unknown argument `{key}` for `{}`: expected one of {}", kind.name, names.join(", ")),
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
                format!("`{}` is missing its `{}` argument: expected `{}`", kind.name, spec.name, kind.usage()),
            ));
            ok = false;
        }
    }
    for spec in specs {
        if let Some(arg) = values.get(spec.name) {
            ok &= check_type(spec, arg, errors);
        }
    }
    ok.then(|| defaults(specs, values))
}

/// Fills in the defaults of the arguments not given.
fn defaults(specs: &[ParamSpec], mut values: HashMap<&'static str, Arg>) -> HashMap<&'static str, Arg> {
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

fn check_type(spec: &ParamSpec, arg: &Arg, errors: &mut Errors) -> bool {
    let name = spec.name;
    let (element, what) = match spec.ty {
        ArgType::DimPair => (ArgType::Dim, "positive integers"),
        ArgType::CountPair => (ArgType::Count, "non-negative integers"),
        ty => return check_scalar(&format!("`{name}`"), ty, arg, errors),
    };
    match arg {
        Arg::Tuple(items, _) if items.len() == 2 => {
            let height = check_scalar(&format!("the height of `{name}`"), element, &items[0], errors);
            let width = check_scalar(&format!("the width of `{name}`"), element, &items[1], errors);
            height && width
        }
        Arg::Tuple(..) => {
            errors.push(syn::Error::new(
                arg.span(),
                format!(
                    "`{name}` must be one size for both axes or a pair `(height, width)` of {what}, found {}",
                    arg.describe()
                ),
            ));
            false
        }
        _ => check_scalar(&format!("`{name}`"), spec.ty, arg, errors),
    }
}

/// Checks one scalar argument, or one element of a pair, named `label` in messages.
fn check_scalar(label: &str, ty: ArgType, arg: &Arg, errors: &mut Errors) -> bool {
    let expected = match (ty, arg) {
        (_, Arg::Int(v, span)) if *v > MAX_SCALARS as u64 && !matches!(ty, ArgType::Number | ArgType::Bool) => {
            errors.push(syn::Error::new(
                *span,
                format!("{label} = {v} is too large: a size or count is at most {MAX_SCALARS_TEXT}"),
            ));
            return false;
        }
        (ArgType::Dim | ArgType::DimOrInfer | ArgType::DimPair, Arg::Int(v, _)) if *v > 0 => return true,
        (ArgType::DimOrInfer, Arg::Infer(_)) => return true,
        (ArgType::Count | ArgType::CountPair, Arg::Int(..)) => return true,
        (ArgType::Number, Arg::Int(..) | Arg::Float(..)) => return true,
        (ArgType::Bool, Arg::Bool(..)) => return true,
        (ArgType::Dim, _) => "a positive integer",
        (ArgType::DimOrInfer, _) => "a positive integer or `_`",
        (ArgType::Count, _) => "a non-negative integer",
        (ArgType::Number, _) => "a number",
        (ArgType::Bool, _) => "`true` or `false`",
        (ArgType::DimPair, _) => "a positive integer or a pair `(height, width)` of them",
        (ArgType::CountPair, _) => "a non-negative integer or a pair `(height, width)` of them",
    };
    errors.push(syn::Error::new(arg.span(), format!("{label} must be {expected}, found {}", arg.describe())));
    false
}

/// An identifier that is not a layer kind: a typo (with a suggestion) or another network.
fn nested_network(decl: &LayerDecl, errors: &mut Errors) -> Option<Box<dyn LayerKind>> {
    let name = decl.kind.to_string();
    if let Some(kind) = KindSpec::nearest(&name) {
        errors.push(syn::Error::new(
            decl.kind.span(),
            format!("unknown layer `{name}`: did you mean `{}`? (expected `{}`)", kind.name, kind.usage()),
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
    Some(Box::new(Nested { network: decl.kind.clone() }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(source: &str) -> syn::Result<Network> {
        check(syn::parse_str(source)?)
    }

    fn message(source: &str) -> String {
        checked(source).err().map(|e| e.to_string()).unwrap_or_default()
    }

    #[test]
    fn computes_every_shape_once() {
        let net = checked(
            "struct LeNet { input: [1, 28, 28], Conv2d(1, 6, 5, padding = 2) -> ReLU -> MaxPool2d(2) \
             -> Flatten -> Linear(_, 10) }",
        )
        .unwrap();
        let shapes: Vec<String> = net.layers.iter().map(|l| l.output.to_string()).collect();
        assert_eq!(shapes, ["[6, 28, 28]", "[6, 28, 28]", "[6, 14, 14]", "[1176]", "[10]"]);
        assert_eq!(net.layers[4].kind.describe(), "Linear(1176, 10)");
    }

    #[test]
    fn names_keys_and_fields_of_inner_chains() {
        let net = checked("struct R { fc: Linear(4, 4) -> Residual(Linear(4, 4) -> Tanh) }").unwrap();
        let inner = net.layers[1].kind.inner();
        assert_eq!((net.layers[1].key.as_str(), inner[0].key.as_str()), ("1", "1.0"));
        assert_eq!(inner[1].field.to_string(), "layer1_1");
    }

    #[test]
    fn keeps_batch_norm_1d_and_2d_apart() {
        let net = checked("struct B { input: [2, 3, 3], BatchNorm2d(2) -> Flatten -> BatchNorm1d(18) }").unwrap();
        assert_eq!(net.layers[0].kind.describe(), "BatchNorm2d(2, eps = 1e-5, momentum = 0.1)");
        assert_eq!(net.layers[2].kind.describe(), "BatchNorm1d(18, eps = 1e-5, momentum = 0.1)");
    }

    #[test]
    fn rejects_sizes_past_the_cap() {
        assert!(message("struct L { Linear(1000000, 1000000) }").contains("would hold 1000000000000 scalars"));
        assert!(message("struct I { input: [65536, 65536, 2], ReLU }").contains("too large"));
        assert!(message("struct P { input: [1, 2, 2], Conv2d(1, 1, 1, padding = 1073741824) }").contains("too large"));
        assert!(message("struct A { Linear(18446744073709551615, 2) }").contains("is too large"));
    }

    #[test]
    fn reports_what_was_expected_and_found() {
        assert_eq!(
            message("struct M { Linear(4, 3) -> Linear(2, 1) }"),
            "Linear(2, 1) expects 2 input features, but the previous layer produces 3"
        );
        assert_eq!(
            message("struct S { Linear(4, 3) -> Softmax -> ReLU }").split(':').next(),
            Some("`Softmax` must be the last layer")
        );
    }
}
