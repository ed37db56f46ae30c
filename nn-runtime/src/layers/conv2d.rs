//! `Conv2d(in_c, out_c, kernel)`: PyTorch's 2-d convolution over `[batch, C, H, W]`
//! batches, with `groups`, and kernels, strides and paddings given per axis.
//!
//! Which kernel runs depends on the groups:
//! - depthwise (one input channel per group): the direct kernel of `conv2d/depthwise.rs`, each
//!   output plane one input plane correlated with one kernel (as a GEMM, each product
//!   would have a single row of `kh·kw`);
//! - otherwise im2col + GEMM, once per group on that group's channels (`groups = 1`, the
//!   usual case, reads the batch in place).
//!
//! Each of the GEMM kernel's matrix products is one GEMM call per chunk of images whose
//! im2col matrix fits in `COLUMN_BYTES` (so it stays in L2): the chunk's output pixels,
//! side by side, are the GEMM's long dimension. How one image's pixels are laid out along
//! it:
//! - stride 1 on both axes, "wide" columns: output row `oy` starts at column `oy·Wp`
//!   (`Wp` the padded input width), so that each row of the im2col matrix is one
//!   contiguous slice of the padded image, and col2im one contiguous add, rather than a
//!   copy per output row. The `Wp − OW` columns after each output row are gaps: the GEMM
//!   computes them and they are dropped (forward) or meet zero gradients (backward).
//!   Where data or weights are not finite the gaps are zeroed, so that no `0·∞` reaches
//!   a gradient.
//! - larger strides: the `OH·OW` pixels, im2col and col2im by runs of one input row.
//!
//! With wide columns no im2col matrix is stored: the forward product and the weight
//! gradient are direct kernels that read each tap's row of the matrix where it lies, the
//! padded image shifted by the tap. The forward is [`crate::gemm`]'s `correlate` (a
//! broadcast weight times the shifted image, per tap, in register tiles of output
//! channels by columns); the weight gradient `conv2d/weight_grad.rs` (each tap's
//! gradient a dot product of the output gradients with the shifted images). As implicit
//! GEMMs, packing slivers of the matrix from the images for the micro-kernel took longer
//! than the products. The input gradient `conv2d/input_grad.rs` adds each tap's row of
//! `Wᵀ g`, summed in registers, onto the image where the tap reads (with infinite or NaN
//! weights, whose products with the gaps' zeros would reach pixels, a stored `Wᵀ g` and
//! col2im).
//!
//! The `_into` forms write outputs and input gradients into the caller's buffers, once,
//! in order; the other buffers are kept per thread between calls, so that a training
//! step through preallocated buffers allocates nothing.

use core::fmt;
use core::ops::Range;
use std::cell::RefCell;

use ndarray::{
    s, Array1, Array4, ArrayView, ArrayView1, ArrayView2, ArrayView4, ArrayViewMut1, ArrayViewMut2, ArrayViewMut4,
    Dimension,
};
use rand::Rng;

use super::{weight_bias, Gradients};
use crate::frozen::Window;
use crate::gemm::{correlate, kernel, matmul, row_tiles, Correlation};
use crate::params::{Entry, EntryMut};
use crate::scratch::{with_scratch, Scratch};
use crate::simd::vectorised;
use crate::{Error, Float};

mod depthwise;
mod input_grad;
mod weight_grad;

/// The most bytes an im2col matrix of one chunk of images takes (a chunk has at least
/// one image): a share of L2 that leaves room for the GEMM's packed operands.
const COLUMN_BYTES: usize = 256 * 1024;

/// The most bytes the direct weight gradient's scratch takes per chunk of images (the
/// output gradients in wide columns and the padded images): each register tile of the
/// kernel sums over the whole chunk before it adds across its lanes (per chunk of two
/// or three images, those additions took as long as the tile's multiply-adds).
const WEIGHT_GRAD_BYTES: usize = 1 << 20;

/// What a `Conv2d` is, PyTorch's constructor arguments: built with [`Conv2dSpec::new`]
/// and PyTorch's defaults, changed by the methods named after the other arguments.
///
/// Pairs are (rows, columns), as PyTorch's `(kh, kw)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2dSpec {
    /// Channels of the input image.
    pub in_channels: usize,
    /// Channels of the output image.
    pub out_channels: usize,
    /// The kernel's `(kh, kw)`.
    pub kernel: (usize, usize),
    /// Step between windows along each axis, at least 1.
    pub stride: (usize, usize),
    /// Zeros added before and after the input along each axis.
    pub padding: (usize, usize),
    /// Groups of channels convolved separately; it divides both channel counts.
    pub groups: usize,
    /// Whether the layer has a bias.
    pub bias: bool,
}

impl Conv2dSpec {
    /// `Conv2d(in_channels, out_channels, kernel)` with PyTorch's defaults: stride 1, no
    /// padding, one group, a bias.
    pub const fn new(in_channels: usize, out_channels: usize, kernel: (usize, usize)) -> Self {
        Conv2dSpec { in_channels, out_channels, kernel, stride: (1, 1), padding: (0, 0), groups: 1, bias: true }
    }

    /// The same with `stride`.
    pub const fn stride(self, stride: (usize, usize)) -> Self {
        Conv2dSpec { stride, ..self }
    }

    /// The same with `padding`.
    pub const fn padding(self, padding: (usize, usize)) -> Self {
        Conv2dSpec { padding, ..self }
    }

    /// The same with `groups` (`groups = in_channels` is a depthwise convolution).
    pub const fn groups(self, groups: usize) -> Self {
        Conv2dSpec { groups, ..self }
    }

    /// The same with or without a bias.
    pub const fn bias(self, bias: bool) -> Self {
        Conv2dSpec { bias, ..self }
    }

    /// Whether the arguments fit together, as PyTorch's constructor checks them: the
    /// groups divide both channel counts, kernel and stride are positive.
    pub fn check(&self) -> Result<(), Error> {
        let (kh, kw) = self.kernel;
        let reason = if self.groups == 0 {
            "groups must be at least 1".to_string()
        } else if !self.in_channels.is_multiple_of(self.groups) {
            format!("groups = {} does not divide the {} input channels", self.groups, self.in_channels)
        } else if !self.out_channels.is_multiple_of(self.groups) {
            format!("groups = {} does not divide the {} output channels", self.groups, self.out_channels)
        } else if kh == 0 || kw == 0 {
            format!("the kernel must be at least 1x1, got {kh}x{kw}")
        } else if self.stride.0 == 0 || self.stride.1 == 0 {
            format!("the stride must be at least 1 along both axes, got {:?}", self.stride)
        } else {
            return Ok(());
        };
        Err(Error::InvalidLayer { layer: self.to_string(), reason })
    }

    /// PyTorch's weight shape, `[out_c, in_c / groups, kh, kw]`.
    pub fn weight_shape(&self) -> (usize, usize, usize, usize) {
        (self.out_channels, self.in_channels / self.groups.max(1), self.kernel.0, self.kernel.1)
    }

    /// Whether each group has one input channel (`groups = in_channels > 1`).
    fn is_depthwise(&self) -> bool {
        self.groups > 1 && self.groups == self.in_channels
    }

    /// The input and output channels of each group.
    fn group_channels(&self) -> impl Iterator<Item = (Range<usize>, Range<usize>)> {
        let (group_in, group_out) = (self.in_channels / self.groups, self.out_channels / self.groups);
        (0..self.groups).map(move |g| (g * group_in..(g + 1) * group_in, g * group_out..(g + 1) * group_out))
    }
}

/// As it would be declared: `Conv2d(6, 9, (3, 3), stride = (1, 1), padding = (0, 0), groups = 3, bias = true)`.
impl fmt::Display for Conv2dSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Conv2dSpec { in_channels, out_channels, kernel, stride, padding, groups, bias } = self;
        write!(
            f,
            "Conv2d({in_channels}, {out_channels}, {kernel:?}, stride = {stride:?}, padding = {padding:?}, \
             groups = {groups}, bias = {bias})"
        )
    }
}

/// A 2-d convolution, its parameters and their gradients.
#[derive(Debug, Clone)]
pub struct Conv2d<F> {
    /// `[out_c, in_c / groups, kh, kw]`, as PyTorch stores it.
    pub weight: Array4<F>,
    /// `[out_c]`, absent for `bias = false`.
    pub bias: Option<Array1<F>>,
    /// d loss / d weight, accumulated by [`Conv2d::backward`].
    pub weight_grad: Array4<F>,
    /// d loss / d bias, accumulated by [`Conv2d::backward`].
    pub bias_grad: Option<Array1<F>>,
    /// Its arguments, which the weight's and bias's shapes agree with.
    spec: Conv2dSpec,
}

impl<F: Float> Conv2d<F> {
    /// PyTorch's default init: weight and bias uniform in `±1/√(in_c / groups · kh · kw)`
    /// (Kaiming-uniform with `a = √5`); an error if the arguments do not fit together
    /// ([`Conv2dSpec::check`]).
    pub fn init<R: Rng + ?Sized>(spec: Conv2dSpec, rng: &mut R) -> Result<Self, Error> {
        spec.check()?;
        let shape = spec.weight_shape();
        let bound = 1.0 / ((shape.1 * shape.2 * shape.3) as f64).sqrt();
        let mut uniform = || F::of(rng.random_range(-bound..bound));
        let weight = Array4::from_shape_simple_fn(shape, &mut uniform);
        let bias = spec.bias.then(|| Array1::from_shape_simple_fn(spec.out_channels, &mut uniform));
        Self::from_parts(spec, weight, bias)
    }

    /// A layer with every parameter zero (what loading fills in); an error if the
    /// arguments do not fit together.
    pub fn zeros(spec: Conv2dSpec) -> Result<Self, Error> {
        Self::from_parts(spec, Array4::zeros(spec.weight_shape()), spec.bias.then(|| Array1::zeros(spec.out_channels)))
    }

    /// A layer with the given weight `[out_c, in_c / groups, kh, kw]` and bias `[out_c]`,
    /// gradients zeroed; an error if the arguments do not fit together or the weight and
    /// bias are not shaped as `spec` says.
    pub fn from_parts(spec: Conv2dSpec, weight: Array4<F>, bias: Option<Array1<F>>) -> Result<Self, Error> {
        spec.check()?;
        let invalid = |reason: String| Err(Error::InvalidLayer { layer: spec.to_string(), reason });
        if weight.dim() != spec.weight_shape() {
            return invalid(format!("the weight has shape {:?}, expected {:?}", weight.shape(), spec.weight_shape()));
        }
        match &bias {
            Some(b) if !spec.bias => {
                return invalid(format!("a bias of {} values was given to a layer without", b.len()))
            }
            None if spec.bias => return invalid("no bias was given to a layer with one".to_string()),
            Some(b) if b.len() != spec.out_channels => {
                return invalid(format!("the bias has {} values, expected {}", b.len(), spec.out_channels))
            }
            _ => {}
        }
        let weight_grad = Array4::zeros(weight.raw_dim());
        let bias_grad = bias.as_ref().map(|b| Array1::zeros(b.raw_dim()));
        Ok(Conv2d { weight, bias, weight_grad, bias_grad, spec })
    }

    /// The arguments the layer was built with.
    pub fn spec(&self) -> Conv2dSpec {
        self.spec
    }

    /// Copies the weights into a frozen layer: `weight` is `[out_c][in_c / groups][kh][kw]`
    /// flattened (PyTorch's layout, what [`crate::frozen::conv2d_into`] reads), `bias` has
    /// `out_c` elements.
    pub fn freeze_into(&self, weight: &mut [F], bias: Option<&mut [F]>) {
        for (dst, &w) in weight.iter_mut().zip(self.weight.iter()) {
            *dst = w;
        }
        weight_bias::freeze_bias(self.bias.as_ref(), bias);
    }

    /// The convolution of a batch `x` of shape `[batch, in_c, H, W]`, of shape
    /// `[batch, out_c, OH, OW]` with `OH = ⌊(H + 2·padding.0 − kh) / stride.0⌋ + 1` (and
    /// `OW` alike).
    pub fn forward(&self, x: ArrayView4<F>) -> Array4<F> {
        let (batch, in_c, h, w) = x.dim();
        let (oh, ow) = self.geometry(in_c, h, w).window.out_hw;
        let mut y = Array4::zeros((batch, self.spec.out_channels, oh, ow));
        self.forward_into(x, y.view_mut());
        y
    }

    /// [`Conv2d::forward`] into `y`, `[batch, out_c, OH, OW]`. With one group, a
    /// standard-layout `x` and `y`, nothing is allocated once the per-thread scratch
    /// has grown to the batch.
    pub fn forward_into(&self, x: ArrayView4<F>, mut y: ArrayViewMut4<F>) {
        let x = x.as_standard_layout();
        let (batch, in_c, h, w) = x.dim();
        let geometry = self.geometry(in_c, h, w);
        let (oh, ow) = geometry.window.out_hw;
        let want = (batch, self.spec.out_channels, oh, ow);
        assert_eq!(y.dim(), want, "Conv2d output buffer has shape {:?}, expected {want:?}", y.dim());
        let bias = self.bias.as_ref().map(|b| b.view());
        if self.spec.is_depthwise() {
            y.assign(&depthwise::forward(self.weight.view(), bias, x.view(), &geometry.window));
            return;
        }
        if self.spec.groups == 1 {
            if let Some(out) = y.as_slice_mut() {
                gemm_forward(self.weight.view(), bias, x.view(), &geometry, out);
                return;
            }
        }
        for (inputs, outputs) in self.spec.group_channels() {
            let x = x.slice(s![.., inputs, .., ..]);
            let bias = bias.map(|b| b.slice_move(s![outputs.clone()]));
            let mut part = Array4::zeros((batch, geometry.out_c, oh, ow));
            let out = part.as_slice_mut().expect("fresh array");
            gemm_forward(
                self.weight.slice(s![outputs.clone(), .., .., ..]),
                bias,
                x.as_standard_layout().view(),
                &geometry,
                out,
            );
            y.slice_mut(s![.., outputs, .., ..]).assign(&part);
        }
    }

    /// Accumulates d loss / d weight and d loss / d bias for the batch `x` that produced
    /// `grad_out`: per group, `dW += g · colsᵀ` and `db += Σ g`.
    pub fn backward(&mut self, x: ArrayView4<F>, grad_out: ArrayView4<F>) {
        self.backward_with(x, grad_out, Gradients::Accumulate);
    }

    /// [`Conv2d::backward`], with the gradients added to or written over (`Overwrite`:
    /// no `zero_grad` needed). With one group and standard-layout arguments, nothing is
    /// allocated once the per-thread scratch has grown to the batch.
    pub fn backward_with(&mut self, x: ArrayView4<F>, grad_out: ArrayView4<F>, gradients: Gradients) {
        if gradients == Gradients::Overwrite {
            self.weight_grad.fill(F::zero());
            if let Some(bias_grad) = &mut self.bias_grad {
                bias_grad.fill(F::zero());
            }
        }
        let x = x.as_standard_layout();
        let (batch, in_c, h, w) = x.dim();
        let geometry = self.geometry(in_c, h, w);
        self.check_grad_out(&geometry, batch, grad_out.dim());
        let grad_out = grad_out.as_standard_layout();
        if self.spec.is_depthwise() {
            let bias_grad = self.bias_grad.as_mut().map(|b| b.view_mut());
            return depthwise::backward(
                x.view(),
                grad_out.view(),
                self.weight_grad.view_mut(),
                bias_grad,
                &geometry.window,
            );
        }
        for (inputs, outputs) in self.spec.group_channels() {
            let x = x.slice(s![.., inputs, .., ..]);
            let grad_out = grad_out.slice(s![.., outputs.clone(), .., ..]);
            let weight_grad = self.weight_grad.slice_mut(s![outputs.clone(), .., .., ..]);
            let bias_grad = self.bias_grad.as_mut().map(|b| b.slice_mut(s![outputs]));
            let (x, grad_out) = (x.as_standard_layout(), grad_out.as_standard_layout());
            gemm_backward(x.view(), grad_out.view(), weight_grad, bias_grad, &geometry);
        }
    }

    /// d loss / d x of shape `[batch, in_c, H, W]` for an input of spatial size
    /// `input_hw = (H, W)` (which the output size alone does not fix when a stride is
    /// above 1): per group, `Wᵀ g` scattered back onto the image (for stride 1 and finite
    /// weights each tap's row added as it is computed, otherwise stored, then col2im).
    pub fn input_grad(&self, grad_out: ArrayView4<F>, input_hw: (usize, usize)) -> Array4<F> {
        let (h, w) = input_hw;
        let mut grad_in = Array4::zeros((grad_out.dim().0, self.spec.in_channels, h, w));
        self.input_grad_into(grad_out, grad_in.view_mut());
        grad_in
    }

    /// [`Conv2d::input_grad`] into `grad_in`, `[batch, in_c, H, W]` (which gives the
    /// input's size). With one group and standard-layout arguments, nothing is
    /// allocated once the per-thread scratch has grown to the batch.
    pub fn input_grad_into(&self, grad_out: ArrayView4<F>, mut grad_in: ArrayViewMut4<F>) {
        let (batch, in_c, h, w) = grad_in.dim();
        assert_eq!(
            in_c, self.spec.in_channels,
            "Conv2d input gradient buffer has {in_c} channels, expected {}",
            self.spec.in_channels
        );
        let geometry = self.geometry(in_c, h, w);
        self.check_grad_out(&geometry, batch, grad_out.dim());
        let grad_out = grad_out.as_standard_layout();
        if self.spec.is_depthwise() {
            grad_in.assign(&depthwise::input_grad(self.weight.view(), grad_out.view(), &geometry.window, in_c));
            return;
        }
        if self.spec.groups == 1 {
            if let Some(dst) = grad_in.as_slice_mut() {
                gemm_input_grad(self.weight.view(), grad_out.view(), &geometry, dst);
                return;
            }
        }
        for (inputs, outputs) in self.spec.group_channels() {
            let grad_out = grad_out.slice(s![.., outputs.clone(), .., ..]);
            let mut part = Array4::zeros((batch, geometry.in_c, h, w));
            let dst = part.as_slice_mut().expect("fresh array");
            gemm_input_grad(
                self.weight.slice(s![outputs, .., .., ..]),
                grad_out.as_standard_layout().view(),
                &geometry,
                dst,
            );
            grad_in.slice_mut(s![.., inputs, .., ..]).assign(&part);
        }
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

    /// The sizes of one group of this layer applied to a `[in_c, h, w]` image.
    fn geometry(&self, in_c: usize, h: usize, w: usize) -> Geometry {
        let spec = &self.spec;
        assert_eq!(in_c, spec.in_channels, "Conv2d expects {} input channels, got {in_c}", spec.in_channels);
        let window = Window::new((h, w), spec.kernel, spec.stride, spec.padding);
        let (oh, ow) = window.out_hw;
        let (pitch, span) = if window.stride == (1, 1) {
            let padded_w = w + 2 * spec.padding.1;
            (padded_w, (oh - 1) * padded_w + ow)
        } else {
            (ow, oh * ow)
        };
        let (out_c, in_c) = (spec.out_channels / spec.groups, in_c / spec.groups);
        Geometry { in_c, out_c, window, pitch, span }
    }

    fn check_grad_out(&self, geometry: &Geometry, batch: usize, grad_out: (usize, usize, usize, usize)) {
        let (oh, ow) = geometry.window.out_hw;
        let want = (batch, self.spec.out_channels, oh, ow);
        assert_eq!(grad_out, want, "Conv2d grad_out has shape {grad_out:?}, expected {want:?}");
    }
}

/// The convolution of one group into `y` (`[batch, out_c, OH, OW]`, row-major): `weight`
/// `[out_c, in_c, kh, kw]` over the batch `x` `[batch, in_c, H, W]` (standard layout) of
/// the group's channels.
fn gemm_forward<F: Float>(
    weight: ArrayView4<F>,
    bias: Option<ArrayView1<F>>,
    x: ArrayView4<F>,
    geometry: &Geometry,
    y: &mut [F],
) {
    let batch = x.dim().0;
    let weight = weight.as_standard_layout();
    let weight = matrix(weight.view(), geometry.out_c);
    let x = x.as_slice().expect("standard layout");
    let row_len = geometry.row_len::<F>(batch);
    if geometry.is_wide() {
        return direct_forward(&weight, bias, x, geometry, y);
    }
    let lens = [geometry.taps() * row_len, geometry.scratch_len(), geometry.out_c * row_len];
    with_scratch(&SCRATCH, lens, |[cols, padded, out]| {
        let mut lowering = Lowering::new(geometry, row_len, cols, padded);
        let mut out = ArrayViewMut2::from_shape((geometry.out_c, row_len), out).expect("scratch length");
        for (first, n) in geometry.chunks::<F>(batch) {
            // The gaps' outputs are dropped, whatever they hold.
            let cols = lowering.im2col(geometry, &x[geometry.images(first, n)], false);
            matmul(F::one(), &weight, &cols, F::zero(), &mut out.slice_mut(s![.., ..n * geometry.span]));
            let out = out.as_slice().expect("scratch is contiguous");
            for (i, y) in y[geometry.outputs(first, n)].chunks_exact_mut(geometry.output_len()).enumerate() {
                geometry.write_output(out, row_len, i, bias.as_ref(), y);
            }
        }
    });
}

/// [`gemm_forward`] for wide columns, by the direct kernel `correlate`: each image's
/// outputs from its (padded) image, read where it lies.
fn direct_forward<F: Float>(
    weight: &ArrayView2<F>,
    bias: Option<ArrayView1<F>>,
    x: &[F],
    geometry: &Geometry,
    y: &mut [F],
) {
    let batch = x.len() / geometry.image_len().max(1);
    let row_len = geometry.row_len::<F>(batch);
    let padding = geometry.window.padding != (0, 0);
    let padded_len = geometry.scratch_len();
    let chunk = geometry.chunk::<F>(batch);
    let lens = [if padding { chunk * padded_len } else { 0 }, geometry.out_c * row_len];
    let weights = weight.as_slice().expect("standard layout");
    with_scratch(&SCRATCH, lens, |[padded, out]| {
        padded.fill(F::zero());
        for (first, n) in geometry.chunks::<F>(batch) {
            let images = &x[geometry.images(first, n)];
            let (images, image_len) = geometry.padded_chunk(images, padded, padding);
            // Each image's span of columns, tile by tile of output channels; the gaps'
            // outputs are dropped, whatever they hold.
            let (taps, out_c, span) = (geometry.taps(), geometry.out_c, geometry.span);
            let out = &mut *out;
            for (i, image) in images.chunks_exact(image_len).enumerate() {
                for (o0, rows) in row_tiles(kernel(), out_c) {
                    let correlation = Correlation {
                        weights: &weights[o0 * taps..],
                        image,
                        in_c: geometry.in_c,
                        kernel: geometry.window.kernel,
                        padded_hw: geometry.padded_hw(),
                        span,
                    };
                    correlate(correlation, rows, &mut out[o0 * row_len + i * span..], row_len);
                }
            }
            let out = &*out;
            let y = &mut y[geometry.outputs(first, n)];
            vectorised(
                #[inline(always)]
                || {
                    for (i, y) in y.chunks_exact_mut(geometry.output_len()).enumerate() {
                        geometry.write_output(out, row_len, i, bias.as_ref(), y);
                    }
                },
            );
        }
    });
}

/// [`gemm_backward`] for wide columns and finite images, by the direct kernel of
/// `conv2d/weight_grad.rs`: each tap's gradient a dot product of the output gradients
/// with the chunk's (padded) images, read where they lie. The gaps of `g` are zero, and
/// meet finite image values.
fn direct_weight_grad<F: Float>(
    x: &[F],
    grad_out: &[F],
    weight_grad: &mut ArrayViewMut2<F>,
    mut bias_grad: Option<ArrayViewMut1<F>>,
    geometry: &Geometry,
    chunk_bytes: usize,
) {
    let batch = x.len() / geometry.image_len().max(1);
    let padding = geometry.window.padding != (0, 0);
    let padded_len = geometry.scratch_len();
    // No im2col matrix: a chunk is as many images as keep their gradients and padded
    // images within `chunk_bytes`, so that each register tile sums over many.
    let per_image = (geometry.out_c * geometry.span + padded_len) * size_of::<F>();
    let chunk = (chunk_bytes / per_image.max(1)).clamp(1, batch.max(1));
    let row_len = chunk * geometry.span;
    let lens = [if padding { chunk * padded_len } else { 0 }, geometry.out_c * row_len];
    with_scratch(&SCRATCH, lens, |[padded, grads]| {
        padded.fill(F::zero());
        let mut grads = geometry.grads_matrix(row_len, grads);
        for first in (0..batch).step_by(chunk) {
            let n = chunk.min(batch - first);
            let g = &grad_out[geometry.outputs(first, n)];
            vectorised(
                #[inline(always)]
                || geometry.gather_grads(g, &mut grads, bias_grad.as_mut()),
            );
            let images = &x[geometry.images(first, n)];
            let (images, image_len) = geometry.padded_chunk(images, padded, padding);
            let grads = grads.as_slice().expect("scratch is contiguous");
            weight_grad::add_weight_grad(images, image_len, n, grads, row_len, geometry, weight_grad);
        }
    });
}

/// The gradients of one group's weight and bias, accumulated, for its channels `x` of
/// the batch and `grad_out` of its outputs (both standard layout).
fn gemm_backward<F: Float>(
    x: ArrayView4<F>,
    grad_out: ArrayView4<F>,
    weight_grad: ArrayViewMut4<F>,
    mut bias_grad: Option<ArrayViewMut1<F>>,
    geometry: &Geometry,
) {
    let batch = x.dim().0;
    let (x, grad_out) = (x.as_slice().expect("standard layout"), grad_out.as_slice().expect("standard layout"));
    let finite_x = all_finite(x);
    let row_len = geometry.row_len::<F>(batch);
    let mut weight_grad =
        weight_grad.into_shape_with_order(geometry.weight_shape()).expect("weight_grad is in standard layout");
    if geometry.is_wide() && finite_x {
        return direct_weight_grad(x, grad_out, &mut weight_grad, bias_grad, geometry, WEIGHT_GRAD_BYTES);
    }
    let (taps, out_c) = (geometry.taps(), geometry.out_c);
    let lens = [taps * row_len, geometry.scratch_len(), out_c * row_len, taps * out_c];
    with_scratch(&SCRATCH, lens, |[cols, padded, grads, weight_grad_t]| {
        let mut lowering = Lowering::new(geometry, row_len, cols, padded);
        let mut grads = geometry.grads_matrix(row_len, grads);
        // dWᵀ, `[in_c·kh·kw, out_c]`: with the output channels along its rows, the GEMM
        // streams the im2col matrix as it is instead of repacking it (twice as fast on
        // LeNet's second convolution).
        weight_grad_t.fill(F::zero());
        let mut weight_grad_t = ArrayViewMut2::from_shape((taps, out_c), weight_grad_t).expect("scratch length");
        for (first, n) in geometry.chunks::<F>(batch) {
            geometry.gather_grads(&grad_out[geometry.outputs(first, n)], &mut grads, bias_grad.as_mut());
            // The gaps meet zero gradients: harmless unless they hold infinities or NaN.
            let cols = lowering.im2col(geometry, &x[geometry.images(first, n)], !finite_x);
            let grads = grads.slice(s![.., ..n * geometry.span]);
            matmul(F::one(), &cols, &grads.t(), F::one(), &mut weight_grad_t);
        }
        weight_grad += &weight_grad_t.t();
    });
}

/// d loss / d x of one group's input channels into `grad_in` (`[batch, in_c, H, W]`,
/// row-major), from `grad_out` of its outputs (standard layout) and its `weight`.
fn gemm_input_grad<F: Float>(weight: ArrayView4<F>, grad_out: ArrayView4<F>, geometry: &Geometry, grad_in: &mut [F]) {
    let batch = grad_out.dim().0;
    let grad_out = grad_out.as_slice().expect("standard layout");
    let weight = weight.as_standard_layout();
    let weight = matrix(weight.view(), geometry.out_c);
    let finite_weight = all_finite(weight.as_slice().expect("standard layout"));
    let weights = weight.as_slice().expect("standard layout");
    if geometry.is_wide() && finite_weight && geometry.image_len() > 0 {
        return input_grad::direct_input_grad(kernel(), weights, grad_out, geometry, grad_in);
    }
    col2im_input_grad(weights, finite_weight, grad_out, batch, geometry, grad_in);
}

/// [`gemm_input_grad`] of `batch` images by a stored `Wᵀ g` (`weights`
/// `[out_c, in_c·kh·kw]`, row-major) scattered back onto the images (col2im), its gaps
/// zeroed unless `finite_weight`.
fn col2im_input_grad<F: Float>(
    weights: &[F],
    finite_weight: bool,
    grad_out: &[F],
    batch: usize,
    geometry: &Geometry,
    grad_in: &mut [F],
) {
    let weight = ArrayView2::from_shape(geometry.weight_shape(), weights).expect("weight shape");
    let row_len = geometry.row_len::<F>(batch);
    let lens = [geometry.out_c * row_len, geometry.taps() * row_len, geometry.scratch_len()];
    with_scratch(&SCRATCH, lens, |[grads, cols, image]| {
        let mut grads = geometry.grads_matrix(row_len, grads);
        let mut cols = ArrayViewMut2::from_shape((geometry.taps(), row_len), cols).expect("scratch length");
        for (first, n) in geometry.chunks::<F>(batch) {
            let g = &grad_out[geometry.outputs(first, n)];
            vectorised(
                #[inline(always)]
                || geometry.gather_grads(g, &mut grads, None),
            );
            let grads = grads.slice(s![.., ..n * geometry.span]);
            matmul(F::one(), &weight.t(), &grads, F::zero(), &mut cols.slice_mut(s![.., ..n * geometry.span]));
            let cols = cols.as_slice_mut().expect("scratch is contiguous");
            if !finite_weight {
                geometry.zero_gaps(cols, row_len, n);
            }
            let grad_in = &mut grad_in[geometry.images(first, n)];
            vectorised(
                #[inline(always)]
                || {
                    for (i, dx) in grad_in.chunks_exact_mut(geometry.image_len()).enumerate() {
                        geometry.col2im(cols, row_len, i, image, dx);
                    }
                },
            );
        }
    });
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

/// The im2col matrix of a chunk of images, `[in_c·kh·kw, row_len]`, and the padded
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
        if !geometry.is_wide() {
            cols.fill(F::zero());
        }
        Lowering { cols, padded, row_len }
    }

    /// The im2col matrix `[in_c·kh·kw, n·span]` of the `n` images `x`, with its gaps
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

/// The sizes of one group's convolution of one image, and how its output pixels are laid
/// out along the GEMM's columns.
struct Geometry {
    /// Input channels of the group.
    in_c: usize,
    /// Output channels of the group.
    out_c: usize,
    /// The plane sizes, kernel, stride and padding.
    window: Window,
    /// Columns from one output row of an image to the next: the padded input width for
    /// stride 1 (the last `pitch − ow` are gaps), `ow` otherwise.
    pitch: usize,
    /// Columns of one image: `(oh − 1)·pitch + ow`.
    span: usize,
}

impl Geometry {
    /// Whether the columns are wide: stride 1 along both axes.
    fn is_wide(&self) -> bool {
        self.window.stride == (1, 1)
    }

    /// Taps of one kernel: `kh·kw`.
    fn kernel_len(&self) -> usize {
        self.window.kernel.0 * self.window.kernel.1
    }

    /// Rows of the im2col matrix: one per kernel tap `(c, ki, kj)`.
    fn taps(&self) -> usize {
        self.in_c * self.kernel_len()
    }

    fn plane_len(&self) -> usize {
        self.window.in_hw.0 * self.window.in_hw.1
    }

    fn image_len(&self) -> usize {
        self.in_c * self.plane_len()
    }

    fn output_len(&self) -> usize {
        self.out_c * self.window.out_hw.0 * self.window.out_hw.1
    }

    /// The weight seen as `[out_c, in_c·kh·kw]`.
    fn weight_shape(&self) -> (usize, usize) {
        (self.out_c, self.taps())
    }

    fn padded_hw(&self) -> (usize, usize) {
        let ((h, w), (ph, pw)) = (self.window.in_hw, self.window.padding);
        (h + 2 * ph, w + 2 * pw)
    }

    /// Length of the one-image scratch: the padded image for wide columns, else the image.
    fn scratch_len(&self) -> usize {
        let (padded_h, padded_w) = self.padded_hw();
        if self.is_wide() {
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
    fn images(&self, first: usize, n: usize) -> Range<usize> {
        first * self.image_len()..(first + n) * self.image_len()
    }

    /// Where `n` images from `first` lie in a row-major batch of outputs.
    fn outputs(&self, first: usize, n: usize) -> Range<usize> {
        first * self.output_len()..(first + n) * self.output_len()
    }

    /// For wide columns: calls `visit(tap, offset)` for every tap, `offset` being where in
    /// the padded image `[in_c, Hp, Wp]` the first pixel it reads lies; its im2col row is
    /// the `span` pixels from there.
    #[inline(always)]
    fn for_each_wide_tap(&self, mut visit: impl FnMut(usize, usize)) {
        let (padded_h, padded_w) = self.padded_hw();
        let (kh, kw) = self.window.kernel;
        let mut tap = 0;
        for c in 0..self.in_c {
            for ki in 0..kh {
                for kj in 0..kw {
                    visit(tap, (c * padded_h + ki) * padded_w + kj);
                    tap += 1;
                }
            }
        }
    }

    /// For wide columns: calls `visit(row, start)` for every row of the image
    /// `[in_c, h, w]`, `start` being where it lies in the padded image `[in_c, Hp, Wp]`.
    #[inline(always)]
    fn for_each_padded_row(&self, mut visit: impl FnMut(usize, usize)) {
        let (padded_h, padded_w) = self.padded_hw();
        let ((h, _), (ph, pw)) = (self.window.in_hw, self.window.padding);
        for c in 0..self.in_c {
            for y in 0..h {
                visit(c * h + y, (c * padded_h + y + ph) * padded_w + pw);
            }
        }
    }

    /// A chunk of `images` as the direct kernels read them, with one image's length: each
    /// copied into the interior of its `padded` image when the layer pads, else as they are.
    fn padded_chunk<'a, F: Float>(&self, images: &'a [F], padded: &'a mut [F], padding: bool) -> (&'a [F], usize) {
        if !padding {
            return (images, self.image_len());
        }
        let padded_len = self.scratch_len();
        let n = images.len() / self.image_len();
        vectorised(
            #[inline(always)]
            || {
                for (image, padded) in images.chunks_exact(self.image_len()).zip(padded.chunks_exact_mut(padded_len)) {
                    self.pad(image, padded);
                }
            },
        );
        (&padded[..n * padded_len], padded_len)
    }

    /// Copies the image `x` (`[in_c, h, w]`) into the interior of `padded`
    /// (`[in_c, Hp, Wp]`), whose borders are left as they are.
    #[inline(always)]
    fn pad<F: Float>(&self, x: &[F], padded: &mut [F]) {
        let w = self.window.in_hw.1;
        self.for_each_padded_row(|row, start| padded[start..start + w].copy_from_slice(&x[row * w..][..w]));
    }

    /// For strides above 1: calls `visit(tap, col, pixel, len)` for every run of im2col
    /// entries read from one input row, `cols[tap][col + i]` holding
    /// `x[pixel + i·stride.1]` for `i < len`. Entries outside every run read the zero
    /// padding, and are the same for every image.
    fn for_each_run(&self, mut visit: impl FnMut(usize, usize, usize, usize)) {
        let plane = self.plane_len();
        for c in 0..self.in_c {
            // Within one plane, output pixel `oy·ow + ox` is column `oy·pitch + ox` (`pitch = ow`).
            self.window.for_each_run(|tap, x_start, y_start, len| {
                visit(c * self.kernel_len() + tap, y_start, c * plane + x_start, len);
            });
        }
    }

    /// Fills image `i`'s columns of the chunk's im2col matrix `cols` (rows of `row_len`)
    /// from the image `x` (`[in_c, h, w]`, row-major), through `padded` (zero borders)
    /// when wide columns need padding.
    fn im2col<F: Float>(&self, x: &[F], padded: &mut [F], cols: &mut [F], row_len: usize, i: usize) {
        let first = i * self.span;
        if self.is_wide() {
            let image = if self.window.padding == (0, 0) {
                x
            } else {
                self.pad(x, padded);
                &*padded
            };
            self.for_each_wide_tap(|tap, offset| {
                cols[tap * row_len + first..][..self.span].copy_from_slice(&image[offset..offset + self.span]);
            });
        } else {
            let stride = self.window.stride.1;
            self.for_each_run(|tap, col, pixel, len| {
                let run = &mut cols[tap * row_len + first + col..][..len];
                for (c, &v) in run.iter_mut().zip(x[pixel..].iter().step_by(stride)) {
                    *c = v;
                }
            });
        }
    }

    /// Adds image `i`'s columns of `cols` (rows of `row_len`) onto the pixels they were
    /// read from (the adjoint of [`Geometry::im2col`]) in `scratch`, and writes the
    /// resulting `[in_c, h, w]` gradient to `grad_in`.
    #[inline(always)]
    fn col2im<F: Float>(&self, cols: &[F], row_len: usize, i: usize, scratch: &mut [F], grad_in: &mut [F]) {
        let first = i * self.span;
        scratch.fill(F::zero());
        if self.is_wide() {
            self.for_each_wide_tap(|tap, offset| {
                let run = &cols[tap * row_len + first..][..self.span];
                for (v, &c) in scratch[offset..offset + self.span].iter_mut().zip(run) {
                    *v += c;
                }
            });
            let w = self.window.in_hw.1;
            self.for_each_padded_row(|row, start| {
                grad_in[row * w..][..w].copy_from_slice(&scratch[start..start + w]);
            });
        } else {
            let stride = self.window.stride.1;
            self.for_each_run(|tap, col, pixel, len| {
                let run = &cols[tap * row_len + first + col..][..len];
                for (v, &c) in scratch[pixel..].iter_mut().step_by(stride).zip(run) {
                    *v += c;
                }
            });
            grad_in.copy_from_slice(scratch);
        }
    }

    /// Writes image `i`'s output `[out_c, oh, ow]` to `y`: its columns of the GEMM
    /// result `out` (rows of `row_len`) plus the bias.
    #[inline(always)]
    fn write_output<F: Float>(&self, out: &[F], row_len: usize, i: usize, bias: Option<&ArrayView1<F>>, y: &mut [F]) {
        let (oh, ow) = self.window.out_hw;
        let planes = y.chunks_exact_mut(oh * ow);
        for (o, (channel, plane)) in out.chunks_exact(row_len).zip(planes).enumerate() {
            let channel = &channel[i * self.span..][..self.span];
            for (oy, dst) in plane.chunks_exact_mut(ow).enumerate() {
                let row = &channel[oy * self.pitch..][..ow];
                match bias {
                    Some(bias) => {
                        let b = bias[o];
                        for (d, &v) in dst.iter_mut().zip(row) {
                            *d = v + b;
                        }
                    }
                    None => dst.copy_from_slice(row),
                }
            }
        }
    }

    /// Copies the output gradients `g` of a chunk of images (`[n, out_c, oh, ow]`,
    /// row-major) into their columns of `grads` (`[out_c, chunk·span]`, gaps left zero),
    /// adding each channel's sum to `bias_grad` if given.
    #[inline(always)]
    fn gather_grads<F: Float>(
        &self,
        g: &[F],
        grads: &mut ArrayViewMut2<F>,
        mut bias_grad: Option<&mut ArrayViewMut1<F>>,
    ) {
        let (oh, ow) = self.window.out_hw;
        let row_len = grads.ncols();
        let grads = grads.as_slice_mut().expect("scratch is contiguous");
        for (i, image) in g.chunks_exact(self.output_len()).enumerate() {
            for (o, plane) in image.chunks_exact(oh * ow).enumerate() {
                let channel = &mut grads[o * row_len + i * self.span..][..self.span];
                for (oy, row) in plane.chunks_exact(ow).enumerate() {
                    channel[oy * self.pitch..][..ow].copy_from_slice(row);
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
        let (oh, ow) = self.window.out_hw;
        for row in buffer.chunks_exact_mut(row_len) {
            for i in 0..n {
                for oy in 0..oh - 1 {
                    row[i * self.span + oy * self.pitch + ow..][..self.pitch - ow].fill(F::zero());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finite_diff::{assert_grad_close, numeric_grad};
    use ndarray::Axis;
    use proptest::prelude::{proptest, ProptestConfig};
    use rand::SeedableRng;

    /// loss = Σ y ⊙ r for a fixed random `r`, so d loss / d y = r.
    fn weighted_sum(y: &Array4<f64>, r: &Array4<f64>) -> f64 {
        (y * r).sum()
    }

    /// A square layer of the given weight, bias, stride and padding.
    fn square(weight: Array4<f64>, bias: Option<Array1<f64>>, stride: usize, padding: usize) -> Conv2d<f64> {
        let (o, c, k, _) = weight.dim();
        let spec = Conv2dSpec::new(c, o, (k, k)).stride((stride, stride)).padding((padding, padding));
        Conv2d::from_parts(spec.bias(bias.is_some()), weight, bias).unwrap()
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
        let layer = square(weight, Some(ndarray::array![0.5, -1.0]), 2, 1);
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
    /// Output channel `o` of group `g = o / (out_c / groups)` reads input channels
    /// `g · in_c / groups + c`.
    fn reference(layer: &Conv2d<f64>, x: &Array4<f64>, r: &Array4<f64>) -> [Array4<f64>; 3] {
        let spec = layer.spec();
        let ((sh, sw), (ph, pw)) = (spec.stride, spec.padding);
        let (out_c, group_in, kh, kw) = layer.weight.dim();
        let group_out = out_c / spec.groups;
        let (batch, _, h, w) = x.dim();
        let (oh, ow) = (r.dim().2, r.dim().3);
        let mut y = Array4::zeros(r.raw_dim());
        let mut weight_grad = Array4::zeros(layer.weight.raw_dim());
        let mut input_grad = Array4::zeros(x.raw_dim());
        for (n, o, oy, ox) in ndarray::indices((batch, out_c, oh, ow)) {
            y[[n, o, oy, ox]] = layer.bias.as_ref().map_or(0.0, |b| b[o]);
            for (c, ki, kj) in ndarray::indices((group_in, kh, kw)) {
                let ci = o / group_out * group_in + c;
                let i = (oy * sh + ki) as isize - ph as isize;
                let j = (ox * sw + kj) as isize - pw as isize;
                let inside = (0..h as isize).contains(&i) && (0..w as isize).contains(&j);
                let x_pad = if inside { x[[n, ci, i as usize, j as usize]] } else { 0.0 };
                y[[n, o, oy, ox]] += layer.weight[[o, c, ki, kj]] * x_pad;
                weight_grad[[o, c, ki, kj]] += r[[n, o, oy, ox]] * x_pad;
                if inside {
                    input_grad[[n, ci, i as usize, j as usize]] += layer.weight[[o, c, ki, kj]] * r[[n, o, oy, ox]];
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

    /// Output, weight, bias and input gradients of `layer` on `x` against [`reference`].
    fn check_against_reference(mut layer: Conv2d<f64>, x: &Array4<f64>, rng: &mut impl Rng) {
        let (_, _, h, w) = x.dim();
        let y = layer.forward(x.view());
        let r = Array4::from_shape_simple_fn(y.raw_dim(), || rng.random_range(-1.0..1.0));
        let [want_y, want_weight_grad, want_input_grad] = reference(&layer, x, &r);
        layer.backward(x.view(), r.view());
        assert_matches(&y, &want_y);
        assert_matches(&layer.weight_grad, &want_weight_grad);
        assert_matches(&layer.input_grad(r.view(), (h, w)), &want_input_grad);
        if let Some(bias_grad) = &layer.bias_grad {
            let want_bias_grad = r.sum_axis(Axis(0)).sum_axis(Axis(1)).sum_axis(Axis(1));
            assert!(bias_grad.iter().zip(&want_bias_grad).all(|(g, w)| (g - w).abs() < 1e-9));
        }
    }

    /// Batches of several GEMM chunks, the last one short, with wide (stride 1) and dense
    /// (stride 2) columns; and infinite inputs and weights, which the gaps of the wide
    /// columns must not spread to gradients PyTorch keeps finite.
    #[test]
    fn chunked_batches_and_infinities_match_the_definition() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        for (in_c, hw, stride, batch) in [(2, 24, 1, 5), (3, 80, 2, 3), (2, 9, 1, 3)] {
            let spec = Conv2dSpec::new(in_c, 3, (3, 3)).stride((stride, stride)).padding((1, 1));
            let mut layer = Conv2d::<f64>::init(spec, &mut rng).unwrap();
            let geometry = layer.geometry(in_c, hw, hw);
            assert!(geometry.chunk::<f64>(batch) < batch || hw == 9, "{hw}: more than one chunk");
            let mut x = Array4::from_shape_simple_fn((batch, in_c, hw, hw), || rng.random_range(-1.0..1.0));
            if hw == 9 {
                // Read by the gaps of the taps kj = 0 only, whose gradients stay finite;
                // the tap (0, 0) of the weight adds gaps onto input column 8, which it never reads.
                x[[1, 0, 4, 8]] = f64::INFINITY;
                layer.weight[[2, 1, 0, 0]] = f64::NEG_INFINITY;
            }
            check_against_reference(layer, &x, &mut rng);
        }
    }

    /// The direct weight gradient over chunks of three images, the last one short, with a
    /// kernel wider than its register tile (7 taps a row: tiles of 5 and 2) and an odd
    /// count of output channels (tiles of 2 and 1).
    #[test]
    fn weight_gradient_chunks_and_tile_edges_match_the_definition() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(6);
        let spec = Conv2dSpec::new(2, 3, (3, 7)).padding((1, 3));
        let layer = Conv2d::<f64>::init(spec, &mut rng).unwrap();
        let x = Array4::from_shape_simple_fn((7, 2, 6, 9), || rng.random_range(-1.0..1.0));
        let r = Array4::from_shape_simple_fn(layer.forward(x.view()).raw_dim(), || rng.random_range(-1.0..1.0));
        let [_, want, _] = reference(&layer, &x, &r);
        let geometry = layer.geometry(2, 6, 9);
        let per_image = (geometry.out_c * geometry.span + geometry.scratch_len()) * size_of::<f64>();
        let mut got = Array4::zeros(layer.weight.raw_dim());
        let mut matrix = got.view_mut().into_shape_with_order(geometry.weight_shape()).unwrap();
        let (x_flat, r_flat) = (x.as_slice().unwrap(), r.as_slice().unwrap());
        direct_weight_grad(x_flat, r_flat, &mut matrix, None, &geometry, 3 * per_image);
        assert_matches(&got, &want);
    }

    /// Groups (each group its own GEMM), depthwise layers (the direct kernel) with and
    /// without a channel multiplier, and kernels, strides and paddings that differ
    /// between the axes (DS-CNN's first layer among them).
    #[test]
    fn groups_depthwise_and_non_square_match_the_definition() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(8);
        let cases = [
            // (in_c, out_c, kernel, stride, padding, groups, bias, (h, w))
            (4, 6, (3, 3), (1, 1), (1, 1), 2, true, (6, 7)),
            (6, 3, (2, 3), (2, 1), (0, 1), 3, false, (7, 8)),
            (4, 4, (3, 3), (1, 1), (1, 1), 4, true, (6, 5)),
            (3, 6, (3, 3), (2, 2), (1, 1), 3, true, (9, 8)),
            (2, 4, (3, 2), (1, 2), (2, 0), 2, true, (5, 6)),
            (1, 4, (10, 4), (2, 2), (5, 1), 1, true, (49, 10)),
            (2, 3, (1, 3), (1, 1), (0, 1), 1, true, (4, 5)),
        ];
        for (in_c, out_c, kernel, stride, padding, groups, bias, (h, w)) in cases {
            let spec = Conv2dSpec::new(in_c, out_c, kernel).stride(stride).padding(padding).groups(groups).bias(bias);
            let mut layer = Conv2d::<f64>::init(spec, &mut rng).unwrap();
            assert_eq!(layer.weight.dim(), (out_c, in_c / groups, kernel.0, kernel.1));
            if let Some(b) = layer.bias.as_mut() {
                b.mapv_inplace(|_| rng.random_range(-1.0..1.0));
            }
            let x = Array4::from_shape_simple_fn((2, in_c, h, w), || rng.random_range(-1.0..1.0));
            check_against_reference(layer, &x, &mut rng);
        }
    }

    /// The depthwise kernel's wide rows read the last image column in the gaps of the tap
    /// kj = 0, which never reads it: infinities there, or in that tap's weight, must not
    /// reach gradients PyTorch keeps finite.
    #[test]
    fn depthwise_infinities_match_the_definition() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(9);
        let spec = Conv2dSpec::new(2, 4, (3, 3)).padding((1, 1)).groups(2);
        for (infinite_x, infinite_weight) in [(true, false), (false, true)] {
            let mut layer = Conv2d::<f64>::init(spec, &mut rng).unwrap();
            let mut x = Array4::from_shape_simple_fn((2, 2, 5, 5), || rng.random_range(-1.0..1.0));
            if infinite_x {
                x[[1, 0, 2, 4]] = f64::INFINITY;
            }
            if infinite_weight {
                layer.weight[[1, 0, 0, 0]] = f64::NEG_INFINITY;
            }
            check_against_reference(layer, &x, &mut rng);
        }
    }

    #[test]
    fn init_is_bounded_by_one_over_sqrt_fan_in() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let layer = Conv2d::<f64>::init(Conv2dSpec::new(4, 8, (5, 5)), &mut rng).unwrap();
        let bound = 1.0 / 10.0;
        assert!(layer.weight.iter().chain(layer.bias.as_ref().unwrap()).all(|w| w.abs() < bound));
        assert!(layer.weight.iter().any(|w| w.abs() > 0.9 * bound), "uses the whole range");
        // Depthwise: PyTorch's fan-in is `in_c / groups · kh · kw` = 1 · 3 · 3.
        let layer = Conv2d::<f64>::init(Conv2dSpec::new(8, 8, (3, 3)).groups(8), &mut rng).unwrap();
        assert!(layer.weight.iter().all(|w| w.abs() < 1.0 / 3.0));
        assert!(layer.weight.iter().any(|w| w.abs() > 0.3));
    }

    /// Arguments that do not fit together, as PyTorch's constructor refuses them, and
    /// parts of the wrong shape: typed errors that say what is wrong.
    #[test]
    fn bad_arguments_are_errors_that_say_why() {
        let message = |result: Result<Conv2d<f32>, Error>| match result {
            Err(error @ Error::InvalidLayer { .. }) => error.to_string(),
            other => panic!("expected an InvalidLayer error, got {other:?}"),
        };
        let spec = Conv2dSpec::new(6, 9, (3, 3));
        assert_eq!(
            message(Conv2d::zeros(spec.groups(4))),
            "Conv2d(6, 9, (3, 3), stride = (1, 1), padding = (0, 0), groups = 4, bias = true): \
             groups = 4 does not divide the 6 input channels"
        );
        assert!(message(Conv2d::zeros(spec.groups(2))).ends_with("groups = 2 does not divide the 9 output channels"));
        assert!(message(Conv2d::zeros(spec.groups(0))).ends_with("groups must be at least 1"));
        assert!(message(Conv2d::zeros(spec.stride((1, 0))))
            .ends_with("the stride must be at least 1 along both axes, got (1, 0)"));
        assert!(
            message(Conv2d::zeros(Conv2dSpec::new(6, 9, (0, 3)))).ends_with("the kernel must be at least 1x1, got 0x3")
        );
        let spec = spec.groups(3);
        let wrong = Array4::zeros((9, 6, 3, 3));
        assert!(message(Conv2d::from_parts(spec, wrong, Some(Array1::zeros(9))))
            .ends_with("the weight has shape [9, 6, 3, 3], expected (9, 2, 3, 3)"));
        let weight = Array4::zeros((9, 2, 3, 3));
        assert!(message(Conv2d::from_parts(spec, weight.clone(), Some(Array1::zeros(8))))
            .ends_with("the bias has 8 values, expected 9"));
        assert!(
            message(Conv2d::from_parts(spec, weight.clone(), None)).ends_with("no bias was given to a layer with one")
        );
        assert!(Conv2d::from_parts(spec, weight, Some(Array1::zeros(9))).is_ok());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn backward_matches_finite_differences(
            batch in 1usize..3, group_in in 1usize..3, group_out in 1usize..3, groups in 1usize..4,
            kh in 1usize..4, kw in 1usize..4, sh in 1usize..4, sw in 1usize..4, ph in 0usize..3, pw in 0usize..3,
            extra_h in 0usize..4, extra_w in 0usize..4, bias: bool, seed in 0u64..1000,
        ) {
            let (h, w) = (kh + extra_h, kw + extra_w);
            let (in_c, out_c) = (group_in * groups, group_out * groups);
            let spec = Conv2dSpec::new(in_c, out_c, (kh, kw)).stride((sh, sw)).padding((ph, pw)).groups(groups).bias(bias);
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let layer = Conv2d::<f64>::init(spec, &mut rng).unwrap();
            let x = Array4::from_shape_simple_fn((batch, in_c, h, w), || rng.random_range(-2.0..2.0));
            let y = layer.forward(x.view());
            let r = Array4::from_shape_simple_fn(y.raw_dim(), || rng.random_range(-1.0..1.0));

            let mut analytic = layer.clone();
            analytic.backward(x.view(), r.view());
            let grad_x = analytic.input_grad(r.view(), (h, w));

            let numeric_x = numeric_grad(&x, |x| weighted_sum(&layer.forward(x.view()), &r));
            let numeric_w = numeric_grad(&layer.weight, |w| {
                let probe = Conv2d::from_parts(spec, w.clone(), layer.bias.clone()).unwrap();
                weighted_sum(&probe.forward(x.view()), &r)
            });
            assert_grad_close(&grad_x, &numeric_x);
            assert_grad_close(&analytic.weight_grad, &numeric_w);
            if let Some(bias) = &layer.bias {
                let numeric_b = numeric_grad(bias, |b| {
                    let probe = Conv2d::from_parts(spec, layer.weight.clone(), Some(b.clone())).unwrap();
                    weighted_sum(&probe.forward(x.view()), &r)
                });
                assert_grad_close(analytic.bias_grad.as_ref().unwrap(), &numeric_b);
            }
        }
    }

    /// A second backward adds to the gradients, as PyTorch's `.grad` accumulates, in the
    /// GEMM kernel and the depthwise one alike.
    /// f32 runs the CPU's fastest kernels (the direct ones' vector tiles, f64 their plain
    /// loops): LeNet's two convolutions, several chunks of images, against the same
    /// layers in f64.
    #[test]
    fn f32_direct_kernels_match_f64() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(6);
        for (in_c, out_c, padding, hw) in [(1, 6, 2, 28), (6, 16, 0, 14)] {
            let spec = Conv2dSpec::new(in_c, out_c, (5, 5)).padding((padding, padding));
            let mut wide = Conv2d::<f64>::init(spec, &mut rng).unwrap();
            let mut narrow = Conv2d::<f32>::from_parts(
                spec,
                wide.weight.mapv(|w| w as f32),
                wide.bias.as_ref().map(|b| b.mapv(|b| b as f32)),
            )
            .unwrap();
            let x = Array4::from_shape_simple_fn((9, in_c, hw, hw), || rng.random_range(-1.0..1.0));
            let y = wide.forward(x.view());
            let r = Array4::from_shape_simple_fn(y.raw_dim(), || rng.random_range(-1.0..1.0));
            wide.backward(x.view(), r.view());
            let (x32, r32) = (x.mapv(|v| v as f32), r.mapv(|v| v as f32));
            narrow.backward(x32.view(), r32.view());
            let close = |a: f32, b: f64| (f64::from(a) - b).abs() <= 1e-4 * (1.0 + b.abs());
            assert!(narrow.forward(x32.view()).iter().zip(&y).all(|(&a, &b)| close(a, b)));
            assert!(narrow.weight_grad.iter().zip(&wide.weight_grad).all(|(&a, &b)| close(a, b)));
            assert!(narrow
                .bias_grad
                .as_ref()
                .unwrap()
                .iter()
                .zip(wide.bias_grad.as_ref().unwrap())
                .all(|(&a, &b)| close(a, b)));
            let dx = wide.input_grad(r.view(), (hw, hw));
            assert!(narrow.input_grad(r32.view(), (hw, hw)).iter().zip(&dx).all(|(&a, &b)| close(a, b)));
        }
    }

    #[test]
    fn into_buffers_are_written_over_and_overwrite_discards_old_gradients() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(4);
        for (groups, stride) in [(1, 1), (1, 2), (2, 1), (4, 1)] {
            let spec = Conv2dSpec::new(4, 4, (3, 3)).padding((1, 1)).stride((stride, stride)).groups(groups);
            let mut layer = Conv2d::<f64>::init(spec, &mut rng).unwrap();
            let x = Array4::from_shape_simple_fn((3, 4, 6, 5), || rng.random_range(-1.0..1.0));
            let want_y = layer.forward(x.view());
            let r = Array4::from_shape_simple_fn(want_y.raw_dim(), || rng.random_range(-1.0..1.0));
            let want_dx = layer.input_grad(r.view(), (6, 5));
            layer.backward(x.view(), r.view());
            let want_grads = (layer.weight_grad.clone(), layer.bias_grad.clone().unwrap());

            // Buffers holding stale values, and stale gradients.
            let mut y = Array4::from_elem(want_y.raw_dim(), 7.0);
            layer.forward_into(x.view(), y.view_mut());
            let mut dx = Array4::from_elem(x.raw_dim(), -3.0);
            layer.input_grad_into(r.view(), dx.view_mut());
            layer.backward_with(x.view(), r.view(), Gradients::Overwrite);
            assert_eq!(y, want_y, "groups {groups}, stride {stride}");
            assert_eq!(dx, want_dx, "groups {groups}, stride {stride}");
            assert_eq!(layer.weight_grad, want_grads.0);
            assert_eq!(layer.bias_grad.as_ref().unwrap(), &want_grads.1);
        }
    }

    #[test]
    fn backward_accumulates() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        for groups in [1, 2] {
            let spec = Conv2dSpec::new(2, 4, (3, 3)).padding((1, 1)).groups(groups);
            let mut layer = Conv2d::<f64>::init(spec, &mut rng).unwrap();
            let x = Array4::from_shape_simple_fn((2, 2, 5, 5), || rng.random_range(-1.0..1.0));
            let r = Array4::from_shape_simple_fn((2, 4, 5, 5), || rng.random_range(-1.0..1.0));
            layer.backward(x.view(), r.view());
            let once = (layer.weight_grad.clone(), layer.bias_grad.clone().unwrap());
            layer.backward(x.view(), r.view());
            assert!(layer.weight_grad.iter().zip(&once.0).all(|(g, o)| (g - 2.0 * o).abs() < 1e-12));
            assert!(layer.bias_grad.unwrap().iter().zip(&once.1).all(|(g, o)| (g - 2.0 * o).abs() < 1e-12));
        }
    }
}
