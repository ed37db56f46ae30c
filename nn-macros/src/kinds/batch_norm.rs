//! `BatchNorm1d(num_features, eps = 1e-5, momentum = 0.1)` over the features of a flat
//! input, `BatchNorm2d(..)` over the channels of an image.

use proc_macro2::{Ident, TokenStream};
use quote::quote;

use super::{f64_lit, param, usize_lit, ArgType, Bake, Default, FrozenField, KindSpec, LayerKind, ParamSpec, Params};
use super::{Resolve, ShapeSite, State, StatesInput, Tensor};
use crate::arena::Step;
use crate::chain::{Backward, Frozen, InputGrad, Site, Tape, WsSite, WsStep};
use crate::check::{CheckedLayer, Fold};
use crate::int8::{Int8, Int8Site};
use crate::shape::Shape;

const BATCH_NORM: &[ParamSpec] = &[
    param("num_features", ArgType::DimOrInfer, Default::Required),
    param("eps", ArgType::Number, Default::Number(1e-5)),
    param("momentum", ArgType::Number, Default::Number(0.1)),
];

pub const BATCH_NORM1D: KindSpec = KindSpec {
    name: "BatchNorm1d",
    params: BATCH_NORM,
    chain: false,
    states_input: StatesInput::Flat("num_features"),
    resolve: |at| resolve(at, Over::Features),
};

pub const BATCH_NORM2D: KindSpec = KindSpec {
    name: "BatchNorm2d",
    params: BATCH_NORM,
    chain: false,
    states_input: StatesInput::Nothing,
    resolve: |at| resolve(at, Over::Channels),
};

fn resolve(at: &mut Resolve<'_>, over: Over) -> Option<Box<dyn LayerKind>> {
    let previous = match over {
        Over::Features => at.input.map(Shape::len),
        Over::Channels => at.channels(),
    };
    let (eps, momentum) = (at.number("eps"), at.number("momentum"));
    if eps.is_nan() || eps <= 0.0 || !(0.0..=1.0).contains(&momentum) {
        at.error(format!("expected `eps > 0` and `momentum` in [0, 1], found eps = {eps:?}, momentum = {momentum:?}"));
        return None;
    }
    let features = at.size_or_inferred("num_features", previous)?;
    Some(Box::new(BatchNorm { over, features, eps, momentum }))
}

/// What a batch norm normalises: `BatchNorm1d` and `BatchNorm2d`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Over {
    /// The features of a flat input.
    Features,
    /// The channels of an image.
    Channels,
}

#[derive(Debug)]
struct BatchNorm {
    over: Over,
    features: usize,
    eps: f64,
    momentum: f64,
}

impl BatchNorm {
    fn name(&self) -> &'static str {
        match self.over {
            Over::Features => "BatchNorm1d",
            Over::Channels => "BatchNorm2d",
        }
    }
}

impl LayerKind for BatchNorm {
    fn describe(&self) -> String {
        format!("{}({}, eps = {:?}, momentum = {:?})", self.name(), self.features, self.eps, self.momentum)
    }

    fn output(&self, input: Shape, at: &ShapeSite<'_>) -> Result<Shape, syn::Error> {
        let (name, features) = (self.name(), self.features);
        let (found, what) = match self.over {
            Over::Features => (at.flat(name, input)?, "features"),
            Over::Channels => (at.image(name, input)?.0, "channels"),
        };
        if found != features {
            return Err(at.decl.error(format!(
                "{name}({features}) expects {features} {what}, but the previous layer produces {found} (shape {input})"
            )));
        }
        Ok(input)
    }

    fn inner(&self) -> &[CheckedLayer] {
        &[]
    }

    fn params(&self, layer: &CheckedLayer) -> Option<Params> {
        let (n, eps, momentum) = (usize_lit(self.features), f64_lit(self.eps), f64_lit(self.momentum));
        let features = vec![self.features];
        let tensor = |name, trainable| Tensor { name, shape: features.clone(), trainable };
        let tensors = vec![
            tensor("weight", true),
            tensor("bias", true),
            tensor("running_mean", false),
            tensor("running_var", false),
            Tensor { name: "num_batches_tracked", shape: Vec::new(), trainable: false },
        ];
        let key = &layer.key;
        let cannot = format!(
            "`{}({})` (layer `{key}`) yet: its frozen copy holds a scale and shift derived from `{key}.weight`, \
             `{key}.bias`, `{key}.running_mean` and `{key}.running_var`, not the tensors themselves",
            self.name(),
            self.features
        );
        let (field, scale, shift) = (&layer.field, layer.frozen_field("scale"), layer.frozen_field("shift"));
        let frozen = [(&scale, "scale `γ/√(var+ε)`"), (&shift, "shift `β − mean·scale`")]
            .map(|(name, what)| FrozenField {
                name: name.clone(),
                ty: quote!([F; #n]),
                doc: layer.frozen_doc(what),
                bake: Bake::Cannot(cannot.clone()),
            })
            .into();
        // Folded into the layer before it, it has no frozen form of its own.
        let (frozen, freeze) = if layer.fold == Fold::Folded {
            (Vec::new(), quote!())
        } else {
            (frozen, quote!(self.#field.freeze_into(&mut frozen.#scale, &mut frozen.#shift);))
        };
        let new = quote!(::nn::layers::BatchNorm::new(#n, #eps, #momentum));
        Some(Params {
            ty: quote!(::nn::layers::BatchNorm<F>),
            init: new.clone(),
            zeros: new,
            state: State::Tensors {
                visit: &["weight", "bias", "running_mean", "running_var", "num_batches_tracked"],
                tensors,
            },
            frozen,
            freeze,
        })
    }

    fn tape(&self, site: &Site<'_>) -> Tape {
        Tape { input: false, output: false, caches: vec![(site.cache("bn"), quote!(::nn::layers::BatchNormCache<F>))] }
    }

    fn forward(&self, site: &Site<'_>) -> TokenStream {
        let (x, y, field) = (site.x(), site.y(), site.field());
        if site.training() {
            let cache = site.cache("bn");
            quote!(let (#y, #cache) = self.#field.forward_train(#x.view());)
        } else {
            quote!(let #y = self.#field.forward(#x.view());)
        }
    }

    fn backward(&self, site: &Site<'_>) -> Backward {
        let (cache, field) = (site.cache("bn"), site.field());
        Backward {
            update: quote!(self.#field.update_running_stats(&tape.#cache);),
            input_grad: InputGrad::Effect(quote!(self.#field.backward(tape.#cache, g.view()))),
        }
    }

    fn workspace(&self, _: &WsSite<'_>) -> Option<WsStep> {
        None
    }

    fn frozen(&self, layer: &CheckedLayer) -> Frozen<'_> {
        if layer.fold == Fold::Folded {
            return Frozen::Step(Step::View);
        }
        let (scale, shift) = (layer.frozen_field("scale"), layer.frozen_field("shift"));
        let kernel = match self.over {
            Over::Features => quote!(::nn::frozen::batch_norm1d),
            Over::Channels => quote!(::nn::frozen::batch_norm2d),
        };
        Frozen::Step(Step::InPlace(quote!(#kernel(y, &self.#scale, &self.#shift);)))
    }

    fn int8(&self, _: &Int8Site<'_>) -> Int8 {
        Int8::Folded
    }

    fn assertions(&self, _: &CheckedLayer, _: &Ident) -> TokenStream {
        quote!()
    }

    fn draws_random(&self) -> bool {
        false
    }

    fn keeps_borrow(&self) -> bool {
        false
    }
}
