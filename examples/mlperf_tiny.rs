//! The four MLPerf Tiny reference models (mlcommons/tiny, `benchmark/training/*`),
//! declared layer for layer: the DS-CNN keyword spotter, the MobileNetV1 ×0.25 visual
//! wake-word detector, ResNet-8 on CIFAR-10 and the FC autoencoder for anomaly detection.
//! For each it prints parameters, multiply-accumulates, the f32 and int8 weight bytes
//! and `SCRATCH_BYTES`, then trains it briefly on a synthetic fixed-seed task it can
//! learn, showing the loss falling. No dataset ships.
//!
//! `NUM_PARAMS` of each equals that of its PyTorch port (`examples/mlperf_tiny_params.py`
//! prints those), which the constants below assert at compile time.
//!
//! `cargo run --release --example mlperf_tiny`

use nn::ndarray::{Array, Array1, Array2, Ix2, Ix4};
use nn::prelude::*;
use nn::rand::rngs::StdRng;
use nn::rand::{Rng, SeedableRng};
use nn::{Entry, Model};

#[path = "models/ds_cnn.rs"]
mod ds_cnn;
use ds_cnn::*;
#[path = "models/mobilenet_v1.rs"]
mod mobilenet_v1;
use mobilenet_v1::*;
#[path = "models/resnet8.rs"]
mod resnet8;
use resnet8::*;
#[path = "models/autoencoder.rs"]
mod autoencoder;
use autoencoder::*;

/// Adam's learning rate for every model.
const LEARNING_RATE: f64 = 1e-3;

/// Bytes of the int8 form, as TFLite Micro stores a model: one byte per weight and an
/// int32 bias per output channel of every Linear and Conv2d, the BatchNorms folded into
/// them (so they add nothing).
fn int8_weight_bytes(model: &impl Params<f32>) -> usize {
    let mut bytes = 0;
    model.visit(&mut |_, entry| {
        if let Entry::Param { value, .. } = entry {
            if value.ndim() >= 2 {
                bytes += value.len() + 4 * value.shape()[0];
            }
        }
    });
    bytes
}

/// What the table prints of one model.
struct Figures {
    name: &'static str,
    params: usize,
    macs: usize,
    f32_bytes: usize,
    int8_bytes: usize,
    /// The activation arena of one inference in f32 and in int8 (`SCRATCH_BYTES`).
    scratch: usize,
    int8_scratch: usize,
}

/// One row of the table.
fn print_figures(figures: &Figures) {
    let Figures { name, params, macs, f32_bytes, int8_bytes, scratch, int8_scratch } = figures;
    println!(
        "{name:<18} {params:>9} params {macs:>11} MACs   weights {f32_bytes:>8} B f32 {int8_bytes:>8} B int8   \
         SCRATCH_BYTES {scratch:>7} f32 {int8_scratch:>6} int8"
    );
}

/// `steps` Adam steps, each running `backward_on_batch` (which draws a batch, leaves the
/// gradients in the model and returns the loss), printing the loss at the first, middle
/// and last step; returns the first and last loss.
fn train<M: Params<f32>>(
    model: &mut M,
    steps: usize,
    rng: &mut StdRng,
    mut backward_on_batch: impl FnMut(&mut M, &mut StdRng) -> f32,
) -> (f32, f32) {
    let mut optimizer = Adam::new(LEARNING_RATE);
    let mut losses = Vec::with_capacity(steps);
    for step in 0..steps {
        let loss = backward_on_batch(model, rng);
        optimizer.step(model);
        if step == 0 || step + 1 == steps || step == steps / 2 {
            println!("    step {:>3}: loss {loss:.4}", step + 1);
        }
        losses.push(loss);
    }
    (losses[0], losses[steps - 1])
}

/// Images of `classes` classes: each class's fixed random pattern, scaled by a random
/// gain, plus noise. `shape` is `[C, H, W]`.
fn pattern_task(
    patterns: &Array2<f32>,
    shape: [usize; 3],
    batch: usize,
) -> impl FnMut(&mut StdRng) -> (Array<f32, Ix4>, Array1<usize>) + '_ {
    move |rng| {
        let classes = patterns.nrows();
        let labels = Array1::from_shape_fn(batch, |_| rng.random_range(0..classes));
        let [c, h, w] = shape;
        let mut x = Array::from_shape_fn((batch, c * h * w), |_| rng.random_range(-0.5f32..0.5));
        for (mut row, &label) in x.outer_iter_mut().zip(&labels) {
            let gain = rng.random_range(0.8f32..1.2);
            row.scaled_add(gain, &patterns.row(label));
        }
        (x.into_shape_with_order((batch, c, h, w)).expect("same length"), labels)
    }
}

/// One fixed random pattern per class, flattened.
fn random_patterns(rng: &mut StdRng, classes: usize, len: usize) -> Array2<f32> {
    Array2::from_shape_fn((classes, len), |_| rng.random_range(-1.0f32..1.0))
}

/// Prints a classifier's figures and trains it `steps` steps on [`pattern_task`].
fn classifier<M>(figures: Figures, shape: [usize; 3], classes: usize, steps: usize, batch: usize)
where
    M: Model<f32, InputDim = Ix4, OutputDim = Ix2>,
{
    print_figures(&figures);
    let name = figures.name;
    let mut rng = StdRng::seed_from_u64(0);
    let mut model = M::init(&mut rng);
    let patterns = random_patterns(&mut rng, classes, shape.iter().product());
    println!("  {name}: {classes}-class synthetic patterns, batch {batch}, Adam lr {LEARNING_RATE}");
    let mut task = pattern_task(&patterns, shape, batch);
    let criterion = CrossEntropyLoss::new();
    let (first, last) = train(&mut model, steps, &mut rng, |model, rng| {
        let (x, labels) = task(rng);
        model.zero_grad();
        let (logits, tape) = model.forward_train(x.view());
        let (loss, grad) = criterion.loss_and_grad(logits.view(), labels.view());
        model.backward(tape, grad.view());
        loss
    });
    assert!(last < first, "{name}: the loss did not fall ({first} -> {last})");
}

fn main() {
    classifier::<DsCnn>(
        Figures {
            name: "DS-CNN",
            params: DsCnn::<f32>::NUM_PARAMS,
            macs: DsCnn::<f32>::MACS,
            f32_bytes: DsCnn::<f32>::FROZEN_BYTES,
            int8_bytes: int8_weight_bytes(&DsCnn::<f32>::init(&mut StdRng::seed_from_u64(0))),
            scratch: DsCnn::<f32>::SCRATCH_BYTES,
            int8_scratch: DsCnnInt8::SCRATCH_BYTES,
        },
        [1, 49, 10],
        12,
        40,
        32,
    );
    classifier::<MobileNetV1>(
        Figures {
            name: "MobileNetV1 x0.25",
            params: MobileNetV1::<f32>::NUM_PARAMS,
            macs: MobileNetV1::<f32>::MACS,
            f32_bytes: MobileNetV1::<f32>::FROZEN_BYTES,
            int8_bytes: int8_weight_bytes(&MobileNetV1::<f32>::init(&mut StdRng::seed_from_u64(0))),
            scratch: MobileNetV1::<f32>::SCRATCH_BYTES,
            int8_scratch: MobileNetV1Int8::SCRATCH_BYTES,
        },
        [3, 96, 96],
        2,
        20,
        16,
    );
    classifier::<ResNet8>(
        Figures {
            name: "ResNet-8",
            params: ResNet8::<f32>::NUM_PARAMS,
            macs: ResNet8::<f32>::MACS,
            f32_bytes: ResNet8::<f32>::FROZEN_BYTES,
            int8_bytes: int8_weight_bytes(&ResNet8::<f32>::init(&mut StdRng::seed_from_u64(0))),
            scratch: ResNet8::<f32>::SCRATCH_BYTES,
            int8_scratch: ResNet8Int8::SCRATCH_BYTES,
        },
        [3, 32, 32],
        10,
        40,
        32,
    );
    autoencoder();
}

/// The autoencoder reconstructs samples of a 4-dimensional subspace of its 640 inputs:
/// `x = A z` for a fixed random `A` and random `z`.
fn autoencoder() {
    let mut rng = StdRng::seed_from_u64(0);
    let mut model = AutoEncoder::<f32>::init(&mut rng);
    print_figures(&Figures {
        name: "FC autoencoder",
        params: AutoEncoder::<f32>::NUM_PARAMS,
        macs: AutoEncoder::<f32>::MACS,
        f32_bytes: AutoEncoder::<f32>::FROZEN_BYTES,
        int8_bytes: int8_weight_bytes(&model),
        scratch: AutoEncoder::<f32>::SCRATCH_BYTES,
        int8_scratch: AutoEncoderInt8::SCRATCH_BYTES,
    });
    let basis = Array2::from_shape_fn((4, 640), |_| rng.random_range(-1.0f32..1.0));
    let batch = 64;
    println!("  FC autoencoder: reconstructing a 4-d subspace of R^640, batch {batch}, Adam lr {LEARNING_RATE}");
    let criterion = MseLoss::new();
    let (first, last) = train(&mut model, 200, &mut rng, |model, rng| {
        let z = Array2::from_shape_fn((batch, 4), |_| rng.random_range(-1.0f32..1.0));
        let x = z.dot(&basis);
        model.zero_grad();
        let (output, tape) = model.forward_train(x.view());
        let (loss, grad) = criterion.loss_and_grad(output.view(), x.view());
        model.backward(tape, grad.view());
        loss
    });
    assert!(last < first, "FC autoencoder: the loss did not fall ({first} -> {last})");
}
