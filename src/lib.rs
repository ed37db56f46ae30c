//! # nn — neural networks declared in Rust source, checked and unrolled at compile time
//!
//! ```
//! use nn::prelude::*;
//!
//! network! {
//!     /// The classic MNIST classifier.
//!     pub struct Mlp {
//!         Linear(784, 256) -> ReLU -> Linear(256, 10)
//!     }
//! }
//! # fn main() {
//! # assert_eq!(Mlp::<f32>::NUM_PARAMS, 784 * 256 + 256 + 256 * 10 + 10);
//! # }
//! ```
//!
//! `network!` checks every shape while it expands and generates a struct with
//! statically sized layers, straight-line forward and backward code (one statement
//! per layer, every dimension a constant), and a frozen `no_std` copy for inference.
//! This crate is the facade: it re-exports the macro, the runtime and the crates whose
//! versions a user must match ([`ndarray`], [`rand`], [`typenum`]).
//!
//! ## Training, as in PyTorch
//!
//! ```
//! use nn::ndarray::array;
//! use nn::prelude::*;
//! use nn::rand::{rngs::StdRng, SeedableRng};
//!
//! network! {
//!     pub struct Net { Linear(2, 8) -> Tanh -> Linear(8, 2) }
//! }
//!
//! # fn main() {
//! let x = array![[0.0f32, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
//! let labels = array![0usize, 1, 1, 0];
//!
//! let mut model = Net::<f32>::init(&mut StdRng::seed_from_u64(0)); // PyTorch's default init
//! let mut opt = Adam::new(0.05);
//! let criterion = CrossEntropyLoss::new();
//! let mut losses = Vec::new();
//! for _ in 0..100 {
//!     model.zero_grad();
//!     let (logits, tape) = model.forward_train(x.view());
//!     let (loss, grad) = criterion.loss_and_grad(logits.view(), labels.view());
//!     model.backward(tape, grad.view());
//!     opt.step(&mut model);
//!     losses.push(loss);
//! }
//! assert!(losses[99] < 0.5 * losses[0]);
//! # }
//! ```
//!
//! The losses ([`loss`]) and optimisers ([`optim`]) compute PyTorch's formulas; the
//! `train` feature adds `nn::train::Trainer`, which runs epochs of shuffled batches
//! with a progress bar, checkpoints and a plot of the curves.
//!
//! # The DSL
//!
//! ```text
//! network! {
//!     <attributes and /// docs>          passed through to the generated struct
//!     <vis> struct <Name> {
//!         [input: [C, H, W],]            or `input: [N],`; needed unless the first layer is `Linear(n, ..)`
//!         <layer> -> <layer> -> ...      at least one layer
//!     }
//! }
//! layer := [field_name ':'] Kind [ '(' positional args, then key = value ... ')' ]
//! ```
//!
//! Arguments take PyTorch's names, positions and defaults: `Conv2d(1, 6, 5, padding = 2)`
//! is `nn.Conv2d(1, 6, 5, padding=2)`. A size argument marked "may be `_`" below is
//! inferred from the previous layer's output. The struct takes no generic parameters:
//! `network!` adds `<F: nn::Float = f32>` itself (`f32` or `f64`).
//!
//! ## Layer kinds
//!
//! Shapes are per sample (the batch axis is not written): `[n]` is a feature vector,
//! `[C, H, W]` an image.
//!
//! | kind and arguments | input → output | state-dict tensors |
//! |---|---|---|
//! | `Linear(in_features, out_features, bias = true)`; `in_features` may be `_` | `[in] → [out]` | `weight` `[out, in]`, `bias` `[out]` |
//! | `ReLU`, `Sigmoid`, `Tanh`, `GELU` (exact erf form, PyTorch's default) | any, kept | — |
//! | `LeakyReLU(negative_slope = 0.01)` | any, kept | — |
//! | `Softmax` (last layer only: for inference outputs; train on logits with `CrossEntropyLoss`) | `[n] → [n]` | — |
//! | `Dropout(p = 0.5)`, `p` in `[0, 1)`: active in `forward_train`, the identity in `forward` and `infer` | any, kept | — |
//! | `Conv2d(in_channels, out_channels, kernel_size, stride = 1, padding = 0, groups = 1, bias = true)`; `kernel_size`, `stride` and `padding` are `k` or `(kh, kw)`; `groups` divides both channel counts (`groups = in_channels` is depthwise); `in_channels` may be `_` | `[C, H, W] → [out, H', W']` | `weight` `[out, in / groups, kh, kw]`, `bias` `[out]` |
//! | `MaxPool2d(kernel_size, stride = kernel_size)`, `AvgPool2d(..)` alike; no padding | `[C, H, W] → [C, H', W']` | — |
//! | `AdaptiveAvgPool2d(output_size)`, `n` or `(oh, ow)`, PyTorch's windows; `1` is global average pooling | `[C, H, W] → [C, oh, ow]` | — |
//! | `BatchNorm1d(num_features, eps = 1e-5, momentum = 0.1)`; `num_features` may be `_`; `eps > 0`, `momentum` in `[0, 1]` | `[n] → [n]` | `weight`, `bias`, `running_mean`, `running_var` `[n]`, `num_batches_tracked` `[]` |
//! | `BatchNorm2d(num_features, eps = 1e-5, momentum = 0.1)`, normalising per channel | `[C, H, W]`, kept | as `BatchNorm1d`, `[C]` |
//! | `Flatten` | `[C, H, W] → [C·H·W]` | — |
//! | `Residual(<layer> -> <layer> ...)`: `y = x + chain(x)`; the chain must keep the shape | any, kept | its chain's, keyed `K.0`, `K.1`, ... |
//! | `Residual(<chain>, shortcut = <chain>)`: `y = chain(x) + shortcut(x)`; both sides produce the same shape | any → the chain's | the chain's `K.0`, ..., the shortcut's `K.shortcut.0`, ... |
//! | `OtherNetwork` (any other identifier): a network declared elsewhere, no arguments | its own | its own, keyed `K.<its key>` |
//!
//! `H' = (H + 2·padding − kernel_size) / stride + 1`, rounded down, as in PyTorch (per
//! axis for `(kh, kw)` pairs). A
//! network used as a layer (`OtherNetwork`) must be followed by a layer that states its
//! input size (`Linear(32, 10)`, `BatchNorm1d(32)`); both sizes around it are checked
//! by the type system ([`Network`]), with a message that names both networks. As the
//! first layer it also gives the input shape, so `Encoder -> Linear(64, 10)` needs no
//! `input:` line: `network!` emits beside each struct a hidden macro of the same name that
//! declares a network again with that struct's input put in, and importing the struct
//! (from this crate) imports it. To run two whole networks one after the other, use
//! [`Chain`].
//!
//! ## Names and state-dict keys
//!
//! Weight files are safetensors with PyTorch's `state_dict` keys, so a model saved from
//! `nn.Sequential` of the same layers loads as it is, and back. An unnamed layer is keyed
//! by its index in the chain (`0.weight`, `2.bias`) and is the field `layer0`, `layer2`,
//! ...; `fc1: Linear(784, 256)` names both the field and the key (`fc1.weight`). Inside a
//! `Residual` at key `K`, the chain's layers are keyed `K.0`, `K.1`, ... (fields
//! `layer2_0`, `layer2_1`, ... for a Residual that is `layer2`).
//!
//! ```
//! use nn::prelude::*;
//! use nn::rand::{rngs::StdRng, SeedableRng};
//!
//! network! {
//!     pub struct Encoder { Linear(6, 4) -> Tanh }
//! }
//!
//! network! {
//!     /// Named layers, a residual block and a network used as a layer.
//!     pub struct Classifier {
//!         fc1: Linear(8, 6) -> ReLU
//!             -> Residual(Linear(6, 6) -> ReLU)
//!             -> enc: Encoder
//!             -> Linear(4, 3)
//!     }
//! }
//!
//! # fn main() {
//! let model = Classifier::<f32>::init(&mut StdRng::seed_from_u64(0));
//! assert_eq!(model.fc1.weight.dim(), (6, 8)); // PyTorch's [out, in]
//! let mut keys = Vec::new();
//! model.visit(&mut |key, _| keys.push(key.to_string()));
//! assert_eq!(
//!     keys,
//!     ["fc1.weight", "fc1.bias", "2.0.weight", "2.0.bias", "enc.0.weight", "enc.0.bias", "4.weight", "4.bias"]
//! );
//! assert_eq!(Classifier::<f32>::NUM_PARAMS, (8 * 6 + 6) + (6 * 6 + 6) + Encoder::<f32>::NUM_PARAMS + (4 * 3 + 3));
//! # }
//! ```
//!
//! ## Errors
//!
//! A malformed declaration is a compile error spanned at the offending token, saying what
//! was expected and what was found:
//!
//! ```compile_fail
//! nn::network! {
//!     pub struct Net { Linear(784, 256) -> ReLU -> Linear(128, 10) }
//!     // error: Linear(128, 10) expects 128 input features, but the previous layer produces 256
//! }
//! # fn main() {}
//! ```
//!
//! # What `network!` generates
//!
//! For `pub struct Mlp { .. }`, with `D` the batch dimension of the input (`Ix2` for
//! `[batch, INPUT]`, `Ix4` for an image network's `[batch, C, H, W]`) and `E` that of the
//! output:
//!
//! ```text
//! pub struct Mlp<F: nn::Float = f32> { pub fc1: nn::layers::Linear<F>, .. }   one field per layer with parameters
//! pub struct MlpTape<'a, F = f32> { .. }           what backward needs; may borrow the batch
//! pub struct MlpWorkspace<F = f32> { .. }          train_step's buffers, for a network of Linear, activations,
//!                                                  Softmax, Dropout and Flatten; other networks get
//!                                                  `pub type MlpWorkspace<F = f32> = nn::TapedWorkspace<F>`
//! #[repr(C)] pub struct MlpFrozen<F = f32> { .. }  fixed-size arrays, no heap, no_std
//!
//! impl<F: nn::Float> Mlp<F> {
//!     pub const INPUT: usize;                      features per sample (C·H·W for an image network)
//!     pub const OUTPUT: usize;
//!     pub const INPUT_SHAPE: [usize; 1 or 3];      as declared: [784] or [1, 28, 28]
//!     pub const OUTPUT_SHAPE: [usize; 1 or 3];
//!     pub const NUM_PARAMS: usize;                 trainable scalars
//!     pub const MACS: usize;                       multiply-accumulates of one inference (Linear, Conv2d)
//!     pub const FROZEN_BYTES: usize;               size of MlpFrozen<F>: its weights in flash
//!     pub const SCRATCH_BYTES: usize;              activation bytes of one inference (its arena)
//!
//!     // with the `std` feature:
//!     pub fn init<R: rand::Rng + ?Sized>(rng: &mut R) -> Self;
//!     pub fn forward(&self, x: ArrayView<F, D>) -> Array<F, E>;
//!     pub fn try_forward(&self, x: ArrayView<F, D>) -> Result<Array<F, E>, nn::Error>;
//!     pub fn forward_train<'a>(&self, x: ArrayView<'a, F, D>) -> (Array<F, E>, MlpTape<'a, F>);
//!     pub fn forward_train_cow<'a>(&self, x: CowArray<'a, F, D>) -> (Array<F, E>, MlpTape<'a, F>);
//!     pub fn backward(&mut self, tape: MlpTape<'_, F>, grad_out: ArrayView<F, E>);
//!     pub fn backward_with_input_grad(&mut self, tape: MlpTape<'_, F>, grad_out: ArrayView<F, E>) -> Array<F, D>;
//!     pub fn zero_grad(&mut self);
//!     pub fn train_step<L: nn::loss::Loss<F>>(&mut self, ws: &mut MlpWorkspace<F>,
//!                                             x: ArrayView<F, D>, target: L::Target<'_>, loss: &L) -> F;
//!     pub fn forward_with<'w>(&self, ws: &'w mut MlpWorkspace<F>, x: ArrayView<F, D>) -> ArrayView2<'w, F>;
//!     pub fn save(&self, path: impl AsRef<Path>) -> Result<(), nn::Error>;
//!     pub fn load(path: impl AsRef<Path>) -> Result<Self, nn::Error>;
//!     pub fn freeze(&self) -> Box<MlpFrozen<F>>;
//! }
//! impl MlpFrozen<f32> {
//!     pub const ARENA: nn::arena::Plan<K>;          each activation buffer's offset in the arena
//! }
//! impl<F: nn::Float> MlpFrozen<F> {
//!     pub fn infer(&self, x: &[F; INPUT]) -> [F; OUTPUT];    image networks: &[[[F; W]; H]; C]
//!     pub fn infer_with<const N: usize>(&self, x: &[F; INPUT], scratch: &mut nn::Scratch<N>) -> [F; OUTPUT];
//!                                                  the arena in the caller's scratch; N ≥ SCRATCH_BYTES
//! }
//! impl Mlp<f32> {
//!     pub const FROZEN: &'static MlpFrozen<f32>;   only with #[weights = ".."]
//! }
//! impl<F: nn::Float> nn::Params<F> for Mlp<F>      (std) named visit over values and gradients
//! impl<F: nn::Float> nn::Model<F> for Mlp<F>       (std) what the trainer and nn::Chain call
//! impl<F: nn::Float> nn::Network for Mlp<F>        and for MlpFrozen<F>: sizes as typenum numbers
//! ```
//!
//! - **`init`** draws every parameter as PyTorch's default init does (Kaiming-uniform
//!   weights, biases uniform in `±1/√fan_in`; BatchNorm γ = 1, β = 0).
//! - **`forward`** is inference: dropout off, BatchNorm on its running statistics. It
//!   panics on a batch whose feature dimensions differ from the declaration;
//!   **`try_forward`** returns that as [`Error::Shape`], naming both shapes.
//! - **`forward_train`** returns the output and the tape `backward` consumes; the tape
//!   borrows the batch instead of copying it (`forward_train_cow` takes an owned batch
//!   into the tape). Dropout is active; BatchNorm normalises with the batch's statistics
//!   and folds them into its running ones when `backward` consumes the tape.
//! - **`backward`** adds every parameter's gradient of `grad_out` (d loss / d output) to
//!   what is there, so call **`zero_grad`** first, as in PyTorch. Like PyTorch for an input
//!   that needs no gradient, it skips d loss / d input; **`backward_with_input_grad`**
//!   also returns it (for a network used as a layer of another model).
//! - **`train_step`** is one whole step (forward, loss, backward) into reusable buffers:
//!   the gradients are written, not added (no `zero_grad` needed), and for a dense network
//!   (Linear, activations, Softmax, Dropout, Flatten) nothing is allocated after the
//!   first step at a batch size. It returns the loss; `ws.output()` holds the output.
//!   Follow it with the optimiser's `step`. **`forward_with`** is `forward` into the same
//!   buffers; it returns the output as `[batch, OUTPUT]` (an image output flattened).
//! - **`save`** writes safetensors with PyTorch's keys (atomically: a temporary file,
//!   then a rename); **`load`** is strict: a missing, unexpected, mis-shaped or non-float
//!   tensor is an [`Error`] that names it.
//! - **`freeze`** copies the weights into `MlpFrozen` (a BatchNorm right after a Linear or
//!   Conv2d folded into its weight and bias, any other as a per-channel scale and shift), whose **`infer`** runs one sample on fixed-size arrays with the `no_std`
//!   kernels of [`frozen`]: no heap, the same code on a host and on a microcontroller.
//!
//! ```
//! use nn::ndarray::Array4;
//! use nn::prelude::*;
//! use nn::rand::{rngs::StdRng, SeedableRng};
//!
//! network! {
//!     pub struct Tiny {
//!         input: [1, 8, 8],
//!         Conv2d(1, 4, 3, padding = 1) -> ReLU -> MaxPool2d(2) -> Flatten -> Linear(_, 3)
//!     }
//! }
//!
//! # fn main() {
//! assert_eq!(Tiny::<f32>::INPUT_SHAPE, [1, 8, 8]);
//! assert_eq!((Tiny::<f32>::INPUT, Tiny::<f32>::OUTPUT), (64, 3));
//! assert_eq!(Tiny::<f32>::NUM_PARAMS, (4 * 9 + 4) + (64 * 3 + 3));
//! assert_eq!(Tiny::<f32>::FROZEN_BYTES, 4 * Tiny::<f32>::NUM_PARAMS);
//!
//! let model = Tiny::<f32>::init(&mut StdRng::seed_from_u64(0));
//! let image = [[[0.5f32; 8]; 8]; 1];
//! let batch = Array4::from_elem((1, 1, 8, 8), 0.5f32);
//! let logits = model.forward(batch.view());
//! let frozen = model.freeze();
//! let frozen_logits: [f32; 3] = frozen.infer(&image);
//! for (a, b) in frozen_logits.iter().zip(logits.row(0)) {
//!     assert!((a - b).abs() < 1e-5);
//! }
//!
//! // A batch of the wrong shape is a typed error that names both shapes.
//! let wrong = Array4::<f32>::zeros((1, 1, 7, 7));
//! assert!(matches!(model.try_forward(wrong.view()), Err(nn::Error::Shape { .. })));
//! # }
//! ```
//!
//! The workspace path gives what the taped path gives, without allocating:
//!
//! ```
//! use nn::ndarray::array;
//! use nn::prelude::*;
//! use nn::rand::{rngs::StdRng, SeedableRng};
//!
//! network! {
//!     pub struct Net { Linear(2, 8) -> ReLU -> Dropout(0.1) -> Linear(8, 2) }
//! }
//!
//! # fn main() {
//! let x = array![[0.0f32, 1.0], [1.0, 0.0]];
//! let labels = array![1usize, 0];
//! let mut model = Net::<f32>::init(&mut StdRng::seed_from_u64(0));
//! let mut opt = Sgd::new(0.1).momentum(0.9);
//! let criterion = CrossEntropyLoss::new();
//!
//! let mut ws = NetWorkspace::new(x.nrows());
//! let first = model.train_step(&mut ws, x.view(), labels.view(), &criterion);
//! opt.step(&mut model);
//! for _ in 0..20 {
//!     model.train_step(&mut ws, x.view(), labels.view(), &criterion);
//!     opt.step(&mut model);
//! }
//! let last = model.train_step(&mut ws, x.view(), labels.view(), &criterion);
//! assert!(last < first);
//! assert_eq!(model.forward_with(&mut ws, x.view()), model.forward(x.view()));
//! # }
//! ```
//!
//! Saving and loading:
//!
//! ```
//! use nn::prelude::*;
//! use nn::rand::{rngs::StdRng, SeedableRng};
//!
//! network! {
//!     pub struct Net { fc1: Linear(4, 8) -> ReLU -> fc2: Linear(8, 2) }
//! }
//!
//! # fn main() -> Result<(), nn::Error> {
//! let path = std::env::temp_dir().join(format!("nn-doc-{}.safetensors", std::process::id()));
//! let model = Net::<f32>::init(&mut StdRng::seed_from_u64(0));
//! model.save(&path)?;                   // keys fc1.weight, fc1.bias, fc2.weight, fc2.bias
//! let loaded = Net::<f32>::load(&path)?;
//! assert_eq!(loaded.fc2.weight, model.fc2.weight);
//! # std::fs::remove_file(&path).ok();
//! # Ok(())
//! # }
//! ```
//!
//! # Frozen inference and firmware
//!
//! Without the `std` feature (`nn = { version = "0.1", default-features = false }`) nn is
//! `#![no_std]` and needs no allocator. The same declaration then generates only what
//! inference needs: `MlpFrozen` with its `infer`, the constants above (`NUM_PARAMS`,
//! `FROZEN_BYTES`, `SCRATCH_BYTES`, ...) on a field-less `Mlp<F>` stand-in, and the
//! [`Network`] impls. One declaration serves a host trainer and a firmware crate.
//!
//! `#[weights = "path"]` bakes a weight file into the binary at compile time: the macro
//! reads the safetensors file (a relative path starts at the crate's directory, where its
//! `Cargo.toml` is), checks every tensor's name, dtype (F32) and shape against the
//! declaration, and emits `Mlp::FROZEN`, a `&'static MlpFrozen<f32>` in read-only memory
//! (flash). A missing file, a missing or extra tensor, a wrong shape or dtype is a compile
//! error at the attribute; the crate recompiles when the file changes. BatchNorm layers and
//! nested networks cannot be baked yet (build those at run time with
//! `Mlp::load(path)?.freeze()`).
//!
//! ```
//! use nn::network;
//!
//! network! {
//!     /// The firmware example's 16-32-4 model, its weights read by the compiler.
//!     #[weights = "examples/firmware/models/small.safetensors"]
//!     pub struct Small {
//!         Linear(16, 32) -> ReLU -> Linear(32, 4)
//!     }
//! }
//!
//! # fn main() -> Result<(), nn::Error> {
//! let model: &'static SmallFrozen = Small::FROZEN; // no heap, no file at run time
//! let logits: [f32; 4] = model.infer(&[0.25; 16]);
//!
//! // The same as loading the file and freezing it at run time, bit for bit.
//! let loaded = Small::<f32>::load("examples/firmware/models/small.safetensors")?.freeze();
//! assert_eq!(loaded.infer(&[0.25; 16]), logits);
//!
//! // What it costs in flash and on the stack.
//! assert_eq!(Small::<f32>::FROZEN_BYTES, 4 * Small::<f32>::NUM_PARAMS);
//! assert_eq!(Small::<f32>::SCRATCH_BYTES, 4 * 32); // the hidden layer, ReLU in place
//! # Ok(())
//! # }
//! ```
//!
//! `SCRATCH_BYTES` is the activation memory one inference needs. The layers' outputs
//! live in one arena, at offsets planned at compile time (`SmallFrozen::ARENA`), each
//! reusing the space of values no longer needed: a chain ping-pongs between the arena's
//! two ends, so it needs its largest input-plus-output pair, a `Residual` also keeps its
//! block input, ReLU, BatchNorm and the residual add work in place and Flatten is a
//! view. The network's input and output are the caller's. `infer` keeps the arena on the
//! stack; `infer_with` takes it from the caller, so that it can be a `static` (or boxed
//! on a host) and the stack holds only the output:
//!
//! ```
//! # nn::network! { pub struct Small { Linear(16, 32) -> ReLU -> Linear(32, 4) } }
//! # fn main() {
//! let model = Small::<f32>::init(&mut <nn::rand::rngs::StdRng as nn::rand::SeedableRng>::seed_from_u64(0)).freeze();
//! let mut scratch = nn::Scratch::<{ Small::<f32>::SCRATCH_BYTES }>::new();
//! assert_eq!(model.infer_with(&[0.25; 16], &mut scratch), model.infer(&[0.25; 16]));
//! # }
//! ```
//!
//! A scratch smaller than `SCRATCH_BYTES` is a compile error. The int8 form has its own
//! (`SmallInt8::SCRATCH_BYTES`, and `SmallInt8Scratch` of that size). Stack frames and
//! register spills come on top. `examples/firmware` runs both models on a Cortex-M4F
//! under QEMU and reports the stack it measured beside it.
//!
//! # Features
//!
//! - `std` (default): the training struct and its methods, ndarray batches, losses,
//!   optimisers, weight files ([`io`]) and data loading ([`data`]).
//! - `train` (default, implies `std`): the training loop `nn::train` (trainer,
//!   checkpoints, progress bar, PNG plot), with the indicatif and plotters dependencies.
//!   A server that only runs or fine-tunes models can build with
//!   `default-features = false, features = ["std"]` and carry neither.
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]

pub use nn_macros::network;
pub use nn_runtime::*;

/// Everything a model declaration and a training loop need, in one import.
pub mod prelude {
    pub use crate::network;
    pub use nn_runtime::{Chain, Float, Network};

    #[cfg(feature = "std")]
    pub use nn_runtime::{loss::*, optim::*, Model, Params};
}
