//! Training steps: W1, the seed model 784-256-10 with ReLU,
//! cross-entropy and Adam (lr 1e-3), batch 64, f32; and LeNet-5 at batch 64. Each step
//! runs through the workspace path (`train_step` + `step`) and W1 also through the taped
//! path (`zero_grad`, `forward_train`, `loss_and_grad`, `backward`, `step`), at 1 and 2
//! threads (`nn::gemm::set_num_threads`, set inside every routine). W1's Adam step is
//! also timed alone, its share of the step.
//!
//! In the same run, each step's GEMM floor: the matrix products the step needs, alone,
//! on preallocated buffers with the same shapes, strides, alpha and beta, through
//! `nn::gemm::matmul`, and once more through matrixmultiply (ndarray's
//! `general_mat_mul`) and the `gemm` crate, to compare nn's GEMM with both libraries.
//! After criterion's run it prints each step's ratio to its floor.
//!
//! The data are seeded random pixels with labels cycled through `LABEL_SETS` random
//! sets, so the loss stays near ln 10 and the gradients stay those of early training
//! (on one fixed batch the loss reaches 0 within a few thousand steps).

mod common;

use std::hint::black_box;

use nn::gemm::{matmul, set_num_threads};
use nn::ndarray::{Array, Array1, Array2, ArrayView, Dimension, Ix2, ShapeBuilder};
use nn::prelude::*;
use nn::rand::rngs::StdRng;
use nn::rand::{Rng, SeedableRng};

use common::{gemm_crate, matrixmultiply, Product};

network! {
    /// W1: the seed model, MNIST's multilayer perceptron.
    pub struct Seed {
        Linear(784, 256) -> ReLU -> Linear(256, 10)
    }
}

network! {
    /// LeNet-5 with ReLU and max pooling, as in `examples/lenet.rs`.
    pub struct LeNet {
        input: [1, 28, 28],
        Conv2d(1, 6, 5, padding = 2) -> ReLU -> MaxPool2d(2)
            -> Conv2d(6, 16, 5) -> ReLU -> MaxPool2d(2)
            -> Flatten -> Linear(400, 120) -> ReLU -> Linear(120, 84) -> ReLU -> Linear(84, 10)
    }
}

/// Samples per training batch.
const BATCH: usize = 64;
/// Classes of both networks.
const CLASSES: usize = 10;
/// Label sets the steps cycle through.
const LABEL_SETS: usize = 16;

/// A seeded array of the given shape with entries uniform in `range`.
fn random<D: Dimension>(
    shape: impl ShapeBuilder<Dim = D>,
    range: std::ops::Range<f32>,
    rng: &mut StdRng,
) -> Array<f32, D> {
    Array::from_shape_simple_fn(shape, || rng.random_range(range.clone()))
}

/// `LABEL_SETS` seeded label vectors for one batch.
fn label_sets(rng: &mut StdRng) -> Vec<Array1<usize>> {
    (0..LABEL_SETS).map(|_| Array1::from_shape_simple_fn(BATCH, || rng.random_range(0..CLASSES))).collect()
}

/// One workspace-path step per call: `train_step` then Adam, at `threads` threads.
fn workspace_step<'a, M: Model<f32> + 'a>(
    x: ArrayView<'a, f32, M::InputDim>,
    labels: &'a [Array1<usize>],
    threads: usize,
) -> impl FnMut() + 'a {
    let mut model = M::init(&mut StdRng::seed_from_u64(1));
    let mut adam = Adam::new(1e-3);
    let mut ws = M::Workspace::default();
    let criterion = CrossEntropyLoss::new();
    let mut labels = labels.iter().cycle();
    move || {
        set_num_threads(threads);
        let labels = labels.next().expect("a cycle never ends");
        black_box(model.train_step(&mut ws, x.view(), labels.view(), &criterion));
        adam.step(&mut model);
    }
}

/// Adam's step alone on W1, one thread, on the gradients of one workspace step: the
/// update's share of a step (it streams the weights, gradients and both moment buffers,
/// and divides twice and takes a square root per weight).
fn adam_alone<'a>(x: ArrayView<'a, f32, Ix2>, labels: &'a [Array1<usize>]) -> impl FnMut() + 'a {
    let mut model = Seed::init(&mut StdRng::seed_from_u64(1));
    let mut ws = SeedWorkspace::default();
    model.train_step(&mut ws, x, labels[0].view(), &CrossEntropyLoss::new());
    let mut adam = Adam::new(1e-3);
    move || {
        set_num_threads(1);
        adam.step(&mut model);
        black_box(&model);
    }
}

/// One taped-path step per call: `zero_grad`, `forward_train`, the loss, `backward`, Adam.
fn taped_step<'a, M: Model<f32, OutputDim = Ix2> + 'a>(
    x: ArrayView<'a, f32, M::InputDim>,
    labels: &'a [Array1<usize>],
    threads: usize,
) -> impl FnMut() + 'a {
    let mut model = M::init(&mut StdRng::seed_from_u64(1));
    let mut adam = Adam::new(1e-3);
    let criterion = CrossEntropyLoss::new();
    let mut labels = labels.iter().cycle();
    move || {
        set_num_threads(threads);
        let labels = labels.next().expect("a cycle never ends");
        model.zero_grad();
        let (logits, tape) = model.forward_train(x.view());
        let (loss, grad) = criterion.loss_and_grad(logits.view(), labels.view());
        model.backward(tape, grad.view());
        adam.step(&mut model);
        black_box(loss);
    }
}

/// One `Linear` layer's products on preallocated buffers: weight `[out, in]` as PyTorch
/// stores it, input `[batch, in]`, output `[batch, out]`.
struct DenseProducts {
    x: Array2<f32>,
    weight: Array2<f32>,
    y: Array2<f32>,
    grad_y: Array2<f32>,
    grad_weight: Array2<f32>,
    grad_x: Option<Array2<f32>>,
}

impl DenseProducts {
    /// Buffers for `Linear(inputs, outputs)` at `batch` samples; `grad_x` when the step
    /// needs the input gradient (every layer but the first).
    fn new(batch: usize, inputs: usize, outputs: usize, grad_x: bool, rng: &mut StdRng) -> Self {
        DenseProducts {
            x: random((batch, inputs), 0.0..1.0, rng),
            weight: random((outputs, inputs), -0.1..0.1, rng),
            y: Array2::zeros((batch, outputs)),
            grad_y: random((batch, outputs), -0.1..0.1, rng),
            grad_weight: Array2::zeros((outputs, inputs)),
            grad_x: grad_x.then(|| Array2::zeros((batch, inputs))),
        }
    }

    /// What `Linear` calls in a workspace step: `Y = X Wᵀ + Y` (the bias is already in
    /// `Y`), `dW = dYᵀ X` (written), `dX = dY W`.
    fn run(&mut self, product: Product) {
        product(1.0, &self.x.view(), &self.weight.t(), 1.0, &mut self.y.view_mut());
        product(1.0, &self.grad_y.t(), &self.x.view(), 0.0, &mut self.grad_weight.view_mut());
        if let Some(grad_x) = &mut self.grad_x {
            product(1.0, &self.grad_y.view(), &self.weight.view(), 0.0, &mut grad_x.view_mut());
        }
    }
}

/// Per-sample products of one `Conv2d` as im2col + GEMM: weight `[out_c, in_c·k²]`,
/// im2col columns `[in_c·k², oh·ow]`, output and its gradient `[batch][out_c, oh·ow]`.
struct ConvProducts {
    weight: Array2<f32>,
    cols: Array2<f32>,
    y: Vec<Array2<f32>>,
    grad_y: Vec<Array2<f32>>,
    grad_weight: Array2<f32>,
    grad_input: bool,
}

impl ConvProducts {
    /// Buffers for `Conv2d` with `taps = in_c·k²` and `pixels = oh·ow`; `grad_input`
    /// when the step needs the input gradient (every conv but the first).
    fn new(out_c: usize, taps: usize, pixels: usize, grad_input: bool, rng: &mut StdRng) -> Self {
        ConvProducts {
            weight: random((out_c, taps), -0.1..0.1, rng),
            cols: random((taps, pixels), 0.0..1.0, rng),
            y: (0..BATCH).map(|_| Array2::zeros((out_c, pixels))).collect(),
            grad_y: (0..BATCH).map(|_| random((out_c, pixels), -0.1..0.1, rng)).collect(),
            grad_weight: Array2::zeros((out_c, taps)),
            grad_input,
        }
    }

    /// What `Conv2d` calls per sample: `Y = W cols + Y` (bias already in `Y`),
    /// `dW += dY colsᵀ`, and `cols = Wᵀ dY` for the input gradient.
    fn run(&mut self, product: Product) {
        for (y, grad_y) in self.y.iter_mut().zip(&self.grad_y) {
            product(1.0, &self.weight.view(), &self.cols.view(), 1.0, &mut y.view_mut());
            product(1.0, &grad_y.view(), &self.cols.t(), 1.0, &mut self.grad_weight.view_mut());
            if self.grad_input {
                product(1.0, &self.weight.t(), &grad_y.view(), 0.0, &mut self.cols.view_mut());
            }
        }
    }
}

/// W1's floor: X·W1ᵀ, H·W2ᵀ, dW2 = Gᵀ·H, dH = G·W2, dW1 = dHᵀ·X, as the workspace step
/// calls them (no input gradient for the first layer).
fn w1_floor(product: Product, threads: usize, rng: &mut StdRng) -> impl FnMut() {
    let mut layers = [DenseProducts::new(BATCH, 784, 256, false, rng), DenseProducts::new(BATCH, 256, 10, true, rng)];
    move || {
        set_num_threads(threads);
        layers.iter_mut().for_each(|layer| layer.run(product));
        black_box(&layers);
    }
}

/// LeNet-5's floor: both convolutions per sample (conv1 without an input gradient,
/// conv2 with one) and the three Linear layers (each with an input gradient, the
/// first feeding the convolutions back). Convolution products run on `conv_product`.
fn lenet_floor(conv_product: Product, threads: usize, rng: &mut StdRng) -> impl FnMut() {
    let mut convs = [ConvProducts::new(6, 25, 28 * 28, false, rng), ConvProducts::new(16, 150, 10 * 10, true, rng)];
    let mut dense = [
        DenseProducts::new(BATCH, 400, 120, true, rng),
        DenseProducts::new(BATCH, 120, 84, true, rng),
        DenseProducts::new(BATCH, 84, CLASSES, true, rng),
    ];
    move || {
        set_num_threads(threads);
        convs.iter_mut().for_each(|conv| conv.run(conv_product));
        dense.iter_mut().for_each(|layer| layer.run(matmul::<f32>));
        black_box((&convs, &dense));
    }
}

fn main() {
    let mut criterion = common::criterion();
    let mut rng = StdRng::seed_from_u64(0);
    let x = random((BATCH, Seed::<f32>::INPUT), 0.0..1.0, &mut rng);
    let images = random((BATCH, 1, 28, 28), 0.0..1.0, &mut rng);
    let labels = label_sets(&mut rng);

    let mut suite = common::Suite::new("train_step");
    for threads in [1, 2] {
        suite.case(&format!("w1_workspace_{threads}t"), workspace_step::<Seed>(x.view(), &labels, threads));
        suite.case(&format!("w1_taped_{threads}t"), taped_step::<Seed>(x.view(), &labels, threads));
        suite.case(&format!("w1_floor_{threads}t"), w1_floor(matmul::<f32>, threads, &mut rng));
    }
    suite.case("w1_adam_1t", adam_alone(x.view(), &labels));
    suite.case("w1_floor_matrixmultiply_1t", w1_floor(matrixmultiply, 1, &mut rng));
    suite.case("w1_floor_gemm_crate_1t", w1_floor(gemm_crate, 1, &mut rng));
    for threads in [1, 2] {
        suite.case(&format!("lenet_workspace_{threads}t"), workspace_step::<LeNet>(images.view(), &labels, threads));
        suite.case(&format!("lenet_floor_{threads}t"), lenet_floor(matmul::<f32>, threads, &mut rng));
    }
    suite.case("lenet_floor_conv_matrixmultiply_1t", lenet_floor(matrixmultiply, 1, &mut rng));
    suite.run(&mut criterion);

    criterion.final_summary();
    suite.print_table(
        "Training steps over their GEMM floors (and 2 threads over 1)",
        &[
            ("w1_workspace_1t", "w1_floor_1t"),
            ("w1_taped_1t", "w1_floor_1t"),
            ("w1_workspace_2t", "w1_floor_2t"),
            ("w1_taped_2t", "w1_floor_2t"),
            ("w1_workspace_2t", "w1_workspace_1t"),
            ("w1_floor_2t", "w1_floor_1t"),
            ("w1_adam_1t", "w1_floor_1t"),
            ("w1_floor_matrixmultiply_1t", "w1_floor_1t"),
            ("w1_floor_gemm_crate_1t", "w1_floor_1t"),
            ("w1_workspace_1t", "w1_floor_gemm_crate_1t"),
            ("w1_floor_1t", "w1_floor_gemm_crate_1t"),
            ("lenet_workspace_1t", "lenet_floor_1t"),
            ("lenet_workspace_1t", "lenet_floor_conv_matrixmultiply_1t"),
            ("lenet_workspace_2t", "lenet_floor_2t"),
            ("lenet_workspace_2t", "lenet_workspace_1t"),
        ],
    );
}
