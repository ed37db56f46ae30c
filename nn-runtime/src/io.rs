//! Weight files: safetensors with PyTorch `state_dict` keys and layouts, written
//! atomically (temporary file, then rename) and loaded strictly.

use std::collections::{HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::fs;
use std::hash::{BuildHasher, Hasher, RandomState};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

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
///
/// Two tensors of one name, and a tensor whose data is not its shape's size, are
/// [`Error::InvalidTensors`], and nothing is written.
pub fn save_tensors(
    path: &Path,
    tensors: &[(String, StoredTensor)],
    metadata: Option<HashMap<String, String>>,
) -> Result<(), Error> {
    check_savable(tensors).map_err(|reason| Error::InvalidTensors { path: path.to_path_buf(), reason })?;
    let views = tensors.iter().map(|(name, tensor)| (name.as_str(), tensor));
    let bytes = safetensors::serialize(views, &metadata)
        .map_err(|e| Error::WeightFormat { path: path.to_path_buf(), reason: e.to_string() })?;
    write_atomically(path, &bytes)
}

/// Why `tensors` cannot be one weight file, if they cannot.
fn check_savable(tensors: &[(String, StoredTensor)]) -> Result<(), String> {
    let mut names = HashSet::new();
    for (name, tensor) in tensors {
        if !names.insert(name.as_str()) {
            return Err(format!("two tensors are named `{name}`"));
        }
        let needed = tensor.shape.iter().try_fold(tensor.dtype.size(), |n, &d| n.checked_mul(d));
        if needed != Some(tensor.data.len()) {
            return Err(format!(
                "tensor `{name}` is {:?} {:?}, which needs {} bytes, but holds {}",
                tensor.dtype,
                tensor.shape,
                needed.map_or("more than usize::MAX".to_string(), |n| n.to_string()),
                tensor.data.len()
            ));
        }
    }
    Ok(())
}

/// The first NaN or infinite element of a float tensor, with its index.
pub(crate) fn first_non_finite(tensor: &StoredTensor) -> Option<(usize, f64)> {
    let values: Box<dyn Iterator<Item = f64>> = match tensor.dtype {
        Dtype::F32 => Box::new(tensor.data.chunks_exact(4).map(|b| f64::from(f32::from_le_slice(b)))),
        Dtype::F64 => Box::new(tensor.data.chunks_exact(8).map(f64::from_le_slice)),
        _ => return None,
    };
    values.enumerate().find(|(_, v)| !v.is_finite())
}

/// Writes `bytes` to a temporary sibling of `path`, syncs it, renames it over `path`,
/// then syncs the directory, so the rename itself is on disk when this returns.
///
/// The temporary file is created anew (`create_new`) under a random name and locked
/// while it is written; temporary files of `path` that a killed save left behind
/// (unlocked) are removed first. Concurrent saves to one path each write their own
/// temporary file, and the file ends as exactly one of them.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let io_error = |source| Error::Io { path: path.to_path_buf(), source };
    let dir = path.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(io_error)?;
    let file_name = path.file_name().ok_or_else(|| io_error(ErrorKind::InvalidInput.into()))?;
    let mut prefix = OsString::from(".");
    prefix.push(file_name);
    prefix.push(".tmp-");
    remove_stale_temporaries(dir, &prefix);
    let mut retries = 0;
    loop {
        match write_through_temporary(dir, path, &prefix, bytes) {
            // Another save's cleanup removed our file between its creation and its lock.
            Err(e) if e.kind() == ErrorKind::NotFound && retries < MAX_RETRIES => retries += 1,
            result => return result.map_err(io_error),
        }
    }
}

/// How often a save retries a temporary file that vanished or whose name was taken.
const MAX_RETRIES: usize = 8;

fn write_through_temporary(dir: &Path, path: &Path, prefix: &OsStr, bytes: &[u8]) -> std::io::Result<()> {
    let (temp, mut file) = create_temporary(dir, prefix)?;
    let result = (|| {
        file.lock()?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temp, path)?;
        sync_directory(dir)
    })();
    if result.is_err() {
        // Best effort: after a failed rename the temporary file is still there.
        let _ = fs::remove_file(&temp);
    }
    result
}

/// A new, empty file `dir/<prefix><random>`, never one that exists already.
fn create_temporary(dir: &Path, prefix: &OsStr) -> std::io::Result<(PathBuf, fs::File)> {
    static SAVES: AtomicU64 = AtomicU64::new(0);
    let mut attempt = 0;
    loop {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u64(SAVES.fetch_add(1, Ordering::Relaxed));
        hasher.write_u32(std::process::id());
        let mut name = prefix.to_os_string();
        name.push(format!("{:016x}", hasher.finish()));
        let temp = dir.join(name);
        match fs::OpenOptions::new().write(true).create_new(true).open(&temp) {
            Err(e) if e.kind() == ErrorKind::AlreadyExists && attempt < MAX_RETRIES => attempt += 1,
            result => return result.map(|file| (temp, file)),
        }
    }
}

/// Removes every file of `dir` named `<prefix>...` that no save holds locked: what a
/// save killed between creating its temporary file and renaming it leaves behind.
fn remove_stale_temporaries(dir: &Path, prefix: &OsStr) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        if !entry.file_name().as_encoded_bytes().starts_with(prefix.as_encoded_bytes()) {
            continue;
        }
        // Best effort throughout: a file that vanished or is locked is not stale.
        if let Ok(file) = fs::File::open(entry.path()) {
            if file.try_lock().is_ok() {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

/// Makes a rename in `dir` durable (on Unix; elsewhere the rename is all there is).
fn sync_directory(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    fs::File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Saves `model`'s state dict to `path` (what `network!`'s `save` calls). A NaN or
/// infinite weight, which [`load`] would refuse, is [`Error::InvalidTensors`], and the
/// file is not written.
pub fn save<F: Float>(model: &impl Params<F>, path: &Path) -> Result<(), Error> {
    let tensors = state_dict(model, "");
    if let Some((name, (index, value))) = tensors.iter().find_map(|(name, t)| Some((name, first_non_finite(t)?))) {
        let reason = format!("tensor `{name}` holds {value} at element {index}; nn loads only finite weights");
        return Err(Error::InvalidTensors { path: path.to_path_buf(), reason });
    }
    save_tensors(path, &tensors, None)
}

/// The bytes of a weight file, with a missing file, or one that is not a regular file
/// (a directory, a FIFO, a device such as `/dev/zero`), reported as [`Error::Io`].
pub fn read(path: &Path) -> Result<Vec<u8>, Error> {
    nn_safetensors::read_regular(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })
}

/// Parses safetensors bytes read from `path`; corrupt or truncated data, and a header
/// whose offsets or sizes do not describe the data exactly, are [`Error::WeightFormat`].
pub fn parse<'a>(path: &Path, bytes: &'a [u8]) -> Result<SafeTensors<'a>, Error> {
    let invalid = |reason: String| Error::WeightFormat { path: path.to_path_buf(), reason };
    nn_safetensors::check(bytes).map_err(invalid)?;
    SafeTensors::deserialize(bytes).map_err(|e| invalid(e.to_string()))
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
            if tensor.dtype() != Dtype::I64 {
                return Err(dtype_error("I64 scalar"));
            }
            if !tensor.shape().is_empty() {
                return Err(Error::TensorShape {
                    path: path.to_path_buf(),
                    name: key.to_string(),
                    expected: Vec::new(),
                    found: tensor.shape().to_vec(),
                });
            }
            let bytes: [u8; 8] = tensor.data().try_into().map_err(|_| dtype_error("I64 scalar"))?;
            let found = i64::from_le_bytes(bytes);
            if found < 0 {
                let reason = format!("is {found}, but a count of batches is at least 0");
                return Err(Error::TensorValue { path: path.to_path_buf(), name: key.to_string(), reason });
            }
            *count = found;
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
    let values: Box<dyn Iterator<Item = f64>> = match tensor.dtype() {
        Dtype::F32 => Box::new(data.chunks_exact(4).map(|b| f64::from(f32::from_le_slice(b)))),
        Dtype::F64 => Box::new(data.chunks_exact(8).map(f64::from_le_slice)),
        _ => return Err(dtype_error("F32 or F64")),
    };
    let is_variance = key.rsplit('.').next() == Some("running_var");
    let value_error = |reason: String| Error::TensorValue { path: path.to_path_buf(), name: key.to_string(), reason };
    for (index, (v, found)) in value.iter_mut().zip(values).enumerate() {
        *v = F::of(found);
        if !found.is_finite() {
            return Err(value_error(format!("holds {found} at element {index}; weights must be finite")));
        }
        if !v.to_f64().is_finite() {
            return Err(value_error(format!("holds {found:e} at element {index}, beyond the range of {}", F::DTYPE)));
        }
        if is_variance && found < 0.0 {
            return Err(value_error(format!("holds {found} at element {index}; a variance is at least 0")));
        }
    }
    Ok(())
}
