//! `nn::data`: the bundled MNIST files, malformed IDX files, and shuffled batches.

use std::fs;
use std::path::{Path, PathBuf};

use nn::data::{read_idx, DataLoader, Dataset, Idx, Mnist};
use nn::ndarray::{Array1, Array2, Array4};
use nn::Error;

const BUNDLED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist-10k");

fn bundled(name: &str) -> PathBuf {
    Path::new(BUNDLED).join(name)
}

/// An uncompressed IDX file of unsigned bytes.
fn idx_bytes(idx: &Idx) -> Vec<u8> {
    let mut bytes = vec![0, 0, 0x08, idx.dims.len() as u8];
    idx.dims.iter().for_each(|&d| bytes.extend((d as u32).to_be_bytes()));
    bytes.extend(&idx.data);
    bytes
}

/// Asserts `result` is `Error::Data` about `path` whose reason contains `expected`.
fn assert_data_error<T: std::fmt::Debug>(result: Result<T, Error>, path: &Path, expected: &str) {
    match result {
        Err(Error::Data { path: found, reason }) => {
            assert_eq!(found, path);
            assert!(reason.contains(expected), "{reason:?} should mention {expected:?}");
        }
        other => panic!("expected Error::Data about {}, got {other:?}", path.display()),
    }
}

#[test]
fn bundled_mnist_has_the_known_counts_pixels_and_labels() {
    let mnist = Mnist::load(BUNDLED).unwrap();
    assert_eq!(mnist.train_images.dim(), (7_996, 784));
    assert_eq!(mnist.train_labels.len(), 7_996);
    assert_eq!(mnist.test_images.dim(), (2_004, 784));
    assert_eq!(mnist.test_labels.len(), 2_004);
    // Read with python3 from the .gz files: gzip.open(f).read(), images from byte 16 and
    // labels from byte 8. Training image 0 has byte 253 at row 14, column 8 (index 400)
    // and 92 at index 152; training labels start 0, 1, 2, 5; test labels start 2, 5, 8, 6.
    assert_eq!(mnist.train_images[[0, 400]], 253.0 / 255.0);
    assert_eq!(mnist.train_images[[0, 152]], 92.0 / 255.0);
    assert_eq!(mnist.train_images[[0, 0]], 0.0);
    assert_eq!(mnist.train_labels.slice(nn::ndarray::s![..4]).to_vec(), [0, 1, 2, 5]);
    assert_eq!(mnist.test_labels.slice(nn::ndarray::s![..4]).to_vec(), [2, 5, 8, 6]);
    assert!(mnist.train_images.iter().all(|&p| (0.0..=1.0).contains(&p)));

    let normalized = mnist.clone().normalize(Mnist::MEAN, Mnist::STD);
    assert_eq!(normalized.train_images[[0, 400]], (253.0 / 255.0 - 0.1307) / 0.3081);
    assert_eq!(normalized.test_images[[0, 0]], -0.1307 / 0.3081);

    let (train, test) = mnist.into_image_datasets().unwrap();
    assert_eq!(train.inputs().shape(), [7_996, 1, 28, 28]);
    assert_eq!(test.len(), 2_004);
    assert_eq!(train.inputs()[[0, 0, 14, 8]], 253.0 / 255.0);
}

#[test]
fn plain_and_gzipped_files_read_alike() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["train-images-idx3-ubyte", "t10k-labels-idx1-ubyte"] {
        let gzipped = bundled(&format!("{name}.gz"));
        fs::write(dir.path().join(name), idx_bytes(&read_idx(&gzipped).unwrap())).unwrap();
    }
    for name in ["train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz"] {
        fs::copy(bundled(name), dir.path().join(name)).unwrap();
    }
    assert_eq!(Mnist::load(dir.path()).unwrap(), Mnist::load(BUNDLED).unwrap());
}

#[test]
fn missing_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let expected = dir.path().join("train-images-idx3-ubyte.gz");
    assert_data_error(Mnist::load(dir.path()), &expected, "neither train-images-idx3-ubyte nor");

    let missing = dir.path().join("nothing-here");
    assert_data_error(read_idx(&missing), &missing, "cannot read the file");
}

/// `bytes` gzipped.
fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// A gzip bomb, 16 MiB of zeros after a header that declares 10 bytes, stops unpacking
/// after the 11th byte; a footer that overstates the size is a corrupt stream.
#[test]
fn gzip_is_unpacked_only_as_far_as_the_header_allows() {
    let dir = tempfile::tempdir().unwrap();
    let mut bomb = idx_bytes(&Idx { dims: vec![10], data: Vec::new() });
    bomb.resize(bomb.len() + (16 << 20), 0);
    let path = dir.path().join("bomb.gz");
    fs::write(&path, gzip(&bomb)).unwrap();
    assert!(fs::metadata(&path).unwrap().len() < 64 << 10, "the bomb is small on disk");
    assert_data_error(read_idx(&path), &path, "the gzip stream unpacks to more than the 10 data bytes");

    let mut lying = gzip(&idx_bytes(&Idx { dims: vec![3], data: vec![1, 2, 3] }));
    let footer = lying.len() - 4;
    lying[footer..].copy_from_slice(&u32::MAX.to_le_bytes());
    fs::write(&path, &lying).unwrap();
    assert_data_error(read_idx(&path), &path, "corrupt gzip stream");

    fs::write(&path, gzip(&idx_bytes(&Idx { dims: vec![3], data: vec![1, 2, 3] }))).unwrap();
    assert_eq!(read_idx(&path).unwrap(), Idx { dims: vec![3], data: vec![1, 2, 3] });
}

/// A directory, a FIFO and a device are refused before they are read: a FIFO would
/// block the read and `/dev/zero` would never end.
#[test]
fn files_that_are_not_regular_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    assert_data_error(read_idx(dir.path()), dir.path(), "not a regular file but a directory");
    #[cfg(unix)]
    {
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(made.success(), "mkfifo failed");
        assert_data_error(read_idx(&fifo), &fifo, "not a regular file but a FIFO, socket or device");
        let zero = Path::new("/dev/zero");
        assert_data_error(read_idx(zero), zero, "not a regular file but a FIFO, socket or device");
    }
}

#[test]
fn truncated_and_corrupt_files_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let labels = read_idx(bundled("train-labels-idx1-ubyte.gz")).unwrap();
    assert_eq!(labels.dims, [7_996]);
    let plain = idx_bytes(&labels);

    let truncated = dir.path().join("truncated-labels");
    fs::write(&truncated, &plain[..1000]).unwrap();
    assert_data_error(
        read_idx(&truncated),
        &truncated,
        "truncated: dimensions [7996] need 7996 data bytes, the file holds 992",
    );

    let gzipped = fs::read(bundled("train-labels-idx1-ubyte.gz")).unwrap();
    let cut = dir.path().join("cut.gz");
    fs::write(&cut, &gzipped[..gzipped.len() / 2]).unwrap();
    assert_data_error(read_idx(&cut), &cut, "corrupt gzip stream");

    let corrupt_magic = dir.path().join("corrupt-magic");
    let mut bytes = plain.clone();
    bytes[..4].copy_from_slice(&[0x12, 0x34, 0x56, 0x78]);
    fs::write(&corrupt_magic, &bytes).unwrap();
    assert_data_error(read_idx(&corrupt_magic), &corrupt_magic, "magic number is 0x12345678");

    let floats = dir.path().join("floats");
    bytes[..4].copy_from_slice(&[0, 0, 0x0D, 1]);
    fs::write(&floats, &bytes).unwrap();
    assert_data_error(read_idx(&floats), &floats, "0x0d (f32) is not supported");
}

#[test]
fn mnist_checks_shapes_labels_and_counts() {
    let copy_bundled = |dir: &Path| {
        for name in
            ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
        {
            fs::copy(bundled(&format!("{name}.gz")), dir.join(format!("{name}.gz"))).unwrap();
        }
    };
    let dir = tempfile::tempdir().unwrap();
    copy_bundled(dir.path());
    let labels_path = dir.path().join("t10k-labels-idx1-ubyte");
    let labels = read_idx(bundled("t10k-labels-idx1-ubyte.gz")).unwrap();
    let wrong_count = Idx { dims: vec![2_003], data: labels.data[..2_003].to_vec() };
    fs::write(&labels_path, idx_bytes(&wrong_count)).unwrap();
    assert_data_error(Mnist::load(dir.path()), &labels_path, "2003 labels, but");

    let mut bad_label = labels.clone();
    bad_label.data[7] = 10;
    fs::write(&labels_path, idx_bytes(&bad_label)).unwrap();
    assert_data_error(Mnist::load(dir.path()), &labels_path, "label 10 of sample 7 is not a digit");

    let images_path = dir.path().join("t10k-images-idx3-ubyte");
    fs::write(&labels_path, idx_bytes(&labels)).unwrap();
    fs::write(&images_path, idx_bytes(&Idx { dims: vec![2_004, 784], data: vec![0; 2_004 * 784] })).unwrap();
    assert_data_error(Mnist::load(dir.path()), &images_path, "expected images of shape [n, 28, 28], found [2004, 784]");
}

#[test]
fn every_sample_is_seen_once_per_epoch_in_fresh_order() {
    let n = 103;
    let inputs = Array2::from_shape_fn((n, 3), |(i, j)| (i * 3 + j) as f32);
    let data = Dataset::new(inputs, Array1::from_iter(0..n)).unwrap();
    let mut loader = DataLoader::new(&data, 10).shuffle(42);
    assert_eq!(loader.num_batches(), 11);
    let mut orders = Vec::new();
    for epoch in 0..3 {
        let (mut order, mut sizes) = (Vec::new(), Vec::new());
        let mut batches = loader.epoch(epoch);
        while let Some((x, y)) = batches.next_batch() {
            for (row, &i) in x.outer_iter().zip(y) {
                assert_eq!(row.to_vec(), [(i * 3) as f32, (i * 3 + 1) as f32, (i * 3 + 2) as f32]);
            }
            sizes.push(y.len());
            order.extend(y.iter().copied());
        }
        assert_eq!(sizes, [10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 3], "the last partial batch is kept");
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..n).collect::<Vec<_>>(), "epoch {epoch} sees every sample exactly once");
        orders.push(order);
    }
    assert_ne!(orders[0], orders[1]);
    assert_ne!(orders[1], orders[2]);
    assert_ne!(orders[0], (0..n).collect::<Vec<_>>());
}

#[test]
fn datasets_of_images_batch_like_vectors() {
    let inputs = Array4::from_shape_fn((7, 1, 2, 2), |(i, _, h, w)| (i * 4 + h * 2 + w) as f64);
    let data = Dataset::new(inputs, Array1::from_iter(0..7)).unwrap();
    let batches: Vec<_> = data.batches(3).map(|(x, y)| (x.shape().to_vec(), y.to_vec())).collect();
    assert_eq!(batches[2], (vec![1, 1, 2, 2], vec![6]));
    assert!(matches!(
        Dataset::new(Array4::<f32>::zeros((2, 1, 2, 2)), Array1::zeros(3)),
        Err(Error::Dataset(m)) if m == "2 input samples but 3 labels"
    ));
}
