//! `Conv2d(in_channels, out_channels, kernel_size, stride = 1, padding = 0, groups = 1,
//! bias = true)`: a grouped 2-d convolution with zero padding; `kernel_size`, `stride` and
//! `padding` are `k` or `(height, width)`, and `groups = in_channels` is depthwise.

use proc_macro2::{Ident, TokenStream};
use quote::quote;

use super::pool::window_assertion;
use super::{bias_arg, bias_suffix, describe_pair, param, usize_lit, weight_and_bias, ArgType, Default, KindSpec};
use super::{folded_weight, LayerKind, Params};
use super::{Resolve, ShapeSite, State, StatesInput};
use crate::arena::Step;
use crate::chain::{image_hw, Backward, Frozen, InputGrad, Site, Tape, WsSite, WsStep};
use crate::check::CheckedLayer;
use crate::int8::{Int8, Int8Site, Weighted};
use crate::shape::{padded, window_output, Shape, MAX_SCALARS_TEXT};

/// The reason the generated `init`/`zeros` cannot fail, as their `expect` says it.
const CHECKED: &str = "network! checked that the kernel and stride are positive and groups divide both channel counts";

pub const CONV2D: KindSpec = KindSpec {
    name: "Conv2d",
    params: &[
        param("in_channels", ArgType::DimOrInfer, Default::Required),
        param("out_channels", ArgType::Dim, Default::Required),
        param("kernel_size", ArgType::DimPair, Default::Required),
        param("stride", ArgType::DimPair, Default::Int(1)),
        param("padding", ArgType::CountPair, Default::Int(0)),
        param("groups", ArgType::Dim, Default::Int(1)),
        param("bias", ArgType::Bool, Default::Bool(true)),
    ],
    chain: false,
    states_input: StatesInput::Nothing,
    resolve,
};

fn resolve(at: &mut Resolve<'_>) -> Option<Box<dyn LayerKind>> {
    let in_channels = at.size_or_inferred("in_channels", at.channels())?;
    let (out_channels, groups) = (at.int("out_channels")?, at.int("groups")?);
    if !in_channels.is_multiple_of(groups) || !out_channels.is_multiple_of(groups) {
        let span = at.values.get("groups").map_or(at.decl.kind.span(), crate::parse::Arg::span);
        let (which, count) =
            if in_channels.is_multiple_of(groups) { ("output", out_channels) } else { ("input", in_channels) };
        at.errors.push(syn::Error::new(
            span,
            format!(
                "Conv2d groups = {groups} must divide both channel counts, but it does not divide the {count} \
                 {which} channels (Conv2d({in_channels}, {out_channels}, ..))"
            ),
        ));
        return None;
    }
    Some(Box::new(Conv2d {
        in_channels,
        out_channels,
        kernel: at.pair("kernel_size")?,
        stride: at.pair("stride")?,
        padding: at.pair("padding")?,
        groups,
        bias: at.flag("bias"),
    }))
}

/// A checked convolution: `groups` divides both channel counts, the kernel and the
/// stride are positive.
#[derive(Debug)]
struct Conv2d {
    in_channels: usize,
    out_channels: usize,
    /// `(height, width)`, as are `stride` and `padding`.
    kernel: (usize, usize),
    stride: (usize, usize),
    padding: (usize, usize),
    groups: usize,
    bias: bool,
}

impl LayerKind for Conv2d {
    fn describe(&self) -> String {
        let Conv2d { in_channels, out_channels, kernel, stride, padding, groups, bias } = *self;
        let (kernel, stride, padding) = (describe_pair(kernel), describe_pair(stride), describe_pair(padding));
        let groups = if groups == 1 { String::new() } else { format!(", groups = {groups}") };
        format!(
            "Conv2d({in_channels}, {out_channels}, {kernel}, stride = {stride}, padding = {padding}{groups}{})",
            bias_suffix(bias)
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
        let ((kh, kw), (sh, sw), (ph, pw)) = (kernel, stride, padding);
        let (Some(padded_h), Some(padded_w)) = (padded(height, ph, ph), padded(width, pw, pw)) else {
            return Err(at.decl.error(format!(
                "Conv2d padding {} makes its input {input} too large: a side holds at most {MAX_SCALARS_TEXT}",
                describe_pair(padding)
            )));
        };
        let (Some(h), Some(w)) = (window_output(height, kh, sh, ph), window_output(width, kw, sw, pw)) else {
            return Err(at.decl.error(format!(
                "Conv2d kernel {kh}x{kw} is larger than its padded input {padded_h}x{padded_w} \
                 (input {input}, padding {})",
                describe_pair(padding)
            )));
        };
        Ok(Shape::Image { channels: out_channels, height: h, width: w })
    }

    fn inner(&self) -> &[CheckedLayer] {
        &[]
    }

    fn params(&self, layer: &CheckedLayer) -> Option<Params> {
        let Conv2d { in_channels, out_channels, kernel, stride, padding, groups, bias } = *self;
        let (c, o, g, cg) = (usize_lit(in_channels), usize_lit(out_channels), usize_lit(groups), in_channels / groups);
        let [kh, kw, sh, sw, ph, pw] = [kernel.0, kernel.1, stride.0, stride.1, padding.0, padding.1].map(usize_lit);
        let groups = (groups != 1).then(|| quote!(.groups(#g)));
        let spec = quote! {
            ::nn::layers::Conv2dSpec::new(#c, #o, (#kh, #kw)).stride((#sh, #sw)).padding((#ph, #pw)) #groups .bias(#bias)
        };
        let weight = layer.frozen_field("weight");
        let weight_shape = vec![out_channels, cg, kernel.0, kernel.1];
        let cg = usize_lit(cg);
        let weight_ty = quote!([[[[F; #kw]; #kh]; #cg]; #o]);
        let weight_spec = (weight_ty, weight_shape, false, "weight");
        let (tensors, _) = weight_and_bias(layer, weight_spec.clone(), bias, out_channels);
        let freeze_weight = quote!(frozen.#weight.as_flattened_mut().as_flattened_mut().as_flattened_mut());
        let (frozen, freeze) = folded_weight(layer, weight_spec, bias, out_channels, freeze_weight);
        Some(Params {
            ty: quote!(::nn::layers::Conv2d<F>),
            // `network!` checked what `Conv2dSpec::check` checks (positive kernel and
            // stride, groups dividing both channel counts), so these cannot fail.
            init: quote!(::nn::layers::Conv2d::init(#spec, rng).expect(#CHECKED)),
            zeros: quote!(::nn::layers::Conv2d::zeros(#spec).expect(#CHECKED)),
            state: State::Tensors { visit: &["weight", "bias"], tensors },
            frozen,
            freeze,
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

    fn workspace(&self, site: &WsSite<'_>) -> Option<WsStep> {
        let WsSite { src, dst, g_out, g_in, .. } = site;
        let field = &site.layer.field;
        let forward = quote!(self.#field.forward_into(#src.view(), ws.#dst.view_mut()););
        Some(WsStep {
            inference: forward.clone(),
            forward,
            buffers: Vec::new(),
            in_place: false,
            update: quote!(self.#field.backward_with(#src.view(), ws.#g_out.view(), ::nn::layers::Gradients::Overwrite);),
            input_grad: quote!(self.#field.input_grad_into(ws.#g_out.view(), ws.#g_in.view_mut());),
        })
    }

    fn frozen(&self, layer: &CheckedLayer) -> Frozen<'_> {
        let bias = bias_arg(layer, self.bias || layer.folds_in().is_some(), quote!(&self.));
        let weight = layer.frozen_field("weight");
        let [sh, sw, ph, pw] = [self.stride.0, self.stride.1, self.padding.0, self.padding.1].map(usize_lit);
        Frozen::Step(Step::Into(quote!(::nn::frozen::conv2d_into(&self.#weight, #bias, x, y, (#sh, #sw), (#ph, #pw));)))
    }

    fn int8(&self, site: &Int8Site<'_>) -> Int8 {
        let (Shape::Image { channels, height, width }, Shape::Image { height: oh, width: ow, .. }) =
            (site.layer.input, site.layer.output)
        else {
            return Int8::Unsupported("its input or output is not an image".to_string());
        };
        let Conv2d { out_channels, kernel: (kh, kw), stride: (sh, sw), padding: (ph, pw), groups, .. } = *self;
        let cols = channels / groups * kh * kw;
        // As `nn::int8::blocks`: groups of one row go four to a block.
        let per_group = out_channels / groups;
        let blocks = if per_group == 1 { groups.div_ceil(4) } else { groups * per_group.div_ceil(4) };
        // The macro widens some ungrouped layers' weights to 16 bits (`int8::widened`).
        let words = if groups == 1 && site.widened.contains(&site.layer.key) { 4 } else { 2 };
        let [c, h, w, oc, oh, ow, pairs, blocks, words] =
            [channels, height, width, out_channels, oh, ow, cols.div_ceil(2), blocks, words].map(usize_lit);
        let [kh_, kw_, sh_, sw_, ph_, pw_, g] = [kh, kw, sh, sw, ph, pw, groups].map(usize_lit);
        let geometry = quote! {
            ::nn::int8::Geometry { kernel: [#kh_, #kw_], stride: [#sh_, #sw_], padding: [#ph_, #pw_], groups: #g }
        };
        let (field, key) = (&site.layer.field, &site.layer.key);
        let weight_len = usize_lit(out_channels * cols);
        Int8::Weighted(Weighted {
            ty: quote!(::nn::int8::Conv2d<#c, #h, #w, #oc, #oh, #ow, #pairs, #blocks, #words>),
            shape: vec![out_channels, channels / groups, kh, kw],
            matrix: (groups, out_channels / groups, cols),
            infer: quote!(self.#field.infer_into(x, y);),
            load: quote!(file.conv2d::<#c, #h, #w, #oc, #oh, #ow, #pairs, #blocks, #words>(#key, input, #geometry, relu)),
            weight_ty: quote!([i8; #weight_len]),
            extra: quote!(, #geometry),
        })
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
