//! The forward product of a stride-1 convolution by a direct kernel: no im2col matrix, and
//! no GEMM sliver packed from one. In wide columns (output `(oy, ox)` at `oy·Wp + ox`,
//! `Wp` the padded width) output channel `o` is
//!
//! `out[o][q] = Σ_{c, ki, kj} w[o][c][ki][kj] · x[c][ki·Wp + kj + q]`
//!
//! each tap one multiply-add of a broadcast weight with the image shifted by the tap,
//! read where it lies. A register tile of up to [`MAX_ROWS`] output channels by `C` vector
//! registers of columns (three on AVX-512, two on AVX2) shares its loads: per tap, `C`
//! loads of the image and one broadcast per channel for `C · rows` multiply-adds. On
//! x86-64 the f32 tile runs on AVX-512 or AVX2 + FMA registers (the [`super::x86::Vector`]
//! of the GEMM micro-kernels); elsewhere, and for f64, plain loops.

use crate::simd::{kernel, Kernel};
use crate::Float;

/// Output channels of a tile, at most.
pub(crate) const MAX_ROWS: usize = 6;

/// The register tiles of `count` rows (the forward's output channels, the input
/// gradient's taps) on `kernel`: `(first, rows)`, as few as hold them, of sizes that
/// differ by one at most. AVX-512: four rows by three registers (six measured no
/// faster). AVX2: six by two, twelve accumulators in the sixteen registers; three by
/// three keeps only nine multiply-add chains in flight: LeNet's second layer ran its
/// forward at 73–79 GFLOP/s that way against 90–102 for six by two, its input gradient in
/// 630 µs a batch against 610 (Zen 4), while four by three spills. The plain loops of the
/// other kernels take any height.
pub(crate) fn row_tiles(kernel: Kernel, count: usize) -> impl Iterator<Item = (usize, usize)> {
    balanced_tiles(count, if kernel == Kernel::Avx512 { 4 } else { MAX_ROWS })
}

/// `count` rows in as few tiles of at most `most` rows as hold them: `(first, rows)`, of
/// sizes that differ by one at most.
fn balanced_tiles(count: usize, most: usize) -> impl Iterator<Item = (usize, usize)> {
    let tiles = count.div_ceil(most);
    let (base, extra) = (count / tiles.max(1), count % tiles.max(1));
    (0..tiles).map(move |t| (t * base + t.min(extra), base + usize::from(t < extra)))
}

/// One image's operands: `weights` `[rows, taps]` (row-major, the tile's channels
/// first), the padded image `[in_c, Hp, Wp]` and its sizes.
#[derive(Clone, Copy)]
pub(crate) struct Correlation<'a, F> {
    /// The tile's weights, `rows` rows of `in_c·kh·kw` taps.
    pub weights: &'a [F],
    /// The padded image.
    pub image: &'a [F],
    /// Input channels.
    pub in_c: usize,
    /// The kernel's `(kh, kw)`.
    pub kernel: (usize, usize),
    /// The padded image's `(Hp, Wp)`.
    pub padded_hw: (usize, usize),
    /// Columns of the image's output: `(oh − 1)·Wp + ow`.
    pub span: usize,
}

/// Writes `out[r·out_rs + q]` for `r < rows`, `q < span`: the correlation of the image
/// with row `r` of the weights.
///
/// # Panics
/// If `rows > MAX_ROWS`, the weights hold fewer than `rows` rows, the image is smaller
/// than its sizes, a tap would read past it, or `out` is too short.
pub(crate) fn correlate<F: Float>(c: Correlation<F>, rows: usize, out: &mut [F], out_rs: usize) {
    correlate_on(kernel(), c, rows, out, out_rs);
}

/// [`correlate`] on `kernel`, which this CPU runs.
fn correlate_on<F: Float>(kernel: Kernel, c: Correlation<F>, rows: usize, out: &mut [F], out_rs: usize) {
    let ((kh, kw), (padded_h, padded_w)) = (c.kernel, c.padded_hw);
    let taps = c.in_c * kh * kw;
    assert!(rows <= MAX_ROWS, "a tile of {rows} rows");
    if rows == 0 || c.span == 0 {
        return;
    }
    assert!(kh <= padded_h && kw <= padded_w, "a kernel larger than the image");
    let last_tap = ((c.in_c - 1) * padded_h + kh - 1) * padded_w + kw - 1;
    assert!(
        c.weights.len() >= rows * taps
            && c.image.len() >= c.in_c * padded_h * padded_w
            && last_tap + c.span <= c.image.len()
            && out.len() >= (rows - 1) * out_rs + c.span,
        "correlate reads or writes past its buffers"
    );
    if vector_tile(kernel, c, rows, out, out_rs) {
        return;
    }
    for (r, weights) in c.weights.chunks_exact(taps).take(rows).enumerate() {
        let out = &mut out[r * out_rs..][..c.span];
        out.fill(F::zero());
        for_each_tap(c, |tap, offset| {
            let w = weights[tap];
            for (out, &x) in out.iter_mut().zip(&c.image[offset..][..c.span]) {
                *out += w * x;
            }
        });
    }
}

/// Calls `visit(tap, offset)` for every tap `(c, ki, kj)`, in order, with where in the
/// padded image the first value it reads lies.
#[inline(always)]
fn for_each_tap<F>(c: Correlation<F>, mut visit: impl FnMut(usize, usize)) {
    let ((kh, kw), (padded_h, padded_w)) = (c.kernel, c.padded_hw);
    let mut tap = 0;
    for channel in 0..c.in_c {
        for ki in 0..kh {
            let row = (channel * padded_h + ki) * padded_w;
            for kj in 0..kw {
                visit(tap, row + kj);
                tap += 1;
            }
        }
    }
}

/// The tile on `kernel`'s vector registers, for f32 on x86-64's AVX-512 or AVX2 (the
/// reads and writes checked by the caller); whether it ran.
#[cfg(target_arch = "x86_64")]
fn vector_tile<F: Float>(kernel: Kernel, c: Correlation<F>, rows: usize, out: &mut [F], out_rs: usize) -> bool {
    if std::any::TypeId::of::<F>() != std::any::TypeId::of::<f32>() {
        return false;
    }
    // SAFETY: `F` is `f32` (checked above), so the types are the same.
    let (c, out) =
        unsafe { (std::mem::transmute::<Correlation<F>, Correlation<f32>>(c), &mut *(out as *mut [F] as *mut [f32])) };
    match kernel {
        // SAFETY: the CPU runs the kernel's instruction set; the caller checked the reads
        // and writes.
        Kernel::Avx512 => unsafe { x86::avx512(c, rows, out, out_rs) },
        // SAFETY: as above.
        Kernel::Avx2 => unsafe { x86::avx2(c, rows, out, out_rs) },
        Kernel::Neon | Kernel::Portable => return false,
    }
    true
}

/// No vector tile on this target.
#[cfg(not(target_arch = "x86_64"))]
fn vector_tile<F: Float>(_: Kernel, _: Correlation<F>, _: usize, _: &mut [F], _: usize) -> bool {
    false
}

/// The f32 tiles on x86-64's vector registers.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::super::x86::{tile_step, Avx2, Avx512, Vector};
    use super::Correlation;

    /// [`super::correlate`] on AVX-512F registers.
    ///
    /// # Safety
    /// The CPU has AVX-512F; the reads and writes lie in their buffers.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn avx512(c: Correlation<f32>, rows: usize, out: &mut [f32], out_rs: usize) {
        // SAFETY: as this function's.
        unsafe { rows_of::<Avx512, 3>(c, rows, out, out_rs) }
    }

    /// [`super::correlate`] on AVX2 + FMA registers.
    ///
    /// # Safety
    /// The CPU has AVX2 and FMA; the reads and writes lie in their buffers.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn avx2(c: Correlation<f32>, rows: usize, out: &mut [f32], out_rs: usize) {
        // SAFETY: as this function's.
        unsafe { rows_of::<Avx2, 2>(c, rows, out, out_rs) }
    }

    /// The tile of `rows` channels by `C` registers of columns, its row count a constant
    /// of its own loop.
    ///
    /// # Safety
    /// As [`avx512`] or [`avx2`], inlined into the function of `V`'s extension.
    #[inline(always)]
    unsafe fn rows_of<V: Vector, const C: usize>(c: Correlation<f32>, rows: usize, out: &mut [f32], out_rs: usize) {
        // SAFETY (every arm): as this function's.
        unsafe {
            match rows {
                6 => tile::<V, 6, C>(c, out, out_rs),
                5 => tile::<V, 5, C>(c, out, out_rs),
                4 => tile::<V, 4, C>(c, out, out_rs),
                3 => tile::<V, 3, C>(c, out, out_rs),
                2 => tile::<V, 2, C>(c, out, out_rs),
                _ => tile::<V, 1, C>(c, out, out_rs),
            }
        }
    }

    /// `R` channels by `C` registers of columns, block after block along the span; the
    /// last block's registers load and store only their first lanes.
    ///
    /// # Safety
    /// As [`rows_of`].
    #[inline(always)]
    unsafe fn tile<V: Vector, const R: usize, const C: usize>(c: Correlation<f32>, out: &mut [f32], out_rs: usize) {
        let taps = c.in_c * c.kernel.0 * c.kernel.1;
        let block = C * V::LANES;
        let (image, weights, out) = (c.image.as_ptr(), c.weights.as_ptr(), out.as_mut_ptr());
        let mut q0 = 0;
        while q0 < c.span {
            let cols = block.min(c.span - q0);
            let lanes = [0, 1, 2].map(|v| cols.saturating_sub(v * V::LANES).min(V::LANES));
            // SAFETY (every block): the reads and writes lie in the caller's buffers.
            let zero = unsafe { V::zero() };
            let [mut c00, mut c01, mut c02, mut c10, mut c11, mut c12] = [zero; 6];
            let [mut c20, mut c21, mut c22, mut c30, mut c31, mut c32] = [zero; 6];
            let [mut c40, mut c41, mut c42, mut c50, mut c51, mut c52] = [zero; 6];
            // One tap at `offset`: `$load(ptr, register)` reads a register's columns.
            macro_rules! tap {
                ($tap:expr, $offset:expr, $load:expr) => {{
                    tile_step!(V, R, C, image.wrapping_add($offset + q0), $load,
                        |r: usize| *weights.wrapping_add(r * taps + $tap),
                        [0: c00, c01, c02], [1: c10, c11, c12], [2: c20, c21, c22],
                        [3: c30, c31, c32], [4: c40, c41, c42], [5: c50, c51, c52]);
                }};
            }
            // Every tap, in order, with where in the padded image its first value lies
            // (loops here rather than a closure, which would hold the accumulators).
            macro_rules! taps {
                ($load:expr) => {{
                    let ((kh, kw), (padded_h, padded_w)) = (c.kernel, c.padded_hw);
                    let mut t = 0;
                    for channel in 0..c.in_c {
                        for ki in 0..kh {
                            let row = (channel * padded_h + ki) * padded_w;
                            for kj in 0..kw {
                                tap!(t, row + kj, $load);
                                t += 1;
                            }
                        }
                    }
                }};
            }
            unsafe {
                if cols == block {
                    taps!(|ptr, _| V::load(ptr));
                } else {
                    let load = |ptr, register: usize| match lanes[register] {
                        0 => V::zero(),
                        n => V::load_first(ptr, n),
                    };
                    taps!(load);
                }
                let results = [
                    [c00, c01, c02],
                    [c10, c11, c12],
                    [c20, c21, c22],
                    [c30, c31, c32],
                    [c40, c41, c42],
                    [c50, c51, c52],
                ];
                for (r, registers) in results.iter().enumerate().take(R) {
                    let row = out.wrapping_add(r * out_rs + q0);
                    for (v, &value) in registers.iter().enumerate().take(C) {
                        let ptr = row.wrapping_add(v * V::LANES);
                        match lanes[v] {
                            0 => {}
                            n if n == V::LANES => V::store(ptr, value),
                            n => V::store_first(ptr, n, value),
                        }
                    }
                }
            }
            q0 += block;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, in f64.
    fn reference<F: Float>(c: Correlation<F>, rows: usize) -> Vec<Vec<f64>> {
        let taps = c.in_c * c.kernel.0 * c.kernel.1;
        (0..rows)
            .map(|r| {
                let mut out = vec![0.0; c.span];
                for_each_tap(c, |tap, offset| {
                    for (q, out) in out.iter_mut().enumerate() {
                        *out += Float::to_f64(c.weights[r * taps + tap]) * Float::to_f64(c.image[offset + q]);
                    }
                });
                out
            })
            .collect()
    }

    fn check<F: Float>(kernel: Kernel) {
        let value = |i: usize| F::of(((i * 7) % 11) as f64 / 4.0 - 1.0);
        // Spans below, at and across whole blocks of three registers; kernels of 1 to 5.
        for (in_c, kernel_hw, padded_hw) in
            [(1, (5, 5), (32, 32)), (6, (5, 5), (14, 14)), (2, (3, 1), (4, 19)), (1, (1, 1), (1, 3))]
        {
            let ((kh, kw), (hp, wp)) = (kernel_hw, padded_hw);
            let span = (hp - kh) * wp + wp - kw + 1;
            let taps = in_c * kh * kw;
            let weights: Vec<F> = (0..MAX_ROWS * taps).map(|i| value(i + 5)).collect();
            let image: Vec<F> = (0..in_c * hp * wp).map(value).collect();
            let c = Correlation { weights: &weights, image: &image, in_c, kernel: kernel_hw, padded_hw, span };
            for rows in 1..=MAX_ROWS {
                let out_rs = span + 3;
                let mut out = vec![F::of(f64::NAN); (rows - 1) * out_rs + span + 3];
                correlate_on(kernel, c, rows, &mut out, out_rs);
                for (r, want) in reference(c, rows).iter().enumerate() {
                    let got: Vec<f64> = out[r * out_rs..][..span].iter().map(|&v| Float::to_f64(v)).collect();
                    // Quarters: every partial sum is exact, in any order.
                    assert_eq!(&got, want, "{in_c} channels, {kernel_hw:?} on {padded_hw:?}, {rows} rows, row {r}");
                    assert!(out[r * out_rs + span..][..3].iter().all(|v| v.is_nan()), "wrote past the span");
                }
            }
        }
    }

    /// The tiles cover the rows once, in order, in as few tiles as fit, their sizes within
    /// one of each other; every kernel's are at most [`MAX_ROWS`] tall.
    #[test]
    fn row_tiles_cover_the_rows() {
        for most in 1..=MAX_ROWS {
            for count in 1..40 {
                let tiles: Vec<(usize, usize)> = balanced_tiles(count, most).collect();
                let mut next = 0;
                for &(first, rows) in &tiles {
                    assert!(first == next && (1..=most).contains(&rows), "{count} by {most}: {tiles:?}");
                    next += rows;
                }
                assert_eq!((next, tiles.len()), (count, count.div_ceil(most)), "{tiles:?}");
                let sizes = tiles.iter().map(|&(_, rows)| rows);
                assert!(sizes.clone().max().unwrap() - sizes.min().unwrap() <= 1, "{tiles:?}");
            }
        }
        for kernel in Kernel::ALL {
            assert!((1..40).all(|count| row_tiles(kernel, count).all(|(_, rows)| rows <= MAX_ROWS)));
        }
    }

    /// Every kernel of this CPU (f32) and the plain loops (f64) give the definition, and
    /// write nothing past each row's span.
    #[test]
    fn every_kernel_correlates_as_the_definition() {
        for kernel in Kernel::available() {
            check::<f32>(kernel);
        }
        check::<f64>(kernel());
    }
}
