//! Convolutional and composite networks end to end: the generated backward through
//! Conv2d, BatchNorm, pooling, Flatten, Residual, a nested network and `nn::Chain`
//! against central finite differences in f64, and the frozen copy against `forward`.

use nn::ndarray::{Array, Array2, Array4, Dimension};
use nn::prelude::*;
use nn::rand::rngs::StdRng;
use nn::rand::{Rng, SeedableRng};

mod common;
use common::check_gradients;

network! {
    /// Every image layer kind, small enough for finite differences.
    pub struct Vision {
        input: [2, 6, 6],
        Conv2d(2, 3, 3, padding = 1) -> BatchNorm2d(3) -> ReLU -> MaxPool2d(2)
            -> Residual(Conv2d(3, 3, 3, padding = 1) -> Tanh)
            -> AvgPool2d(3) -> Flatten -> Linear(3, 4) -> GELU -> BatchNorm1d(4) -> Linear(4, 2)
    }
}

network! {
    /// A projection Residual as the first layer, grouped, depthwise and non-square
    /// convolutions, and adaptive pooling with overlapping windows (3 -> 2, 5 -> 3).
    pub struct Projection {
        input: [2, 5, 6],
        Residual(
            Conv2d(2, 4, 3, padding = 1, groups = 2) -> Tanh -> Conv2d(4, 4, (3, 2), stride = (2, 1), padding = (1, 0)),
            shortcut = Conv2d(2, 4, (3, 2), stride = (2, 1), padding = (1, 0), bias = false)
        )
            -> Conv2d(4, 4, 3, padding = 1, groups = 4) -> AdaptiveAvgPool2d((2, 3)) -> Flatten -> Linear(24, 2)
    }
}

network! {
    /// Each BatchNorm right after a layer without bias: freezing folds it in, a bias
    /// appearing; the one inside the projection Residual folds there too.
    pub struct Folds {
        input: [2, 6, 6],
        Conv2d(2, 4, 3, bias = false) -> BatchNorm2d(4) -> ReLU
            -> Residual(Conv2d(4, 4, 3, stride = 2) -> BatchNorm2d(4), shortcut = Conv2d(4, 4, 1, stride = 2, padding = (0, 1), bias = false) -> AdaptiveAvgPool2d((1, 1)) -> BatchNorm2d(4))
            -> Flatten -> Linear(4, 5, bias = false) -> BatchNorm1d(5)
    }
}

network! {
    /// Strided convolution without bias, and a flat residual block.
    pub struct Strided {
        input: [1, 7, 7],
        Conv2d(1, 2, 3, stride = 2, bias = false) -> Sigmoid -> Flatten
            -> Residual(Linear(18, 18) -> Tanh) -> Linear(_, 3)
    }
}

network! {
    /// A network used as a layer of another.
    pub struct Encoder {
        Linear(6, 4) -> Tanh
    }
}

network! {
    /// Uses `Encoder` as its third layer; its keys are `enc.0.weight`, ...
    pub struct WithEncoder {
        Linear(3, 6) -> ReLU -> enc: Encoder -> Linear(4, 2)
    }
}

network! {
    /// Begins with a network declared elsewhere, without `input:`: its input is `Encoder`'s.
    pub struct EncoderFirst {
        Encoder -> Linear(4, 3)
    }
}

/// A network declared in another module, imported with its companion types.
mod encoders {
    nn::network! {
        /// An image encoder, input declared.
        pub struct ImageEncoder {
            input: [1, 4, 4],
            Conv2d(1, 2, 3) -> ReLU -> Flatten
        }
    }
}
use encoders::*;

network! {
    /// Begins with an image network from another module: its input is `[1, 4, 4]`.
    pub struct ImageEncoderFirst {
        ImageEncoder -> Linear(8, 2)
    }
}

network! {
    /// The head of a `Chain<Encoder, Head>`.
    pub struct Head {
        Linear(4, 2)
    }
}

network! {
    /// Residual chains that begin with a batch norm, a padding and a nested network, and
    /// a network that begins with a pooling: each first layer ends its chain's backward.
    pub struct ChainEdges {
        input: [2, 3, 3],
        AvgPool2d(2, stride = 1) -> Residual(BatchNorm2d(2) -> ReLU) -> Residual(ZeroPad2d(1, 0, 1, 0) -> MaxPool2d(2, stride = 1))
            -> Flatten -> Residual(enc: Encoder8 -> Linear(8, 8)) -> Linear(8, 2)
    }
}

network! {
    /// A network used inside a residual chain.
    pub struct Encoder8 {
        Linear(8, 5) -> GELU -> Linear(5, 8)
    }
}

fn rng() -> StdRng {
    StdRng::seed_from_u64(7)
}

/// Sample `n` of the batch `x` as the array frozen `infer` takes.
fn sample<const C: usize, const H: usize, const W: usize>(x: &Array4<f64>, n: usize) -> [[[f64; W]; H]; C] {
    std::array::from_fn(|c| std::array::from_fn(|h| std::array::from_fn(|w| x[[n, c, h, w]])))
}

fn random<D: Dimension>(shape: impl nn::ndarray::ShapeBuilder<Dim = D>, rng: &mut StdRng) -> Array<f64, D> {
    Array::from_shape_simple_fn(shape, || rng.random_range(-1.5..1.5))
}

#[test]
fn vision_backward_matches_finite_differences() {
    let mut rng = rng();
    let x: Array4<f64> = random((3, 2, 6, 6), &mut rng);
    check_gradients(Vision::<f64>::init(&mut rng), x, random((3, 2), &mut rng));
}

#[test]
fn chain_edges_freeze_like_forward_and_backward_matches_finite_differences() {
    let mut rng = rng();
    let x: Array4<f64> = random((3, 2, 3, 3), &mut rng);
    let model = ChainEdges::<f64>::init(&mut rng);
    let want = model.forward(x.view());
    let sample = sample::<2, 3, 3>(&x, 0);
    for (got, want) in model.freeze().infer(&sample).iter().zip(want.row(0)) {
        assert!((got - want).abs() < 1e-12, "frozen {got} vs forward {want}");
    }
    check_gradients(model, x, random((3, 2), &mut rng));
}

#[test]
fn projection_backward_matches_finite_differences_and_freezes_like_forward() {
    let mut rng = rng();
    let x: Array4<f64> = random((3, 2, 5, 6), &mut rng);
    let model = Projection::<f64>::init(&mut rng);
    let want = model.forward(x.view());
    let sample = sample::<2, 5, 6>(&x, 0);
    for (got, want) in model.freeze().infer(&sample).iter().zip(want.row(0)) {
        assert!((got - want).abs() < 1e-12, "frozen {got} vs forward {want}");
    }
    check_gradients(model, x, random((3, 2), &mut rng));
}

#[test]
fn a_first_layer_projection_residual_accumulates_gradients_without_the_input_gradient() {
    let mut rng = rng();
    let x: Array4<f64> = random((2, 2, 5, 6), &mut rng);
    let r: Array2<f64> = random((2, 2), &mut rng);
    // Two copies of one model.
    let mut with_input = Projection::<f64>::init(&mut StdRng::seed_from_u64(3));
    let mut without = Projection::<f64>::init(&mut StdRng::seed_from_u64(3));
    with_input.zero_grad();
    without.zero_grad();
    let (_, tape) = with_input.forward_train(x.view());
    with_input.backward_with_input_grad(tape, r.view());
    let (_, tape) = without.forward_train(x.view());
    without.backward(tape, r.view());
    let grads = |model: &Projection<f64>| {
        let mut all = Vec::new();
        model.visit(&mut |_, entry| {
            if let nn::Entry::Param { grad, .. } = entry {
                all.extend(grad.iter().copied());
            }
        });
        all
    };
    let (a, b) = (grads(&with_input), grads(&without));
    assert!(a.iter().any(|&g| g != 0.0));
    assert_eq!(a, b, "backward must accumulate the same parameter gradients as backward_with_input_grad");
}

#[test]
fn strided_backward_matches_finite_differences() {
    let mut rng = rng();
    let x: Array4<f64> = random((2, 1, 7, 7), &mut rng);
    check_gradients(Strided::<f64>::init(&mut rng), x, random((2, 3), &mut rng));
}

#[test]
fn nested_network_backward_matches_finite_differences() {
    let mut rng = rng();
    let x: Array2<f64> = random((3, 3), &mut rng);
    check_gradients(WithEncoder::<f64>::init(&mut rng), x, random((3, 2), &mut rng));
}

#[test]
fn a_nested_network_as_first_layer_fixes_the_input() {
    assert_eq!(EncoderFirst::<f32>::INPUT_SHAPE, [6]);
    assert_eq!(ImageEncoderFirst::<f32>::INPUT_SHAPE, [1, 4, 4]);
    let mut keys = Vec::new();
    ImageEncoderFirst::<f32>::init(&mut rng()).visit(&mut |key, _| keys.push(key.to_string()));
    assert_eq!(keys, ["0.0.weight", "0.0.bias", "1.weight", "1.bias"]);
    let mut rng = rng();
    let x: Array2<f64> = random((3, 6), &mut rng);
    check_gradients(EncoderFirst::<f64>::init(&mut rng), x, random((3, 3), &mut rng));
    let x: Array4<f64> = random((2, 1, 4, 4), &mut rng);
    check_gradients(ImageEncoderFirst::<f64>::init(&mut rng), x, random((2, 2), &mut rng));
}

#[test]
fn chain_backward_matches_finite_differences() {
    let mut rng = rng();
    let x: Array2<f64> = random((3, 6), &mut rng);
    check_gradients(Chain::<Encoder<f64>, Head<f64>>::init(&mut rng), x, random((3, 2), &mut rng));
}

#[test]
fn shapes_and_keys_of_composite_networks() {
    assert_eq!(Vision::<f32>::INPUT_SHAPE, [2, 6, 6]);
    assert_eq!(Vision::<f32>::OUTPUT, 2);
    let expected = (3 * 2 * 9 + 3) + 6 + (3 * 3 * 9 + 3) + (3 * 4 + 4) + 8 + (4 * 2 + 2);
    assert_eq!(Vision::<f32>::NUM_PARAMS, expected);
    assert_eq!(Vision::<f32>::init(&mut rng()).num_params(), expected);
    assert_eq!(WithEncoder::<f32>::NUM_PARAMS, 24 + 28 + 10);

    let mut keys = Vec::new();
    WithEncoder::<f32>::init(&mut rng()).visit(&mut |key, _| keys.push(key.to_string()));
    assert_eq!(keys, ["0.weight", "0.bias", "enc.0.weight", "enc.0.bias", "3.weight", "3.bias"]);

    let mut keys = Vec::new();
    Vision::<f32>::init(&mut rng()).visit(&mut |key, _| keys.push(key.to_string()));
    assert_eq!(
        &keys[..7],
        ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var", "1.num_batches_tracked"]
    );
    assert_eq!(&keys[7..9], ["4.0.weight", "4.0.bias"]);
}

#[test]
fn frozen_infer_matches_forward_for_images() {
    let mut rng = rng();
    let mut model = Vision::<f64>::init(&mut rng);
    // Move the running statistics away from (0, 1) so inference exercises them.
    for _ in 0..3 {
        let x: Array4<f64> = random((4, 2, 6, 6), &mut rng);
        let (y, tape) = model.forward_train(x.view());
        model.backward(tape, y.view());
    }
    let frozen = model.freeze();
    let x: Array4<f64> = random((2, 2, 6, 6), &mut rng);
    let batch = model.forward(x.view());
    for (n, want) in batch.rows().into_iter().enumerate() {
        let sample = sample::<2, 6, 6>(&x, n);
        let got = frozen.infer(&sample);
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-9, "frozen {g} vs forward {w}");
        }
    }

    let nested = WithEncoder::<f64>::init(&mut rng);
    let x: Array2<f64> = random((1, 3), &mut rng);
    let got = nested.freeze().infer(&[x[[0, 0]], x[[0, 1]], x[[0, 2]]]);
    for (g, w) in got.iter().zip(nested.forward(x.view())) {
        assert!((g - w).abs() < 1e-12);
    }
}

#[test]
fn freezing_folds_each_batch_norm_into_the_layer_before_it() {
    // Frozen: conv 4·2·9 + bias 4; residual conv 4·4·9 + 4, shortcut 4·4 + 4 (its
    // BatchNorm follows the pool, so it stays: scale and shift 4 + 4); linear 5·4 + bias 5.
    let scalars = (72 + 4) + (144 + 4) + (16 + 8) + (20 + 5);
    assert_eq!(Folds::<f64>::FROZEN_BYTES, 8 * scalars);
    let mut rng = rng();
    let mut model = Folds::<f64>::init(&mut rng);
    for _ in 0..3 {
        let x: Array4<f64> = random((4, 2, 6, 6), &mut rng);
        let (y, tape) = model.forward_train(x.view());
        model.backward(tape, y.view());
    }
    let frozen = model.freeze();
    let x: Array4<f64> = random((2, 2, 6, 6), &mut rng);
    let batch = model.forward(x.view());
    for (n, want) in batch.rows().into_iter().enumerate() {
        let sample = sample::<2, 6, 6>(&x, n);
        for (g, w) in frozen.infer(&sample).iter().zip(want) {
            assert!((g - w).abs() < 1e-9 * w.abs().max(1.0), "frozen {g} vs forward {w}");
        }
    }
}

#[test]
fn composite_networks_save_and_load() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vision.safetensors");
    let mut model = Vision::<f32>::init(&mut rng());
    let x = Array4::from_elem((2, 2, 6, 6), 0.5f32);
    let (y, tape) = model.forward_train(x.view());
    model.backward(tape, y.view());
    model.save(&path).unwrap();
    let loaded = Vision::<f32>::load(&path).unwrap();
    assert_eq!(loaded.forward(x.view()), model.forward(x.view()));
    assert_eq!(loaded.layer1.num_batches_tracked, 1);
}
