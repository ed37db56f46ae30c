//! The input gradient of a stride-1 convolution by a direct kernel: `Wᵀ g` with each row
//! added onto the image where its tap reads, no `Wᵀ g` matrix stored and no col2im. In
//! wide columns (output `(oy, ox)` at `oy·Wp + ox`, `Wp` the padded width, gaps of `g`
//! zero) tap `t = (c, ki, kj)` of the padded image gradient gets
//!
//! `dx[c·Hp·Wp + ki·Wp + kj + q] += Σ_o w[o][t] · g[o][q]`
//!
//! for every column `q` of the image's span. A register tile of up to [`MAX_TAPS`] taps
//! (rows of `Wᵀ`, `[taps, out_c]`) by `C` vector registers of columns (three on AVX-512,
//! two on AVX2, as the forward's) sums over the output channels in registers (per channel
//! `C` loads of `g`, one broadcast per tap),
//! then adds each tap's registers onto the image at its offset. On x86-64 the f32 tile
//! runs on AVX-512 or AVX2 + FMA registers (the [`super::x86::Vector`] of the GEMM
//! micro-kernels); elsewhere, and for f64, plain loops.

use crate::simd::Kernel;
use crate::Float;

/// Taps of a tile, at most: as many as the forward's channels (`row_tiles` gives both).
pub(crate) const MAX_TAPS: usize = super::direct::MAX_ROWS;

/// One image's operands of [`scatter_add`].
#[derive(Clone, Copy)]
pub(crate) struct Scatter<'a, F> {
    /// The tile's rows of `Wᵀ`, `rows` rows of `out_c` values.
    pub weights: &'a [F],
    /// The output gradient, `out_c` rows of `span` columns, each `span` apart.
    pub grads: &'a [F],
    /// Output channels: the length of a row of `Wᵀ`.
    pub out_c: usize,
    /// Columns of the image's output.
    pub span: usize,
}

/// Adds `Σ_o weights[r·out_c + o] · grads[o·span + q]` to `out[offsets[r] + q]` for every
/// tile row `r < offsets.len()` and `q < span`, row after row, on `kernel` (which this
/// CPU runs).
///
/// # Panics
/// If there are more than `MAX_TAPS` offsets, the weights or gradients are shorter than
/// their sizes, or an offset's span lies past `out`.
pub(crate) fn scatter_add<F: Float>(kernel: Kernel, s: Scatter<F>, offsets: &[usize], out: &mut [F]) {
    let rows = offsets.len();
    assert!(rows <= MAX_TAPS, "a tile of {rows} rows");
    if rows == 0 || s.span == 0 {
        return;
    }
    assert!(
        s.weights.len() >= rows * s.out_c
            && s.grads.len() >= s.out_c * s.span
            && offsets.iter().all(|&offset| offset + s.span <= out.len()),
        "scatter_add reads or writes past its buffers"
    );
    if vector_tile(kernel, s, offsets, out) {
        return;
    }
    for (&offset, weights) in offsets.iter().zip(s.weights.chunks_exact(s.out_c.max(1))) {
        let out = &mut out[offset..][..s.span];
        for (&w, grads) in weights.iter().zip(s.grads.chunks_exact(s.span)) {
            for (out, &g) in out.iter_mut().zip(grads) {
                *out += w * g;
            }
        }
    }
}

/// The tile on `kernel`'s vector registers, for f32 on x86-64's AVX-512 or AVX2 (the
/// reads and writes checked by the caller); whether it ran.
#[cfg(target_arch = "x86_64")]
fn vector_tile<F: Float>(kernel: Kernel, s: Scatter<F>, offsets: &[usize], out: &mut [F]) -> bool {
    if std::any::TypeId::of::<F>() != std::any::TypeId::of::<f32>() {
        return false;
    }
    // SAFETY: `F` is `f32` (checked above), so the types are the same.
    let (s, out) =
        unsafe { (std::mem::transmute::<Scatter<F>, Scatter<f32>>(s), &mut *(out as *mut [F] as *mut [f32])) };
    match kernel {
        // SAFETY: the CPU runs the kernel's instruction set; the caller checked the reads
        // and writes.
        Kernel::Avx512 => unsafe { x86::avx512(s, offsets, out) },
        // SAFETY: as above.
        Kernel::Avx2 => unsafe { x86::avx2(s, offsets, out) },
        Kernel::Neon | Kernel::Portable => return false,
    }
    true
}

/// No vector tile on this target.
#[cfg(not(target_arch = "x86_64"))]
fn vector_tile<F: Float>(_: Kernel, _: Scatter<F>, _: &[usize], _: &mut [F]) -> bool {
    false
}

/// The f32 tiles on x86-64's vector registers.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::super::x86::{tile_step, Avx2, Avx512, Vector};
    use super::{Scatter, MAX_TAPS};

    /// [`super::scatter_add`] on AVX-512F registers.
    ///
    /// # Safety
    /// The CPU has AVX-512F; the reads and writes lie in their buffers.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn avx512(s: Scatter<f32>, offsets: &[usize], out: &mut [f32]) {
        // SAFETY: as this function's.
        unsafe { rows_of::<Avx512, 3>(s, offsets, out) }
    }

    /// [`super::scatter_add`] on AVX2 + FMA registers.
    ///
    /// # Safety
    /// The CPU has AVX2 and FMA; the reads and writes lie in their buffers.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn avx2(s: Scatter<f32>, offsets: &[usize], out: &mut [f32]) {
        // SAFETY: as this function's.
        unsafe { rows_of::<Avx2, 2>(s, offsets, out) }
    }

    /// The tile of `offsets.len()` rows by `C` registers of columns, its row count a
    /// constant of its own loop.
    ///
    /// # Safety
    /// As [`avx512`] or [`avx2`], inlined into the function of `V`'s extension.
    #[inline(always)]
    unsafe fn rows_of<V: Vector, const C: usize>(s: Scatter<f32>, offsets: &[usize], out: &mut [f32]) {
        let mut at = [0; MAX_TAPS];
        at[..offsets.len()].copy_from_slice(offsets);
        // SAFETY (every arm): as this function's.
        unsafe {
            match offsets.len() {
                6 => tile::<V, 6, C>(s, at, out),
                5 => tile::<V, 5, C>(s, at, out),
                4 => tile::<V, 4, C>(s, at, out),
                3 => tile::<V, 3, C>(s, at, out),
                2 => tile::<V, 2, C>(s, at, out),
                _ => tile::<V, 1, C>(s, at, out),
            }
        }
    }

    /// `R` rows by `C` registers of columns, block after block along the span; the last
    /// block's registers load and store only their first lanes.
    ///
    /// # Safety
    /// As [`rows_of`].
    #[inline(always)]
    unsafe fn tile<V: Vector, const R: usize, const C: usize>(
        s: Scatter<f32>,
        offsets: [usize; MAX_TAPS],
        out: &mut [f32],
    ) {
        let block = C * V::LANES;
        let (grads, weights, out) = (s.grads.as_ptr(), s.weights.as_ptr(), out.as_mut_ptr());
        let mut q0 = 0;
        while q0 < s.span {
            let cols = block.min(s.span - q0);
            let lanes = [0, 1, 2].map(|v| cols.saturating_sub(v * V::LANES).min(V::LANES));
            // SAFETY (every block): the reads and writes lie in the caller's buffers.
            let zero = unsafe { V::zero() };
            let [mut c00, mut c01, mut c02, mut c10, mut c11, mut c12] = [zero; 6];
            let [mut c20, mut c21, mut c22, mut c30, mut c31, mut c32] = [zero; 6];
            let [mut c40, mut c41, mut c42, mut c50, mut c51, mut c52] = [zero; 6];
            // Every output channel: `$load(ptr, register)` reads a register's columns.
            macro_rules! channels {
                ($load:expr) => {{
                    for o in 0..s.out_c {
                        tile_step!(V, R, C, grads.wrapping_add(o * s.span + q0), $load,
                            |r: usize| *weights.wrapping_add(r * s.out_c + o),
                            [0: c00, c01, c02], [1: c10, c11, c12], [2: c20, c21, c22],
                            [3: c30, c31, c32], [4: c40, c41, c42], [5: c50, c51, c52]);
                    }
                }};
            }
            unsafe {
                if cols == block {
                    channels!(|ptr, _| V::load(ptr));
                } else {
                    let load = |ptr, register: usize| match lanes[register] {
                        0 => V::zero(),
                        n => V::load_first(ptr, n),
                    };
                    channels!(load);
                }
                // Row after row, so that rows whose columns overlap each add in turn.
                let results = [
                    [c00, c01, c02],
                    [c10, c11, c12],
                    [c20, c21, c22],
                    [c30, c31, c32],
                    [c40, c41, c42],
                    [c50, c51, c52],
                ];
                for (r, registers) in results.iter().enumerate().take(R) {
                    let row = out.wrapping_add(offsets[r] + q0);
                    for (v, &value) in registers.iter().enumerate().take(C) {
                        let ptr = row.wrapping_add(v * V::LANES);
                        match lanes[v] {
                            0 => {}
                            n if n == V::LANES => V::store(ptr, V::add(V::load(ptr), value)),
                            n => V::store_first(ptr, n, V::add(V::load_first(ptr, n), value)),
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

    /// Every kernel of this CPU (f32) and the plain loops (f64) add the definition onto
    /// what `out` held, with rows whose columns overlap, and write nothing else.
    #[test]
    fn every_kernel_adds_the_definition() {
        fn check<F: Float>(kernel: Kernel) {
            let value = |i: usize| F::of(((i * 7) % 11) as f64 / 4.0 - 1.0);
            // Spans below, at and across whole blocks of three registers.
            for (out_c, span) in [(1, 1), (16, 136), (3, 47), (6, 48), (2, 49), (5, 100)] {
                let weights: Vec<F> = (0..MAX_TAPS * out_c).map(|i| value(i + 3)).collect();
                let grads: Vec<F> = (0..out_c * span).map(value).collect();
                let s = Scatter { weights: &weights, grads: &grads, out_c, span };
                for rows in 1..=MAX_TAPS {
                    let offsets: Vec<usize> = (0..rows).map(|r| [0, 1, 5, 2, 4, 3][r] + 3).collect();
                    let len = 3 + 5 + span + 3;
                    let start: Vec<F> = (0..len).map(|i| value(i + 1)).collect();
                    let mut want: Vec<f64> = start.iter().map(|&v| Float::to_f64(v)).collect();
                    for (r, &offset) in offsets.iter().enumerate() {
                        for q in 0..span {
                            let sum: f64 = (0..out_c)
                                .map(|o| Float::to_f64(weights[r * out_c + o]) * Float::to_f64(grads[o * span + q]))
                                .sum();
                            want[offset + q] += sum;
                        }
                    }
                    let mut out = start.clone();
                    scatter_add(kernel, s, &offsets, &mut out);
                    let got: Vec<f64> = out.iter().map(|&v| Float::to_f64(v)).collect();
                    // Quarters: every partial sum is exact, in any order.
                    assert_eq!(got, want, "{out_c} channels, span {span}, {rows} rows");
                }
            }
        }
        for kernel in Kernel::available() {
            check::<f32>(kernel);
        }
        check::<f64>(crate::simd::kernel());
    }
}
