//! Matrix-vector product of a frozen `Linear` layer.

use crate::Float;

/// Outputs computed together: their accumulators stay in registers while the kernel
/// streams the weights once, so a block is half the vector register file (AVX-512:
/// 16 of 32 zmm registers; AVX2 and SSE2: 8 of 16 ymm or xmm; NEON: 8 of 32 q
/// registers). The block size changes speed only, never results: every output is
/// summed as `bias + w[0]x[0] + w[1]x[1] + ...` in that order on every target.
#[cfg(all(target_arch = "x86_64", target_feature = "avx512f"))]
const BLOCK: usize = 256;
#[cfg(all(target_arch = "x86_64", target_feature = "avx2", not(target_feature = "avx512f")))]
const BLOCK: usize = 64;
#[cfg(any(all(target_arch = "x86_64", not(target_feature = "avx2")), target_arch = "aarch64"))]
const BLOCK: usize = 32;
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const BLOCK: usize = 16;

/// `y = W x + b` into `y`, with the weight stored input-major (`weight[i][o]`, PyTorch's
/// `[out, in]` transposed) so the inner loop is a vectorisable axpy over outputs.
#[inline]
pub fn dense_into<F: Float, const IN: usize, const OUT: usize>(
    weight: &[[F; OUT]; IN],
    bias: Option<&[F; OUT]>,
    x: &[F; IN],
    y: &mut [F; OUT],
) {
    *y = match bias {
        Some(bias) => *bias,
        None => [F::zero(); OUT],
    };
    if OUT <= BLOCK {
        // A layer narrower than a block is one block of exactly its width.
        accumulate_block::<F, OUT>(weight, x, 0, y);
        return;
    }
    let mut start = 0;
    while start + BLOCK <= OUT {
        accumulate_block::<F, BLOCK>(weight, x, start, &mut y[start..start + BLOCK]);
        start += BLOCK;
    }
    let tail = OUT - start;
    if tail > 0 {
        for (row, &xi) in weight.iter().zip(x) {
            for (acc, &w) in y[start..].iter_mut().zip(&row[start..]) {
                *acc += w * xi;
            }
        }
    }
}

/// Adds `Σ_i weight[i][start..start+B] * x[i]` into `out` (`B` outputs), in input order.
#[inline(always)]
fn accumulate_block<F: Float, const B: usize>(weight: &[impl AsRef<[F]>], x: &[F], start: usize, out: &mut [F]) {
    let mut acc: [F; B] = out.try_into().expect("block of B outputs");
    for (row, &xi) in weight.iter().zip(x) {
        let w: &[F; B] = row.as_ref()[start..start + B].try_into().expect("block of B weights");
        for k in 0..B {
            acc[k] += w[k] * xi;
        }
    }
    out.copy_from_slice(&acc);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every output is `bias + Σ w x` summed in input order, whatever the block size.
    #[test]
    fn matches_sequential_sum_for_blocks_and_tail() {
        const IN: usize = 5;
        const OUT: usize = BLOCK + 3;
        let mut weight = [[0.0f32; OUT]; IN];
        for (i, row) in weight.iter_mut().enumerate() {
            for (o, w) in row.iter_mut().enumerate() {
                *w = ((i * 31 + o * 7) % 13) as f32 * 0.37 - 2.0;
            }
        }
        let bias: [f32; OUT] = core::array::from_fn(|o| o as f32 * 0.1);
        let x = [0.3f32, -1.2, 2.5, 0.01, -0.7];
        let mut y = [f32::NAN; OUT];
        dense_into(&weight, Some(&bias), &x, &mut y);
        for o in 0..OUT {
            let mut want = bias[o];
            for i in 0..IN {
                want += weight[i][o] * x[i];
            }
            assert_eq!(y[o].to_bits(), want.to_bits(), "output {o}");
        }
        dense_into(&weight, None, &x, &mut y);
        assert_eq!(y[0].to_bits(), (0..IN).fold(0.0f32, |a, i| a + weight[i][0] * x[i]).to_bits());
    }
}
