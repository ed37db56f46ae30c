//! Trains LeNet-5 on the bundled digits, as PyTorch's `nn.Sequential` of the same
//! layers with Adam: convolutions, pooling and Flatten, every shape checked by the macro.
//!
//! ```text
//! cargo run --release --example lenet
//! ```
//!
//! Writes `lenet.safetensors` and `lenet.png` under `--out`; the last line printed is
//! `test accuracy: NN.NN%`.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use nn::data::Mnist;
use nn::prelude::*;
use nn::rand::rngs::StdRng;
use nn::rand::SeedableRng;
use nn::train::Trainer;

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
    /// Passes over the training set.
    #[arg(long, default_value_t = 15)]
    epochs: usize,
    /// Adam's learning rate.
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    /// Samples per step.
    #[arg(long, default_value = "64")]
    batch_size: NonZeroUsize,
    /// Seeds the initial weights and the shuffling.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Directory of the four MNIST IDX files (gzipped or not).
    #[arg(long, default_value = "data/mnist-10k")]
    data: PathBuf,
    /// Where the weights, the plot and the checkpoint are written.
    #[arg(long, default_value = "target/lenet")]
    out: PathBuf,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(accuracy) => {
            println!("test accuracy: {:.2}%", 100.0 * accuracy);
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Trains and saves the model; returns its final test accuracy.
fn run(args: Args) -> Result<f64, nn::Error> {
    let (train, test) = Mnist::load(&args.data)?.into_image_datasets()?;
    println!("MNIST from {}: {} training and {} test digits", args.data.display(), train.len(), test.len());

    let model = LeNet::<f32>::init(&mut StdRng::seed_from_u64(args.seed));
    println!("LeNet-5: {} parameters", model.num_params());
    let mut trainer = Trainer::new(model, Adam::new(args.lr), CrossEntropyLoss::new())
        .epochs(args.epochs)
        .batch_size(args.batch_size.get())
        .seed(args.seed)
        .checkpoint(args.out.join("checkpoint.safetensors"))
        .plot(args.out.join("lenet.png"));
    let history = trainer.fit(&train, Some(&test))?;

    let weights = args.out.join("lenet.safetensors");
    trainer.model().save(&weights)?;
    println!("wrote {} and {}", weights.display(), args.out.join("lenet.png").display());
    let accuracy = match history.last().and_then(|epoch| epoch.test_accuracy) {
        Some(accuracy) => accuracy,
        None => nn::train::evaluate(trainer.model(), &CrossEntropyLoss::new(), &test).accuracy,
    };
    Ok(accuracy)
}
