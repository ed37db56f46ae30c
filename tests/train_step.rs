//! `train_step` (the workspace path) computes what `zero_grad` + `forward_train` +
//! loss + `backward` compute, and `forward_with` what `forward` computes, for dense and
//! for convolutional networks.

use nn::ndarray::{Array1, Array2, Array4};
use nn::prelude::*;
use nn::rand::rngs::StdRng;
use nn::rand::{Rng, SeedableRng};

mod common;
use common::flat_params;

network! {
    pub struct Dense {
        Linear(6, 8) -> GELU -> Linear(8, 8) -> Sigmoid -> Linear(8, 5, bias = false) -> Tanh -> Linear(5, 4)
    }
}

network! {
    pub struct DenseSoftmax {
        input: [1, 2, 3],
        Flatten -> Linear(6, 4) -> LeakyReLU(0.1) -> Linear(4, 3) -> Softmax
    }
}

network! {
    pub struct Conv {
        input: [1, 5, 5],
        Conv2d(1, 2, 3) -> ReLU -> MaxPool2d(2) -> Flatten -> Linear(2, 3)
    }
}

network! {
    /// Padding, a stride, both poolings, a first convolution over several channels.
    pub struct EveryConv {
        input: [2, 12, 12],
        Conv2d(2, 4, 3, padding = 1) -> ReLU -> AvgPool2d(2) -> ZeroPad2d(1, 0, 0, 1) -> Conv2d(4, 6, 3, stride = 2)
            -> Tanh -> MaxPool2d(2, stride = 1) -> Flatten -> Linear(_, 3)
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

fn assert_close(a: &[f64], b: &[f64]) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() <= 1e-12 * (1.0 + y.abs()), "{x} vs {y}");
    }
}

/// Runs the taped path and the workspace path from the same weights and compares
/// loss, output and every gradient; the workspace path runs twice to show it
/// overwrites (not accumulates) gradients.
macro_rules! check_train_step {
    ($model:ty, $x:expr, $labels:expr) => {{
        let mut rng = StdRng::seed_from_u64(3);
        let mut taped = <$model>::init(&mut rng);
        let mut rng = StdRng::seed_from_u64(3);
        let mut stepped = <$model>::init(&mut rng);
        let (x, labels): (_, Array1<usize>) = ($x, $labels);
        let criterion = CrossEntropyLoss::new();

        taped.zero_grad();
        let (output, tape) = taped.forward_train(x.view());
        let (loss, grad) = criterion.loss_and_grad(output.view(), labels.view());
        taped.backward(tape, grad.view());

        let mut ws = Default::default();
        for _ in 0..2 {
            let step_loss = stepped.train_step(&mut ws, x.view(), labels.view(), &criterion);
            assert!((step_loss - loss).abs() < 1e-12);
        }
        assert_close(ws.output().as_slice().unwrap(), output.as_slice().unwrap());
        assert_close(&flat_params(&stepped, true), &flat_params(&taped, true));
    }};
}

fn random2(rows: usize, cols: usize) -> Array2<f64> {
    let mut rng = StdRng::seed_from_u64(9);
    Array2::from_shape_simple_fn((rows, cols), || rng.random_range(-2.0..2.0))
}

fn random4(shape: (usize, usize, usize, usize)) -> Array4<f64> {
    let mut rng = StdRng::seed_from_u64(9);
    Array4::from_shape_simple_fn(shape, || rng.random_range(-2.0..2.0))
}

#[test]
fn dense_train_step_equals_the_taped_path() {
    check_train_step!(Dense<f64>, random2(5, 6), Array1::from(vec![0, 3, 1, 2, 3]));
}

#[test]
fn flatten_and_softmax_train_step_equals_the_taped_path() {
    check_train_step!(DenseSoftmax<f64>, random4((4, 1, 2, 3)), Array1::from(vec![2, 0, 1, 1]));
}

#[test]
fn conv_train_step_equals_the_taped_path() {
    check_train_step!(Conv<f64>, random4((3, 1, 5, 5)), Array1::from(vec![2, 0, 1]));
}

#[test]
fn every_conv_layer_kind_train_step_equals_the_taped_path() {
    check_train_step!(EveryConv<f64>, random4((3, 2, 12, 12)), Array1::from(vec![2, 0, 1]));
}

#[test]
fn lenet_train_step_equals_the_taped_path() {
    check_train_step!(LeNet<f64>, random4((3, 1, 28, 28)), Array1::from(vec![7, 0, 4]));
}

#[test]
fn workspace_follows_the_batch_size() {
    let mut model = Dense::<f32>::init(&mut StdRng::seed_from_u64(0));
    let mut ws = DenseWorkspace::new(2);
    let criterion = CrossEntropyLoss::new();
    for batch in [2, 5, 1] {
        let x = Array2::<f32>::ones((batch, 6));
        let labels = Array1::from(vec![1; batch]);
        model.train_step(&mut ws, x.view(), labels.view(), &criterion);
        assert_eq!(ws.output().dim(), (batch, 4));
    }
}

network! {
    pub struct WithDropout {
        Linear(6, 8) -> ReLU -> Dropout(0.5) -> Linear(8, 3)
    }
}

#[test]
fn forward_with_equals_forward_dropout_off() {
    let x = random2(5, 6);
    let model = WithDropout::<f64>::init(&mut StdRng::seed_from_u64(2));
    let mut ws = WithDropoutWorkspace::default();
    assert_eq!(model.forward_with(&mut ws, x.view()), model.forward(x.view()));
    let conv = Conv::<f64>::init(&mut StdRng::seed_from_u64(2));
    let images = random4((2, 1, 5, 5));
    assert_eq!(conv.forward_with(&mut Default::default(), images.view()), conv.forward(images.view()));
    let every = EveryConv::<f64>::init(&mut StdRng::seed_from_u64(2));
    let images = random4((2, 2, 12, 12));
    assert_eq!(every.forward_with(&mut Default::default(), images.view()), every.forward(images.view()));
}
