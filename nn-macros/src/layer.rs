//! The layer table: every kind the DSL knows, its arguments with PyTorch's names and
//! defaults, and the resolved layer that `check` produces.

use proc_macro2::Ident;

use crate::shape::Shape;

/// A layer kind the DSL knows, spelled as in PyTorch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(clippy::upper_case_acronyms)] // PyTorch's spelling is the DSL's.
pub enum Kind {
    Linear,
    ReLU,
    Sigmoid,
    Tanh,
    GELU,
    LeakyReLU,
    Softmax,
    Dropout,
    Conv2d,
    MaxPool2d,
    AvgPool2d,
    BatchNorm1d,
    BatchNorm2d,
    Flatten,
    Residual,
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

const fn param(name: &'static str, ty: ArgType, default: Default) -> ParamSpec {
    ParamSpec { name, ty, default }
}

const LINEAR: &[ParamSpec] = &[
    param("in_features", ArgType::DimOrInfer, Default::Required),
    param("out_features", ArgType::Dim, Default::Required),
    param("bias", ArgType::Bool, Default::Bool(true)),
];
const LEAKY_RELU: &[ParamSpec] = &[param("negative_slope", ArgType::Number, Default::Number(0.01))];
const DROPOUT: &[ParamSpec] = &[param("p", ArgType::Number, Default::Number(0.5))];
const CONV2D: &[ParamSpec] = &[
    param("in_channels", ArgType::DimOrInfer, Default::Required),
    param("out_channels", ArgType::Dim, Default::Required),
    param("kernel_size", ArgType::Dim, Default::Required),
    param("stride", ArgType::Dim, Default::Int(1)),
    param("padding", ArgType::Count, Default::Int(0)),
    param("bias", ArgType::Bool, Default::Bool(true)),
];
const POOL: &[ParamSpec] = &[
    param("kernel_size", ArgType::Dim, Default::Required),
    param("stride", ArgType::Dim, Default::SameAs("kernel_size")),
];
const BATCH_NORM: &[ParamSpec] = &[
    param("num_features", ArgType::DimOrInfer, Default::Required),
    param("eps", ArgType::Number, Default::Number(1e-5)),
    param("momentum", ArgType::Number, Default::Number(0.1)),
];

impl Kind {
    /// Every kind, in the order the documentation lists them.
    pub const ALL: [Kind; 15] = [
        Kind::Linear,
        Kind::ReLU,
        Kind::Sigmoid,
        Kind::Tanh,
        Kind::GELU,
        Kind::LeakyReLU,
        Kind::Softmax,
        Kind::Dropout,
        Kind::Conv2d,
        Kind::MaxPool2d,
        Kind::AvgPool2d,
        Kind::BatchNorm1d,
        Kind::BatchNorm2d,
        Kind::Flatten,
        Kind::Residual,
    ];

    /// The kind's name in the DSL (PyTorch's class name).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Linear => "Linear",
            Kind::ReLU => "ReLU",
            Kind::Sigmoid => "Sigmoid",
            Kind::Tanh => "Tanh",
            Kind::GELU => "GELU",
            Kind::LeakyReLU => "LeakyReLU",
            Kind::Softmax => "Softmax",
            Kind::Dropout => "Dropout",
            Kind::Conv2d => "Conv2d",
            Kind::MaxPool2d => "MaxPool2d",
            Kind::AvgPool2d => "AvgPool2d",
            Kind::BatchNorm1d => "BatchNorm1d",
            Kind::BatchNorm2d => "BatchNorm2d",
            Kind::Flatten => "Flatten",
            Kind::Residual => "Residual",
        }
    }

    /// The kind spelled exactly `name`.
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|kind| kind.name() == name)
    }

    /// The arguments the kind takes, positional order first.
    pub fn params(self) -> &'static [ParamSpec] {
        match self {
            Kind::Linear => LINEAR,
            Kind::LeakyReLU => LEAKY_RELU,
            Kind::Dropout => DROPOUT,
            Kind::Conv2d => CONV2D,
            Kind::MaxPool2d | Kind::AvgPool2d => POOL,
            Kind::BatchNorm1d | Kind::BatchNorm2d => BATCH_NORM,
            Kind::ReLU | Kind::Sigmoid | Kind::Tanh | Kind::GELU | Kind::Softmax | Kind::Flatten | Kind::Residual => {
                &[]
            }
        }
    }

    /// How a correct use reads, for messages.
    pub fn usage(self) -> String {
        match self {
            Kind::Residual => "Residual(<layer> -> <layer> ...)".to_string(),
            _ if self.params().is_empty() => self.name().to_string(),
            _ => {
                let args: Vec<String> = self
                    .params()
                    .iter()
                    .map(|p| match p.default {
                        Default::Required => p.name.to_string(),
                        Default::Int(v) => format!("{} = {v}", p.name),
                        Default::Number(v) => format!("{} = {v:?}", p.name),
                        Default::Bool(v) => format!("{} = {v}", p.name),
                        Default::SameAs(other) => format!("{} = {other}", p.name),
                    })
                    .collect();
                format!("{}({})", self.name(), args.join(", "))
            }
        }
    }

    /// The known kind closest to an unknown `name`, if it is plausibly a typo.
    pub fn nearest(name: &str) -> Option<Kind> {
        let lower = name.to_lowercase();
        Kind::ALL
            .into_iter()
            .map(|kind| (edit_distance(&lower, &kind.name().to_lowercase()), kind))
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

/// An elementwise activation, resolved.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    Relu,
    Sigmoid,
    Tanh,
    Gelu,
    LeakyRelu(f64),
}

/// A layer with every argument resolved and checked.
#[derive(Clone, Debug, PartialEq)]
pub enum Layer {
    Linear {
        inputs: usize,
        outputs: usize,
        bias: bool,
    },
    Activation(Activation),
    Softmax,
    Dropout {
        p: f64,
    },
    Conv2d {
        in_channels: usize,
        out_channels: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
        bias: bool,
    },
    MaxPool2d {
        kernel: usize,
        stride: usize,
    },
    AvgPool2d {
        kernel: usize,
        stride: usize,
    },
    BatchNorm {
        features: usize,
        eps: f64,
        momentum: f64,
    },
    Flatten,
    Residual(Vec<CheckedLayer>),
    /// Another `network!` declared elsewhere, used as a layer.
    Network(Ident),
}

/// A layer in place: its name, its state-dict key and its input and output shapes.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckedLayer {
    /// The struct field (or local name) the generated code uses for this layer.
    pub field: Ident,
    /// The PyTorch `state_dict` prefix, e.g. `"0"`, `"fc1"`, `"3.0"`.
    pub key: String,
    pub layer: Layer,
    pub input: Shape,
    pub output: Shape,
}

/// One tensor of a frozen model, in the frozen struct's field order.
#[derive(Clone, Debug, PartialEq)]
pub struct FrozenTensor {
    /// The PyTorch `state_dict` key, e.g. `"0.weight"`.
    pub key: String,
    /// The PyTorch shape, e.g. `[out, in]` for a Linear weight.
    pub shape: Vec<usize>,
    /// Whether the frozen copy stores the 2-d tensor transposed (`[in][out]`).
    pub transposed: bool,
}

impl CheckedLayer {
    /// The tensors this layer contributes to the frozen struct, in field order.
    pub fn frozen_tensors(&self) -> Vec<FrozenTensor> {
        let tensor = |name: &str, shape: Vec<usize>, transposed| FrozenTensor {
            key: format!("{}.{name}", self.key),
            shape,
            transposed,
        };
        match &self.layer {
            Layer::Linear { inputs, outputs, bias } => {
                let mut tensors = vec![tensor("weight", vec![*outputs, *inputs], true)];
                if *bias {
                    tensors.push(tensor("bias", vec![*outputs], false));
                }
                tensors
            }
            Layer::Conv2d { in_channels, out_channels, kernel, bias, .. } => {
                let mut tensors = vec![tensor("weight", vec![*out_channels, *in_channels, *kernel, *kernel], false)];
                if *bias {
                    tensors.push(tensor("bias", vec![*out_channels], false));
                }
                tensors
            }
            Layer::Residual(inner) => inner.iter().flat_map(CheckedLayer::frozen_tensors).collect(),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_nearest_kind() {
        assert_eq!(Kind::nearest("Relu"), Some(Kind::ReLU));
        assert_eq!(Kind::nearest("Lienar"), Some(Kind::Linear));
        assert_eq!(Kind::nearest("Encoder"), None);
    }

    #[test]
    fn usage_lists_arguments_with_defaults() {
        assert_eq!(Kind::Linear.usage(), "Linear(in_features, out_features, bias = true)");
        assert_eq!(Kind::MaxPool2d.usage(), "MaxPool2d(kernel_size, stride = kernel_size)");
    }
}
