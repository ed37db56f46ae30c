//! `MaxPool2d(kernel_size, stride = kernel_size)` and `AvgPool2d(..)`: pooling over
//! square windows without padding.

use proc_macro2::{Ident, TokenStream};
use quote::{quote, quote_spanned};

use super::{param, usize_lit, ArgType, Default, KindSpec, LayerKind, ParamSpec, Params, ShapeSite, StatesInput};
use crate::arena::Step;
use crate::chain::{image_hw, Backward, Frozen, InputGrad, Site, Tape, WsSite, WsStep};
use crate::check::CheckedLayer;
use crate::int8::{Int8, Int8Site};
use crate::shape::{window_output, Shape};

const POOL: &[ParamSpec] = &[
    param("kernel_size", ArgType::Dim, Default::Required),
    param("stride", ArgType::Dim, Default::SameAs("kernel_size")),
];

pub const MAX_POOL2D: KindSpec = KindSpec {
    name: "MaxPool2d",
    params: POOL,
    chain: false,
    states_input: StatesInput::Nothing,
    resolve: |at| Some(Box::new(Pool { op: Op::Max, kernel: at.int("kernel_size")?, stride: at.int("stride")? })),
};

pub const AVG_POOL2D: KindSpec = KindSpec {
    name: "AvgPool2d",
    params: POOL,
    chain: false,
    states_input: StatesInput::Nothing,
    resolve: |at| Some(Box::new(Pool { op: Op::Avg, kernel: at.int("kernel_size")?, stride: at.int("stride")? })),
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Max,
    Avg,
}

#[derive(Debug)]
struct Pool {
    op: Op,
    kernel: usize,
    stride: usize,
}

impl Pool {
    fn name(&self) -> &'static str {
        match self.op {
            Op::Max => "MaxPool2d",
            Op::Avg => "AvgPool2d",
        }
    }
}

/// A compile-time check that the runtime's `window_output` gives this layer's output
/// size, so the macro's and the runtime's rule cannot drift apart; `kernel`, `stride`
/// and `padding` are `(height, width)`.
pub fn window_assertion(
    layer: &CheckedLayer,
    kernel: (usize, usize),
    stride: (usize, usize),
    padding: (usize, usize),
) -> TokenStream {
    let (Shape::Image { height, width, .. }, Shape::Image { height: out_h, width: out_w, .. }) =
        (layer.input, layer.output)
    else {
        return quote!();
    };
    let [h, w, oh, ow] = [height, width, out_h, out_w].map(usize_lit);
    let [kh, kw, sh, sw, ph, pw] = [kernel.0, kernel.1, stride.0, stride.1, padding.0, padding.1].map(usize_lit);
    quote_spanned! {layer.span=>
        const _: () = ::core::assert!(
            ::core::matches!(::nn::frozen::window_output(#h, #kh, #sh, #ph), ::core::option::Option::Some(#oh))
                && ::core::matches!(::nn::frozen::window_output(#w, #kw, #sw, #pw), ::core::option::Option::Some(#ow)),
            "nn-macros and nn-runtime disagree on this layer's output size",
        );
    }
}

impl LayerKind for Pool {
    fn describe(&self) -> String {
        format!("{}({}, stride = {})", self.name(), self.kernel, self.stride)
    }

    fn output(&self, input: Shape, at: &ShapeSite<'_>) -> Result<Shape, syn::Error> {
        let (name, kernel, stride) = (self.name(), self.kernel, self.stride);
        let (channels, height, width) = at.image(name, input)?;
        let (Some(h), Some(w)) = (window_output(height, kernel, stride, 0), window_output(width, kernel, stride, 0))
        else {
            return Err(at.decl.error(format!(
                "{name} window {kernel}x{kernel} is larger than its input {height}x{width} (shape {input})"
            )));
        };
        Ok(Shape::Image { channels, height: h, width: w })
    }

    fn inner(&self) -> &[CheckedLayer] {
        &[]
    }

    fn params(&self, _: &CheckedLayer) -> Option<Params> {
        None
    }

    fn tape(&self, site: &Site<'_>) -> Tape {
        let caches = match self.op {
            Op::Max => vec![(site.cache("pool"), quote!(::nn::layers::MaxPoolIndices))],
            Op::Avg => Vec::new(),
        };
        Tape { input: false, output: false, caches }
    }

    fn forward(&self, site: &Site<'_>) -> TokenStream {
        let (x, y) = (site.x(), site.y());
        let (k, s) = (usize_lit(self.kernel), usize_lit(self.stride));
        match self.op {
            Op::Max if site.training() => {
                let indices = site.cache("pool");
                quote!(let (#y, #indices) = ::nn::layers::pool::max_pool2d_train(#x.view(), #k, #s);)
            }
            Op::Max => quote!(let #y = ::nn::layers::pool::max_pool2d(#x.view(), #k, #s);),
            Op::Avg => quote!(let #y = ::nn::layers::pool::avg_pool2d(#x.view(), #k, #s);),
        }
    }

    fn backward(&self, site: &Site<'_>) -> Backward {
        let input_grad = match self.op {
            Op::Max => {
                let indices = site.cache("pool");
                quote!(::nn::layers::pool::max_pool2d_backward(&tape.#indices, g.view()))
            }
            Op::Avg => {
                let (k, s, hw) = (usize_lit(self.kernel), usize_lit(self.stride), image_hw(site.layer.input));
                quote!(::nn::layers::pool::avg_pool2d_backward(g.view() #hw, #k, #s))
            }
        };
        Backward { update: quote!(), input_grad: InputGrad::Pure(input_grad) }
    }

    fn workspace(&self, site: &WsSite<'_>) -> Option<WsStep> {
        let WsSite { src, dst, g_out, g_in, mask, .. } = site;
        let (k, s) = (usize_lit(self.kernel), usize_lit(self.stride));
        let step = match self.op {
            Op::Max => WsStep {
                forward: quote! {
                    ::nn::layers::pool::max_pool2d_train_into(#src.view(), ws.#dst.view_mut(), &mut ws.#mask, #k, #s);
                },
                inference: quote!(::nn::layers::pool::max_pool2d_into(#src.view(), ws.#dst.view_mut(), #k, #s);),
                buffers: vec![(
                    quote!(#mask: ::nn::layers::MaxPoolIndices),
                    quote!(#mask: ::core::default::Default::default()),
                )],
                in_place: false,
                update: quote!(),
                input_grad: quote! {
                    ::nn::layers::pool::max_pool2d_backward_into(&ws.#mask, ws.#g_out.view(), ws.#g_in.view_mut());
                },
            },
            Op::Avg => {
                let forward = quote!(::nn::layers::pool::avg_pool2d_into(#src.view(), ws.#dst.view_mut(), #k, #s););
                WsStep {
                    inference: forward.clone(),
                    forward,
                    buffers: Vec::new(),
                    in_place: false,
                    update: quote!(),
                    input_grad: quote! {
                        ::nn::layers::pool::avg_pool2d_backward_into(ws.#g_out.view(), ws.#g_in.view_mut(), #k, #s);
                    },
                }
            }
        };
        Some(step)
    }

    fn frozen(&self, _: &CheckedLayer) -> Frozen<'_> {
        let (k, s) = (usize_lit(self.kernel), usize_lit(self.stride));
        let pool = match self.op {
            Op::Max => quote!(::nn::frozen::max_pool2d_into),
            Op::Avg => quote!(::nn::frozen::avg_pool2d_into),
        };
        Frozen::Step(Step::Into(quote!(#pool(x, y, #k, #s);)))
    }

    fn int8(&self, _: &Int8Site<'_>) -> Int8 {
        let (k, s) = (usize_lit(self.kernel), usize_lit(self.stride));
        let pool = match self.op {
            Op::Max => quote!(::nn::int8::max_pool2d_into),
            Op::Avg => quote!(::nn::int8::avg_pool2d_into),
        };
        Int8::Keeps(Step::Into(quote!(#pool(x, y, [#k, #k], [#s, #s]);)))
    }

    fn assertions(&self, layer: &CheckedLayer, _: &Ident) -> TokenStream {
        window_assertion(layer, (self.kernel, self.kernel), (self.stride, self.stride), (0, 0))
    }

    fn draws_random(&self) -> bool {
        false
    }

    fn keeps_borrow(&self) -> bool {
        false
    }
}
