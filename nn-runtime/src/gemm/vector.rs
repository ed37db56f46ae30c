//! Products where one side is a single vector (`c` of one row): dot products or axpys,
//! vectorised, instead of micro-kernel tiles that would be all padding.

use ndarray::{ArrayView1, ArrayView2, ArrayViewMut1};

use super::beta_times;
use crate::simd::{dispatch, VectorLoop};
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
    dispatch(VectorMatrix { alpha, a, b, beta, c });
}

/// The arguments of [`vector_matrix`]: the [`VectorLoop`] that [`dispatch`] compiles per
/// instruction set.
struct VectorMatrix<'v, F> {
    alpha: F,
    a: ArrayView1<'v, F>,
    b: ArrayView2<'v, F>,
    beta: F,
    c: ArrayViewMut1<'v, F>,
}

impl<F: Float> VectorLoop for VectorMatrix<'_, F> {
    #[inline(always)]
    fn run(self) {
        let VectorMatrix { alpha, a, b, beta, mut c } = self;
        let k = a.len();
        if let (Some(a), Some(columns)) = (a.as_slice(), b.t().to_slice()) {
            // `b` is a transposed matrix (columns contiguous, one after the other): one dot
            // product per element of `c`.
            for (c, column) in c.iter_mut().zip(columns.chunks_exact(k)) {
                *c = alpha * dot(a, column) + beta_times(beta, *c);
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

/// `Σ x[p]·y[p]`: with the AVX-512 kernel in two registers of fused multiply-adds,
/// elsewhere in `LANES` interleaved partial sums (which vectorise).
#[inline(always)]
fn dot<F: Float>(x: &[F], y: &[F]) -> F {
    #[cfg(target_arch = "x86_64")]
    if std::any::TypeId::of::<F>() == std::any::TypeId::of::<f32>()
        && crate::simd::kernel() == crate::simd::Kernel::Avx512
    {
        let len = x.len().min(y.len());
        // SAFETY: `F` is `f32` (checked above), `x` and `y` hold at least `len` values, and
        // the CPU has AVX-512F (the kernel in use runs here).
        let sum = unsafe { dot_avx512(x.as_ptr().cast(), y.as_ptr().cast(), len) };
        return F::of(f64::from(sum));
    }
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
