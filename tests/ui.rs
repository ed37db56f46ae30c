//! Every malformed declaration is a spanned compile error; each case pins its message.

#[test]
fn malformed_declarations_do_not_compile() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
