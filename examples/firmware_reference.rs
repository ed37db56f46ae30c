//! The host's side of the firmware check (`examples/firmware/`): loads the firmware's
//! weight files, freezes them, and runs the frozen `infer` — the same kernels the
//! firmware runs — on the same eight test digits, printing the lines the firmware prints.
//! It also runs the int8 kernels' case (`examples/firmware/src/int8_case.rs`, included
//! here) on the host's portable path, for the `int8_kernels` firmware.
//!
//! ```text
//! cargo run --example firmware_reference                      # print the expected lines
//! cargo run --example firmware_reference -- --check out.txt   # compare a firmware's output, bit for bit
//! cargo run --example firmware_reference -- --make-small-int8  # write models/small-int8.safetensors
//! cargo run --example firmware_reference -- --make-tiny-int8   # write models/{ds-cnn,vww,ic,ae}-int8.safetensors
//! ```
//!
//! The int8 firmwares' lines come from the int8 files loaded by the generated
//! `Int8::load` and run by its `infer`. `models/mnist-int8.safetensors` is the seed model
//! quantised by the `quantize` example (`cp target/mnist/mnist-int8.safetensors
//! examples/firmware/models/`); `models/small-int8.safetensors` is the small model
//! quantised here, calibrated on the eight thumbnails. `models/ds-cnn-int8.safetensors`
//! is the MLPerf Tiny DS-CNN with the PyTorch fixture's weights and
//! `models/ae-int8.safetensors` the FC autoencoder from a fixed-seed `init`, both
//! quantised here, calibrated on a synthetic fixed-seed batch.
//!
//! With `--check`, every expected line must appear in the given files (the firmware's
//! semihosting output) exactly: the same label, prediction, and logits to the last bit.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use nn::prelude::*;

network! {
    /// The seed MNIST classifier, as the firmware declares it.
    pub struct Mnist {
        Linear(784, 256) -> ReLU -> Linear(256, 10)
    }
}

network! {
    /// The firmware's small model.
    pub struct Small {
        Linear(16, 32) -> ReLU -> Linear(32, 4)
    }
}

network! {
    /// The seed MNIST classifier in int8, as the firmware declares it.
    pub struct Mnist8 {
        Linear(784, 256) -> ReLU -> Linear(256, 10)
    }
}

network! {
    /// The firmware's small model in int8.
    pub struct Small8 {
        Linear(16, 32) -> ReLU -> Linear(32, 4)
    }
}

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

#[path = "firmware/src/int8_case.rs"]
mod int8_case;

#[path = "firmware/src/tiny_inputs.rs"]
mod tiny_inputs;

/// Calibration samples for the MLPerf Tiny models' quantisation.
const TINY_CALIBRATION: usize = 16;

/// Pixels in one MNIST image.
const PIXELS: usize = 784;

/// The firmware's directory.
fn firmware_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/firmware")
}

/// One result line, formatted as the firmware's `board::report` prints it.
fn report(what: &str, index: usize, label: u8, logits: &[f32]) -> String {
    let predicted = logits.iter().enumerate().fold(0, |best, (i, &v)| if v > logits[best] { i } else { best });
    let decimal: Vec<String> = logits.iter().map(|v| format!("{v:?}")).collect();
    let bits: Vec<String> = logits.iter().map(|v| format!("{:08x}", v.to_bits())).collect();
    let mut line = format!("{what} {index}: label {label} predicted {predicted} logits [");
    let _ = write!(line, "{}] bits [{}]", decimal.join(", "), bits.join(" "));
    line
}

/// The 4×4 thumbnail the firmware feeds its small model: each 7×7 block's mean grey level.
fn thumbnail(pixels: &[u8]) -> [f32; 16] {
    std::array::from_fn(|block| {
        let (top, left) = (block / 4 * 7, block % 4 * 7);
        let sum: u32 = (0..49).map(|i| u32::from(pixels[(top + i / 7) * 28 + left + i % 7])).sum();
        sum as f32 / (49.0 * 255.0)
    })
}

/// One line of int8 values, formatted as the `int8_kernels` firmware prints it.
fn int8_line(name: &str, index: usize, values: &[i8]) -> String {
    let values: Vec<String> = values.iter().map(i8::to_string).collect();
    format!("{name} {index}: [{}]", values.join(", "))
}

/// The lines of the `int8_kernels` firmware.
fn int8_lines() -> Vec<String> {
    let mut lines: Vec<String> = int8_case::DENSE_INPUTS
        .iter()
        .enumerate()
        .map(|(i, x)| int8_line("int8 dense", i, &int8_case::dense(x)))
        .collect();
    for (i, x) in int8_case::CONV_INPUTS.iter().enumerate() {
        let int8_case::ChainOutputs { sum, averaged, adaptive } = int8_case::conv_chain(x);
        lines.push(int8_line("int8 conv add", i, sum.as_flattened().as_flattened()));
        lines.push(int8_line("int8 conv avg", i, averaged.as_flattened().as_flattened()));
        lines.push(int8_line("int8 conv adaptive", i, adaptive.as_flattened().as_flattened()));
    }
    for (i, x) in int8_case::DIRECT_INPUTS.iter().enumerate() {
        let outputs = int8_case::direct_chain(x);
        lines.extend(outputs.lines().iter().map(|(name, values)| int8_line(name, i, values)));
    }
    lines
}

/// Every line the firmwares must print, in order.
fn expected_lines() -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let dir = firmware_dir();
    let mnist = Mnist::<f32>::load(dir.join("models/mnist.safetensors"))?.freeze();
    let small = Small::<f32>::load(dir.join("models/small.safetensors"))?.freeze();
    let digits = std::fs::read(dir.join("digits.bin"))?;
    if digits.is_empty() || digits.len() % (1 + PIXELS) != 0 {
        return Err(format!("digits.bin holds {} bytes, not a whole number of 785-byte digits", digits.len()).into());
    }
    let mut mnist_lines = Vec::new();
    let mut small_lines = Vec::new();
    for (i, digit) in digits.chunks_exact(1 + PIXELS).enumerate() {
        let (label, pixels) = (digit[0], &digit[1..]);
        let input: [f32; PIXELS] = std::array::from_fn(|p| f32::from(pixels[p]) / 255.0);
        mnist_lines.push(report("mnist digit", i, label, &mnist.infer(&input)));
        small_lines.push(report("small digit", i, label, &small.infer(&thumbnail(pixels))));
    }
    mnist_lines.extend(small_lines);
    mnist_lines.extend(int8_lines());
    let mnist8 = Mnist8Int8::load(dir.join("models/mnist-int8.safetensors"))?;
    let small8 = Small8Int8::load(dir.join("models/small-int8.safetensors"))?;
    for (i, digit) in digits.chunks_exact(1 + PIXELS).enumerate() {
        let pixels = &digit[1..];
        let input: [f32; PIXELS] = std::array::from_fn(|p| f32::from(pixels[p]) / 255.0);
        mnist_lines.push(int8_line("mnist int8 digit", i, &mnist8.infer(&mnist8.quantize_input(&input))));
        mnist_lines.push(int8_line("small int8 digit", i, &small8.infer(&small8.quantize_input(&thumbnail(pixels)))));
    }
    let kws8 = DsCnnInt8::load(dir.join("models/ds-cnn-int8.safetensors"))?;
    for (i, x) in tiny_inputs::KWS_INPUTS.iter().enumerate() {
        mnist_lines.push(int8_line("kws int8 input", i, &kws8.infer(x)));
    }
    let vww8 = MobileNetV1Int8::load(dir.join("models/vww-int8.safetensors"))?;
    for (i, x) in tiny_inputs::VWW_INPUTS.iter().enumerate() {
        mnist_lines.push(int8_line("vww int8 input", i, &vww8.infer(x)));
    }
    let ic8 = ResNet8Int8::load(dir.join("models/ic-int8.safetensors"))?;
    for (i, x) in tiny_inputs::IC_INPUTS.iter().enumerate() {
        mnist_lines.push(int8_line("ic int8 input", i, &ic8.infer(x)));
    }
    let ae8 = AutoEncoderInt8::load(dir.join("models/ae-int8.safetensors"))?;
    for (i, x) in tiny_inputs::AE_INPUTS.iter().enumerate() {
        mnist_lines.push(int8_line("ae int8 input", i, &ae8.infer(x)));
    }
    Ok(mnist_lines)
}

/// Quantises the DS-CNN and ResNet-8 (the PyTorch fixtures' weights), MobileNetV1 and
/// the FC autoencoder (fixed-seed `init`s) to int8, each calibrated on a synthetic
/// fixed-seed batch in `[-1, 1)`, into `models/{ds-cnn,vww,ic,ae}-int8.safetensors`.
fn make_tiny_int8() -> Result<(), Box<dyn std::error::Error>> {
    use nn::rand::{rngs::StdRng, Rng, SeedableRng};
    let dir = firmware_dir();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pytorch/mlperf_tiny/ds_cnn_weights.safetensors");
    let kws = DsCnn::<f32>::load(fixture)?;
    let mut rng = StdRng::seed_from_u64(0);
    let calibration =
        nn::ndarray::Array4::from_shape_fn((TINY_CALIBRATION, 1, 49, 10), |_| rng.random_range(-1.0f32..1.0));
    let path = dir.join("models/ds-cnn-int8.safetensors");
    kws.quantize(calibration.view())?.save(&path)?;
    println!("wrote {}", path.display());
    // Their own calibration seeds: the DS-CNN's and the autoencoder's batches stay as they were.
    let vww = MobileNetV1::<f32>::init(&mut StdRng::seed_from_u64(0));
    let mut rng_vww = StdRng::seed_from_u64(1);
    let calibration =
        nn::ndarray::Array4::from_shape_fn((TINY_CALIBRATION, 3, 96, 96), |_| rng_vww.random_range(-1.0f32..1.0));
    let path = dir.join("models/vww-int8.safetensors");
    vww.quantize(calibration.view())?.save(&path)?;
    println!("wrote {}", path.display());
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pytorch/mlperf_tiny/resnet8_weights.safetensors");
    let ic = ResNet8::<f32>::load(fixture)?;
    let mut rng_ic = StdRng::seed_from_u64(2);
    let calibration =
        nn::ndarray::Array4::from_shape_fn((TINY_CALIBRATION, 3, 32, 32), |_| rng_ic.random_range(-1.0f32..1.0));
    let path = dir.join("models/ic-int8.safetensors");
    ic.quantize(calibration.view())?.save(&path)?;
    println!("wrote {}", path.display());
    let ae = AutoEncoder::<f32>::init(&mut StdRng::seed_from_u64(0));
    let calibration = nn::ndarray::Array2::from_shape_fn((TINY_CALIBRATION, 640), |_| rng.random_range(-1.0f32..1.0));
    let path = dir.join("models/ae-int8.safetensors");
    ae.quantize(calibration.view())?.save(&path)?;
    println!("wrote {}", path.display());
    Ok(())
}

/// Quantises the small model to int8, calibrated on the eight thumbnails, into
/// `models/small-int8.safetensors`.
fn make_small_int8() -> Result<(), Box<dyn std::error::Error>> {
    let dir = firmware_dir();
    let small = Small::<f32>::load(dir.join("models/small.safetensors"))?;
    let digits = std::fs::read(dir.join("digits.bin"))?;
    let thumbnails: Vec<f32> = digits.chunks_exact(1 + PIXELS).flat_map(|digit| thumbnail(&digit[1..])).collect();
    let calibration = nn::ndarray::Array2::from_shape_vec((thumbnails.len() / 16, 16), thumbnails)?;
    let path = dir.join("models/small-int8.safetensors");
    small.quantize(calibration.view())?.save(&path)?;
    println!("wrote {}", path.display());
    Ok(())
}

/// Checks that every expected line appears in the firmware output `files`.
fn check(expected: &[String], files: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let mut output = String::new();
    for file in files {
        output += &std::fs::read_to_string(file).map_err(|e| format!("cannot read {file}: {e}"))?;
    }
    let mut failures = 0;
    for line in expected {
        if output.lines().any(|found| found.trim_end() == line) {
            continue;
        }
        failures += 1;
        let key = line.split(':').next().unwrap_or(line);
        match output.lines().find(|found| found.starts_with(&format!("{key}:"))) {
            Some(found) => eprintln!("MISMATCH {key}\n  host:     {line}\n  firmware: {found}"),
            None => eprintln!("MISSING {key}: the firmware printed no such line\n  host:     {line}"),
        }
    }
    if failures > 0 {
        return Err(format!("{failures} of {} lines differ between the host and the firmware", expected.len()).into());
    }
    println!("firmware check: {} passed, 0 failed (outputs bit-identical to the host's)", expected.len());
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let make = match args.first().map(String::as_str) {
        Some("--make-small-int8") => Some(make_small_int8 as fn() -> _),
        Some("--make-tiny-int8") => Some(make_tiny_int8 as fn() -> _),
        _ => None,
    };
    if let Some(make) = make {
        return match make() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let result = expected_lines().and_then(|expected| match args.split_first() {
        None => {
            expected.iter().for_each(|line| println!("{line}"));
            Ok(())
        }
        Some((flag, files)) if flag == "--check" && !files.is_empty() => check(&expected, files),
        Some(_) => {
            Err("usage: firmware_reference [--check <firmware output>... | --make-small-int8 | --make-tiny-int8]"
                .into())
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
