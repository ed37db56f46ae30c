//! `Softmax`: probabilities over the features, as the last layer of an inference network.

use proc_macro2::{Ident, TokenStream};
use quote::quote;

use super::{KindSpec, LayerKind, Params, ShapeSite, StatesInput};
use crate::arena::Step;
use crate::chain::{Backward, Frozen, InputGrad, Site, Tape, WsSite, WsStep};
use crate::check::CheckedLayer;
use crate::int8::{Int8, Int8Site};
use crate::shape::Shape;

pub const SOFTMAX: KindSpec = KindSpec {
    name: "Softmax",
    params: &[],
    chain: false,
    states_input: StatesInput::Keeps,
    resolve: |at| {
        if !at.is_last {
            at.error(
                "`Softmax` must be the last layer: it turns the outputs into probabilities for inference; \
                 for training, end with the logits and use `CrossEntropyLoss`, which applies log-softmax itself",
            );
            return None;
        }
        Some(Box::new(Softmax))
    },
};

#[derive(Debug)]
struct Softmax;

impl LayerKind for Softmax {
    fn describe(&self) -> String {
        "Softmax".to_string()
    }

    fn output(&self, input: Shape, at: &ShapeSite<'_>) -> Result<Shape, syn::Error> {
        Ok(Shape::Flat(at.flat("Softmax", input)?))
    }

    fn inner(&self) -> &[CheckedLayer] {
        &[]
    }

    fn params(&self, _: &CheckedLayer) -> Option<Params> {
        None
    }

    fn tape(&self, _: &Site<'_>) -> Tape {
        Tape { input: false, output: true, caches: Vec::new() }
    }

    fn forward(&self, site: &Site<'_>) -> TokenStream {
        let (y, owned) = (site.y(), site.owned());
        quote!(let #y = ::nn::layers::softmax::forward_in_place(#owned);)
    }

    fn backward(&self, site: &Site<'_>) -> Backward {
        let y = site.y();
        Backward {
            update: quote!(),
            input_grad: InputGrad::InPlace(
                quote!(::nn::layers::softmax::backward_in_place(tape.#y.view(), g.view_mut());),
            ),
        }
    }

    fn workspace(&self, site: &WsSite<'_>) -> Option<WsStep> {
        let WsSite { src, dst, g_out, .. } = site;
        let forward = quote! {
            ws.#dst.assign(&#src);
            ::nn::layers::softmax::softmax_rows(ws.#dst.view_mut());
        };
        Some(WsStep {
            inference: forward.clone(),
            forward,
            buffers: Vec::new(),
            in_place: true,
            update: quote!(),
            input_grad: quote!(::nn::layers::softmax::backward_in_place(ws.#dst.view(), ws.#g_out.view_mut());),
        })
    }

    fn frozen(&self, _: &CheckedLayer) -> Frozen<'_> {
        Frozen::Step(Step::InPlace(quote!(::nn::frozen::softmax_in_place(y);)))
    }

    fn int8(&self, _: &Int8Site<'_>) -> Int8 {
        Int8::Softmax
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
