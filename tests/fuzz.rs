//! Fuzzing of weight-file loading through nn: mutated safetensors files of a network with
//! a batch norm, loaded by an f32 and an f64 model, are a typed error or a model, never
//! a panic. `NN_FUZZ_CASES` sets the number of inputs (README, development section).

use std::cell::RefCell;
use std::path::Path;

use nn::prelude::*;
use nn::rand::rngs::StdRng;
use nn::rand::SeedableRng;

network! {
    /// Every kind of state-dict entry: weights, biases, running statistics, a count.
    pub struct Normed { Linear(3, 4) -> BatchNorm1d(4) -> ReLU -> Linear(4, 2) }
}

/// The bytes `save` writes for `model`.
fn saved<F: Float>(model: &Normed<F>) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("normed.safetensors");
    model.save(&path).unwrap();
    std::fs::read(path).unwrap()
}

/// Whether `bytes` load into `model` through nn's parser; every tensor the safetensors
/// crate then hands out is read to its end.
fn loads<F: Float>(model: &mut Normed<F>, bytes: &[u8]) -> bool {
    let path = Path::new("fuzzed.safetensors");
    let Ok(file) = nn::io::parse(path, bytes) else { return false };
    let total: usize = file.tensors().iter().map(|(_, t)| t.data().len()).sum();
    assert!(total <= bytes.len());
    nn::io::load_state_dict(model, &file, path, "").is_ok()
}

#[test]
fn fuzz_safetensors_loading() {
    let mut rng = StdRng::seed_from_u64(0);
    let (f32_model, f64_model) = (Normed::<f32>::init(&mut rng), Normed::<f64>::init(&mut rng));
    let valid = [("safetensors-f32", saved(&f32_model)), ("safetensors-f64", saved(&f64_model))];
    let (f32_model, f64_model) = (RefCell::new(f32_model), RefCell::new(f64_model));
    for (name, valid) in valid {
        nn_fuzz::fuzz(name, valid, |bytes| {
            let f32_loads = loads(&mut f32_model.borrow_mut(), bytes);
            loads(&mut f64_model.borrow_mut(), bytes) || f32_loads
        });
    }
}
