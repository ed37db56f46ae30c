//! The elementwise activations `ReLU`, `Sigmoid`, `Tanh`, `GELU` and
//! `LeakyReLU(negative_slope = 0.01)`.

use proc_macro2::{Ident, TokenStream};
use quote::{quote, quote_spanned};

use super::{f64_lit, param, ArgType, Default, KindSpec, LayerKind, Params, ShapeSite, StatesInput};
use crate::arena::Step;
use crate::chain::{Backward, Frozen, InputGrad, Site, Tape, WsSite, WsStep};
use crate::check::CheckedLayer;
use crate::int8::{Int8, Int8Site};
use crate::shape::Shape;

const fn activation(
    name: &'static str,
    resolve: fn(&mut super::Resolve<'_>) -> Option<Box<dyn LayerKind>>,
) -> KindSpec {
    KindSpec { name, params: &[], chain: false, states_input: StatesInput::Keeps, resolve }
}

pub const RELU: KindSpec = activation("ReLU", |_| Some(Box::new(Act::Relu)));
pub const SIGMOID: KindSpec = activation("Sigmoid", |_| Some(Box::new(Act::Sigmoid)));
pub const TANH: KindSpec = activation("Tanh", |_| Some(Box::new(Act::Tanh)));
pub const GELU: KindSpec = activation("GELU", |_| Some(Box::new(Act::Gelu)));
pub const LEAKY_RELU: KindSpec = KindSpec {
    params: &[param("negative_slope", ArgType::Number, Default::Number(0.01))],
    ..activation("LeakyReLU", |at| Some(Box::new(Act::LeakyRelu(at.number("negative_slope")))))
};

/// An elementwise activation, resolved.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Act {
    Relu,
    Sigmoid,
    Tanh,
    Gelu,
    LeakyRelu(f64),
}

impl Act {
    /// The runtime's activation type.
    fn runtime_type(self) -> TokenStream {
        match self {
            Act::Relu => quote!(::nn::activation::Relu),
            Act::Sigmoid => quote!(::nn::activation::Sigmoid),
            Act::Tanh => quote!(::nn::activation::Tanh),
            Act::Gelu => quote!(::nn::activation::Gelu),
            Act::LeakyRelu(_) => quote!(::nn::activation::LeakyRelu<f32>),
        }
    }

    /// The runtime's activation value.
    fn value(self) -> TokenStream {
        match self {
            Act::Relu | Act::Sigmoid | Act::Tanh | Act::Gelu => self.runtime_type(),
            Act::LeakyRelu(slope) => {
                let slope = f64_lit(slope);
                quote!(::nn::activation::LeakyRelu { slope: F::of(#slope) })
            }
        }
    }

    /// Whether the derivative reads the output (so the forward may run in place); the
    /// generated code asserts that the runtime's `DF_FROM_OUTPUT` agrees.
    fn df_from_output(self) -> bool {
        match self {
            Act::Relu | Act::Sigmoid | Act::Tanh => true,
            Act::Gelu | Act::LeakyRelu(_) => false,
        }
    }
}

impl LayerKind for Act {
    fn describe(&self) -> String {
        match self {
            Act::Relu => "ReLU".to_string(),
            Act::Sigmoid => "Sigmoid".to_string(),
            Act::Tanh => "Tanh".to_string(),
            Act::Gelu => "GELU".to_string(),
            Act::LeakyRelu(slope) => format!("LeakyReLU({slope:?})"),
        }
    }

    fn output(&self, input: Shape, _: &ShapeSite<'_>) -> Result<Shape, syn::Error> {
        Ok(input)
    }

    fn inner(&self) -> &[CheckedLayer] {
        &[]
    }

    fn params(&self, _: &CheckedLayer) -> Option<Params> {
        None
    }

    fn tape(&self, _: &Site<'_>) -> Tape {
        Tape { input: !self.df_from_output(), output: self.df_from_output(), caches: Vec::new() }
    }

    fn forward(&self, site: &Site<'_>) -> TokenStream {
        let (x, y, act) = (site.x(), site.y(), self.value());
        if site.consumable() {
            let owned = site.owned();
            quote!(let #y = ::nn::layers::activation::forward_in_place(#act, #owned);)
        } else {
            quote!(let #y = ::nn::layers::activation::forward(#act, #x.view());)
        }
    }

    fn backward(&self, site: &Site<'_>) -> Backward {
        let saved = if self.df_from_output() { site.y() } else { site.x() };
        let act = self.value();
        Backward {
            update: quote!(),
            input_grad: InputGrad::InPlace(
                quote!(::nn::layers::activation::backward_in_place(#act, tape.#saved.view(), g.view_mut());),
            ),
        }
    }

    fn workspace(&self, site: &WsSite<'_>) -> Option<WsStep> {
        let WsSite { src, dst, g_out, .. } = site;
        let act = self.value();
        let saved = if self.df_from_output() { quote!(ws.#dst) } else { src.clone() };
        let forward = quote!(::nn::layers::activation::forward_into(#act, #src.view(), ws.#dst.view_mut()););
        Some(WsStep {
            inference: forward.clone(),
            forward,
            buffers: Vec::new(),
            in_place: true,
            update: quote!(),
            input_grad: quote!(::nn::layers::activation::backward_in_place(#act, #saved.view(), ws.#g_out.view_mut());),
        })
    }

    fn frozen(&self, _: &CheckedLayer) -> Frozen<'_> {
        let act = self.value();
        Frozen::Step(Step::InPlace(quote!(::nn::frozen::activate(#act, ::nn::arena::scalars_mut(y));)))
    }

    fn int8(&self, _: &Int8Site<'_>) -> Int8 {
        match self {
            Act::Relu => Int8::Relu,
            Act::Sigmoid | Act::Tanh | Act::Gelu | Act::LeakyRelu(_) => Int8::Unsupported(
                "of the activations, only ReLU has an int8 form here (a clamp at the zero point); \
                 run this network in f32 (`freeze`)"
                    .to_string(),
            ),
        }
    }

    fn assertions(&self, layer: &CheckedLayer, _: &Ident) -> TokenStream {
        let (ty, df) = (self.runtime_type(), self.df_from_output());
        quote_spanned! {layer.span=>
            const _: () = ::core::assert!(
                <#ty as ::nn::activation::Activation<f32>>::DF_FROM_OUTPUT == #df,
                "nn-macros and nn-runtime disagree on whether this activation differentiates from its output",
            );
        }
    }

    fn draws_random(&self) -> bool {
        false
    }

    fn keeps_borrow(&self) -> bool {
        false
    }
}
