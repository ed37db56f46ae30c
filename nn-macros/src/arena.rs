//! Inference in an arena, for the frozen and the int8 forms alike: the steps of one
//! inference, the values each reads and writes, and which values share a buffer (a
//! layer working in place, a reshape). Liveness follows from the steps; where each
//! buffer lives is left to `nn::arena::plan`, evaluated in a generated constant, so that
//! a buffer's size may be a constant expression (a nested network's arena).
//!
//! Values live in three homes: the caller's input (read only), the caller's output, and
//! the arena. A step changing a value in place that must survive it (the input, or a
//! `Residual`'s block input, which its add reads later) works on a copy.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote, ToTokens};

use crate::chain::array;
use crate::kinds::usize_lit;
use crate::shape::Shape;

/// What a layer is in the arena, as its kind states it. Its code reads its input as `x`
/// (a shared reference to the typed array) and writes its output through `y` (a mutable
/// one).
pub enum Step {
    /// `y` computed from `x`, into a buffer of its own.
    Into(TokenStream),
    /// `y` changed in place: it holds the input when the code runs.
    InPlace(TokenStream),
    /// The input itself, seen as the output's shape: no code (a reshape, the identity).
    View,
}

/// A value between steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Value(usize);

/// Where a storage lives.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Home {
    /// The caller's input, `input`.
    Input,
    /// The caller's output, `output`.
    Output,
    /// A buffer of the arena.
    Arena,
}

/// Memory that one or more values occupy, one after the other.
struct Storage {
    home: Home,
    /// Its length in elements, a constant expression.
    len: TokenStream,
    /// The steps it is live in.
    first: usize,
    last: usize,
    /// Whether a later step still reads its current value (a `Residual`'s block input).
    pinned: usize,
}

/// One operand of a step.
struct Operand {
    storage: usize,
    /// Its typed view, `None` for a raw region (`&mut [E]`, a nested network's arena).
    ty: Option<TokenStream>,
    len: TokenStream,
    mutable: bool,
    name: Ident,
}

/// An inference being sequenced.
pub struct Program {
    /// The arena's scalar: `F` or `i8`.
    element: TokenStream,
    storages: Vec<Storage>,
    /// Each value's storage and shape.
    values: Vec<(usize, Shape)>,
    steps: Vec<(Vec<Operand>, TokenStream)>,
}

/// A sequenced inference: the arena plan's constant expression and the steps.
pub struct Arena {
    /// `::nn::arena::plan([..])`, of type `::nn::arena::Plan<{buffers}>`.
    pub plan: TokenStream,
    pub buffers: usize,
    /// The statements, reading `input`, writing `output`, in `arena` (`&mut [E]`).
    pub body: TokenStream,
}

impl Program {
    /// An inference of scalars `element` whose input, of `shape`, is the caller's.
    pub fn new(element: TokenStream, shape: Shape) -> (Self, Value) {
        let mut program = Program { element, storages: Vec::new(), values: Vec::new(), steps: Vec::new() };
        let input = program.storage(Home::Input, usize_lit(shape.len()).into_token_stream());
        let x = program.value(input, shape);
        (program, x)
    }

    fn storage(&mut self, home: Home, len: TokenStream) -> usize {
        self.storages.push(Storage { home, len, first: usize::MAX, last: 0, pinned: 0 });
        self.storages.len() - 1
    }

    fn value(&mut self, storage: usize, shape: Shape) -> Value {
        self.values.push((storage, shape));
        Value(self.values.len() - 1)
    }

    /// The shape of `value`.
    pub fn shape(&self, value: Value) -> Shape {
        self.values[value.0].1
    }

    fn operand(&self, value: Value, mutable: bool, name: &str) -> Operand {
        let (storage, shape) = self.values[value.0];
        Operand {
            storage,
            ty: Some(array(shape, self.element.clone())),
            len: usize_lit(shape.len()).into_token_stream(),
            mutable,
            name: format_ident!("{}", name),
        }
    }

    fn push(&mut self, operands: Vec<Operand>, code: TokenStream) {
        let step = self.steps.len();
        for operand in &operands {
            let storage = &mut self.storages[operand.storage];
            storage.first = storage.first.min(step);
            storage.last = storage.last.max(step);
        }
        self.steps.push((operands, code));
    }

    /// A new value of `shape` in a buffer of its own.
    fn fresh(&mut self, shape: Shape) -> Value {
        let storage = self.storage(Home::Arena, usize_lit(shape.len()).into_token_stream());
        self.value(storage, shape)
    }

    /// The layer `step` on `x`, producing a value of `shape`.
    pub fn step(&mut self, x: Value, shape: Shape, step: Step) -> Value {
        match step {
            Step::Into(code) => {
                let y = self.fresh(shape);
                self.push(vec![self.operand(x, false, "x"), self.operand(y, true, "y")], code);
                y
            }
            Step::InPlace(code) => {
                let y = self.writable(x);
                self.push(vec![self.operand(y, true, "y")], code);
                y
            }
            Step::View => {
                let storage = self.values[x.0].0;
                self.value(storage, shape)
            }
        }
    }

    /// A value of `shape` computed from `x` by `code`, with a region of `len` elements
    /// of its own as `scratch` (`&mut [E]`) while it runs: a nested network's arena.
    pub fn step_with_region(&mut self, x: Value, shape: Shape, len: TokenStream, code: TokenStream) -> Value {
        let y = self.fresh(shape);
        let region = self.storage(Home::Arena, len.clone());
        let scratch = Operand { storage: region, ty: None, len, mutable: true, name: format_ident!("scratch") };
        self.push(vec![self.operand(x, false, "x"), self.operand(y, true, "y"), scratch], code);
        y
    }

    /// `y` changed in place by `code` that also reads `x`: a `Residual`'s add.
    pub fn add_into(&mut self, y: Value, x: Value, code: TokenStream) -> Value {
        let y = self.writable(y);
        self.push(vec![self.operand(x, false, "x"), self.operand(y, true, "y")], code);
        y
    }

    /// A step that only reads `x` (as `x`): the calibration's observation.
    pub fn read(&mut self, x: Value, code: TokenStream) {
        self.push(vec![self.operand(x, false, "x")], code);
    }

    /// `x`, or a copy of it when it must not change: the caller's input, or a value a
    /// later step reads.
    fn writable(&mut self, x: Value) -> Value {
        let storage = &self.storages[self.values[x.0].0];
        if storage.home == Home::Arena && storage.pinned == 0 {
            return x;
        }
        let y = self.fresh(self.shape(x));
        self.push(vec![self.operand(x, false, "x"), self.operand(y, true, "y")], quote!(*y = *x;));
        y
    }

    /// Keeps `value` from being changed in place until [`Self::unpin`].
    pub fn pin(&mut self, value: Value) {
        self.storages[self.values[value.0].0].pinned += 1;
    }

    /// Ends a [`Self::pin`].
    pub fn unpin(&mut self, value: Value) {
        self.storages[self.values[value.0].0].pinned -= 1;
    }

    /// The inference ending in `output`, which goes to the caller's output; its plan's
    /// offsets read `plan.offsets[..]`, `plan` a path to the constant of [`Arena::plan`].
    pub fn finish(mut self, output: Value, plan: &TokenStream) -> Arena {
        let output = if self.storages[self.values[output.0].0].home == Home::Input {
            let y = self.fresh(self.shape(output));
            self.push(vec![self.operand(output, false, "x"), self.operand(y, true, "y")], quote!(*y = *x;));
            y
        } else {
            output
        };
        let out = self.values[output.0].0;
        self.storages[out].home = Home::Output;
        let mut index = vec![None; self.storages.len()];
        let mut buffers = Vec::new();
        for (s, storage) in self.storages.iter().enumerate() {
            if storage.home == Home::Arena && storage.first <= storage.last {
                index[s] = Some(buffers.len());
                let (len, first, last) = (&storage.len, usize_lit(storage.first), usize_lit(storage.last));
                buffers.push(quote!(::nn::arena::Buffer { len: #len, first: #first, last: #last }));
            }
        }
        let element = &self.element;
        let mut body: TokenStream = self
            .steps
            .iter()
            .map(|(operands, code)| {
                let mut bind = TokenStream::new();
                let (mut names, mut spans) = (Vec::new(), Vec::new());
                let mut typed = TokenStream::new();
                for operand in operands {
                    let Operand { storage, ty, len, mutable, name } = operand;
                    match (self.storages[*storage].home, mutable) {
                        (Home::Input, _) => {
                            bind.extend(quote!(let #name: &#ty = ::nn::arena::cast(::nn::arena::scalars(input));))
                        }
                        (Home::Output, false) => {
                            typed.extend(quote!(let #name: &#ty = ::nn::arena::cast(::nn::arena::scalars(&*output));))
                        }
                        (Home::Output, true) => typed.extend(
                            quote!(let #name: &mut #ty = ::nn::arena::cast_mut(::nn::arena::scalars_mut(&mut *output));),
                        ),
                        (Home::Arena, _) => {
                            let k = usize_lit(index[*storage].expect("a buffer of a step is live in it"));
                            names.push(name.clone());
                            spans.push(quote!((#plan.offsets[#k], #len)));
                            typed.extend(match (ty, mutable) {
                                (None, _) => quote!(let #name: &mut [#element] = #name;),
                                (Some(ty), false) => quote!(let #name: &#ty = ::nn::arena::cast(#name);),
                                (Some(ty), true) => quote!(let #name: &mut #ty = ::nn::arena::cast_mut(#name);),
                            });
                        }
                    }
                }
                if !names.is_empty() {
                    bind.extend(quote!(let [#(#names),*] = ::nn::arena::regions(arena, [#(#spans),*]);));
                }
                quote!({ #bind #typed #code })
            })
            .collect();
        if buffers.is_empty() {
            // The only layer reads the caller's input and writes the caller's output.
            body.extend(quote!(let _ = arena;));
        }
        Arena { plan: quote!(::nn::arena::plan([#(#buffers),*])), buffers: buffers.len(), body }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::frozen_chain;

    /// The frozen program of `source`: its buffers' lengths and its statements, without
    /// whitespace.
    fn frozen(source: &str) -> (Vec<String>, String) {
        let net = crate::check::check(syn::parse_str(source).expect("parses")).expect("checks");
        let (mut program, x) = Program::new(quote!(F), net.input);
        let y = frozen_chain(&mut program, &net.layers, x, &mut |_, _, _| ());
        let arena = program.finish(y, &quote!(PLAN));
        let plan = arena.plan.to_string();
        let lens = plan.split("len :").skip(1).map(|rest| rest.split(',').next().unwrap().trim().to_string()).collect();
        (lens, arena.body.to_string().split_whitespace().collect())
    }

    #[test]
    fn a_relu_works_in_place_and_the_output_is_the_callers() {
        let (lens, body) = frozen("struct M { Linear(4, 8) -> ReLU -> Linear(8, 2) }");
        assert_eq!(lens, ["8"], "{body}");
        assert!(!body.contains("*y=*x"), "no copy: {body}");
        assert!(body.contains("scalars_mut(&mut*output)"), "{body}");
    }

    #[test]
    fn a_step_in_place_on_the_callers_input_works_on_a_copy() {
        let (lens, body) = frozen("struct R { input: [4], ReLU -> Linear(4, 2) }");
        assert_eq!(lens, ["4"], "{body}");
        assert!(body.starts_with("{letx:&[F;4]=::nn::arena::cast(::nn::arena::scalars(input));"), "{body}");
        assert!(body.contains("*y=*x;"), "{body}");
    }

    #[test]
    fn a_residual_keeps_its_block_input_until_the_add() {
        // The chain's ReLU would clobber the block input the add reads: it copies first.
        let (lens, body) = frozen("struct B { Linear(4, 4) -> Residual(ReLU) -> Linear(4, 2) }");
        assert_eq!(lens, ["4", "4"], "{body}");
        assert_eq!(body.matches("*y=*x;").count(), 1, "{body}");
        assert!(body.contains("add_in_place"), "{body}");
        // With a layer of its own, the chain writes a new buffer: no copy.
        let (lens, body) = frozen("struct C { Linear(4, 4) -> Residual(Linear(4, 4) -> ReLU) -> Linear(4, 2) }");
        assert_eq!(lens, ["4", "4"], "{body}");
        assert!(!body.contains("*y=*x"), "{body}");
    }

    #[test]
    fn flatten_and_a_folded_batch_norm_are_views() {
        let (lens, body) = frozen(
            "struct V { input: [1, 4, 4], Conv2d(1, 2, 3) -> BatchNorm2d(2) -> ReLU -> Flatten -> Linear(8, 2) }",
        );
        assert_eq!(lens, ["8"], "{body}");
        assert!(body.contains("letx:&[F;8]=::nn::arena::cast(x);"), "the Linear reads the flat view: {body}");
    }
}
