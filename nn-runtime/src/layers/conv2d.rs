//! `Conv2d(in_c, out_c, kernel)`: PyTorch's 2-d convolution over `[batch, C, H, W]`
//! batches, computed as im2col + GEMM over a few images at a time.
//!
//! Each matrix product is one GEMM call per chunk of images whose im2col matrix fits in
//! `COLUMN_BYTES` (so it stays in L2): the chunk's output pixels, side by side, are the
//! GEMM's long dimension. How one image's pixels are laid out along it:
//! - stride 1, "wide" columns: output row `oy` starts at column `oy·Wp` (`Wp` the padded
//!   input width), so that each row of the im2col matrix is one contiguous slice of the
//!   padded image, and col2im one contiguous add, rather than a copy per output row. The
//!   `Wp − OW` columns after each output row are gaps: the GEMM computes them and they
//!   are dropped (forward) or meet zero gradients (backward). Where data or weights are
//!   not finite the gaps are zeroed, so that no `0·∞` reaches a gradient.
//! - larger strides: the `OH·OW` pixels, im2col and col2im by runs of one input row.
//!
//! Outputs and input gradients are written once, in order, without zero-filling first;
//! the other buffers are kept per thread between calls.

use std::cell::RefCell;

use ndarray::{s, Array1, Array4, ArrayView, ArrayView2, ArrayView4, ArrayViewMut2, Dimension};
use rand::Rng;

use super::weight_bias;
use crate::frozen::{output_len, valid_outputs};
use crate::gemm::matmul;
use crate::params::{Entry, EntryMut};
use crate::scratch::{with_scratch, Scratch};
use crate::Float;

/// The most bytes an im2col matrix of one chunk of images takes (a chunk has at least
/// one image): a share of L2 that leaves room for the GEMM's packed operands.
const COLUMN_BYTES: usize = 256 * 1024;

/// A 2-d convolution with square kernels, its parameters and their gradients.
#[derive(Debug, Clone)]
pub struct Conv2d<F> {
    /// `[out_c, in_c, kernel, kernel]`, as PyTorch stores it.
    pub weight: Array4<F>,
    /// `[out_c]`, absent for `bias = false`.
    pub bias: Option<Array1<F>>,
    /// d loss / d weight, accumulated by [`Conv2d::backward`].
    pub weight_grad: Array4<F>,
    /// d loss / d bias, accumulated by [`Conv2d::backward`].
    pub bias_grad: Option<Array1<F>>,
    /// Step between windows, the same along both axes.
    pub stride: usize,
    /// Zeros added on every side of the input, the same along both axes.
    pub padding: usize,
}

impl<F: Float> Conv2d<F> {
    /// PyTorch's default init: weight and bias uniform in `±1/√(in_c·kernel²)`
    /// (Kaiming-uniform with `a = √5`).
    pub fn init<R: Rng + ?Sized>(
        in_channels: usize,
        out_channels: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
        bias: bool,
        rng: &mut R,
    ) -> Self {
        let bound = 1.0 / ((in_channels * kernel * kernel) as f64).sqrt();
        let mut uniform = || F::of(rng.random_range(-bound..bound));
        let weight = Array4::from_shape_simple_fn((out_channels, in_channels, kernel, kernel), &mut uniform);
        let bias = bias.then(|| Array1::from_shape_simple_fn(out_channels, &mut uniform));
        Self::from_parts(weight, bias, stride, padding)
    }

    /// A layer with the given weight `[out_c, in_c, kernel, kernel]` and bias `[out_c]`,
    /// gradients zeroed.
    ///
    /// # Panics
    /// If the kernel is not square, or the stride is zero.
    pub fn from_parts(weight: Array4<F>, bias: Option<Array1<F>>, stride: usize, padding: usize) -> Self {
        let (_, _, kh, kw) = weight.dim();
        assert_eq!(kh, kw, "Conv2d kernels are square, got {kh}x{kw}");
        assert!(stride > 0, "Conv2d stride must be positive");
        let weight_grad = Array4::zeros(weight.raw_dim());
        let bias_grad = bias.as_ref().map(|b| Array1::zeros(b.raw_dim()));
        Conv2d { weight, bias, weight_grad, bias_grad, stride, padding }
    }

    /// A layer with every parameter zero (what loading fills in).
    pub fn zeros(
        in_channels: usize,
        out_channels: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
        bias: bool,
    ) -> Self {
        let weight = Array4::zeros((out_channels, in_channels, kernel, kernel));
        Self::from_parts(weight, bias.then(|| Array1::zeros(out_channels)), stride, padding)
    }

    /// Copies the weights into a frozen layer: `weight` is `[out_c][in_c][k][k]`
    /// flattened (PyTorch's layout, what [`crate::frozen::conv2d`] reads), `bias` has
    /// `out_c` elements.
    pub fn freeze_into(&self, weight: &mut [F], bias: Option<&mut [F]>) {
        for (dst, &w) in weight.iter_mut().zip(self.weight.iter()) {
            *dst = w;
        }
        weight_bias::freeze_bias(self.bias.as_ref(), bias);
    }

    /// The convolution of a batch `x` of shape `[batch, in_c, H, W]`, of shape
    /// `[batch, out_c, OH, OW]` with `OH = ⌊(H + 2·padding − kernel) / stride⌋ + 1`.
    pub fn forward(&self, x: ArrayView4<F>) -> Array4<F> {
        let x = x.as_standard_layout();
        let (batch, in_c, h, w) = x.dim();
        let geometry = self.geometry(in_c, h, w);
        let weight = self.weight.as_standard_layout();
        let weight = matrix(weight.view(), geometry.out_c);
        let x = x.as_slice().expect("standard layout");
        let row_len = geometry.row_len::<F>(batch);
        let mut y = Vec::with_capacity(batch * geometry.output_len());
        let lens = [geometry.taps() * row_len, geometry.scratch_len(), geometry.out_c * row_len];
        with_scratch(&SCRATCH, lens, |[cols, padded, out]| {
            let mut lowering = Lowering::new(&geometry, row_len, cols, padded);
            let mut out = ArrayViewMut2::from_shape((geometry.out_c, row_len), out).expect("scratch length");
            for (first, n) in geometry.chunks::<F>(batch) {
                // The gaps' outputs are dropped, whatever they hold.
                let cols = lowering.im2col(&geometry, &x[geometry.images(first, n)], false);
                matmul(F::one(), &weight, &cols, F::zero(), &mut out.slice_mut(s![.., ..n * geometry.span]));
                let out = out.as_slice().expect("scratch is contiguous");
                for i in 0..n {
                    geometry.append_output(out, row_len, i, self.bias.as_ref(), &mut y);
                }
            }
        });
        Array4::from_shape_vec((batch, geometry.out_c, geometry.oh, geometry.ow), y).expect("one value per output")
    }

    /// Accumulates d loss / d weight and d loss / d bias for the batch `x` that produced
    /// `grad_out`: `dW += g · colsᵀ` and `db += Σ g`.
    pub fn backward(&mut self, x: ArrayView4<F>, grad_out: ArrayView4<F>) {
        let x = x.as_standard_layout();
        let (batch, in_c, h, w) = x.dim();
        let geometry = self.geometry(in_c, h, w);
        geometry.check_grad_out(batch, grad_out.dim());
        let grad_out = grad_out.as_standard_layout();
        let (x, grad_out) = (x.as_slice().expect("standard layout"), grad_out.as_slice().expect("standard layout"));
        let finite_x = all_finite(x);
        let row_len = geometry.row_len::<F>(batch);
        let mut weight_grad = self
            .weight_grad
            .view_mut()
            .into_shape_with_order(geometry.weight_shape())
            .expect("weight_grad is in standard layout");
        let mut bias_grad = self.bias_grad.as_mut();
        let (taps, out_c) = (geometry.taps(), geometry.out_c);
        let lens = [taps * row_len, geometry.scratch_len(), out_c * row_len, taps * out_c];
        with_scratch(&SCRATCH, lens, |[cols, padded, grads, weight_grad_t]| {
            let mut lowering = Lowering::new(&geometry, row_len, cols, padded);
            let mut grads = geometry.grads_matrix(row_len, grads);
            // dWᵀ, `[in_c·kernel², out_c]`: with the output channels along its rows, the
            // GEMM streams the im2col matrix as it is instead of repacking it (twice as
            // fast on LeNet's second convolution).
            weight_grad_t.fill(F::zero());
            let mut weight_grad_t = ArrayViewMut2::from_shape((taps, out_c), weight_grad_t).expect("scratch length");
            for (first, n) in geometry.chunks::<F>(batch) {
                geometry.gather_grads(&grad_out[geometry.outputs(first, n)], &mut grads, bias_grad.as_deref_mut());
                // The gaps meet zero gradients: harmless unless they hold infinities or NaN.
                let cols = lowering.im2col(&geometry, &x[geometry.images(first, n)], !finite_x);
                let grads = grads.slice(s![.., ..n * geometry.span]);
                matmul(F::one(), &cols, &grads.t(), F::one(), &mut weight_grad_t);
            }
            weight_grad += &weight_grad_t.t();
        });
    }

    /// d loss / d x of shape `[batch, in_c, H, W]` for an input of spatial size
    /// `input_hw = (H, W)` (which the output size alone does not fix when `stride > 1`):
    /// `Wᵀ g`, scattered back onto the image (col2im).
    pub fn input_grad(&self, grad_out: ArrayView4<F>, input_hw: (usize, usize)) -> Array4<F> {
        let (h, w) = input_hw;
        let in_c = self.weight.dim().1;
        let geometry = self.geometry(in_c, h, w);
        let batch = grad_out.dim().0;
        geometry.check_grad_out(batch, grad_out.dim());
        let grad_out = grad_out.as_standard_layout();
        let grad_out = grad_out.as_slice().expect("standard layout");
        let weight = self.weight.as_standard_layout();
        let weight = matrix(weight.view(), geometry.out_c);
        let finite_weight = all_finite(weight.as_slice().expect("standard layout"));
        let row_len = geometry.row_len::<F>(batch);
        let mut grad_in = Vec::with_capacity(batch * geometry.image_len());
        let lens = [geometry.out_c * row_len, geometry.taps() * row_len, geometry.scratch_len()];
        with_scratch(&SCRATCH, lens, |[grads, cols, image]| {
            let mut grads = geometry.grads_matrix(row_len, grads);
            let mut cols = ArrayViewMut2::from_shape((geometry.taps(), row_len), cols).expect("scratch length");
            for (first, n) in geometry.chunks::<F>(batch) {
                geometry.gather_grads(&grad_out[geometry.outputs(first, n)], &mut grads, None);
                let grads = grads.slice(s![.., ..n * geometry.span]);
                matmul(F::one(), &weight.t(), &grads, F::zero(), &mut cols.slice_mut(s![.., ..n * geometry.span]));
                let cols = cols.as_slice_mut().expect("scratch is contiguous");
                if !finite_weight {
                    geometry.zero_gaps(cols, row_len, n);
                }
                for i in 0..n {
                    geometry.col2im(cols, row_len, i, image, &mut grad_in);
                }
            }
        });
        Array4::from_shape_vec((batch, in_c, h, w), grad_in).expect("one value per input")
    }

    /// Visits `weight` then `bias` under their state-dict keys (`"0.weight"`, `"0.bias"`).
    pub fn visit(&self, keys: [&str; 2], visitor: &mut dyn FnMut(&str, Entry<'_, F>)) {
        let bias = self.bias.as_ref().zip(self.bias_grad.as_ref());
        weight_bias::visit(keys, (&self.weight, &self.weight_grad), bias, visitor);
    }

    /// Writable counterpart of [`Conv2d::visit`].
    pub fn visit_mut(&mut self, keys: [&str; 2], visitor: &mut dyn FnMut(&str, EntryMut<'_, F>)) {
        let bias = self.bias.as_mut().zip(self.bias_grad.as_mut());
        weight_bias::visit_mut(keys, (&mut self.weight, &mut self.weight_grad), bias, visitor);
    }

    /// The sizes of this layer applied to a `[in_c, h, w]` image.
    fn geometry(&self, in_c: usize, h: usize, w: usize) -> Geometry {
        let (out_c, weight_in_c, kernel, _) = self.weight.dim();
        assert_eq!(in_c, weight_in_c, "Conv2d expects {weight_in_c} input channels, got {in_c}");
        let (stride, padding) = (self.stride, self.padding);
        let (oh, ow) = (output_len(h, kernel, stride, padding), output_len(w, kernel, stride, padding));
        let (pitch, span) = if stride == 1 {
            let padded_w = w + 2 * padding;
            (padded_w, (oh - 1) * padded_w + ow)
        } else {
            (ow, oh * ow)
        };
        Geometry { in_c, h, w, out_c, kernel, stride, padding, oh, ow, pitch, span }
    }
}

/// Whether no value is infinite or NaN (without stopping early, so that it vectorises).
fn all_finite<F: Float>(values: &[F]) -> bool {
    values.iter().fold(true, |all, v| all & v.is_finite())
}

/// `a` (standard layout) seen as a `[rows, rest]` matrix.
fn matrix<F, D: Dimension>(a: ArrayView<F, D>, rows: usize) -> ArrayView2<F> {
    let rest = a.len() / rows;
    a.into_shape_with_order((rows, rest)).expect("standard layout")
}

thread_local! {
    /// Each thread's scratch for the convolutions: the buffers of a call are the next
    /// call's, not freed and allocated again (which, at a few hundred kB a call, let the
    /// allocator return and re-fault its pages: on LeNet-5 that cost more than the
    /// arithmetic).
    static SCRATCH: RefCell<Scratch> = const { RefCell::new(Vec::new()) };
}

/// The im2col matrix of a chunk of images, `[in_c·kernel², row_len]`, and the padded
/// image it is read through.
struct Lowering<'s, F> {
    cols: &'s mut [F],
    padded: &'s mut [F],
    row_len: usize,
}

impl<'s, F: Float> Lowering<'s, F> {
    /// Readies scratch `cols` and `padded` (of [`Geometry::scratch_len`]): zero where
    /// nothing is copied, the padding.
    fn new(geometry: &Geometry, row_len: usize, cols: &'s mut [F], padded: &'s mut [F]) -> Self {
        padded.fill(F::zero());
        if geometry.stride != 1 {
            cols.fill(F::zero());
        }
        Lowering { cols, padded, row_len }
    }

    /// The im2col matrix `[in_c·kernel², n·span]` of the `n` images `x`, with its gaps
    /// zeroed if `zero_gaps` (they hold image values).
    fn im2col(&mut self, geometry: &Geometry, x: &[F], zero_gaps: bool) -> ArrayView2<'_, F> {
        let n = x.len() / geometry.image_len().max(1);
        for i in 0..n {
            geometry.im2col(&x[geometry.images(i, 1)], self.padded, self.cols, self.row_len, i);
        }
        if zero_gaps {
            geometry.zero_gaps(self.cols, self.row_len, n);
        }
        let cols = ArrayView2::from_shape((geometry.taps(), self.row_len), &*self.cols).expect("scratch length");
        cols.slice_move(s![.., ..n * geometry.span])
    }
}

/// The sizes of one convolution of one image, and how its output pixels are laid out
/// along the GEMM's columns.
struct Geometry {
    in_c: usize,
    h: usize,
    w: usize,
    out_c: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    oh: usize,
    ow: usize,
    /// Columns from one output row of an image to the next: the padded input width for
    /// stride 1 (the last `pitch − ow` are gaps), `ow` otherwise.
    pitch: usize,
    /// Columns of one image: `(oh − 1)·pitch + ow`.
    span: usize,
}

impl Geometry {
    /// Rows of the im2col matrix: one per kernel tap `(c, ki, kj)`.
    fn taps(&self) -> usize {
        self.in_c * self.kernel * self.kernel
    }

    fn image_len(&self) -> usize {
        self.in_c * self.h * self.w
    }

    fn output_len(&self) -> usize {
        self.out_c * self.oh * self.ow
    }

    /// The weight seen as `[out_c, in_c·kernel²]`.
    fn weight_shape(&self) -> (usize, usize) {
        (self.out_c, self.taps())
    }

    fn padded_hw(&self) -> (usize, usize) {
        (self.h + 2 * self.padding, self.w + 2 * self.padding)
    }

    /// Length of the one-image scratch: the padded image for stride 1, else the image.
    fn scratch_len(&self) -> usize {
        let (padded_h, padded_w) = self.padded_hw();
        if self.stride == 1 {
            self.in_c * padded_h * padded_w
        } else {
            self.image_len()
        }
    }

    /// Images per GEMM: as many as keep the im2col matrix within [`COLUMN_BYTES`], at
    /// least one, at most the batch.
    fn chunk<F>(&self, batch: usize) -> usize {
        let per_image = self.taps() * self.span * core::mem::size_of::<F>();
        (COLUMN_BYTES / per_image.max(1)).clamp(1, batch.max(1))
    }

    /// Columns of a chunk's matrices: `chunk·span`.
    fn row_len<F>(&self, batch: usize) -> usize {
        self.chunk::<F>(batch) * self.span
    }

    /// Scratch `grads` as the gathered output gradients, `[out_c, row_len]`, zeroed so
    /// that the gaps stay zero.
    fn grads_matrix<'s, F: Float>(&self, row_len: usize, grads: &'s mut [F]) -> ArrayViewMut2<'s, F> {
        grads.fill(F::zero());
        ArrayViewMut2::from_shape((self.out_c, row_len), grads).expect("scratch length")
    }

    /// `(first image, images)` of every chunk of the batch.
    fn chunks<F>(&self, batch: usize) -> impl Iterator<Item = (usize, usize)> {
        let chunk = self.chunk::<F>(batch);
        (0..batch).step_by(chunk).map(move |first| (first, chunk.min(batch - first)))
    }

    /// Where `n` images from `first` lie in a row-major batch of inputs.
    fn images(&self, first: usize, n: usize) -> core::ops::Range<usize> {
        first * self.image_len()..(first + n) * self.image_len()
    }

    /// Where `n` images from `first` lie in a row-major batch of outputs.
    fn outputs(&self, first: usize, n: usize) -> core::ops::Range<usize> {
        first * self.output_len()..(first + n) * self.output_len()
    }

    fn check_grad_out(&self, batch: usize, grad_out: (usize, usize, usize, usize)) {
        let want = (batch, self.out_c, self.oh, self.ow);
        assert_eq!(grad_out, want, "Conv2d grad_out has shape {grad_out:?}, expected {want:?}");
    }

    /// For stride 1: calls `visit(tap, offset)` for every tap, `offset` being where in the
    /// padded image `[in_c, Hp, Wp]` the first pixel it reads lies; its im2col row is the
    /// `span` pixels from there.
    fn for_each_wide_tap(&self, mut visit: impl FnMut(usize, usize)) {
        let (padded_h, padded_w) = self.padded_hw();
        let mut tap = 0;
        for c in 0..self.in_c {
            for ki in 0..self.kernel {
                for kj in 0..self.kernel {
                    visit(tap, (c * padded_h + ki) * padded_w + kj);
                    tap += 1;
                }
            }
        }
    }

    /// For stride 1: calls `visit(row, start)` for every row of the image `[in_c, h, w]`,
    /// `start` being where it lies in the padded image `[in_c, Hp, Wp]`.
    fn for_each_padded_row(&self, mut visit: impl FnMut(usize, usize)) {
        let (padded_h, padded_w) = self.padded_hw();
        for c in 0..self.in_c {
            for y in 0..self.h {
                visit(c * self.h + y, (c * padded_h + y + self.padding) * padded_w + self.padding);
            }
        }
    }

    /// For strides above 1: calls `visit(tap, col, pixel, len)` for every run of im2col
    /// entries read from one input row, `cols[tap][col + i]` holding `x[pixel + i·stride]`
    /// for `i < len`. Entries outside every run read the zero padding, and are the same
    /// for every image.
    fn for_each_run(&self, mut visit: impl FnMut(usize, usize, usize, usize)) {
        let (kernel, stride, padding) = (self.kernel, self.stride, self.padding);
        for c in 0..self.in_c {
            for ki in 0..kernel {
                let rows = valid_outputs(ki, self.h, self.oh, stride, padding);
                for kj in 0..kernel {
                    let cols = valid_outputs(kj, self.w, self.ow, stride, padding);
                    if cols.is_empty() {
                        continue;
                    }
                    let tap = (c * kernel + ki) * kernel + kj;
                    for oy in rows.clone() {
                        let col = oy * self.pitch + cols.start;
                        let pixel =
                            (c * self.h + oy * stride + ki - padding) * self.w + cols.start * stride + kj - padding;
                        visit(tap, col, pixel, cols.len());
                    }
                }
            }
        }
    }

    /// Fills image `i`'s columns of the chunk's im2col matrix `cols` (rows of `row_len`)
    /// from the image `x` (`[in_c, h, w]`, row-major), through `padded` (zero borders)
    /// when stride 1 needs padding.
    fn im2col<F: Float>(&self, x: &[F], padded: &mut [F], cols: &mut [F], row_len: usize, i: usize) {
        let first = i * self.span;
        if self.stride == 1 {
            let image = if self.padding == 0 {
                x
            } else {
                self.for_each_padded_row(|row, start| {
                    padded[start..start + self.w].copy_from_slice(&x[row * self.w..][..self.w]);
                });
                &*padded
            };
            self.for_each_wide_tap(|tap, offset| {
                cols[tap * row_len + first..][..self.span].copy_from_slice(&image[offset..offset + self.span]);
            });
        } else {
            self.for_each_run(|tap, col, pixel, len| {
                let run = &mut cols[tap * row_len + first + col..][..len];
                for (c, &v) in run.iter_mut().zip(x[pixel..].iter().step_by(self.stride)) {
                    *c = v;
                }
            });
        }
    }

    /// Adds image `i`'s columns of `cols` (rows of `row_len`) onto the pixels they were
    /// read from (the adjoint of [`Geometry::im2col`]) in the zeroed `scratch`, and
    /// appends the resulting `[in_c, h, w]` gradient to `grad_in`.
    fn col2im<F: Float>(&self, cols: &[F], row_len: usize, i: usize, scratch: &mut [F], grad_in: &mut Vec<F>) {
        let first = i * self.span;
        scratch.fill(F::zero());
        if self.stride == 1 {
            self.for_each_wide_tap(|tap, offset| {
                let run = &cols[tap * row_len + first..][..self.span];
                for (v, &c) in scratch[offset..offset + self.span].iter_mut().zip(run) {
                    *v += c;
                }
            });
            self.for_each_padded_row(|_, start| grad_in.extend_from_slice(&scratch[start..start + self.w]));
        } else {
            self.for_each_run(|tap, col, pixel, len| {
                let run = &cols[tap * row_len + first + col..][..len];
                for (v, &c) in scratch[pixel..].iter_mut().step_by(self.stride).zip(run) {
                    *v += c;
                }
            });
            grad_in.extend_from_slice(scratch);
        }
    }

    /// Appends image `i`'s output `[out_c, oh, ow]` to `y`: its columns of the GEMM
    /// result `out` (rows of `row_len`) plus the bias.
    fn append_output<F: Float>(&self, out: &[F], row_len: usize, i: usize, bias: Option<&Array1<F>>, y: &mut Vec<F>) {
        for (o, channel) in out.chunks_exact(row_len).enumerate() {
            let channel = &channel[i * self.span..][..self.span];
            for oy in 0..self.oh {
                let row = &channel[oy * self.pitch..][..self.ow];
                match bias {
                    Some(bias) => y.extend(row.iter().map(|&v| v + bias[o])),
                    None => y.extend_from_slice(row),
                }
            }
        }
    }

    /// Copies the output gradients `g` of a chunk of images (`[n, out_c, oh, ow]`,
    /// row-major) into their columns of `grads` (`[out_c, chunk·span]`, gaps left zero),
    /// adding each channel's sum to `bias_grad` if given.
    fn gather_grads<F: Float>(&self, g: &[F], grads: &mut ArrayViewMut2<F>, mut bias_grad: Option<&mut Array1<F>>) {
        let row_len = grads.ncols();
        let grads = grads.as_slice_mut().expect("scratch is contiguous");
        for (i, image) in g.chunks_exact(self.output_len()).enumerate() {
            for (o, plane) in image.chunks_exact(self.oh * self.ow).enumerate() {
                let channel = &mut grads[o * row_len + i * self.span..][..self.span];
                for (oy, row) in plane.chunks_exact(self.ow).enumerate() {
                    channel[oy * self.pitch..][..self.ow].copy_from_slice(row);
                }
                if let Some(bias_grad) = bias_grad.as_deref_mut() {
                    bias_grad[o] += ndarray::aview1(plane).sum();
                }
            }
        }
    }

    /// Zeroes the gaps of the first `n` images' columns in every row of `buffer` (rows of
    /// `row_len`).
    fn zero_gaps<F: Float>(&self, buffer: &mut [F], row_len: usize, n: usize) {
        for row in buffer.chunks_exact_mut(row_len) {
            for i in 0..n {
                for oy in 0..self.oh - 1 {
                    row[i * self.span + oy * self.pitch + self.ow..][..self.pitch - self.ow].fill(F::zero());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finite_diff::{assert_grad_close, numeric_grad};
    use proptest::prelude::{proptest, ProptestConfig};
    use rand::SeedableRng;

    /// loss = Σ y ⊙ r for a fixed random `r`, so d loss / d y = r.
    fn weighted_sum(y: &Array4<f64>, r: &Array4<f64>) -> f64 {
        (y * r).sum()
    }

    /// Reference: PyTorch's definition
    /// `y[n,o,i,j] = b[o] + Σ_{c,ki,kj} w[o,c,ki,kj] · x_pad[n, c, 2i+ki, 2j+kj]` with
    /// stride 2 and padding 1, evaluated by this python3 loop:
    /// ```text
    /// N,C,H,W,O,K,S,P = 2,2,4,5,2,3,2,1
    /// x = lambda n,c,i,j: ((n*40 + c*20 + i*5 + j) % 7) - 3
    /// w = lambda o,c,i,j: ((o*18 + c*9 + i*3 + j) % 5) - 2
    /// b = [0.5, -1.0]
    /// OH, OW = (H+2*P-K)//S+1, (W+2*P-K)//S+1
    /// print([b[o] + sum(w(o,c,ki,kj) * x(n,c,i*S+ki-P,j*S+kj-P)
    ///        for c in range(C) for ki in range(K) for kj in range(K)
    ///        if 0 <= i*S+ki-P < H and 0 <= j*S+kj-P < W)
    ///        for n in range(N) for o in range(O) for i in range(OH) for j in range(OW)])
    /// ```
    #[test]
    fn forward_matches_pytorch_definition() {
        let x = Array4::from_shape_fn((2, 2, 4, 5), |(n, c, i, j)| ((n * 40 + c * 20 + i * 5 + j) % 7) as f64 - 3.0);
        let weight =
            Array4::from_shape_fn((2, 2, 3, 3), |(o, c, i, j)| ((o * 18 + c * 9 + i * 3 + j) % 5) as f64 - 2.0);
        let layer = Conv2d::from_parts(weight, Some(ndarray::array![0.5, -1.0]), 2, 1);
        let y = layer.forward(x.view());
        let want = [
            -2.5, -19.5, 12.5, -6.5, 9.5, 1.5, -15.0, 37.0, -8.0, 7.0, -9.0, -17.0, 5.5, -0.5, -15.5, -11.5, -12.5,
            7.5, -2.0, -20.0, 29.0, -7.0, 10.0, -9.0,
        ];
        assert_eq!(y.shape(), [2, 2, 2, 3]);
        assert_eq!(y.iter().copied().collect::<Vec<_>>(), want);
    }

    /// PyTorch's definitions over the zero-padded input `x_pad`, one scalar at a time: the
    /// output, and for the loss `Σ y ⊙ r` the gradients of the weight and of the input.
    fn reference(layer: &Conv2d<f64>, x: &Array4<f64>, r: &Array4<f64>) -> [Array4<f64>; 3] {
        let (s, p) = (layer.stride as isize, layer.padding as isize);
        let (out_c, in_c, k, _) = layer.weight.dim();
        let (batch, _, h, w) = x.dim();
        let (oh, ow) = (r.dim().2, r.dim().3);
        let mut y = Array4::zeros(r.raw_dim());
        let mut weight_grad = Array4::zeros(layer.weight.raw_dim());
        let mut input_grad = Array4::zeros(x.raw_dim());
        for (n, o, oy, ox) in ndarray::indices((batch, out_c, oh, ow)) {
            y[[n, o, oy, ox]] = layer.bias.as_ref().map_or(0.0, |b| b[o]);
            for (c, ki, kj) in ndarray::indices((in_c, k, k)) {
                let (i, j) = (oy as isize * s + ki as isize - p, ox as isize * s + kj as isize - p);
                let inside = (0..h as isize).contains(&i) && (0..w as isize).contains(&j);
                let x_pad = if inside { x[[n, c, i as usize, j as usize]] } else { 0.0 };
                y[[n, o, oy, ox]] += layer.weight[[o, c, ki, kj]] * x_pad;
                weight_grad[[o, c, ki, kj]] += r[[n, o, oy, ox]] * x_pad;
                if inside {
                    input_grad[[n, c, i as usize, j as usize]] += layer.weight[[o, c, ki, kj]] * r[[n, o, oy, ox]];
                }
            }
        }
        [y, weight_grad, input_grad]
    }

    /// Equal where the reference is finite (up to rounding), not finite where it is not.
    fn assert_matches(got: &Array4<f64>, want: &Array4<f64>) {
        assert_eq!(got.shape(), want.shape());
        for ((at, &g), &w) in got.indexed_iter().zip(want) {
            if w.is_finite() {
                assert!((g - w).abs() <= 1e-9 * (1.0 + w.abs()), "{at:?}: {g} vs {w}");
            } else {
                assert!(!g.is_finite(), "{at:?}: {g} vs {w}");
            }
        }
    }

    /// Batches of several GEMM chunks, the last one short, with wide (stride 1) and dense
    /// (stride 2) columns; and infinite inputs and weights, which the gaps of the wide
    /// columns must not spread to gradients PyTorch keeps finite.
    #[test]
    fn chunked_batches_and_infinities_match_the_definition() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        for (in_c, hw, stride, batch) in [(2, 24, 1, 5), (3, 80, 2, 3), (2, 9, 1, 3)] {
            let mut layer = Conv2d::<f64>::init(in_c, 3, 3, stride, 1, true, &mut rng);
            let geometry = layer.geometry(in_c, hw, hw);
            assert!(geometry.chunk::<f64>(batch) < batch || hw == 9, "{hw}: more than one chunk");
            let mut x = Array4::from_shape_simple_fn((batch, in_c, hw, hw), || rng.random_range(-1.0..1.0));
            if hw == 9 {
                // Read by the gaps of the taps kj = 0 only, whose gradients stay finite;
                // the tap (0, 0) of the weight adds gaps onto input column 8, which it never reads.
                x[[1, 0, 4, 8]] = f64::INFINITY;
                layer.weight[[2, 1, 0, 0]] = f64::NEG_INFINITY;
            }
            let y = layer.forward(x.view());
            let r = Array4::from_shape_simple_fn(y.raw_dim(), || rng.random_range(-1.0..1.0));
            let [want_y, want_weight_grad, want_input_grad] = reference(&layer, &x, &r);
            layer.backward(x.view(), r.view());
            assert_matches(&y, &want_y);
            assert_matches(&layer.weight_grad, &want_weight_grad);
            assert_matches(&layer.input_grad(r.view(), (hw, hw)), &want_input_grad);
            let want_bias_grad = r.sum_axis(ndarray::Axis(0)).sum_axis(ndarray::Axis(1)).sum_axis(ndarray::Axis(1));
            let bias_grad = layer.bias_grad.as_ref().unwrap();
            assert!(bias_grad.iter().zip(&want_bias_grad).all(|(g, w)| (g - w).abs() < 1e-9));
        }
    }

    #[test]
    fn init_is_bounded_by_one_over_sqrt_fan_in() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let layer = Conv2d::<f64>::init(4, 8, 5, 1, 0, true, &mut rng);
        let bound = 1.0 / 10.0;
        assert!(layer.weight.iter().chain(layer.bias.as_ref().unwrap()).all(|w| w.abs() < bound));
        assert!(layer.weight.iter().any(|w| w.abs() > 0.9 * bound), "uses the whole range");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn backward_matches_finite_differences(
            batch in 1usize..3, in_c in 1usize..3, out_c in 1usize..3, kernel in 1usize..4,
            stride in 1usize..4, padding in 0usize..3, extra_h in 0usize..4, extra_w in 0usize..4,
            bias: bool, seed in 0u64..1000,
        ) {
            let (h, w) = (kernel + extra_h, kernel + extra_w);
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let layer = Conv2d::<f64>::init(in_c, out_c, kernel, stride, padding, bias, &mut rng);
            let x = Array4::from_shape_simple_fn((batch, in_c, h, w), || rng.random_range(-2.0..2.0));
            let y = layer.forward(x.view());
            let r = Array4::from_shape_simple_fn(y.raw_dim(), || rng.random_range(-1.0..1.0));

            let mut analytic = layer.clone();
            analytic.backward(x.view(), r.view());
            let grad_x = analytic.input_grad(r.view(), (h, w));

            let numeric_x = numeric_grad(&x, |x| weighted_sum(&layer.forward(x.view()), &r));
            let numeric_w = numeric_grad(&layer.weight, |w| {
                let probe = Conv2d::from_parts(w.clone(), layer.bias.clone(), stride, padding);
                weighted_sum(&probe.forward(x.view()), &r)
            });
            assert_grad_close(&grad_x, &numeric_x);
            assert_grad_close(&analytic.weight_grad, &numeric_w);
            if let Some(bias) = &layer.bias {
                let numeric_b = numeric_grad(bias, |b| {
                    let probe = Conv2d::from_parts(layer.weight.clone(), Some(b.clone()), stride, padding);
                    weighted_sum(&probe.forward(x.view()), &r)
                });
                assert_grad_close(analytic.bias_grad.as_ref().unwrap(), &numeric_b);
            }
        }
    }

    /// A second backward adds to the gradients, as PyTorch's `.grad` accumulates.
    #[test]
    fn backward_accumulates() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let mut layer = Conv2d::<f64>::init(2, 3, 3, 1, 1, true, &mut rng);
        let x = Array4::from_shape_simple_fn((2, 2, 5, 5), || rng.random_range(-1.0..1.0));
        let r = Array4::from_shape_simple_fn((2, 3, 5, 5), || rng.random_range(-1.0..1.0));
        layer.backward(x.view(), r.view());
        let once = (layer.weight_grad.clone(), layer.bias_grad.clone().unwrap());
        layer.backward(x.view(), r.view());
        assert!(layer.weight_grad.iter().zip(&once.0).all(|(g, o)| (g - 2.0 * o).abs() < 1e-12));
        assert!(layer.bias_grad.unwrap().iter().zip(&once.1).all(|(g, o)| (g - 2.0 * o).abs() < 1e-12));
    }
}
