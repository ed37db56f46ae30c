//! Inference: W2, the 784-256-10 seed model, at batch 1 through `forward`,
//! `forward_with` (into a workspace) and the frozen `infer`, and at batch 256 through
//! `forward` and `forward_with` (1 and 2 threads); W3, 16-32-32-4, at batch 1 through
//! `forward`, `forward_with` and `infer`. In the same run, their
//! references: the two products of W2 at batch 256 alone (the floor, through
//! `nn::gemm::matmul` with the alpha and beta `Linear::forward_into` uses, and through
//! matrixmultiply and the `gemm` crate to compare), and hand-written input-major axpy loops over fixed-size
//! arrays for the batch-1 cases (the baselines). After criterion's run it prints each
//! case's ratio.

mod common;

use std::hint::black_box;

use nn::gemm::{matmul, set_num_threads};
use nn::ndarray::Array2;
use nn::prelude::*;
use nn::rand::rngs::StdRng;
use nn::rand::{Rng, SeedableRng};
use nn::Entry;

network! {
    /// W2: MNIST's multilayer perceptron, the seed model.
    pub struct W2 {
        Linear(784, 256) -> ReLU -> Linear(256, 10)
    }
}

network! {
    /// W3: a small controller-sized network.
    pub struct W3 {
        Linear(16, 32) -> ReLU -> Linear(32, 32) -> ReLU -> Linear(32, 4)
    }
}

/// Samples in the large inference batch.
const BATCH: usize = 256;

/// One hand-written dense layer: weight input-major (`[in][out]`), bias `[out]`.
struct Dense<const IN: usize, const OUT: usize> {
    weight: [[f32; OUT]; IN],
    bias: [f32; OUT],
}

impl<const IN: usize, const OUT: usize> Dense<IN, OUT> {
    /// The layer whose PyTorch-layout parameters are `<key>.weight` (`[out, in]`) and
    /// `<key>.bias` in `model`'s state dict.
    fn from_model(model: &impl Params<f32>, key: &str) -> Box<Self> {
        let mut layer = Box::new(Dense { weight: [[0.0; OUT]; IN], bias: [0.0; OUT] });
        model.visit(&mut |name, entry| {
            if let Entry::Param { value, .. } = entry {
                if name == format!("{key}.weight") {
                    let value = value.into_dimensionality::<nn::ndarray::Ix2>().expect("a matrix");
                    assert_eq!(value.dim(), (OUT, IN), "{name}");
                    for ((o, i), &w) in value.indexed_iter() {
                        layer.weight[i][o] = w;
                    }
                } else if name == format!("{key}.bias") {
                    layer.bias.iter_mut().zip(value.iter()).for_each(|(b, &v)| *b = v);
                }
            }
        });
        layer
    }

    /// `y = W x + b` as an input-major axpy: for each input, add its weight row scaled.
    #[inline]
    fn forward(&self, x: &[f32; IN]) -> [f32; OUT] {
        let mut y = self.bias;
        for (row, &xi) in self.weight.iter().zip(x) {
            for (acc, &w) in y.iter_mut().zip(row) {
                *acc += w * xi;
            }
        }
        y
    }
}

/// `max(0, x)` in place.
fn relu<const N: usize>(mut x: [f32; N]) -> [f32; N] {
    x.iter_mut().for_each(|v| *v = v.max(0.0));
    x
}

/// The hand-written W2 baseline.
struct W2Baseline {
    fc1: Box<Dense<784, 256>>,
    fc2: Box<Dense<256, 10>>,
}

impl W2Baseline {
    fn infer(&self, x: &[f32; 784]) -> [f32; 10] {
        self.fc2.forward(&relu(self.fc1.forward(x)))
    }
}

/// The hand-written W3 baseline.
struct W3Baseline {
    fc1: Box<Dense<16, 32>>,
    fc2: Box<Dense<32, 32>>,
    fc3: Box<Dense<32, 4>>,
}

impl W3Baseline {
    fn infer(&self, x: &[f32; 16]) -> [f32; 4] {
        self.fc3.forward(&relu(self.fc2.forward(&relu(self.fc1.forward(x)))))
    }
}

/// W2's two forward products at batch 256 alone, on preallocated buffers, as
/// `Linear::forward_into` calls them (`Y = X Wᵀ + Y`, the bias already in `Y`).
fn w2_floor(w2: &W2, x: &Array2<f32>, product: common::Product, threads: usize) -> impl FnMut() {
    let (x, w1, w2) = (x.clone(), w2.layer0.weight.clone(), w2.layer2.weight.clone());
    let (mut hidden, mut logits) = (Array2::zeros((BATCH, 256)), Array2::zeros((BATCH, 10)));
    move || {
        set_num_threads(threads);
        product(1.0, &x.view(), &w1.t(), 1.0, &mut hidden.view_mut());
        product(1.0, &hidden.view(), &w2.t(), 1.0, &mut logits.view_mut());
        black_box(&logits);
    }
}

/// Panics unless the two outputs agree to float rounding (the benches compute the same thing).
fn assert_close(what: &str, a: &[f32], b: &[f32]) {
    let close = a.iter().zip(b).all(|(a, b)| (a - b).abs() <= 1e-4 * (1.0 + b.abs()));
    assert!(close, "{what}: {a:?} vs {b:?}");
}

fn main() {
    let mut criterion = common::criterion();
    let mut rng = StdRng::seed_from_u64(0);

    let w2 = W2::<f32>::init(&mut rng);
    let w2_frozen = w2.freeze();
    let w2_base = W2Baseline { fc1: Dense::from_model(&w2, "0"), fc2: Dense::from_model(&w2, "2") };
    let x2: [f32; 784] = std::array::from_fn(|_| rng.random_range(0.0..1.0));
    let x2_batch1 = Array2::from_shape_vec((1, 784), x2.to_vec()).expect("one sample");
    let x2_batch = Array2::from_shape_simple_fn((BATCH, 784), || rng.random_range(0.0..1.0));

    let w3 = W3::<f32>::init(&mut rng);
    let w3_frozen = w3.freeze();
    let w3_base = W3Baseline {
        fc1: Dense::from_model(&w3, "0"),
        fc2: Dense::from_model(&w3, "2"),
        fc3: Dense::from_model(&w3, "4"),
    };
    let x3: [f32; 16] = std::array::from_fn(|_| rng.random_range(-1.0..1.0));
    let x3_batch1 = Array2::from_shape_vec((1, 16), x3.to_vec()).expect("one sample");

    let w2_want = w2.forward(x2_batch1.view());
    assert_close("W2 infer", &w2_frozen.infer(&x2), w2_want.as_slice().expect("contiguous"));
    assert_close("W2 baseline", &w2_base.infer(&x2), w2_want.as_slice().expect("contiguous"));
    let w3_want = w3.forward(x3_batch1.view());
    assert_close("W3 infer", &w3_frozen.infer(&x3), w3_want.as_slice().expect("contiguous"));
    assert_close("W3 baseline", &w3_base.infer(&x3), w3_want.as_slice().expect("contiguous"));

    let (w2, w3, x2_batch1, x2_batch, x3_batch1) = (&w2, &w3, &x2_batch1, &x2_batch, &x3_batch1);
    let mut suite = common::Suite::new("inference");
    suite.case("w2_b1_forward", || {
        set_num_threads(1);
        black_box(w2.forward(black_box(x2_batch1.view())));
    });
    let mut w2_ws = W2Workspace::default();
    suite.case("w2_b1_forward_with", move || {
        set_num_threads(1);
        black_box(w2.forward_with(&mut w2_ws, black_box(x2_batch1.view())));
    });
    suite.case("w2_b1_infer", || {
        black_box(w2_frozen.infer(black_box(&x2)));
    });
    suite.case("w2_b1_baseline", || {
        black_box(w2_base.infer(black_box(&x2)));
    });
    for threads in [1, 2] {
        suite.case(&format!("w2_b256_forward_{threads}t"), move || {
            set_num_threads(threads);
            black_box(w2.forward(black_box(x2_batch.view())));
        });
        let mut ws = W2Workspace::default();
        suite.case(&format!("w2_b256_forward_with_{threads}t"), move || {
            set_num_threads(threads);
            black_box(w2.forward_with(&mut ws, black_box(x2_batch.view())));
        });
        suite.case(&format!("w2_b256_floor_{threads}t"), w2_floor(w2, x2_batch, matmul::<f32>, threads));
    }
    suite.case("w2_b256_floor_matrixmultiply_1t", w2_floor(w2, x2_batch, common::matrixmultiply, 1));
    suite.case("w2_b256_floor_gemm_crate_1t", w2_floor(w2, x2_batch, common::gemm_crate, 1));
    suite.case("w3_b1_forward", || {
        set_num_threads(1);
        black_box(w3.forward(black_box(x3_batch1.view())));
    });
    let mut w3_ws = W3Workspace::default();
    suite.case("w3_b1_forward_with", move || {
        set_num_threads(1);
        black_box(w3.forward_with(&mut w3_ws, black_box(x3_batch1.view())));
    });
    suite.case("w3_b1_infer", || {
        black_box(w3_frozen.infer(black_box(&x3)));
    });
    suite.case("w3_b1_baseline", || {
        black_box(w3_base.infer(black_box(&x3)));
    });
    suite.run(&mut criterion);

    criterion.final_summary();
    suite.print_table(
        "Inference: each case over its GEMM floor or hand-written baseline",
        &[
            ("w2_b1_forward", "w2_b1_baseline"),
            ("w2_b1_forward_with", "w2_b1_baseline"),
            ("w2_b1_infer", "w2_b1_baseline"),
            ("w2_b256_forward_1t", "w2_b256_floor_1t"),
            ("w2_b256_forward_with_1t", "w2_b256_floor_1t"),
            ("w2_b256_forward_2t", "w2_b256_floor_2t"),
            ("w2_b256_forward_with_2t", "w2_b256_floor_2t"),
            ("w2_b256_forward_2t", "w2_b256_forward_1t"),
            ("w2_b256_floor_matrixmultiply_1t", "w2_b256_floor_1t"),
            ("w2_b256_floor_gemm_crate_1t", "w2_b256_floor_1t"),
            ("w2_b256_forward_1t", "w2_b256_floor_gemm_crate_1t"),
            ("w3_b1_forward", "w3_b1_baseline"),
            ("w3_b1_forward_with", "w3_b1_baseline"),
            ("w3_b1_infer", "w3_b1_baseline"),
        ],
    );
}
