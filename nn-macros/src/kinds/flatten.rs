//! `Flatten`: `[C, H, W]` → `[C·H·W]` in row-major order, borrowing when it can.

use proc_macro2::{Ident, TokenStream};
use quote::quote;

use super::{usize_lit, KindSpec, LayerKind, Params, ShapeSite, StatesInput};
use crate::arena::Step;
use crate::chain::{Backward, Frozen, InputGrad, Site, Tape, WsSite, WsStep};
use crate::check::CheckedLayer;
use crate::int8::{Int8, Int8Site};
use crate::shape::Shape;

pub const FLATTEN: KindSpec = KindSpec {
    name: "Flatten",
    params: &[],
    chain: false,
    states_input: StatesInput::Nothing,
    resolve: |_| Some(Box::new(Flatten)),
};

#[derive(Debug)]
struct Flatten;

impl LayerKind for Flatten {
    fn describe(&self) -> String {
        "Flatten".to_string()
    }

    fn output(&self, input: Shape, _: &ShapeSite<'_>) -> Result<Shape, syn::Error> {
        Ok(Shape::Flat(input.len()))
    }

    fn inner(&self) -> &[CheckedLayer] {
        &[]
    }

    fn params(&self, _: &CheckedLayer) -> Option<Params> {
        None
    }

    fn tape(&self, _: &Site<'_>) -> Tape {
        Tape { input: false, output: false, caches: Vec::new() }
    }

    fn forward(&self, site: &Site<'_>) -> TokenStream {
        let (x, y) = (site.x(), site.y());
        match (site.layer.input, site.consumable() && site.borrowed()) {
            (Shape::Flat(_), _) => quote!(let #y = #x;),
            (Shape::Image { .. }, true) => quote!(let #y = ::nn::layers::flatten::flatten_cow(#x);),
            (Shape::Image { .. }, false) => {
                let owned = site.owned();
                quote!(let #y = ::nn::layers::flatten::flatten(#owned);)
            }
        }
    }

    fn backward(&self, site: &Site<'_>) -> Backward {
        let input_grad = match site.layer.input {
            Shape::Flat(_) => InputGrad::Same,
            Shape::Image { channels, height, width } => {
                let (c, h, w) = (usize_lit(channels), usize_lit(height), usize_lit(width));
                InputGrad::Consumes(quote!(::nn::layers::flatten::unflatten(g, (#c, #h, #w))))
            }
        };
        Backward { update: quote!(), input_grad }
    }

    fn workspace(&self, site: &WsSite<'_>) -> Option<WsStep> {
        let WsSite { src, dst, g_out, g_in, .. } = site;
        let forward = quote!(::nn::layers::flatten::copy_flat(#src.view(), ws.#dst.view_mut()););
        Some(WsStep {
            inference: forward.clone(),
            forward,
            buffers: Vec::new(),
            in_place: false,
            update: quote!(),
            input_grad: quote!(::nn::layers::flatten::copy_flat(ws.#g_out.view(), ws.#g_in.view_mut());),
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
        false
    }

    fn keeps_borrow(&self) -> bool {
        true
    }
}
