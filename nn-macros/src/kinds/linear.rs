//! `Linear(in_features, out_features, bias = true)`: `y = x·Wᵀ + b`.

use proc_macro2::TokenStream;
use quote::quote;

use super::{bias_arg, bias_suffix, folded_weight, param, usize_lit, weight_and_bias, ArgType, Default, KindSpec};
use super::{LayerKind, Params};
use super::{ShapeSite, State, StatesInput};
use crate::arena::Step;
use crate::chain::{Backward, Frozen, InputGrad, Site, Tape, WsSite, WsStep};
use crate::check::CheckedLayer;
use crate::int8::{Int8, Int8Site, Weighted};
use crate::shape::Shape;

pub const LINEAR: KindSpec = KindSpec {
    name: "Linear",
    params: &[
        param("in_features", ArgType::DimOrInfer, Default::Required),
        param("out_features", ArgType::Dim, Default::Required),
        param("bias", ArgType::Bool, Default::Bool(true)),
    ],
    chain: false,
    states_input: StatesInput::Flat("in_features"),
    resolve: |at| {
        let inputs = at.size_or_inferred("in_features", at.input.map(Shape::len))?;
        Some(Box::new(Linear { inputs, outputs: at.int("out_features")?, bias: at.flag("bias") }))
    },
};

#[derive(Debug)]
struct Linear {
    inputs: usize,
    outputs: usize,
    bias: bool,
}

impl LayerKind for Linear {
    fn describe(&self) -> String {
        format!("Linear({}, {}{})", self.inputs, self.outputs, bias_suffix(self.bias))
    }

    fn output(&self, input: Shape, at: &ShapeSite<'_>) -> Result<Shape, syn::Error> {
        let n = at.flat("Linear", input)?;
        if n != self.inputs {
            let span = at
                .decl
                .args
                .as_ref()
                .and_then(|args| args.positional.first())
                .map_or(at.decl.kind.span(), |arg| arg.span());
            let (inputs, outputs) = (self.inputs, self.outputs);
            return Err(syn::Error::new(
                span,
                format!(
                    "Linear({inputs}, {outputs}) expects {inputs} input features, but the previous layer produces {n}"
                ),
            ));
        }
        Ok(Shape::Flat(self.outputs))
    }

    fn inner(&self) -> &[CheckedLayer] {
        &[]
    }

    fn params(&self, layer: &CheckedLayer) -> Option<Params> {
        let (i, o, bias) = (usize_lit(self.inputs), usize_lit(self.outputs), self.bias);
        let weight = layer.frozen_field("weight");
        let weight_shape = vec![self.outputs, self.inputs];
        let weight_doc = "weight, input-major `[in][out]`";
        let weight_spec = (quote!([[F; #o]; #i]), weight_shape, true, weight_doc);
        let (tensors, _) = weight_and_bias(layer, weight_spec.clone(), bias, self.outputs);
        let freeze_weight = quote!(frozen.#weight.as_flattened_mut());
        let (frozen, freeze) = folded_weight(layer, weight_spec, bias, self.outputs, freeze_weight);
        Some(Params {
            ty: quote!(::nn::layers::Linear<F>),
            init: quote!(::nn::layers::Linear::init(#i, #o, #bias, rng)),
            zeros: quote!(::nn::layers::Linear::zeros(#i, #o, #bias)),
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
        let (x, field) = (site.x(), site.field());
        Backward {
            update: quote!(self.#field.backward(tape.#x.view(), g.view());),
            input_grad: InputGrad::Pure(quote!(self.#field.input_grad(g.view()))),
        }
    }

    fn workspace(&self, site: &WsSite<'_>) -> Option<WsStep> {
        let WsSite { src, dst, g_out, g_in, .. } = site;
        let field = &site.layer.field;
        let forward = quote!(self.#field.forward_into(#src.view(), &mut ws.#dst););
        Some(WsStep {
            inference: forward.clone(),
            forward,
            buffers: Vec::new(),
            in_place: false,
            update: quote!(self.#field.backward_with(#src.view(), ws.#g_out.view(), ::nn::layers::Gradients::Overwrite);),
            input_grad: quote!(self.#field.input_grad_into(ws.#g_out.view(), &mut ws.#g_in);),
        })
    }

    fn frozen(&self, layer: &CheckedLayer) -> Frozen<'_> {
        let bias = bias_arg(layer, self.bias || layer.folds_in().is_some(), quote!(&self.));
        let weight = layer.frozen_field("weight");
        Frozen::Step(Step::Into(quote!(::nn::frozen::dense_into(&self.#weight, #bias, x, y);)))
    }

    fn int8(&self, site: &Int8Site<'_>) -> Int8 {
        let (inputs, outputs) = (self.inputs, self.outputs);
        let (i, o) = (usize_lit(inputs), usize_lit(outputs));
        let (pairs, blocks) = (usize_lit(inputs.div_ceil(2)), usize_lit(outputs.div_ceil(4)));
        let ty = quote!(::nn::int8::Dense<#i, #o, #pairs, #blocks>);
        let (field, key) = (&site.layer.field, &site.layer.key);
        Int8::Weighted(Weighted {
            ty,
            shape: vec![outputs, inputs],
            matrix: (1, outputs, inputs),
            infer: quote!(self.#field.infer_into(x, y);),
            load: quote!(file.dense::<#i, #o, #pairs, #blocks>(#key, input, relu)),
            weight_ty: quote!([[i8; #i]; #o]),
            extra: quote!(),
        })
    }

    fn assertions(&self, _: &CheckedLayer, _: &proc_macro2::Ident) -> TokenStream {
        quote!()
    }

    fn draws_random(&self) -> bool {
        false
    }

    fn keeps_borrow(&self) -> bool {
        false
    }
}
