//! Products where one side is a single vector (`c` of one row): dot products or axpys,
//! vectorised, instead of micro-kernel tiles that would be all padding.

use ndarray::{ArrayView1, ArrayView2, ArrayViewMut1};

use super::beta_times;
use crate::simd::{dispatch_on, kernel, Kernel, VectorLoop};
use crate::Float;

/// Interleaved partial sums of a portable dot product: two AVX-512 registers of f32.
const LANES: usize = 32;

/// `c = alpha · a b + beta · c` for a row vector `a` (`[k]`, `k > 0`) and `b` (`[k, n]`), on this
/// thread; with `beta = 0`, `c` is only written.
pub(super) fn vector_matrix<'v, F: Float>(
    alpha: F,
    a: ArrayView1<'v, F>,
    b: ArrayView2<'v, F>,
    beta: F,
    c: ArrayViewMut1<'v, F>,
) {
    vector_matrix_on(kernel(), alpha, a, b, beta, c);
}

/// [`vector_matrix`] on `kernel`'s instruction set, which this CPU runs.
fn vector_matrix_on<'v, F: Float>(
    kernel: Kernel,
    alpha: F,
    a: ArrayView1<'v, F>,
    b: ArrayView2<'v, F>,
    beta: F,
    c: ArrayViewMut1<'v, F>,
) {
    dispatch_on(kernel, VectorMatrix { kernel, alpha, a, b, beta, c });
}

/// The arguments of [`vector_matrix`] and the kernel it runs on: the [`VectorLoop`] that
/// [`dispatch_on`] compiles per instruction set.
struct VectorMatrix<'v, F> {
    kernel: Kernel,
    alpha: F,
    a: ArrayView1<'v, F>,
    b: ArrayView2<'v, F>,
    beta: F,
    c: ArrayViewMut1<'v, F>,
}

impl<F: Float> VectorLoop for VectorMatrix<'_, F> {
    #[inline(always)]
    fn run(self) {
        let VectorMatrix { kernel, alpha, a, b, beta, mut c } = self;
        let k = a.len();
        if let (Some(a), Some(columns)) = (a.as_slice(), b.t().to_slice()) {
            // `b` is a transposed matrix (columns contiguous, one after the other): one dot
            // product per element of `c`.
            for (c, column) in c.iter_mut().zip(columns.chunks_exact(k)) {
                *c = alpha * dot(kernel, a, column) + beta_times(beta, *c);
            }
            return;
        }
        // Otherwise `c` gathers `alpha · a[p] · b[p, ..]`, row by row.
        c.map_inplace(|c| *c = beta_times(beta, *c));
        for (&a, row) in a.iter().zip(b.rows()) {
            let a = alpha * a;
            match (c.as_slice_mut(), row.to_slice()) {
                (Some(c), Some(row)) => c.iter_mut().zip(row).for_each(|(c, &b)| *c += a * b),
                _ => c.iter_mut().zip(&row).for_each(|(c, &b)| *c += a * b),
            }
        }
    }
}

/// `Σ x[p]·y[p]`: with the AVX-512 or AVX2 kernel in two registers of fused
/// multiply-adds, elsewhere in `LANES` interleaved partial sums (which vectorise).
#[inline(always)]
fn dot<F: Float>(kernel: Kernel, x: &[F], y: &[F]) -> F {
    #[cfg(target_arch = "x86_64")]
    if std::any::TypeId::of::<F>() == std::any::TypeId::of::<f32>() && matches!(kernel, Kernel::Avx512 | Kernel::Avx2) {
        let len = x.len().min(y.len());
        let (x, y) = (x.as_ptr().cast(), y.as_ptr().cast());
        // SAFETY: `F` is `f32` (checked above), `x` and `y` hold at least `len` values, and
        // the CPU has the kernel's instructions (the caller's kernel runs here).
        let sum = unsafe {
            match kernel {
                Kernel::Avx512 => dot_avx512(x, y, len),
                _ => dot_avx2(x, y, len),
            }
        };
        return F::of(f64::from(sum));
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = kernel;
    let mut partial = [F::zero(); LANES];
    let (x_chunks, y_chunks) = (x.chunks_exact(LANES), y.chunks_exact(LANES));
    let tail = x_chunks.remainder().iter().zip(y_chunks.remainder()).fold(F::zero(), |sum, (&x, &y)| sum + x * y);
    for (x, y) in x_chunks.zip(y_chunks) {
        for ((sum, &x), &y) in partial.iter_mut().zip(x).zip(y) {
            *sum += x * y;
        }
    }
    partial.iter().fold(tail, |sum, &p| sum + p)
}

/// `Σ x[p]·y[p]` over `len` values, with AVX-512F.
///
/// # Safety
/// `x` and `y` hold `len` values each; the CPU has AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn dot_avx512(x: *const f32, y: *const f32, len: usize) -> f32 {
    use core::arch::x86_64::*;
    let (mut even, mut odd) = (_mm512_setzero_ps(), _mm512_setzero_ps());
    let mut i = 0;
    // SAFETY (every block): the loads cover `i..i + 32` or, masked, `i..len`, within `len`.
    while i + 32 <= len {
        unsafe {
            even = _mm512_fmadd_ps(_mm512_loadu_ps(x.add(i)), _mm512_loadu_ps(y.add(i)), even);
            odd = _mm512_fmadd_ps(_mm512_loadu_ps(x.add(i + 16)), _mm512_loadu_ps(y.add(i + 16)), odd);
        }
        i += 32;
    }
    while i < len {
        let lanes = (len - i).min(16);
        let mask = ((1u32 << lanes) - 1) as __mmask16;
        unsafe {
            even = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, x.add(i)), _mm512_maskz_loadu_ps(mask, y.add(i)), even);
        }
        i += lanes;
    }
    _mm512_reduce_add_ps(_mm512_add_ps(even, odd))
}

/// `Σ x[p]·y[p]` over `len` values, with AVX2 and FMA.
///
/// # Safety
/// `x` and `y` hold `len` values each; the CPU has AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot_avx2(x: *const f32, y: *const f32, len: usize) -> f32 {
    use core::arch::x86_64::*;
    let (mut even, mut odd) = (_mm256_setzero_ps(), _mm256_setzero_ps());
    let mut i = 0;
    // SAFETY (every block): the loads cover `i..i + 16` or, masked, `i..len`, within `len`.
    while i + 16 <= len {
        unsafe {
            even = _mm256_fmadd_ps(_mm256_loadu_ps(x.add(i)), _mm256_loadu_ps(y.add(i)), even);
            odd = _mm256_fmadd_ps(_mm256_loadu_ps(x.add(i + 8)), _mm256_loadu_ps(y.add(i + 8)), odd);
        }
        i += 16;
    }
    while i < len {
        let lanes = (len - i).min(8);
        let mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(lanes as i32), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        unsafe {
            even = _mm256_fmadd_ps(_mm256_maskload_ps(x.add(i), mask), _mm256_maskload_ps(y.add(i), mask), even);
        }
        i += lanes;
    }
    let sum = _mm256_add_ps(even, odd);
    let half = _mm_add_ps(_mm256_castps256_ps128(sum), _mm256_extractf128_ps::<1>(sum));
    let pairs = _mm_add_ps(half, _mm_movehl_ps(half, half));
    _mm_cvtss_f32(_mm_add_ss(pairs, _mm_shuffle_ps::<1>(pairs, pairs)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, Array2};

    #[test]
    fn every_kernel_of_this_cpu_multiplies_a_vector_as_the_definition() {
        // Quarters and small integers: every sum is exact in f32, in any order.
        let value = |i: usize| ((i * 7 % 9) as f32 - 4.0) / 4.0;
        for kernel in Kernel::available() {
            for k in [1, 5, 8, 15, 16, 17, 40, 100] {
                let a = Array1::from_shape_fn(k, value);
                let columns = Array2::from_shape_fn((3, k), |(j, p)| value(p * 3 + j + 1));
                let want: Vec<f32> =
                    (0..3).map(|j| 0.5 * (0..k).map(|p| a[p] * columns[[j, p]]).sum::<f32>() + 2.0).collect();
                for b in [columns.t(), columns.t().as_standard_layout().view()] {
                    let mut c = Array1::from_elem(3, 4.0);
                    vector_matrix_on(kernel, 0.5, a.view(), b.view(), 0.5, c.view_mut());
                    assert_eq!(c.to_vec(), want, "{kernel}: k = {k}, b contiguous along {:?}", b.strides());
                }
            }
        }
    }
}
