//! Every malformed declaration is a spanned compile error; each case pins its message.

#[test]
fn malformed_declarations_do_not_compile() {
    // trybuild compiles each case in a scratch crate under target/: point `#[weights]`'s
    // relative paths (tests/ui/fixtures/...) at this crate instead.
    std::env::set_var("NN_TEST_MANIFEST_DIR", env!("CARGO_MANIFEST_DIR"));
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
