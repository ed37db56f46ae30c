//! Trains the classic MNIST classifier on the bundled digits, as PyTorch's
//! `nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))` with Adam.
//!
//! ```text
//! cargo run --release --example mnist
//! cargo run --release --example mnist -- --epochs 5 --data path/to/full/mnist
//! ```
//!
//! Writes `mnist.safetensors` (the weights, loadable by PyTorch's `load_state_dict`),
//! `mnist.png` (the loss and accuracy curves) and `checkpoint.safetensors` under
//! `--out` (default `target/mnist`). The last line printed is `test accuracy: NN.NN%`.

mod common;

use std::process::ExitCode;

use clap::Parser;
use nn::data::Mnist;
use nn::prelude::*;
use nn::rand::rngs::StdRng;
use nn::rand::SeedableRng;

network! {
    /// The classic MNIST classifier: 784 pixels in, 10 digit scores out.
    pub struct Mlp {
        Linear(784, 256) -> ReLU -> Linear(256, 10)
    }
}

/// Train `Linear(784, 256) -> ReLU -> Linear(256, 10)` on MNIST.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    train: common::TrainArgs,
}

fn main() -> ExitCode {
    let args = Args::parse().train;
    common::report(Mnist::load(&args.data).and_then(Mnist::into_datasets).and_then(|(train, test)| {
        println!("MNIST from {}: {} training and {} test digits", args.data.display(), train.len(), test.len());
        let model = Mlp::<f32>::init(&mut StdRng::seed_from_u64(args.seed));
        println!("Linear(784, 256) -> ReLU -> Linear(256, 10)");
        common::train_and_save("mnist", model, &args, &train, &test)
    }))
}
