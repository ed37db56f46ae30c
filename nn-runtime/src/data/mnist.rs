//! MNIST from a directory of the four standard IDX files, plain or gzipped,
//! scaled as torchvision's `ToTensor` (`/255`) and optionally `Normalize`d.

use std::path::{Path, PathBuf};

use ndarray::{Array1, Array2, Ix2, Ix4};

use super::idx::read_idx;
use super::Dataset;
use crate::Error;

/// A training set and a test set, in that order.
pub type TrainTest<D> = (Dataset<f32, D>, Dataset<f32, D>);

/// The MNIST digits: images flattened to `[n, 784]` with pixels in `[0, 1]`, and
/// their labels `0..=9`.
///
/// ```no_run
/// # fn main() -> Result<(), nn_runtime::Error> {
/// use nn_runtime::data::Mnist;
/// let (train, test) = Mnist::load("data/mnist-10k")?.into_datasets()?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Mnist {
    /// Training images, `[n, 784]`, row-major 28×28 pixels.
    pub train_images: Array2<f32>,
    /// Training labels, `[n]`.
    pub train_labels: Array1<usize>,
    /// Test images, `[m, 784]`.
    pub test_images: Array2<f32>,
    /// Test labels, `[m]`.
    pub test_labels: Array1<usize>,
}

impl Mnist {
    /// Image height and width.
    pub const SIDE: usize = 28;
    /// Pixels per image, the length of a flattened image.
    pub const PIXELS: usize = 28 * 28;
    /// Number of classes (the digits 0 to 9).
    pub const CLASSES: usize = 10;
    /// Mean pixel of the MNIST training set after `/255`, as in PyTorch's examples.
    pub const MEAN: f32 = 0.1307;
    /// Standard deviation of the MNIST training pixels after `/255`.
    pub const STD: f32 = 0.3081;

    /// Loads `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`
    /// and `t10k-labels-idx1-ubyte` from `dir`, each with or without `.gz`, and scales
    /// pixels to `[0, 1]`.
    ///
    /// A missing file, a malformed one, images that are not 28×28, labels that are not
    /// digits, or image and label counts that differ are [`Error::Data`] naming the file.
    pub fn load(dir: impl AsRef<Path>) -> Result<Self, Error> {
        let dir = dir.as_ref();
        let (train_images, train_labels) = load_split(dir, "train")?;
        let (test_images, test_labels) = load_split(dir, "t10k")?;
        Ok(Mnist { train_images, train_labels, test_images, test_labels })
    }

    /// Standardises every pixel to `(x - mean) / std`, as torchvision's `Normalize`;
    /// use [`Mnist::MEAN`] and [`Mnist::STD`] for MNIST's own statistics.
    pub fn normalize(mut self, mean: f32, std: f32) -> Self {
        for images in [&mut self.train_images, &mut self.test_images] {
            images.mapv_inplace(|x| (x - mean) / std);
        }
        self
    }

    /// The training and test sets with flat inputs `[n, 784]`, for fully connected networks.
    pub fn into_datasets(self) -> Result<TrainTest<Ix2>, Error> {
        Ok((Dataset::new(self.train_images, self.train_labels)?, Dataset::new(self.test_images, self.test_labels)?))
    }

    /// The training and test sets with image inputs `[n, 1, 28, 28]`, for convolutional networks.
    pub fn into_image_datasets(self) -> Result<TrainTest<Ix4>, Error> {
        let as_images = |images: Array2<f32>| {
            let found = images.shape().to_vec();
            images.into_shape_with_order((found[0], 1, Self::SIDE, Self::SIDE)).map_err(|_| Error::Shape {
                what: "MNIST images".to_string(),
                expected: vec![0, Self::PIXELS],
                found,
            })
        };
        let train = Dataset::new(as_images(self.train_images)?, self.train_labels)?;
        let test = Dataset::new(as_images(self.test_images)?, self.test_labels)?;
        Ok((train, test))
    }
}

/// The images and labels of one split (`"train"` or `"t10k"`).
fn load_split(dir: &Path, split: &str) -> Result<(Array2<f32>, Array1<usize>), Error> {
    let images_path = find(dir, &format!("{split}-images-idx3-ubyte"))?;
    let labels_path = find(dir, &format!("{split}-labels-idx1-ubyte"))?;
    let images = read_idx(&images_path)?;
    let labels = read_idx(&labels_path)?;
    let data_error = |path: &Path, reason: String| Error::Data { path: path.to_path_buf(), reason };

    let &[count, Mnist::SIDE, Mnist::SIDE] = images.dims.as_slice() else {
        return Err(data_error(&images_path, format!("expected images of shape [n, 28, 28], found {:?}", images.dims)));
    };
    let &[label_count] = labels.dims.as_slice() else {
        return Err(data_error(&labels_path, format!("expected labels of shape [n], found {:?}", labels.dims)));
    };
    if label_count != count {
        let reason = format!("{label_count} labels, but {} holds {count} images", images_path.display());
        return Err(data_error(&labels_path, reason));
    }
    if let Some((i, label)) = labels.data.iter().enumerate().find(|(_, &label)| label as usize >= Mnist::CLASSES) {
        return Err(data_error(&labels_path, format!("label {label} of sample {i} is not a digit 0-9")));
    }
    let pixels = images.data.iter().map(|&p| f32::from(p) / 255.0).collect();
    let images =
        Array2::from_shape_vec((count, Mnist::PIXELS), pixels).map_err(|e| data_error(&images_path, e.to_string()))?;
    Ok((images, labels.data.iter().map(|&l| usize::from(l)).collect()))
}

/// `dir/name`, or `dir/name.gz` when only that exists.
fn find(dir: &Path, name: &str) -> Result<PathBuf, Error> {
    let plain = dir.join(name);
    let gzipped = dir.join(format!("{name}.gz"));
    if plain.is_file() {
        Ok(plain)
    } else if gzipped.is_file() {
        Ok(gzipped)
    } else {
        let reason = format!("missing MNIST file: neither {name} nor {name}.gz is in {}", dir.display());
        Err(Error::Data { path: gzipped, reason })
    }
}
