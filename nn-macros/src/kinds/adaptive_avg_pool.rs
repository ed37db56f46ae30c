//! `AdaptiveAvgPool2d(output_size)`: average pooling to a fixed `n`×`n` or `(oh, ow)`
//! output with PyTorch's windows; `AdaptiveAvgPool2d(1)` is global average pooling.

use proc_macro2::{Ident, TokenStream};
use quote::quote;

use super::{describe_pair, param, usize_lit, ArgType, Default, KindSpec, LayerKind, Params, ShapeSite, StatesInput};
use crate::arena::Step;
use crate::chain::{image_hw, Backward, Frozen, InputGrad, Site, Tape, WsSite, WsStep};
use crate::check::CheckedLayer;
use crate::int8::{Int8, Int8Site};
use crate::shape::Shape;

pub const ADAPTIVE_AVG_POOL2D: KindSpec = KindSpec {
    name: "AdaptiveAvgPool2d",
    params: &[param("output_size", ArgType::DimPair, Default::Required)],
    chain: false,
    states_input: StatesInput::Nothing,
    resolve: |at| Some(Box::new(AdaptiveAvgPool { out: at.pair("output_size")? })),
};

#[derive(Debug)]
struct AdaptiveAvgPool {
    /// The output's `(height, width)`.
    out: (usize, usize),
}

impl LayerKind for AdaptiveAvgPool {
    fn describe(&self) -> String {
        format!("AdaptiveAvgPool2d({})", describe_pair(self.out))
    }

    fn output(&self, input: Shape, at: &ShapeSite<'_>) -> Result<Shape, syn::Error> {
        let (channels, _, _) = at.image("AdaptiveAvgPool2d", input)?;
        Ok(Shape::Image { channels, height: self.out.0, width: self.out.1 })
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
        let (oh, ow) = (usize_lit(self.out.0), usize_lit(self.out.1));
        quote!(let #y = ::nn::layers::adaptive_avg_pool::adaptive_avg_pool2d(#x.view(), (#oh, #ow));)
    }

    fn backward(&self, site: &Site<'_>) -> Backward {
        let hw = image_hw(site.layer.input);
        Backward {
            update: quote!(),
            input_grad: InputGrad::Pure(quote!(::nn::layers::adaptive_avg_pool::adaptive_avg_pool2d_backward(
                g.view() #hw
            ))),
        }
    }

    fn workspace(&self, _: &WsSite<'_>) -> Option<WsStep> {
        None
    }

    fn frozen(&self, _: &CheckedLayer) -> Frozen<'_> {
        Frozen::Step(Step::Into(quote!(::nn::frozen::adaptive_avg_pool2d_into(x, y);)))
    }

    fn int8(&self, _: &Int8Site<'_>) -> Int8 {
        Int8::Keeps(Step::Into(quote!(::nn::int8::adaptive_avg_pool2d_into(x, y);)))
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
