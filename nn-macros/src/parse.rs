//! Stage 1: tokens → a plain syntax tree of the declaration. Nothing is checked here
//! beyond the grammar; every message is spanned at the offending token.

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{bracketed, parenthesized, Attribute, Ident, Lit, LitStr, Token, Visibility};

/// `network! { <attrs> <vis> struct <Name> { [input: [..],] <chain> } }`.
pub struct NetworkDecl {
    /// Attributes and doc comments passed through to the struct.
    pub attrs: Vec<Attribute>,
    /// `#[weights = "path"]`, taken out of `attrs`.
    pub weights: Option<LitStr>,
    pub vis: Visibility,
    pub name: Ident,
    /// `input: [C, H, W]` or `input: [N]`.
    pub input: Option<InputDecl>,
    pub layers: Vec<LayerDecl>,
    /// The braces of the body, for errors about the chain as a whole.
    pub body_span: Span,
}

/// The declared input shape.
pub struct InputDecl {
    pub dims: Vec<Arg>,
    /// From `input` to the closing bracket.
    pub start: Span,
    pub end: Span,
}

/// One layer of a chain: `[field_name:] Kind [(args)]`.
pub struct LayerDecl {
    pub field: Option<Ident>,
    pub kind: Ident,
    pub args: Option<Args>,
}

impl LayerDecl {
    /// An error spanning the whole layer, from its name to its closing parenthesis.
    pub fn error(&self, message: impl std::fmt::Display) -> syn::Error {
        let start = self.field.as_ref().unwrap_or(&self.kind).span();
        let end = self.args.as_ref().map_or(self.kind.span(), |args| args.span);
        error_spanning(start, end, message)
    }
}

impl LayerDecl {
    /// The argument given for the kind's first parameter `name`: by keyword, or first.
    pub fn stated(&self, name: &str) -> Option<&Arg> {
        let args = self.args.as_ref()?;
        let keyword = args.keywords.iter().find(|(key, _)| key == name).map(|(_, arg)| arg);
        keyword.or(args.positional.first())
    }
}

/// An error whose span runs from `start` to `end` (works on stable, unlike `Span::join`).
pub fn error_spanning(start: Span, end: Span, message: impl std::fmt::Display) -> syn::Error {
    let mut tokens = quote::quote_spanned!(start=> start);
    tokens.extend(quote::quote_spanned!(end=> end));
    syn::Error::new_spanned(tokens, message)
}

/// The parenthesised arguments of a layer.
pub struct Args {
    pub positional: Vec<Arg>,
    pub keywords: Vec<(Ident, Arg)>,
    /// A nested chain, for `Residual(<chain>)`.
    pub chain: Option<Vec<LayerDecl>>,
    /// The chain after `shortcut =`, for `Residual(<chain>, shortcut = <chain>)`.
    pub shortcut: Option<Vec<LayerDecl>>,
    pub span: Span,
}

/// One argument value.
#[derive(Clone)]
pub enum Arg {
    /// An integer literal.
    Int(u64, Span),
    /// A float literal, or a negated one.
    Float(f64, Span),
    /// `true` / `false`.
    Bool(bool, Span),
    /// `_`: inferred from the previous layer.
    Infer(Span),
    /// A parenthesised tuple such as `(3, 1)`.
    Tuple(Vec<Arg>, Span),
    /// Anything else: kept for a precise error in `check`.
    Other(Span),
}

impl Arg {
    pub fn span(&self) -> Span {
        match self {
            Arg::Int(_, s) | Arg::Float(_, s) | Arg::Bool(_, s) | Arg::Infer(s) | Arg::Tuple(_, s) | Arg::Other(s) => {
                *s
            }
        }
    }

    /// How the argument reads in a message.
    pub fn describe(&self) -> String {
        match self {
            Arg::Int(v, _) => format!("the integer `{v}`"),
            Arg::Float(v, _) => format!("the number `{v:?}`"),
            Arg::Bool(v, _) => format!("`{v}`"),
            Arg::Infer(_) => "`_`".to_string(),
            Arg::Tuple(items, _) if items.len() == 1 => "a tuple of 1 value".to_string(),
            Arg::Tuple(items, _) => format!("a tuple of {} values", items.len()),
            Arg::Other(_) => "an expression".to_string(),
        }
    }
}

impl Parse for NetworkDecl {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut attrs = input.call(Attribute::parse_outer)?;
        let weights = take_weights_attr(&mut attrs)?;
        let vis: Visibility = input.parse()?;
        if !input.peek(Token![struct]) {
            return Err(input.error("expected `struct <Name> { <layers> }` (optionally preceded by `pub`)"));
        }
        input.parse::<Token![struct]>()?;
        let name: Ident = input.parse()?;
        if input.peek(Token![<]) {
            return Err(
                input.error("a network declares no generic parameters: `network!` adds `<F: nn::Float = f32>` itself")
            );
        }
        let body;
        let brace = syn::braced!(body in input);
        let input_decl = parse_input_decl(&body)?;
        let layers = parse_chain(&body, brace.span.join(), false)?;
        if !input.is_empty() {
            return Err(input.error("expected nothing after the network's `{ ... }` body"));
        }
        Ok(NetworkDecl { attrs, weights, vis, name, input: input_decl, layers, body_span: brace.span.join() })
    }
}

/// Removes `#[weights = "..."]` from the attributes that pass through.
fn take_weights_attr(attrs: &mut Vec<Attribute>) -> syn::Result<Option<LitStr>> {
    let mut weights = None;
    let mut kept = Vec::with_capacity(attrs.len());
    for attr in attrs.drain(..) {
        if !attr.path().is_ident("weights") {
            kept.push(attr);
            continue;
        }
        let value = match &attr.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                syn::Expr::Lit(syn::ExprLit { lit: Lit::Str(path), .. }) => path.clone(),
                other => {
                    return Err(syn::Error::new(
                        other.span(),
                        "expected a string: `#[weights = \"models/x.safetensors\"]`",
                    ))
                }
            },
            other => return Err(syn::Error::new(other.span(), "expected `#[weights = \"models/x.safetensors\"]`")),
        };
        if weights.replace(value).is_some() {
            return Err(syn::Error::new(attr.span(), "`#[weights]` is given twice; a network has one weight file"));
        }
    }
    *attrs = kept;
    Ok(weights)
}

/// `input: [dims],` at the start of the body, if present.
fn parse_input_decl(body: ParseStream) -> syn::Result<Option<InputDecl>> {
    let fork = body.fork();
    let is_input = fork.parse::<Ident>().is_ok_and(|id| id == "input") && fork.peek(Token![:]) && {
        fork.parse::<Token![:]>()?;
        fork.peek(syn::token::Bracket)
    };
    if !is_input {
        return Ok(None);
    }
    let keyword: Ident = body.parse()?;
    body.parse::<Token![:]>()?;
    let content;
    let bracket = bracketed!(content in body);
    let dims = Punctuated::<Arg, Token![,]>::parse_terminated(&content)?.into_iter().collect();
    if !body.peek(Token![,]) {
        return Err(body.error("expected `,` after the `input: [..]` declaration"));
    }
    body.parse::<Token![,]>()?;
    Ok(Some(InputDecl { dims, start: keyword.span(), end: bracket.span.join() }))
}

/// `layer -> layer -> ...` up to the end of `input` (or, if `until_comma`, up to a `,`);
/// `whole` spans it for "empty" errors.
fn parse_chain(input: ParseStream, whole: Span, until_comma: bool) -> syn::Result<Vec<LayerDecl>> {
    let mut layers = Vec::new();
    if input.is_empty() {
        return Err(syn::Error::new(
            whole,
            "expected at least one layer, e.g. `Linear(784, 10)`, found an empty network",
        ));
    }
    loop {
        if input.peek(Token![->]) {
            let arrow: Token![->] = input.parse()?;
            let message = if layers.is_empty() {
                "expected a layer before `->`, found `->` at the start of the chain"
            } else {
                "doubled `->`: expected a layer between the two arrows"
            };
            return Err(syn::Error::new(arrow.span(), message));
        }
        layers.push(parse_layer(input)?);
        if input.is_empty() || (until_comma && input.peek(Token![,])) {
            return Ok(layers);
        }
        if !input.peek(Token![->]) {
            return Err(input.error("expected `->` between two layers"));
        }
        let arrow: Token![->] = input.parse()?;
        if input.is_empty() {
            return Err(syn::Error::new(arrow.span(), "trailing `->`: expected a layer after it"));
        }
    }
}

/// `[field:] Kind [(args)]`.
fn parse_layer(input: ParseStream) -> syn::Result<LayerDecl> {
    if !input.peek(Ident) {
        return Err(input.error("expected a layer such as `Linear(256, 10)` or `ReLU`"));
    }
    let first: Ident = input.parse()?;
    let (field, kind) = if input.peek(Token![:]) && !input.peek(Token![::]) {
        input.parse::<Token![:]>()?;
        if !input.peek(Ident) {
            return Err(input.error(format!("expected a layer kind after `{first}:`, e.g. `{first}: Linear(256, 10)`")));
        }
        (Some(first), input.parse::<Ident>()?)
    } else {
        (None, first)
    };
    let args = if input.peek(syn::token::Paren) { Some(parse_args(input, &kind)?) } else { None };
    Ok(LayerDecl { field, kind, args })
}

/// `( positional, ..., key = value, ... )`, or a chain for `Residual`.
fn parse_args(input: ParseStream, kind: &Ident) -> syn::Result<Args> {
    let content;
    let paren = parenthesized!(content in input);
    let span = paren.span.join();
    if crate::kinds::KindSpec::find(&kind.to_string()).is_some_and(|spec| spec.chain) {
        let chain = parse_chain(&content, span, true)?;
        let shortcut = parse_shortcut(&content, span)?;
        return Ok(Args { positional: Vec::new(), keywords: Vec::new(), chain: Some(chain), shortcut, span });
    }
    let mut positional = Vec::new();
    let mut keywords: Vec<(Ident, Arg)> = Vec::new();
    while !content.is_empty() {
        if content.peek(Ident) && content.peek2(Token![=]) {
            let key: Ident = content.parse()?;
            content.parse::<Token![=]>()?;
            keywords.push((key, content.parse()?));
        } else {
            let arg: Arg = content.parse()?;
            if let Some((key, _)) = keywords.first() {
                return Err(syn::Error::new(
                    arg.span(),
                    format!("positional argument after the keyword argument `{key} = ..`: put positional ones first"),
                ));
            }
            positional.push(arg);
        }
        if content.is_empty() {
            break;
        }
        content.parse::<Token![,]>()?;
    }
    Ok(Args { positional, keywords, chain: None, shortcut: None, span })
}

/// `[, shortcut = <chain>] [,]` after a `Residual`'s chain.
fn parse_shortcut(input: ParseStream, whole: Span) -> syn::Result<Option<Vec<LayerDecl>>> {
    if input.is_empty() {
        return Ok(None);
    }
    input.parse::<Token![,]>()?;
    if input.is_empty() {
        return Ok(None);
    }
    if !(input.peek(Ident) && input.peek2(Token![=])) {
        return Err(input.error("expected `shortcut = <layer> -> ...` after the Residual's chain"));
    }
    let key: Ident = input.parse()?;
    if key != "shortcut" {
        return Err(syn::Error::new(
            key.span(),
            format!("unknown argument `{key}` for `Residual`: expected `shortcut = <layer> -> ...`"),
        ));
    }
    input.parse::<Token![=]>()?;
    if input.is_empty() || input.peek(Token![,]) {
        return Err(syn::Error::new(
            key.span(),
            "`shortcut =` needs a chain of layers, e.g. `shortcut = Conv2d(16, 32, 1)`",
        ));
    }
    let shortcut = parse_chain(input, whole, true)?;
    if input.peek(Token![,]) {
        input.parse::<Token![,]>()?;
    }
    if !input.is_empty() {
        return Err(input.error("expected nothing after the Residual's `shortcut = ..` chain"));
    }
    Ok(Some(shortcut))
}

impl Parse for Arg {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.peek(Token![_]) {
            let underscore: Token![_] = input.parse()?;
            return Ok(Arg::Infer(underscore.span()));
        }
        if input.peek(syn::token::Paren) {
            let content;
            let paren = parenthesized!(content in input);
            let items = Punctuated::<Arg, Token![,]>::parse_terminated(&content)?.into_iter().collect();
            return Ok(Arg::Tuple(items, paren.span.join()));
        }
        if input.peek(Token![-]) && (input.peek2(syn::LitFloat) || input.peek2(syn::LitInt)) {
            input.parse::<Token![-]>()?;
            let lit: Lit = input.parse()?;
            let span = lit.span();
            return Ok(match lit {
                Lit::Float(f) => f.base10_parse::<f64>().map(|v| Arg::Float(-v, span))?,
                Lit::Int(i) => i.base10_parse::<f64>().map(|v| Arg::Float(-v, span))?,
                _ => Arg::Other(span),
            });
        }
        if input.peek(Lit) {
            let lit: Lit = input.parse()?;
            let span = lit.span();
            return Ok(match lit {
                Lit::Int(i) => match i.base10_parse::<u64>() {
                    Ok(v) => Arg::Int(v, span),
                    Err(_) => Arg::Other(span),
                },
                Lit::Float(f) => f.base10_parse::<f64>().map(|v| Arg::Float(v, span))?,
                Lit::Bool(b) => Arg::Bool(b.value, span),
                _ => Arg::Other(span),
            });
        }
        let expr: syn::Expr = input.parse()?;
        Ok(Arg::Other(expr.span()))
    }
}
