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
pub(crate) fn valid_outputs(
    offset: usize,
    in_len: usize,
    out_len: usize,
    stride: usize,
    padding: usize,
) -> Range<usize> {
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

/// PyTorch's `Conv2d` on one `[C, H, W]` image: `y[o] = b[o] + Σ_c w[o][c] ⋆ x[c]` with
/// square kernels `K`, the same `stride` and zero `padding` on both axes.
///
/// The weight keeps PyTorch's `[out_c, in_c, kh, kw]` layout. The loops run over output
/// rows innermost, so each tap is a vectorisable `axpy` of an input row into an output row.
///
/// # Panics
/// If `OH`×`OW` is not the output size that `H`×`W`, `K`, `stride` and `padding` give.
#[inline]
pub fn conv2d<
    F: Float,
    const C: usize,
    const H: usize,
    const W: usize,
    const OC: usize,
    const K: usize,
    const OH: usize,
    const OW: usize,
>(
    weight: &[[[[F; K]; K]; C]; OC],
    bias: Option<&[F; OC]>,
    x: &[[[F; W]; H]; C],
    stride: usize,
    padding: usize,
) -> [[[F; OW]; OH]; OC] {
    assert!(
        OH == output_len(H, K, stride, padding) && OW == output_len(W, K, stride, padding),
        "conv2d output must be {}x{}, not {OH}x{OW}",
        output_len(H, K, stride, padding),
        output_len(W, K, stride, padding),
    );
    let mut y = [[[F::zero(); OW]; OH]; OC];
    for (o, (plane, kernels)) in y.iter_mut().zip(weight).enumerate() {
        let b = bias.map_or(F::zero(), |bias| bias[o]);
        *plane = [[b; OW]; OH];
        for (image, kernel) in x.iter().zip(kernels) {
            for (ki, kernel_row) in kernel.iter().enumerate() {
                let rows = valid_outputs(ki, H, OH, stride, padding);
                for (kj, &w) in kernel_row.iter().enumerate() {
                    let cols = valid_outputs(kj, W, OW, stride, padding);
                    if cols.is_empty() {
                        continue;
                    }
                    let first_col = cols.start * stride + kj - padding;
                    for oy in rows.clone() {
                        let x_row = &image[oy * stride + ki - padding][first_col..];
                        axpy_strided(&mut plane[oy][cols.clone()], w, x_row, stride);
                    }
                }
            }
        }
    }
    y
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
    use crate::layers::conv2d::Conv2d;
    use ndarray::{Array1, Array4};
    use rand::{Rng, SeedableRng};

    /// Frozen conv2d of a random image equals the ndarray layer's forward (up to rounding:
    /// the GEMM sums in another order, with fused multiply-adds).
    fn check<
        const C: usize,
        const H: usize,
        const W: usize,
        const OC: usize,
        const K: usize,
        const OH: usize,
        const OW: usize,
    >(
        stride: usize,
        padding: usize,
        bias: bool,
    ) {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let layer = Conv2d::<f32>::init(C, OC, K, stride, padding, bias, &mut rng);
        let x: [[[f32; W]; H]; C] =
            core::array::from_fn(|_| core::array::from_fn(|_| core::array::from_fn(|_| rng.random_range(-1.0..1.0))));
        let weight: [[[[f32; K]; K]; C]; OC] = core::array::from_fn(|o| {
            core::array::from_fn(|c| core::array::from_fn(|i| core::array::from_fn(|j| layer.weight[[o, c, i, j]])))
        });
        let frozen_bias: Option<[f32; OC]> = layer.bias.as_ref().map(|b: &Array1<f32>| core::array::from_fn(|o| b[o]));

        let y = conv2d::<f32, C, H, W, OC, K, OH, OW>(&weight, frozen_bias.as_ref(), &x, stride, padding);

        let batch = Array4::from_shape_fn((1, C, H, W), |(_, c, i, j)| x[c][i][j]);
        let want = layer.forward(batch.view());
        assert_eq!(want.shape(), [1, OC, OH, OW]);
        for ((_, o, i, j), &w) in want.indexed_iter() {
            assert!((y[o][i][j] - w).abs() <= 1e-5 * (1.0 + w.abs()), "[{o}, {i}, {j}]: {} vs {w}", y[o][i][j]);
        }
    }

    #[test]
    fn equals_ndarray_forward() {
        check::<1, 28, 28, 6, 5, 28, 28>(1, 2, true);
        check::<6, 14, 14, 16, 5, 10, 10>(1, 0, true);
        check::<2, 7, 6, 3, 3, 4, 3>(2, 1, false);
        check::<3, 5, 5, 2, 2, 2, 2>(3, 1, true);
        check::<1, 3, 3, 1, 4, 1, 1>(2, 1, true);
        check::<1, 3, 1, 1, 1, 2, 1>(3, 1, true);
    }
}
