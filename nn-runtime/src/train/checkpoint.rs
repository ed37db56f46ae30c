//! Checkpoints: the model, the optimiser state and the training position in one
//! safetensors file, written atomically, so training resumes to the same numbers.
//!
//! Layout: the model's state dict under `model.` (PyTorch keys), the optimiser's
//! tensors under `optim.`, the per-epoch history as the `[epochs, 5]` f64 tensor
//! `train.history` (train loss, train accuracy, test loss, test accuracy, seconds;
//! NaN where there was no test set), and the counters in the string metadata.

use std::collections::HashMap;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

use ndarray::{Array2, ArrayD, Ix2, IxDyn};
use safetensors::SafeTensors;

use super::{EpochRecord, History};
use crate::io::{self, StoredTensor};
use crate::optim::{Optimizer, OptimizerState};
use crate::{Error, Float, Params};

/// The value of the `format` metadata key, so a plain weight file is told apart.
const FORMAT: &str = "nn-checkpoint-1";
const MODEL: &str = "model.";
const OPTIM: &str = "optim.";
const HISTORY: &str = "train.history";
const HISTORY_COLUMNS: usize = 5;

/// Where training stands after a completed epoch, besides the model and optimiser.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Position {
    /// Optimiser steps taken over all epochs.
    pub steps: u64,
    /// The seed every epoch's shuffle derives from.
    pub seed: u64,
    /// Samples per training batch.
    pub batch_size: usize,
    /// Whether each epoch's last, partial batch is skipped.
    pub drop_last: bool,
    /// One record per completed epoch.
    pub history: History,
}

/// Writes a checkpoint of `model`, `optimizer` and `position` to `path` through a
/// temporary file, so a failed write leaves the previous checkpoint intact. A NaN or
/// infinite parameter, buffer or optimiser tensor is [`Error::NonFiniteParameter`], and
/// the previous checkpoint stays.
pub(crate) fn save<F: Float>(
    path: &Path,
    model: &impl Params<F>,
    optimizer: &impl Optimizer<F>,
    position: &Position,
) -> Result<(), Error> {
    let mut tensors = io::state_dict(model, MODEL);
    let state = optimizer.state();
    tensors.extend(
        state.tensors.iter().map(|(name, value)| (format!("{OPTIM}{name}"), StoredTensor::from_array(value.view()))),
    );
    let epoch = position.history.len();
    // Only the float tensors before the history can be NaN by mistake; the history marks
    // a missing test set with NaN by design.
    if let Some((name, value)) = tensors.iter().find_map(|(name, t)| Some((name, io::first_non_finite(t)?.1))) {
        return Err(Error::NonFiniteParameter { name: name.clone(), epoch, value });
    }
    tensors.push((HISTORY.to_string(), StoredTensor::from_array(history_table(&position.history).view())));
    let names: Vec<&str> = state.tensors.iter().map(|(name, _)| name.as_str()).collect();
    let metadata = HashMap::from([
        ("format".to_string(), FORMAT.to_string()),
        ("dtype".to_string(), F::DTYPE.to_string()),
        ("epoch".to_string(), epoch.to_string()),
        ("step".to_string(), position.steps.to_string()),
        ("seed".to_string(), position.seed.to_string()),
        ("batch_size".to_string(), position.batch_size.to_string()),
        ("drop_last".to_string(), position.drop_last.to_string()),
        ("optim.step".to_string(), state.step.to_string()),
        ("optim.lr".to_string(), format!("{:e}", optimizer.lr())),
        ("optim.tensors".to_string(), names.join("\n")),
    ]);
    io::save_tensors(path, &tensors, Some(metadata))
}

/// Restores `model` and `optimizer` from the checkpoint at `path` and returns the
/// training position; anything that does not fit is [`Error::Checkpoint`].
pub(crate) fn load<F: Float>(
    path: &Path,
    model: &mut impl Params<F>,
    optimizer: &mut impl Optimizer<F>,
) -> Result<Position, Error> {
    load_bytes(path, &io::read(path)?, model, optimizer)
}

/// The largest step count a checkpoint may hold: an f64 counts exactly up to it, and
/// optimisers compute their bias corrections from the step as an f64.
const MAX_STEPS: u64 = 1 << 53;

/// [`load`] from the bytes of the file at `path`.
fn load_bytes<F: Float>(
    path: &Path,
    bytes: &[u8],
    model: &mut impl Params<F>,
    optimizer: &mut impl Optimizer<F>,
) -> Result<Position, Error> {
    let file = io::parse(path, bytes)?;
    let invalid = |reason: String| Error::Checkpoint { path: path.to_path_buf(), reason };
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| invalid(e.to_string()))?;
    let metadata = header.metadata().as_ref().filter(|m| m.get("format").map(String::as_str) == Some(FORMAT));
    let Some(metadata) = metadata else {
        return Err(invalid(format!("no `{FORMAT}` metadata: a weight file, not a training checkpoint")));
    };
    let field = |key: &str| metadata.get(key).ok_or_else(|| invalid(format!("metadata `{key}` is missing")));
    let number = |key: &str, range: RangeInclusive<u64>| -> Result<u64, Error> {
        let text = field(key)?;
        let value: u64 = text.parse().map_err(|_| invalid(format!("metadata `{key}` is {text:?}, not a count")))?;
        if !range.contains(&value) {
            let (low, high) = range.into_inner();
            return Err(invalid(format!("metadata `{key}` is {value}, outside {low}..={high}")));
        }
        Ok(value)
    };
    let dtype = field("dtype")?;
    if dtype != F::DTYPE {
        return Err(invalid(format!("it holds {dtype} tensors, the model computes in {}", F::DTYPE)));
    }
    let steps = number("step", 0..=MAX_STEPS)?;
    // Every epoch takes at least one step: the training set is never empty.
    let epochs = number("epoch", 0..=steps)? as usize;
    let optim_steps = number("optim.step", 0..=MAX_STEPS)?;
    let batch_size = number("batch_size", 1..=usize::MAX as u64)? as usize;
    let seed = number("seed", 0..=u64::MAX)?;
    // Absent from checkpoints written before the option existed: they kept every batch.
    let drop_last = match metadata.get("drop_last").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(text) => return Err(invalid(format!("metadata `drop_last` is {text:?}, not true or false"))),
    };
    let lr_text = field("optim.lr")?;
    let lr: f64 = lr_text.parse().map_err(|_| invalid(format!("metadata `optim.lr` is {lr_text:?}, not a number")))?;
    if !(lr.is_finite() && lr > 0.0) {
        return Err(invalid(format!("metadata `optim.lr` is {lr}, but a learning rate is finite and > 0")));
    }

    io::load_state_dict(model, &file, path, MODEL).map_err(|e| mismatch(path, "model", e))?;
    let names = field("optim.tensors")?;
    let tensors = names
        .split('\n')
        .filter(|name| !name.is_empty())
        .map(|name| {
            let key = format!("{OPTIM}{name}");
            let array = read_array::<F>(path, &file, &key)?;
            match array.iter().map(|&v| Float::to_f64(v)).find(|v| !v.is_finite()) {
                Some(v) => Err(invalid(format!("tensor `{key}` holds {v}; optimiser state must be finite"))),
                None => Ok((name.to_string(), array)),
            }
        })
        .collect::<Result<_, Error>>()?;
    let state = OptimizerState { step: optim_steps, tensors };
    state.check_fits(model).map_err(|e| mismatch(path, "optimiser", e))?;
    optimizer.load_state(state).map_err(|e| mismatch(path, "optimiser", e))?;
    optimizer.set_lr(lr);

    let table = read_array::<f64>(path, &file, HISTORY)?;
    let found = table.shape().to_vec();
    let table =
        table.into_dimensionality::<Ix2>().ok().filter(|t| t.dim() == (epochs, HISTORY_COLUMNS)).ok_or_else(|| {
            invalid(format!("`{HISTORY}` has shape {found:?}, expected [{epochs}, {HISTORY_COLUMNS}]"))
        })?;
    Ok(Position { steps, seed, batch_size, drop_last, history: history_from_table(&table) })
}

/// A tensor of the checkpoint as an array; it must exist and hold `T`'s dtype.
fn read_array<T: Float>(path: &Path, file: &SafeTensors<'_>, key: &str) -> Result<ArrayD<T>, Error> {
    let invalid = |reason: String| Error::Checkpoint { path: path.to_path_buf(), reason };
    let tensor = file.tensor(key).map_err(|_| invalid(format!("tensor `{key}` is missing")))?;
    let dtype = format!("{:?}", tensor.dtype());
    if dtype != T::DTYPE {
        return Err(invalid(format!("tensor `{key}` has dtype {dtype}, expected {}", T::DTYPE)));
    }
    let values = tensor.data().chunks_exact(T::BYTES).map(T::from_le_slice).collect();
    ArrayD::from_shape_vec(IxDyn(tensor.shape()), values).map_err(|e| invalid(format!("tensor `{key}`: {e}")))
}

/// Rephrases a loader's error about one part (model or optimiser) as [`Error::Checkpoint`].
fn mismatch(path: &Path, part: &str, error: Error) -> Error {
    let reason = match error {
        Error::MissingTensor { name, .. } => format!("the {part} needs tensor `{name}`, which is missing"),
        Error::UnexpectedTensor { name, .. } => format!("tensor `{name}` is not part of the {part}"),
        Error::TensorShape { name, expected, found, .. } => {
            format!("tensor `{name}` has shape {found:?}, the {part} expects {expected:?}")
        }
        Error::TensorDtype { name, expected, found, .. } => {
            format!("tensor `{name}` has dtype {found}, the {part} expects {expected}")
        }
        Error::Checkpoint { reason, .. } => reason,
        other => format!("the {part} does not fit: {other}"),
    };
    Error::Checkpoint { path: PathBuf::from(path), reason }
}

fn history_table(history: &History) -> Array2<f64> {
    Array2::from_shape_fn((history.len(), HISTORY_COLUMNS), |(epoch, column)| {
        let r = &history.epochs[epoch];
        [
            r.train_loss,
            r.train_accuracy,
            r.test_loss.unwrap_or(f64::NAN),
            r.test_accuracy.unwrap_or(f64::NAN),
            r.seconds,
        ][column]
    })
}

fn history_from_table(table: &Array2<f64>) -> History {
    let present = |x: f64| (!x.is_nan()).then_some(x);
    let epochs = table
        .outer_iter()
        .enumerate()
        .map(|(i, row)| EpochRecord {
            epoch: i + 1,
            train_loss: row[0],
            train_accuracy: row[1],
            test_loss: present(row[2]),
            test_accuracy: present(row[3]),
            seconds: row[4],
        })
        .collect();
    History { epochs }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::testing::Toy;
    use crate::optim::Sgd;

    /// A checkpoint of a toy model after one SGD step with momentum, as bytes, with
    /// `edit` applied to its metadata.
    fn checkpoint(edit: impl FnOnce(&mut HashMap<String, String>)) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.safetensors");
        let mut toy = Toy::<f64>::new([1.0, -2.0, 0.5]);
        toy.set_grads([0.5, -1.0, 2.0]);
        let mut sgd = Sgd::new(0.1).momentum(0.9);
        sgd.step(&mut toy);
        let record = EpochRecord {
            epoch: 1,
            train_loss: 0.5,
            train_accuracy: 0.75,
            test_loss: None,
            test_accuracy: None,
            seconds: 1.0,
        };
        let position =
            Position { steps: 3, seed: 7, batch_size: 4, drop_last: false, history: History { epochs: vec![record] } };
        save(&path, &toy, &sgd, &position).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let file = SafeTensors::deserialize(&bytes).unwrap();
        let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
        let mut metadata = header.metadata().clone().unwrap();
        edit(&mut metadata);
        safetensors::serialize(file.tensors(), &Some(metadata)).unwrap()
    }

    fn resume(bytes: &[u8]) -> Result<Position, Error> {
        let mut sgd = Sgd::new(0.5).momentum(0.9);
        load_bytes(Path::new("run.safetensors"), bytes, &mut Toy::<f64>::new([0.0; 3]), &mut sgd)
    }

    #[test]
    fn a_checkpoint_reads_back_its_position() {
        let position = resume(&checkpoint(|_| ())).unwrap();
        assert_eq!((position.steps, position.seed, position.batch_size, position.drop_last), (3, 7, 4, false));
        assert_eq!(position.history.len(), 1);
        assert_eq!(position.history.epochs[0].test_loss, None);
    }

    /// Every counter and hyper-parameter outside its range is named with its value.
    #[test]
    fn counters_and_hyper_parameters_are_range_checked() {
        let cases = [
            ("step", "9007199254740993", "metadata `step` is 9007199254740993, outside 0..=9007199254740992"),
            ("step", "-1", "metadata `step` is \"-1\", not a count"),
            ("optim.step", "18446744073709551615", "metadata `optim.step` is 18446744073709551615, outside 0..="),
            ("epoch", "4", "metadata `epoch` is 4, outside 0..=3"),
            ("batch_size", "0", "metadata `batch_size` is 0, outside 1..="),
            ("seed", "1e3", "metadata `seed` is \"1e3\", not a count"),
            ("optim.lr", "NaN", "metadata `optim.lr` is NaN, but a learning rate is finite and > 0"),
            ("optim.lr", "inf", "metadata `optim.lr` is inf, but a learning rate is finite and > 0"),
            ("optim.lr", "-0.1", "metadata `optim.lr` is -0.1, but a learning rate is finite and > 0"),
            ("optim.lr", "0", "metadata `optim.lr` is 0, but a learning rate is finite and > 0"),
            ("drop_last", "yes", "metadata `drop_last` is \"yes\", not true or false"),
            ("epoch", "2", "`train.history` has shape [1, 5], expected [2, 5]"),
        ];
        for (key, value, expected) in cases {
            let error = resume(&checkpoint(|m| drop(m.insert(key.to_string(), value.to_string())))).unwrap_err();
            match &error {
                Error::Checkpoint { reason, .. } => assert!(reason.contains(expected), "{reason:?} vs {expected:?}"),
                other => panic!("{key} = {value}: expected Error::Checkpoint, got {other:?}"),
            }
        }
        let error = resume(&checkpoint(|m| drop(m.remove("seed")))).unwrap_err();
        assert!(error.to_string().ends_with("invalid checkpoint: metadata `seed` is missing"), "{error}");
    }

    /// A NaN in the optimiser's state is refused at `resume`, naming the tensor.
    #[test]
    fn a_non_finite_optimiser_tensor_is_refused() {
        let bytes = checkpoint(|_| ());
        let file = SafeTensors::deserialize(&bytes).unwrap();
        let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
        let mut tensors: Vec<(String, StoredTensor)> = file
            .tensors()
            .into_iter()
            .map(|(name, t)| {
                (name, StoredTensor { dtype: t.dtype(), shape: t.shape().to_vec(), data: t.data().to_vec() })
            })
            .collect();
        tensors.sort_by(|a, b| a.0.cmp(&b.0));
        let (name, tensor) = tensors.iter_mut().find(|(name, _)| name.starts_with(OPTIM)).unwrap();
        tensor.data[..8].copy_from_slice(&f64::NAN.to_le_bytes());
        let name = name.clone();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.safetensors");
        io::save_tensors(&path, &tensors, header.metadata().clone()).unwrap();
        let error = resume(&std::fs::read(&path).unwrap()).unwrap_err();
        assert!(
            error.to_string().ends_with(&format!("tensor `{name}` holds NaN; optimiser state must be finite")),
            "{error}"
        );
    }

    /// Mutated checkpoints (bytes, and numbers in the metadata replaced by extreme ones)
    /// resume or are a typed error, never a panic.
    #[test]
    fn fuzz_checkpoint() {
        nn_fuzz::fuzz("checkpoint", checkpoint(|_| ()), |bytes| resume(bytes).is_ok());
    }
}
