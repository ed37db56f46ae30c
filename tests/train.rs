//! `nn::train`: fitting, history, checkpoints and resuming, plots, NaN losses.

use std::fs;

use nn::data::Dataset;
use nn::ndarray::{Array1, Array2};
use nn::prelude::*;
use nn::rand::rngs::StdRng;
use nn::rand::{Rng, SeedableRng};
use nn::train::{Progress, Trainer};
use nn::Error;

network! {
    /// Four classes of points in eight dimensions.
    pub struct Blobs {
        Linear(8, 16) -> ReLU -> Linear(16, 4)
    }
}

/// `n` noisy points around the corners `3·e_c` of four classes.
fn blobs(n: usize, seed: u64) -> Dataset<f32, nn::ndarray::Ix2> {
    let mut rng = StdRng::seed_from_u64(seed);
    let labels = Array1::from_shape_fn(n, |i| i % 4);
    let inputs = Array2::from_shape_fn((n, 8), |(i, j)| {
        let centre = if j == labels[i] { 3.0 } else { 0.0 };
        centre + rng.random_range(-1.0..1.0)
    });
    Dataset::new(inputs, labels).unwrap()
}

fn model(seed: u64) -> Blobs<f32> {
    Blobs::init(&mut StdRng::seed_from_u64(seed))
}

fn trainer(model: Blobs<f32>, epochs: usize) -> Trainer<f32, Blobs<f32>, Adam<f32>, CrossEntropyLoss> {
    Trainer::new(model, Adam::new(0.01), CrossEntropyLoss::new())
        .epochs(epochs)
        .batch_size(16)
        .seed(3)
        .progress(Progress::Silent)
}

fn weights(model: &Blobs<f32>) -> Vec<(String, Vec<u32>)> {
    let mut weights = Vec::new();
    model.visit(&mut |name, entry| {
        if let nn::Entry::Param { value, .. } = entry {
            weights.push((name.to_string(), value.iter().map(|v| v.to_bits()).collect()));
        }
    });
    weights
}

#[test]
fn fit_learns_and_reports_every_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let (train, test) = (blobs(200, 1), blobs(80, 2));
    let plot = dir.path().join("plots/blobs.png");
    let mut trainer = trainer(model(0), 3).plot(&plot);
    let history = trainer.fit(&train, Some(&test)).unwrap();

    assert_eq!(history.epochs.iter().map(|r| r.epoch).collect::<Vec<_>>(), [1, 2, 3]);
    let last = history.last().unwrap();
    assert!(last.train_loss < history.epochs[0].train_loss);
    assert!(last.test_accuracy.unwrap() > 0.9, "{last:?}");
    let evaluation = nn::train::evaluate(trainer.model(), &CrossEntropyLoss::new(), &test);
    assert_eq!(Some(evaluation.accuracy), last.test_accuracy);
    assert_eq!(Some(evaluation.loss), last.test_loss);
    assert_eq!(trainer.history(), &history);
    assert!(fs::read(&plot).unwrap().starts_with(b"\x89PNG"), "the plot is a PNG");

    let again = trainer.fit(&train, Some(&test)).unwrap();
    assert_eq!(again, history, "a finished run has nothing left to do");
}

#[test]
fn resuming_from_a_checkpoint_equals_an_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    let (train, test) = (blobs(100, 1), blobs(40, 2));
    let mut straight = trainer(model(0), 4);
    let straight_history = straight.fit(&train, Some(&test)).unwrap();

    let checkpoint = dir.path().join("checkpoint.safetensors");
    trainer(model(0), 2).checkpoint(&checkpoint).fit(&train, Some(&test)).unwrap();
    // Another initialisation, another seed and batch size: the checkpoint overrides all three.
    let mut resumed = Trainer::new(model(99), Adam::new(0.01), CrossEntropyLoss::new())
        .epochs(4)
        .seed(12345)
        .batch_size(7)
        .progress(Progress::Silent)
        .resume(&checkpoint)
        .unwrap();
    assert_eq!(resumed.history().len(), 2);
    let resumed_history = resumed.fit(&train, Some(&test)).unwrap();

    assert_eq!(weights(resumed.model()), weights(straight.model()), "bit-equal parameters");
    assert_eq!(resumed.optimizer().state(), straight.optimizer().state());
    let without_time = |h: &nn::train::History| {
        h.epochs
            .iter()
            .map(|r| (r.epoch, r.train_loss, r.train_accuracy, r.test_loss, r.test_accuracy))
            .collect::<Vec<_>>()
    };
    assert_eq!(without_time(&resumed_history), without_time(&straight_history));
}

#[test]
fn a_failed_checkpoint_write_leaves_the_previous_checkpoint_intact() {
    let dir = tempfile::tempdir().unwrap();
    let train = blobs(64, 1);
    let checkpoint = dir.path().join("run.safetensors");
    let normed_trainer = |model| {
        Trainer::new(model, Adam::new(0.01), CrossEntropyLoss::new())
            .batch_size(16)
            .checkpoint(&checkpoint)
            .progress(Progress::Silent)
    };
    let normed = || NormedBlobs::<f32>::init(&mut StdRng::seed_from_u64(0));
    normed_trainer(normed()).epochs(1).fit(&train, None).unwrap();
    let saved = fs::read(&checkpoint).unwrap();

    // A NaN running variance, which the training loss never sees, stops the run at its
    // checkpoint, which is not written.
    let mut poisoned = normed();
    poisoned.visit_mut(&mut |name, entry| {
        if let (nn::EntryMut::Buffer(mut value), "1.running_var") = (entry, name) {
            value[3] = f32::NAN;
        }
    });
    let error = normed_trainer(poisoned).epochs(1).fit(&train, None).unwrap_err();
    assert!(
        matches!(&error, Error::NonFiniteParameter { name, epoch: 1, value }
            if name == "model.1.running_var" && value.is_nan()),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "`model.1.running_var` holds NaN after epoch 1; the checkpoint was not written, the previous one is kept"
    );
    assert_eq!(fs::read(&checkpoint).unwrap(), saved, "the previous checkpoint is untouched");
    assert_eq!(normed_trainer(normed()).epochs(2).resume(&checkpoint).unwrap().history().len(), 1);

    // A checkpoint path below a regular file cannot be created at all.
    let blocked = dir.path().join("run.safetensors/inner.safetensors");
    let error = trainer(model(0), 1).checkpoint(&blocked).fit(&train, None).unwrap_err();
    assert!(matches!(error, Error::Io { .. }), "{error:?}");
}

#[test]
fn a_checkpoint_that_does_not_fit_is_a_typed_error() {
    network! {
        /// Wider than `Blobs`.
        pub struct Wide {
            Linear(8, 32) -> ReLU -> Linear(32, 4)
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("blobs.safetensors");
    trainer(model(0), 1).checkpoint(&checkpoint).fit(&blobs(32, 1), None).unwrap();

    let wide = Wide::<f32>::init(&mut StdRng::seed_from_u64(0));
    let error = Trainer::new(wide, Adam::new(0.1), CrossEntropyLoss::new()).resume(&checkpoint).err().unwrap();
    match error {
        Error::Checkpoint { path, reason } => {
            assert_eq!(path, checkpoint);
            assert_eq!(reason, "tensor `model.0.weight` has shape [16, 8], the model expects [32, 8]");
        }
        other => panic!("expected Error::Checkpoint, got {other:?}"),
    }

    let sgd = Trainer::new(model(0), Sgd::new(0.1).momentum(0.9), CrossEntropyLoss::new());
    let error = sgd.resume(&checkpoint).err().unwrap();
    assert!(matches!(&error, Error::Checkpoint { path, .. } if path == &checkpoint), "{error:?}");

    let weights_only = dir.path().join("weights.safetensors");
    model(0).save(&weights_only).unwrap();
    let error = trainer(model(0), 1).resume(&weights_only).err().unwrap();
    assert!(
        matches!(&error, Error::Checkpoint { reason, .. } if reason.contains("not a training checkpoint")),
        "{error}"
    );

    let error = trainer(model(0), 1).resume(dir.path().join("missing.safetensors")).err().unwrap();
    assert!(matches!(error, Error::Io { .. }), "{error:?}");

    // An end offset near 2^64 overflows inside the safetensors crate unless nn checks first.
    let end = usize::MAX - 10;
    let header = format!(r#"{{"model.0.weight":{{"dtype":"U8","shape":[{end}],"data_offsets":[0,{end}]}}}}"#);
    let overflowing = dir.path().join("overflowing.safetensors");
    fs::write(&overflowing, [&(header.len() as u64).to_le_bytes()[..], header.as_bytes()].concat()).unwrap();
    let error = trainer(model(0), 1).resume(&overflowing).err().unwrap();
    assert!(matches!(&error, Error::WeightFormat { reason, .. } if reason.contains("the tensors end at data byte")));
}

#[test]
fn a_nan_loss_stops_training_with_the_epoch_and_step() {
    network! {
        /// No activation: a NaN input reaches the loss (this runtime's ReLU maps NaN to 0).
        pub struct Logistic {
            Linear(8, 4)
        }
    }
    let train = blobs(40, 1);
    let mut inputs = train.inputs().to_owned();
    inputs[[5, 2]] = f32::NAN;
    let train = Dataset::new(inputs, train.labels().to_owned()).unwrap();
    let logistic = Logistic::<f32>::init(&mut StdRng::seed_from_u64(0));
    let mut trainer = Trainer::new(logistic, Adam::new(0.01), CrossEntropyLoss::new()).progress(Progress::Silent);
    let error = trainer.fit(&train, None).unwrap_err();
    assert!(matches!(error, Error::NonFiniteLoss { epoch: 1, step: 1, value } if value.is_nan()), "{error:?}");

    let explosive = Trainer::new(model(0), Adam::new(1e30), CrossEntropyLoss::new()).progress(Progress::Silent);
    let error = explosive.epochs(3).fit(&blobs(64, 1), None).unwrap_err();
    match error {
        Error::NonFiniteLoss { epoch, step, value } => {
            assert!(epoch >= 1 && step >= 1 && !value.is_finite());
            assert!(error.to_string().starts_with(&format!("loss became {value} at epoch {epoch}, step {step}")));
        }
        other => panic!("expected Error::NonFiniteLoss, got {other:?}"),
    }
}

#[test]
fn data_that_does_not_fit_the_model_is_an_error() {
    let empty = Dataset::new(Array2::<f32>::zeros((0, 8)), Array1::zeros(0)).unwrap();
    assert!(matches!(trainer(model(0), 1).fit(&empty, None), Err(Error::Dataset(_))));

    let seven_features = Dataset::new(Array2::<f32>::zeros((4, 7)), Array1::zeros(4)).unwrap();
    let error = trainer(model(0), 1).fit(&blobs(8, 1), Some(&seven_features)).unwrap_err();
    assert!(matches!(&error, Error::Shape { expected, found, .. } if expected[1] == 8 && found[1] == 7), "{error:?}");

    let label_four = Dataset::new(Array2::<f32>::zeros((2, 8)), Array1::from_vec(vec![0, 4])).unwrap();
    let error = trainer(model(0), 1).fit(&label_four, None).unwrap_err();
    assert!(
        matches!(&error, Error::Dataset(m) if m == "label 4 is out of range for a model with 4 outputs"),
        "{error}"
    );
}

#[test]
fn plot_draws_a_history_without_a_test_set() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("train-only.png");
    let history = trainer(model(0), 2).fit(&blobs(32, 1), None).unwrap();
    nn::train::plot_history(&history, &path).unwrap();
    assert!(fs::read(&path).unwrap().starts_with(b"\x89PNG"));
}

network! {
    /// `Blobs` with a batch norm, which cannot train on a batch of one sample.
    pub struct NormedBlobs {
        Linear(8, 16) -> BatchNorm1d(16) -> ReLU -> Linear(16, 4)
    }
}

/// A batch size of 0 is an error; one beyond the data set makes a single batch of it all.
#[test]
fn batch_sizes_out_of_range_are_errors_not_overflows() {
    let train = blobs(20, 1);
    let error = trainer(model(0), 1).batch_size(0).fit(&train, None).unwrap_err();
    assert!(matches!(&error, Error::InvalidOption { option, .. } if option == "batch_size"), "{error:?}");
    assert_eq!(error.to_string(), "invalid `batch_size`: 0; a batch holds at least 1 sample");

    let history = trainer(model(0), 2).batch_size(usize::MAX).fit(&train, None).unwrap();
    assert_eq!(history.len(), 2);

    let error = trainer(model(0), 1).batch_size(21).drop_last(true).fit(&train, None).unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid `batch_size`: 21 with `drop_last`, but the training set holds 20 samples: no batch is left"
    );
}

/// BatchNorm refuses one value per channel as PyTorch's `ValueError` does, before any
/// step; `drop_last` skips the last batch of 1, and a model without BatchNorm trains on it.
#[test]
fn a_batch_of_one_sample_under_batch_norm_is_an_error_that_drop_last_avoids() {
    let normed = || NormedBlobs::<f32>::init(&mut StdRng::seed_from_u64(0));
    let normed_trainer =
        || Trainer::new(normed(), Adam::new(0.01), CrossEntropyLoss::new()).epochs(1).progress(Progress::Silent);
    let train = blobs(33, 1);
    let error = normed_trainer().batch_size(16).fit(&train, None).unwrap_err();
    assert!(matches!(error, Error::SingleValueBatch { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        "BatchNorm in training needs more than 1 value per channel, but the last batch of every epoch holds 1 \
         sample (33 samples in batches of 16); set `drop_last(true)` or another batch size"
    );
    let error = normed_trainer().batch_size(1).fit(&train, None).unwrap_err();
    assert!(error.to_string().ends_with("every training batch holds 1 sample; use a batch size of at least 2"));

    let mut dropping = normed_trainer().batch_size(16).drop_last(true);
    dropping.fit(&train, None).unwrap();
    assert_eq!(count(dropping.model()), 2, "two full batches, the last one dropped");
    trainer(model(0), 1).fit(&train, None).unwrap();
}

/// `num_batches_tracked` of a model's first BatchNorm.
fn count(model: &NormedBlobs<f32>) -> i64 {
    let mut found = -1;
    model.visit(&mut |_, entry| {
        if let nn::Entry::Count(count) = entry {
            found = count;
        }
    });
    found
}
