//! nn's int8 kernels reproduce TFLite for Microcontrollers bit for bit: a Keras model
//! (Conv2D + ReLU, a residual DepthwiseConv2D joined by an ADD, max and average pooling,
//! Dense) quantised to int8 by TFLite's converter, its parameters in an int8 weight file
//! in nn's layout, on inputs whose TFLM outputs `tests/int8/make_fixture.py` recorded.
//! The model is declared with `network!` and run through the generated `load` and
//! `infer`, and composed by hand from the kernels too.

use std::path::Path;

use nn::int8::file::{Int8File, Layer};
use nn::int8::{avg_pool2d_into, max_pool2d_into, Conv2d, Dense, Geometry};
use nn::network;

network! {
    /// The fixture's last layer, on its own.
    struct Head { Linear(16, 5) }
}

network! {
    /// The fixture's whole model, keyed as `LAYERS` says.
    struct Fixture {
        input: [2, 8, 8],
        Conv2d(2, 4, 3, padding = 1) -> ReLU -> Residual(Conv2d(4, 4, 3, padding = 1, groups = 4))
            -> MaxPool2d(2) -> AvgPool2d(2) -> Flatten -> Linear(16, 5)
    }
}

/// The network the fixture describes, as nn would key it:
/// `Conv2d(2, 4, 3, padding = 1) -> ReLU -> Residual(Conv2d(4, 4, 3, padding = 1, groups = 4))
/// -> MaxPool2d(2) -> AvgPool2d(2) -> Flatten -> Linear(16, 5)`.
const LAYERS: [Layer<'static>; 4] = [
    Layer::Weighted { key: "0", shape: &[4, 2, 3, 3] },
    Layer::Weighted { key: "2.0", shape: &[4, 1, 3, 3] },
    Layer::Residual { key: "2" },
    Layer::Weighted { key: "6", shape: &[5, 16] },
];

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/int8").join(name)
}

#[test]
fn int8_kernels_reproduce_tflm_bit_for_bit() {
    let file = Int8File::load(fixture("tflite-int8.safetensors"), &LAYERS).unwrap();
    let same = |groups| Geometry { kernel: [3, 3], stride: [1, 1], padding: [1, 1], groups };
    let conv: Conv2d<2, 8, 8, 4, 8, 8, 9, 1> = file.conv2d("0", file.input(), same(1), true);
    let depthwise: Conv2d<4, 8, 8, 4, 8, 8, 5, 1> = file.conv2d("2.0", file.output("0"), same(4), false);
    let add = file.add("2", file.output("2.0"), file.output("0"), false);
    let dense: Dense<16, 5, 8, 2> = file.dense("6", file.output("2"), false);

    let bytes = nn::io::read(&fixture("tflm-outputs.safetensors")).unwrap();
    let recorded = nn::io::parse(&fixture("tflm-outputs.safetensors"), &bytes).unwrap();
    let as_i8 = |name: &str| -> Vec<i8> { recorded.tensor(name).unwrap().data().iter().map(|&b| b as i8).collect() };
    let (inputs, outputs) = (as_i8("inputs"), as_i8("outputs"));
    assert_eq!(inputs.len() / (2 * 8 * 8), outputs.len() / 5);
    assert!(outputs.len() >= 5 * 8, "the fixture holds {} outputs", outputs.len() / 5);
    // The head as a declared network: its int8 file is the fixture's layer `6` keyed `0`,
    // its input quantised as the residual's output.
    let dir = tempfile::tempdir().unwrap();
    let head_path = dir.path().join("head-int8.safetensors");
    let mut head_file = Int8File::new();
    head_file.set_input(file.output("2"));
    head_file.set_weighted(
        "0",
        &[5, 16],
        &file.weight("6"),
        &file.weight_scale("6"),
        &file.bias("6"),
        file.output("6"),
    );
    head_file.save(&head_path).unwrap();
    let head = HeadInt8::load(&head_path).unwrap();
    let declared = FixtureInt8::load(fixture("tflite-int8.safetensors")).unwrap();
    for (n, (x, want)) in inputs.chunks(2 * 8 * 8).zip(outputs.chunks(5)).enumerate() {
        let x: [[[i8; 8]; 8]; 2] =
            std::array::from_fn(|c| std::array::from_fn(|h| std::array::from_fn(|w| x[(c * 8 + h) * 8 + w])));
        let shortcut = conv.infer(&x);
        let mut sum = depthwise.infer(&shortcut);
        add.add_in_place(sum.as_flattened_mut().as_flattened_mut(), shortcut.as_flattened().as_flattened());
        let (mut pooled, mut averaged) = ([[[0i8; 4]; 4]; 4], [[[0i8; 2]; 2]; 4]);
        max_pool2d_into(&sum, &mut pooled, [2, 2], [2, 2]);
        avg_pool2d_into(&pooled, &mut averaged, [2, 2], [2, 2]);
        let flat: [i8; 16] = averaged.as_flattened().as_flattened().try_into().unwrap();
        assert_eq!(dense.infer(&flat), want, "input {n}: nn's int8 output differs from TFLM's");
        assert_eq!(head.infer(&flat), want, "input {n}: the generated int8 head differs from TFLM's");
        assert_eq!(declared.infer(&x), want, "input {n}: the declared int8 model differs from TFLM's");
    }
}
