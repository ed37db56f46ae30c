//! Direct 2-d convolution of a frozen `Conv2d` layer, and the window geometry that the
//! training kernels (im2col, pooling) share with it.

use core::ops::Range;

use crate::Float;

/// PyTorch's output length along one axis, `⌊(in + 2·padding − kernel) / stride⌋ + 1`,
/// or `None` when the padded input is shorter than the kernel (or its length overflows).
///
/// `network!` computes every convolution and pooling shape by this rule and checks, at
/// compile time, that this function agrees with it.
pub const fn window_output(in_len: usize, kernel: usize, stride: usize, padding: usize) -> Option<usize> {
    let Some(padded) = padding.checked_mul(2) else {
        return None;
    };
    match in_len.checked_add(padded) {
        Some(padded) if padded >= kernel && stride > 0 => Some((padded - kernel) / stride + 1),
        _ => None,
    }
}

/// [`window_output`] of a window that fits.
///
/// # Panics
/// If the padded input is shorter than the kernel.
#[inline]
pub(crate) fn output_len(in_len: usize, kernel: usize, stride: usize, padding: usize) -> usize {
    match window_output(in_len, kernel, stride, padding) {
        Some(len) => len,
        None => panic!("a kernel of {kernel} does not fit an input of {in_len} padded by {padding}"),
    }
}

/// The outputs `o` whose input index `o·stride + offset − padding` falls inside `0..in_len`,
/// for the kernel tap at `offset`: the others read padding (zeros).
#[inline]
fn valid_outputs(offset: usize, in_len: usize, out_len: usize, stride: usize, padding: usize) -> Range<usize> {
    let start = padding.saturating_sub(offset).div_ceil(stride);
    let end = match (in_len + padding).checked_sub(offset + 1) {
        Some(last) => (last / stride + 1).min(out_len),
        None => 0,
    };
    start.min(end)..end
}

/// `y += a · x[0], x[stride], x[2·stride], ...` over `y`'s length; the unit stride gets
/// its own loop so that it vectorises.
#[inline(always)]
fn axpy_strided<F: Float>(y: &mut [F], a: F, x: &[F], stride: usize) {
    if stride == 1 {
        for (y, &x) in y.iter_mut().zip(x) {
            *y += a * x;
        }
    } else {
        for (y, &x) in y.iter_mut().zip(x.iter().step_by(stride)) {
            *y += a * x;
        }
    }
}

/// One plane-to-plane correlation of a convolution: a `kernel` (rows, columns) over an
/// `in_hw` plane with a `stride` and zero `padding` per axis, into an `out_hw` plane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    pub(crate) in_hw: (usize, usize),
    pub(crate) out_hw: (usize, usize),
    pub(crate) kernel: (usize, usize),
    pub(crate) stride: (usize, usize),
    pub(crate) padding: (usize, usize),
}

impl Window {
    /// The window of `kernel`, `stride` and `padding` over an `in_hw` plane, with PyTorch's
    /// output size.
    ///
    /// # Panics
    /// If the padded plane is smaller than the kernel along an axis.
    #[inline]
    pub(crate) fn new(
        in_hw: (usize, usize),
        kernel: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
    ) -> Self {
        let out_hw =
            (output_len(in_hw.0, kernel.0, stride.0, padding.0), output_len(in_hw.1, kernel.1, stride.1, padding.1));
        Window { in_hw, out_hw, kernel, stride, padding }
    }

    /// Calls `visit(tap, x_start, y_start, len)` for every run of outputs that one kernel
    /// tap `ki·kw + kj` reads from one input row: `y[y_start + i]` (row-major, `out_hw`)
    /// reads `x[x_start + i·stride.1]` (row-major, `in_hw`) for `i < len`. Outputs outside
    /// every run of a tap read the zero padding there.
    #[inline(always)]
    pub(crate) fn for_each_run(&self, mut visit: impl FnMut(usize, usize, usize, usize)) {
        let ((h, w), (oh, ow), (kh, kw)) = (self.in_hw, self.out_hw, self.kernel);
        let ((sh, sw), (ph, pw)) = (self.stride, self.padding);
        for ki in 0..kh {
            let rows = valid_outputs(ki, h, oh, sh, ph);
            for kj in 0..kw {
                let cols = valid_outputs(kj, w, ow, sw, pw);
                if cols.is_empty() {
                    continue;
                }
                let first_col = cols.start * sw + kj - pw;
                for oy in rows.clone() {
                    visit(ki * kw + kj, (oy * sh + ki - ph) * w + first_col, oy * ow + cols.start, cols.len());
                }
            }
        }
    }

    /// `y += kernel ⋆ x` for one input plane `x`, one output plane `y` and one row-major
    /// `kernel`: each tap is a vectorisable `axpy` of an input row into an output row.
    #[inline]
    pub(crate) fn correlate<F: Float>(&self, y: &mut [F], x: &[F], kernel: &[F]) {
        let stride = self.stride.1;
        self.for_each_run(|tap, x_start, y_start, len| {
            axpy_strided(&mut y[y_start..y_start + len], kernel[tap], &x[x_start..], stride);
        });
    }
}

/// PyTorch's `Conv2d` on one `[C, H, W]` image into `y`: `y[o] = b[o] + Σ_c w[o][c] ⋆ x[g·CG + c]`
/// over the `CG` input channels of output channel `o`'s group `g`, kernels `KH`×`KW`,
/// `stride` and zero `padding` as (rows, columns).
///
/// The groups are `C / CG`, each with `OC / groups` output channels: `CG = C` is an
/// ordinary convolution, `CG = 1` a depthwise one. The weight keeps PyTorch's
/// `[out_c, in_c / groups, kh, kw]` layout. The loops run over output rows innermost, so
/// each tap is a vectorisable `axpy` of an input row into an output row.
///
/// # Panics
/// If `CG` does not divide `C`, the groups do not divide `OC`, or `OH`×`OW` is not the
/// output size that `H`×`W`, the kernel, `stride` and `padding` give.
#[inline]
pub fn conv2d_into<
    F: Float,
    const C: usize,
    const H: usize,
    const W: usize,
    const OC: usize,
    const CG: usize,
    const KH: usize,
    const KW: usize,
    const OH: usize,
    const OW: usize,
>(
    weight: &[[[[F; KW]; KH]; CG]; OC],
    bias: Option<&[F; OC]>,
    x: &[[[F; W]; H]; C],
    y: &mut [[[F; OW]; OH]; OC],
    stride: (usize, usize),
    padding: (usize, usize),
) {
    assert!(
        CG > 0 && C.is_multiple_of(CG) && OC.is_multiple_of(C / CG),
        "conv2d: {CG} channels per group do not split {C} and {OC}"
    );
    let window = Window::new((H, W), (KH, KW), stride, padding);
    assert!(window.out_hw == (OH, OW), "conv2d output must be {:?}, not {OH}x{OW}", window.out_hw);
    let group_out = OC / (C / CG);
    for (o, (plane, kernels)) in y.iter_mut().zip(weight).enumerate() {
        let b = bias.map_or(F::zero(), |bias| bias[o]);
        plane.as_flattened_mut().fill(b);
        let first = o / group_out * CG;
        for (image, kernel) in x[first..first + CG].iter().zip(kernels) {
            window.correlate(plane.as_flattened_mut(), image.as_flattened(), kernel.as_flattened());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute force: the outputs whose input index lands inside the image.
    #[test]
    fn valid_outputs_agree_with_brute_force() {
        for in_len in 1..7 {
            for kernel in 1..5 {
                for stride in 1..4 {
                    for padding in 0..3 {
                        if in_len + 2 * padding < kernel {
                            continue;
                        }
                        let out_len = output_len(in_len, kernel, stride, padding);
                        for offset in 0..kernel {
                            let inside = |o: usize| {
                                (0..in_len as isize).contains(&((o * stride + offset) as isize - padding as isize))
                            };
                            let range = valid_outputs(offset, in_len, out_len, stride, padding);
                            for o in 0..out_len {
                                assert_eq!(
                                    range.contains(&o),
                                    inside(o),
                                    "{in_len} {kernel} {stride} {padding} {offset} {o}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(all(test, feature = "std"))]
mod matches_training {
    use super::*;
    use crate::layers::conv2d::{Conv2d, Conv2dSpec};
    use ndarray::{Array1, Array4};
    use rand::{Rng, SeedableRng};

    /// Frozen conv2d of a random image equals the ndarray layer's forward (up to rounding:
    /// the GEMM sums in another order, with fused multiply-adds).
    fn check<
        const C: usize,
        const H: usize,
        const W: usize,
        const OC: usize,
        const CG: usize,
        const KH: usize,
        const KW: usize,
        const OH: usize,
        const OW: usize,
    >(
        stride: (usize, usize),
        padding: (usize, usize),
        bias: bool,
    ) {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let spec = Conv2dSpec::new(C, OC, (KH, KW)).stride(stride).padding(padding).groups(C / CG).bias(bias);
        let layer = Conv2d::<f32>::init(spec, &mut rng).unwrap();
        let x: [[[f32; W]; H]; C] =
            core::array::from_fn(|_| core::array::from_fn(|_| core::array::from_fn(|_| rng.random_range(-1.0..1.0))));
        let weight: [[[[f32; KW]; KH]; CG]; OC] = core::array::from_fn(|o| {
            core::array::from_fn(|c| core::array::from_fn(|i| core::array::from_fn(|j| layer.weight[[o, c, i, j]])))
        });
        let frozen_bias: Option<[f32; OC]> = layer.bias.as_ref().map(|b: &Array1<f32>| core::array::from_fn(|o| b[o]));

        let mut y = [[[f32::NAN; OW]; OH]; OC];
        conv2d_into::<f32, C, H, W, OC, CG, KH, KW, OH, OW>(&weight, frozen_bias.as_ref(), &x, &mut y, stride, padding);

        let batch = Array4::from_shape_fn((1, C, H, W), |(_, c, i, j)| x[c][i][j]);
        let want = layer.forward(batch.view());
        assert_eq!(want.shape(), [1, OC, OH, OW]);
        for ((_, o, i, j), &w) in want.indexed_iter() {
            assert!((y[o][i][j] - w).abs() <= 1e-5 * (1.0 + w.abs()), "[{o}, {i}, {j}]: {} vs {w}", y[o][i][j]);
        }
    }

    #[test]
    fn equals_ndarray_forward() {
        check::<1, 28, 28, 6, 1, 5, 5, 28, 28>((1, 1), (2, 2), true);
        check::<6, 14, 14, 16, 6, 5, 5, 10, 10>((1, 1), (0, 0), true);
        check::<2, 7, 6, 3, 2, 3, 3, 4, 3>((2, 2), (1, 1), false);
        check::<3, 5, 5, 2, 3, 2, 2, 2, 2>((3, 3), (1, 1), true);
        check::<1, 3, 3, 1, 1, 4, 4, 1, 1>((2, 2), (1, 1), true);
        check::<1, 3, 1, 1, 1, 1, 1, 2, 1>((3, 3), (1, 1), true);
    }

    /// Grouped, depthwise (with a channel multiplier) and non-square kernels, strides and
    /// paddings.
    #[test]
    fn grouped_depthwise_and_non_square_equal_ndarray_forward() {
        check::<4, 6, 7, 6, 2, 3, 3, 6, 7>((1, 1), (1, 1), true);
        check::<4, 9, 8, 4, 1, 3, 3, 5, 4>((2, 2), (1, 1), true);
        check::<3, 8, 8, 6, 1, 3, 3, 8, 8>((1, 1), (1, 1), false);
        check::<1, 49, 10, 4, 1, 10, 4, 25, 5>((2, 2), (5, 1), true);
        check::<2, 7, 9, 4, 2, 2, 3, 3, 9>((3, 1), (1, 1), true);
    }
}
