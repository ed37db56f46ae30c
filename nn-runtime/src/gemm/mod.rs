//! Matrix products: every one goes through [`matmul`], a blocked product with
//! register-tiled micro-kernels (AVX-512, AVX2 + FMA or NEON for f32, chosen at run time;
//! portable code otherwise) and block sizes taken from the CPU's caches, whose packing
//! buffers are kept per thread, so repeated products allocate nothing (the `gemm` and
//! matrixmultiply crates allocate inside every call, and offer no way to pass buffers
//! in). [`set_num_threads`] (or `NN_NUM_THREADS`) splits large products across threads;
//! [`force_kernel`] (or `NN_GEMM_KERNEL=avx512|avx2|neon|portable`) chooses the kernel.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use ndarray::{ArrayView2, ArrayViewMut2, Axis};

pub use crate::simd::{force_kernel, kernel, Kernel};
use crate::Float;
pub(crate) use packed::direct::{correlate, row_tiles, Correlation};
pub(crate) use packed::dots::{shifted_dots, Shifted, MAX_ROWS, MAX_SHIFTS};
use packed::matmul_packed;
pub(crate) use packed::scatter::{scatter_add, Scatter, MAX_TAPS};
use vector::vector_matrix;

mod cache;
mod packed;
mod vector;

/// The fewest multiply-accumulates a product needs before it is split across threads:
/// below it, handing the pieces to other threads costs more than it saves (LeNet's
/// per-chunk convolution products, of 0.4M to 3M, ran slower on 2 threads than on 1).
const PARALLEL_MIN_MACS: usize = 1 << 22;

/// Bands of a split product are a multiple of this many rows or columns, a multiple of
/// the GEMM kernels' register tiles.
const BAND_MULTIPLE: usize = 16;

/// Threads set by [`set_num_threads`]; 0 means "not set, read `NN_NUM_THREADS`".
static THREADS: AtomicUsize = AtomicUsize::new(0);

/// Sets how many threads matrix products may use (at least 1).
pub fn set_num_threads(threads: usize) {
    THREADS.store(threads.max(1), Ordering::Relaxed);
}

/// How many threads matrix products use: [`set_num_threads`], else the
/// `NN_NUM_THREADS` environment variable, else 1.
pub fn num_threads() -> usize {
    static FROM_ENV: OnceLock<usize> = OnceLock::new();
    match THREADS.load(Ordering::Relaxed) {
        0 => *FROM_ENV.get_or_init(|| {
            std::env::var("NN_NUM_THREADS").ok().and_then(|v| v.parse().ok()).filter(|&n| n > 0).unwrap_or(1)
        }),
        n => n,
    }
}

/// `c = alpha · a b + beta · c` for `a` `[m, k]`, `b` `[k, n]`, `c` `[m, n]`, any strides
/// (a transposed view costs nothing). With `beta = 0`, `c` is only written.
///
/// # Panics
/// If the shapes do not chain.
pub fn matmul<F: Float>(alpha: F, a: &ArrayView2<F>, b: &ArrayView2<F>, beta: F, c: &mut ArrayViewMut2<F>) {
    let ((m, k), (k2, n)) = (a.dim(), b.dim());
    assert!(k == k2 && c.dim() == (m, n), "matmul of [{m}, {k}] by [{k2}, {n}] into {:?}", c.dim());
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        return c.map_inplace(|c| *c = beta_times(beta, *c));
    }
    // One row or one column of `c`: dot products or axpys (`cᵀ = bᵀ aᵀ` for a column).
    if m == 1 {
        return vector_matrix(alpha, a.row(0), b.view(), beta, c.row_mut(0));
    }
    if n == 1 {
        return vector_matrix(alpha, b.column(0), a.t(), beta, c.column_mut(0));
    }
    let threads = num_threads();
    if threads == 1 || m * n * k < PARALLEL_MIN_MACS {
        return matmul_packed(alpha, a, b, beta, c);
    }
    // One product per thread, each on its own band of the longer side of `c`.
    let rows = m >= n;
    let band = (if rows { m } else { n }).div_ceil(threads).next_multiple_of(BAND_MULTIPLE);
    rayon::scope(|scope| {
        if rows {
            for (a, mut c) in a.axis_chunks_iter(Axis(0), band).zip(c.axis_chunks_iter_mut(Axis(0), band)) {
                scope.spawn(move |_| matmul_packed(alpha, &a, b, beta, &mut c));
            }
        } else {
            for (b, mut c) in b.axis_chunks_iter(Axis(1), band).zip(c.axis_chunks_iter_mut(Axis(1), band)) {
                scope.spawn(move |_| matmul_packed(alpha, a, &b, beta, &mut c));
            }
        }
    });
}

/// `beta · c`, or zero where `beta` is zero without reading `c` (as BLAS does: with
/// `beta = 0` the destination's old contents, NaN included, never reach the result).
#[inline(always)]
fn beta_times<F: Float>(beta: F, c: F) -> F {
    if beta == F::zero() {
        F::zero()
    } else {
        beta * c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, s, Array2};

    #[test]
    fn multiplies_views_of_any_strides_and_accumulates() {
        let a = array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
        let b = array![[1.0, 0.5], [-1.0, 2.0], [0.0, 1.0]];
        let mut c = Array2::from_elem((2, 2), 10.0);
        matmul(1.0, &a.view(), &b.view(), 0.0, &mut c.view_mut());
        assert_eq!(c, array![[-1.0, 7.5], [-1.0, 18.0]]);
        matmul(2.0, &a.view(), &b.view(), 1.0, &mut c.view_mut());
        assert_eq!(c, array![[-3.0, 22.5], [-3.0, 54.0]]);
        let mut ct = Array2::zeros((2, 2));
        matmul(1.0, &b.t(), &a.t(), 0.0, &mut ct.view_mut());
        assert_eq!(ct, array![[-1.0, -1.0], [7.5, 18.0]], "(ab)ᵀ = bᵀaᵀ through transposed views");
        let mut ct_view = Array2::<f64>::zeros((2, 2));
        matmul(1.0, &a.view(), &b.view(), 0.0, &mut ct_view.view_mut().reversed_axes());
        assert_eq!(ct_view.t(), array![[-1.0, 7.5], [-1.0, 18.0]], "a transposed destination");
    }

    #[test]
    fn products_split_across_threads_equal_the_serial_product() {
        // Above `PARALLEL_MIN_MACS`: split by rows when `m >= n`, by columns otherwise.
        for (m, k, n) in [(256, 128, 160), (96, 160, 512)] {
            assert!(m * n * k >= PARALLEL_MIN_MACS);
            let a = Array2::from_shape_fn((m, k), |(i, j)| ((i * 7 + j * 3) % 11) as f64 - 5.0);
            let b = Array2::from_shape_fn((k, n), |(i, j)| ((i * 5 + j) % 13) as f64 * 0.25);
            let mut c = Array2::from_elem((m, n), 1.0);
            set_num_threads(3);
            matmul(2.0, &a.view(), &b.view(), 0.5, &mut c.view_mut());
            set_num_threads(1);
            // Small integers and quarters: every sum is exact, in any order.
            assert_eq!(c, a.dot(&b) * 2.0 + 0.5, "[{m}, {k}] by [{k}, {n}]");
        }
    }

    #[test]
    fn products_with_one_row_or_one_column_match_the_definition() {
        let value = |i: usize, j: usize| ((i * 13 + j * 7) % 17) as f64 / 4.0 - 2.0;
        for (m, k, n) in [(1, 37, 70), (1, 100, 1), (45, 66, 1), (1, 1, 5)] {
            for transposed in [false, true] {
                let a = Array2::from_shape_fn((m, k), |(i, p)| value(i, p));
                let b = if transposed {
                    Array2::from_shape_fn((n, k), |(j, p)| value(p, j + 3)).reversed_axes()
                } else {
                    Array2::from_shape_fn((k, n), |(p, j)| value(p, j + 3))
                };
                for (alpha, beta) in [(1.0, 0.0), (-0.5, 2.0)] {
                    let mut c = Array2::from_elem((m, n), if beta == 0.0 { f64::NAN } else { 1.5 });
                    let want = a.dot(&b) * alpha + if beta == 0.0 { 0.0 } else { beta * 1.5 };
                    matmul(alpha, &a.view(), &b.view(), beta, &mut c.view_mut());
                    // Quarters and small integers: every sum is exact, in any order.
                    assert_eq!(c, want, "[{m}, {k}] x [{k}, {n}], b transposed: {transposed}, beta {beta}");
                }
            }
        }
    }

    #[test]
    fn views_with_negative_strides_multiply_like_their_copies() {
        let value = |i: usize, j: usize| ((i * 5 + j * 3) % 7) as f64 - 3.0;
        let a = Array2::from_shape_fn((19, 40), |(i, p)| value(i, p));
        let b = Array2::from_shape_fn((40, 45), |(p, j)| value(p + 1, j));
        let (a_rev, b_rev) = (a.slice(s![..;-1, ..]), b.slice(s![.., ..;-1]));
        let mut c = Array2::zeros((19, 45));
        matmul(1.0, &a_rev, &b_rev, 0.0, &mut c.slice_mut(s![..;-1, ..]));
        assert_eq!(c.slice(s![..;-1, ..]), a_rev.to_owned().dot(&b_rev.to_owned()));
    }

    #[test]
    fn empty_inner_dimension_scales_the_destination() {
        for (m, n) in [(2, 3), (1, 3), (2, 1)] {
            let (a, b) = (Array2::<f32>::zeros((m, 0)), Array2::<f32>::zeros((0, n)));
            let mut c = Array2::from_elem((m, n), 2.0);
            matmul(1.0, &a.view(), &b.view(), 0.5, &mut c.view_mut());
            assert_eq!(c, Array2::from_elem((m, n), 1.0), "[{m}, 0] x [0, {n}]");
        }
    }
}
