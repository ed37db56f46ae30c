//! `MaxPool2d(k)` and `AvgPool2d(k)` over `[batch, C, H, W]` batches: windows of
//! `kernel`×`kernel` every `stride`, no padding, PyTorch's floor output size
//! `⌊(H − kernel) / stride⌋ + 1`.
//!
//! Average pooling, and max pooling for inference but for the 2×2 window every 2, run
//! the frozen kernels' plane loops ([`crate::frozen`]). Training max pooling (and the
//! 2×2 window's inference, without the taps) has its own plane kernel, which also
//! records where in its window each maximum is (one byte per output for windows up to
//! 16×16), without a branch on the data, compiled for the vector instruction set; the
//! 2×2 window every 2 has a loop of its own that vectorises. Its values equal the frozen
//! kernel's (a maximum is one of the inputs).

use ndarray::{Array4, ArrayView4, ArrayViewMut4};

use crate::frozen::{avg_pool_plane, max_pool_plane, output_len};
use crate::simd::{dispatch, vectorised, VectorLoop};
use crate::Float;

/// What [`max_pool2d_backward`] needs of a training forward: where each maximum came from.
#[derive(Debug, Clone)]
pub struct MaxPoolIndices {
    /// For every output (in the output's row-major order), the tap `ki·kernel + kj` of
    /// its maximum within its window.
    taps: Taps,
    /// The output's `[batch, C, OH, OW]`.
    output_dim: (usize, usize, usize, usize),
    /// The input's `(H, W)`.
    input_hw: (usize, usize),
    kernel: usize,
    stride: usize,
}

/// Window taps, stored as small as the window allows.
#[derive(Debug, Clone)]
enum Taps {
    /// Windows of at most 256 elements.
    Byte(Vec<u8>),
    /// Larger windows.
    Word(Vec<u32>),
}

impl Taps {
    /// The `i`-th tap.
    fn get(&self, i: usize) -> usize {
        match self {
            Taps::Byte(taps) => taps[i].into(),
            Taps::Word(taps) => taps[i] as usize,
        }
    }
}

/// A tap `ki·kernel + kj` as a [`Taps`] element.
trait Tap: Copy + Default {
    /// Stores `tap`, which is less than the window's size (that the type was chosen to fit).
    fn new(tap: usize) -> Self;
}

impl Tap for u8 {
    fn new(tap: usize) -> Self {
        tap as u8
    }
}

impl Tap for u32 {
    fn new(tap: usize) -> Self {
        tap as u32
    }
}

/// No tap: inference, which needs only the maxima.
impl Tap for () {
    fn new(_: usize) -> Self {}
}

impl MaxPoolIndices {
    /// PyTorch's `return_indices`: for every output, the flat index `h·W + w` of its
    /// maximum in its input plane; shaped as the output.
    pub fn indices(&self) -> Array4<usize> {
        let (_, _, oh, ow) = self.output_dim;
        let (kernel, stride, width) = (self.kernel, self.stride, self.input_hw.1);
        let mut i = 0;
        Array4::from_shape_simple_fn(self.output_dim, || {
            let (oy, ox, tap) = (i / ow % oh, i % ow, self.taps.get(i));
            i += 1;
            (oy * stride + tap / kernel) * width + ox * stride + tap % kernel
        })
    }
}

/// An empty record, for a workspace to fill with [`max_pool2d_train_into`].
impl Default for MaxPoolIndices {
    fn default() -> Self {
        MaxPoolIndices {
            taps: Taps::Byte(Vec::new()),
            output_dim: (0, 0, 0, 0),
            input_hw: (0, 0),
            kernel: 1,
            stride: 1,
        }
    }
}

/// `y` as a slice, checked to be in standard layout and shaped `want`.
fn output_slice<'a, F>(y: &'a mut ArrayViewMut4<F>, want: (usize, usize, usize, usize), what: &str) -> &'a mut [F] {
    assert_eq!(y.dim(), want, "{what} buffer has shape {:?}, expected {want:?}", y.dim());
    y.as_slice_mut().unwrap_or_else(|| panic!("{what} buffer must be in standard layout"))
}

/// Max pooling for inference.
pub fn max_pool2d<F: Float>(x: ArrayView4<F>, kernel: usize, stride: usize) -> Array4<F> {
    let mut y = Array4::zeros(Planes::new(x.dim(), kernel, stride).output_dim());
    max_pool2d_into(x, y.view_mut(), kernel, stride);
    y
}

/// [`max_pool2d`] into `y` (standard layout, shaped as the output).
pub fn max_pool2d_into<F: Float>(x: ArrayView4<F>, mut y: ArrayViewMut4<F>, kernel: usize, stride: usize) {
    let x = x.as_standard_layout();
    let planes = Planes::new(x.dim(), kernel, stride);
    let (x, y) =
        (x.as_slice().expect("standard layout"), output_slice(&mut y, planes.output_dim(), "max_pool2d output"));
    if (kernel, stride) == (2, 2) {
        // The training kernel without taps (a `Vec` of `()` allocates nothing): its
        // selects, vectorised, are four times as fast as the frozen plane loop's branches
        // on data, which mispredict half the time.
        let mut taps = vec![(); y.len()];
        return planes.max_pool(x, y, &mut taps, kernel, stride);
    }
    for (plane, out) in planes.split(x, y) {
        max_pool_plane(plane, planes.w, out, planes.ow, kernel, stride);
    }
}

/// Max pooling for training: the output and, for backward, where each maximum came
/// from (ties go to the first maximum in the window, read row by row, as PyTorch).
pub fn max_pool2d_train<F: Float>(x: ArrayView4<F>, kernel: usize, stride: usize) -> (Array4<F>, MaxPoolIndices) {
    let mut y = Array4::zeros(Planes::new(x.dim(), kernel, stride).output_dim());
    let mut indices = MaxPoolIndices::default();
    max_pool2d_train_into(x, y.view_mut(), &mut indices, kernel, stride);
    (y, indices)
}

/// [`max_pool2d_train`] into `y` (standard layout, shaped as the output) and `indices`,
/// whose storage is reused: nothing is allocated when it last held as many outputs.
pub fn max_pool2d_train_into<F: Float>(
    x: ArrayView4<F>,
    mut y: ArrayViewMut4<F>,
    indices: &mut MaxPoolIndices,
    kernel: usize,
    stride: usize,
) {
    let x = x.as_standard_layout();
    let planes = Planes::new(x.dim(), kernel, stride);
    let y_flat = output_slice(&mut y, planes.output_dim(), "max_pool2d output");
    let outputs = y_flat.len();
    let x_flat = x.as_slice().expect("standard layout");
    let byte = kernel * kernel <= 1 << u8::BITS;
    match &mut indices.taps {
        Taps::Byte(taps) if byte => {
            taps.resize(outputs, 0);
            planes.max_pool(x_flat, y_flat, taps, kernel, stride);
        }
        Taps::Word(taps) if !byte => {
            taps.resize(outputs, 0);
            planes.max_pool(x_flat, y_flat, taps, kernel, stride);
        }
        taps => {
            *taps = if byte {
                let mut taps = vec![0; outputs];
                planes.max_pool(x_flat, y_flat, &mut taps, kernel, stride);
                Taps::Byte(taps)
            } else {
                let mut taps = vec![0; outputs];
                planes.max_pool(x_flat, y_flat, &mut taps, kernel, stride);
                Taps::Word(taps)
            };
        }
    }
    indices.output_dim = planes.output_dim();
    indices.input_hw = (planes.h, planes.w);
    (indices.kernel, indices.stride) = (kernel, stride);
}

/// d loss / d x of max pooling: each output's gradient goes to the input it was the
/// maximum of (summed where overlapping windows share a maximum).
pub fn max_pool2d_backward<F: Float>(indices: &MaxPoolIndices, grad_out: ArrayView4<F>) -> Array4<F> {
    let (batch, channels, _, _) = indices.output_dim;
    let (h, w) = indices.input_hw;
    let mut grad_in = Array4::zeros((batch, channels, h, w));
    max_pool2d_backward_into(indices, grad_out, grad_in.view_mut());
    grad_in
}

/// [`max_pool2d_backward`] into `grad_in` (standard layout, shaped as the input), which
/// is written over.
pub fn max_pool2d_backward_into<F: Float>(
    indices: &MaxPoolIndices,
    grad_out: ArrayView4<F>,
    mut grad_in: ArrayViewMut4<F>,
) {
    assert_eq!(grad_out.dim(), indices.output_dim, "max_pool2d grad_out must be shaped as the output");
    let (batch, channels, _, _) = grad_out.dim();
    let (h, w) = indices.input_hw;
    let grad_out = grad_out.as_standard_layout();
    let dx = output_slice(&mut grad_in, (batch, channels, h, w), "max_pool2d input gradient");
    let g = grad_out.as_slice().expect("standard layout");
    vectorised(
        #[inline(always)]
        || scatter_max(indices, g, dx),
    );
}

/// [`max_pool2d_backward_into`]'s loops: `dx` zeroed, then each gradient of `g` added at
/// its maximum's tap.
#[inline(always)]
fn scatter_max<F: Float>(indices: &MaxPoolIndices, g: &[F], dx: &mut [F]) {
    let w = indices.input_hw.1;
    dx.fill(F::zero());
    match &indices.taps {
        Taps::Byte(taps) => {
            // Where each tap lies relative to its window's first element.
            let mut offsets = [0; 1 << u8::BITS];
            let kernel = indices.kernel;
            for (tap, offset) in offsets.iter_mut().enumerate().take(kernel * kernel) {
                *offset = tap / kernel * w + tap % kernel;
            }
            scatter_to_taps(indices, g, taps.iter().map(|&t| offsets[usize::from(t)]), dx);
        }
        Taps::Word(taps) => {
            let kernel = indices.kernel;
            scatter_to_taps(indices, g, taps.iter().map(|&t| t as usize / kernel * w + t as usize % kernel), dx);
        }
    }
}

/// Adds each output gradient of `g` onto the input `dx` at its window's tap, whose
/// offset from the window's first element is the next of `offsets`.
#[inline(always)]
fn scatter_to_taps<F: Float>(
    indices: &MaxPoolIndices,
    g: &[F],
    mut offsets: impl Iterator<Item = usize>,
    dx: &mut [F],
) {
    let (_, _, oh, ow) = indices.output_dim;
    let (stride, (h, w)) = (indices.stride, indices.input_hw);
    for (g, dx) in g.chunks_exact(oh * ow).zip(dx.chunks_exact_mut(h * w)) {
        for (oy, g) in g.chunks_exact(ow).enumerate() {
            let row = oy * stride * w;
            for (ox, (&g, offset)) in g.iter().zip(&mut offsets).enumerate() {
                dx[row + ox * stride + offset] += g;
            }
        }
    }
}

/// Average pooling, for inference and training alike (its backward needs no tape).
pub fn avg_pool2d<F: Float>(x: ArrayView4<F>, kernel: usize, stride: usize) -> Array4<F> {
    let mut y = Array4::zeros(Planes::new(x.dim(), kernel, stride).output_dim());
    avg_pool2d_into(x, y.view_mut(), kernel, stride);
    y
}

/// [`avg_pool2d`] into `y` (standard layout, shaped as the output).
pub fn avg_pool2d_into<F: Float>(x: ArrayView4<F>, mut y: ArrayViewMut4<F>, kernel: usize, stride: usize) {
    let x = x.as_standard_layout();
    let planes = Planes::new(x.dim(), kernel, stride);
    let y = output_slice(&mut y, planes.output_dim(), "avg_pool2d output");
    for (plane, out) in planes.split(x.as_slice().expect("standard layout"), y) {
        avg_pool_plane(plane, planes.w, out, planes.ow, kernel, stride);
    }
}

/// d loss / d x of average pooling of an input of spatial size `input_hw = (H, W)`:
/// each output's gradient, divided by `kernel²`, added to every input of its window.
pub fn avg_pool2d_backward<F: Float>(
    grad_out: ArrayView4<F>,
    input_hw: (usize, usize),
    kernel: usize,
    stride: usize,
) -> Array4<F> {
    let (batch, channels, _, _) = grad_out.dim();
    let mut grad_in = Array4::zeros((batch, channels, input_hw.0, input_hw.1));
    avg_pool2d_backward_into(grad_out, grad_in.view_mut(), kernel, stride);
    grad_in
}

/// [`avg_pool2d_backward`] into `grad_in` (standard layout, shaped as the input, which
/// gives its size), written over.
pub fn avg_pool2d_backward_into<F: Float>(
    grad_out: ArrayView4<F>,
    mut grad_in: ArrayViewMut4<F>,
    kernel: usize,
    stride: usize,
) {
    let planes = Planes::new(grad_in.dim(), kernel, stride);
    let (h, w) = (planes.h, planes.w);
    assert_eq!(grad_out.dim(), planes.output_dim(), "avg_pool2d grad_out must be shaped as the output");
    let grad_out = grad_out.as_standard_layout();
    let area = F::of((kernel * kernel) as f64);
    let input_dim = grad_in.dim();
    let grad_in = output_slice(&mut grad_in, input_dim, "avg_pool2d input gradient");
    grad_in.fill(F::zero());
    let outputs = grad_out.as_slice().expect("standard layout");
    for (g, grad_plane) in outputs.chunks_exact(planes.oh * planes.ow).zip(grad_in.chunks_exact_mut(h * w)) {
        for (oy, g_row) in g.chunks_exact(planes.ow).enumerate() {
            for ki in 0..kernel {
                let row_start = (oy * stride + ki) * w;
                for kj in 0..kernel {
                    for (d, &g) in grad_plane[row_start + kj..].iter_mut().step_by(stride).zip(g_row) {
                        *d += g / area;
                    }
                }
            }
        }
    }
}

/// The sizes of one pooling of a batch, seen as `batch·C` independent planes.
struct Planes {
    batch: usize,
    channels: usize,
    h: usize,
    w: usize,
    oh: usize,
    ow: usize,
}

impl Planes {
    fn new((batch, channels, h, w): (usize, usize, usize, usize), kernel: usize, stride: usize) -> Self {
        assert!(kernel > 0 && stride > 0, "pooling kernel and stride must be positive");
        let (oh, ow) = (output_len(h, kernel, stride, 0), output_len(w, kernel, stride, 0));
        Planes { batch, channels, h, w, oh, ow }
    }

    fn output_dim(&self) -> (usize, usize, usize, usize) {
        (self.batch, self.channels, self.oh, self.ow)
    }

    /// Pairs each input plane with its output plane.
    fn split<'a, F>(&self, x: &'a [F], y: &'a mut [F]) -> impl Iterator<Item = (&'a [F], &'a mut [F])> {
        x.chunks_exact(self.h * self.w).zip(y.chunks_exact_mut(self.oh * self.ow))
    }

    /// Max pooling of every plane of `x` into `y`, with each maximum's tap in `taps`
    /// (shaped as `y`), compiled for the vector instruction set ([`dispatch`]).
    fn max_pool<F: Float, T: Tap>(&self, x: &[F], y: &mut [F], taps: &mut [T], kernel: usize, stride: usize) {
        dispatch(MaxPool { planes: self, x, y, taps, kernel, stride });
    }
}

/// [`Planes::max_pool`]'s arguments, the [`VectorLoop`] that [`dispatch`] compiles per
/// instruction set.
struct MaxPool<'a, F, T> {
    planes: &'a Planes,
    x: &'a [F],
    y: &'a mut [F],
    taps: &'a mut [T],
    kernel: usize,
    stride: usize,
}

impl<F: Float, T: Tap> VectorLoop for MaxPool<'_, F, T> {
    /// Every plane by [`max_pool_plane_body`], the 2×2 window every 2 compiled on its own
    /// so that it vectorises.
    #[inline(always)]
    fn run(self) {
        let MaxPool { planes, x, y, taps, kernel, stride } = self;
        let plane_pairs = planes.split(x, y).zip(taps.chunks_exact_mut(planes.oh * planes.ow));
        for ((x, y), taps) in plane_pairs {
            match (kernel, stride) {
                (2, 2) => max_pool_plane_2x2(x, planes.w, y, taps, planes.ow),
                _ => max_pool_plane_body(x, planes.w, y, taps, planes.ow, kernel, stride),
            }
        }
    }
}

/// [`max_pool_plane_body`] for the 2×2 window every 2: each output row from two input
/// rows taken two values at a time, the window's four values compared in their order
/// with the same selects, so that the loop over a row vectorises.
#[inline(always)]
fn max_pool_plane_2x2<F: Float, T: Tap>(x: &[F], width: usize, y: &mut [F], taps: &mut [T], out_width: usize) {
    let rows = y.chunks_exact_mut(out_width).zip(taps.chunks_exact_mut(out_width)).zip(x.chunks_exact(2 * width));
    for ((out_row, tap_row), pair) in rows {
        let (upper, lower) = pair.split_at(width);
        let windows = upper.chunks_exact(2).zip(lower.chunks_exact(2));
        for ((out, tap), (upper, lower)) in out_row.iter_mut().zip(tap_row).zip(windows) {
            let (mut max, mut arg, mut nan) = (upper[0], 0u8, upper[0].is_nan());
            for (k, v) in [(1, upper[1]), (2, lower[0]), (3, lower[1])] {
                let greater = v > max;
                arg = if (greater & !nan) | v.is_nan() { k } else { arg };
                nan |= v.is_nan();
                max = if greater { v } else { max };
            }
            *out = if nan { F::nan() } else { max };
            *tap = T::new(arg.into());
        }
    }
}

/// Max pooling of one row-major plane `x` of width `width` into `y` (rows of
/// `out_width`), windows `kernel`×`kernel` every `stride`; `taps` (shaped as `y`)
/// receives each maximum's tap `ki·kernel + kj`.
///
/// PyTorch's rule: each window starts from its first value and is read row by row; a
/// value replaces the maximum when it is greater, or NaN — so ties keep the first
/// maximum, and a NaN wins (the last NaN, for the tap). Every choice is a select on
/// values in registers, never a branch: a branch on data mispredicts half the time.
#[inline(always)]
fn max_pool_plane_body<F: Float, T: Tap>(
    x: &[F],
    width: usize,
    y: &mut [F],
    taps: &mut [T],
    out_width: usize,
    kernel: usize,
    stride: usize,
) {
    for (oy, (out_row, tap_row)) in y.chunks_exact_mut(out_width).zip(taps.chunks_exact_mut(out_width)).enumerate() {
        for (ox, (out, tap)) in out_row.iter_mut().zip(tap_row).enumerate() {
            let start = oy * stride * width + ox * stride;
            let (mut max, mut arg, mut nan) = (x[start], T::default(), x[start].is_nan());
            for ki in 0..kernel {
                for (kj, &v) in x[start + ki * width..][..kernel].iter().enumerate() {
                    // `max` is the greatest number so far; once a NaN is seen only another
                    // NaN moves the tap, and the output is NaN.
                    let greater = v > max;
                    arg = if (greater & !nan) | v.is_nan() { T::new(ki * kernel + kj) } else { arg };
                    nan |= v.is_nan();
                    max = if greater { v } else { max };
                }
            }
            *out = if nan { F::nan() } else { max };
            *tap = arg;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finite_diff::{assert_grad_close, numeric_grad};
    use ndarray::{array, Array};
    use proptest::prelude::{proptest, ProptestConfig};
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};

    /// Windows of 2 every 2 over a 4×5 plane: the last column is dropped (floor), and
    /// the ties (two 7s, four 1s) keep the first maximum read row by row, as PyTorch.
    #[test]
    fn forward_matches_pytorch_definition() {
        let x = array![[[
            [1.0, 7.0, 2.0, 3.0, 9.0],
            [7.0, 0.0, 3.0, -1.0, 9.0],
            [-4.0, -2.0, 1.0, 1.0, 9.0],
            [-3.0, -5.0, 1.0, 1.0, 9.0]
        ]]];
        let (max, indices) = max_pool2d_train(x.view(), 2, 2);
        assert_eq!(max, array![[[[7.0, 3.0], [-2.0, 1.0]]]]);
        assert_eq!(indices.indices(), array![[[[1, 3], [11, 12]]]]);
        assert_eq!(max_pool2d(x.view(), 2, 2), max);
        // Window means: (1+7+7+0)/4, (2+3+3-1)/4, (-4-2-3-5)/4, (1+1+1+1)/4.
        assert_eq!(avg_pool2d(x.view(), 2, 2), array![[[[3.75, 1.75], [-3.5, 1.0]]]]);
    }

    /// NaN wins the window and stays, and a window of −∞ points at its first element,
    /// as in PyTorch.
    #[test]
    fn max_propagates_nan_and_keeps_the_first_of_infinities() {
        let x = array![[[
            [1.0, f64::NAN, f64::NEG_INFINITY, f64::NEG_INFINITY],
            [5.0, 2.0, f64::NEG_INFINITY, f64::NEG_INFINITY]
        ]]];
        let (y, indices) = max_pool2d_train(x.view(), 2, 2);
        assert!(y[[0, 0, 0, 0]].is_nan());
        assert_eq!(indices.indices(), array![[[[1, 2]]]]);
        assert_eq!(y[[0, 0, 0, 1]], f64::NEG_INFINITY);
        assert!(max_pool2d(x.view(), 2, 2)[[0, 0, 0, 0]].is_nan());
    }

    /// The 2×2 window every 2 has its own vectorised plane loop: on ties, zeros of both
    /// signs, infinities and NaN, over odd sizes, it picks the values and taps the
    /// general loop picks, in f32 and f64, and inference gives the same values.
    #[test]
    fn the_two_by_two_loop_picks_as_the_general_one() {
        fn check<F: Float>() {
            let mut rng = rand::rngs::StdRng::seed_from_u64(3);
            let choices = [F::nan(), F::neg_infinity(), F::infinity(), F::of(-0.0), F::zero(), F::one(), F::of(2.0)];
            let x = Array4::from_shape_simple_fn((2, 3, 7, 9), || choices[rng.random_range(0..choices.len())]);
            let (y, indices) = max_pool2d_train(x.view(), 2, 2);
            let planes = Planes::new(x.dim(), 2, 2);
            let (mut want_y, mut want_taps) = (vec![F::zero(); y.len()], vec![0u8; y.len()]);
            let (x_flat, (oh, ow)) = (x.as_slice().unwrap(), (planes.oh, planes.ow));
            for ((x, y), taps) in planes.split(x_flat, &mut want_y).zip(want_taps.chunks_exact_mut(oh * ow)) {
                max_pool_plane_body(x, planes.w, y, taps, ow, 2, 2);
            }
            let same = |a: F, b: F| a == b && a.is_sign_negative() == b.is_sign_negative() || a.is_nan() && b.is_nan();
            assert!(y.iter().zip(&want_y).all(|(&a, &b)| same(a, b)), "values");
            assert!((0..y.len()).all(|i| indices.taps.get(i) == usize::from(want_taps[i])), "taps");
            assert!(max_pool2d(x.view(), 2, 2).iter().zip(&y).all(|(&a, &b)| same(a, b)), "inference");
        }
        check::<f32>();
        check::<f64>();
    }

    /// A 17×17 window (289 taps) does not fit the one-byte taps: its maximum is found
    /// at the last tap of one plane and the first of the other, and gets the gradient.
    #[test]
    fn windows_of_more_than_256_taps() {
        let x = Array::from_shape_fn(
            (1, 2, 17, 17),
            |(_, c, i, j)| if c == 0 { (i * j) as f64 } else { -((i + j) as f64) },
        );
        let (y, indices) = max_pool2d_train(x.view(), 17, 17);
        assert_eq!(y, array![[[[256.0]], [[0.0]]]]);
        assert_eq!(indices.indices(), array![[[[16 * 17 + 16]], [[0]]]]);
        let grad = max_pool2d_backward(&indices, array![[[[1.0]], [[2.0]]]].view());
        assert_eq!((grad[[0, 0, 16, 16]], grad[[0, 1, 0, 0]], grad.sum()), (1.0, 2.0, 3.0));
    }

    /// The `_into` forms write over stale buffers, and a record of indices is reused
    /// across calls, also when the window changes the taps' width.
    #[test]
    fn into_forms_write_over_their_buffers_and_reuse_the_indices() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        let x = Array4::from_shape_simple_fn((2, 3, 18, 17), || rng.random_range(-1.0..1.0));
        let mut indices = MaxPoolIndices::default();
        for (kernel, stride) in [(2, 2), (3, 1), (17, 1), (2, 2)] {
            let (want_y, want_indices) = max_pool2d_train(x.view(), kernel, stride);
            let mut y = Array4::from_elem(want_y.raw_dim(), 9.0);
            max_pool2d_train_into(x.view(), y.view_mut(), &mut indices, kernel, stride);
            assert_eq!((&y, indices.indices()), (&want_y, want_indices.indices()));
            max_pool2d_into(x.view(), y.view_mut(), kernel, stride);
            assert_eq!(y, want_y);
            avg_pool2d_into(x.view(), y.view_mut(), kernel, stride);
            assert_eq!(y, avg_pool2d(x.view(), kernel, stride));

            let r = Array4::from_shape_simple_fn(want_y.raw_dim(), || rng.random_range(-1.0..1.0));
            let mut dx = Array4::from_elem(x.raw_dim(), -5.0);
            max_pool2d_backward_into(&indices, r.view(), dx.view_mut());
            assert_eq!(dx, max_pool2d_backward(&want_indices, r.view()));
            avg_pool2d_backward_into(r.view(), dx.view_mut(), kernel, stride);
            assert_eq!(dx, avg_pool2d_backward(r.view(), (18, 17), kernel, stride));
        }
    }

    /// loss = Σ y ⊙ r for a fixed random `r`, so d loss / d y = r.
    fn weighted_sum(y: &Array4<f64>, r: &Array4<f64>) -> f64 {
        (y * r).sum()
    }

    /// The definition, one output at a time.
    fn reference(x: &Array4<f64>, k: usize, s: usize, reduce: fn(&[f64]) -> f64) -> Array4<f64> {
        let (b, c, h, w) = x.dim();
        Array::from_shape_fn((b, c, (h - k) / s + 1, (w - k) / s + 1), |(n, ch, i, j)| {
            let window: Vec<f64> = (0..k * k).map(|t| x[[n, ch, i * s + t / k, j * s + t % k]]).collect();
            reduce(&window)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn forward_and_backward_match_definition_and_finite_differences(
            batch in 1usize..3, channels in 1usize..3, kernel in 1usize..4, stride in 1usize..4,
            extra_h in 0usize..4, extra_w in 0usize..4, seed in 0u64..1000,
        ) {
            let (h, w) = (kernel + extra_h, kernel + extra_w);
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            // Distinct values 0.1 apart: no window has a tie that a finite difference could flip.
            let mut values: Vec<f64> = (0..batch * channels * h * w).map(|v| v as f64 * 0.1 - 1.0).collect();
            values.shuffle(&mut rng);
            let x = Array4::from_shape_vec((batch, channels, h, w), values).unwrap();

            let (max, indices) = max_pool2d_train(x.view(), kernel, stride);
            let avg = avg_pool2d(x.view(), kernel, stride);
            assert_eq!(&max, &reference(&x, kernel, stride, |v| v.iter().copied().fold(f64::NEG_INFINITY, f64::max)));
            let mean = reference(&x, kernel, stride, |v| v.iter().sum::<f64>() / v.len() as f64);
            assert!(avg.iter().zip(&mean).all(|(a, m)| (a - m).abs() < 1e-12));

            let r = Array4::from_shape_simple_fn(max.raw_dim(), || rng.random_range(-1.0..1.0));
            let numeric_max = numeric_grad(&x, |x| weighted_sum(&max_pool2d(x.view(), kernel, stride), &r));
            assert_grad_close(&max_pool2d_backward(&indices, r.view()), &numeric_max);
            let numeric_avg = numeric_grad(&x, |x| weighted_sum(&avg_pool2d(x.view(), kernel, stride), &r));
            assert_grad_close(&avg_pool2d_backward(r.view(), (h, w), kernel, stride), &numeric_avg);
        }
    }
}
