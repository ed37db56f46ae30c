//! Weight files: every bad file is a typed `nn::Error` that names the
//! file and, where there is one, the tensor; saving replaces a file atomically; f32 and
//! f64 models read each other's files, as PyTorch's `load_state_dict` casts.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use nn::io::StoredTensor;
use nn::ndarray::Array1;
use nn::prelude::*;
use nn::rand::rngs::StdRng;
use nn::rand::SeedableRng;
use nn::{Entry, Error};

network! {
    /// The network the files here are written for: keys `0.weight` [4, 3], `0.bias`,
    /// `2.weight` [2, 4], `2.bias`.
    #[derive(Debug)]
    pub struct Small { Linear(3, 4) -> ReLU -> Linear(4, 2) }
}

network! {
    /// `Small` with a wider hidden layer: the same keys, but `0.weight` is [5, 3].
    pub struct Wide { Linear(3, 5) -> ReLU -> Linear(5, 2) }
}

network! {
    /// With batch norm, whose `1.num_batches_tracked` is an int64 scalar.
    #[derive(Debug)]
    pub struct Normed { Linear(3, 4) -> BatchNorm1d(4) -> ReLU -> Linear(4, 2) }
}

fn small<F: Float>(seed: u64) -> Small<F> {
    Small::init(&mut StdRng::seed_from_u64(seed))
}

/// A fresh directory and the path of `model.safetensors` in it.
fn scratch() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    (dir, path)
}

/// Every float tensor of `model` by key, widened to f64; counts as well.
fn values<F: Float>(model: &impl Params<F>) -> Vec<(String, Vec<f64>)> {
    let mut all = Vec::new();
    model.visit(&mut |name, entry| {
        let values = match entry {
            Entry::Param { value, .. } | Entry::Buffer(value) => value.iter().map(|&v| Float::to_f64(v)).collect(),
            Entry::Count(count) => vec![count as f64],
        };
        all.push((name.to_string(), values));
    });
    all
}

/// A safetensors file assembled by hand: `(key, dtype as the format spells it, shape, bytes)`
/// per tensor, for the dtypes nn itself never writes.
fn handmade(tensors: &[(&str, &str, Vec<usize>, Vec<u8>)]) -> Vec<u8> {
    let mut entries = Vec::new();
    let mut data = Vec::new();
    for (name, dtype, shape, bytes) in tensors {
        let (start, end) = (data.len(), data.len() + bytes.len());
        entries.push(format!(r#""{name}":{{"dtype":"{dtype}","shape":{shape:?},"data_offsets":[{start},{end}]}}"#));
        data.extend_from_slice(bytes);
    }
    let header = format!("{{{}}}", entries.join(","));
    [&(header.len() as u64).to_le_bytes()[..], header.as_bytes(), &data].concat()
}

/// `Small`'s state dict, by hand, with `replace(key, tensor)` deciding each tensor.
fn handmade_small(replace: impl Fn(&str, &StoredTensor) -> (&'static str, Vec<usize>, Vec<u8>)) -> Vec<u8> {
    let tensors = nn::io::state_dict(&small::<f32>(0), "");
    let entries: Vec<_> = tensors
        .iter()
        .map(|(name, tensor)| {
            let (dtype, shape, bytes) = replace(name, tensor);
            (name.as_str(), dtype, shape, bytes)
        })
        .collect();
    handmade(&entries)
}

/// Asserts the error's message names `path` and contains every one of `words`.
fn assert_names(err: &Error, path: &Path, words: &[&str]) {
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "message does not name the file: {message}");
    for word in words {
        assert!(message.contains(word), "message does not say `{word}`: {message}");
    }
}

#[test]
fn the_handmade_writer_writes_what_nn_reads() {
    let (_dir, path) = scratch();
    fs::write(&path, handmade_small(|_, t| ("F32", t.shape.clone(), t.data.clone()))).unwrap();
    assert_eq!(values(&Small::<f32>::load(&path).unwrap()), values(&small::<f32>(0)));
}

#[test]
fn missing_file_is_an_io_error_naming_it() {
    let (_dir, path) = scratch();
    let err = Small::<f32>::load(&path).unwrap_err();
    assert!(
        matches!(&err, Error::Io { path: p, source } if p == &path && source.kind() == std::io::ErrorKind::NotFound)
    );
    assert_names(&err, &path, &[]);
}

#[test]
fn garbage_bytes_are_a_format_error_naming_the_file() {
    let (_dir, path) = scratch();
    fs::write(&path, b"this is not a safetensors file, it is a sentence").unwrap();
    let err = Small::<f32>::load(&path).unwrap_err();
    assert!(matches!(&err, Error::WeightFormat { path: p, .. } if p == &path), "{err:?}");
    assert_names(&err, &path, &["not a valid safetensors file"]);
}

#[test]
fn a_header_that_is_not_json_is_a_format_error() {
    let (_dir, path) = scratch();
    let header = br#"{"0.weight": {"dtype": "F32", "shape": [4, 3]"#; // cut mid-object
    fs::write(&path, [&(header.len() as u64).to_le_bytes()[..], header].concat()).unwrap();
    let err = Small::<f32>::load(&path).unwrap_err();
    assert!(matches!(&err, Error::WeightFormat { path: p, .. } if p == &path), "{err:?}");
    assert_names(&err, &path, &["not a valid safetensors file"]);
}

/// A valid file cut short anywhere — inside the length prefix, the header or the tensor
/// data — is a format error, never a panic or a partly loaded model.
#[test]
fn truncated_files_are_format_errors() {
    let (_dir, path) = scratch();
    small::<f32>(0).save(&path).unwrap();
    let whole = fs::read(&path).unwrap();
    let header_len = u64::from_le_bytes(whole[..8].try_into().unwrap()) as usize;
    for cut in [0, 5, 8, 8 + header_len / 2, 8 + header_len, whole.len() - 4, whole.len() - 1] {
        fs::write(&path, &whole[..cut]).unwrap();
        let err = Small::<f32>::load(&path).unwrap_err();
        assert!(matches!(&err, Error::WeightFormat { path: p, .. } if p == &path), "cut at {cut}: {err:?}");
        assert_names(&err, &path, &["not a valid safetensors file"]);
    }
}

#[test]
fn mis_shaped_tensor_is_named_with_both_shapes() {
    let (_dir, path) = scratch();
    Wide::<f32>::init(&mut StdRng::seed_from_u64(0)).save(&path).unwrap();
    let err = Small::<f32>::load(&path).unwrap_err();
    assert!(
        matches!(&err, Error::TensorShape { name, expected, found, .. }
            if name == "0.weight" && expected == &[4, 3] && found == &[5, 3]),
        "{err:?}"
    );
    assert_names(&err, &path, &["`0.weight`", "[5, 3]", "[4, 3]"]);
}

#[test]
fn missing_tensor_is_named() {
    let (_dir, path) = scratch();
    let mut tensors = nn::io::state_dict(&small::<f32>(0), "");
    tensors.retain(|(name, _)| name != "2.bias");
    nn::io::save_tensors(&path, &tensors, None).unwrap();
    let err = Small::<f32>::load(&path).unwrap_err();
    assert!(matches!(&err, Error::MissingTensor { name, .. } if name == "2.bias"), "{err:?}");
    assert_names(&err, &path, &["missing tensor `2.bias`"]);
}

#[test]
fn extra_tensor_is_named() {
    let (_dir, path) = scratch();
    let mut tensors = nn::io::state_dict(&small::<f32>(0), "");
    tensors.push(("4.weight".to_string(), StoredTensor::from_array(Array1::<f32>::zeros(2).view())));
    nn::io::save_tensors(&path, &tensors, None).unwrap();
    let err = Small::<f32>::load(&path).unwrap_err();
    assert!(matches!(&err, Error::UnexpectedTensor { name, .. } if name == "4.weight"), "{err:?}");
    assert_names(&err, &path, &["unexpected tensor `4.weight`"]);
}

#[test]
fn half_precision_weight_is_a_dtype_error() {
    let (_dir, path) = scratch();
    // F16 [4, 3]: 2 bytes per element, so the file itself is well formed.
    fs::write(
        &path,
        handmade_small(|name, t| match name {
            "0.weight" => ("F16", t.shape.clone(), vec![0; t.data.len() / 2]),
            _ => ("F32", t.shape.clone(), t.data.clone()),
        }),
    )
    .unwrap();
    let err = Small::<f32>::load(&path).unwrap_err();
    assert!(
        matches!(&err, Error::TensorDtype { name, expected, found, .. }
            if name == "0.weight" && expected == "F32 or F64" && found == "F16"),
        "{err:?}"
    );
    assert_names(&err, &path, &["`0.weight`", "F16"]);
}

#[test]
fn integer_weight_is_a_dtype_error() {
    let (_dir, path) = scratch();
    fs::write(
        &path,
        handmade_small(|name, t| match name {
            "2.bias" => ("I32", t.shape.clone(), t.data.clone()),
            _ => ("F32", t.shape.clone(), t.data.clone()),
        }),
    )
    .unwrap();
    let err = Small::<f32>::load(&path).unwrap_err();
    assert!(matches!(&err, Error::TensorDtype { name, found, .. } if name == "2.bias" && found == "I32"), "{err:?}");
    assert_names(&err, &path, &["`2.bias`", "I32"]);
}

/// `num_batches_tracked` is PyTorch's int64 scalar; an int32 or float one is refused.
#[test]
fn batch_count_of_another_dtype_is_a_dtype_error() {
    let model = Normed::<f32>::init(&mut StdRng::seed_from_u64(0));
    for (dtype, bytes) in [("I32", 3i32.to_le_bytes().to_vec()), ("F32", 3f32.to_le_bytes().to_vec())] {
        let (_dir, path) = scratch();
        let tensors = nn::io::state_dict(&model, "");
        let entries: Vec<_> = tensors
            .iter()
            .map(|(name, t)| match name.as_str() {
                "1.num_batches_tracked" => (name.as_str(), dtype, Vec::new(), bytes.clone()),
                _ => (name.as_str(), "F32", t.shape.clone(), t.data.clone()),
            })
            .collect();
        fs::write(&path, handmade(&entries)).unwrap();
        let err = Normed::<f32>::load(&path).unwrap_err();
        assert!(
            matches!(&err, Error::TensorDtype { name, expected, found, .. }
                if name == "1.num_batches_tracked" && expected == "I64 scalar" && found == dtype),
            "{err:?}"
        );
        assert_names(&err, &path, &["`1.num_batches_tracked`", dtype]);
    }
}

/// An f64 model reads an f32 file exactly (every f32 is an f64), and an f32 model reads
/// an f64 file rounded to nearest, as PyTorch's `load_state_dict` casts with `copy_`.
#[test]
fn f32_and_f64_models_read_each_others_files() {
    let (_dir, path) = scratch();
    let model32 = small::<f32>(1);
    model32.save(&path).unwrap();
    assert_eq!(values(&Small::<f64>::load(&path).unwrap()), values(&model32));

    let model64 = small::<f64>(2);
    model64.save(&path).unwrap();
    let rounded: Vec<(String, Vec<f64>)> =
        values(&model64).into_iter().map(|(name, v)| (name, v.iter().map(|&x| x as f32 as f64).collect())).collect();
    assert_ne!(rounded, values(&model64), "the f64 weights carry bits an f32 cannot hold");
    assert_eq!(values(&Small::<f32>::load(&path).unwrap()), rounded);
}

/// The model's own precision is what it saves: F64 tensors for an f64 model.
#[test]
fn save_writes_the_model_precision() {
    let (_dir, path) = scratch();
    small::<f64>(0).save(&path).unwrap();
    let bytes = fs::read(&path).unwrap();
    let file = nn::io::parse(&path, &bytes).unwrap();
    let dtypes: Vec<String> = file.tensors().iter().map(|(_, t)| format!("{:?}", t.dtype())).collect();
    assert_eq!(dtypes, ["F64"; 4]);
}

/// Saving over a file replaces it by rename: a reader that opened the old file keeps
/// reading the whole old file (an in-place rewrite would change or truncate it under
/// the reader), the path holds the new file, and no temporary file is left behind.
#[test]
fn save_replaces_the_file_by_rename() {
    let (dir, path) = scratch();
    small::<f32>(1).save(&path).unwrap();
    let old_bytes = fs::read(&path).unwrap();
    let mut reader = fs::File::open(&path).unwrap();

    let new_model = small::<f32>(2);
    new_model.save(&path).unwrap();
    let mut seen_by_reader = Vec::new();
    reader.read_to_end(&mut seen_by_reader).unwrap();
    assert!(seen_by_reader == old_bytes, "the old file changed under its reader");
    assert_ne!(fs::read(&path).unwrap(), old_bytes);
    assert_eq!(values(&Small::<f32>::load(&path).unwrap()), values(&new_model));
    assert_eq!(entries(dir.path()), ["model.safetensors"]);
}

/// The names in `dir`, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort_unstable();
    names
}

/// A save that cannot put its file in place (the target is a non-empty directory) is an
/// I/O error naming the target; it leaves the target as it was and no temporary file.
#[test]
fn failed_save_leaves_the_target_and_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("model.safetensors");
    fs::create_dir(&target).unwrap();
    fs::write(target.join("keep.txt"), b"precious").unwrap();

    let err = small::<f32>(0).save(&target).unwrap_err();
    assert!(matches!(&err, Error::Io { path, .. } if path == &target), "{err:?}");
    assert_names(&err, &target, &[]);
    assert_eq!(entries(dir.path()), ["model.safetensors"]);
    assert_eq!(fs::read(target.join("keep.txt")).unwrap(), b"precious");
}

/// Saving under a "directory" that is a file fails with an I/O error naming the path,
/// and the file in the way is untouched.
#[test]
fn save_under_a_file_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("weights");
    fs::write(&blocker, b"not a directory").unwrap();
    let path = blocker.join("model.safetensors");
    let err = small::<f32>(0).save(&path).unwrap_err();
    assert!(matches!(&err, Error::Io { path: p, .. } if p == &path), "{err:?}");
    assert_names(&err, &path, &[]);
    assert_eq!(fs::read(&blocker).unwrap(), b"not a directory");
    assert_eq!(entries(dir.path()), ["weights"]);
}

/// Saving creates missing parent directories, as checkpoints under `runs/<name>/` need.
#[test]
fn save_creates_parent_directories() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs/first/model.safetensors");
    small::<f32>(0).save(&path).unwrap();
    assert_eq!(values(&Small::<f32>::load(&path).unwrap()), values(&small::<f32>(0)));
}
