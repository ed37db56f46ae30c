//! Trains LeNet-5 on the bundled digits, as PyTorch's `nn.Sequential` of the same
//! layers with Adam: convolutions, pooling and Flatten, every shape checked by the macro.
//!
//! ```text
//! cargo run --release --example lenet
//! ```
//!
//! Writes `lenet.safetensors`, `lenet.png` and `checkpoint.safetensors` under `--out`
//! (default `target/lenet`); the last line printed is `test accuracy: NN.NN%`.

mod common;

use std::process::ExitCode;

use clap::Parser;
use nn::data::Mnist;
use nn::prelude::*;
use nn::rand::rngs::StdRng;
use nn::rand::SeedableRng;

network! {
    /// LeNet-5 (LeCun et al., 1998) with ReLU and max pooling, as commonly trained today.
    pub struct LeNet {
        input: [1, 28, 28],
        Conv2d(1, 6, 5, padding = 2) -> ReLU -> MaxPool2d(2)
            -> Conv2d(6, 16, 5) -> ReLU -> MaxPool2d(2)
            -> Flatten -> Linear(400, 120) -> ReLU -> Linear(120, 84) -> ReLU -> Linear(84, 10)
    }
}

/// Train LeNet-5 on MNIST.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    train: common::TrainArgs,
}

fn main() -> ExitCode {
    let args = Args::parse().train;
    common::report(Mnist::load(&args.data).and_then(Mnist::into_image_datasets).and_then(|(train, test)| {
        println!("MNIST from {}: {} training and {} test digits", args.data.display(), train.len(), test.len());
        let model = LeNet::<f32>::init(&mut StdRng::seed_from_u64(args.seed));
        common::train_and_save("lenet", model, &args, &train, &test)
    }))
}
