//! The `network!` macro of `nn`, in three stages, one file each:
//! `parse` (tokens → syntax tree), `check` (arguments and every shape, as spanned
//! errors) and `generate` (the struct, its tape, its frozen copy). `layer` holds the
//! layer table, `shape` the shape arithmetic and `weights` the weights baked at compile time.

mod check;
mod generate;
mod layer;
mod parse;
mod shape;
mod weights;

use proc_macro::TokenStream;

/// Declares a network; see the `nn` crate for the DSL and what it generates.
#[proc_macro]
pub fn network(input: TokenStream) -> TokenStream {
    expand(input.into()).unwrap_or_else(syn::Error::into_compile_error).into()
}

/// parse → check → generate, with every error as a value.
fn expand(input: proc_macro2::TokenStream) -> syn::Result<proc_macro2::TokenStream> {
    let decl: parse::NetworkDecl = syn::parse2(input)?;
    let network = check::check(decl)?;
    let frozen_weights = network.weights.as_ref().map(|path| weights::bake(&network, path)).transpose()?;
    Ok(generate::generate(&network, frozen_weights))
}
