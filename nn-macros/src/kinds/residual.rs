//! `Residual(<chain>)`: `y = x + chain(x)`, for a chain that keeps the shape.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use super::{KindSpec, LayerKind, Params, ShapeSite, StatesInput};
use crate::chain::{frozen_steps, Backward, FrozenSite, InputGrad, Site, Tape, WsSite, WsStep};
use crate::check::{check_chain, CheckedLayer};
use crate::generate::scratch_bytes;
use crate::int8::{Int8, Int8Site};
use crate::shape::Shape;

pub const RESIDUAL: KindSpec = KindSpec {
    name: "Residual",
    params: &[],
    chain: true,
    states_input: StatesInput::Nothing,
    resolve: |at| {
        let Some(chain) = at.decl.args.as_ref().and_then(|args| args.chain.as_ref()) else {
            at.error("`Residual` needs a chain of layers: `Residual(Linear(64, 64) -> ReLU)`");
            return None;
        };
        let (key, field) = (format!("{}.", at.key), format!("{}_", at.field));
        let inner = check_chain(chain, at.input, &key, &field, false, at.fields, at.errors);
        (inner.len() == chain.len()).then(|| Box::new(Residual { inner }) as Box<dyn LayerKind>)
    },
};

#[derive(Debug)]
struct Residual {
    inner: Vec<CheckedLayer>,
}

impl LayerKind for Residual {
    fn describe(&self) -> String {
        let inner: Vec<String> = self.inner.iter().map(|layer| layer.kind.describe()).collect();
        format!("Residual({})", inner.join(" -> "))
    }

    fn output(&self, input: Shape, at: &ShapeSite<'_>) -> Result<Shape, syn::Error> {
        let output = self.inner.last().map_or(input, |layer| layer.output);
        if output != input {
            return Err(at.decl.error(format!(
                "a Residual chain must keep the shape (y = x + chain(x)), but it turns {input} into {output}"
            )));
        }
        Ok(input)
    }

    fn inner(&self) -> &[CheckedLayer] {
        &self.inner
    }

    fn params(&self, _: &CheckedLayer) -> Option<Params> {
        None
    }

    fn tape(&self, site: &Site<'_>) -> Tape {
        Tape { input: false, output: false, caches: site.nested(&self.inner).tape_entries() }
    }

    fn forward(&self, site: &Site<'_>) -> TokenStream {
        let (x, y) = (site.x(), site.y());
        let chain = site.nested(&self.inner);
        let (body, inner_x, inner_y) = (chain.forward(), chain.value(0), chain.output());
        // The tape may keep the chain's output; the sum then starts from a copy.
        let inner_out = if chain.keeps_output() { quote!(#inner_y.clone()) } else { quote!(#inner_y) };
        quote! {
            let #inner_x = #x.to_owned();
            #body
            let mut #y = #inner_out;
            #y += &#x;
        }
    }

    fn backward(&self, site: &Site<'_>) -> Backward {
        let inner = site.nested(&self.inner).backward(false);
        let skip = site.cache("skip");
        Backward {
            update: quote!(),
            input_grad: InputGrad::InPlace(quote! {
                let #skip = { #inner };
                g += &#skip;
            }),
        }
    }

    fn workspace(&self, _: &WsSite<'_>) -> Option<WsStep> {
        None
    }

    fn frozen(&self, site: &FrozenSite<'_>) -> TokenStream {
        let FrozenSite { layer, by_ref, typed_mut, y_slice, inner_prefix, .. } = site;
        let steps = frozen_steps(&self.inner, inner_prefix);
        let (inner_x, inner_y) =
            (format_ident!("{}x0", inner_prefix), format_ident!("{}x{}", inner_prefix, self.inner.len()));
        let x_slice = match layer.input {
            Shape::Flat(_) => quote!(#inner_x),
            Shape::Image { .. } => quote!(#inner_x.as_flattened().as_flattened()),
        };
        quote! {
            let #inner_x = #by_ref;
            #steps
            let #typed_mut = #inner_y;
            ::nn::frozen::add_in_place(#y_slice, #x_slice);
        }
    }

    fn int8(&self, _: &Int8Site<'_>) -> Int8 {
        Int8::Residual
    }

    fn scratch(&self) -> Option<TokenStream> {
        Some(scratch_bytes(&self.inner))
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
