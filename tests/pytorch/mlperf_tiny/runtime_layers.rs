//! The fixtures of `make_fixture.py` against nn's runtime layers, chained by hand as
//! `network!` chains them (`mod.rs` beside this file declares the same models in the DSL):
//! - DS-CNN: in f64, the eval-mode output, the train-mode output, the loss and every
//!   parameter's gradient are PyTorch's; in f32, the frozen kernels with each BatchNorm
//!   folded into the convolution before it give PyTorch's eval-mode output.
//! - ResNet-8: in f64, the eval-mode and train-mode outputs are PyTorch's (the residual
//!   stages, their projection shortcuts and keys).
//!
//! Tolerances as in `mod.rs`: relative to each tensor's largest magnitude, 1e-4 for
//! outputs and 2e-4 for gradients. Measured, in those units: at most 4.6e-8 (DS-CNN f64
//! eval output), 2.5e-8 (train output), 5.0e-8 (gradients: the fixtures' float32
//! rounding), 2.8e-7 (folded frozen f32 output); ResNet-8: 2.2e-8 (eval), 3.8e-8 (train).

use nn::activation::Relu;
use nn::frozen;
use nn::layers::adaptive_avg_pool::{adaptive_avg_pool2d, adaptive_avg_pool2d_backward};
use nn::layers::{activation, BatchNorm, Conv2d, Conv2dSpec, Linear};
use nn::ndarray::{Array2, Array4, ArrayViewD, Dimension, Ix1, Ix2, Ix4};
use nn::prelude::*;
use nn::Float;

use crate::fixture::{assert_close_relative, Tensors};

const CASE: &str = "mlperf_tiny";
/// Conv + BatchNorm + ReLU units, the first layer's key of unit `u` being `3·u`.
const UNITS: usize = 9;
/// The key of the final Linear.
const LINEAR: usize = 29;

/// Unit `u`'s convolution: the 10×4 first one, then depthwise 3×3 and pointwise 1×1 in turn.
fn spec(u: usize) -> Conv2dSpec {
    match u {
        0 => Conv2dSpec::new(1, 64, (10, 4)).stride((2, 2)).padding((5, 1)),
        _ if u % 2 == 1 => Conv2dSpec::new(64, 64, (3, 3)).padding((1, 1)).groups(64),
        _ => Conv2dSpec::new(64, 64, (1, 1)),
    }
}

/// The float tensor `key` of `weights` in `F`, of rank `D`.
fn tensor<F: Float, D: Dimension>(weights: &Tensors, key: &str) -> nn::ndarray::Array<F, D> {
    weights.floats(key).mapv(|v| F::of(f64::from(v))).into_dimensionality().unwrap()
}

/// The Conv2d of `spec` at `key`.
fn conv<F: Float>(weights: &Tensors, key: &str, spec: Conv2dSpec) -> Conv2d<F> {
    let bias = tensor(weights, &format!("{key}.bias"));
    Conv2d::from_parts(spec, tensor(weights, &format!("{key}.weight")), Some(bias)).unwrap()
}

/// The BatchNorm2d of `channels` at `key`, running statistics included.
fn batch_norm<F: Float>(weights: &Tensors, key: &str, channels: usize) -> BatchNorm<F> {
    let mut bn = BatchNorm::new(channels, 1e-5, 0.1);
    bn.weight = tensor(weights, &format!("{key}.weight"));
    bn.bias = tensor(weights, &format!("{key}.bias"));
    bn.running_mean = tensor(weights, &format!("{key}.running_mean"));
    bn.running_var = tensor(weights, &format!("{key}.running_var"));
    bn.num_batches_tracked = weights.count(&format!("{key}.num_batches_tracked"));
    bn
}

/// The Linear at `key`.
fn linear<F: Float>(weights: &Tensors, key: &str) -> Linear<F> {
    Linear::from_parts(
        tensor::<F, Ix2>(weights, &format!("{key}.weight")),
        Some(tensor(weights, &format!("{key}.bias"))),
    )
}

/// The model's layers, loaded from `ds_cnn_weights.safetensors`.
struct DsCnn<F> {
    units: Vec<(Conv2d<F>, BatchNorm<F>)>,
    linear: Linear<F>,
}

fn load<F: Float>(weights: &Tensors) -> DsCnn<F> {
    let units = (0..UNITS)
        .map(|u| (conv(weights, &(3 * u).to_string(), spec(u)), batch_norm(weights, &(3 * u + 1).to_string(), 64)))
        .collect();
    DsCnn { units, linear: linear(weights, &LINEAR.to_string()) }
}

/// `[batch, C, 1, 1]` → `[batch, C]`.
fn flatten(x: Array4<f64>) -> Array2<f64> {
    let (batch, channels, _, _) = x.dim();
    x.into_shape_with_order((batch, channels)).unwrap()
}

#[test]
fn ds_cnn_eval_output_is_pytorchs_in_f64() {
    let model = load::<f64>(&Tensors::read(CASE, "ds_cnn_weights.safetensors"));
    let io = Tensors::read(CASE, "ds_cnn_io.safetensors");
    let mut x = io.floats_of::<Ix4>("input").mapv(f64::from);
    for (conv, bn) in &model.units {
        x = activation::forward_in_place(Relu, bn.forward(conv.forward(x.view()).view()));
    }
    let logits = model.linear.forward(flatten(adaptive_avg_pool2d(x.view(), (1, 1))).view());
    assert_close_relative(logits.view(), io.floats("eval_output").view(), 1e-4, "eval output");
}

#[test]
fn ds_cnn_train_output_loss_and_gradients_are_pytorchs_in_f64() {
    let mut model = load::<f64>(&Tensors::read(CASE, "ds_cnn_weights.safetensors"));
    let io = Tensors::read(CASE, "ds_cnn_io.safetensors");
    let mut x = io.floats_of::<Ix4>("input").mapv(f64::from);
    let mut tape = Vec::new();
    for (conv, bn) in &mut model.units {
        let (y, cache) = bn.forward_train(conv.forward(x.view()).view());
        bn.update_running_stats(&cache);
        let a = activation::forward_in_place(Relu, y);
        tape.push((std::mem::replace(&mut x, a.clone()), cache, a));
    }
    let hw = (x.dim().2, x.dim().3);
    let pooled = flatten(adaptive_avg_pool2d(x.view(), (1, 1)));
    let logits = model.linear.forward(pooled.view());
    assert_close_relative(logits.view(), io.floats("train_output").view(), 1e-4, "train output");
    let (loss, g) = CrossEntropyLoss::new().loss_and_grad(logits.view(), io.labels("labels").view());
    let want_loss = f64::from(io.floats_of::<Ix1>("losses")[0]);
    assert!((loss - want_loss).abs() <= 1e-4 * want_loss, "loss {loss} vs {want_loss}");

    model.linear.backward(pooled.view(), g.view());
    let g = model.linear.input_grad(g.view());
    let mut g = adaptive_avg_pool2d_backward(g.into_shape_with_order((4, 64, 1, 1)).unwrap().view(), hw);
    for (u, ((conv, bn), (x, cache, a))) in model.units.iter_mut().zip(tape).enumerate().rev() {
        activation::backward_in_place(Relu, a.view(), g.view_mut());
        let g_conv = bn.backward(cache, g.view());
        conv.backward(x.view(), g_conv.view());
        if u > 0 {
            g = conv.input_grad(g_conv.view(), (x.dim().2, x.dim().3));
        }
    }

    let grads = Tensors::read(CASE, "ds_cnn_grads.safetensors");
    let check = |key: String, got: ArrayViewD<f64>| assert_close_relative(got, grads.floats(&key).view(), 2e-4, &key);
    for (u, (conv, bn)) in model.units.iter().enumerate() {
        let (c, b) = (3 * u, 3 * u + 1);
        check(format!("{c}.weight"), conv.weight_grad.view().into_dyn());
        check(format!("{c}.bias"), conv.bias_grad.as_ref().unwrap().view().into_dyn());
        check(format!("{b}.weight"), bn.weight_grad.view().into_dyn());
        check(format!("{b}.bias"), bn.bias_grad.view().into_dyn());
    }
    check(format!("{LINEAR}.weight"), model.linear.weight_grad.view().into_dyn());
    check(format!("{LINEAR}.bias"), model.linear.bias_grad.as_ref().unwrap().view().into_dyn());
    assert_eq!(grads.names().len(), 4 * UNITS + 2, "a gradient checked for every parameter");
}

/// One folded unit's frozen weights, for an input of `C` channels per group and a
/// `KH`×`KW` kernel.
struct Folded<const CG: usize, const KH: usize, const KW: usize> {
    weight: Box<[[[[f32; KW]; KH]; CG]; 64]>,
    bias: [f32; 64],
}

fn fold<const CG: usize, const KH: usize, const KW: usize>(
    conv: &Conv2d<f32>,
    bn: &BatchNorm<f32>,
) -> Folded<CG, KH, KW> {
    let folded = conv.fold_batch_norm(bn).unwrap();
    let mut weights = Folded { weight: Box::new([[[[0.0; KW]; KH]; CG]; 64]), bias: [0.0; 64] };
    let flat = weights.weight.as_flattened_mut().as_flattened_mut().as_flattened_mut();
    folded.freeze_into(flat, Some(&mut weights.bias));
    weights
}

#[test]
fn ds_cnn_frozen_with_batch_norms_folded_gives_pytorchs_eval_output_in_f32() {
    let model = load::<f32>(&Tensors::read(CASE, "ds_cnn_weights.safetensors"));
    let io = Tensors::read(CASE, "ds_cnn_io.safetensors");
    let first = fold::<1, 10, 4>(&model.units[0].0, &model.units[0].1);
    let depthwise: Vec<Folded<1, 3, 3>> =
        (1..UNITS).step_by(2).map(|u| fold(&model.units[u].0, &model.units[u].1)).collect();
    let pointwise: Vec<Folded<64, 1, 1>> =
        (2..UNITS).step_by(2).map(|u| fold(&model.units[u].0, &model.units[u].1)).collect();
    let mut linear_t = [[0.0f32; 12]; 64];
    let mut linear_bias = [0.0f32; 12];
    model.linear.freeze_into(linear_t.as_flattened_mut(), Some(&mut linear_bias));

    let x = io.floats_of::<Ix4>("input");
    let mut logits = Vec::new();
    for image in x.outer_iter() {
        let image: [[[f32; 10]; 49]; 1] =
            std::array::from_fn(|c| std::array::from_fn(|h| std::array::from_fn(|w| image[[c, h, w]])));
        // Two buffers, ping-pong, as the generated code's arena plan does.
        let (mut a, mut b) = ([[[0.0f32; 5]; 25]; 64], [[[0.0f32; 5]; 25]; 64]);
        frozen::conv2d_into(&first.weight, Some(&first.bias), &image, &mut a, (2, 2), (5, 1));
        frozen::activate(Relu, a.as_flattened_mut().as_flattened_mut());
        for (dw, pw) in depthwise.iter().zip(&pointwise) {
            frozen::conv2d_into(&dw.weight, Some(&dw.bias), &a, &mut b, (1, 1), (1, 1));
            frozen::activate(Relu, b.as_flattened_mut().as_flattened_mut());
            frozen::conv2d_into(&pw.weight, Some(&pw.bias), &b, &mut a, (1, 1), (0, 0));
            frozen::activate(Relu, a.as_flattened_mut().as_flattened_mut());
        }
        let mut pooled = [[[0.0f32; 1]; 1]; 64];
        frozen::adaptive_avg_pool2d_into(&a, &mut pooled);
        let flat: &[f32; 64] = pooled.as_flattened().as_flattened().try_into().unwrap();
        let mut y = [0.0f32; 12];
        frozen::dense_into(&linear_t, Some(&linear_bias), flat, &mut y);
        logits.extend(y.map(f64::from));
    }
    let logits = Array2::from_shape_vec((4, 12), logits).unwrap();
    assert_close_relative(logits.view(), io.floats("eval_output").view(), 1e-4, "folded frozen output");
}

/// A BatchNorm applied in the mode under test: `forward` (eval) or `forward_train`.
type Normalize = dyn Fn(&BatchNorm<f64>, Array4<f64>) -> Array4<f64>;

/// ResNet-8's residual stage at `key`: `cin` → `cout` channels, the first convolution
/// (and the 1×1 shortcut, if `stride` is 2) with `stride`.
struct Stage {
    chain: [(Conv2d<f64>, BatchNorm<f64>); 2],
    shortcut: Option<Conv2d<f64>>,
}

impl Stage {
    fn load(weights: &Tensors, key: usize, (cin, cout): (usize, usize), stride: usize) -> Self {
        let first = Conv2dSpec::new(cin, cout, (3, 3)).stride((stride, stride)).padding((1, 1));
        let second = Conv2dSpec::new(cout, cout, (3, 3)).padding((1, 1));
        let unit = |i: usize, spec| {
            (conv(weights, &format!("{key}.{i}"), spec), batch_norm(weights, &format!("{key}.{}", i + 1), cout))
        };
        let shortcut = (stride != 1).then(|| {
            conv(weights, &format!("{key}.shortcut.0"), Conv2dSpec::new(cin, cout, (1, 1)).stride((stride, stride)))
        });
        Stage { chain: [unit(0, first), unit(3, second)], shortcut }
    }

    /// `relu(chain(x) + shortcut(x))`, the chain `conv → bn → relu → conv → bn`.
    fn forward(&self, x: &Array4<f64>, bn: &Normalize) -> Array4<f64> {
        let [(conv1, bn1), (conv2, bn2)] = &self.chain;
        let y = activation::forward_in_place(Relu, bn(bn1, conv1.forward(x.view())));
        let y = bn(bn2, conv2.forward(y.view()));
        let skip = self.shortcut.as_ref().map_or_else(|| x.clone(), |shortcut| shortcut.forward(x.view()));
        activation::forward_in_place(Relu, y + skip)
    }
}

#[test]
fn resnet8_eval_and_train_outputs_are_pytorchs_in_f64() {
    let weights = Tensors::read(CASE, "resnet8_weights.safetensors");
    let io = Tensors::read(CASE, "resnet8_io.safetensors");
    let (conv0, bn0) =
        (conv(&weights, "0", Conv2dSpec::new(3, 16, (3, 3)).padding((1, 1))), batch_norm(&weights, "1", 16));
    let stages = [
        Stage::load(&weights, 3, (16, 16), 1),
        Stage::load(&weights, 5, (16, 32), 2),
        Stage::load(&weights, 7, (32, 64), 2),
    ];
    let fc = linear::<f64>(&weights, "11");
    let x = io.floats_of::<Ix4>("input").mapv(f64::from);
    let forward = |bn: &Normalize| {
        let mut y = activation::forward_in_place(Relu, bn(&bn0, conv0.forward(x.view())));
        for stage in &stages {
            y = stage.forward(&y, bn);
        }
        fc.forward(flatten(adaptive_avg_pool2d(y.view(), (1, 1))).view())
    };
    let eval = forward(&|bn, y| bn.forward(y.view()));
    assert_close_relative(eval.view(), io.floats("eval_output").view(), 1e-4, "resnet8 eval output");
    let train = forward(&|bn, y| bn.forward_train(y.view()).0);
    assert_close_relative(train.view(), io.floats("train_output").view(), 1e-4, "resnet8 train output");
}
