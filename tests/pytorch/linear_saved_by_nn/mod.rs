//! nn → PyTorch: the file nn saves loads into `nn.Sequential` of the same layers with
//! `load_state_dict(strict=True)`, and PyTorch then computes what nn computes.
//!
//! `saved_by_nn.safetensors` is written by this test itself: regenerate it with
//! `NN_WRITE_FIXTURES=1 cargo test --test interop linear_saved_by_nn`, then rerun
//! `make_fixture.py` beside it, which loads it into PyTorch and writes PyTorch's outputs
//! (`pytorch_output.safetensors`) and PyTorch's own save of the loaded state_dict
//! (`resaved_by_pytorch.safetensors`).

use std::fs;

use nn::ndarray::Ix2;
use nn::prelude::*;
use nn::rand::rngs::StdRng;
use nn::rand::SeedableRng;

use crate::fixture::{assert_close, path, Tensors};

network! {
    /// `nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 8, bias=False),
    /// nn.LeakyReLU(0.2), nn.Linear(8, 3))` in make_fixture.py.
    pub struct Exported {
        Linear(4, 8) -> Tanh -> Linear(8, 8, bias = false) -> LeakyReLU(0.2) -> Linear(8, 3)
    }
}

const CASE: &str = "linear_saved_by_nn";

/// The model whose file PyTorch loaded: nn's own init, seeded (`StdRng` is reproducible
/// for a fixed `rand` version, which Cargo.lock pins).
fn model() -> Exported<f32> {
    Exported::init(&mut StdRng::seed_from_u64(2024))
}

fn saved_bytes(model: &Exported<f32>) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("exported.safetensors");
    model.save(&file).unwrap();
    fs::read(file).unwrap()
}

/// The committed file PyTorch loaded is byte for byte what nn writes today.
#[test]
fn save_writes_the_file_pytorch_loaded() {
    let committed = path(CASE, "saved_by_nn.safetensors");
    if std::env::var_os("NN_WRITE_FIXTURES").is_some() {
        model().save(&committed).unwrap();
    }
    assert!(saved_bytes(&model()) == fs::read(&committed).unwrap(), "nn no longer writes {}", committed.display());
}

/// PyTorch's `save_file(model.state_dict())` after loading nn's file writes the same
/// bytes: same keys, layouts, dtypes, order and header.
#[test]
fn pytorch_resaves_the_same_bytes() {
    let resaved = fs::read(path(CASE, "resaved_by_pytorch.safetensors")).unwrap();
    assert!(resaved == fs::read(path(CASE, "saved_by_nn.safetensors")).unwrap());
}

#[test]
fn pytorch_computes_what_nn_computes() {
    let model = model();
    let io = Tensors::read(CASE, "pytorch_output.safetensors");
    let (x, want) = (io.floats_of::<Ix2>("input"), io.floats_of::<Ix2>("output"));
    // Outputs of order 1; the sums run in different orders (see ../linear/mod.rs).
    assert_close(model.forward(x.view()).view(), want.view(), 1e-6, "forward");
}

/// The file PyTorch wrote loads back into nn as the model nn saved, bit for bit.
#[test]
fn pytorch_file_loads_back_unchanged() {
    let loaded = Exported::<f32>::load(path(CASE, "resaved_by_pytorch.safetensors")).unwrap();
    assert!(saved_bytes(&loaded) == saved_bytes(&model()));
}
