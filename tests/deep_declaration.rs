//! A smoke test of a deep declaration: a 100-layer MLP (50 `Linear(64, 64)`, 50 `ReLU`)
//! expands, compiles, runs one training step and freezes, and its frozen `infer` agrees
//! with `forward`. It times nothing; how long it takes to build is measured by hand
//! (`touch` this file, then `CARGO_INCREMENTAL=0 cargo build --test deep_declaration`)
//! and reported in README.md beside the same file with a 2-layer declaration.

use nn::ndarray::Array2;
use nn::prelude::*;
use nn::rand::rngs::StdRng;
use nn::rand::SeedableRng;

network! {
    /// One hundred layers.
    pub struct Deep100 {
        Linear(64, 64) -> ReLU -> Linear(64, 64) -> ReLU -> Linear(64, 64) -> ReLU -> Linear(64, 64)
        -> ReLU -> Linear(64, 64) -> ReLU -> Linear(64, 64) -> ReLU -> Linear(64, 64) -> ReLU
        -> Linear(64, 64) -> ReLU -> Linear(64, 64) -> ReLU -> Linear(64, 64) -> ReLU
        -> Linear(64, 64) -> ReLU -> Linear(64, 64) -> ReLU -> Linear(64, 64) -> ReLU
        -> Linear(64, 64) -> ReLU -> Linear(64, 64) -> ReLU -> Linear(64, 64) -> ReLU
        -> Linear(64, 64) -> ReLU -> Linear(64, 64) -> ReLU -> Linear(64, 64) -> ReLU
        -> Linear(64, 64) -> ReLU -> Linear(64, 64) -> ReLU -> Linear(64, 64) -> ReLU
        -> Linear(64, 64) -> ReLU -> Linear(64, 64) -> ReLU -> Linear(64, 64) -> ReLU
        -> Linear(64, 64) -> ReLU -> Linear(64, 64) -> ReLU -> Linear(64, 64) -> ReLU
        -> Linear(64, 64) -> ReLU -> Linear(64, 64) -> ReLU -> Linear(64, 64) -> ReLU
        -> Linear(64, 64) -> ReLU -> Linear(64, 64) -> ReLU -> Linear(64, 64) -> ReLU
        -> Linear(64, 64) -> ReLU -> Linear(64, 64) -> ReLU -> Linear(64, 64) -> ReLU
        -> Linear(64, 64) -> ReLU -> Linear(64, 64) -> ReLU -> Linear(64, 64) -> ReLU
        -> Linear(64, 64) -> ReLU -> Linear(64, 64) -> ReLU -> Linear(64, 64) -> ReLU
        -> Linear(64, 64) -> ReLU -> Linear(64, 64) -> ReLU -> Linear(64, 64) -> ReLU
        -> Linear(64, 64) -> ReLU -> Linear(64, 64) -> ReLU -> Linear(64, 64) -> ReLU
        -> Linear(64, 64) -> ReLU
    }
}

#[test]
fn hundred_layers_train_and_freeze() {
    let mut model = Deep100::<f32>::init(&mut StdRng::seed_from_u64(0));
    assert_eq!(Deep100::<f32>::NUM_PARAMS, 50 * (64 * 64 + 64));
    let x = Array2::from_elem((2, 64), 0.1f32);
    let (y, tape) = model.forward_train(x.view());
    model.backward(tape, y.view());
    let frozen = model.freeze();
    let row: [f32; 64] = [0.1; 64];
    let infer = frozen.infer(&row);
    for (a, b) in infer.iter().zip(model.forward(x.view()).row(0)) {
        assert!((a - b).abs() < 1e-5);
    }
}
