//! After the first call, a training step allocates nothing of its own: counted with a
//! counting global allocator (a count, not a timing). The one exception is inside the
//! GEMM library: `gemm` (like matrixmultiply) allocates its packing buffers inside every
//! product and has no API to pass a workspace in, so a step must allocate exactly what
//! its matrix products allocate when run alone, and nothing more.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use nn::gemm::matmul;
use nn::ndarray::{Array1, Array2};
use nn::prelude::*;
use nn::rand::rngs::StdRng;
use nn::rand::{Rng, SeedableRng};

/// The system allocator, counting every allocation and reallocation of each thread
/// (the tests of this file run in parallel).
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count() {
    // `try_with`: a thread being torn down may still free and allocate.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

// SAFETY: forwards every call unchanged to the system allocator.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

network! {
    /// The seed model of the MNIST example.
    pub struct Seed {
        Linear(784, 256) -> ReLU -> Linear(256, 10)
    }
}

network! {
    /// Every dense layer kind the workspace path handles.
    pub struct EveryDense {
        Linear(16, 32) -> GELU -> Dropout(0.25) -> Linear(32, 32) -> Tanh -> Linear(_, 8) -> Softmax
    }
}

/// Allocations made by `run` over five calls, after one warm-up call.
fn allocations_of(mut run: impl FnMut()) -> usize {
    run();
    let before = allocations();
    for _ in 0..5 {
        run();
    }
    allocations() - before
}

#[test]
fn seed_model_training_steps_allocate_only_inside_the_gemm_library() {
    let mut rng = StdRng::seed_from_u64(0);
    let mut model = Seed::<f32>::init(&mut rng);
    let x = Array2::from_shape_simple_fn((64, 784), || rng.random::<f32>());
    let labels = Array1::from_shape_simple_fn(64, || rng.random_range(0..10usize));
    let mut optimizer = Adam::new(1e-3);
    let criterion = CrossEntropyLoss::new();
    let mut ws = SeedWorkspace::default();
    let step_allocations = allocations_of(|| {
        model.train_step(&mut ws, x.view(), labels.view(), &criterion);
        optimizer.step(&mut model);
    });

    // The step's five products alone, with the same shapes and strides:
    // X·W1ᵀ, H·W2ᵀ, dW2 = Gᵀ·H, dH = G·W2, dW1 = dHᵀ·X.
    let (w1, w2) = (model.layer0.weight.clone(), model.layer2.weight.clone());
    let (mut h, mut out, mut g) = (Array2::zeros((64, 256)), Array2::zeros((64, 10)), Array2::zeros((64, 10)));
    let (mut dw1, mut dw2, mut dh) = (Array2::zeros((256, 784)), Array2::zeros((10, 256)), Array2::zeros((64, 256)));
    let gemm_allocations = allocations_of(|| {
        matmul(1.0, &x.view(), &w1.t(), 1.0, &mut h.view_mut());
        matmul(1.0, &h.view(), &w2.t(), 1.0, &mut out.view_mut());
        g.assign(&out);
        matmul(1.0, &g.t(), &h.view(), 0.0, &mut dw2.view_mut());
        matmul(1.0, &g.view(), &w2.view(), 0.0, &mut dh.view_mut());
        matmul(1.0, &dh.t(), &x.view(), 0.0, &mut dw1.view_mut());
    });
    assert_eq!(
        step_allocations, gemm_allocations,
        "5 training steps allocated {step_allocations} times, their matrix products alone {gemm_allocations}"
    );
}

#[test]
fn batch_inference_into_the_workspace_allocates_only_inside_the_gemm_library() {
    let mut rng = StdRng::seed_from_u64(2);
    let model = Seed::<f32>::init(&mut rng);
    let x = Array2::from_shape_simple_fn((32, 784), || rng.random::<f32>());
    let mut ws = SeedWorkspace::default();
    let inference_allocations = allocations_of(|| {
        model.forward_with(&mut ws, x.view());
    });
    let (w1, w2) = (model.layer0.weight.clone(), model.layer2.weight.clone());
    let (mut h, mut out) = (Array2::zeros((32, 256)), Array2::zeros((32, 10)));
    let gemm_allocations = allocations_of(|| {
        matmul(1.0, &x.view(), &w1.t(), 1.0, &mut h.view_mut());
        matmul(1.0, &h.view(), &w2.t(), 1.0, &mut out.view_mut());
    });
    assert_eq!(inference_allocations, gemm_allocations);
}

#[test]
fn every_dense_layer_kind_allocates_only_inside_the_gemm_library() {
    let mut rng = StdRng::seed_from_u64(1);
    let mut model = EveryDense::<f64>::init(&mut rng);
    let x = Array2::from_shape_simple_fn((8, 16), || rng.random::<f64>());
    let labels = Array1::from_shape_simple_fn(8, || rng.random_range(0..8usize));
    let mut optimizer = Sgd::new(0.1).momentum(0.9);
    let criterion = CrossEntropyLoss::new().label_smoothing(0.1);
    let mut ws = EveryDenseWorkspace::default();
    let step_allocations = allocations_of(|| {
        model.train_step(&mut ws, x.view(), labels.view(), &criterion);
        optimizer.step(&mut model);
    });

    // Per Linear: its forward product and weight gradient; an input gradient for all
    // but the first.
    let layers = [&model.layer0, &model.layer3, &model.layer5];
    let mut buffers: Vec<_> = layers
        .iter()
        .map(|layer| {
            let (outputs, inputs) = layer.weight.dim();
            (Array2::<f64>::zeros((8, inputs)), Array2::zeros((8, outputs)), Array2::zeros((outputs, inputs)))
        })
        .collect();
    let gemm_allocations = allocations_of(|| {
        for (i, (layer, (input, output, weight_grad))) in layers.iter().zip(&mut buffers).enumerate() {
            matmul(1.0, &input.view(), &layer.weight.t(), 1.0, &mut output.view_mut());
            matmul(1.0, &output.t(), &input.view(), 0.0, &mut weight_grad.view_mut());
            if i > 0 {
                matmul(1.0, &output.view(), &layer.weight.view(), 0.0, &mut input.view_mut());
            }
        }
    });
    assert_eq!(step_allocations, gemm_allocations);
}
