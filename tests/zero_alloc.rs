//! After the first call, a training step allocates nothing: counted with a counting
//! global allocator (a count, not a timing). The matrix products keep their packing
//! buffers per thread, the workspace keeps every activation and gradient, and the
//! optimiser its moments.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use nn::ndarray::{Array1, Array2, Array4};
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

network! {
    /// LeNet-5 as `examples/lenet.rs` declares it.
    pub struct LeNet {
        input: [1, 28, 28],
        Conv2d(1, 6, 5, padding = 2) -> ReLU -> MaxPool2d(2)
            -> Conv2d(6, 16, 5) -> ReLU -> MaxPool2d(2)
            -> Flatten -> Linear(400, 120) -> ReLU -> Linear(120, 84) -> ReLU -> Linear(84, 10)
    }
}

network! {
    /// The image layer kinds LeNet does not use.
    pub struct EveryConv {
        input: [2, 12, 12],
        Conv2d(2, 4, 3, padding = 1) -> Tanh -> AvgPool2d(2) -> Dropout(0.25) -> ZeroPad2d(1, 0, 0, 1)
            -> Conv2d(4, 6, 3, stride = 2) -> MaxPool2d(2, stride = 1) -> Flatten -> Linear(_, 3)
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
fn seed_model_training_steps_allocate_nothing_after_the_first() {
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

    assert_eq!(step_allocations, 0, "5 training steps after the first allocated {step_allocations} times");
}

#[test]
fn batch_inference_into_the_workspace_allocates_nothing_after_the_first() {
    let mut rng = StdRng::seed_from_u64(2);
    let model = Seed::<f32>::init(&mut rng);
    let x = Array2::from_shape_simple_fn((32, 784), || rng.random::<f32>());
    let mut ws = SeedWorkspace::default();
    let inference_allocations = allocations_of(|| {
        model.forward_with(&mut ws, x.view());
    });
    assert_eq!(inference_allocations, 0, "5 batches after the first allocated {inference_allocations} times");
}

#[test]
fn every_dense_layer_kind_trains_without_allocating_after_the_first_step() {
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

    assert_eq!(step_allocations, 0, "5 training steps after the first allocated {step_allocations} times");
}

#[test]
fn lenet_training_steps_allocate_nothing_after_the_first() {
    let mut rng = StdRng::seed_from_u64(3);
    let mut model = LeNet::<f32>::init(&mut rng);
    let x = Array4::from_shape_simple_fn((64, 1, 28, 28), || rng.random::<f32>());
    let labels = Array1::from_shape_simple_fn(64, || rng.random_range(0..10usize));
    let mut optimizer = Adam::new(1e-3);
    let criterion = CrossEntropyLoss::new();
    let mut ws = LeNetWorkspace::default();
    let step_allocations = allocations_of(|| {
        model.train_step(&mut ws, x.view(), labels.view(), &criterion);
        optimizer.step(&mut model);
    });
    assert_eq!(step_allocations, 0, "5 LeNet training steps after the first allocated {step_allocations} times");
    let inference_allocations = allocations_of(|| {
        model.forward_with(&mut ws, x.view());
    });
    assert_eq!(inference_allocations, 0, "5 LeNet batches after the first allocated {inference_allocations} times");
}

#[test]
fn every_conv_layer_kind_trains_without_allocating_after_the_first_step() {
    let mut rng = StdRng::seed_from_u64(4);
    let mut model = EveryConv::<f64>::init(&mut rng);
    let x = Array4::from_shape_simple_fn((5, 2, 12, 12), || rng.random::<f64>());
    let labels = Array1::from_shape_simple_fn(5, || rng.random_range(0..3usize));
    let mut optimizer = Sgd::new(0.1).momentum(0.9);
    let criterion = CrossEntropyLoss::new();
    let mut ws = EveryConvWorkspace::default();
    let step_allocations = allocations_of(|| {
        model.train_step(&mut ws, x.view(), labels.view(), &criterion);
        optimizer.step(&mut model);
    });
    assert_eq!(step_allocations, 0, "5 training steps after the first allocated {step_allocations} times");
}
