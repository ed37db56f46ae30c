//! Weight files: safetensors with PyTorch `state_dict` keys and layouts, written
//! atomically (temporary file, then rename) and loaded strictly.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use ndarray::{ArrayView, ArrayViewMutD, Dimension};
use safetensors::tensor::{Dtype, SafeTensors, TensorView, View};

use crate::params::{Entry, EntryMut};
use crate::{Error, Float, Params};

/// One tensor as stored in a file: dtype, shape and little-endian bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredTensor {
    /// Element type.
    pub dtype: Dtype,
    /// Shape (empty for a scalar).
    pub shape: Vec<usize>,
    /// Little-endian bytes, row-major.
    pub data: Vec<u8>,
}

impl StoredTensor {
    /// Copies a float array of any rank, in row-major order.
    pub fn from_array<F: Float, D: Dimension>(array: ArrayView<F, D>) -> Self {
        let mut data = vec![0u8; array.len() * F::BYTES];
        for (chunk, &value) in data.chunks_exact_mut(F::BYTES).zip(array.iter()) {
            value.write_le(chunk);
        }
        StoredTensor { dtype: float_dtype::<F>(), shape: array.shape().to_vec(), data }
    }

    /// A 0-d `int64` tensor, as PyTorch stores `num_batches_tracked`.
    pub fn from_count(count: i64) -> Self {
        StoredTensor { dtype: Dtype::I64, shape: Vec::new(), data: count.to_le_bytes().to_vec() }
    }
}

impl View for &StoredTensor {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> std::borrow::Cow<'_, [u8]> {
        (&self.data).into()
    }
    fn data_len(&self) -> usize {
        self.data.len()
    }
}

fn float_dtype<F: Float>() -> Dtype {
    if F::BYTES == 4 {
        Dtype::F32
    } else {
        Dtype::F64
    }
}

/// Every tensor of `model` under its state-dict key, with `prefix` prepended.
pub fn state_dict<F: Float>(model: &impl Params<F>, prefix: &str) -> Vec<(String, StoredTensor)> {
    let mut tensors = Vec::new();
    model.visit(&mut |name, entry| {
        let tensor = match entry {
            Entry::Param { value, .. } | Entry::Buffer(value) => StoredTensor::from_array(value),
            Entry::Count(count) => StoredTensor::from_count(count),
        };
        tensors.push((format!("{prefix}{name}"), tensor));
    });
    tensors
}

/// Serialises `tensors` (and optional string metadata) as safetensors into `path`,
/// through a temporary file in the same directory, so an interrupted write never
/// leaves a damaged file behind.
pub fn save_tensors(
    path: &Path,
    tensors: &[(String, StoredTensor)],
    metadata: Option<HashMap<String, String>>,
) -> Result<(), Error> {
    let views = tensors.iter().map(|(name, tensor)| (name.as_str(), tensor));
    let bytes = safetensors::serialize(views, &metadata)
        .map_err(|e| Error::WeightFormat { path: path.to_path_buf(), reason: e.to_string() })?;
    write_atomically(path, &bytes)
}

/// Writes `bytes` to a temporary sibling of `path`, syncs it, then renames it over `path`.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let io_error = |source| Error::Io { path: path.to_path_buf(), source };
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(io_error)?;
    }
    let file_name = path.file_name().ok_or_else(|| io_error(std::io::ErrorKind::InvalidInput.into()))?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(file_name);
    temp_name.push(format!(".tmp{}", std::process::id()));
    let temp = path.with_file_name(temp_name);
    let result = (|| {
        let mut file = fs::File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temp, path)
    })();
    if result.is_err() {
        // Best effort: the temporary file may not exist if creating it failed.
        let _ = fs::remove_file(&temp);
    }
    result.map_err(io_error)
}

/// Saves `model`'s state dict to `path` (what `network!`'s `save` calls).
pub fn save<F: Float>(model: &impl Params<F>, path: &Path) -> Result<(), Error> {
    save_tensors(path, &state_dict(model, ""), None)
}

/// The bytes of a weight file, with a missing file reported as [`Error::Io`].
pub fn read(path: &Path) -> Result<Vec<u8>, Error> {
    fs::read(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })
}

/// Parses safetensors bytes read from `path`; corrupt or truncated data is [`Error::WeightFormat`].
pub fn parse<'a>(path: &Path, bytes: &'a [u8]) -> Result<SafeTensors<'a>, Error> {
    SafeTensors::deserialize(bytes).map_err(|e| Error::WeightFormat { path: path.to_path_buf(), reason: e.to_string() })
}

/// Loads every tensor of `model` from `file` (keys under `prefix`), strictly: a
/// missing, mis-shaped or non-float tensor is an error naming it, and so is any
/// tensor under `prefix` that the model does not have.
pub fn load_state_dict<F: Float>(
    model: &mut impl Params<F>,
    file: &SafeTensors<'_>,
    path: &Path,
    prefix: &str,
) -> Result<(), Error> {
    let mut seen = HashSet::new();
    let mut first_error = None;
    model.visit_mut(&mut |name, entry| {
        if first_error.is_some() {
            return;
        }
        let key = format!("{prefix}{name}");
        let result = file
            .tensor(&key)
            .map_err(|_| Error::MissingTensor { path: path.to_path_buf(), name: key.clone() })
            .and_then(|tensor| copy_entry(entry, &tensor, path, &key));
        seen.insert(key);
        if let Err(e) = result {
            first_error = Some(e);
        }
    });
    if let Some(e) = first_error {
        return Err(e);
    }
    let mut unexpected: Vec<&str> = file
        .names()
        .into_iter()
        .map(String::as_str)
        .filter(|name| name.starts_with(prefix) && !seen.contains(*name))
        .collect();
    unexpected.sort_unstable();
    match unexpected.first() {
        Some(name) => Err(Error::UnexpectedTensor { path: path.to_path_buf(), name: name.to_string() }),
        None => Ok(()),
    }
}

/// Loads `model`'s weights from the file at `path` (what `network!`'s `load` calls).
pub fn load<F: Float>(model: &mut impl Params<F>, path: &Path) -> Result<(), Error> {
    let bytes = read(path)?;
    load_state_dict(model, &parse(path, &bytes)?, path, "")
}

fn copy_entry<F: Float>(entry: EntryMut<'_, F>, tensor: &TensorView<'_>, path: &Path, key: &str) -> Result<(), Error> {
    let dtype_error = |expected: &str| Error::TensorDtype {
        path: path.to_path_buf(),
        name: key.to_string(),
        expected: expected.to_string(),
        found: format!("{:?}", tensor.dtype()),
    };
    match entry {
        EntryMut::Param { value, .. } | EntryMut::Buffer(value) => copy_floats(value, tensor, path, key, dtype_error),
        EntryMut::Count(count) => {
            let bytes: [u8; 8] = match (tensor.dtype(), tensor.data().try_into()) {
                (Dtype::I64, Ok(bytes)) => bytes,
                _ => return Err(dtype_error("I64 scalar")),
            };
            *count = i64::from_le_bytes(bytes);
            Ok(())
        }
    }
}

fn copy_floats<F: Float>(
    mut value: ArrayViewMutD<'_, F>,
    tensor: &TensorView<'_>,
    path: &Path,
    key: &str,
    dtype_error: impl Fn(&str) -> Error,
) -> Result<(), Error> {
    if tensor.shape() != value.shape() {
        return Err(Error::TensorShape {
            path: PathBuf::from(path),
            name: key.to_string(),
            expected: value.shape().to_vec(),
            found: tensor.shape().to_vec(),
        });
    }
    let data = tensor.data();
    match tensor.dtype() {
        Dtype::F32 => {
            value.iter_mut().zip(data.chunks_exact(4)).for_each(|(v, b)| *v = F::of(f32::from_le_slice(b) as f64))
        }
        Dtype::F64 => value.iter_mut().zip(data.chunks_exact(8)).for_each(|(v, b)| *v = F::of(f64::from_le_slice(b))),
        _ => return Err(dtype_error("F32 or F64")),
    }
    Ok(())
}
