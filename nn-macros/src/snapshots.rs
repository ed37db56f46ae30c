//! Snapshots of the whole expansion of three networks, formatted by prettyplease, so
//! that a reviewer sees what users get and any change to the generated code fails here.
//! `UPDATE_EXPECT=1 cargo test -p nn-macros` rewrites them after an intended change.

use expect_test::{expect_file, ExpectFile};
use syn::{Item, Macro};

/// The expansion of `declaration` as formatted Rust. The items inside
/// `::nn::__std_only! { .. }` are unwrapped, so that they are formatted too.
fn expanded(declaration: &str) -> String {
    let tokens: proc_macro2::TokenStream = declaration.parse().expect("a declaration");
    let file: syn::File = syn::parse2(crate::expand(tokens)).expect("the expansion parses as items");
    let items = file.items.into_iter().flat_map(|item| match item {
        Item::Macro(syn::ItemMacro { mac: Macro { path, tokens, .. }, .. })
            if path.segments.last().is_some_and(|segment| segment.ident == "__std_only") =>
        {
            syn::parse2::<syn::File>(tokens).expect("std items parse").items
        }
        item => vec![item],
    });
    prettyplease::unparse(&syn::File { shebang: None, attrs: Vec::new(), items: items.collect() })
}

fn check(declaration: &str, snapshot: ExpectFile) {
    snapshot.assert_eq(&expanded(declaration));
}

#[test]
fn seed_mlp() {
    check("pub struct Mlp { Linear(784, 256) -> ReLU -> Linear(256, 10) }", expect_file!["../snapshots/mlp.rs"]);
}

#[test]
fn lenet() {
    check(
        "pub struct LeNet {
            input: [1, 28, 28],
            Conv2d(1, 6, 5, padding = 2) -> ReLU -> MaxPool2d(2)
                -> Conv2d(6, 16, 5) -> ReLU -> MaxPool2d(2)
                -> Flatten -> Linear(400, 120) -> ReLU -> Linear(120, 84) -> ReLU -> Linear(84, 10)
        }",
        expect_file!["../snapshots/lenet.rs"],
    );
}

#[test]
fn residual_and_nested_network() {
    check(
        "pub struct Block {
            input: [16],
            Linear(16, 16) -> Residual(Linear(16, 16) -> GELU) -> enc: Encoder -> Linear(8, 4)
        }",
        expect_file!["../snapshots/block.rs"],
    );
}
