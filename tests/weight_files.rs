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

/// `Normed`'s state dict by hand, with `replace(key, tensor)` deciding each tensor.
fn handmade_normed(replace: impl Fn(&str, &StoredTensor) -> (&'static str, Vec<usize>, Vec<u8>)) -> Vec<u8> {
    let tensors = nn::io::state_dict(&Normed::<f32>::init(&mut StdRng::seed_from_u64(0)), "");
    let entries: Vec<_> = tensors
        .iter()
        .map(|(name, tensor)| {
            let (dtype, shape, bytes) = replace(name, tensor);
            (name.as_str(), dtype, shape, bytes)
        })
        .collect();
    handmade(&entries)
}

/// A tensor's bytes with element `index` set to `value`.
fn with_f32(tensor: &StoredTensor, index: usize, value: f32) -> Vec<u8> {
    let mut data = tensor.data.clone();
    data[index * 4..index * 4 + 4].copy_from_slice(&value.to_le_bytes());
    data
}

/// Offsets that overflow inside the safetensors crate, leave a gap, overlap, or run past
/// the data are format errors naming the tensor, checked before that crate parses them.
#[test]
fn a_header_whose_offsets_do_not_tile_the_data_is_a_format_error() {
    let (_dir, path) = scratch();
    let huge = usize::MAX - 10;
    let overflow = format!(r#"{{"0.weight":{{"dtype":"U8","shape":[{huge}],"data_offsets":[0,{huge}]}}}}"#);
    let gap =
        r#"{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"b":{"dtype":"U8","shape":[1],"data_offsets":[2,3]}}"#;
    let overlap =
        r#"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}"#;
    let cases = [
        (overflow.as_str(), 0, format!("the tensors end at data byte {huge}, but the file holds 0 data bytes")),
        (gap, 3, "tensor `b` begins at data byte 2, leaving bytes 1..2 unused".to_string()),
        (overlap, 2, "tensor `b` begins at data byte 1, inside the previous tensor".to_string()),
    ];
    for (header, data_len, expected) in cases {
        let bytes = [&(header.len() as u64).to_le_bytes()[..], header.as_bytes(), &vec![0; data_len]].concat();
        fs::write(&path, bytes).unwrap();
        let err = Small::<f32>::load(&path).unwrap_err();
        assert!(matches!(&err, Error::WeightFormat { path: p, .. } if p == &path), "{err:?}");
        assert_names(&err, &path, &["not a valid safetensors file", &expected]);
    }
}

/// NaN, ±inf, and an f64 beyond f32's range are errors naming the tensor and element.
#[test]
fn weights_that_are_not_finite_are_named() {
    let (_dir, path) = scratch();
    for (value, expected) in [(f32::NAN, "holds NaN at element 4"), (f32::NEG_INFINITY, "holds -inf at element 4")] {
        fs::write(
            &path,
            handmade_small(|name, t| match name {
                "2.weight" => ("F32", t.shape.clone(), with_f32(t, 4, value)),
                _ => ("F32", t.shape.clone(), t.data.clone()),
            }),
        )
        .unwrap();
        let err = Small::<f64>::load(&path).unwrap_err();
        assert!(matches!(&err, Error::TensorValue { name, .. } if name == "2.weight"), "{err:?}");
        assert_names(&err, &path, &["tensor `2.weight`", expected, "weights must be finite"]);
    }
    let big = 1e300f64.to_le_bytes();
    fs::write(
        &path,
        handmade_small(|name, t| match name {
            "0.bias" => ("F64", t.shape.clone(), [big.to_vec(), vec![0; 8 * (t.shape[0] - 1)]].concat()),
            _ => ("F32", t.shape.clone(), t.data.clone()),
        }),
    )
    .unwrap();
    assert!(Small::<f64>::load(&path).is_ok(), "1e300 is an f64");
    let err = Small::<f32>::load(&path).unwrap_err();
    assert!(matches!(&err, Error::TensorValue { name, .. } if name == "0.bias"), "{err:?}");
    assert_names(&err, &path, &["tensor `0.bias`", "holds 1e300 at element 0, beyond the range of F32"]);
}

/// A negative running variance, a batch count that is not a scalar, and a negative
/// batch count are refused, naming the tensor.
#[test]
fn batch_norm_statistics_out_of_range_are_named() {
    let (_dir, path) = scratch();
    fs::write(
        &path,
        handmade_normed(|name, t| match name {
            "1.running_var" => ("F32", t.shape.clone(), with_f32(t, 2, -0.5)),
            "1.num_batches_tracked" => ("I64", Vec::new(), t.data.clone()),
            _ => ("F32", t.shape.clone(), t.data.clone()),
        }),
    )
    .unwrap();
    let err = Normed::<f32>::load(&path).unwrap_err();
    assert!(matches!(&err, Error::TensorValue { name, .. } if name == "1.running_var"), "{err:?}");
    assert_names(&err, &path, &["tensor `1.running_var`", "holds -0.5 at element 2; a variance is at least 0"]);

    fs::write(
        &path,
        handmade_normed(|name, t| match name {
            "1.num_batches_tracked" => ("I64", vec![1], t.data.clone()),
            _ => ("F32", t.shape.clone(), t.data.clone()),
        }),
    )
    .unwrap();
    let err = Normed::<f32>::load(&path).unwrap_err();
    assert!(
        matches!(&err, Error::TensorShape { name, expected, found, .. }
            if name == "1.num_batches_tracked" && expected.is_empty() && found == &[1]),
        "{err:?}"
    );
    assert_names(&err, &path, &["`1.num_batches_tracked` has shape [1], the network expects []"]);

    fs::write(
        &path,
        handmade_normed(|name, t| match name {
            "1.num_batches_tracked" => ("I64", Vec::new(), (-3i64).to_le_bytes().to_vec()),
            _ => ("F32", t.shape.clone(), t.data.clone()),
        }),
    )
    .unwrap();
    let err = Normed::<f32>::load(&path).unwrap_err();
    assert!(matches!(&err, Error::TensorValue { name, .. } if name == "1.num_batches_tracked"), "{err:?}");
    assert_names(&err, &path, &["is -3, but a count of batches is at least 0"]);
}

/// Two tensors of one name, data that does not match the shape, and a model with an
/// infinite weight are refused before anything is written.
#[test]
fn tensors_that_cannot_be_one_file_are_not_saved() {
    let (dir, path) = scratch();
    let tensor = StoredTensor::from_array(Array1::<f32>::zeros(3).view());
    let short = StoredTensor { data: vec![0; 8], ..tensor.clone() };
    let cases = [
        (vec![("a".to_string(), tensor.clone()), ("a".to_string(), tensor.clone())], "two tensors are named `a`"),
        (vec![("a".to_string(), short)], "tensor `a` is F32 [3], which needs 12 bytes, but holds 8"),
    ];
    for (tensors, expected) in cases {
        let err = nn::io::save_tensors(&path, &tensors, None).unwrap_err();
        assert!(matches!(&err, Error::InvalidTensors { path: p, .. } if p == &path), "{err:?}");
        assert_names(&err, &path, &["cannot save", expected]);
    }
    let mut nan = small::<f32>(0);
    nan.visit_mut(&mut |name, entry| {
        if let (nn::EntryMut::Param { mut value, .. }, "2.bias") = (entry, name) {
            value[1] = f32::INFINITY;
        }
    });
    let err = nan.save(&path).unwrap_err();
    assert!(matches!(&err, Error::InvalidTensors { .. }), "{err:?}");
    assert_names(&err, &path, &["cannot save: tensor `2.bias` holds inf at element 1; nn loads only finite weights"]);
    assert!(entries(dir.path()).is_empty(), "nothing was written");
}

/// Loading a directory, a FIFO or a device is an I/O error, before the file is opened.
#[test]
fn weights_from_a_file_that_is_not_regular_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let err = Small::<f32>::load(dir.path()).unwrap_err();
    assert!(matches!(&err, Error::Io { path, .. } if path == dir.path()), "{err:?}");
    assert_names(&err, dir.path(), &["not a regular file but a directory"]);
    #[cfg(unix)]
    {
        let fifo = dir.path().join("fifo");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        for path in [fifo.as_path(), Path::new("/dev/zero")] {
            let err = Small::<f32>::load(path).unwrap_err();
            assert_names(&err, path, &["not a regular file but a FIFO, socket or device"]);
        }
    }
}

/// Stale temporary files of a target (a killed save's) are removed by the next save;
/// another file's temporaries and unrelated files stay.
#[test]
fn the_next_save_removes_stale_temporary_files() {
    let (dir, path) = scratch();
    fs::write(dir.path().join(".model.safetensors.tmp-0123456789abcdef"), b"half a file").unwrap();
    fs::write(dir.path().join(".other.safetensors.tmp-0123456789abcdef"), b"another target's").unwrap();
    small::<f32>(0).save(&path).unwrap();
    assert_eq!(entries(dir.path()), [".other.safetensors.tmp-0123456789abcdef", "model.safetensors"]);
}

/// Threads saving different models to one path leave a file equal to one of them.
#[test]
fn concurrent_saves_leave_one_whole_model() {
    let (dir, path) = scratch();
    let models: Vec<Small<f32>> = (0..4).map(small).collect();
    for _ in 0..10 {
        std::thread::scope(|scope| {
            for model in &models {
                scope.spawn(|| (0..5).for_each(|_| model.save(&path).unwrap()));
            }
        });
        let loaded = values(&Small::<f32>::load(&path).unwrap());
        assert!(models.iter().any(|m| values(m) == loaded), "the file is none of the saved models");
        assert_eq!(entries(dir.path()), ["model.safetensors"]);
    }
}
