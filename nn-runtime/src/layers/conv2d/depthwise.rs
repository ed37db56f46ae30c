//! The direct kernel of a depthwise `Conv2d`, `groups = in_c`: output channel `o` is
//! input channel `o / m` correlated with its own `kh`×`kw` kernel, `m = out_c / in_c`
//! the channel multiplier. Forward, weight and input gradients are loops of row `axpy`s
//! and dot products over the runs of [`Window::for_each_run`], with no im2col matrix: as
//! a GEMM each product would have a single row of `kh·kw`.

use ndarray::{Array4, ArrayView1, ArrayView4, ArrayViewMut1, ArrayViewMut4};

use crate::frozen::Window;
use crate::Float;

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
    for (i, y) in y_planes.enumerate() {
        let o = i % planes.out_c;
        y.fill(bias.as_ref().map_or(F::zero(), |b| b[o]));
        window.correlate(y, planes.input(x, i), planes.kernel(kernels, o));
    }
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
    let stride = window.stride.1;
    for (i, g) in grad_out.chunks_exact(planes.out_len).enumerate() {
        let o = i % planes.out_c;
        let (x, kernel_grad) = (planes.input(x, i), planes.kernel_mut(kernel_grads, o));
        window.for_each_run(|tap, x_start, y_start, len| {
            let read = x[x_start..].iter().step_by(stride);
            kernel_grad[tap] += g[y_start..y_start + len].iter().zip(read).fold(F::zero(), |sum, (&g, &x)| sum + g * x);
        });
        if let Some(bias_grad) = bias_grad.as_mut() {
            bias_grad[o] += g.iter().fold(F::zero(), |sum, &g| sum + g);
        }
    }
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
    let mut grad_in = Array4::zeros((batch, in_c, window.in_hw.0, window.in_hw.1));
    let dx = grad_in.as_slice_mut().expect("fresh array");
    let stride = window.stride.1;
    for (i, g) in grad_out.chunks_exact(planes.out_len).enumerate() {
        let kernel = planes.kernel(kernels, i % out_c);
        let dx = planes.input_mut(dx, i);
        window.for_each_run(|tap, x_start, y_start, len| {
            let w = kernel[tap];
            for (dx, &g) in dx[x_start..].iter_mut().step_by(stride).zip(&g[y_start..y_start + len]) {
                *dx += w * g;
            }
        });
    }
    grad_in
}

/// Where the planes of a depthwise convolution lie in its row-major buffers.
struct Planes {
    in_c: usize,
    out_c: usize,
    /// Output channels per input channel.
    multiplier: usize,
    in_len: usize,
    out_len: usize,
    kernel_len: usize,
}

impl Planes {
    fn new(window: &Window, in_c: usize, out_c: usize) -> Self {
        let ((h, w), (oh, ow), (kh, kw)) = (window.in_hw, window.out_hw, window.kernel);
        Planes { in_c, out_c, multiplier: out_c / in_c, in_len: h * w, out_len: oh * ow, kernel_len: kh * kw }
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
}
