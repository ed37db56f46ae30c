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
    let input = strip_nested_marker(input);
    let decl: parse::NetworkDecl = match syn::parse2(input.clone()) {
        Ok(decl) => decl,
        Err(error) => return error.into_compile_error(),
    };
    if let Some(deferred) = generate::defer_to_nested_input(&decl, &input) {
        return deferred;
    }
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

/// The declaration without the `@nn_nested` marker of a nested network's input macro,
/// its tokens [resolved at the call site](resolved_at_call_site); any other as it is.
fn strip_nested_marker(input: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    use proc_macro2::TokenTree;
    let mut tokens = input.clone().into_iter();
    match (tokens.next(), tokens.next()) {
        (Some(TokenTree::Punct(at)), Some(TokenTree::Ident(marker)))
            if at.as_char() == '@' && marker == "nn_nested" =>
        {
            resolved_at_call_site(tokens.collect())
        }
        _ => input,
    }
}

/// `tokens` with each span's location kept and its name resolution made the call
/// site's. A declaration re-invoked by a nested network's input macro
/// ([`generate::defer_to_nested_input`]) comes through a `macro_rules!`, whose
/// expansion is the call site of the generated code: the user's tokens must resolve
/// there too (`self`, the chain's locals), while errors still point at what they wrote.
fn resolved_at_call_site(tokens: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    use proc_macro2::{Group, Span, TokenTree};
    let call_site = Span::call_site();
    tokens
        .into_iter()
        .map(|token| match token {
            TokenTree::Group(group) => {
                let mut respanned = Group::new(group.delimiter(), resolved_at_call_site(group.stream()));
                respanned.set_span(group.span().resolved_at(call_site));
                TokenTree::Group(respanned)
            }
            mut other => {
                other.set_span(other.span().resolved_at(call_site));
                other
            }
        })
        .collect()
}
