//! Labelled samples and their batches: in order for evaluation, shuffled anew every
//! epoch for training, as PyTorch's `DataLoader(dataset, batch_size, shuffle=True)`.

use std::ops::Range;

use ndarray::{Array, Array1, ArrayView, ArrayView1, Axis, Dimension};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::{Error, Float};

/// Inputs `[n, ...]` of any rank (`Ix2` for feature vectors, `Ix4` for images
/// `[n, C, H, W]`) with one class label per sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset<F, D: Dimension> {
    /// Kept in standard (row-major) layout, so a sample is one contiguous slice.
    inputs: Array<F, D>,
    labels: Array1<usize>,
}

impl<F: Float, D: Dimension> Dataset<F, D> {
    /// Pairs `inputs` (samples along axis 0) with their `labels`; an error when the
    /// counts differ or the inputs have no sample axis.
    pub fn new(inputs: Array<F, D>, labels: Array1<usize>) -> Result<Self, Error> {
        let Some(&samples) = inputs.shape().first() else {
            return Err(Error::Dataset("inputs need a sample axis; a 0-dimensional array has none".to_string()));
        };
        if samples != labels.len() {
            return Err(Error::Dataset(format!("{samples} input samples but {} labels", labels.len())));
        }
        if inputs.shape().contains(&0) && samples > 0 {
            return Err(Error::Dataset(format!("samples of shape {:?} hold no values", &inputs.shape()[1..])));
        }
        let inputs = if inputs.is_standard_layout() { inputs } else { inputs.as_standard_layout().into_owned() };
        Ok(Dataset { inputs, labels })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// All inputs, `[n, ...]`.
    pub fn inputs(&self) -> ArrayView<'_, F, D> {
        self.inputs.view()
    }

    /// All labels, `[n]`.
    pub fn labels(&self) -> ArrayView1<'_, usize> {
        self.labels.view()
    }

    /// The samples in `range`, copied (e.g. a small subset for a quick run).
    ///
    /// # Panics
    /// If `range` reaches past the last sample.
    pub fn subset(&self, range: Range<usize>) -> Self {
        let slice = ndarray::Slice::from(range.clone());
        Dataset {
            inputs: self.inputs.slice_axis(Axis(0), slice).to_owned(),
            labels: self.labels.slice_axis(Axis(0), slice).to_owned(),
        }
    }

    /// Batches in sample order, as views into the dataset (nothing is copied);
    /// the last batch holds the remainder.
    ///
    /// # Panics
    /// If `batch_size` is 0.
    pub fn batches(
        &self,
        batch_size: usize,
    ) -> impl ExactSizeIterator<Item = (ArrayView<'_, F, D>, ArrayView1<'_, usize>)> + '_ {
        self.inputs.axis_chunks_iter(Axis(0), batch_size).zip(self.labels.axis_chunks_iter(Axis(0), batch_size))
    }
}

/// Shuffled batches of a [`Dataset`], gathered into buffers the loader reuses, so
/// an epoch allocates nothing per batch.
///
/// ```
/// # use nn_runtime::data::{Dataset, DataLoader};
/// # let train = Dataset::new(ndarray::Array2::<f32>::zeros((10, 3)), ndarray::Array1::zeros(10)).unwrap();
/// let mut loader = DataLoader::new(&train, 4).shuffle(0);
/// for epoch in 0..2 {
///     let mut batches = loader.epoch(epoch);
///     while let Some((x, y)) = batches.next_batch() {
///         assert_eq!(x.nrows(), y.len()); // 4, 4, then the remaining 2
///     }
/// }
/// ```
#[derive(Debug)]
pub struct DataLoader<'d, F, D: Dimension> {
    dataset: &'d Dataset<F, D>,
    batch_size: usize,
    drop_last: bool,
    seed: Option<u64>,
    order: Vec<usize>,
    inputs: Array<F, D>,
    labels: Array1<usize>,
}

impl<'d, F: Float, D: Dimension> DataLoader<'d, F, D> {
    /// Batches of `batch_size` samples of `dataset`, in order until [`DataLoader::shuffle`].
    ///
    /// # Panics
    /// If `batch_size` is 0.
    pub fn new(dataset: &'d Dataset<F, D>, batch_size: usize) -> Self {
        assert!(batch_size > 0, "batch size must be at least 1");
        DataLoader {
            dataset,
            batch_size,
            drop_last: false,
            seed: None,
            order: Vec::new(),
            inputs: Array::zeros(D::zeros(dataset.inputs.ndim())),
            labels: Array1::zeros(0),
        }
    }

    /// Reshuffles every epoch; epoch `e`'s order depends only on `(seed, e)`, so a
    /// run resumed at epoch `e` sees the same batches as an uninterrupted one.
    pub fn shuffle(mut self, seed: u64) -> Self {
        let rows = self.batch_size.min(self.dataset.len());
        let mut dim = self.dataset.inputs.raw_dim();
        dim[0] = rows;
        self.seed = Some(seed);
        self.order = (0..self.dataset.len()).collect();
        self.inputs = Array::zeros(dim);
        self.labels = Array1::zeros(rows);
        self
    }

    /// Drops the last batch of every epoch when it would hold fewer than `batch_size`
    /// samples, as PyTorch's `drop_last=True` (off by default).
    pub fn drop_last(mut self, drop_last: bool) -> Self {
        self.drop_last = drop_last;
        self
    }

    /// Samples per batch (the last batch of an epoch may hold fewer).
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Batches per epoch, the last partial one included unless [`DataLoader::drop_last`].
    pub fn num_batches(&self) -> usize {
        self.batches_of(self.dataset.len())
    }

    /// How many batches `samples` samples make.
    fn batches_of(&self, samples: usize) -> usize {
        if self.drop_last {
            samples / self.batch_size
        } else {
            samples.div_ceil(self.batch_size)
        }
    }

    /// The batches of epoch `epoch` (0-based), shuffled if the loader shuffles.
    pub fn epoch(&mut self, epoch: usize) -> Batches<'_, 'd, F, D> {
        if let Some(seed) = self.seed {
            self.order.iter_mut().enumerate().for_each(|(i, slot)| *slot = i);
            self.order.shuffle(&mut epoch_rng(seed, epoch));
        }
        Batches { loader: self, next: 0 }
    }
}

/// The generator of epoch `epoch`'s shuffle: seeded by `(seed, epoch)` alone.
fn epoch_rng(seed: u64, epoch: usize) -> StdRng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&(epoch as u64).to_le_bytes());
    StdRng::from_seed(key)
}

/// One epoch of a [`DataLoader`]: call [`Batches::next_batch`] until it returns `None`.
///
/// It lends each batch until the next call (the batch lives in the loader's
/// buffer), which is why it is not an [`Iterator`].
#[derive(Debug)]
pub struct Batches<'l, 'd, F, D: Dimension> {
    loader: &'l mut DataLoader<'d, F, D>,
    next: usize,
}

impl<F: Float, D: Dimension> Batches<'_, '_, F, D> {
    /// The next batch: inputs `[b, ...]` and labels `[b]`, `b ≤ batch_size`.
    pub fn next_batch(&mut self) -> Option<(ArrayView<'_, F, D>, ArrayView1<'_, usize>)> {
        let loader = &mut *self.loader;
        let dataset = loader.dataset;
        let start = self.next;
        let end = start.saturating_add(loader.batch_size).min(dataset.len());
        if start >= end || (loader.drop_last && end - start < loader.batch_size) {
            return None;
        }
        self.next = end;
        if loader.seed.is_none() {
            let rows = ndarray::Slice::from(start..end);
            return Some((dataset.inputs.slice_axis(Axis(0), rows), dataset.labels.slice_axis(Axis(0), rows)));
        }
        let sample_len = dataset.inputs.len() / dataset.len();
        // Both are in standard layout: `Dataset::new` and `Array::zeros` guarantee it.
        let (Some(source), Some(buffer)) = (dataset.inputs.as_slice(), loader.inputs.as_slice_mut()) else {
            unreachable!("datasets and loader buffers are in standard layout")
        };
        let indices = &loader.order[start..end];
        let sample = |i: usize| &source[i * sample_len..(i + 1) * sample_len];
        let rows = buffer.chunks_exact_mut(sample_len).zip(loader.labels.iter_mut());
        for (k, (&i, (row, label))) in indices.iter().zip(rows).enumerate() {
            // The shuffled samples lie anywhere in a dataset larger than the caches: each
            // is fetched while the one before it is copied, not when the copy reaches it.
            if let Some(&next) = indices.get(k + 1) {
                prefetch(sample(next));
            }
            row.copy_from_slice(sample(i));
            *label = dataset.labels[i];
        }
        let rows = ndarray::Slice::from(0..end - start);
        Some((loader.inputs.slice_axis(Axis(0), rows), loader.labels.slice_axis(Axis(0), rows)))
    }

    /// Batches left in this epoch.
    pub fn remaining(&self) -> usize {
        self.loader.batches_of(self.loader.dataset.len() - self.next)
    }
}

/// Asks the CPU to bring `values` into its caches, without waiting for them (x86-64;
/// elsewhere nothing).
#[inline]
fn prefetch<F>(values: &[F]) {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        const LINE: usize = 64;
        let (start, bytes) = (values.as_ptr().cast::<i8>(), core::mem::size_of_val(values));
        for offset in (0..bytes).step_by(LINE) {
            // SAFETY: a prefetch only hints; `start + offset` lies within `values`.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(start.wrapping_add(offset)) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = values;
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, Array4};

    /// 10 samples whose features and label are their index.
    fn indexed(n: usize) -> Dataset<f64, ndarray::Ix2> {
        let inputs = Array2::from_shape_fn((n, 3), |(i, _)| i as f64);
        Dataset::new(inputs, Array1::from_iter(0..n)).unwrap()
    }

    #[test]
    fn mismatched_counts_are_an_error() {
        let err = Dataset::new(Array2::<f32>::zeros((3, 2)), Array1::zeros(4)).unwrap_err();
        assert!(matches!(&err, Error::Dataset(m) if m == "3 input samples but 4 labels"), "{err}");
    }

    #[test]
    fn in_order_batches_keep_the_remainder() {
        let data = indexed(10);
        assert_eq!(data.subset(2..5).labels().to_vec(), [2, 3, 4]);
        assert_eq!(data.subset(2..5).inputs().column(1).to_vec(), [2.0, 3.0, 4.0]);
        let sizes: Vec<usize> = data.batches(4).map(|(x, y)| x.nrows().min(y.len())).collect();
        assert_eq!(sizes, [4, 4, 2]);
        let mut loader = DataLoader::new(&data, 4);
        let mut batches = loader.epoch(0);
        let (x, y) = batches.next_batch().unwrap();
        assert_eq!(y.to_vec(), [0, 1, 2, 3]);
        assert_eq!(x.column(0).to_vec(), [0.0, 1.0, 2.0, 3.0]);
    }

    #[test]
    fn shuffled_batches_pair_inputs_with_their_labels_and_differ_by_epoch() {
        let data = indexed(10);
        let mut loader = DataLoader::new(&data, 4).shuffle(7);
        let mut orders = Vec::new();
        for epoch in 0..3 {
            let mut order = Vec::new();
            let mut batches = loader.epoch(epoch);
            assert_eq!(batches.remaining(), 3);
            while let Some((x, y)) = batches.next_batch() {
                for (row, &label) in x.outer_iter().zip(y) {
                    assert!(row.iter().all(|&v| v == label as f64));
                }
                order.extend(y.iter().copied());
            }
            orders.push(order);
        }
        assert_ne!(orders[0], orders[1]);
        let mut again = DataLoader::new(&data, 4).shuffle(7);
        let mut batches = again.epoch(1);
        assert_eq!(batches.next_batch().unwrap().1.to_vec(), orders[1][..4], "epoch order depends on (seed, epoch)");
    }

    #[test]
    fn image_batches_gather_whole_samples() {
        let inputs = Array4::from_shape_fn((5, 2, 3, 3), |(i, c, h, w)| (i * 100 + c * 10 + h * 3 + w) as f32);
        let data = Dataset::new(inputs.clone(), Array1::from_iter(0..5)).unwrap();
        let mut loader = DataLoader::new(&data, 2).shuffle(1);
        let mut batches = loader.epoch(0);
        while let Some((x, y)) = batches.next_batch() {
            for (sample, &i) in x.outer_iter().zip(y) {
                assert_eq!(sample, inputs.index_axis(Axis(0), i));
            }
        }
    }

    #[test]
    fn non_standard_layout_inputs_are_made_contiguous() {
        let inputs = Array2::from_shape_fn((3, 4), |(i, j)| (i * 4 + j) as f32);
        let data = Dataset::new(inputs.t().to_owned(), Array1::zeros(4)).unwrap();
        assert!(data.inputs().is_standard_layout());
        assert_eq!(data.inputs(), inputs.t());
    }

    #[test]
    fn drop_last_drops_the_partial_batch_and_a_huge_batch_size_takes_everything() {
        let data = indexed(10);
        for shuffled in [false, true] {
            let loader = DataLoader::new(&data, 4).drop_last(true);
            let mut loader = if shuffled { loader.shuffle(3) } else { loader };
            assert_eq!(loader.num_batches(), 2);
            let mut batches = loader.epoch(0);
            assert_eq!(batches.remaining(), 2);
            let mut sizes = Vec::new();
            while let Some((_, y)) = batches.next_batch() {
                sizes.push(y.len());
            }
            assert_eq!(sizes, [4, 4]);
        }
        let mut whole = DataLoader::new(&data, usize::MAX).shuffle(0);
        assert_eq!(whole.num_batches(), 1);
        let mut batches = whole.epoch(0);
        assert_eq!(batches.next_batch().unwrap().1.len(), 10);
        assert!(batches.next_batch().is_none());
    }
}
