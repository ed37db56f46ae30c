//! One thread's matrix product, blocked as in BLIS (Goto's algorithm): a register-tiled
//! micro-kernel multiplies an `mr`-row sliver of `a` by an `nr`-column sliver of `b` over
//! a depth of `kc`, in `mc × nc` blocks of the output, the block sizes taken from this
//! CPU's caches ([`Blocking`]). Kernels that broadcast `a` from any strides read it where
//! it lies; those that load `mr` values of it at once read it packed. `b` is read where
//! its rows are contiguous unless enough slivers of `a` read it to pay for a copy. What a
//! kernel cannot read in place (a `b` of strided rows, the partial slivers at the edges,
//! `a` for the kernels that pack it) is copied, zero-padded, into packing buffers that are
//! this thread's, kept from one product to the next, so a product allocates nothing once
//! they have grown (the `gemm` and matrixmultiply crates allocate their packing buffers
//! inside every call).

use std::any::TypeId;
use std::cell::RefCell;

use ndarray::{s, ArrayView2, ArrayViewMut2, Axis};

use super::beta_times;
use super::cache::{caches, Caches};
use crate::scratch::{with_scratch, Scratch};
use crate::simd::{kernel, Kernel};
use crate::Float;

pub(crate) mod direct;
pub(crate) mod dots;
pub(crate) mod scatter;

/// The most rows of any micro-kernel's tile.
const MAX_MR: usize = 8;
/// The largest tile of any micro-kernel, `mr · nr`.
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
    /// When the kernel reads `a` packed, as slivers of `mr` rows stored depth-major
    /// (`a.rs = 1`, `a.cs = mr`), rather than where it lies.
    packs_a: PackA,
    /// # Safety
    /// Every address above is readable (and writable for `out`), and the CPU has the
    /// instructions the kernel was compiled for.
    run: KernelFn<F>,
    /// A vector transpose for [`pack`]'s slivers whose rows are contiguous, where the
    /// CPU has one (else `pack` gathers one value at a time).
    transpose: Option<TransposeFn<F>>,
}

/// Packs one whole sliver by transposing it in vector registers: `(x, rs, r, depth,
/// out)` writes `out[p·r + i] = x[i·rs + p]` for `i < r` (a multiple of 8) and `p < depth`.
///
/// # Safety
/// `x` holds `r` rows of `depth` contiguous values at stride `rs`, `out` has room for
/// `r · depth` values, and the CPU has the instructions the function was compiled for.
type TransposeFn<F> = unsafe fn(*const F, isize, usize, usize, *mut F);

impl<F> MicroKernel<F> {
    /// Whether the blocks of `b` (columns at stride `b_cs`) of a product with `m` rows are
    /// packed: always where `b`'s rows are strided; where they are contiguous, when the
    /// block is read by enough slivers of `a` for the copy to pay. (A `b` read in place
    /// with rows a power of two apart also falls into few of L1's sets.)
    fn packs_b(&self, m: usize, b_cs: isize) -> bool {
        b_cs != 1 || m >= PACK_B_MIN_SLIVERS * self.mr
    }
}

/// The fewest slivers of `a` for which a `b` of contiguous rows is packed.
const PACK_B_MIN_SLIVERS: usize = 8;

/// When a micro-kernel reads `a` packed.
#[derive(Clone, Copy, PartialEq)]
enum PackA {
    /// Always: the kernel loads `mr` values of `a` at once (NEON's, on aarch64 only).
    #[cfg_attr(not(target_arch = "aarch64"), allow(dead_code))]
    Always,
    /// When the values of a row of `a` are not contiguous: the kernel's broadcasts then
    /// read one contiguous sliver rather than a cache line per step (AVX2's, on x86-64).
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    RowsStrided,
    /// Never but for a last, partial sliver: the broadcasts read `a` at any strides.
    Never,
}

impl PackA {
    /// Whether `a` whose rows have stride `a_cs` between values is packed.
    fn packs(self, a_cs: isize) -> bool {
        match self {
            PackA::Always => true,
            PackA::RowsStrided => a_cs != 1,
            PackA::Never => false,
        }
    }
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

/// Block sizes of the product for one micro-kernel: the depth `kc` of a block, the rows
/// `mc` of `a` and the columns `nc` of `b` per block.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Blocking {
    kc: usize,
    mc: usize,
    nc: usize,
}

impl Blocking {
    /// BLIS's analytic choice for `mr × nr` tiles of `size`-byte scalars: a `kc`-deep
    /// sliver of `a` and one of `b` fill L1 (the `b` sliver stays there while the `a`
    /// slivers of a block stream past it), an `mc × kc` block of `a` half of L2, and a
    /// `kc × nc` panel of `b` a quarter of L3.
    fn for_caches(mr: usize, nr: usize, size: usize, caches: Caches) -> Self {
        let kc = (caches.l1d / ((mr + nr) * size) / 8 * 8).clamp(64, 1024);
        let mc = (caches.l2 / 2 / (kc * size) / mr * mr).clamp(mr, 4096 / mr * mr);
        let nc = (caches.l3 / 4 / (kc * size) / nr * nr).clamp(nr, 8192 / nr * nr);
        Blocking { kc, mc, nc }
    }

    /// The blocks for an `[m, k]` by `[k, n]` product: as many as these sizes need along
    /// each side, of equal sizes (rounded up to whole tiles) rather than full ones and a
    /// thin last one.
    fn fit(self, (m, k, n): (usize, usize, usize), mr: usize, nr: usize) -> Self {
        let even = |len: usize, block: usize, tile: usize| len.div_ceil(len.div_ceil(block)).next_multiple_of(tile);
        Blocking { kc: even(k, self.kc, 1), mc: even(m, self.mc, mr), nc: even(n, self.nc, nr) }
    }
}

/// `c = alpha · a b + beta · c` on this thread (shapes checked by the caller, `k > 0`);
/// with `beta = 0`, `c` is only written.
///
/// The micro-kernel reads `a` where it lies, at any strides (or packed, for kernels
/// that pack it), and `b` where its rows are contiguous and few slivers of `a` read it;
/// otherwise `b`'s block is packed first. Of `c = a b` and `cᵀ = bᵀ aᵀ`, the orientation
/// of the lower estimated cost is computed.
pub(super) fn matmul_packed<F: Float>(
    alpha: F,
    a: &ArrayView2<F>,
    b: &ArrayView2<F>,
    beta: F,
    c: &mut ArrayViewMut2<F>,
) {
    let ((m, k), n) = (a.dim(), b.ncols());
    let kernel = micro_kernel::<F>(kernel());
    let blocking = Blocking::for_caches(kernel.mr, kernel.nr, size_of::<F>(), caches());
    // Cycles, roughly, of `rows × cols` by `k` in one orientation, given the strides
    // `[rs, cs]` of its `a`, `b` and `c`: the tiles' fused multiply-adds (padded to
    // `mr × nr`, two vector registers a cycle), a cycle per value gathered into a packed
    // sliver (an eighth where it is copied, a quarter where it is transposed in
    // registers), and two per value stored where `c`'s rows are strided.
    let cost = |rows: usize, cols: usize, [a, b, c]: [[isize; 2]; 3]| {
        let tiles = rows.next_multiple_of(kernel.mr) * cols.next_multiple_of(kernel.nr) * k / kernel.nr;
        let packing_b = match (kernel.packs_b(rows, b[1]), b) {
            (false, _) => 0,
            (true, [_, 1]) => k * cols / 8,
            (true, [1, _]) if kernel.transpose.is_some() => k * cols / 4,
            (true, _) => k * cols,
        };
        let packing_a = if kernel.packs_a.packs(a[1]) { k * rows } else { 0 };
        let storing = if c[1] != 1 { 2 * rows * cols * k.div_ceil(blocking.kc) } else { 0 };
        tiles + packing_a + packing_b + storing
    };
    let strides = |x: &[isize]| [x[0], x[1]];
    let [a_s, b_s, c_s] = [strides(a.strides()), strides(b.strides()), strides(c.strides())];
    let reversed = |[rs, cs]: [isize; 2]| [cs, rs];
    let transpose = cost(n, m, [reversed(b_s), reversed(a_s), reversed(c_s)]) < cost(m, n, [a_s, b_s, c_s]);
    if transpose {
        blocked(
            kernel,
            blocking.fit((n, k, m), kernel.mr, kernel.nr),
            alpha,
            &b.t(),
            &a.t(),
            beta,
            &mut c.view_mut().reversed_axes(),
        );
    } else {
        blocked(kernel, blocking.fit((m, k, n), kernel.mr, kernel.nr), alpha, a, b, beta, c);
    }
}

/// The blocked loops of [`matmul_packed`] in one orientation, in blocks of at most
/// `blocking`'s sizes (`mc` a multiple of `mr`).
fn blocked<F: Float>(
    kernel: MicroKernel<F>,
    blocking: Blocking,
    alpha: F,
    a: &ArrayView2<F>,
    b: &ArrayView2<F>,
    beta: F,
    c: &mut ArrayViewMut2<F>,
) {
    let ((m, k), n) = (a.dim(), b.ncols());
    let (mr, nr) = (kernel.mr, kernel.nr);
    let Blocking { kc: block_k, mc: block_m, nc: block_n } = blocking;
    let [a_rs, a_cs] = [a.strides()[0], a.strides()[1]];
    let [b_rs, b_cs] = [b.strides()[0], b.strides()[1]];
    let [c_rs, c_cs] = [c.strides()[0], c.strides()[1]];
    let depth = block_k.min(k);
    let packs_b = kernel.packs_b(m, b_cs);
    // Packed: `a`'s block (or only its last, partial sliver, for kernels that read `a` in
    // place); `b`'s block where `packs_b` (else only its last, partial sliver).
    let packs_a = kernel.packs_a.packs(a_cs);
    let a_len = if packs_a { block_m.min(m).next_multiple_of(mr) } else { MAX_MR };
    let b_len = if packs_b { block_n.min(n).next_multiple_of(nr) } else { nr };
    let lens = [a_len * depth, b_len * depth];
    let (a_ptr, b_ptr, c_ptr) = (a.as_ptr(), b.as_ptr(), c.as_mut_ptr());
    with_scratch(&PACKING, lens, |[a_packed, b_packed]: [&mut [F]; 2]| {
        let mut tile = [F::zero(); MAX_TILE];
        for jc in (0..n).step_by(block_n) {
            let nc = block_n.min(n - jc);
            for pc in (0..k).step_by(block_k) {
                let kc = block_k.min(k - pc);
                // The first depth block applies beta; later ones add to it.
                let beta = if pc == 0 { beta } else { F::one() };
                // `b`'s block is packed where `packs_b`; else only its last, partial sliver
                // is (into the front of `b_packed`).
                let b_tail = nc / nr * nr;
                if packs_b {
                    pack(b.slice(s![pc..pc + kc, jc..jc + nc]).t(), nr, b_packed, kernel.transpose);
                } else if b_tail < nc {
                    pack(b.slice(s![pc..pc + kc, jc + b_tail..jc + nc]).t(), nr, b_packed, kernel.transpose);
                }
                for ic in (0..m).step_by(block_m) {
                    let mc = block_m.min(m - ic);
                    // `a` is packed whole for the kernels that need it, else read where it
                    // lies but for its last, partial sliver.
                    let a_tail_row = if packs_a { 0 } else { mc / mr * mr };
                    if a_tail_row < mc {
                        pack(a.slice(s![ic + a_tail_row..ic + mc, pc..pc + kc]), mr, a_packed, kernel.transpose);
                    }
                    for jr in (0..nc).step_by(nr) {
                        let (j0, cols) = (jc + jr, nr.min(nc - jr));
                        let (b_sliver, b_stride) = if packs_b {
                            (b_packed[jr * kc..].as_ptr(), nr as isize)
                        } else if cols == nr {
                            (b_ptr.wrapping_offset(pc as isize * b_rs + j0 as isize), b_rs)
                        } else {
                            (b_packed.as_ptr(), nr as isize)
                        };
                        for ir in (0..mc).step_by(mr) {
                            let (i0, rows) = (ic + ir, mr.min(mc - ir));
                            let a_sliver = if ir < a_tail_row {
                                let ptr = a_ptr.wrapping_offset(i0 as isize * a_rs + pc as isize * a_cs);
                                Strided { ptr, rs: a_rs, cs: a_cs }
                            } else {
                                let ptr = a_packed[(ir - a_tail_row) * kc..].as_ptr();
                                Strided { ptr, rs: 1, cs: mr as isize }
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
                            let write = |i: usize, j: usize| {
                                // SAFETY: `i < rows` and `j < cols`: an element of `c`.
                                let c = unsafe { &mut *corner.offset(i as isize * c_rs + j as isize * c_cs) };
                                *c = alpha * tile[i * nr + j] + beta_times(beta, *c);
                            };
                            // Along whichever side of the tile lies closer together in `c`.
                            if c_rs.unsigned_abs() < c_cs.unsigned_abs() {
                                (0..cols).for_each(|j| (0..rows).for_each(|i| write(i, j)));
                            } else {
                                (0..rows).for_each(|i| (0..cols).for_each(|j| write(i, j)));
                            }
                        }
                    }
                }
            }
        }
    });
}

/// Copies the rows of `x` (`[rows, depth]`) into slivers of `r` rows, each stored
/// depth-major (`[depth][r]`), the last zero-padded to `r` rows. Where `x`'s columns are
/// contiguous, each is read whole, in order, and split among the slivers: one stream
/// through memory, which the prefetchers follow across pages. Otherwise a whole sliver
/// goes through `transpose` when the CPU has one and `r` is a multiple of 8, and the
/// rest one value at a time.
fn pack<F: Float>(x: ArrayView2<F>, r: usize, packed: &mut [F], transpose: Option<TransposeFn<F>>) {
    let (rows, depth) = x.dim();
    let packed = &mut packed[..rows.div_ceil(r) * r * depth];
    if !rows.is_multiple_of(r) {
        packed[rows / r * r * depth..].fill(F::zero());
    }
    let (ptr, rs, cs) = (x.as_ptr(), x.strides()[0], x.strides()[1]);
    if rs == 1 {
        for p in 0..depth {
            // SAFETY: column `p < depth` of `x`, `rows` contiguous values.
            let column = unsafe { std::slice::from_raw_parts(ptr.wrapping_offset(p as isize * cs), rows) };
            for (sliver, values) in column.chunks(r).enumerate() {
                // Element by element: a loop the compiler vectorizes, where `copy_from_slice`
                // of a few values would call `memcpy` for each.
                let out = &mut packed[(sliver * depth + p) * r..][..values.len()];
                out.iter_mut().zip(values).for_each(|(out, &value)| *out = value);
            }
        }
        return;
    }
    for (sliver, out) in x.axis_chunks_iter(Axis(0), r).zip(packed.chunks_exact_mut(r * depth)) {
        let rows = sliver.nrows();
        let (ptr, rs, cs) = (sliver.as_ptr(), sliver.strides()[0], sliver.strides()[1]);
        if let Some(transpose) = transpose.filter(|_| rows == r && r.is_multiple_of(8) && cs == 1) {
            // SAFETY: the sliver is `r` rows of `depth` contiguous values at stride `rs`,
            // `out` holds `r · depth`, and `micro_kernel` checked the CPU.
            unsafe { transpose(ptr, rs, r, depth, out.as_mut_ptr()) };
            continue;
        }
        for (p, out) in out.chunks_exact_mut(r).enumerate() {
            for (i, slot) in out[..rows].iter_mut().enumerate() {
                // SAFETY: row `i < rows`, column `p < depth`: an element of the sliver.
                *slot = unsafe { *ptr.offset(i as isize * rs + p as isize * cs) };
            }
        }
    }
}

/// The micro-kernel of `kernel` for `F`, which this CPU runs: the vector kernels are
/// f32 only, so f64 (and a kernel of another architecture) gets the portable one.
fn micro_kernel<F: Float>(kernel: Kernel) -> MicroKernel<F> {
    let portable = MicroKernel { mr: 4, nr: 8, packs_a: PackA::Never, run: portable_4x8::<F>, transpose: None };
    if TypeId::of::<F>() != TypeId::of::<f32>() {
        return portable;
    }
    let vector: MicroKernel<f32> = match kernel {
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx512 => MicroKernel {
            mr: 8,
            nr: 32,
            packs_a: PackA::Never,
            run: x86::avx512_8x32,
            transpose: Some(x86::transpose_8x8),
        },
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2 => MicroKernel {
            mr: 6,
            nr: 16,
            packs_a: PackA::RowsStrided,
            run: x86::avx2_6x16,
            transpose: Some(x86::transpose_8x8),
        },
        #[cfg(target_arch = "aarch64")]
        Kernel::Neon => MicroKernel { mr: 8, nr: 12, packs_a: PackA::Always, run: neon::neon_8x12, transpose: None },
        _ => return portable,
    };
    // SAFETY: `F` is `f32` (checked above), so the two types are the same.
    unsafe { std::mem::transmute::<MicroKernel<f32>, MicroKernel<F>>(vector) }
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
    /// broadcasts of `a` per step; a tile's last rows, when fewer, by a kernel of 2, 4 or
    /// 6 rows, which skips the padding rows' work.
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
        // SAFETY: as this function's; each kernel computes at least `out.rows` rows.
        unsafe {
            match out.rows {
                1 | 2 => kernel::<Avx512, 2>(kc, a, b, b_rs, out, scale),
                3 | 4 => kernel::<Avx512, 4>(kc, a, b, b_rs, out, scale),
                5 | 6 => kernel::<Avx512, 6>(kc, a, b, b_rs, out, scale),
                _ => kernel::<Avx512, 8>(kc, a, b, b_rs, out, scale),
            }
        }
    }

    /// `6 × 16` with AVX2 and FMA: twelve accumulator registers, two loads of `b` and six
    /// broadcasts of `a` per step; a tile's last rows, when fewer, by a kernel of 2 or 4
    /// rows.
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
        // SAFETY: as this function's; each kernel computes at least `out.rows` rows.
        unsafe {
            match out.rows {
                1 | 2 => kernel::<Avx2, 2>(kc, a, b, b_rs, out, scale),
                3 | 4 => kernel::<Avx2, 4>(kc, a, b, b_rs, out, scale),
                _ => kernel::<Avx2, 6>(kc, a, b, b_rs, out, scale),
            }
        }
    }

    /// [`super::TransposeFn`] with AVX: each 8 × 8 block of the sliver transposed in
    /// registers (eight loads, twenty-four shuffles, eight stores), the depth past the
    /// last whole block one value at a time.
    ///
    /// # Safety
    /// As [`super::TransposeFn`], on a CPU with AVX.
    #[target_feature(enable = "avx")]
    pub(super) unsafe fn transpose_8x8(x: *const f32, rs: isize, r: usize, depth: usize, out: *mut f32) {
        let whole = depth / 8 * 8;
        // Every group of 8 rows at each depth before the next: all `r` rows stream at once,
        // and each step fills whole lines of `out`.
        for p in (0..whole).step_by(8) {
            for group in (0..r).step_by(8) {
                // SAFETY: rows `group..group + 8 <= r` of the sliver, columns `p..p + 8 <=
                // depth`, and their places in `out`, as the caller vouches.
                unsafe {
                    let rows = x.offset(group as isize * rs);
                    let row = |i: isize| _mm256_loadu_ps(rows.offset(i * rs).add(p));
                    let (r0, r1, r2, r3) = (row(0), row(1), row(2), row(3));
                    let (r4, r5, r6, r7) = (row(4), row(5), row(6), row(7));
                    let (t0, t1) = (_mm256_unpacklo_ps(r0, r1), _mm256_unpackhi_ps(r0, r1));
                    let (t2, t3) = (_mm256_unpacklo_ps(r2, r3), _mm256_unpackhi_ps(r2, r3));
                    let (t4, t5) = (_mm256_unpacklo_ps(r4, r5), _mm256_unpackhi_ps(r4, r5));
                    let (t6, t7) = (_mm256_unpacklo_ps(r6, r7), _mm256_unpackhi_ps(r6, r7));
                    let (s0, s1) = (_mm256_shuffle_ps::<0x44>(t0, t2), _mm256_shuffle_ps::<0xEE>(t0, t2));
                    let (s2, s3) = (_mm256_shuffle_ps::<0x44>(t1, t3), _mm256_shuffle_ps::<0xEE>(t1, t3));
                    let (s4, s5) = (_mm256_shuffle_ps::<0x44>(t4, t6), _mm256_shuffle_ps::<0xEE>(t4, t6));
                    let (s6, s7) = (_mm256_shuffle_ps::<0x44>(t5, t7), _mm256_shuffle_ps::<0xEE>(t5, t7));
                    let columns = [
                        _mm256_permute2f128_ps::<0x20>(s0, s4),
                        _mm256_permute2f128_ps::<0x20>(s1, s5),
                        _mm256_permute2f128_ps::<0x20>(s2, s6),
                        _mm256_permute2f128_ps::<0x20>(s3, s7),
                        _mm256_permute2f128_ps::<0x31>(s0, s4),
                        _mm256_permute2f128_ps::<0x31>(s1, s5),
                        _mm256_permute2f128_ps::<0x31>(s2, s6),
                        _mm256_permute2f128_ps::<0x31>(s3, s7),
                    ];
                    for (q, column) in columns.into_iter().enumerate() {
                        _mm256_storeu_ps(out.add((p + q) * r + group), column);
                    }
                }
            }
        }
        for p in whole..depth {
            for i in 0..r {
                // SAFETY: row `i < r`, column `p < depth`, and its place in `out`.
                unsafe { *out.add(p * r + i) = *x.offset(i as isize * rs).add(p) };
            }
        }
    }

    /// One step of a register tile of `$rows` rows by `$cols` (at most 3) registers of
    /// columns, both constants: loads the step's `$cols` registers from `$at` on
    /// (`$load(ptr, register)`), then row `r`'s accumulators `+=` the broadcast
    /// `$weight(r)` times them. The accumulators are named variables, one register each (as
    /// an array indexed in loops, LLVM kept them on the stack).
    macro_rules! tile_step {
        ($V:ty, $rows:expr, $cols:expr, $at:expr, $load:expr, $weight:expr,
         $([$r:literal: $a0:ident, $a1:ident, $a2:ident]),* $(,)?) => {{
            let (at, zero) = ($at, <$V>::zero());
            let x0 = $load(at, 0);
            let x1 = if $cols > 1 { $load(at.wrapping_add(<$V>::LANES), 1) } else { zero };
            let x2 = if $cols > 2 { $load(at.wrapping_add(2 * <$V>::LANES), 2) } else { zero };
            $(
                if $rows > $r {
                    let w = <$V>::splat($weight($r));
                    $a0 = <$V>::mul_add(w, x0, $a0);
                    if $cols > 1 {
                        $a1 = <$V>::mul_add(w, x1, $a1);
                    }
                    if $cols > 2 {
                        $a2 = <$V>::mul_add(w, x2, $a2);
                    }
                }
            )*
        }};
    }
    pub(super) use tile_step;

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
        /// Writes the `LANES` values to `ptr`.
        unsafe fn store(ptr: *mut f32, value: Self);
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

    /// AVX2 with FMA: 8 lanes, masked loads through lane masks, partial stores through
    /// the stack.
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
        ($vector:ident, $lanes:literal, $zero:ident, $splat:ident, $load:ident, $store:ident, $mul_add:ident, $mul:ident,
         $add:ident,
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
                unsafe fn store(ptr: *mut f32, value: Self) {
                    unsafe { $store(ptr, value.0) }
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

    vector!(Avx512, 16, _mm512_setzero_ps, _mm512_set1_ps, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_fmadd_ps, _mm512_mul_ps, _mm512_add_ps,
        load_first: |ptr, lanes| _mm512_maskz_loadu_ps(first_lanes_16(lanes), ptr),
        store_first: |ptr, lanes, value| _mm512_mask_storeu_ps(ptr, first_lanes_16(lanes), value.0));
    vector!(Avx2, 8, _mm256_setzero_ps, _mm256_set1_ps, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_fmadd_ps, _mm256_mul_ps, _mm256_add_ps,
        load_first: |ptr, lanes| _mm256_maskload_ps(ptr, first_lanes_8(lanes)),
        store_first: |ptr, lanes, value| store_first_8(ptr, lanes, value.0));

    /// Writes the first `lanes` lanes of `value` to `ptr` through a copy on the stack:
    /// AMD microcodes `vmaskmovps` stores, which then cost tens of cycles each.
    #[inline(always)]
    unsafe fn store_first_8(ptr: *mut f32, lanes: usize, value: __m256) {
        let mut lanes_8 = [0.0f32; 8];
        // SAFETY: `lanes_8` holds 8 values; the caller's `ptr` holds `lanes` (at most 8).
        unsafe {
            _mm256_storeu_ps(lanes_8.as_mut_ptr(), value);
            core::ptr::copy_nonoverlapping(lanes_8.as_ptr(), ptr, lanes.min(8));
        }
    }

    /// The tile's sums over a depth of `kc`: `MR` rows of two accumulator registers, fed
    /// per step by two loads of `b` and `MR` broadcasts of `a`.
    ///
    /// # Safety
    /// As [`kernel`].
    #[inline(always)]
    unsafe fn multiply_adds<V: Vector, const MR: usize>(
        kc: usize,
        a: Strided<f32>,
        b: *const f32,
        b_rs: isize,
    ) -> [[V; 2]; MR] {
        // SAFETY (every block): as the caller's.
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
        acc
    }

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
        let acc = if a.rs == 1 && a.cs == MR as isize {
            // A packed sliver: with its strides known, the broadcasts address it by
            // constant offsets.
            unsafe { multiply_adds::<V, MR>(kc, Strided { ptr: a.ptr, rs: 1, cs: MR as isize }, b, b_rs) }
        } else {
            unsafe { multiply_adds::<V, MR>(kc, a, b, b_rs) }
        };
        let (alpha_v, beta_v) = unsafe { (V::splat(alpha), V::splat(beta)) };
        if out.rows == MR && out.cols == 2 * V::LANES {
            // A whole tile: unmasked and without branches per register (AMD's masked AVX2
            // stores are microcoded, and on a shallow product cost more than the tile's
            // multiply-adds). `beta = 0` and `alpha = 1`, the usual case, skip their work.
            for (i, row) in acc.iter().enumerate() {
                for (half, &t) in row.iter().enumerate() {
                    // SAFETY: row `i` of the whole tile, one register of it.
                    unsafe {
                        let out = out.ptr.offset(i as isize * out.rs).add(half * V::LANES);
                        let value = if alpha == 1.0 { t } else { V::mul(alpha_v, t) };
                        let value = if beta == 0.0 { value } else { V::add(value, V::mul(beta_v, V::load(out))) };
                        V::store(out, value);
                    }
                }
            }
            return;
        }
        for (i, row) in acc.iter().enumerate().take(out.rows) {
            for (half, &t) in row.iter().enumerate() {
                let lanes = out.cols.saturating_sub(half * V::LANES).min(V::LANES);
                // Only the first `lanes` lanes, columns `< out.cols` of row `i < out.rows`.
                unsafe {
                    let out = out.ptr.offset(i as isize * out.rs).add(half * V::LANES);
                    let mut value = V::mul(alpha_v, t);
                    if beta != 0.0 {
                        value = V::add(value, V::mul(beta_v, V::load_first(out, lanes)));
                    }
                    V::store_first(out, lanes, value);
                }
            }
        }
    }
}

/// The f32 micro-kernel for aarch64's NEON.
#[cfg(target_arch = "aarch64")]
mod neon {
    use core::arch::aarch64::*;

    use super::{beta_times, Strided, Tile};

    /// Rows of the tile.
    const MR: usize = 8;
    /// Columns of the tile: three registers of four lanes.
    const NR: usize = 12;

    /// `8 × 12` with NEON: twenty-four accumulator registers, fed per step by two loads
    /// of `a`'s packed sliver and three of `b`; each multiply-add takes its `a` from a lane
    /// of the loaded registers (`vfmaq_laneq_f32`), so nothing is broadcast.
    ///
    /// # Safety
    /// As [`super::MicroKernel::run`], with `a` packed (`a.rs = 1`, `a.cs = 8`).
    #[target_feature(enable = "neon")]
    pub(super) unsafe fn neon_8x12(
        kc: usize,
        a: Strided<f32>,
        b: *const f32,
        b_rs: isize,
        out: Tile<f32>,
        [alpha, beta]: [f32; 2],
    ) {
        let mut acc = [[vdupq_n_f32(0.0); 3]; MR];
        let (mut a_p, mut b_p) = (a.ptr, b);
        for _ in 0..kc {
            // SAFETY: `a` holds `kc` steps of 8 values and `b` `kc` rows of 12, as the caller vouches.
            let ([a0, a1], [b0, b1, b2]) = unsafe {
                (
                    [vld1q_f32(a_p), vld1q_f32(a_p.add(4))],
                    [vld1q_f32(b_p), vld1q_f32(b_p.add(4)), vld1q_f32(b_p.add(8))],
                )
            };
            /// Row `i` of the tile gains `a[i]` (lane `lane` of `a`) times the step's row of `b`.
            macro_rules! row {
                ($i:literal, $a:ident, $lane:literal) => {
                    acc[$i][0] = vfmaq_laneq_f32::<$lane>(acc[$i][0], b0, $a);
                    acc[$i][1] = vfmaq_laneq_f32::<$lane>(acc[$i][1], b1, $a);
                    acc[$i][2] = vfmaq_laneq_f32::<$lane>(acc[$i][2], b2, $a);
                };
            }
            row!(0, a0, 0);
            row!(1, a0, 1);
            row!(2, a0, 2);
            row!(3, a0, 3);
            row!(4, a1, 0);
            row!(5, a1, 1);
            row!(6, a1, 2);
            row!(7, a1, 3);
            a_p = a_p.wrapping_add(MR);
            b_p = b_p.wrapping_offset(b_rs);
        }
        if out.rows == MR && out.cols == NR {
            for (i, row) in acc.iter().enumerate() {
                for (j, &t) in row.iter().enumerate() {
                    // SAFETY: row `i` of the whole tile, columns `4j..4j + 4`, is the caller's.
                    unsafe {
                        let out = out.ptr.offset(i as isize * out.rs).add(4 * j);
                        let mut value = vmulq_n_f32(t, alpha);
                        if beta != 0.0 {
                            value = vaddq_f32(value, vmulq_n_f32(vld1q_f32(out), beta));
                        }
                        vst1q_f32(out, value);
                    }
                }
            }
            return;
        }
        // A partial tile: through memory, element by element.
        let mut tile = [[0.0f32; NR]; MR];
        for (row, acc) in tile.iter_mut().zip(&acc) {
            for (lanes, &t) in row.chunks_exact_mut(4).zip(acc) {
                // SAFETY: `lanes` holds four values.
                unsafe { vst1q_f32(lanes.as_mut_ptr(), t) };
            }
        }
        for (i, row) in tile.iter().enumerate().take(out.rows) {
            // SAFETY: row `i < out.rows` of `out` holds `out.cols` values.
            let out_row = unsafe { std::slice::from_raw_parts_mut(out.ptr.offset(i as isize * out.rs), out.cols) };
            for (out, &t) in out_row.iter_mut().zip(row) {
                *out = alpha * t + beta_times(beta, *out);
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

    /// Every shape at the edges of the tiles and blocks, each operand as it lies and
    /// transposed, on `kernel` with the blocks of this CPU and with tiny ones (so that
    /// every loop runs more than once): the definition to float rounding, and a
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
        let (mr, nr) = (kernel.mr, kernel.nr);
        let blockings =
            [Blocking::for_caches(mr, nr, size_of::<F>(), caches()), Blocking { kc: 16, mc: 2 * mr, nc: 2 * nr }];
        for (m, k, n) in [(1, 1, 1), (7, 3, 33), (9, 257, 17), (20, 600, 40), (129, 5, 1030), (6, 300, 16)] {
            for (a_t, b_t, c_t) in
                [(false, false, false), (true, false, false), (false, true, true), (true, true, false)]
            {
                let a = layout((m, k), a_t, &value);
                let b = layout((k, n), b_t, &|p, j| value(p + 5, j));
                for ((alpha, beta), blocking) in
                    [(1.0, 0.0), (0.5, 1.0), (-2.0, 0.25)].into_iter().zip(blockings.iter().cycle())
                {
                    let start = F::of(if beta == 0.0 { f64::NAN } else { 0.75 });
                    let mut c = layout((m, n), c_t, &|_, _| start);
                    let want = reference(alpha, &a, &b, beta, &c);
                    let blocking = blocking.fit((m, k, n), mr, nr);
                    blocked(kernel, blocking, F::of(alpha), &a.view(), &b.view(), F::of(beta), &mut c.view_mut());
                    for ((i, j), &got) in c.indexed_iter() {
                        let (got, want) = (got.to_f64(), want[[i, j]]);
                        let bound = tolerance * (1.0 + want.abs()) * (k as f64).sqrt();
                        assert!(
                            (got - want).abs() <= bound,
                            "mr {mr} nr {nr}, {blocking:?}: [{m}, {k}] x [{k}, {n}] ({a_t}, {b_t}, {c_t}), \
                             alpha {alpha} beta {beta}: c[{i}, {j}] = {got}, want {want}",
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn every_micro_kernel_of_this_cpu_matches_the_definition() {
        let kernels: Vec<Kernel> = Kernel::available().collect();
        for &kernel in &kernels {
            assert_matches_the_definition(micro_kernel::<f32>(kernel), 1e-5);
        }
        assert_matches_the_definition(micro_kernel::<f64>(kernel()), 1e-13);
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx512f") {
            assert_eq!(kernels, [Kernel::Avx512, Kernel::Avx2, Kernel::Portable], "AVX-512F implies AVX2 and FMA");
        }
        #[cfg(target_arch = "aarch64")]
        assert_eq!(kernels, [Kernel::Neon, Kernel::Portable], "NEON is aarch64's baseline");
    }

    #[test]
    fn every_way_of_packing_gives_the_slivers_of_the_definition() {
        // Rows of `x` contiguous (the transposes, or one value at a time), columns
        // contiguous (the column copies), and neither; whole and partial slivers; depths
        // with and without a last partial 8 × 8 block; each through every transpose here.
        // (The portable kernel has none: `None` packs one value at a time.)
        let transposes: Vec<Option<TransposeFn<f32>>> =
            Kernel::available().map(|kernel| micro_kernel::<f32>(kernel).transpose).collect();
        for (rows, depth) in [(16, 8), (32, 21), (13, 3), (48, 100), (1, 9)] {
            let rows_contiguous = Array2::from_shape_fn((rows, depth), |(i, p)| (i * 1000 + p) as f32);
            let columns_contiguous = rows_contiguous.t().as_standard_layout().into_owned().reversed_axes();
            let wide =
                Array2::from_shape_fn(
                    (rows, 2 * depth),
                    |(i, p)| if p % 2 == 0 { rows_contiguous[[i, p / 2]] } else { -1.0 },
                );
            let strided = wide.slice(s![.., ..;2]);
            for x in [rows_contiguous.view(), columns_contiguous.view(), strided] {
                assert_eq!(x, rows_contiguous.view());
                for r in [6, 8, 12, 16, 32] {
                    let slivers = rows.div_ceil(r);
                    let want: Vec<f32> = (0..slivers * depth * r)
                        .map(|at| {
                            let (sliver, p, i) = (at / (depth * r), at / r % depth, at % r);
                            let row = sliver * r + i;
                            if row < rows {
                                x[[row, p]]
                            } else {
                                0.0
                            }
                        })
                        .collect();
                    for &transpose in &transposes {
                        let mut packed = vec![f32::NAN; slivers * depth * r + 5];
                        pack(x, r, &mut packed, transpose);
                        assert_eq!(&packed[..want.len()], want, "{rows} x {depth}, strides {:?}, r {r}", x.strides());
                        assert!(packed[want.len()..].iter().all(|v| v.is_nan()), "written past the slivers");
                    }
                }
            }
        }
    }

    #[test]
    fn blocks_fit_the_caches_they_are_sized_for() {
        let zen4 = Caches { l1d: 32 << 10, l2: 1 << 20, l3: 32 << 20 };
        for caches in [zen4, super::super::cache::FALLBACK, caches()] {
            for (mr, nr, size) in [(8, 32, 4), (6, 16, 4), (8, 12, 4), (4, 8, 8)] {
                let Blocking { kc, mc, nc } = Blocking::for_caches(mr, nr, size, caches);
                assert!(kc % 8 == 0 && mc % mr == 0 && nc % nr == 0, "{kc} {mc} {nc}");
                assert!((mr + nr) * kc * size <= caches.l1d, "{mr}x{nr}: slivers of depth {kc} in L1");
                assert!(mc * kc * size <= caches.l2 / 2, "{mr}x{nr}: a block of {mc} rows in half of L2");
                assert!(kc * nc * size <= caches.l3 / 4, "{mr}x{nr}: a panel of {nc} columns in L3");
            }
        }
        let blocking = Blocking { kc: 200, mc: 96, nc: 512 };
        // 784 deep in four blocks of 196; 100 rows in two of 54 (whole 6-row tiles).
        assert_eq!(blocking.fit((100, 784, 512), 6, 16), Blocking { kc: 196, mc: 54, nc: 512 });
        assert_eq!(blocking.fit((6, 50, 20), 6, 16), Blocking { kc: 50, mc: 6, nc: 32 });
    }
}
