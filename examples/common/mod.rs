//! What the MNIST training examples share: their command line and the train, save,
//! report sequence around `nn::train::Trainer`.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::process::ExitCode;

use nn::data::Dataset;
use nn::ndarray::{Dimension, Ix2};
use nn::prelude::*;
use nn::train::Trainer;

/// The flags every training example takes.
#[derive(Clone, clap::Args)]
pub struct TrainArgs {
    /// Passes over the training set.
    #[arg(long, default_value_t = 15)]
    pub epochs: usize,
    /// Adam's learning rate.
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Samples per step.
    #[arg(long, default_value = "64")]
    pub batch_size: NonZeroUsize,
    /// Seeds the initial weights and the shuffling.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Directory of the four MNIST IDX files (gzipped or not).
    #[arg(long, default_value = "data/mnist-10k")]
    pub data: PathBuf,
    /// Where the weights, the plot and the checkpoint are written [default: target/<example>].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue from `<out>/checkpoint.safetensors` instead of starting afresh.
    #[arg(long)]
    pub resume: bool,
}

/// Trains `model` with Adam and cross-entropy, checkpointing every epoch, then writes
/// `<name>.safetensors` and `<name>.png` under `--out`; returns the final test accuracy.
pub fn train_and_save<M, D>(
    name: &str,
    model: M,
    args: &TrainArgs,
    train: &Dataset<f32, D>,
    test: &Dataset<f32, D>,
) -> Result<f64, nn::Error>
where
    M: Model<f32, InputDim = D, OutputDim = Ix2>,
    D: Dimension,
{
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from("target").join(name));
    println!("{name}: {} parameters", model.num_params());
    let checkpoint = out.join("checkpoint.safetensors");
    let plot = out.join(format!("{name}.png"));
    let mut trainer = Trainer::new(model, Adam::new(args.lr), CrossEntropyLoss::new())
        .epochs(args.epochs)
        .batch_size(args.batch_size.get())
        .seed(args.seed)
        .checkpoint(&checkpoint)
        .plot(&plot);
    if args.resume {
        trainer = trainer.resume(&checkpoint)?;
        println!("resumed from {} after epoch {}", checkpoint.display(), trainer.history().len());
    }
    let history = trainer.fit(train, Some(test))?;

    let weights = out.join(format!("{name}.safetensors"));
    trainer.model().save(&weights)?;
    println!("wrote {} and {}", weights.display(), plot.display());
    Ok(match history.last().and_then(|epoch| epoch.test_accuracy) {
        Some(accuracy) => accuracy,
        None => nn::train::evaluate(trainer.model(), &CrossEntropyLoss::new(), test).accuracy,
    })
}

/// Prints the closing `test accuracy: NN.NN%` line, or the error.
pub fn report(result: Result<f64, nn::Error>) -> ExitCode {
    match result {
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
