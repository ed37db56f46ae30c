//! PyTorch → nn for two MLPerf Tiny reference models, ResNet-8 and the DS-CNN keyword
//! spotter, declared layer for layer as `make_fixture.py` builds them: the state_dicts it
//! saved load strictly; `NUM_PARAMS` equals PyTorch's count; the eval-mode outputs of
//! `forward` (f32 and f64) and of the frozen `infer` (f32) are PyTorch's; and in f64, the
//! train-mode output, the loss, every parameter's gradient and the state_dict after two
//! steps of `Sgd::new(0.05).momentum(0.9)` are PyTorch's.
//!
//! Tolerances are relative to the largest magnitude of each tensor. The fixtures hold
//! PyTorch's float64 results rounded to float32:
//! - f64 (`Net::<f64>` loading the float32 files computes the numbers PyTorch's float64
//!   model computed): 1e-4 for outputs and the loss, 2e-4 for gradients and parameters
//!   after the steps.
//! - f32 eval outputs: 1e-4. Gradients are not checked in f32: ReLU inputs within rounding
//!   of zero flip between two correct implementations, and a deep net's gradients then
//!   differ by far more (PyTorch's own f32 kernels do this too).

use nn::ndarray::{Ix1, Ix2, Ix4};
use nn::prelude::*;
use nn::Entry;

use crate::fixture::{assert_close_relative, path, Tensors};

#[path = "../../../examples/models/resnet8.rs"]
mod resnet8;
use resnet8::*;
#[path = "../../../examples/models/ds_cnn.rs"]
mod ds_cnn;
use ds_cnn::*;

const CASE: &str = "mlperf_tiny";
/// Outputs and the loss, relative to the tensor's largest magnitude.
const OUTPUT_TOLERANCE: f64 = 1e-4;
/// Gradients and parameters after the steps, relative to the tensor's largest magnitude.
const GRADIENT_TOLERANCE: f64 = 2e-4;

fn fixture(model: &str, kind: &str) -> String {
    format!("{model}_{kind}.safetensors")
}

/// Every float of `model` (values, or gradients if `grads`) against the tensor of the
/// same key in `want`, and the counts exactly; the keys must be the same.
fn assert_params_close(model: &impl Params<f64>, want: &Tensors, grads: bool, tolerance: f64, what: &str) {
    let mut keys = Vec::new();
    model.visit(&mut |name, entry| match entry {
        Entry::Param { value, grad } => {
            keys.push(name.to_string());
            let got = if grads { grad } else { value };
            assert_close_relative(got, want.floats(name).view(), tolerance, &format!("{what} `{name}`"));
        }
        Entry::Buffer(value) if !grads => {
            keys.push(name.to_string());
            assert_close_relative(value, want.floats(name).view(), tolerance, &format!("{what} `{name}`"));
        }
        Entry::Count(count) if !grads => {
            keys.push(name.to_string());
            assert_eq!(count, want.count(name), "{what} `{name}`");
        }
        _ => {}
    });
    keys.sort_unstable();
    assert_eq!(keys, want.names(), "{what}: keys");
}

/// In f64: eval output, train output, loss and gradients of the first step, the second
/// loss, and the state_dict after both steps.
fn assert_trains_as_pytorch<M: Model<f64, InputDim = Ix4, OutputDim = Ix2> + Params<f64>>(name: &str) {
    let mut model = M::load(path(CASE, &fixture(name, "weights"))).unwrap();
    let io = Tensors::read(CASE, &fixture(name, "io"));
    let x = io.floats_of::<Ix4>("input").mapv(f64::from);
    let labels = io.labels("labels");
    let losses = io.floats_of::<Ix1>("losses");
    let eval = model.forward(x.view());
    assert_close_relative(eval.view(), io.floats("eval_output").view(), OUTPUT_TOLERANCE, &format!("{name}: eval"));

    let mut optimizer = Sgd::new(0.05).momentum(0.9);
    let criterion = CrossEntropyLoss::new();
    for step in 0..2 {
        model.zero_grad();
        let (logits, tape) = model.forward_train(x.view());
        let (loss, grad) = criterion.loss_and_grad(logits.view(), labels.view());
        model.backward(tape, grad.view());
        let want_loss = f64::from(losses[step]);
        assert!(
            (loss - want_loss).abs() <= OUTPUT_TOLERANCE * want_loss.abs(),
            "{name}: loss {step}: {loss} vs {want_loss}"
        );
        if step == 0 {
            let what = format!("{name}: train output");
            assert_close_relative(logits.view(), io.floats("train_output").view(), OUTPUT_TOLERANCE, &what);
            let grads = Tensors::read(CASE, &fixture(name, "grads"));
            assert_params_close(&model, &grads, true, GRADIENT_TOLERANCE, &format!("{name}: gradient of"));
        }
        optimizer.step(&mut model);
    }
    let after = Tensors::read(CASE, &fixture(name, "after_2_steps"));
    assert_params_close(&model, &after, false, GRADIENT_TOLERANCE, &format!("{name}: after 2 steps,"));
}

#[test]
fn parameter_counts_equal_pytorchs() {
    // make_fixture.py prints `sum(p.numel() for p in model.parameters())`.
    assert_eq!(ResNet8::<f32>::NUM_PARAMS, 78_186);
    assert_eq!(DsCnn::<f32>::NUM_PARAMS, 23_756);
}

#[test]
fn freezing_folds_every_batch_norm() {
    // Every BatchNorm follows a convolution with a bias: the frozen model holds the
    // convolutions' and the Linear's weights and biases alone.
    assert_eq!(DsCnn::<f32>::FROZEN_BYTES, 4 * (23_756 - 2 * 64 * 9));
    assert_eq!(ResNet8::<f32>::FROZEN_BYTES, 4 * (78_186 - 2 * (16 + 2 * 16 + 2 * 32 + 2 * 64)));
}

#[test]
fn multiply_accumulates_count_every_weight_at_every_output_position() {
    // DS-CNN: the 10x4 conv gives [64, 25, 5]; each depthwise 3x3 and pointwise 1x1 keeps it.
    let positions = 25 * 5;
    let ds_cnn = 64 * 10 * 4 * positions + 4 * (64 * 9 * positions + 64 * 64 * positions) + 64 * 12;
    assert_eq!(DsCnn::<f32>::MACS, ds_cnn);
    // ResNet-8: 32x32 at 16 channels, 16x16 at 32, 8x8 at 64, the shortcuts at the output size.
    let stem = 16 * 3 * 9 * 32 * 32;
    let stage1 = 2 * 16 * 16 * 9 * 32 * 32;
    let stage2 = (32 * 16 * 9 + 32 * 32 * 9 + 32 * 16) * 16 * 16;
    let stage3 = (64 * 32 * 9 + 64 * 64 * 9 + 64 * 32) * 8 * 8;
    assert_eq!(ResNet8::<f32>::MACS, stem + stage1 + stage2 + stage3 + 64 * 10);
}

#[test]
fn resnet8_trains_as_pytorch_in_f64() {
    assert_trains_as_pytorch::<ResNet8<f64>>("resnet8");
}

#[test]
fn ds_cnn_trains_as_pytorch_in_f64() {
    assert_trains_as_pytorch::<DsCnn<f64>>("ds_cnn");
}

#[test]
fn resnet8_eval_and_frozen_outputs_are_pytorchs_in_f32() {
    let model = ResNet8::<f32>::load(path(CASE, &fixture("resnet8", "weights"))).unwrap();
    let io = Tensors::read(CASE, &fixture("resnet8", "io"));
    let x = io.floats_of::<Ix4>("input");
    let want = io.floats("eval_output");
    let what = "resnet8: f32 eval";
    assert_close_relative(model.forward(x.view()).mapv(f64::from).view(), want.view(), OUTPUT_TOLERANCE, what);
    let frozen = model.freeze();
    for (n, image) in x.outer_iter().enumerate() {
        let image: [[[f32; 32]; 32]; 3] =
            std::array::from_fn(|c| std::array::from_fn(|h| std::array::from_fn(|w| image[[c, h, w]])));
        let got = nn::ndarray::Array1::from_iter(frozen.infer(&image).map(f64::from));
        let want = want.index_axis(nn::ndarray::Axis(0), n);
        assert_close_relative(got.view(), want.into_dyn(), OUTPUT_TOLERANCE, &format!("resnet8: infer {n}"));
    }
}

#[test]
fn ds_cnn_eval_and_frozen_outputs_are_pytorchs_in_f32() {
    let model = DsCnn::<f32>::load(path(CASE, &fixture("ds_cnn", "weights"))).unwrap();
    let io = Tensors::read(CASE, &fixture("ds_cnn", "io"));
    let x = io.floats_of::<Ix4>("input");
    let want = io.floats("eval_output");
    let what = "ds_cnn: f32 eval";
    assert_close_relative(model.forward(x.view()).mapv(f64::from).view(), want.view(), OUTPUT_TOLERANCE, what);
    let frozen = model.freeze();
    for (n, image) in x.outer_iter().enumerate() {
        let image: [[[f32; 10]; 49]; 1] =
            std::array::from_fn(|c| std::array::from_fn(|h| std::array::from_fn(|w| image[[c, h, w]])));
        let got = nn::ndarray::Array1::from_iter(frozen.infer(&image).map(f64::from));
        let want = want.index_axis(nn::ndarray::Axis(0), n);
        assert_close_relative(got.view(), want.into_dyn(), OUTPUT_TOLERANCE, &format!("ds_cnn: infer {n}"));
    }
}
