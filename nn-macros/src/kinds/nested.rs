//! A network declared by another `network!`, used as a layer: its sizes are checked by
//! the type system, since its declaration is expanded separately.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote, quote_spanned};

use super::{usize_lit, Bake, FrozenField, KindSpec, LayerKind, Params, ShapeSite, State, StatesInput};
use crate::chain::{Backward, Frozen, InputGrad, Site, Tape, WsSite, WsStep};
use crate::check::CheckedLayer;
use crate::int8::{Int8, Int8Site};
use crate::shape::Shape;

/// A network declared elsewhere.
#[derive(Debug)]
pub struct Nested {
    pub network: Ident,
}

impl LayerKind for Nested {
    fn describe(&self) -> String {
        self.network.to_string()
    }

    /// Read from the first later layer that states its input size (`Linear(32, 10)`);
    /// the type system checks it against the network.
    fn output(&self, _: Shape, at: &ShapeSite<'_>) -> Result<Shape, syn::Error> {
        let network = &self.network;
        for decl in at.rest {
            let found = match KindSpec::find(&decl.kind.to_string()).map(|kind| kind.states_input) {
                Some(StatesInput::Keeps) => continue,
                Some(StatesInput::Flat(name)) => match decl.stated(name) {
                    Some(crate::parse::Arg::Int(n, _)) if *n > 0 => usize::try_from(*n).ok().map(Shape::Flat),
                    _ => None,
                },
                Some(StatesInput::Nothing) | None => None,
            };
            return found.ok_or_else(|| {
                decl.error(format!(
                    "the output size of `{network}` (declared elsewhere) is not known here: \
                     write this layer's input size as a number, e.g. `Linear(32, 10)` after `{network}`"
                ))
            });
        }
        Err(syn::Error::new(
            network.span(),
            format!(
                "the output size of `{network}` (declared elsewhere) is not known here: follow it with a layer \
                 that states its input size, e.g. `Linear(32, 10)`, or compose whole networks with `nn::Chain`"
            ),
        ))
    }

    fn inner(&self) -> &[CheckedLayer] {
        &[]
    }

    fn params(&self, layer: &CheckedLayer) -> Option<Params> {
        let (network, field) = (&self.network, &layer.field);
        let frozen = format_ident!("{}Frozen", network);
        Some(Params {
            ty: quote!(#network<F>),
            init: quote!(#network::init(rng)),
            zeros: quote!(#network::zeroed()),
            state: State::Nested(network.clone()),
            frozen: vec![FrozenField {
                name: field.clone(),
                ty: quote!(#frozen<F>),
                doc: layer.frozen_doc("frozen"),
                bake: Bake::Cannot(format!(
                    "the nested network `{network}` (layer `{}`) yet: its frozen copy is a `{frozen}`, not tensors \
                     of the file",
                    layer.key
                )),
            }],
            freeze: quote!(self.#field.freeze_into(&mut frozen.#field);),
        })
    }

    fn tape(&self, site: &Site<'_>) -> Tape {
        let tape = format_ident!("{}Tape", self.network);
        Tape { input: false, output: false, caches: vec![(site.cache("net"), quote!(#tape<'a, F>))] }
    }

    fn forward(&self, site: &Site<'_>) -> TokenStream {
        let (x, y, field) = (site.x(), site.y(), site.field());
        if site.training() {
            let (cache, cow) = (site.cache("net"), site.cow());
            quote!(let (#y, #cache) = self.#field.forward_train_cow(#cow);)
        } else {
            quote!(let #y = self.#field.forward(#x.view());)
        }
    }

    fn backward(&self, site: &Site<'_>) -> Backward {
        let (cache, field) = (site.cache("net"), site.field().clone());
        Backward {
            update: quote!(),
            input_grad: InputGrad::Asked(Box::new(
                move |wanted| quote!(self.#field.backward_from(tape.#cache, g.view(), #wanted)),
            )),
        }
    }

    fn workspace(&self, _: &WsSite<'_>) -> Option<WsStep> {
        None
    }

    fn frozen(&self, layer: &CheckedLayer) -> Frozen<'_> {
        let (field, frozen) = (&layer.field, format_ident!("{}Frozen", self.network));
        // Its output comes back by value, so that a size mismatch reads as the sizes
        // expected and found, spanned at the layer.
        let zero = match layer.output {
            Shape::Flat(_) => quote!(::core::array::from_fn(|_| F::zero())),
            Shape::Image { .. } => quote! {
                ::core::array::from_fn(|_| ::core::array::from_fn(|_| ::core::array::from_fn(|_| F::zero())))
            },
        };
        let output = quote_spanned! {layer.span=>
            {
                let mut out = #zero;
                self.#field.infer_in(x, &mut out, scratch);
                out
            }
        };
        let code = quote!(*y = #output;);
        Frozen::Nested { len: quote!(#frozen::<f32>::ARENA.len), code }
    }

    fn int8(&self, _: &Int8Site<'_>) -> Int8 {
        Int8::Unsupported(format!(
            "a network declared elsewhere has no int8 form inside another; quantise `{}` on its own",
            self.network
        ))
    }

    /// Compile-time proof that the sizes around it meet, through `nn::TakesInput` /
    /// `nn::ProducesOutput`, so that a mismatch names both networks.
    fn assertions(&self, layer: &CheckedLayer, net: &Ident) -> TokenStream {
        let network = &self.network;
        let (input, output) = (usize_lit(layer.input.len()), usize_lit(layer.output.len()));
        quote_spanned! {layer.span=>
            const _: fn() = ::nn::assert_takes_input::<#network<f32>, #net<f32>, #input>;
            const _: fn() = ::nn::assert_produces_output::<#network<f32>, #net<f32>, #output>;
        }
    }

    fn draws_random(&self) -> bool {
        false
    }

    fn keeps_borrow(&self) -> bool {
        false
    }
}
