//! Sums of products of rows with shifted runs of one buffer: the weight gradient of a
//! stride-1 convolution, each tap one dot product of an output gradient's row with the
//! image shifted by the tap, read where both lie (no im2col matrix, nothing packed).
//!
//! A register tile of up to [`MAX_ROWS`] rows by [`MAX_SHIFTS`] adjacent shifts shares its
//! loads: each step loads the rows once and each shifted run once for `rows · shifts`
//! multiply-adds into one accumulator register each, summed across lanes once at the
//! end. On x86-64 the f32 tile runs on AVX-512 or AVX2 + FMA registers (the
//! [`super::x86::Vector`] the GEMM micro-kernels use); elsewhere, and for f64, on
//! [`LANES`] interleaved partial sums.

use crate::simd::{kernel, Kernel};
use crate::Float;

/// Rows of a tile.
pub(crate) const MAX_ROWS: usize = 2;
/// Shifts of a tile.
pub(crate) const MAX_SHIFTS: usize = 5;
/// Partial sums per (row, shift) pair of the portable tile.
const LANES: usize = 8;

/// `n` pairs of operands of [`shifted_dots`]: in pair `i`, row `r` is the `len` values
/// of `a` from `r·a_rs + i·a_step`, and shift `s` the `len` values of `b` from
/// `s + i·b_step`.
#[derive(Clone, Copy)]
pub(crate) struct Shifted<'a, F> {
    /// The rows' buffer.
    pub a: &'a [F],
    /// From one row to the next.
    pub a_rs: usize,
    /// From one pair's rows to the next's.
    pub a_step: usize,
    /// The shifted runs' buffer.
    pub b: &'a [F],
    /// From one pair's runs to the next's.
    pub b_step: usize,
    /// Pairs.
    pub n: usize,
    /// Values per row and per run.
    pub len: usize,
}

/// `sums[r][s] = Σ_i Σ_{q < len} a[r·a_rs + i·a_step + q] · b[s + i·b_step + q]` for
/// `r < rows`, `s < shifts` (the rest zero).
///
/// # Panics
/// If `rows > MAX_ROWS`, `shifts > MAX_SHIFTS`, or a row or run of some pair lies
/// outside its buffer.
pub(crate) fn shifted_dots<F: Float>(d: Shifted<F>, rows: usize, shifts: usize) -> [[F; MAX_SHIFTS]; MAX_ROWS] {
    shifted_dots_on(kernel(), d, rows, shifts)
}

/// [`shifted_dots`] on `kernel`, which this CPU runs.
fn shifted_dots_on<F: Float>(kernel: Kernel, d: Shifted<F>, rows: usize, shifts: usize) -> [[F; MAX_SHIFTS]; MAX_ROWS] {
    assert!(rows <= MAX_ROWS && shifts <= MAX_SHIFTS, "a tile of {rows} × {shifts}");
    let mut sums = [[F::zero(); MAX_SHIFTS]; MAX_ROWS];
    if rows == 0 || shifts == 0 || d.n == 0 || d.len == 0 {
        return sums;
    }
    let last = d.n - 1;
    assert!(
        (rows - 1) * d.a_rs + last * d.a_step + d.len <= d.a.len() && shifts - 1 + last * d.b_step + d.len <= d.b.len(),
        "shifted_dots reads past its buffers"
    );
    if let Some(tile) = vector_tile(kernel, d, rows, shifts) {
        for (sums, tile) in sums.iter_mut().zip(tile) {
            for (sum, t) in sums.iter_mut().zip(tile) {
                *sum = F::of(f64::from(t));
            }
        }
        return sums;
    }
    portable(d, rows, shifts, &mut sums);
    sums
}

/// The tile on `kernel`'s vector registers, for f32 on x86-64's AVX-512 or AVX2 (the
/// reads checked by the caller); `None` elsewhere.
#[cfg(target_arch = "x86_64")]
fn vector_tile<F: Float>(
    kernel: Kernel,
    d: Shifted<F>,
    rows: usize,
    shifts: usize,
) -> Option<[[f32; MAX_SHIFTS]; MAX_ROWS]> {
    if std::any::TypeId::of::<F>() != std::any::TypeId::of::<f32>() {
        return None;
    }
    // SAFETY: `F` is `f32` (checked above), so the two types are the same.
    let d = unsafe { std::mem::transmute::<Shifted<F>, Shifted<f32>>(d) };
    match kernel {
        // SAFETY: the CPU runs the kernel's instruction set; the caller checked the reads.
        Kernel::Avx512 => Some(unsafe { x86::avx512(d, rows, shifts) }),
        // SAFETY: as above.
        Kernel::Avx2 => Some(unsafe { x86::avx2(d, rows, shifts) }),
        Kernel::Neon | Kernel::Portable => None,
    }
}

/// No vector tile on this target.
#[cfg(not(target_arch = "x86_64"))]
fn vector_tile<F: Float>(_: Kernel, _: Shifted<F>, _: usize, _: usize) -> Option<[[f32; MAX_SHIFTS]; MAX_ROWS]> {
    None
}

/// [`shifted_dots`] on [`LANES`] partial sums per pair, for any scalar and target.
fn portable<F: Float>(d: Shifted<F>, rows: usize, shifts: usize, sums: &mut [[F; MAX_SHIFTS]; MAX_ROWS]) {
    let mut acc = [[[F::zero(); LANES]; MAX_SHIFTS]; MAX_ROWS];
    let full = d.len - d.len % LANES;
    for i in 0..d.n {
        for (r, acc) in acc.iter_mut().enumerate().take(rows) {
            let row = &d.a[r * d.a_rs + i * d.a_step..][..d.len];
            for (s, acc) in acc.iter_mut().enumerate().take(shifts) {
                let run = &d.b[s + i * d.b_step..][..d.len];
                for (a, b) in row.chunks_exact(LANES).zip(run.chunks_exact(LANES)) {
                    for ((sum, &a), &b) in acc.iter_mut().zip(a).zip(b) {
                        *sum += a * b;
                    }
                }
                for (sum, (&a, &b)) in acc.iter_mut().zip(row[full..].iter().zip(&run[full..])) {
                    *sum += a * b;
                }
            }
        }
    }
    for (sums, acc) in sums.iter_mut().zip(&acc).take(rows) {
        for (sum, lanes) in sums.iter_mut().zip(acc).take(shifts) {
            *sum = lanes.iter().fold(F::zero(), |total, &lane| total + lane);
        }
    }
}

/// The f32 tiles on x86-64's vector registers.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::super::x86::{Avx2, Avx512, Vector};
    use super::{Shifted, MAX_ROWS, MAX_SHIFTS};

    /// [`super::shifted_dots`] on AVX-512F registers.
    ///
    /// # Safety
    /// The CPU has AVX-512F; every row and run lies in its buffer.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn avx512(d: Shifted<f32>, rows: usize, shifts: usize) -> [[f32; MAX_SHIFTS]; MAX_ROWS] {
        // SAFETY: as this function's.
        unsafe { tile_of::<Avx512>(d, rows, shifts) }
    }

    /// [`super::shifted_dots`] on AVX2 + FMA registers.
    ///
    /// # Safety
    /// The CPU has AVX2 and FMA; every row and run lies in its buffer.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn avx2(d: Shifted<f32>, rows: usize, shifts: usize) -> [[f32; MAX_SHIFTS]; MAX_ROWS] {
        // SAFETY: as this function's.
        unsafe { tile_of::<Avx2>(d, rows, shifts) }
    }

    /// The tile of `rows × shifts`, each size a constant of its own loop.
    ///
    /// # Safety
    /// As [`avx512`] or [`avx2`], inlined into the function of `V`'s extension.
    #[inline(always)]
    unsafe fn tile_of<V: Vector>(d: Shifted<f32>, rows: usize, shifts: usize) -> [[f32; MAX_SHIFTS]; MAX_ROWS] {
        // SAFETY (every arm): as this function's.
        unsafe {
            match (rows, shifts) {
                (2, 5) => tile::<V, 2, 5>(d),
                (2, 4) => tile::<V, 2, 4>(d),
                (2, 3) => tile::<V, 2, 3>(d),
                (2, 2) => tile::<V, 2, 2>(d),
                (2, _) => tile::<V, 2, 1>(d),
                (_, 5) => tile::<V, 1, 5>(d),
                (_, 4) => tile::<V, 1, 4>(d),
                (_, 3) => tile::<V, 1, 3>(d),
                (_, 2) => tile::<V, 1, 2>(d),
                _ => tile::<V, 1, 1>(d),
            }
        }
    }

    /// `R × S` accumulator registers (`R ≤ 2`, `S ≤ 5`): per step, `R` loads of rows,
    /// `S` of shifted runs, `R·S` fused multiply-adds; the last, partial step by loads of
    /// the first lanes.
    ///
    /// # Safety
    /// As [`tile_of`].
    #[inline(always)]
    unsafe fn tile<V: Vector, const R: usize, const S: usize>(d: Shifted<f32>) -> [[f32; MAX_SHIFTS]; MAX_ROWS] {
        // Named accumulators, one register each: as an array, indexed in loops, LLVM
        // stored every multiply-add back to the stack.
        // SAFETY (every block): every row and run of `len` values lies in its buffer.
        let zero = unsafe { V::zero() };
        let [mut c00, mut c01, mut c02, mut c03, mut c04] = [zero; MAX_SHIFTS];
        let [mut c10, mut c11, mut c12, mut c13, mut c14] = [zero; MAX_SHIFTS];
        let full = d.len - d.len % V::LANES;
        let (a, b) = (d.a.as_ptr(), d.b.as_ptr());
        for i in 0..d.n {
            let (row0, row1) = (a.wrapping_add(i * d.a_step), a.wrapping_add(d.a_rs + i * d.a_step));
            let runs = b.wrapping_add(i * d.b_step);
            // One step at column `q`; `$load` reads a register's worth, or its first lanes.
            macro_rules! step {
                ($q:expr, $load:expr) => {{
                    let q = $q;
                    let x0 = $load(row0.wrapping_add(q));
                    let x1 = if R > 1 { $load(row1.wrapping_add(q)) } else { zero };
                    let y = $load(runs.wrapping_add(q));
                    c00 = V::mul_add(x0, y, c00);
                    if R > 1 {
                        c10 = V::mul_add(x1, y, c10);
                    }
                    if S > 1 {
                        let y = $load(runs.wrapping_add(q + 1));
                        c01 = V::mul_add(x0, y, c01);
                        if R > 1 {
                            c11 = V::mul_add(x1, y, c11);
                        }
                    }
                    if S > 2 {
                        let y = $load(runs.wrapping_add(q + 2));
                        c02 = V::mul_add(x0, y, c02);
                        if R > 1 {
                            c12 = V::mul_add(x1, y, c12);
                        }
                    }
                    if S > 3 {
                        let y = $load(runs.wrapping_add(q + 3));
                        c03 = V::mul_add(x0, y, c03);
                        if R > 1 {
                            c13 = V::mul_add(x1, y, c13);
                        }
                    }
                    if S > 4 {
                        let y = $load(runs.wrapping_add(q + 4));
                        c04 = V::mul_add(x0, y, c04);
                        if R > 1 {
                            c14 = V::mul_add(x1, y, c14);
                        }
                    }
                }};
            }
            unsafe {
                for q in (0..full).step_by(V::LANES) {
                    step!(q, |ptr| V::load(ptr));
                }
                if full < d.len {
                    step!(full, |ptr| V::load_first(ptr, d.len - full));
                }
            }
        }
        let mut sums = [[0.0; MAX_SHIFTS]; MAX_ROWS];
        for (sums, acc) in sums.iter_mut().zip([[c00, c01, c02, c03, c04], [c10, c11, c12, c13, c14]]).take(R) {
            for (sum, lanes) in sums.iter_mut().zip(acc).take(S) {
                let mut values = [0.0f32; 16];
                unsafe { V::store(values.as_mut_ptr(), lanes) };
                *sum = values[..V::LANES].iter().sum();
            }
        }
        sums
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, in f64.
    fn reference<F: Float>(d: Shifted<F>, rows: usize, shifts: usize) -> [[f64; MAX_SHIFTS]; MAX_ROWS] {
        let mut sums = [[0.0; MAX_SHIFTS]; MAX_ROWS];
        for (r, sums) in sums.iter_mut().enumerate().take(rows) {
            for (s, sum) in sums.iter_mut().enumerate().take(shifts) {
                for i in 0..d.n {
                    for q in 0..d.len {
                        *sum += Float::to_f64(d.a[r * d.a_rs + i * d.a_step + q])
                            * Float::to_f64(d.b[s + i * d.b_step + q]);
                    }
                }
            }
        }
        sums
    }

    fn check<F: Float>(kernel: Kernel) {
        let value = |i: usize| F::of(((i * 7) % 11) as f64 / 4.0 - 1.0);
        let a: Vec<F> = (0..2000).map(value).collect();
        let b: Vec<F> = (0..2000).map(|i| value(i + 3)).collect();
        // Lengths below, at and across whole registers; one pair and several.
        for (len, n) in [(1, 1), (7, 2), (16, 1), (37, 3), (136, 4)] {
            let d = Shifted { a: &a, a_rs: 450, a_step: len + 3, b: &b, b_step: 400, n, len };
            for (rows, shifts) in [(2, 5), (1, 5), (2, 3), (1, 1), (2, 2)] {
                let got = shifted_dots_on(kernel, d, rows, shifts);
                let want = reference(d, rows, shifts);
                // Quarters: every partial sum is exact, in any order.
                for (got, want) in got.iter().zip(&want) {
                    let got: Vec<f64> = got.iter().map(|&v| Float::to_f64(v)).collect();
                    assert_eq!(got, want, "len {len}, n {n}, {rows} × {shifts}");
                }
            }
        }
    }

    /// Every kernel of this CPU (f32) and the portable tile (f64) give the definition.
    #[test]
    fn every_kernel_sums_as_the_definition() {
        for kernel in Kernel::available() {
            check::<f32>(kernel);
        }
        check::<f64>(kernel());
    }

    #[test]
    #[should_panic(expected = "reads past its buffers")]
    fn reads_past_the_buffers_are_refused() {
        let a = [1.0f32; 10];
        shifted_dots(Shifted { a: &a, a_rs: 5, a_step: 0, b: &a, b_step: 0, n: 1, len: 6 }, 2, 1);
    }
}
