//! PyTorch → nn for Linear networks: each state_dict `make_fixture.py` saved loads
//! strictly into the same declaration, and `forward` and the frozen `infer` give
//! PyTorch's outputs on the script's input.
//!
//! Within 1e-6, not bit-exact: nn and PyTorch sum the dot products in different orders
//! (nn's products go through its blocked GEMM, the frozen `infer` through plain loops), and
//! GELU's erf comes from libm. Measured: at most 3.0e-8 from `forward` and 1.2e-7 from
//! `infer` (the GELU network), on outputs of order 0.3.

use nn::ndarray::{Array2, Ix2};
use nn::prelude::*;

use crate::fixture::{assert_close, path, Tensors};

network! {
    /// `nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))`.
    pub struct Sequential { Linear(4, 8) -> ReLU -> Linear(8, 3) }
}

network! {
    /// `nn.Sequential(OrderedDict(fc1=nn.Linear(4, 8), act=nn.GELU(), fc2=nn.Linear(8, 3)))`.
    #[derive(Debug)]
    pub struct Named { fc1: Linear(4, 8) -> act: GELU -> fc2: Linear(8, 3) }
}

network! {
    /// `nn.Sequential(nn.Linear(4, 8, bias=False), nn.Tanh(), nn.Linear(8, 3, bias=False))`.
    pub struct NoBias { Linear(4, 8, bias = false) -> Tanh -> Linear(8, 3, bias = false) }
}

const CASE: &str = "linear";
/// How far nn's outputs may be from PyTorch's (they are of order 1).
const TOLERANCE: f32 = 1e-6;

/// Loads `<model>.safetensors` and checks `forward` and `infer` against `<model>_io.safetensors`.
fn assert_gives_pytorch_outputs<M: Model<f32, InputDim = Ix2, OutputDim = Ix2>>(
    model_name: &str,
    infer: impl Fn(&M, &[f32; 4]) -> [f32; 3],
) {
    let model = M::load(path(CASE, &format!("{model_name}.safetensors"))).unwrap();
    let io = Tensors::read(CASE, &format!("{model_name}_io.safetensors"));
    let (x, want) = (io.floats_of::<Ix2>("input"), io.floats_of::<Ix2>("output"));
    assert_close(model.forward(x.view()).view(), want.view(), TOLERANCE, &format!("{model_name}: forward"));
    let frozen: Vec<f32> =
        x.rows().into_iter().flat_map(|row| infer(&model, &row.to_vec().try_into().unwrap())).collect();
    let frozen = Array2::from_shape_vec(want.raw_dim(), frozen).unwrap();
    assert_close(frozen.view(), want.view(), TOLERANCE, &format!("{model_name}: infer"));
}

#[test]
fn sequential_loads_and_gives_pytorch_outputs() {
    assert_gives_pytorch_outputs::<Sequential>("sequential", |model, x| model.freeze().infer(x));
}

#[test]
fn named_layers_load_by_name_and_give_pytorch_outputs() {
    assert_gives_pytorch_outputs::<Named>("named", |model, x| model.freeze().infer(x));
}

#[test]
fn layers_without_bias_load_and_give_pytorch_outputs() {
    assert_gives_pytorch_outputs::<NoBias>("no_bias", |model, x| model.freeze().infer(x));
}

/// A file with `0.weight` does not load into the named network (PyTorch's strict
/// `load_state_dict` refuses it too): keys are part of the format, not decoration.
#[test]
fn indexed_keys_do_not_load_into_named_layers() {
    let err = Named::<f32>::load(path(CASE, "sequential.safetensors")).unwrap_err();
    assert!(matches!(&err, nn::Error::MissingTensor { name, .. } if name == "fc1.weight"), "{err}");
}
