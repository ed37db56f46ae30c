//! One thread's matrix product, blocked as in BLIS (Goto's algorithm): a register-tiled
//! micro-kernel multiplies an `MR`-row sliver of `a` by an `NR`-column sliver of `b` over
//! a depth of `KC`, in `MC × NC` blocks of the output. The kernel reads `a` where it
//! lies and `b` where its rows are contiguous; what it cannot read in place (a `b` of
//! strided rows, the partial slivers at the edges) is copied, zero-padded, into packing
//! buffers that are this thread's, kept from one product to the next, so a product
//! allocates nothing once they have grown (the `gemm` and matrixmultiply crates
//! allocate their packing buffers inside every call).

use std::any::TypeId;
use std::cell::RefCell;

use ndarray::{s, ArrayView2, ArrayViewMut2, Axis};

use super::beta_times;
use crate::scratch::{with_scratch, Scratch};
use crate::Float;

pub(crate) mod implicit;

/// Depth of a block: the micro-kernel's loop length.
const KC: usize = 256;
/// Rows of `a` per block (`MC × KC` stays in L2).
const MC: usize = 128;
/// Columns of `b` per block (`KC × NC` stays in L2).
const NC: usize = 1024;
/// The most rows of any micro-kernel's tile.
const MAX_MR: usize = 8;
/// The largest tile of any micro-kernel, `MR · NR`.
const MAX_TILE: usize = MAX_MR * 32;

thread_local! {
    /// This thread's packing buffers: a scratch of its own, because convolutions call
    /// [`matmul_packed`] while they hold theirs.
    static PACKING: RefCell<Scratch> = const { RefCell::new(Vec::new()) };
}

/// A register-tiled micro-kernel: `out = alpha · a b + beta · out` over a depth of `kc`,
/// where `a[i][p]` is at `a + i·a_rs + p·a_cs` (`mr` rows) and `b[p][j]` at
/// `b + p·b_rs + j` (`nr` contiguous columns). It computes the whole `mr × nr` tile and
/// writes the `out.rows × out.cols` corner of it; `out` is not read where `beta` is zero.
#[derive(Clone, Copy)]
struct MicroKernel<F> {
    mr: usize,
    nr: usize,
    /// # Safety
    /// Every address above is readable (and writable for `out`), and the CPU has the
    /// instructions the kernel was compiled for.
    run: KernelFn<F>,
}

/// A micro-kernel's code: `(kc, a, b, b_rs, out, [alpha, beta])`, as [`MicroKernel`] says.
type KernelFn<F> = unsafe fn(usize, Strided<F>, *const F, isize, Tile<F>, [F; 2]);

/// Where a micro-kernel writes: element `[i][j]` at `ptr + i·rs + j`, for `i < rows`
/// and `j < cols`.
#[derive(Clone, Copy)]
struct Tile<F> {
    ptr: *mut F,
    rs: isize,
    rows: usize,
    cols: usize,
}

/// Where a micro-kernel reads `a`: element `[i][p]` at `ptr + i·rs + p·cs`.
#[derive(Clone, Copy)]
struct Strided<F> {
    ptr: *const F,
    rs: isize,
    cs: isize,
}

/// `c = alpha · a b + beta · c` on this thread (shapes checked by the caller, `k > 0`);
/// with `beta = 0`, `c` is only written.
///
/// The micro-kernel reads `a` where it lies, at any strides, and `b` where its rows are
/// contiguous; otherwise `b`'s block is packed first. Of `c = a b` and `cᵀ = bᵀ aᵀ`, the
/// orientation of the lower estimated cost is computed.
pub(super) fn matmul_packed<F: Float>(
    alpha: F,
    a: &ArrayView2<F>,
    b: &ArrayView2<F>,
    beta: F,
    c: &mut ArrayViewMut2<F>,
) {
    let ((m, k), n) = (a.dim(), b.ncols());
    let kernel = micro_kernel::<F>();
    // Cycles, roughly, of `rows × cols` by `k` in one orientation: the tiles' fused
    // multiply-adds (padded to `mr × nr`, two vector registers a cycle), a cycle per value
    // copied into a packed sliver, and two per value stored where `c`'s rows are strided.
    let cost = |rows: usize, cols: usize, packs: bool, strided_c: bool| {
        let tiles = rows.next_multiple_of(kernel.mr) * cols.next_multiple_of(kernel.nr) * k / kernel.nr;
        let packing = if packs { k * cols } else { 0 };
        let storing = if strided_c { 2 * rows * cols * k.div_ceil(KC) } else { 0 };
        tiles + packing + storing
    };
    let (a_rs, b_cs) = (a.strides()[0], b.strides()[1]);
    let (c_rs, c_cs) = (c.strides()[0], c.strides()[1]);
    let transpose = cost(n, m, a_rs != 1, c_rs != 1) < cost(m, n, b_cs != 1, c_cs != 1);
    if transpose {
        blocked(kernel, alpha, &b.t(), &a.t(), beta, &mut c.view_mut().reversed_axes());
    } else {
        blocked(kernel, alpha, a, b, beta, c);
    }
}

/// The blocked loops of [`matmul_packed`] in one orientation.
fn blocked<F: Float>(
    kernel: MicroKernel<F>,
    alpha: F,
    a: &ArrayView2<F>,
    b: &ArrayView2<F>,
    beta: F,
    c: &mut ArrayViewMut2<F>,
) {
    let ((m, k), n) = (a.dim(), b.ncols());
    let (mr, nr) = (kernel.mr, kernel.nr);
    let [a_rs, a_cs] = [a.strides()[0], a.strides()[1]];
    let [b_rs, b_cs] = [b.strides()[0], b.strides()[1]];
    let [c_rs, c_cs] = [c.strides()[0], c.strides()[1]];
    let depth = KC.min(k);
    // Packed: the last, partial sliver of `a`'s rows; `b`'s block (or only its last,
    // partial sliver, when its rows are contiguous).
    let b_len = if b_cs == 1 { nr } else { NC.min(n).next_multiple_of(nr) };
    let lens = [MAX_MR * depth, b_len * depth];
    let (a_ptr, b_ptr, c_ptr) = (a.as_ptr(), b.as_ptr(), c.as_mut_ptr());
    with_scratch(&PACKING, lens, |[a_tail, b_packed]: [&mut [F]; 2]| {
        let mut tile = [F::zero(); MAX_TILE];
        for jc in (0..n).step_by(NC) {
            let nc = NC.min(n - jc);
            for pc in (0..k).step_by(KC) {
                let kc = KC.min(k - pc);
                // The first depth block applies beta; later ones add to it.
                let beta = if pc == 0 { beta } else { F::one() };
                // `b`'s block is packed unless its rows are contiguous; then only its last,
                // partial sliver is (into the front of `b_packed`).
                let b_tail = nc / nr * nr;
                if b_cs != 1 {
                    pack(b.slice(s![pc..pc + kc, jc..jc + nc]).t(), nr, b_packed);
                } else if b_tail < nc {
                    pack(b.slice(s![pc..pc + kc, jc + b_tail..jc + nc]).t(), nr, b_packed);
                }
                for ic in (0..m).step_by(MC) {
                    let mc = MC.min(m - ic);
                    // `a` is read where it lies, but for its last, partial sliver.
                    let a_tail_row = mc / mr * mr;
                    if a_tail_row < mc {
                        pack(a.slice(s![ic + a_tail_row..ic + mc, pc..pc + kc]), mr, a_tail);
                    }
                    for jr in (0..nc).step_by(nr) {
                        let (j0, cols) = (jc + jr, nr.min(nc - jr));
                        let (b_sliver, b_stride) = if b_cs != 1 {
                            (b_packed[jr * kc..].as_ptr(), nr as isize)
                        } else if cols == nr {
                            (b_ptr.wrapping_offset(pc as isize * b_rs + j0 as isize), b_rs)
                        } else {
                            (b_packed.as_ptr(), nr as isize)
                        };
                        for ir in (0..mc).step_by(mr) {
                            let (i0, rows) = (ic + ir, mr.min(mc - ir));
                            let a_sliver = if rows == mr {
                                let ptr = a_ptr.wrapping_offset(i0 as isize * a_rs + pc as isize * a_cs);
                                Strided { ptr, rs: a_rs, cs: a_cs }
                            } else {
                                Strided { ptr: a_tail.as_ptr(), rs: 1, cs: mr as isize }
                            };
                            let corner = c_ptr.wrapping_offset(i0 as isize * c_rs + j0 as isize * c_cs);
                            if c_cs == 1 {
                                let out = Tile { ptr: corner, rs: c_rs, rows, cols };
                                // SAFETY: the slivers cover `rows × kc` of `a` and `kc × cols` of
                                // `b`, in place or packed (zero-padded to `mr` and `nr`); `out`
                                // is rows `i0..i0 + rows`, columns `j0..j0 + cols` of `c`, which
                                // this call borrows mutably; `micro_kernel` checked the CPU.
                                unsafe { (kernel.run)(kc, a_sliver, b_sliver, b_stride, out, [alpha, beta]) };
                                continue;
                            }
                            // `c`'s rows are not contiguous: the tile goes through `tile`.
                            let out = Tile { ptr: tile.as_mut_ptr(), rs: nr as isize, rows: mr, cols: nr };
                            // SAFETY: as above, with the whole tile written into `tile`
                            // (`MAX_TILE >= mr·nr`).
                            unsafe { (kernel.run)(kc, a_sliver, b_sliver, b_stride, out, [F::one(), F::zero()]) };
                            for (i, tile_row) in tile.chunks_exact(nr).take(rows).enumerate() {
                                for (j, &t) in tile_row[..cols].iter().enumerate() {
                                    // SAFETY: `i < rows` and `j < cols`: an element of `c`.
                                    let c = unsafe { &mut *corner.offset(i as isize * c_rs + j as isize * c_cs) };
                                    *c = alpha * t + beta_times(beta, *c);
                                }
                            }
                        }
                    }
                }
            }
        }
    });
}

/// Copies the rows of `x` (`[rows, depth]`) into slivers of `r` rows, each stored
/// depth-major (`[depth][r]`), the last zero-padded to `r` rows. Reads go along
/// whichever axis of `x` is contiguous.
fn pack<F: Float>(x: ArrayView2<F>, r: usize, packed: &mut [F]) {
    let depth = x.ncols();
    for (sliver, out) in x.axis_chunks_iter(Axis(0), r).zip(packed.chunks_exact_mut(r * depth)) {
        let rows = sliver.nrows();
        if rows < r {
            out.fill(F::zero());
        }
        if sliver.strides()[1] == 1 {
            for (i, row) in sliver.rows().into_iter().enumerate() {
                let row = row.to_slice().expect("a row of unit stride");
                for (p, &value) in row.iter().enumerate() {
                    out[p * r + i] = value;
                }
            }
        } else {
            for (column, out) in sliver.columns().into_iter().zip(out.chunks_exact_mut(r)) {
                for (slot, &value) in out[..rows].iter_mut().zip(&column) {
                    *slot = value;
                }
            }
        }
    }
}

/// The micro-kernels for `F` this CPU runs, fastest first: AVX-512F, AVX2 + FMA (both
/// f32 only), and the portable one, which always runs.
fn micro_kernels<F: Float>() -> [Option<MicroKernel<F>>; 3] {
    let portable = Some(MicroKernel { mr: 4, nr: 8, run: portable_4x8::<F> });
    #[cfg(target_arch = "x86_64")]
    if TypeId::of::<F>() == TypeId::of::<f32>() {
        let avx512 = std::is_x86_feature_detected!("avx512f").then_some(MicroKernel::<f32> {
            mr: 8,
            nr: 32,
            run: x86::avx512_8x32,
        });
        let avx2 = (std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma"))
            .then_some(MicroKernel::<f32> { mr: 6, nr: 16, run: x86::avx2_6x16 });
        // SAFETY: `F` is `f32` (checked above), so the two types are the same.
        let [avx512, avx2] = [avx512, avx2]
            .map(|kernel| unsafe { std::mem::transmute::<Option<MicroKernel<f32>>, Option<MicroKernel<F>>>(kernel) });
        return [avx512, avx2, portable];
    }
    [None, None, portable]
}

/// The fastest micro-kernel for `F` on this CPU.
fn micro_kernel<F: Float>() -> MicroKernel<F> {
    micro_kernels::<F>().into_iter().flatten().next().expect("the portable kernel runs everywhere")
}

/// The portable micro-kernel, `4 × 8`, for any scalar and target.
///
/// # Safety
/// As [`MicroKernel::run`].
unsafe fn portable_4x8<F: Float>(
    kc: usize,
    a: Strided<F>,
    b: *const F,
    b_rs: isize,
    out: Tile<F>,
    [alpha, beta]: [F; 2],
) {
    const MR: usize = 4;
    const NR: usize = 8;
    let mut acc = [[F::zero(); NR]; MR];
    for p in 0..kc as isize {
        // SAFETY: `p < kc`: within the `b` the caller passes.
        let b: &[F; NR] = unsafe { &*b.offset(p * b_rs).cast() };
        for (i, row) in acc.iter_mut().enumerate() {
            // SAFETY: `i < MR`, `p < kc`: within the `a` the caller passes.
            let a = unsafe { *a.ptr.offset(i as isize * a.rs + p * a.cs) };
            for (acc, &b) in row.iter_mut().zip(b) {
                *acc += a * b;
            }
        }
    }
    for (i, row) in acc.iter().enumerate().take(out.rows) {
        // SAFETY: row `i < out.rows` of `out` holds `out.cols` values.
        let out_row = unsafe { std::slice::from_raw_parts_mut(out.ptr.offset(i as isize * out.rs), out.cols) };
        for (out, &t) in out_row.iter_mut().zip(row) {
            *out = alpha * t + beta_times(beta, *out);
        }
    }
}

/// The f32 micro-kernels for x86-64's vector extensions: one kernel body over a
/// [`x86::Vector`] of each extension, compiled with that extension enabled.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use core::arch::x86_64::*;

    use super::{Strided, Tile};

    /// `8 × 32` with AVX-512F: sixteen accumulator registers, two loads of `b` and eight
    /// broadcasts of `a` per step.
    ///
    /// # Safety
    /// As [`super::MicroKernel::run`], on a CPU with AVX-512F.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn avx512_8x32(
        kc: usize,
        a: Strided<f32>,
        b: *const f32,
        b_rs: isize,
        out: Tile<f32>,
        scale: [f32; 2],
    ) {
        // SAFETY: as this function's.
        unsafe { kernel::<Avx512, 8>(kc, a, b, b_rs, out, scale) }
    }

    /// `6 × 16` with AVX2 and FMA: twelve accumulator registers, two loads of `b` and six
    /// broadcasts of `a` per step.
    ///
    /// # Safety
    /// As [`super::MicroKernel::run`], on a CPU with AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn avx2_6x16(
        kc: usize,
        a: Strided<f32>,
        b: *const f32,
        b_rs: isize,
        out: Tile<f32>,
        scale: [f32; 2],
    ) {
        // SAFETY: as this function's.
        unsafe { kernel::<Avx2, 6>(kc, a, b, b_rs, out, scale) }
    }

    /// One register of f32 lanes and the operations the kernel needs on it. Every method
    /// is inlined into a function compiled with the extension, and only called there.
    pub(super) trait Vector: Copy {
        /// Lanes per register.
        const LANES: usize;
        /// All lanes zero.
        unsafe fn zero() -> Self;
        /// Every lane `x`.
        unsafe fn splat(x: f32) -> Self;
        /// `LANES` values from `ptr`.
        unsafe fn load(ptr: *const f32) -> Self;
        /// `a · b + c`, fused.
        unsafe fn mul_add(a: Self, b: Self, c: Self) -> Self;
        /// `a · b`.
        unsafe fn mul(a: Self, b: Self) -> Self;
        /// `a + b`.
        unsafe fn add(a: Self, b: Self) -> Self;
        /// The first `lanes` values from `ptr`, the rest zero; nothing else is read.
        unsafe fn load_first(ptr: *const f32, lanes: usize) -> Self;
        /// Writes the first `lanes` lanes to `ptr`; nothing else is written.
        unsafe fn store_first(ptr: *mut f32, lanes: usize, value: Self);
    }

    /// AVX-512F: 16 lanes, masked loads and stores.
    #[derive(Clone, Copy)]
    pub(super) struct Avx512(__m512);

    /// AVX2 with FMA: 8 lanes, masked loads and stores through lane masks.
    #[derive(Clone, Copy)]
    pub(super) struct Avx2(__m256);

    /// The AVX-512 mask of the first `lanes` lanes.
    #[inline(always)]
    fn first_lanes_16(lanes: usize) -> __mmask16 {
        ((1u32 << lanes.min(16)) - 1) as __mmask16
    }

    /// The AVX2 mask of the first `lanes` lanes.
    #[inline(always)]
    unsafe fn first_lanes_8(lanes: usize) -> __m256i {
        // SAFETY: the caller runs with AVX2.
        unsafe { _mm256_cmpgt_epi32(_mm256_set1_epi32(lanes.min(8) as i32), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)) }
    }

    /// Implements [`Vector`] for a register wrapper from its extension's intrinsics.
    macro_rules! vector {
        ($vector:ident, $lanes:literal, $zero:ident, $splat:ident, $load:ident, $mul_add:ident, $mul:ident, $add:ident,
         load_first: |$lp:ident, $ll:ident| $load_first:expr,
         store_first: |$sp:ident, $sl:ident, $sv:ident| $store_first:expr) => {
            // SAFETY (every method): called only from functions compiled with the
            // extension, on pointers the kernel's caller vouches for.
            impl Vector for $vector {
                const LANES: usize = $lanes;
                #[inline(always)]
                unsafe fn zero() -> Self {
                    $vector(unsafe { $zero() })
                }
                #[inline(always)]
                unsafe fn splat(x: f32) -> Self {
                    $vector(unsafe { $splat(x) })
                }
                #[inline(always)]
                unsafe fn load(ptr: *const f32) -> Self {
                    $vector(unsafe { $load(ptr) })
                }
                #[inline(always)]
                unsafe fn mul_add(a: Self, b: Self, c: Self) -> Self {
                    $vector(unsafe { $mul_add(a.0, b.0, c.0) })
                }
                #[inline(always)]
                unsafe fn mul(a: Self, b: Self) -> Self {
                    $vector(unsafe { $mul(a.0, b.0) })
                }
                #[inline(always)]
                unsafe fn add(a: Self, b: Self) -> Self {
                    $vector(unsafe { $add(a.0, b.0) })
                }
                #[inline(always)]
                unsafe fn load_first($lp: *const f32, $ll: usize) -> Self {
                    $vector(unsafe { $load_first })
                }
                #[inline(always)]
                unsafe fn store_first($sp: *mut f32, $sl: usize, $sv: Self) {
                    unsafe { $store_first }
                }
            }
        };
    }

    vector!(Avx512, 16, _mm512_setzero_ps, _mm512_set1_ps, _mm512_loadu_ps, _mm512_fmadd_ps, _mm512_mul_ps, _mm512_add_ps,
        load_first: |ptr, lanes| _mm512_maskz_loadu_ps(first_lanes_16(lanes), ptr),
        store_first: |ptr, lanes, value| _mm512_mask_storeu_ps(ptr, first_lanes_16(lanes), value.0));
    vector!(Avx2, 8, _mm256_setzero_ps, _mm256_set1_ps, _mm256_loadu_ps, _mm256_fmadd_ps, _mm256_mul_ps, _mm256_add_ps,
        load_first: |ptr, lanes| _mm256_maskload_ps(ptr, first_lanes_8(lanes)),
        store_first: |ptr, lanes, value| _mm256_maskstore_ps(ptr, first_lanes_8(lanes), value.0));

    /// The `MR × 2·LANES` micro-kernel over registers `V`: `MR` rows of two accumulator
    /// registers, fed per step by two loads of `b` and `MR` broadcasts of `a`.
    ///
    /// # Safety
    /// As [`super::MicroKernel::run`], inlined into a function compiled with `V`'s extension.
    #[inline(always)]
    unsafe fn kernel<V: Vector, const MR: usize>(
        kc: usize,
        a: Strided<f32>,
        b: *const f32,
        b_rs: isize,
        out: Tile<f32>,
        [alpha, beta]: [f32; 2],
    ) {
        // SAFETY (every block): the slivers and the tile are the caller's, and the
        // kernel runs where `V`'s extension is enabled.
        let mut acc = [[unsafe { V::zero() }; 2]; MR];
        for p in 0..kc as isize {
            unsafe {
                let b = b.offset(p * b_rs);
                let (b0, b1) = (V::load(b), V::load(b.add(V::LANES)));
                let a_p = a.ptr.offset(p * a.cs);
                for (i, row) in acc.iter_mut().enumerate() {
                    let a = V::splat(*a_p.offset(i as isize * a.rs));
                    row[0] = V::mul_add(a, b0, row[0]);
                    row[1] = V::mul_add(a, b1, row[1]);
                }
            }
        }
        let (alpha, beta_v) = unsafe { (V::splat(alpha), V::splat(beta)) };
        for (i, row) in acc.iter().enumerate().take(out.rows) {
            for (half, &t) in row.iter().enumerate() {
                let lanes = out.cols.saturating_sub(half * V::LANES).min(V::LANES);
                // Only the first `lanes` lanes, columns `< out.cols` of row `i < out.rows`.
                unsafe {
                    let out = out.ptr.offset(i as isize * out.rs).add(half * V::LANES);
                    let mut value = V::mul(alpha, t);
                    if beta != 0.0 {
                        value = V::add(value, V::mul(beta_v, V::load_first(out, lanes)));
                    }
                    V::store_first(out, lanes, value);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    /// `alpha · a b + beta · c` by the definition, in f64.
    fn reference<F: Float>(alpha: f64, a: &Array2<F>, b: &Array2<F>, beta: f64, c: &Array2<F>) -> Array2<f64> {
        Array2::from_shape_fn(c.dim(), |(i, j)| {
            let dot: f64 = (0..a.ncols()).map(|p| a[[i, p]].to_f64() * b[[p, j]].to_f64()).sum();
            alpha * dot + if beta == 0.0 { 0.0 } else { beta * c[[i, j]].to_f64() }
        })
    }

    /// Every shape at the edges of the tiles and blocks (MR, NR, KC, MC, NC), each operand
    /// as it lies and transposed, on `kernel`: the definition to float rounding, and a
    /// destination full of NaN is never read where beta is zero.
    fn assert_matches_the_definition<F: Float>(kernel: MicroKernel<F>, tolerance: f64) {
        let value = |i: usize, j: usize| F::of(((i * 31 + j * 17) % 23) as f64 / 8.0 - 1.4);
        let layout = |(rows, cols), transposed: bool, f: &dyn Fn(usize, usize) -> F| {
            if transposed {
                Array2::from_shape_fn((cols, rows), |(j, i)| f(i, j)).reversed_axes()
            } else {
                Array2::from_shape_fn((rows, cols), |(i, j)| f(i, j))
            }
        };
        for (m, k, n) in [(1, 1, 1), (7, 3, 33), (9, 257, 17), (20, 600, 40), (129, 5, 1030), (6, 300, 16)] {
            for (a_t, b_t, c_t) in
                [(false, false, false), (true, false, false), (false, true, true), (true, true, false)]
            {
                let a = layout((m, k), a_t, &value);
                let b = layout((k, n), b_t, &|p, j| value(p + 5, j));
                for (alpha, beta) in [(1.0, 0.0), (0.5, 1.0), (-2.0, 0.25)] {
                    let start = F::of(if beta == 0.0 { f64::NAN } else { 0.75 });
                    let mut c = layout((m, n), c_t, &|_, _| start);
                    let want = reference(alpha, &a, &b, beta, &c);
                    blocked(kernel, F::of(alpha), &a.view(), &b.view(), F::of(beta), &mut c.view_mut());
                    for ((i, j), &got) in c.indexed_iter() {
                        let (got, want) = (got.to_f64(), want[[i, j]]);
                        let bound = tolerance * (1.0 + want.abs()) * (k as f64).sqrt();
                        assert!(
                            (got - want).abs() <= bound,
                            "mr {} nr {}: [{m}, {k}] x [{k}, {n}] ({a_t}, {b_t}, {c_t}), alpha {alpha} beta {beta}: \
                             c[{i}, {j}] = {got}, want {want}",
                            kernel.mr,
                            kernel.nr
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn every_micro_kernel_of_this_cpu_matches_the_definition() {
        let f32_kernels: Vec<_> = micro_kernels::<f32>().into_iter().flatten().collect();
        for kernel in &f32_kernels {
            assert_matches_the_definition(*kernel, 1e-5);
        }
        for kernel in micro_kernels::<f64>().into_iter().flatten() {
            assert_matches_the_definition(kernel, 1e-13);
        }
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx512f") {
            assert_eq!(f32_kernels.len(), 3, "AVX-512F implies AVX2 and FMA: all three kernels ran");
        }
    }
}
