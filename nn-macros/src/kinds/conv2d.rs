//! `Conv2d(in_channels, out_channels, kernel_size, stride = 1, padding = 0, bias = true)`:
//! a square-kernel 2-d convolution with zero padding.

use proc_macro2::{Ident, TokenStream};
use quote::quote;

use super::pool::window_assertion;
use super::{bias_arg, bias_suffix, param, usize_lit, weight_and_bias, ArgType, Default, KindSpec, LayerKind, Params};
use super::{Resolve, ShapeSite, State, StatesInput};
use crate::chain::{image_hw, Backward, FrozenSite, InputGrad, Site, Tape, WsSite, WsStep};
use crate::check::CheckedLayer;
use crate::int8::{Int8, Int8Site, Weighted};
use crate::shape::{padded, window_output, Shape, MAX_SCALARS_TEXT};

pub const CONV2D: KindSpec = KindSpec {
    name: "Conv2d",
    params: &[
        param("in_channels", ArgType::DimOrInfer, Default::Required),
        param("out_channels", ArgType::Dim, Default::Required),
        param("kernel_size", ArgType::Dim, Default::Required),
        param("stride", ArgType::Dim, Default::Int(1)),
        param("padding", ArgType::Count, Default::Int(0)),
        param("bias", ArgType::Bool, Default::Bool(true)),
    ],
    chain: false,
    states_input: StatesInput::Nothing,
    resolve,
};

fn resolve(at: &mut Resolve<'_>) -> Option<Box<dyn LayerKind>> {
    let in_channels = at.size_or_inferred("in_channels", at.channels())?;
    Some(Box::new(Conv2d {
        in_channels,
        out_channels: at.int("out_channels")?,
        kernel: at.int("kernel_size")?,
        stride: at.int("stride")?,
        padding: at.int("padding")?,
        bias: at.flag("bias"),
    }))
}

#[derive(Debug)]
struct Conv2d {
    in_channels: usize,
    out_channels: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    bias: bool,
}

impl LayerKind for Conv2d {
    fn describe(&self) -> String {
        let Conv2d { in_channels, out_channels, kernel, stride, padding, bias } = self;
        format!(
            "Conv2d({in_channels}, {out_channels}, {kernel}, stride = {stride}, padding = {padding}{})",
            bias_suffix(*bias)
        )
    }

    fn output(&self, input: Shape, at: &ShapeSite<'_>) -> Result<Shape, syn::Error> {
        let (channels, height, width) = at.image("Conv2d", input)?;
        let Conv2d { in_channels, out_channels, kernel, stride, padding, .. } = *self;
        if channels != in_channels {
            return Err(at.decl.error(format!(
                "Conv2d expects {in_channels} input channels, but the previous layer produces {channels} (shape {input})"
            )));
        }
        let (Some(padded_h), Some(padded_w)) = (padded(height, padding, padding), padded(width, padding, padding))
        else {
            return Err(at.decl.error(format!(
                "Conv2d padding {padding} makes its input {input} too large: a side holds at most {MAX_SCALARS_TEXT}"
            )));
        };
        let (Some(h), Some(w)) =
            (window_output(height, kernel, stride, padding), window_output(width, kernel, stride, padding))
        else {
            return Err(at.decl.error(format!(
                "Conv2d kernel {kernel}x{kernel} is larger than its padded input {padded_h}x{padded_w} \
                 (input {input}, padding {padding})"
            )));
        };
        Ok(Shape::Image { channels: out_channels, height: h, width: w })
    }

    fn inner(&self) -> &[CheckedLayer] {
        &[]
    }

    fn params(&self, layer: &CheckedLayer) -> Option<Params> {
        let Conv2d { in_channels, out_channels, kernel, stride, padding, bias } = *self;
        let (c, o, k) = (usize_lit(in_channels), usize_lit(out_channels), usize_lit(kernel));
        let (s, p) = (usize_lit(stride), usize_lit(padding));
        let spec = quote! {
            ::nn::layers::Conv2dSpec::new(#c, #o, (#k, #k)).stride((#s, #s)).padding((#p, #p)).bias(#bias)
        };
        let (field, weight) = (&layer.field, layer.frozen_field("weight"));
        let weight_shape = vec![out_channels, in_channels, kernel, kernel];
        let weight_ty = quote!([[[[F; #k]; #k]; #c]; #o]);
        let (tensors, frozen) = weight_and_bias(layer, (weight_ty, weight_shape, false, "weight"), bias, out_channels);
        let bias_out = bias_arg(layer, self.bias, quote!(&mut frozen.));
        Some(Params {
            ty: quote!(::nn::layers::Conv2d<F>),
            init: quote!(::nn::layers::Conv2d::init(#spec, rng).expect("network! checked the Conv2d arguments")),
            zeros: quote!(::nn::layers::Conv2d::zeros(#spec).expect("network! checked the Conv2d arguments")),
            state: State::Tensors { visit: &["weight", "bias"], tensors },
            frozen,
            freeze: quote! {
                self.#field.freeze_into(
                    frozen.#weight.as_flattened_mut().as_flattened_mut().as_flattened_mut(),
                    #bias_out,
                );
            },
        })
    }

    fn tape(&self, _: &Site<'_>) -> Tape {
        Tape { input: true, output: false, caches: Vec::new() }
    }

    fn forward(&self, site: &Site<'_>) -> TokenStream {
        let (x, y, field) = (site.x(), site.y(), site.field());
        quote!(let #y = self.#field.forward(#x.view());)
    }

    fn backward(&self, site: &Site<'_>) -> Backward {
        let (x, field, hw) = (site.x(), site.field(), image_hw(site.layer.input));
        Backward {
            update: quote!(self.#field.backward(tape.#x.view(), g.view());),
            input_grad: InputGrad::Pure(quote!(self.#field.input_grad(g.view() #hw))),
        }
    }

    fn workspace(&self, _: &WsSite<'_>) -> Option<WsStep> {
        None
    }

    fn frozen(&self, site: &FrozenSite<'_>) -> TokenStream {
        let FrozenSite { layer, by_ref, typed, .. } = site;
        let (weight, bias) = (layer.frozen_field("weight"), bias_arg(layer, self.bias, quote!(&self.)));
        let (s, p) = (usize_lit(self.stride), usize_lit(self.padding));
        quote!(let #typed = ::nn::frozen::conv2d(&self.#weight, #bias, #by_ref, (#s, #s), (#p, #p));)
    }

    fn int8(&self, site: &Int8Site<'_>) -> Int8 {
        let (Shape::Image { channels, height, width }, Shape::Image { height: oh, width: ow, .. }) =
            (site.layer.input, site.layer.output)
        else {
            return Int8::Unsupported("its input or output is not an image".to_string());
        };
        let cols = channels * self.kernel * self.kernel;
        let [c, h, w, oc, oh, ow, pairs, blocks] =
            [channels, height, width, self.out_channels, oh, ow, cols.div_ceil(2), self.out_channels.div_ceil(4)]
                .map(usize_lit);
        let (k, s, p) = (usize_lit(self.kernel), usize_lit(self.stride), usize_lit(self.padding));
        let geometry =
            quote!(::nn::int8::Geometry { kernel: [#k, #k], stride: [#s, #s], padding: [#p, #p], groups: 1 });
        let (field, key, typed, x) = (&site.layer.field, &site.layer.key, &site.typed, &site.by_ref);
        let weight_len = usize_lit(self.out_channels * cols);
        Int8::Weighted(Weighted {
            ty: quote!(::nn::int8::Conv2d<#c, #h, #w, #oc, #oh, #ow, #pairs, #blocks>),
            shape: vec![self.out_channels, self.in_channels, self.kernel, self.kernel],
            matrix: (1, self.out_channels, cols),
            infer: quote!(let #typed = self.#field.infer(#x);),
            load: quote!(file.conv2d::<#c, #h, #w, #oc, #oh, #ow, #pairs, #blocks>(#key, input, #geometry, relu)),
            weight_ty: quote!([i8; #weight_len]),
            extra: quote!(, #geometry),
        })
    }

    fn scratch(&self) -> Option<TokenStream> {
        None
    }

    fn assertions(&self, layer: &CheckedLayer, _: &Ident) -> TokenStream {
        window_assertion(layer, self.kernel, self.stride, self.padding)
    }

    fn draws_random(&self) -> bool {
        false
    }

    fn keeps_borrow(&self) -> bool {
        false
    }
}
