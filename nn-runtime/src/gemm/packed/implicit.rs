//! Products whose right-hand operand is never stored as a matrix: implicit GEMM. The
//! caller's [`PackB`] writes each `kc × nr` sliver of `b` straight from where its
//! values lie (a convolution's image), just before the micro-kernel reads it, so the
//! sliver stays in L1 and no im2col matrix goes through memory. The micro-kernels are
//! [`super::matmul_packed`]'s.

use ndarray::{s, ArrayView2, ArrayViewMut2};

use super::{micro_kernel, pack, Blocking, Strided, Tile, PACKING};
use crate::gemm::cache::caches;
use crate::scratch::with_scratch;
use crate::simd::{self, VectorLoop};
use crate::Float;

/// Writes slivers of a `[k, n]` matrix that is not stored.
pub(crate) trait PackB<F> {
    /// Writes `out[p·nr + j] = b[p0 + p][j0 + j]` for `p < kc` and `j < cols`, and zero
    /// for `cols <= j < nr` (`out` has `kc·nr` elements). Implementations mark it
    /// `#[inline(always)]`: it is compiled into each instruction set's version of
    /// [`Sliver`], so that its copies move whole vector registers.
    fn pack(&self, p0: usize, kc: usize, j0: usize, cols: usize, nr: usize, out: &mut [F]);
}

/// One call of [`PackB::pack`], as a [`VectorLoop`] that [`simd::dispatch`] compiles
/// per instruction set.
struct Sliver<'a, P, F> {
    packer: &'a P,
    p0: usize,
    kc: usize,
    j0: usize,
    cols: usize,
    nr: usize,
    out: &'a mut [F],
}

impl<F, P: PackB<F>> VectorLoop for Sliver<'_, P, F> {
    #[inline(always)]
    fn run(self) {
        let Sliver { packer, p0, kc, j0, cols, nr, out } = self;
        packer.pack(p0, kc, j0, cols, nr, out);
    }
}

/// `c = a b + beta · c` on this thread for `a` `[m, k]` (any strides) and the `[k, n]`
/// matrix `b` that `packer` writes, `c` `[m, n]` with contiguous rows. With
/// `beta = 0`, `c` is only written.
///
/// # Panics
/// If the shapes do not chain or `c`'s rows are not contiguous.
pub(crate) fn matmul_packing_b<F: Float>(a: &ArrayView2<F>, packer: &impl PackB<F>, beta: F, c: &mut ArrayViewMut2<F>) {
    let ((m, k), n) = (a.dim(), c.ncols());
    assert_eq!(c.nrows(), m, "matmul_packing_b of [{m}, {k}] into {:?}", c.dim());
    assert!(c.strides()[1] == 1 || n <= 1, "matmul_packing_b writes rows of unit stride");
    if m == 0 || n == 0 {
        return;
    }
    let kernel = micro_kernel::<F>(simd::kernel());
    let (mr, nr) = (kernel.mr, kernel.nr);
    // The depth of a block as the stored products choose it, for this CPU's caches.
    let block_k = Blocking::for_caches(mr, nr, size_of::<F>(), caches()).fit((m, k.max(1), n), mr, nr).kc;
    let depth = block_k.min(k.max(1));
    let padded_m = m.next_multiple_of(mr);
    let (c_rs, c_ptr) = (c.strides()[0], c.as_mut_ptr());
    with_scratch(&PACKING, [padded_m * depth, nr * depth], |[a_packed, b_sliver]: [&mut [F]; 2]| {
        for pc in (0..k).step_by(block_k) {
            let kc = block_k.min(k - pc);
            // The first depth block applies beta; later ones add to it.
            let beta = if pc == 0 { beta } else { F::one() };
            // The whole of `a`'s block, in slivers of `mr` rows: it is read once per sliver of `b`.
            pack(a.slice(s![.., pc..pc + kc]), mr, a_packed);
            for j0 in (0..n).step_by(nr) {
                let cols = nr.min(n - j0);
                let b_sliver = &mut b_sliver[..kc * nr];
                simd::dispatch(Sliver { packer, p0: pc, kc, j0, cols, nr, out: b_sliver });
                for i0 in (0..m).step_by(mr) {
                    let rows = mr.min(m - i0);
                    let a_sliver = Strided { ptr: a_packed[i0 * kc..].as_ptr(), rs: 1, cs: mr as isize };
                    let corner = c_ptr.wrapping_offset(i0 as isize * c_rs + j0 as isize);
                    let out = Tile { ptr: corner, rs: c_rs, rows, cols };
                    // SAFETY: the slivers hold `mr × kc` of `a` and `kc × nr` of `b`, packed and
                    // zero-padded; `out` is rows `i0..i0 + rows`, columns `j0..j0 + cols` of
                    // `c`, which this call borrows mutably, its rows contiguous;
                    // `micro_kernel` checked the CPU.
                    unsafe { (kernel.run)(kc, a_sliver, b_sliver.as_ptr(), nr as isize, out, [F::one(), beta]) };
                }
            }
        }
    });
    if k == 0 {
        c.map_inplace(|c| *c = super::beta_times(beta, *c));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    /// A stored matrix behind the trait.
    struct Stored<F>(Array2<F>);

    impl<F: Float> PackB<F> for Stored<F> {
        #[inline(always)]
        fn pack(&self, p0: usize, kc: usize, j0: usize, cols: usize, nr: usize, out: &mut [F]) {
            for p in 0..kc {
                for j in 0..nr {
                    out[p * nr + j] = if j < cols { self.0[[p0 + p, j0 + j]] } else { F::zero() };
                }
            }
        }
    }

    fn check<F: Float>() {
        let value = |i: usize, j: usize| F::of(((i * 7 + j * 3) % 11) as f64 / 4.0 - 1.0);
        // Depths across a block boundary, rows and columns off the tiles.
        for (m, k, n) in [(6, 25, 892), (16, 300, 37), (1, 3, 5), (9, 1, 33)] {
            let a = Array2::from_shape_fn((m, k), |(i, p)| value(i, p));
            let b = Array2::from_shape_fn((k, n), |(p, j)| value(p + 2, j));
            for beta in [0.0, 0.5] {
                let mut c = Array2::from_elem((m, n), F::of(if beta == 0.0 { f64::NAN } else { 2.0 }));
                matmul_packing_b(&a.view(), &Stored(b.clone()), F::of(beta), &mut c.view_mut());
                let want = a.dot(&b).mapv(|v| v + F::of(beta * 2.0));
                // Quarters and small integers: every sum is exact, in any order.
                assert_eq!(c, want, "[{m}, {k}] x [{k}, {n}], beta {beta}");
            }
        }
    }

    /// f32 runs this CPU's fastest micro-kernel, f64 the portable one.
    #[test]
    fn equals_the_product_of_the_stored_matrix() {
        check::<f32>();
        check::<f64>();
    }
}
