//! `Dropout(p = 0.5)`: zeroes each value with probability `p` in training, scaling the
//! others by `1/(1-p)`; the identity in inference.

use proc_macro2::{Ident, TokenStream};
use quote::quote;

use super::{f64_lit, param, ArgType, Default, KindSpec, LayerKind, Params, ShapeSite, StatesInput};
use crate::arena::Step;
use crate::chain::{batch_dim, batch_shape, Backward, Frozen, InputGrad, Site, Tape, WsSite, WsStep};
use crate::check::CheckedLayer;
use crate::int8::{Int8, Int8Site};
use crate::shape::Shape;

pub const DROPOUT: KindSpec = KindSpec {
    name: "Dropout",
    params: &[param("p", ArgType::Number, Default::Number(0.5))],
    chain: false,
    states_input: StatesInput::Keeps,
    resolve: |at| {
        let p = at.number("p");
        if !(0.0..1.0).contains(&p) {
            let span = at.values["p"].span();
            at.errors.push(syn::Error::new(span, format!("dropout probability must be in [0, 1), found {p:?}")));
            return None;
        }
        Some(Box::new(Dropout { p }))
    },
};

#[derive(Debug)]
struct Dropout {
    p: f64,
}

impl LayerKind for Dropout {
    fn describe(&self) -> String {
        format!("Dropout({:?})", self.p)
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

    fn tape(&self, site: &Site<'_>) -> Tape {
        let dim = batch_dim(site.layer.input);
        Tape { input: false, output: false, caches: vec![(site.cache("mask"), quote!(::nn::ndarray::Array<F, #dim>))] }
    }

    fn forward(&self, site: &Site<'_>) -> TokenStream {
        let (x, y) = (site.x(), site.y());
        if site.training() {
            let (p, mask, owned) = (f64_lit(self.p), site.cache("mask"), site.owned());
            quote!(let (#y, #mask) = ::nn::layers::dropout::forward_train(#p, #owned, &self.dropout_rng);)
        } else {
            quote!(let #y = #x;)
        }
    }

    fn backward(&self, site: &Site<'_>) -> Backward {
        let mask = site.cache("mask");
        Backward {
            update: quote!(),
            input_grad: InputGrad::InPlace(
                quote!(::nn::layers::dropout::backward_in_place(tape.#mask.view(), g.view_mut());),
            ),
        }
    }

    fn workspace(&self, site: &WsSite<'_>) -> Option<WsStep> {
        let WsSite { layer, src, dst, g_out, mask, .. } = site;
        let (p, dim, shape) = (f64_lit(self.p), batch_dim(layer.input), batch_shape(layer.input));
        Some(WsStep {
            forward: quote! {
                ::nn::layers::dropout::forward_train_into(
                    #p, #src.view(), ws.#dst.view_mut(), ws.#mask.view_mut(), &self.dropout_rng,
                );
            },
            inference: quote!(ws.#dst.assign(&#src);),
            buffers: vec![(
                quote!(#mask: ::nn::ndarray::Array<F, #dim>),
                quote!(#mask: ::nn::ndarray::Array::zeros(#shape)),
            )],
            in_place: true,
            update: quote!(),
            input_grad: quote!(::nn::layers::dropout::backward_in_place(ws.#mask.view(), ws.#g_out.view_mut());),
        })
    }

    fn frozen(&self, _: &CheckedLayer) -> Frozen<'_> {
        Frozen::Step(Step::View)
    }

    fn int8(&self, _: &Int8Site<'_>) -> Int8 {
        Int8::Keeps(Step::View)
    }

    fn assertions(&self, _: &CheckedLayer, _: &Ident) -> TokenStream {
        quote!()
    }

    fn draws_random(&self) -> bool {
        true
    }

    fn keeps_borrow(&self) -> bool {
        false
    }
}
