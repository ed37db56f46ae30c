//! Loads the weights `examples/mnist.rs` saved and classifies a few test digits,
//! drawing each as ASCII art beside its predicted and true label.
//!
//! ```text
//! cargo run --release --example mnist      # trains and writes target/mnist/mnist.safetensors
//! cargo run --release --example predict -- --first 100 --count 3
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use nn::data::Mnist;
use nn::ndarray::{s, ArrayView1};
use nn::prelude::*;

network! {
    /// The same architecture as in `examples/mnist.rs`: the weight file must fit it.
    pub struct Mlp {
        Linear(784, 256) -> ReLU -> Linear(256, 10)
    }
}

/// Classify MNIST test digits with a trained `Mlp`.
#[derive(Parser)]
struct Args {
    /// The weights written by `cargo run --release --example mnist`.
    #[arg(long, default_value = "target/mnist/mnist.safetensors")]
    model: PathBuf,
    /// Directory of the four MNIST IDX files.
    #[arg(long, default_value = "data/mnist-10k")]
    data: PathBuf,
    /// Index of the first test digit to show.
    #[arg(long, default_value_t = 0)]
    first: usize,
    /// How many digits to show.
    #[arg(long, default_value_t = 5)]
    count: usize,
}

/// Pixel intensities from blank to full, one character each.
const RAMP: &[u8] = b" .:-=+*#%@";
/// The lines of a drawing beside which its three notes are printed.
const NOTE_ROWS: [usize; 3] = [5, 7, 9];

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            if matches!(error, nn::Error::Io { .. }) {
                eprintln!("(train the model first: cargo run --release --example mnist)");
            }
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), nn::Error> {
    let model = Mlp::<f32>::load(&args.model)?;
    let mnist = Mnist::load(&args.data)?;
    let first = args.first.min(mnist.test_labels.len());
    let last = (first + args.count).min(mnist.test_labels.len());
    let images = mnist.test_images.slice(s![first..last, ..]);
    let logits = model.forward(images);

    let mut correct = 0;
    for (i, (image, scores)) in images.outer_iter().zip(logits.outer_iter()).enumerate() {
        let (predicted, confidence) = most_likely(scores);
        let truth = mnist.test_labels[first + i];
        correct += usize::from(predicted == truth);
        let verdict = if predicted == truth { "right" } else { "WRONG" };
        let notes = [
            format!("test digit #{}", first + i),
            format!("predicted {predicted}  ({:.1}% sure)", 100.0 * confidence),
            format!("true      {truth}  {verdict}"),
        ];
        for (row, art) in ascii_art(image).iter().enumerate() {
            let note = NOTE_ROWS.iter().position(|&r| r == row).map_or("", |n| notes[n].as_str());
            println!("{art}   {note}");
        }
        println!();
    }
    println!("{correct} of {} correct", last - first);
    Ok(())
}

/// The class with the highest score and its softmax probability.
fn most_likely(scores: ArrayView1<f32>) -> (usize, f32) {
    let (best, &top) = scores.iter().enumerate().fold((0, &f32::NEG_INFINITY), |a, b| if b.1 > a.1 { b } else { a });
    let total: f32 = scores.iter().map(|&s| (s - top).exp()).sum();
    (best, 1.0 / total)
}

/// A 28×28 image as 14 lines of 28 characters: each character covers two pixel rows.
fn ascii_art(image: ArrayView1<f32>) -> Vec<String> {
    let side = Mnist::SIDE;
    (0..side / 2)
        .map(|line| {
            (0..side)
                .map(|col| {
                    let pixel = |row: usize| image[row * side + col].clamp(0.0, 1.0);
                    let intensity = (pixel(2 * line) + pixel(2 * line + 1)) / 2.0;
                    RAMP[(intensity * (RAMP.len() - 1) as f32).round() as usize] as char
                })
                .collect()
        })
        .collect()
}
