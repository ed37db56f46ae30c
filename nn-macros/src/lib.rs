//! The `network!` macro of `nn`: parse → check → generate.
use proc_macro::TokenStream;

/// Declares a network. See the `nn` crate.
#[proc_macro]
pub fn network(input: TokenStream) -> TokenStream {
    input
}
