//! The `network!` macro of `nn`, in three stages: `parse` (tokens → syntax tree),
//! `check` (arguments and every shape, as spanned errors) and `generate` (the items).
//! `kinds` holds one module per layer kind with everything the kind contributes,
//! `chain` what spans the layers of a chain, `shape` the shape arithmetic and
//! `weights` the weights baked at compile time.

mod arena;
mod chain;
mod check;
mod generate;
mod int8;
mod kinds;
mod parse;
mod shape;
mod weights;

#[cfg(test)]
mod snapshots;

use proc_macro::TokenStream;

/// Declares a network; see the `nn` crate for the DSL and what it generates.
#[proc_macro]
pub fn network(input: TokenStream) -> TokenStream {
    expand(input.into()).into()
}

/// parse → check → generate, with every error as a value. A declaration that parses
/// but fails its checks still emits stub items beside its errors.
fn expand(input: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    let decl: parse::NetworkDecl = match syn::parse2(input) {
        Ok(decl) => decl,
        Err(error) => return error.into_compile_error(),
    };
    let stubs = generate::stubs(&decl);
    let generated = check::check(decl).and_then(|network| {
        let frozen_weights = network.weights.as_ref().map(|path| weights::bake(&network, path)).transpose()?;
        Ok(generate::generate(&network, frozen_weights))
    });
    generated.unwrap_or_else(|error| {
        let error = error.into_compile_error();
        quote::quote!(#error #stubs)
    })
}
