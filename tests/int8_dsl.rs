//! The int8 form `network!` generates: `quantize` follows TFLite's scheme step for step
//! (checked against the runtime's kernels composed by hand, a Residual's projection
//! shortcut included), `save`/`load` round-trip, int8 ResNet-8 tracks the float model,
//! and a layer without an int8 form is a typed error naming it.

use nn::int8::ptq::{quantize_layer, Range};
use nn::int8::{Dense, Requantize};
use nn::ndarray::{Array2, Array4};
use nn::network;
use nn::rand::{self, Rng, SeedableRng};

network! {
    struct Mlp { Linear(12, 16) -> ReLU -> Dropout(0.5) -> Linear(16, 5) -> Softmax }
}

network! {
    struct Normed { Linear(6, 8, bias = false) -> BatchNorm1d(8) -> ReLU -> Linear(8, 3) }
}

network! {
    struct Smooth { Linear(4, 4) -> Sigmoid -> Linear(4, 2) }
}

network! {
    struct Convs {
        input: [2, 9, 9],
        ZeroPad2d(1, 0, 1, 0) -> Conv2d(2, 4, 3) -> ReLU -> MaxPool2d(2) -> ReLU
            -> Residual(Conv2d(4, 4, 1) -> ReLU) -> AvgPool2d(2) -> Flatten -> Linear(16, 3)
    }
}

network! {
    struct Projected {
        input: [4, 8, 8],
        Conv2d(4, 8, 3, padding = 1) -> ReLU
            -> Residual(
                Conv2d(8, 16, 3, stride = 2, padding = 1) -> ReLU -> Conv2d(16, 16, 3, padding = 1),
                shortcut = Conv2d(8, 16, 1, stride = 2)
            )
            -> ReLU -> AdaptiveAvgPool2d(1) -> Flatten -> Linear(16, 3)
    }
}

#[path = "../examples/models/resnet8.rs"]
mod resnet8;
use resnet8::*;

network! {
    #[weights = "tests/ui/fixtures/tiny_int8.safetensors"]
    struct Baked { Linear(4, 3) -> ReLU -> Linear(3, 2) }
}

fn batch(n: usize, features: usize, seed: u64) -> Array2<f32> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    Array2::from_shape_fn((n, features), |_| rng.random_range(-2.0..2.0))
}

#[test]
fn quantize_is_tflites_scheme_layer_by_layer() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let model = Mlp::<f32>::init(&mut rng);
    let calibration = batch(64, 12, 2);
    let q = model.quantize(calibration.view()).unwrap();

    // The same by hand: ranges from the float forward, per-channel weights, the kernels.
    let (mut input, mut hidden, mut logits) = (Range::new(), Range::new(), Range::new());
    for row in calibration.rows() {
        let x = row.to_vec();
        input.observe(&x);
        let h = model.layer0.forward(row.insert_axis(nn::ndarray::Axis(0)));
        let h = h.mapv(|v| v.max(0.0));
        hidden.observe(h.as_slice().unwrap());
        logits.observe(model.layer3.forward(h.view()).as_slice().unwrap());
    }
    let input = input.quant();
    // The frozen forward `quantize` observes and the batched one here round alike up to
    // the last bits of a sum: the ranges agree that far, the kernels then exactly.
    let (hidden, near) = (q.layer0_output, hidden.quant());
    assert_eq!(hidden.zero_point, near.zero_point);
    assert!((hidden.scale - near.scale).abs() <= 1e-6 * near.scale, "{hidden:?} against {near:?}");
    let (logits, near) = (q.layer3_output, logits.quant());
    assert_eq!(logits.zero_point, near.zero_point);
    assert!((logits.scale - near.scale).abs() <= 1e-6 * near.scale, "{logits:?} against {near:?}");
    let quantized = |layer: &nn::layers::Linear<f32>, s_in: f32| {
        let bias = layer.bias.as_ref().unwrap().to_vec();
        quantize_layer(layer.weight.as_slice().unwrap(), layer.weight.nrows(), Some(&bias), s_in)
    };
    let (w0, w3) = (quantized(&model.layer0, input.scale), quantized(&model.layer3, hidden.scale));
    let rows0: Vec<[i8; 12]> = w0.weight.as_chunks::<12>().0.to_vec();
    let rows3: Vec<[i8; 16]> = w3.weight.as_chunks::<16>().0.to_vec();
    let scales0: [f32; 16] = w0.weight_scale.clone().try_into().unwrap();
    let scales3: [f32; 5] = w3.weight_scale.clone().try_into().unwrap();
    let layer0 = Dense::<12, 16, 6, 4>::new(
        rows0.as_slice().try_into().unwrap(),
        w0.bias.clone().try_into().unwrap(),
        Requantize::new(input.scale, &scales0, hidden.scale, hidden.zero_point, true),
        input.zero_point,
    );
    let layer3 = Dense::<16, 5, 8, 2>::new(
        rows3.as_slice().try_into().unwrap(),
        w3.bias.clone().try_into().unwrap(),
        Requantize::new(hidden.scale, &scales3, logits.scale, logits.zero_point, false),
        hidden.zero_point,
    );
    assert_eq!(q.input, input);
    assert_eq!(q.layer0, layer0);
    assert_eq!(q.layer3, layer3);
    assert_eq!(q.layer3_output, logits);

    let probe = batch(20, 12, 3);
    let frozen = model.freeze();
    for row in probe.rows() {
        let x: [f32; 12] = row.to_vec().try_into().unwrap();
        let qx: [i8; 12] = std::array::from_fn(|i| input.quantize(x[i]));
        assert_eq!(q.quantize_input(&x), qx);
        let want = layer3.infer(&layer0.infer(&qx));
        assert_eq!(q.infer(&qx), want);
        // `infer_f32` ends in the Softmax, and tracks the float model.
        let probs = q.infer_f32(&x);
        assert!((probs.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        for (p, f) in probs.iter().zip(frozen.infer(&x)) {
            assert!((p - f).abs() < 0.05, "int8 {probs:?} against float {:?}", frozen.infer(&x));
        }
    }
}

#[test]
fn save_then_load_gives_the_same_model() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("convs-int8.safetensors");
    let mut rng = rand::rngs::StdRng::seed_from_u64(4);
    let model = Convs::<f32>::init(&mut rng);
    let calibration = Array4::from_shape_fn((16, 2, 9, 9), |_| rng.random_range(-1.0f32..1.0));
    let q = model.quantize(calibration.view()).unwrap();
    q.save(&path).unwrap();
    let back = ConvsInt8::load(&path).unwrap();
    assert_eq!(back, q);
    let names = nn::io::parse(&path, &nn::io::read(&path).unwrap()).unwrap().names().len();
    // input (2), two convolutions and the dense (5 each), the residual (2).
    assert_eq!(names, 2 + 3 * 5 + 2);
    // A file for another network is refused, naming the tensor.
    let error = MlpInt8::load(&path).unwrap_err();
    assert!(matches!(error, nn::Error::UnexpectedTensor { .. }), "{error}");
    // The int8 model tracks the float one.
    let frozen = model.freeze();
    for sample in calibration.outer_iter().take(8) {
        let x: [[[f32; 9]; 9]; 2] =
            std::array::from_fn(|c| std::array::from_fn(|h| std::array::from_fn(|w| sample[[c, h, w]])));
        let (got, want) = (q.infer_f32(&x), frozen.infer(&x));
        let scale = q.layer8_output.scale;
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() <= 8.0 * scale + 0.02, "int8 {got:?}, float {want:?}");
        }
    }
}

#[test]
fn batch_norm_folds_into_the_layer_before_it() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let mut model = Normed::<f32>::init(&mut rng);
    model.layer1.running_mean.mapv_inplace(|_| rng.random_range(-0.5..0.5));
    model.layer1.running_var.mapv_inplace(|_| rng.random_range(0.5..2.0));
    let calibration = batch(32, 6, 6);
    let q = model.quantize(calibration.view()).unwrap();
    let frozen = model.freeze();
    for row in calibration.rows() {
        let x: [f32; 6] = row.to_vec().try_into().unwrap();
        let (got, want) = (q.infer_f32(&x), frozen.infer(&x));
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() <= 4.0 * q.layer3_output.scale, "int8 {got:?}, float {want:?}");
        }
    }
}

#[test]
fn a_layer_without_an_int8_form_is_an_error_naming_it() {
    let model = Smooth::<f32>::init(&mut rand::rngs::StdRng::seed_from_u64(0));
    let error = model.quantize(batch(4, 4, 0).view()).unwrap_err();
    assert!(matches!(error, nn::Error::InvalidLayer { .. }));
    assert!(error.to_string().contains("`Sigmoid` (layer `1`) has no int8 form"), "{error}");
}

#[test]
fn calibration_must_fit_the_network() {
    let model = Mlp::<f32>::init(&mut rand::rngs::StdRng::seed_from_u64(0));
    assert!(matches!(model.quantize(batch(4, 11, 0).view()), Err(nn::Error::Shape { .. })));
    assert!(matches!(model.quantize(batch(0, 12, 0).view()), Err(nn::Error::Dataset(_))));
}

#[test]
fn a_baked_int8_file_is_the_model_load_builds() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui/fixtures/tiny_int8.safetensors");
    let loaded = BakedInt8::load(&path).unwrap();
    assert_eq!(*Baked::INT8, loaded);
    assert_eq!(Baked::INT8.layer2_output, nn::int8::Quant { scale: 0.1, zero_point: 3 });
    // The multipliers are computed in the constant, from the file's scales.
    let requantize = Requantize::new(1.0 / 255.0, &[0.01, 0.02, 0.03], 0.05, -128, true);
    assert_eq!(Baked::INT8.layer0.requantize, requantize);
    let x = [-128, 0, 64, 127];
    assert_eq!(Baked::INT8.infer(&x), loaded.infer(&x));
}

#[test]
fn a_conv_chain_runs_the_int8_kernels_in_order() {
    use nn::int8::file::Int8File;
    use nn::int8::{avg_pool2d_into, max_pool2d_into, relu_in_place, zero_pad2d_into, Conv2d, Geometry};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("convs-int8.safetensors");
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let model = Convs::<f32>::init(&mut rng);
    let calibration = Array4::from_shape_fn((16, 2, 9, 9), |_| rng.random_range(-1.0f32..1.0));
    let q = model.quantize(calibration.view()).unwrap();
    q.save(&path).unwrap();

    // The same chain composed by hand from the file's layers.
    let file = Int8File::load(&path, &ConvsInt8::LAYERS).unwrap();
    let geometry = |k| Geometry { kernel: [k, k], stride: [1, 1], padding: [0, 0], groups: 1 };
    let conv: Conv2d<2, 10, 10, 4, 8, 8, 9, 1> = file.conv2d("1", file.input(), geometry(3), true);
    let inner: Conv2d<4, 4, 4, 4, 4, 4, 2, 1> = file.conv2d("5.0", file.output("1"), geometry(1), true);
    let add = file.add("5", file.output("5.0"), file.output("1"), false);
    let dense: Dense<16, 3, 8, 1> = file.dense("8", file.output("5"), false);
    for sample in calibration.outer_iter() {
        let x: [[[f32; 9]; 9]; 2] =
            std::array::from_fn(|c| std::array::from_fn(|h| std::array::from_fn(|w| sample[[c, h, w]])));
        let qx = q.quantize_input(&x);
        let mut padded = [[[0i8; 10]; 10]; 2];
        zero_pad2d_into(&qx, &mut padded, 1, 1, file.input().zero_point);
        let mut pooled = [[[0i8; 4]; 4]; 4];
        max_pool2d_into(&conv.infer(&padded), &mut pooled, [2, 2], [2, 2]);
        relu_in_place(pooled.as_flattened_mut().as_flattened_mut(), file.output("1").zero_point);
        let mut sum = inner.infer(&pooled);
        add.add_in_place(sum.as_flattened_mut().as_flattened_mut(), pooled.as_flattened().as_flattened());
        let mut averaged = [[[0i8; 2]; 2]; 4];
        avg_pool2d_into(&sum, &mut averaged, [2, 2], [2, 2]);
        let flat: &[i8; 16] = averaged.as_flattened().as_flattened().try_into().unwrap();
        assert_eq!(q.infer(&qx), dense.infer(flat));
    }
}

/// The `[C, H, W]` sample of `batch` at `n` as an array.
fn image<const C: usize, const H: usize, const W: usize>(batch: &Array4<f32>, n: usize) -> [[[f32; W]; H]; C] {
    std::array::from_fn(|c| std::array::from_fn(|h| std::array::from_fn(|w| batch[[n, c, h, w]])))
}

#[test]
fn a_projection_shortcut_runs_both_sides_then_the_add() {
    use nn::int8::file::Int8File;
    use nn::int8::{adaptive_avg_pool2d_into, Conv2d, Geometry};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("projected-int8.safetensors");
    let mut rng = rand::rngs::StdRng::seed_from_u64(8);
    let model = Projected::<f32>::init(&mut rng);
    let calibration = Array4::from_shape_fn((16, 4, 8, 8), |_| rng.random_range(-1.0f32..1.0));
    let q = model.quantize(calibration.view()).unwrap();
    q.save(&path).unwrap();
    assert_eq!(ProjectedInt8::load(&path).unwrap(), q);
    let names = nn::io::parse(&path, &nn::io::read(&path).unwrap()).unwrap().names().len();
    // input (2), four convolutions and the dense (5 each), the residual (2).
    assert_eq!(names, 2 + 5 * 5 + 2);

    // Each side from the residual's input, its own output quantisation, then the ADD.
    let file = Int8File::load(&path, &ProjectedInt8::LAYERS).unwrap();
    let geometry = |k, s, p| Geometry { kernel: [k, k], stride: [s, s], padding: [p, p], groups: 1 };
    let conv: Conv2d<4, 8, 8, 8, 8, 8, 18, 2> = file.conv2d("0", file.input(), geometry(3, 1, 1), true);
    let down: Conv2d<8, 8, 8, 16, 4, 4, 36, 4> = file.conv2d("2.0", file.output("0"), geometry(3, 2, 1), true);
    let chain: Conv2d<16, 4, 4, 16, 4, 4, 72, 4> = file.conv2d("2.2", file.output("2.0"), geometry(3, 1, 1), false);
    let shortcut: Conv2d<8, 8, 8, 16, 4, 4, 4, 4> =
        file.conv2d("2.shortcut.0", file.output("0"), geometry(1, 2, 0), false);
    assert_ne!(file.output("2.2"), file.output("2.shortcut.0"), "each side has its own range");
    let add = file.add("2", file.output("2.2"), file.output("2.shortcut.0"), true);
    let dense: Dense<16, 3, 8, 1> = file.dense("6", file.output("2"), false);
    let frozen = model.freeze();
    for n in 0..calibration.shape()[0] {
        let x = image::<4, 8, 8>(&calibration, n);
        let qx = q.quantize_input(&x);
        let features = conv.infer(&qx);
        let mut sum = chain.infer(&down.infer(&features));
        add.add_in_place(
            sum.as_flattened_mut().as_flattened_mut(),
            shortcut.infer(&features).as_flattened().as_flattened(),
        );
        let mut pooled = [[[0i8; 1]; 1]; 16];
        adaptive_avg_pool2d_into(&sum, &mut pooled);
        let flat: &[i8; 16] = pooled.as_flattened().as_flattened().try_into().unwrap();
        assert_eq!(q.infer(&qx), dense.infer(flat));
        // And it tracks the float model.
        let (got, want) = (q.infer_f32(&x), frozen.infer(&x));
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() <= 8.0 * q.layer6_output.scale, "int8 {got:?}, float {want:?}");
        }
    }
}

/// How far int8 ResNet-8's dequantised outputs may be from the float ones, in steps of
/// the output's scale (measured: 1.35): each of its quantised layers and adds rounds once.
const RESNET8_STEPS: f32 = 3.0;

#[test]
fn int8_resnet8_tracks_the_float_model() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pytorch/mlperf_tiny");
    let model = ResNet8::<f32>::load(root.join("resnet8_weights.safetensors")).unwrap();
    let io_path = root.join("resnet8_io.safetensors");
    let bytes = nn::io::read(&io_path).unwrap();
    let io = nn::io::parse(&io_path, &bytes).unwrap();
    let input = io.tensor("input").unwrap();
    let values: Vec<f32> = input.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    let fixture = Array4::from_shape_vec((4, 3, 32, 32), values).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(9);
    let synthetic = Array4::from_shape_fn((12, 3, 32, 32), |_| rng.random_range(-1.0f32..1.0));
    let calibration = nn::ndarray::concatenate(nn::ndarray::Axis(0), &[fixture.view(), synthetic.view()]).unwrap();
    let q = model.quantize(calibration.view()).unwrap();
    let step = q.layer11_output.scale;
    let argmax = |v: &[f32]| (0..v.len()).max_by(|&a, &b| v[a].total_cmp(&v[b])).unwrap();
    let mut worst = 0.0f32;
    for batch in [&fixture, &Array4::from_shape_fn((8, 3, 32, 32), |_| rng.random_range(-1.0f32..1.0))] {
        let want = model.forward(batch.view());
        for (n, want) in want.outer_iter().enumerate() {
            let got = q.infer_f32(&image::<3, 32, 32>(batch, n));
            let want = want.to_vec();
            for (g, w) in got.iter().zip(&want) {
                worst = worst.max((g - w).abs() / step);
            }
            assert_eq!(argmax(&got), argmax(&want), "int8 {got:?}, float {want:?}");
        }
    }
    assert!(worst <= RESNET8_STEPS, "int8 is {worst} output steps from float");
}
