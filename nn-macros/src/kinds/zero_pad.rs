//! `ZeroPad2d(left, right, top, bottom)`: zeros around each plane of an image, in
//! PyTorch's argument order.

use proc_macro2::{Ident, TokenStream};
use quote::quote;

use super::{param, usize_lit, ArgType, Default, KindSpec, LayerKind, Params, ShapeSite, StatesInput};
use crate::arena::Step;
use crate::chain::{Backward, Frozen, InputGrad, Site, Tape, WsSite, WsStep};
use crate::check::CheckedLayer;
use crate::int8::{Int8, Int8Site};
use crate::shape::{padded, Shape, MAX_SCALARS_TEXT};

pub const ZERO_PAD2D: KindSpec = KindSpec {
    name: "ZeroPad2d",
    params: &[
        param("left", ArgType::Count, Default::Required),
        param("right", ArgType::Count, Default::Required),
        param("top", ArgType::Count, Default::Required),
        param("bottom", ArgType::Count, Default::Required),
    ],
    chain: false,
    states_input: StatesInput::Nothing,
    resolve: |at| {
        let [left, right, top, bottom] = ["left", "right", "top", "bottom"].map(|name| at.int(name));
        Some(Box::new(ZeroPad2d { left: left?, right: right?, top: top?, bottom: bottom? }))
    },
};

#[derive(Debug)]
struct ZeroPad2d {
    left: usize,
    right: usize,
    top: usize,
    bottom: usize,
}

impl ZeroPad2d {
    /// The runtime's `Padding` value.
    fn padding(&self) -> TokenStream {
        let [left, right, top, bottom] = [self.left, self.right, self.top, self.bottom].map(usize_lit);
        quote!(::nn::layers::zero_pad::Padding { left: #left, right: #right, top: #top, bottom: #bottom })
    }
}

impl LayerKind for ZeroPad2d {
    fn describe(&self) -> String {
        format!("ZeroPad2d({}, {}, {}, {})", self.left, self.right, self.top, self.bottom)
    }

    fn output(&self, input: Shape, at: &ShapeSite<'_>) -> Result<Shape, syn::Error> {
        let (channels, height, width) = at.image("ZeroPad2d", input)?;
        let (Some(height), Some(width)) = (padded(height, self.top, self.bottom), padded(width, self.left, self.right))
        else {
            return Err(at.decl.error(format!(
                "`{}` makes its input {input} too large: a side holds at most {MAX_SCALARS_TEXT}",
                self.describe()
            )));
        };
        Ok(Shape::Image { channels, height, width })
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
        let (x, y, padding) = (site.x(), site.y(), self.padding());
        quote!(let #y = ::nn::layers::zero_pad::forward(#x.view(), #padding);)
    }

    fn backward(&self, _: &Site<'_>) -> Backward {
        let padding = self.padding();
        Backward {
            update: quote!(),
            input_grad: InputGrad::Pure(quote!(::nn::layers::zero_pad::backward(g.view(), #padding))),
        }
    }

    fn workspace(&self, site: &WsSite<'_>) -> Option<WsStep> {
        let WsSite { src, dst, g_out, g_in, .. } = site;
        let padding = self.padding();
        let forward = quote!(::nn::layers::zero_pad::forward_into(#src.view(), ws.#dst.view_mut(), #padding););
        Some(WsStep {
            inference: forward.clone(),
            forward,
            buffers: Vec::new(),
            in_place: false,
            update: quote!(),
            input_grad: quote!(::nn::layers::zero_pad::backward_into(ws.#g_out.view(), ws.#g_in.view_mut(), #padding);),
        })
    }

    fn frozen(&self, _: &CheckedLayer) -> Frozen<'_> {
        let (left, top) = (usize_lit(self.left), usize_lit(self.top));
        Frozen::Step(Step::Into(quote!(::nn::frozen::zero_pad2d_into(x, y, #left, #top);)))
    }

    fn int8(&self, site: &Int8Site<'_>) -> Int8 {
        let quant = &site.quant;
        let (left, top) = (usize_lit(self.left), usize_lit(self.top));
        Int8::Keeps(Step::Into(quote!(::nn::int8::zero_pad2d_into(x, y, #left, #top, #quant.zero_point);)))
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
