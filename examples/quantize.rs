//! Quantises the trained MNIST classifier to int8 as TFLite does (calibrated on training
//! digits) and compares the two models on the test digits.
//!
//! ```text
//! cargo run --release --example quantize
//! ```
//!
//! Reads `target/mnist/mnist.safetensors`, training it first (as the `mnist` example does)
//! when it is missing; writes `target/mnist/mnist-int8.safetensors`. Prints both models'
//! test accuracy, how often their predictions agree and both models' sizes; the last line
//! is the int8 model's `test accuracy: NN.NN%`.

mod common;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use nn::data::Mnist;
use nn::ndarray::s;
use nn::prelude::*;
use nn::rand::rngs::StdRng;
use nn::rand::SeedableRng;

network! {
    /// The classic MNIST classifier: 784 pixels in, 10 digit scores out.
    pub struct Mlp {
        Linear(784, 256) -> ReLU -> Linear(256, 10)
    }
}

/// Quantise `Linear(784, 256) -> ReLU -> Linear(256, 10)` to int8.
#[derive(Parser)]
struct Args {
    /// Training digits the activation ranges are calibrated on (the first N).
    #[arg(long, default_value_t = 1000)]
    calibration: usize,
    #[command(flatten)]
    train: common::TrainArgs,
}

/// The index of the largest score.
fn argmax<T: PartialOrd + Copy>(scores: &[T]) -> usize {
    (0..scores.len()).fold(0, |best, i| if scores[i] > scores[best] { i } else { best })
}

/// Quantises, compares, and returns the int8 model's test accuracy.
fn run(args: &Args) -> Result<f64, nn::Error> {
    let train_args = &args.train;
    let (train, test) = Mnist::load(&train_args.data)?.into_datasets()?;
    let out = train_args.out.clone().unwrap_or_else(|| PathBuf::from("target/mnist"));
    let weights = out.join("mnist.safetensors");
    let model = if weights.exists() {
        println!("float model: {}", weights.display());
        Mlp::<f32>::load(&weights)?
    } else {
        println!("{} is missing: training it first", weights.display());
        let model = Mlp::<f32>::init(&mut StdRng::seed_from_u64(train_args.seed));
        let args = common::TrainArgs { out: Some(out.clone()), ..train_args.clone() };
        common::train_and_save("mnist", model, &args, &train, &test)?;
        Mlp::<f32>::load(&weights)?
    };

    let n = args.calibration.min(train.len());
    let q = model.quantize(train.inputs().slice(s![..n, ..]))?;
    let int8_path = out.join("mnist-int8.safetensors");
    q.save(&int8_path)?;
    println!("calibrated on {n} training digits; wrote {}", int8_path.display());

    let logits = model.forward(test.inputs());
    let (mut float_right, mut int8_right, mut agree) = (0, 0, 0);
    for ((x, float), &label) in test.inputs().rows().into_iter().zip(logits.rows()).zip(test.labels()) {
        let x: &[f32; 784] = x.as_slice().and_then(|x| x.try_into().ok()).ok_or_else(|| nn::Error::Shape {
            what: "a test digit".into(),
            expected: vec![784],
            found: x.shape().to_vec(),
        })?;
        let float = argmax(float.as_slice().unwrap_or(&[]));
        let int8 = argmax(&q.infer(&q.quantize_input(x)));
        float_right += usize::from(float == label);
        int8_right += usize::from(int8 == label);
        agree += usize::from(float == int8);
    }
    let percent = |k: usize| 100.0 * k as f64 / test.len() as f64;
    let size = |path: &PathBuf| std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    println!(
        "f32 model:  {:.2}% test accuracy, {} bytes on disk, {} bytes frozen",
        percent(float_right),
        size(&weights),
        Mlp::<f32>::FROZEN_BYTES
    );
    println!(
        "int8 model: {:.2}% test accuracy, {} bytes on disk, {} bytes in memory",
        percent(int8_right),
        size(&int8_path),
        std::mem::size_of::<MlpInt8>()
    );
    println!("argmax agreement: {:.2}% of {} test digits", percent(agree), test.len());
    println!("accuracy drop: {:.2} points", percent(float_right) - percent(int8_right));
    Ok(int8_right as f64 / test.len() as f64)
}

fn main() -> ExitCode {
    common::report(run(&Args::parse()))
}
