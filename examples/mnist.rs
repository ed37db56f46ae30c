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
//! `--out`. The last line printed is `test accuracy: NN.NN%`.

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
    /// The classic MNIST classifier: 784 pixels in, 10 digit scores out.
    pub struct Mlp {
        Linear(784, 256) -> ReLU -> Linear(256, 10)
    }
}

/// Train `Linear(784, 256) -> ReLU -> Linear(256, 10)` on MNIST.
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
    #[arg(long, default_value = "target/mnist")]
    out: PathBuf,
    /// Continue from `<out>/checkpoint.safetensors` instead of starting afresh.
    #[arg(long)]
    resume: bool,
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
    let (train, test) = Mnist::load(&args.data)?.into_datasets()?;
    println!("MNIST from {}: {} training and {} test digits", args.data.display(), train.len(), test.len());

    let model = Mlp::<f32>::init(&mut StdRng::seed_from_u64(args.seed));
    println!("Mlp: Linear(784, 256) -> ReLU -> Linear(256, 10), {} parameters", model.num_params());
    let checkpoint = args.out.join("checkpoint.safetensors");
    let mut trainer = Trainer::new(model, Adam::new(args.lr), CrossEntropyLoss::new())
        .epochs(args.epochs)
        .batch_size(args.batch_size.get())
        .seed(args.seed)
        .checkpoint(&checkpoint)
        .plot(args.out.join("mnist.png"));
    if args.resume {
        trainer = trainer.resume(&checkpoint)?;
        println!("resumed from {} after epoch {}", checkpoint.display(), trainer.history().len());
    }
    let history = trainer.fit(&train, Some(&test))?;

    let weights = args.out.join("mnist.safetensors");
    trainer.model().save(&weights)?;
    println!("wrote {} and {}", weights.display(), args.out.join("mnist.png").display());
    let accuracy = match history.last().and_then(|epoch| epoch.test_accuracy) {
        Some(accuracy) => accuracy,
        None => nn::train::evaluate(trainer.model(), &CrossEntropyLoss::new(), &test).accuracy,
    };
    Ok(accuracy)
}
