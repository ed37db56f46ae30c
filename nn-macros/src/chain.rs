//! Code generation for a chain of layers (the network's, or a `Residual`'s), in what
//! spans layers: which values the tape keeps, how each value is held (borrowed from
//! the caller's batch, owned, or in a preallocated workspace buffer), the gradient's
//! buffer and borrowing, the prefixes of nested chains, and the early return at the
//! first layer. Each layer's own statements come from its kind.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use crate::arena::{Program, Step, Value};
use crate::check::CheckedLayer;
use crate::kinds::usize_lit;
use crate::shape::Shape;

/// How a value between layers is held.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// `CowArray<'a, F, D>`: the batch itself, or a reshaped view of it.
    Cow,
    /// `Array<F, D>`: computed by a layer.
    Owned,
}

/// Which forward pass is being generated.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `try_forward`: dropout off, running statistics, nothing taped.
    Inference,
    /// `forward_train`: batch statistics, and every value backward needs is kept.
    Training,
}

/// What a layer's training forward keeps for its backward.
pub struct Tape {
    /// Its input value.
    pub input: bool,
    /// Its output value.
    pub output: bool,
    /// Entries of its own (a dropout mask, pooling indices, a nested tape): name and type.
    pub caches: Vec<(Ident, TokenStream)>,
}

/// A layer's backward step.
pub struct Backward {
    /// Statements that always run (parameter gradients, running statistics).
    pub update: TokenStream,
    /// How d loss / d input is obtained from `g`, d loss / d output.
    pub input_grad: InputGrad,
}

/// How a layer turns `g` into d loss / d input.
pub enum InputGrad {
    /// A new array computed from `g` alone: skipped at the first layer when the input
    /// gradient is not asked for.
    Pure(TokenStream),
    /// A new array whose computation also accumulates parameter gradients: it always runs.
    Effect(TokenStream),
    /// A new array built by consuming an owned `g`.
    Consumes(TokenStream),
    /// `g` changed in place by these statements (`g` is then owned and mutable).
    InPlace(TokenStream),
    /// `g` itself.
    Same,
    /// A call returning `Option<gradient>`, given whether the gradient is wanted (a
    /// nested network's `backward_from`).
    Asked(Box<dyn Fn(TokenStream) -> TokenStream>),
}

/// One layer of a chain being generated: what its kind's methods see.
pub struct Site<'c> {
    pub chain: &'c ChainGen<'c>,
    pub i: usize,
    pub layer: &'c CheckedLayer,
}

impl Site<'_> {
    /// The layer's input value.
    pub fn x(&self) -> Ident {
        self.chain.value(self.i)
    }

    /// The layer's output value.
    pub fn y(&self) -> Ident {
        self.chain.value(self.i + 1)
    }

    /// The layer's field in the training struct.
    pub fn field(&self) -> &Ident {
        &self.layer.field
    }

    /// A tape entry of this layer other than a value: `mask3`, `pool1`, ...
    pub fn cache(&self, what: &str) -> Ident {
        format_ident!("{}{}{}", self.chain.prefix, what, self.i)
    }

    /// Whether this is the training forward.
    pub fn training(&self) -> bool {
        self.chain.mode == Mode::Training
    }

    /// Whether the input may be consumed (the tape does not keep it).
    pub fn consumable(&self) -> bool {
        !self.chain.keep[self.i]
    }

    /// Whether the input is borrowed from the caller's batch.
    pub fn borrowed(&self) -> bool {
        self.chain.storage[self.i] == Storage::Cow
    }

    /// The input as an owned array, consuming it when the tape does not keep it.
    pub fn owned(&self) -> TokenStream {
        let x = self.x();
        match (self.consumable(), self.borrowed()) {
            (true, false) => quote!(#x),
            (true, true) => quote!(#x.into_owned()),
            (false, _) => quote!(#x.to_owned()),
        }
    }

    /// The input as a `CowArray`, moved when it may be.
    pub fn cow(&self) -> TokenStream {
        let x = self.x();
        match (self.consumable(), self.borrowed()) {
            (true, true) => quote!(#x),
            (true, false) => quote!(::nn::ndarray::CowArray::from(#x)),
            (false, _) => quote!(::nn::ndarray::CowArray::from(#x.to_owned())),
        }
    }

    /// The generator of an inner chain of this layer.
    pub fn nested<'a>(&self, inner: &'a [CheckedLayer]) -> ChainGen<'a> {
        ChainGen::new(inner, format!("{}r{}_", self.chain.prefix, self.i), Storage::Owned, self.chain.mode)
    }

    /// The generator of a second inner chain of this layer (a `Residual`'s shortcut):
    /// `tag` keeps its names apart from [`Self::nested`]'s.
    pub fn nested_tagged<'a>(&self, inner: &'a [CheckedLayer], tag: &str) -> ChainGen<'a> {
        ChainGen::new(inner, format!("{}r{}{tag}_", self.chain.prefix, self.i), Storage::Owned, self.chain.mode)
    }
}

/// `, (height, width)` of an image input, for the kernels' backward that need it.
pub fn image_hw(shape: Shape) -> TokenStream {
    match shape {
        Shape::Image { height, width, .. } => {
            let (h, w) = (usize_lit(height), usize_lit(width));
            quote!(, (#h, #w))
        }
        Shape::Flat(_) => quote!(),
    }
}

/// The ndarray dimension type of a batch of `shape`.
pub fn batch_dim(shape: Shape) -> TokenStream {
    match shape {
        Shape::Flat(_) => quote!(::nn::ndarray::Ix2),
        Shape::Image { .. } => quote!(::nn::ndarray::Ix4),
    }
}

/// `(batch, d1, d2, ..)`: the shape of a workspace buffer for `shape`.
pub fn batch_shape(shape: Shape) -> TokenStream {
    let dims = shape.dims().into_iter().map(usize_lit);
    quote!((batch, #(#dims),*))
}

/// Code generation for one chain of layers.
pub struct ChainGen<'l> {
    layers: &'l [CheckedLayer],
    /// Prepended to every local and tape field, so nested chains do not clash.
    prefix: String,
    mode: Mode,
    /// `keep[i]`: value `i` (the input of layer `i`; `n` is the output) goes in the tape.
    keep: Vec<bool>,
    /// How each value is held: a reshape of a borrowed batch stays borrowed.
    storage: Vec<Storage>,
    /// Each layer's tape entries of its own.
    caches: Vec<Vec<(Ident, TokenStream)>>,
}

impl<'l> ChainGen<'l> {
    /// The generator of `layers`, whose input is held as `input`.
    pub fn new(layers: &'l [CheckedLayer], prefix: String, input: Storage, mode: Mode) -> Self {
        let n = layers.len();
        let mut storage = vec![input];
        for layer in layers {
            let previous = *storage.last().unwrap_or(&input);
            storage.push(if layer.kind.keeps_borrow() { previous } else { Storage::Owned });
        }
        let mut chain = ChainGen { layers, prefix, mode, keep: vec![false; n + 1], storage, caches: Vec::new() };
        if mode == Mode::Training {
            let tapes: Vec<Tape> = (0..n).map(|i| layers[i].kind.tape(&chain.site(i))).collect();
            chain.keep = (0..=n).map(|i| (i < n && tapes[i].input) || (i > 0 && tapes[i - 1].output)).collect();
            chain.caches = tapes.into_iter().map(|tape| tape.caches).collect();
        }
        chain
    }

    fn site(&self, i: usize) -> Site<'_> {
        Site { chain: self, i, layer: &self.layers[i] }
    }

    /// Value `i`: the input of layer `i` (`n` is the chain's output).
    pub fn value(&self, i: usize) -> Ident {
        format_ident!("{}x{}", self.prefix, i)
    }

    /// The chain's output value.
    pub fn output(&self) -> Ident {
        self.value(self.layers.len())
    }

    /// Whether the tape keeps the chain's output (which then must be copied out of it).
    pub fn keeps_output(&self) -> bool {
        self.keep[self.layers.len()]
    }

    fn shape(&self, i: usize) -> Shape {
        if i == 0 {
            self.layers[0].input
        } else {
            self.layers[i - 1].output
        }
    }

    /// The tape's entries for this chain, nested chains included: name and type.
    pub fn tape_entries(&self) -> Vec<(Ident, TokenStream)> {
        let mut entries: Vec<(Ident, TokenStream)> = (0..self.keep.len())
            .filter(|&i| self.keep[i])
            .map(|i| {
                let dim = batch_dim(self.shape(i));
                let ty = match self.storage[i] {
                    Storage::Cow => quote!(::nn::ndarray::CowArray<'a, F, #dim>),
                    Storage::Owned => quote!(::nn::ndarray::Array<F, #dim>),
                };
                (self.value(i), ty)
            })
            .collect();
        entries.extend(self.caches.iter().flatten().cloned());
        entries
    }

    /// The forward pass, one statement per layer, ending with the chain's output in
    /// [`Self::output`].
    pub fn forward(&self) -> TokenStream {
        (0..self.layers.len()).map(|i| self.layers[i].kind.forward(&self.site(i))).collect()
    }

    /// The backward pass in reverse layer order. `g` holds d loss / d output on entry,
    /// borrowed (a view, or an array the caller still needs). The block evaluates to the chain's input gradient: an `Option` gated
    /// by `input_grad` at the top level, an owned array for an inner chain.
    pub fn backward(&self, top_level: bool) -> TokenStream {
        let steps: Vec<Backward> =
            (0..self.layers.len()).map(|i| self.layers[i].kind.backward(&self.site(i))).collect();
        // Whether the gradient of value `i` is next changed in place, so must be bound `mut`.
        let changed_in_place = |i: usize| {
            steps[..i]
                .iter()
                .enumerate()
                .rev()
                .find(|(_, step)| !matches!(step.input_grad, InputGrad::Same))
                .is_some_and(|(_, step)| matches!(step.input_grad, InputGrad::InPlace(_)))
        };
        let mut body = TokenStream::new();
        let mut view = true;
        for (i, step) in steps.iter().enumerate().rev() {
            // The first layer's input gradient ends the block: returned (gated by
            // `input_grad`) at the top level, the block's value in an inner chain.
            let (first, nested_first) = (top_level && i == 0, !top_level && i == 0);
            let bind = if changed_in_place(i) { quote!(let mut g) } else { quote!(let g) };
            let to_owned = if view { quote!(let g = g.to_owned();) } else { quote!() };
            body.extend(step.update.clone());
            match &step.input_grad {
                InputGrad::Pure(expr) if first => return quote!(#body return input_grad.then(|| #expr);),
                InputGrad::Consumes(expr) if first => {
                    return quote!(#body return input_grad.then(|| { #to_owned #expr });)
                }
                InputGrad::Asked(call) if first => {
                    let call = call(quote!(input_grad));
                    return quote!(#body return #call;);
                }
                InputGrad::Pure(expr) | InputGrad::Effect(expr) if nested_first => return quote!(#body #expr),
                InputGrad::Consumes(expr) if nested_first => return quote!(#body #to_owned #expr),
                InputGrad::Asked(call) if nested_first => {
                    let call = call(quote!(true));
                    return quote!(#body #call.expect("input gradient requested"));
                }
                InputGrad::Pure(expr) | InputGrad::Effect(expr) => body.extend(quote!(#bind = #expr;)),
                InputGrad::Consumes(expr) => body.extend(quote!(#to_owned #bind = #expr;)),
                InputGrad::InPlace(statements) => {
                    if view {
                        body.extend(quote!(let mut g = g.to_owned();));
                    }
                    body.extend(statements.clone());
                }
                InputGrad::Same => continue,
                InputGrad::Asked(call) => {
                    let call = call(quote!(true));
                    body.extend(quote!(#bind = #call.expect("input gradient requested");));
                }
            }
            view = false;
        }
        let g = if view { quote!(g.to_owned()) } else { quote!(g) };
        body.extend(if top_level { quote!(input_grad.then(|| #g)) } else { g });
        body
    }

    /// The chain with every value and gradient in preallocated buffers (the top-level
    /// chain of a network whose every layer has such a form), or `None`.
    pub fn workspace(&self) -> Option<Workspace> {
        let n = self.layers.len();
        if !matches!(self.shape(n), Shape::Flat(_)) {
            return None;
        }
        // The gradient of value i lives in buffer `g{gradient[i]}`: a layer working in
        // place on its output's gradient shares that buffer.
        let mut gradient = vec![n; n + 1];
        let mut steps = Vec::with_capacity(n);
        for i in (0..n).rev() {
            let layer = &self.layers[i];
            let src = if i == 0 {
                quote!(x)
            } else {
                let x = self.value(i);
                quote!(ws.#x)
            };
            let site = WsSite {
                layer,
                src,
                dst: self.value(i + 1),
                g_out: format_ident!("g{}", gradient[i + 1]),
                g_in: format_ident!("g{}", i),
                mask: self.site(i).cache("mask"),
            };
            let step = layer.kind.workspace(&site)?;
            gradient[i] = if step.in_place { gradient[i + 1] } else { i };
            steps.push(step);
        }
        steps.reverse();
        let mut ws = Workspace {
            fields: Vec::new(),
            news: Vec::new(),
            forward: TokenStream::new(),
            inference: TokenStream::new(),
            backward: TokenStream::new(),
        };
        for (i, (layer, step)) in (1..).zip(self.layers.iter().zip(&steps)) {
            let (x, dim, shape) = (self.value(i), batch_dim(layer.output), batch_shape(layer.output));
            ws.fields.push(quote!(#x: ::nn::ndarray::Array<F, #dim>));
            ws.news.push(quote!(#x: ::nn::ndarray::Array::zeros(#shape)));
            if gradient[i] == i {
                let g = format_ident!("g{}", i);
                ws.fields.push(quote!(#g: ::nn::ndarray::Array<F, #dim>));
                ws.news.push(quote!(#g: ::nn::ndarray::Array::zeros(#shape)));
            }
            for (field, new) in &step.buffers {
                ws.fields.push(field.clone());
                ws.news.push(new.clone());
            }
            ws.forward.extend(step.forward.clone());
            ws.inference.extend(step.inference.clone());
        }
        for (i, step) in steps.iter().enumerate().rev() {
            ws.backward.extend(step.update.clone());
            if i > 0 {
                ws.backward.extend(step.input_grad.clone());
            }
        }
        Some(ws)
    }
}

/// A layer of a chain held in workspace buffers: what its kind's
/// [`crate::kinds::LayerKind::workspace`] sees.
pub struct WsSite<'c> {
    pub layer: &'c CheckedLayer,
    /// The input: the caller's batch `x`, or a buffer `ws.x{i}`.
    pub src: TokenStream,
    /// The output buffer, a field of `ws`.
    pub dst: Ident,
    /// The buffer holding d loss / d output, a field of `ws`.
    pub g_out: Ident,
    /// The buffer d loss / d input goes in when not computed in place, a field of `ws`.
    pub g_in: Ident,
    /// The name of a per-layer buffer such as a dropout mask.
    pub mask: Ident,
}

/// A layer's part of a workspace chain.
pub struct WsStep {
    /// The training forward: `ws.dst` from `src`.
    pub forward: TokenStream,
    /// The inference forward.
    pub inference: TokenStream,
    /// Buffers of its own: field declaration and initialiser.
    pub buffers: Vec<(TokenStream, TokenStream)>,
    /// Whether its input gradient is computed in place in `g_out`.
    pub in_place: bool,
    /// Backward statements that always run (parameter gradients, written not added).
    pub update: TokenStream,
    /// The input gradient (skipped at the first layer).
    pub input_grad: TokenStream,
}

/// A chain held in workspace buffers.
pub struct Workspace {
    /// The workspace struct's fields and their initialisers.
    pub fields: Vec<TokenStream>,
    pub news: Vec<TokenStream>,
    pub forward: TokenStream,
    pub inference: TokenStream,
    pub backward: TokenStream,
}

/// What a layer is in the frozen `infer_with`, as its kind states it.
pub enum Frozen<'a> {
    /// One step in the arena.
    Step(Step),
    /// A nested network: `code` writes `y` from `x`, with `scratch`, a region of `len`
    /// elements, for its own arena.
    Nested { len: TokenStream, code: TokenStream },
    /// A `Residual`: `chain`, and `shortcut` if it has one, run on the block input; then
    /// `add` adds `x` (the shortcut's output, or the block input) into `y`, the chain's.
    Residual { chain: &'a [CheckedLayer], shortcut: Option<&'a [CheckedLayer]>, add: TokenStream },
}

/// The frozen inference of `layers` on `x` in `program`, calling `after` with each layer
/// and its output value once its step is sequenced (inner chains' layers included).
pub fn frozen_chain(
    program: &mut Program,
    layers: &[CheckedLayer],
    x: Value,
    after: &mut dyn FnMut(&mut Program, &CheckedLayer, Value),
) -> Value {
    let mut x = x;
    for layer in layers {
        x = match layer.kind.frozen(layer) {
            Frozen::Step(step) => program.step(x, layer.output, step),
            Frozen::Nested { len, code } => program.step_with_region(x, layer.output, len, code),
            Frozen::Residual { chain, shortcut, add } => {
                // The block input lives on until the add: nothing may change it in place.
                program.pin(x);
                let y = frozen_chain(program, chain, x, after);
                let other = match shortcut {
                    Some(shortcut) => frozen_chain(program, shortcut, x, after),
                    None => x,
                };
                let y = program.add_into(y, other, add);
                program.unpin(x);
                y
            }
        };
        after(program, layer, x);
    }
    x
}

/// The frozen (fixed-size array) type of one sample of `shape`.
pub fn frozen_array(shape: Shape) -> TokenStream {
    array(shape, quote!(F))
}

/// `[E; N]` or `[[[E; W]; H]; C]` for one sample of `shape`: the array type when
/// `element` is a type, the repeat expression when it is a value (`0i8`).
pub fn array(shape: Shape, element: TokenStream) -> TokenStream {
    match shape {
        Shape::Flat(n) => {
            let n = usize_lit(n);
            quote!([#element; #n])
        }
        Shape::Image { channels, height, width } => {
            let (c, h, w) = (usize_lit(channels), usize_lit(height), usize_lit(width));
            quote!([[[#element; #w]; #h]; #c])
        }
    }
}

/// Every layer in execution order, inner chains flattened, for the parameter walk.
pub fn all_layers(layers: &[CheckedLayer]) -> Vec<&CheckedLayer> {
    let mut all = Vec::new();
    for layer in layers {
        all.push(layer);
        all.extend(all_layers(layer.kind.inner()));
    }
    all
}
