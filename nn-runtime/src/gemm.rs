//! Matrix products: every one goes through [`matmul`], one call of the `gemm` crate
//! (AVX-512/AVX2/NEON kernels, packing buffers kept per thread, so repeated products
//! allocate nothing). [`set_num_threads`] (or `NN_NUM_THREADS`) lets it use more cores.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use gemm::Parallelism;
use ndarray::{ArrayView2, ArrayViewMut2};

use crate::Float;

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
    let parallelism = match num_threads() {
        1 => Parallelism::None,
        threads => Parallelism::Rayon(threads),
    };
    let ([a_rs, a_cs], [b_rs, b_cs], [c_rs, c_cs]) =
        ([a.strides()[0], a.strides()[1]], [b.strides()[0], b.strides()[1]], [c.strides()[0], c.strides()[1]]);
    // SAFETY: the pointers and strides describe the three views, whose shapes were
    // checked above; `c` is borrowed mutably, so it aliases neither `a` nor `b`. The
    // `gemm` crate computes `dst = alpha·dst + beta·lhs·rhs`: its alpha is our beta.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            c_cs,
            c_rs,
            beta != F::zero(),
            a.as_ptr(),
            a_cs,
            a_rs,
            b.as_ptr(),
            b_cs,
            b_rs,
            beta,
            alpha,
            false,
            false,
            false,
            parallelism,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array2};

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
    fn empty_inner_dimension_scales_the_destination() {
        let (a, b) = (Array2::<f32>::zeros((2, 0)), Array2::<f32>::zeros((0, 3)));
        let mut c = Array2::from_elem((2, 3), 2.0);
        matmul(1.0, &a.view(), &b.view(), 0.5, &mut c.view_mut());
        assert_eq!(c, Array2::from_elem((2, 3), 1.0));
    }
}
