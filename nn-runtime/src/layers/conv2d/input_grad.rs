//! The input gradient of a stride-1 `Conv2d` by a direct kernel: no `Wᵀ g` matrix, no
//! col2im, no GEMM sliver packed. The gradient of the padded input is the full
//! correlation of the output gradient with the flipped, transposed weights:
//!
//! `dx[c][y][x] = Σ_{o, ki, kj} w[o][c][kh−1−ki][kw−1−kj] · G[o][y + ki][x + kj]`
//!
//! `G` the output gradient `[out_c, oh, ow]` with `kh − 1` zero rows and `kw − 1` zero
//! columns on every side, `[out_c, Hp + kh − 1, Wp + kw − 1]`. That is a stride-1
//! forward convolution of `G` with `out_c` input channels and `in_c` outputs, so it runs
//! on the forward's register tiles ([`crate::gemm`]'s `correlate`), in wide columns of
//! `G`'s width, computed for the input's own pixels only (the padding's are dropped).

use super::{Geometry, SCRATCH};
use crate::gemm::{correlate_on, row_tiles, Correlation};
use crate::scratch::with_scratch;
use crate::simd::{vectorised, Kernel};
use crate::Float;

/// Writes d loss / d x of the batch into `grad_in` (`[batch, in_c, H, W]`, row-major)
/// from `grad_out` (`[batch, out_c, oh, ow]`, row-major) and the finite `weights`
/// (`[out_c, in_c, kh, kw]`, row-major), with `kernel`'s tiles.
pub(super) fn direct_input_grad<F: Float>(
    kernel: Kernel,
    weights: &[F],
    grad_out: &[F],
    geometry: &Geometry,
    grad_in: &mut [F],
) {
    let (in_c, out_c, (kh, kw)) = (geometry.in_c, geometry.out_c, geometry.window.kernel);
    let ((h, w), (ph, pw)) = (geometry.window.in_hw, geometry.window.padding);
    let (oh, ow) = geometry.window.out_hw;
    let (padded_h, padded_w) = geometry.padded_hw();
    let (grad_h, grad_w) = (padded_h + kh - 1, padded_w + kw - 1);
    // The first input pixel's output column, and the columns up to the last one's.
    let start = ph * grad_w + pw;
    let span = (h - 1) * grad_w + w;
    let taps = out_c * kh * kw;
    let plane = grad_h * grad_w;
    // `start` zeros past the last plane, so that the shifted image holds all its planes.
    let lens = [in_c * taps, out_c * plane + start, in_c * span];
    with_scratch(&SCRATCH, lens, |[flipped, padded, out]| {
        // flipped[c][o][ki][kj] = w[o][c][kh−1−ki][kw−1−kj].
        for (c, flipped) in flipped.chunks_exact_mut(taps).enumerate() {
            for (o, flipped) in flipped.chunks_exact_mut(kh * kw).enumerate() {
                let kernel = &weights[(o * in_c + c) * kh * kw..][..kh * kw];
                for (f, &v) in flipped.iter_mut().zip(kernel.iter().rev()) {
                    *f = v;
                }
            }
        }
        padded.fill(F::zero());
        for (g, dx) in grad_out.chunks_exact(geometry.output_len()).zip(grad_in.chunks_exact_mut(geometry.image_len()))
        {
            vectorised(
                #[inline(always)]
                || {
                    for (o, g) in g.chunks_exact(oh * ow).enumerate() {
                        let first = o * plane + (kh - 1) * grad_w + kw - 1;
                        for (oy, row) in g.chunks_exact(ow).enumerate() {
                            padded[first + oy * grad_w..][..ow].copy_from_slice(row);
                        }
                    }
                },
            );
            for (c0, rows) in row_tiles(in_c) {
                let correlation = Correlation {
                    weights: &flipped[c0 * taps..],
                    image: &padded[start..],
                    in_c: out_c,
                    kernel: (kh, kw),
                    padded_hw: (grad_h, grad_w),
                    span,
                };
                correlate_on(kernel, correlation, rows, &mut out[c0 * span..], span);
            }
            let out = &*out;
            vectorised(
                #[inline(always)]
                || {
                    for (dx, out) in dx.chunks_exact_mut(h * w).zip(out.chunks_exact(span)) {
                        for (y, dx) in dx.chunks_exact_mut(w).enumerate() {
                            dx.copy_from_slice(&out[y * grad_w..][..w]);
                        }
                    }
                },
            );
        }
    });
}

#[cfg(test)]
mod tests {
    use super::super::{col2im_input_grad, Conv2dSpec};
    use super::*;
    use crate::frozen::Window;
    use proptest::prelude::{proptest, ProptestConfig};
    use rand::{Rng, SeedableRng};

    fn geometry(spec: Conv2dSpec, h: usize, w: usize) -> Geometry {
        let window = Window::new((h, w), spec.kernel, spec.stride, spec.padding);
        let (oh, ow) = window.out_hw;
        let padded_w = w + 2 * spec.padding.1;
        Geometry {
            in_c: spec.in_channels,
            out_c: spec.out_channels,
            window,
            pitch: padded_w,
            span: (oh - 1) * padded_w + ow,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Every kernel of this CPU (f32), and the plain loops (f64), give what `Wᵀ g` and
        /// col2im give in f64, on random channels, kernels, paddings and sizes.
        #[test]
        fn every_kernel_matches_the_col2im_path(
            batch in 1usize..3, in_c in 1usize..9, out_c in 1usize..7, kh in 1usize..6, kw in 1usize..6,
            ph in 0usize..3, pw in 0usize..3, extra_h in 0usize..12, extra_w in 0usize..40, seed in 0u64..1000,
        ) {
            let (h, w) = (kh + extra_h, kw + extra_w);
            let spec = Conv2dSpec::new(in_c, out_c, (kh, kw)).padding((ph, pw));
            let geometry = geometry(spec, h, w);
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let weights: Vec<f64> = (0..out_c * in_c * kh * kw).map(|_| rng.random_range(-1.0..1.0)).collect();
            let grad_out: Vec<f64> = (0..batch * geometry.output_len()).map(|_| rng.random_range(-1.0..1.0)).collect();
            let mut want = vec![f64::NAN; batch * geometry.image_len()];
            col2im_input_grad(&weights, true, &grad_out, batch, &geometry, &mut want);
            let mut got = vec![f64::NAN; want.len()];
            direct_input_grad(crate::simd::kernel(), &weights, &grad_out, &geometry, &mut got);
            assert!(got.iter().zip(&want).all(|(a, b)| (a - b).abs() <= 1e-12), "f64");
            let (weights, grad_out): (Vec<f32>, Vec<f32>) =
                (weights.iter().map(|&v| v as f32).collect(), grad_out.iter().map(|&v| v as f32).collect());
            for kernel in Kernel::available() {
                let mut got = vec![f32::NAN; want.len()];
                direct_input_grad(kernel, &weights, &grad_out, &geometry, &mut got);
                let close = |a: f32, b: f64| (f64::from(a) - b).abs() <= 1e-4 * (1.0 + b.abs());
                assert!(got.iter().zip(&want).all(|(&a, &b)| close(a, b)), "{kernel:?}");
            }
        }
    }
}
