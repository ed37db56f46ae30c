//! The training loop of a classifier, step for step as the PyTorch loop
//! (`zero_grad`, forward, loss, `backward`, optimiser `step`).

use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::time::Instant;

use ndarray::{ArrayView1, ArrayView2, Axis, Ix2};

use super::checkpoint::{self, Position};
use super::progress::{EpochProgress, Progress};
use super::{plot_history, EpochRecord, History};
use crate::data::{DataLoader, Dataset};
use crate::loss::Loss;
use crate::optim::Optimizer;
use crate::{Entry, Error, Float, Model};

/// Samples per forward pass when evaluating: bounds memory, not results.
const EVAL_BATCH: usize = 1024;

/// Trains a classifier: a model, an optimiser and a loss over class labels, run for
/// a number of epochs over shuffled batches.
///
/// ```text
/// let mut trainer = Trainer::new(model, Adam::new(1e-3), CrossEntropyLoss::new())
///     .epochs(15)
///     .batch_size(64)
///     .seed(0)
///     .checkpoint("target/mnist/checkpoint.safetensors")
///     .plot("target/mnist/mnist.png");
/// let history = trainer.fit(&train, Some(&test))?;
/// trainer.model().save("target/mnist/mnist.safetensors")?;
/// ```
///
/// Every step is the model's `train_step` (forward, loss and backward into reused
/// buffers, gradients written afresh) followed by the optimiser's `step`.
/// After every epoch the trainer evaluates the test set with `forward` (inference
/// mode), prints the epoch's line, and writes the checkpoint; after the last it
/// draws the plot.
pub struct Trainer<F, M, O, L> {
    model: M,
    optimizer: O,
    loss: L,
    epochs: usize,
    batch_size: usize,
    drop_last: bool,
    seed: u64,
    checkpoint: Option<PathBuf>,
    plot: Option<PathBuf>,
    progress: Progress,
    history: History,
    steps: u64,
    float: PhantomData<fn() -> F>,
}

/// A model's loss and accuracy on a dataset, in inference mode.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation {
    /// Mean loss over the samples (NaN for an empty dataset).
    pub loss: f64,
    /// Fraction of samples whose highest output is their label (NaN for an empty dataset).
    pub accuracy: f64,
}

impl<F, M, O, L> Trainer<F, M, O, L>
where
    F: Float,
    M: Model<F, OutputDim = Ix2>,
    O: Optimizer<F>,
    L: for<'a> Loss<F, Target<'a> = ArrayView1<'a, usize>>,
{
    /// A trainer of `model` with `optimizer` and `loss`: 10 epochs of batches of 64,
    /// shuffled from seed 0, progress on stdout, no checkpoint and no plot.
    pub fn new(model: M, optimizer: O, loss: L) -> Self {
        Trainer {
            model,
            optimizer,
            loss,
            epochs: 10,
            batch_size: 64,
            drop_last: false,
            seed: 0,
            checkpoint: None,
            plot: None,
            progress: Progress::Auto,
            history: History::default(),
            steps: 0,
            float: PhantomData,
        }
    }

    /// Trains until `epochs` epochs in total have completed (a resumed run counts
    /// the checkpoint's epochs).
    pub fn epochs(mut self, epochs: usize) -> Self {
        self.epochs = epochs;
        self
    }

    /// Samples per step; the last batch of an epoch holds the remainder (unless
    /// [`Trainer::drop_last`]). A size beyond the training set makes one batch of it all;
    /// 0 makes `fit` return [`Error::InvalidOption`].
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// Skips the last batch of every epoch when it holds fewer than `batch_size`
    /// samples, as PyTorch's `DataLoader(drop_last=True)`: what a model with BatchNorm
    /// needs when that batch would hold a single sample (off by default).
    pub fn drop_last(mut self, drop_last: bool) -> Self {
        self.drop_last = drop_last;
        self
    }

    /// The seed of the data shuffling: epoch `e` is shuffled from `(seed, e)`.
    /// (The model's initial weights come from the RNG passed to its `init`.)
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Writes a checkpoint to `path` after every epoch (through a temporary file).
    pub fn checkpoint(mut self, path: impl Into<PathBuf>) -> Self {
        self.checkpoint = Some(path.into());
        self
    }

    /// Draws the loss and accuracy curves as a PNG at `path` when `fit` finishes.
    pub fn plot(mut self, path: impl Into<PathBuf>) -> Self {
        self.plot = Some(path.into());
        self
    }

    /// How progress is reported (default [`Progress::Auto`]).
    pub fn progress(mut self, progress: Progress) -> Self {
        self.progress = progress;
        self
    }

    /// Continues from the checkpoint at `path`: restores the model, the optimiser
    /// state, the history, the step count, and the seed and batch size of the run
    /// that wrote it (and its `drop_last`), so `fit` goes on to the same numbers as an
    /// uninterrupted run.
    ///
    /// A missing or corrupt file is [`Error::Io`] or [`Error::WeightFormat`]; a
    /// checkpoint of another model, optimiser or float type is [`Error::Checkpoint`].
    /// Limitation: a model's dropout stream is not part of the checkpoint.
    pub fn resume(mut self, path: impl AsRef<Path>) -> Result<Self, Error> {
        let position = checkpoint::load(path.as_ref(), &mut self.model, &mut self.optimizer)?;
        self.steps = position.steps;
        self.seed = position.seed;
        self.batch_size = position.batch_size;
        self.drop_last = position.drop_last;
        self.history = position.history;
        Ok(self)
    }

    /// Trains from the current epoch up to [`Trainer::epochs`], evaluating on `test`
    /// after every epoch if given, and returns the history of all epochs.
    ///
    /// Stops with [`Error::NonFiniteLoss`] (naming the epoch and step) before the
    /// step that would apply a NaN or infinite loss. Inputs of another shape than the
    /// model's are [`Error::Shape`]; an empty training set or a label without a
    /// model output is [`Error::Dataset`]; a batch size of 0, or `drop_last` with a
    /// batch size beyond the training set (no batch at all), is [`Error::InvalidOption`].
    /// A model with BatchNorm and a batch of a single sample (`batch_size(1)`, or a last
    /// batch of 1 without `drop_last`) is [`Error::SingleValueBatch`], before any step:
    /// PyTorch refuses one value per channel. (This is stricter than PyTorch for a
    /// `BatchNorm2d` over more than one position, which normalises a single image.)
    /// A parameter that became NaN or infinite is [`Error::NonFiniteParameter`] at the
    /// epoch's checkpoint, which is then not written. A failed checkpoint or plot write
    /// is returned as well.
    pub fn fit(
        &mut self,
        train: &Dataset<F, M::InputDim>,
        test: Option<&Dataset<F, M::InputDim>>,
    ) -> Result<History, Error> {
        if train.is_empty() {
            return Err(Error::Dataset("the training set is empty".to_string()));
        }
        self.check_batches(train.len())?;
        for data in std::iter::once(train).chain(test) {
            self.check_fits(data)?;
        }
        let mut loader = DataLoader::new(train, self.batch_size).drop_last(self.drop_last).shuffle(self.seed);
        let mut workspace = M::Workspace::default();
        for epoch in self.history.len()..self.epochs {
            let started = Instant::now();
            let progress = EpochProgress::start(self.progress, epoch + 1, self.epochs, loader.num_batches());
            let mut batches = loader.epoch(epoch);
            let (mut loss_sum, mut correct, mut seen, mut step) = (0.0, 0, 0, 0);
            while let Some((x, y)) = batches.next_batch() {
                step += 1;
                let loss = self.model.train_step(&mut workspace, x, y, &self.loss).to_f64();
                if !loss.is_finite() {
                    return Err(Error::NonFiniteLoss { epoch: epoch + 1, step, value: loss });
                }
                self.optimizer.step(&mut self.model);
                self.steps += 1;
                loss_sum += loss * y.len() as f64;
                correct += count_correct(M::step_output(&workspace), y);
                seen += y.len();
                progress.step(step, loss_sum / seen as f64, seen);
            }
            let evaluation = test.map(|test| evaluate(&self.model, &self.loss, test));
            let record = EpochRecord {
                epoch: epoch + 1,
                train_loss: loss_sum / seen as f64,
                train_accuracy: correct as f64 / seen as f64,
                test_loss: evaluation.map(|e| e.loss),
                test_accuracy: evaluation.map(|e| e.accuracy),
                seconds: started.elapsed().as_secs_f64(),
            };
            progress.finish(&record, self.epochs);
            self.history.epochs.push(record);
            if let Some(path) = &self.checkpoint {
                let position = Position {
                    steps: self.steps,
                    seed: self.seed,
                    batch_size: self.batch_size,
                    drop_last: self.drop_last,
                    history: self.history.clone(),
                };
                checkpoint::save(path, &self.model, &self.optimizer, &position)?;
            }
        }
        if let Some(path) = &self.plot {
            plot_history(&self.history, path)?;
        }
        Ok(self.history.clone())
    }

    /// Checks that `samples` training samples make batches: a batch size of at least 1,
    /// at least one batch, and no batch of a single sample when the model holds a
    /// BatchNorm (whose `num_batches_tracked` is the model's only count).
    fn check_batches(&self, samples: usize) -> Result<(), Error> {
        let batch_size = self.batch_size;
        let option = |reason: String| Error::InvalidOption { option: "batch_size".to_string(), reason };
        if batch_size == 0 {
            return Err(option("0; a batch holds at least 1 sample".to_string()));
        }
        if self.drop_last && batch_size > samples {
            return Err(option(format!(
                "{batch_size} with `drop_last`, but the training set holds {samples} samples: no batch is left"
            )));
        }
        let mut has_batch_norm = false;
        self.model.visit(&mut |_, entry| has_batch_norm |= matches!(entry, Entry::Count(_)));
        let single = |reason: String| Err(Error::SingleValueBatch { reason });
        if has_batch_norm && (batch_size == 1 || samples == 1) {
            return single("every training batch holds 1 sample; use a batch size of at least 2".to_string());
        }
        if has_batch_norm && samples % batch_size == 1 && !self.drop_last {
            return single(format!(
                "the last batch of every epoch holds 1 sample ({samples} samples in batches of {batch_size}); \
                 set `drop_last(true)` or another batch size"
            ));
        }
        Ok(())
    }

    /// Checks on one sample that `data`'s inputs have the model's shape ([`Error::Shape`]),
    /// then that every label names one of the model's outputs ([`Error::Dataset`]).
    fn check_fits(&self, data: &Dataset<F, M::InputDim>) -> Result<(), Error> {
        if data.is_empty() {
            return Ok(());
        }
        let classes = self.model.try_forward(data.inputs().slice_axis(Axis(0), (0..1).into()))?.ncols();
        match data.labels().iter().find(|&&label| label >= classes) {
            Some(label) => {
                Err(Error::Dataset(format!("label {label} is out of range for a model with {classes} outputs")))
            }
            None => Ok(()),
        }
    }

    /// The model being trained.
    pub fn model(&self) -> &M {
        &self.model
    }

    /// The optimiser.
    pub fn optimizer(&self) -> &O {
        &self.optimizer
    }

    /// Every completed epoch's record.
    pub fn history(&self) -> &History {
        &self.history
    }
}

/// `model`'s mean `loss` and accuracy on `data`, in inference mode (`forward`).
pub fn evaluate<F, M, L>(model: &M, loss: &L, data: &Dataset<F, M::InputDim>) -> Evaluation
where
    F: Float,
    M: Model<F, OutputDim = Ix2>,
    L: for<'a> Loss<F, Target<'a> = ArrayView1<'a, usize>>,
{
    let (mut loss_sum, mut correct) = (0.0, 0);
    for (x, y) in data.batches(EVAL_BATCH) {
        let out = model.forward(x);
        loss_sum += loss.loss(out.view(), y).to_f64() * y.len() as f64;
        correct += count_correct(out.view(), y);
    }
    let samples = data.len() as f64;
    Evaluation { loss: loss_sum / samples, accuracy: correct as f64 / samples }
}

/// How many rows of `out` have their largest value (the first, on ties) at the label.
fn count_correct<F: Float>(out: ArrayView2<F>, labels: ArrayView1<usize>) -> usize {
    out.outer_iter()
        .zip(labels)
        .filter(|(row, &label)| {
            let best = row.iter().enumerate().fold(0, |best, (i, &v)| if v > row[best] { i } else { best });
            best == label
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn argmax_takes_the_first_of_ties() {
        let out = array![[0.1, 0.7, 0.2], [0.5, 0.5, 0.0], [1.0, 2.0, 3.0]];
        assert_eq!(count_correct(out.view(), array![1, 0, 2].view()), 3);
        assert_eq!(count_correct(out.view(), array![0, 1, 1].view()), 0);
    }
}
