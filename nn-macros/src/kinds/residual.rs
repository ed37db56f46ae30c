//! `Residual(<chain>)`: `y = x + chain(x)`, for a chain that keeps the shape; and
//! `Residual(<chain>, shortcut = <chain>)`: `y = chain(x) + shortcut(x)`, for two chains
//! that produce the same shape (a projection shortcut). The chain's layers are keyed
//! `K.0, K.1, ..`, the shortcut's `K.shortcut.0, ..`.

use proc_macro2::{Ident, TokenStream};
use quote::quote;

use super::{KindSpec, LayerKind, Params, ShapeSite, StatesInput};
use crate::chain::{Backward, Frozen, InputGrad, Site, Tape, WsSite, WsStep};
use crate::check::{check_chain, CheckedLayer};
use crate::int8::{Int8, Int8Site};
use crate::shape::Shape;

/// What the shortcut chain's generated names carry.
const SHORTCUT_TAG: &str = "s";

pub const RESIDUAL: KindSpec = KindSpec {
    name: "Residual",
    params: &[],
    chain: true,
    states_input: StatesInput::Nothing,
    resolve: |at| {
        let Some(args) = at.decl.args.as_ref() else {
            at.error("`Residual` needs a chain of layers: `Residual(Linear(64, 64) -> ReLU)`");
            return None;
        };
        let Some(chain) = args.chain.as_ref() else {
            at.error("`Residual` needs a chain of layers: `Residual(Linear(64, 64) -> ReLU)`");
            return None;
        };
        let (key, field) = (format!("{}.", at.key), format!("{}_", at.field));
        let mut layers = check_chain(chain, at.input, &key, &field, false, at.fields, at.errors);
        let split = layers.len();
        let mut complete = split == chain.len();
        if let Some(shortcut) = &args.shortcut {
            let (key, field) = (format!("{}.shortcut.", at.key), format!("{}_shortcut_", at.field));
            let checked = check_chain(shortcut, at.input, &key, &field, false, at.fields, at.errors);
            complete &= checked.len() == shortcut.len();
            layers.extend(checked);
        }
        complete
            .then(|| Box::new(Residual { layers, split, projection: args.shortcut.is_some() }) as Box<dyn LayerKind>)
    },
};

#[derive(Debug)]
struct Residual {
    /// The chain's layers, then the shortcut's: the inner layers, in execution order.
    layers: Vec<CheckedLayer>,
    /// Where the shortcut's layers start.
    split: usize,
    /// Whether a `shortcut = ..` chain replaces the identity.
    projection: bool,
}

impl Residual {
    fn chain(&self) -> &[CheckedLayer] {
        &self.layers[..self.split]
    }

    fn shortcut(&self) -> &[CheckedLayer] {
        &self.layers[self.split..]
    }
}

/// The output of `layers` fed `input`.
fn chain_output(layers: &[CheckedLayer], input: Shape) -> Shape {
    layers.last().map_or(input, |layer| layer.output)
}

impl LayerKind for Residual {
    fn describe(&self) -> String {
        let describe = |layers: &[CheckedLayer]| -> String {
            layers.iter().map(|layer| layer.kind.describe()).collect::<Vec<_>>().join(" -> ")
        };
        if self.projection {
            format!("Residual({}, shortcut = {})", describe(self.chain()), describe(self.shortcut()))
        } else {
            format!("Residual({})", describe(self.chain()))
        }
    }

    fn output(&self, input: Shape, at: &ShapeSite<'_>) -> Result<Shape, syn::Error> {
        let output = chain_output(self.chain(), input);
        if !self.projection {
            if output != input {
                return Err(at.decl.error(format!(
                    "a Residual chain must keep the shape (y = x + chain(x)), but it turns {input} into {output}: \
                     give a `shortcut = ..` chain that turns {input} into {output}"
                )));
            }
            return Ok(input);
        }
        let shortcut = chain_output(self.shortcut(), input);
        if shortcut != output {
            return Err(at.decl.error(format!(
                "the two sides of a Residual must produce the same shape (y = chain(x) + shortcut(x)), but from \
                 {input} the chain produces {output} and the shortcut {shortcut}"
            )));
        }
        Ok(output)
    }

    fn inner(&self) -> &[CheckedLayer] {
        &self.layers
    }

    fn params(&self, _: &CheckedLayer) -> Option<Params> {
        None
    }

    fn tape(&self, site: &Site<'_>) -> Tape {
        let mut caches = site.nested(self.chain()).tape_entries();
        if self.projection {
            caches.extend(site.nested_tagged(self.shortcut(), SHORTCUT_TAG).tape_entries());
        }
        Tape { input: false, output: false, caches }
    }

    fn forward(&self, site: &Site<'_>) -> TokenStream {
        let (x, y) = (site.x(), site.y());
        let chain = site.nested(self.chain());
        let (body, inner_x, inner_y) = (chain.forward(), chain.value(0), chain.output());
        // The tape may keep the chain's output; the sum then starts from a copy.
        let inner_out = if chain.keeps_output() { quote!(#inner_y.clone()) } else { quote!(#inner_y) };
        if !self.projection {
            return quote! {
                let #inner_x = #x.to_owned();
                #body
                let mut #y = #inner_out;
                #y += &#x;
            };
        }
        let shortcut = site.nested_tagged(self.shortcut(), SHORTCUT_TAG);
        let (short_body, short_x, short_y) = (shortcut.forward(), shortcut.value(0), shortcut.output());
        quote! {
            let #inner_x = #x.to_owned();
            #body
            let #short_x = #x.to_owned();
            #short_body
            let mut #y = #inner_out;
            #y += &#short_y;
        }
    }

    fn backward(&self, site: &Site<'_>) -> Backward {
        let inner = site.nested(self.chain()).backward(false);
        let skip = site.cache("skip");
        if !self.projection {
            return Backward {
                update: quote!(),
                input_grad: InputGrad::InPlace(quote! {
                    let #skip = { #inner };
                    g += &#skip;
                }),
            };
        }
        let shortcut = site.nested_tagged(self.shortcut(), SHORTCUT_TAG).backward(false);
        // Both sides accumulate parameter gradients, so this runs even at the first layer.
        Backward {
            update: quote!(),
            input_grad: InputGrad::Effect(quote! {{
                let mut #skip = { #inner };
                #skip += &{ #shortcut };
                #skip
            }}),
        }
    }

    fn workspace(&self, _: &WsSite<'_>) -> Option<WsStep> {
        None
    }

    fn frozen(&self, _: &CheckedLayer) -> Frozen<'_> {
        Frozen::Residual {
            chain: self.chain(),
            shortcut: self.projection.then(|| self.shortcut()),
            add: quote!(::nn::frozen::add_in_place(::nn::arena::scalars_mut(y), ::nn::arena::scalars(x));),
        }
    }

    fn int8(&self, _: &Int8Site<'_>) -> Int8 {
        Int8::Residual { split: self.split, projection: self.projection }
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
