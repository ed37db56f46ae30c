//! The input gradient of a stride-1 `Conv2d` by a direct kernel: `Wᵀ g` added onto the
//! image tap by tap where each tap reads ([`crate::gemm`]'s `scatter_add`, register tiles
//! of taps by columns summed over the output channels), with no `Wᵀ g` matrix stored, no
//! col2im and no GEMM sliver packed. In wide columns (output `(oy, ox)` at `oy·Wp + ox`,
//! gaps of `g` zero) tap `(c, ki, kj)` adds its row of `Wᵀ g` to the padded image's
//! gradient from `(c·Hp + ki)·Wp + kj` on.

use super::{Geometry, SCRATCH};
use crate::gemm::{row_tiles, scatter_add, Scatter, MAX_TAPS};
use crate::scratch::with_scratch;
use crate::simd::{vectorised, Kernel};
use crate::Float;

/// Writes d loss / d x of the batch into `grad_in` (`[batch, in_c, H, W]`, row-major)
/// from `grad_out` (`[batch, out_c, oh, ow]`, row-major) and the finite `weights`
/// (`[out_c, in_c·kh·kw]`, row-major), with `kernel`'s tiles.
pub(super) fn direct_input_grad<F: Float>(
    kernel: Kernel,
    weights: &[F],
    grad_out: &[F],
    geometry: &Geometry,
    grad_in: &mut [F],
) {
    let (out_c, taps, span) = (geometry.out_c, geometry.taps(), geometry.span);
    let (kh, kw) = geometry.window.kernel;
    let (padded_h, padded_w) = geometry.padded_hw();
    let padding = geometry.window.padding != (0, 0);
    let lens = [taps * out_c, out_c * span, if padding { geometry.scratch_len() } else { 0 }];
    with_scratch(&SCRATCH, lens, |[transposed, grads, padded]| {
        // Rows of `Wᵀ` in kernel-position-major order, `(ki, kj, c)`: a tile's taps then lie
        // a plane apart rather than one column, so that a row's loads of the image do not
        // overlap the stores of the row before it, which they wait on. LeNet's second layer
        // (batch 64, AVX2 tiles of three taps, Zen 4): 630 µs, 790–880 in the taps' own order.
        for (i, row) in transposed.chunks_exact_mut(out_c).enumerate() {
            let t = tap_of_row(i, geometry.in_c, kh * kw);
            for (o, value) in row.iter_mut().enumerate() {
                *value = weights[o * taps + t];
            }
        }
        let mut grads = geometry.grads_matrix(span, grads);
        for (g, dx) in grad_out.chunks_exact(geometry.output_len()).zip(grad_in.chunks_exact_mut(geometry.image_len()))
        {
            vectorised(
                #[inline(always)]
                || geometry.gather_grads(g, &mut grads, None),
            );
            let grads = grads.as_slice().expect("scratch is contiguous");
            // Without padding the padded image is the image: added onto in place.
            let image = if padding { &mut *padded } else { &mut *dx };
            image.fill(F::zero());
            for (t0, rows) in row_tiles(kernel, taps) {
                let mut offsets = [0; MAX_TAPS];
                for (r, offset) in offsets.iter_mut().enumerate().take(rows) {
                    let (t, kernel_len) = (tap_of_row(t0 + r, geometry.in_c, kh * kw), kh * kw);
                    let (c, ki, kj) = (t / kernel_len, t % kernel_len / kw, t % kw);
                    *offset = (c * padded_h + ki) * padded_w + kj;
                }
                let s = Scatter { weights: &transposed[t0 * out_c..], grads, out_c, span };
                scatter_add(kernel, s, &offsets[..rows], image);
            }
            if padding {
                let (padded, w) = (&*padded, geometry.window.in_hw.1);
                vectorised(
                    #[inline(always)]
                    || {
                        geometry.for_each_padded_row(|row, start| {
                            dx[row * w..][..w].copy_from_slice(&padded[start..start + w]);
                        })
                    },
                );
            }
        }
    });
}

/// The tap `(c, ki, kj)`, as its index `c·kh·kw + ki·kw + kj` among the weights' taps,
/// of row `i` of `Wᵀ` in kernel-position-major order (`i = (ki·kw + kj)·in_c + c`).
fn tap_of_row(i: usize, in_c: usize, kernel_len: usize) -> usize {
    i % in_c * kernel_len + i / in_c
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
