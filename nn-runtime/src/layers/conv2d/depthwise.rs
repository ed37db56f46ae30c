//! The direct kernel of a depthwise `Conv2d`, `groups = in_c`: output channel `o` is
//! input channel `o / m` correlated with its own `kh`×`kw` kernel, `m = out_c / in_c`
//! the channel multiplier. No im2col matrix (as a GEMM, each product would have a single
//! row of `kh·kw`): each input plane is copied once into a zero-bordered scratch plane,
//! and every tap reads that plane in place.
//!
//! With stride 1 the reads use "wide" rows, as the GEMM kernel's columns do: output `(oy,
//! ox)` sits at `oy·Wp + ox` (`Wp` the padded width), so that each tap is one long
//! `axpy` or dot product over the whole plane (`(oh − 1)·Wp + ow` values) instead of one
//! per output row; the `Wp − ow` values after each row are gaps, dropped or meeting zero
//! gradients. Where the data (weight gradient) or the weights (input gradient) are not
//! finite, a `0·∞` in a gap would reach a gradient PyTorch keeps finite, and the kernel
//! reads one output row at a time instead, as it does for larger strides.

use std::cell::RefCell;

use ndarray::{Array4, ArrayView1, ArrayView4, ArrayViewMut1, ArrayViewMut4};

use crate::frozen::Window;
use crate::scratch::{with_scratch, Scratch};
use crate::Float;

thread_local! {
    /// Each thread's padded planes and wide rows, kept between calls.
    static SCRATCH: RefCell<Scratch> = const { RefCell::new(Vec::new()) };
}

/// The convolution of `x` `[batch, in_c, H, W]` (standard layout) by `weight`
/// `[out_c, 1, kh, kw]`, plus `bias`.
pub(super) fn forward<F: Float>(
    weight: ArrayView4<F>,
    bias: Option<ArrayView1<F>>,
    x: ArrayView4<F>,
    window: &Window,
) -> Array4<F> {
    let (batch, in_c, _, _) = x.dim();
    let planes = Planes::new(window, in_c, weight.dim().0);
    let weight = weight.as_standard_layout();
    let (kernels, x) = (weight.as_slice().expect("standard layout"), x.as_slice().expect("standard layout"));
    let mut y = Array4::zeros((batch, planes.out_c, window.out_hw.0, window.out_hw.1));
    let y_planes = y.as_slice_mut().expect("fresh array").chunks_exact_mut(planes.out_len);
    with_scratch(&SCRATCH, [planes.padded_len(), planes.span()], |[padded, wide]| {
        padded.fill(F::zero());
        for (i, y) in y_planes.enumerate() {
            let o = i % planes.out_c;
            let b = bias.as_ref().map_or(F::zero(), |b| b[o]);
            planes.pad(planes.input(x, i), padded);
            let kernel = planes.kernel(kernels, o);
            if planes.is_wide() {
                wide.fill(b);
                planes.for_each_wide_tap(|tap, start| axpy(wide, kernel[tap], &padded[start..]));
                planes.unwiden(wide, y);
            } else {
                y.fill(b);
                planes.for_each_row(|tap, start, oy| {
                    let row = &mut y[oy * planes.ow..][..planes.ow];
                    for (y, &x) in row.iter_mut().zip(padded[start..].iter().step_by(planes.stride)) {
                        *y += kernel[tap] * x;
                    }
                });
            }
        }
    });
    y
}

/// Accumulates d loss / d weight (`[out_c, 1, kh, kw]`) and d loss / d bias for the
/// batch `x` that produced `grad_out` (both standard layout): each tap's gradient is the
/// dot product of the output gradients with the inputs the tap read.
pub(super) fn backward<F: Float>(
    x: ArrayView4<F>,
    grad_out: ArrayView4<F>,
    mut weight_grad: ArrayViewMut4<F>,
    mut bias_grad: Option<ArrayViewMut1<F>>,
    window: &Window,
) {
    let planes = Planes::new(window, x.dim().1, grad_out.dim().1);
    let (x, grad_out) = (x.as_slice().expect("standard layout"), grad_out.as_slice().expect("standard layout"));
    let kernel_grads = weight_grad.as_slice_mut().expect("weight_grad is in standard layout");
    let wide_rows = planes.is_wide() && all_finite(x);
    with_scratch(&SCRATCH, [planes.padded_len(), planes.span()], |[padded, wide]| {
        padded.fill(F::zero());
        // The gaps stay zero: only output positions are written.
        wide.fill(F::zero());
        for (i, g) in grad_out.chunks_exact(planes.out_len).enumerate() {
            let o = i % planes.out_c;
            planes.pad(planes.input(x, i), padded);
            let kernel_grad = planes.kernel_mut(kernel_grads, o);
            if wide_rows {
                planes.widen(g, wide);
                planes.for_each_wide_tap(|tap, start| kernel_grad[tap] += dot(wide, &padded[start..]));
            } else {
                planes.for_each_row(|tap, start, oy| {
                    let row = &g[oy * planes.ow..][..planes.ow];
                    let read = padded[start..].iter().step_by(planes.stride);
                    kernel_grad[tap] += row.iter().zip(read).fold(F::zero(), |sum, (&g, &x)| sum + g * x);
                });
            }
            if let Some(bias_grad) = bias_grad.as_mut() {
                bias_grad[o] += sum(g);
            }
        }
    });
}

/// d loss / d x, `[batch, in_c, H, W]`, from `grad_out` (standard layout): each output
/// gradient, times each tap, added onto the input the tap read.
pub(super) fn input_grad<F: Float>(
    weight: ArrayView4<F>,
    grad_out: ArrayView4<F>,
    window: &Window,
    in_c: usize,
) -> Array4<F> {
    let (batch, out_c, _, _) = grad_out.dim();
    let planes = Planes::new(window, in_c, out_c);
    let weight = weight.as_standard_layout();
    let (kernels, grad_out) =
        (weight.as_slice().expect("standard layout"), grad_out.as_slice().expect("standard layout"));
    let wide_rows = planes.is_wide() && all_finite(kernels);
    let mut grad_in = Array4::zeros((batch, in_c, window.in_hw.0, window.in_hw.1));
    let dx = grad_in.as_slice_mut().expect("fresh array");
    with_scratch(&SCRATCH, [planes.padded_len(), planes.span()], |[padded, wide]| {
        wide.fill(F::zero());
        for (i, g) in grad_out.chunks_exact(planes.out_len).enumerate() {
            let kernel = planes.kernel(kernels, i % out_c);
            padded.fill(F::zero());
            if wide_rows {
                planes.widen(g, wide);
                planes.for_each_wide_tap(|tap, start| axpy(&mut padded[start..], kernel[tap], wide));
            } else {
                planes.for_each_row(|tap, start, oy| {
                    let row = &g[oy * planes.ow..][..planes.ow];
                    for (dx, &g) in padded[start..].iter_mut().step_by(planes.stride).zip(row) {
                        *dx += kernel[tap] * g;
                    }
                });
            }
            planes.add_unpadded(padded, planes.input_mut(dx, i));
        }
    });
    grad_in
}

/// `y += a · x` over the shorter of the two.
#[inline(always)]
fn axpy<F: Float>(y: &mut [F], a: F, x: &[F]) {
    for (y, &x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}

/// Partial sums a dot product keeps, so that its additions do not wait on each other
/// (one accumulator made the weight gradient slower than a product per channel).
const LANES: usize = 8;

/// `Σ a · b` over the shorter of the two, in [`LANES`] interleaved partial sums.
#[inline(always)]
fn dot<F: Float>(a: &[F], b: &[F]) -> F {
    let len = a.len().min(b.len());
    let (a, b) = (&a[..len], &b[..len]);
    let mut sums = [F::zero(); LANES];
    for (a, b) in a.chunks_exact(LANES).zip(b.chunks_exact(LANES)) {
        for ((sum, &a), &b) in sums.iter_mut().zip(a).zip(b) {
            *sum += a * b;
        }
    }
    let tail = len - len % LANES;
    let tail = a[tail..].iter().zip(&b[tail..]).fold(F::zero(), |sum, (&a, &b)| sum + a * b);
    sums.iter().fold(tail, |total, &s| total + s)
}

/// `Σ a`, in [`LANES`] interleaved partial sums.
fn sum<F: Float>(a: &[F]) -> F {
    let mut sums = [F::zero(); LANES];
    for chunk in a.chunks_exact(LANES) {
        for (sum, &a) in sums.iter_mut().zip(chunk) {
            *sum += a;
        }
    }
    let tail = a.chunks_exact(LANES).remainder().iter().fold(F::zero(), |total, &a| total + a);
    sums.iter().fold(tail, |total, &s| total + s)
}

/// Whether no value is infinite or NaN (without stopping early, so that it vectorises).
fn all_finite<F: Float>(values: &[F]) -> bool {
    values.iter().fold(true, |all, v| all & v.is_finite())
}

/// Where the planes of a depthwise convolution lie in its row-major buffers, and in the
/// zero-bordered scratch plane `[h + 2·ph, w + 2·pw]`.
struct Planes {
    in_c: usize,
    out_c: usize,
    /// Output channels per input channel.
    multiplier: usize,
    in_len: usize,
    out_len: usize,
    kernel_len: usize,
    window: Window,
    /// The padded plane's width.
    padded_w: usize,
    /// Output width.
    ow: usize,
    /// Step between the windows of one output row (the column stride).
    stride: usize,
}

impl Planes {
    fn new(window: &Window, in_c: usize, out_c: usize) -> Self {
        let ((h, w), (oh, ow), (kh, kw)) = (window.in_hw, window.out_hw, window.kernel);
        Planes {
            in_c,
            out_c,
            multiplier: out_c / in_c,
            in_len: h * w,
            out_len: oh * ow,
            kernel_len: kh * kw,
            window: *window,
            padded_w: w + 2 * window.padding.1,
            ow,
            stride: window.stride.1,
        }
    }

    /// Whether taps read wide rows: stride 1 along both axes.
    fn is_wide(&self) -> bool {
        self.window.stride == (1, 1)
    }

    fn padded_len(&self) -> usize {
        (self.window.in_hw.0 + 2 * self.window.padding.0) * self.padded_w
    }

    /// Values of a wide plane: `(oh − 1)·Wp + ow` (0 for an empty output).
    fn span(&self) -> usize {
        match self.window.out_hw.0 {
            0 => 0,
            oh => (oh - 1) * self.padded_w + self.ow,
        }
    }

    /// The input plane that output plane `i` (image `i / out_c`, channel `i % out_c`) reads.
    fn input<'a, F>(&self, x: &'a [F], i: usize) -> &'a [F] {
        &x[self.input_start(i)..][..self.in_len]
    }

    /// Writable counterpart of [`Planes::input`].
    fn input_mut<'a, F>(&self, x: &'a mut [F], i: usize) -> &'a mut [F] {
        &mut x[self.input_start(i)..][..self.in_len]
    }

    fn input_start(&self, i: usize) -> usize {
        let (n, o) = (i / self.out_c, i % self.out_c);
        (n * self.in_c + o / self.multiplier) * self.in_len
    }

    /// Output channel `o`'s kernel in the weight `[out_c, 1, kh, kw]`.
    fn kernel<'a, F>(&self, weight: &'a [F], o: usize) -> &'a [F] {
        &weight[o * self.kernel_len..][..self.kernel_len]
    }

    /// Writable counterpart of [`Planes::kernel`].
    fn kernel_mut<'a, F>(&self, weight: &'a mut [F], o: usize) -> &'a mut [F] {
        &mut weight[o * self.kernel_len..][..self.kernel_len]
    }

    /// Where each row of the `[h, w]` plane lies in the padded plane.
    fn padded_rows(&self) -> impl Iterator<Item = usize> + '_ {
        let (ph, pw) = self.window.padding;
        (0..self.window.in_hw.0).map(move |y| (y + ph) * self.padded_w + pw)
    }

    /// Copies the plane `x` inside the zero border of `padded` (whose border is zero).
    fn pad<F: Float>(&self, x: &[F], padded: &mut [F]) {
        let w = self.window.in_hw.1;
        for (row, start) in x.chunks_exact(w).zip(self.padded_rows()) {
            padded[start..start + w].copy_from_slice(row);
        }
    }

    /// Adds the inside of `padded` (without its border) onto the plane `x`.
    fn add_unpadded<F: Float>(&self, padded: &[F], x: &mut [F]) {
        let w = self.window.in_hw.1;
        for (row, start) in x.chunks_exact_mut(w).zip(self.padded_rows()) {
            for (x, &p) in row.iter_mut().zip(&padded[start..start + w]) {
                *x += p;
            }
        }
    }

    /// Copies the `[oh, ow]` plane `g` into the rows of the wide plane `wide`, its gaps
    /// left as they are.
    fn widen<F: Float>(&self, g: &[F], wide: &mut [F]) {
        for (oy, row) in g.chunks_exact(self.ow).enumerate() {
            wide[oy * self.padded_w..][..self.ow].copy_from_slice(row);
        }
    }

    /// Copies the rows of the wide plane `wide` into the `[oh, ow]` plane `y`, without the gaps.
    fn unwiden<F: Float>(&self, wide: &[F], y: &mut [F]) {
        for (oy, row) in y.chunks_exact_mut(self.ow).enumerate() {
            row.copy_from_slice(&wide[oy * self.padded_w..][..self.ow]);
        }
    }

    /// For wide rows: calls `visit(tap, start)` for every tap `ki·kw + kj`, the wide
    /// plane's value `p` reading the padded plane at `start + p`.
    fn for_each_wide_tap(&self, mut visit: impl FnMut(usize, usize)) {
        let (kh, kw) = self.window.kernel;
        for ki in 0..kh {
            for kj in 0..kw {
                visit(ki * kw + kj, ki * self.padded_w + kj);
            }
        }
    }

    /// Calls `visit(tap, start, oy)` for every tap `ki·kw + kj` and output row `oy`:
    /// output `(oy, ox)` reads the padded plane at `start + ox·stride`.
    fn for_each_row(&self, mut visit: impl FnMut(usize, usize, usize)) {
        let ((kh, kw), sh) = (self.window.kernel, self.window.stride.0);
        for ki in 0..kh {
            for kj in 0..kw {
                for oy in 0..self.window.out_hw.0 {
                    visit(ki * kw + kj, (oy * sh + ki) * self.padded_w + kj, oy);
                }
            }
        }
    }
}
