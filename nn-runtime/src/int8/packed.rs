//! The weight layout of the int8 matrix kernels, made once at bake time, and the dot
//! product of four packed rows with an input widened once.
//!
//! Rows go in blocks of four and columns in pairs. For block `b` and column pair `p`,
//! `words[b][p]` holds two words: rows 0–1 of the block, then rows 2–3, each as the bytes
//! `[r0[2p], r1[2p], r0[2p + 1], r1[2p + 1]]` (little-endian). On a Cortex-M4, `SXTB16`
//! of such a word widens row 0's pair to two 16-bit halves, and `SXTB16 …, ROR #8` row
//! 1's, ready for `SMLAD` against the input pair. The input is widened once per layer
//! to 16-bit pairs (a dense layer subtracts its zero point; a convolution starts from a
//! kernel bias that holds it). Padded rows and columns are zero.
//!
//! The widened layout (`WORDS = 4`) spends twice the bytes to spare the `SXTB16`s: per
//! column pair four words, row `r`'s pair as two 16-bit halves in word `r`, ready for
//! `SMLAD` as loaded. Layers whose weights meet many pixels take it (the macro decides).

/// `4·BLOCKS` rows × `2·PAIRS` columns of int8 weights in the kernels' layout: `WORDS`
/// words per column pair of a block, 2 (int8 bytes) or 4 (widened to 16 bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct Packed<const PAIRS: usize, const BLOCKS: usize, const WORDS: usize = 2> {
    /// Per block of four rows, per column pair: the words of rows 0–1 and rows 2–3, or
    /// (widened) of rows 0, 1, 2 and 3.
    pub words: [[[u32; WORDS]; PAIRS]; BLOCKS],
}

/// The column pairs that hold `cols` columns.
pub const fn pairs(cols: usize) -> usize {
    cols.div_ceil(2)
}

/// The blocks of four rows that hold `groups` groups of `rows_per_group` rows: each
/// group starts a block of its own, but groups of one row (depthwise) go four to a block.
pub const fn blocks(groups: usize, rows_per_group: usize) -> usize {
    if rows_per_group == 1 {
        groups.div_ceil(4)
    } else {
        groups * rows_per_group.div_ceil(4)
    }
}

/// The block and the row in it (of four) of group `group` when groups have one row
/// each and go four to a block ([`blocks`]).
pub(crate) const fn lone_row_slot(group: usize) -> (usize, usize) {
    (group / 4, group % 4)
}

/// The row of the `[groups · rows_per_group, cols]` matrix at row `row` (of four) of
/// block `block`, or `None` where the block is padding: see [`blocks`] (and, for groups
/// of one row, [`lone_row_slot`], whose inverse this is).
const fn matrix_row(block: usize, row: usize, groups: usize, rows_per_group: usize) -> Option<usize> {
    let (group, within) = if rows_per_group == 1 {
        (4 * block + row, 0)
    } else {
        let blocks_per_group = rows_per_group.div_ceil(4);
        (block / blocks_per_group, (block % blocks_per_group) * 4 + row)
    };
    if group < groups && within < rows_per_group {
        Some(group * rows_per_group + within)
    } else {
        None
    }
}

impl<const PAIRS: usize, const BLOCKS: usize, const WORDS: usize> Packed<PAIRS, BLOCKS, WORDS> {
    /// Packs the row-major `[groups · rows_per_group, cols]` matrix `w`, in blocks as
    /// [`blocks`] counts them: what a baked layer stores in flash.
    ///
    /// # Panics
    /// If `w` is not `groups · rows_per_group · cols` long, `PAIRS` and `BLOCKS` are not
    /// [`pairs`]`(cols)` and [`blocks`]`(groups, rows_per_group)`, or `WORDS` is neither 2
    /// nor 4 (in a `const`, a compile error).
    pub const fn pack(w: &[i8], groups: usize, rows_per_group: usize, cols: usize) -> Self {
        assert!(WORDS == 2 || WORDS == 4, "WORDS must be 2 (int8) or 4 (widened)");
        assert!(w.len() == groups * rows_per_group * cols, "the weights are not groups × rows × cols long");
        assert!(PAIRS == pairs(cols), "PAIRS must be cols.div_ceil(2)");
        assert!(BLOCKS == blocks(groups, rows_per_group), "BLOCKS must be blocks(groups, rows_per_group)");
        let mut words = [[[0u32; WORDS]; PAIRS]; BLOCKS];
        let mut block = 0;
        while block < BLOCKS {
            let mut pair = 0;
            while pair < PAIRS {
                let mut word = 0;
                while word < WORDS {
                    let mut bits = 0u32;
                    let mut value = 0;
                    while value < if WORDS == 2 { 4 } else { 2 } {
                        // Byte `value` of rows 0–1 (or 2–3), or a 16-bit half of row `word`.
                        let (row, col, shift) = if WORDS == 2 {
                            (2 * word + value % 2, 2 * pair + value / 2, 8 * value)
                        } else {
                            (word, 2 * pair + value, 16 * value)
                        };
                        if let (Some(row), true) = (matrix_row(block, row, groups, rows_per_group), col < cols) {
                            let weight = w[row * cols + col];
                            let field = if WORDS == 2 { weight as u8 as u32 } else { weight as i16 as u16 as u32 };
                            bits |= field << shift;
                        }
                        value += 1;
                    }
                    words[block][pair][word] = bits;
                    word += 1;
                }
                pair += 1;
            }
            block += 1;
        }
        Self { words }
    }

    /// The row-major `[groups · rows_per_group, cols]` matrix [`pack`](Self::pack) was
    /// given, written into `w`: what a saved int8 file stores.
    ///
    /// # Panics
    /// If `w` is not `groups · rows_per_group · cols` long.
    pub fn unpack(&self, groups: usize, rows_per_group: usize, cols: usize, w: &mut [i8]) {
        assert_eq!(w.len(), groups * rows_per_group * cols, "the weights are not groups × rows × cols long");
        for (block, pairs) in self.words.iter().enumerate() {
            for p in 0..PAIRS {
                for r in 0..4 {
                    let both = row_pair::<WORDS>(pairs.as_flattened(), p, r);
                    for (c, value) in [both as i16, (both >> 16) as i16].into_iter().enumerate() {
                        let col = 2 * p + c;
                        if let (Some(row), true) = (matrix_row(block, r, groups, rows_per_group), col < cols) {
                            w[row * cols + col] = value as i8;
                        }
                    }
                }
            }
        }
    }
}

/// Row `r`'s (of four) column pair `p` as two 16-bit values, from a block's `WORDS`
/// words per pair `w`: what `SXTB16` makes of an int8 word, or the widened word itself.
#[inline(always)]
pub(crate) fn row_pair<const WORDS: usize>(w: &[u32], p: usize, r: usize) -> u32 {
    if WORDS == 4 {
        w[4 * p + r]
    } else {
        let word = w[2 * p + r / 2] >> (8 * (r % 2));
        pair(i32::from(word as i8), i32::from((word >> 16) as i8))
    }
}

/// Two 16-bit values in one word, the first in the low half: `SMLAD`'s operand.
#[inline(always)]
pub(crate) fn pair(first: i32, second: i32) -> u32 {
    (first as u16 as u32) | ((second as u16 as u32) << 16)
}

/// Writes the input `x − zero_point` into `wide` as 16-bit pairs (a zero pads an odd
/// length): in place, so that a large layer's widened input is not copied.
#[inline]
pub(crate) fn widen<const PAIRS: usize>(x: &[i8], zero_point: i32, wide: &mut [u32; PAIRS]) {
    let (whole, odd) = x.as_chunks::<2>();
    for (w, &[a, b]) in wide.iter_mut().zip(whole) {
        *w = pair(i32::from(a) - zero_point, i32::from(b) - zero_point);
    }
    if let [last] = odd {
        wide[whole.len()] = pair(i32::from(*last) - zero_point, 0);
    }
}

/// `Σ_p row_r[p] · x[p]` for the four rows of one block on Cortex-M4/M7: the DSP
/// extension's loop, the same sums as the plain-Rust version of other targets.
#[cfg(arm_dsp)]
#[inline]
pub(crate) fn dot4<const PAIRS: usize>(w: &[[u32; 2]; PAIRS], x: &[u32; PAIRS]) -> [i32; 4] {
    super::dsp::dot4(w, x)
}

/// `Σ_p row_r[p] · x[p]` for the four rows of one block, in wrapping `i32` arithmetic
/// (exact for every layer nn builds, and the same result whatever the order). On
/// Cortex-M4/M7 the DSP extension's loop; elsewhere (the host, Cortex-M0) plain Rust.
#[cfg(not(arm_dsp))]
#[inline]
pub(crate) fn dot4<const PAIRS: usize>(w: &[[u32; 2]; PAIRS], x: &[u32; PAIRS]) -> [i32; 4] {
    let mut acc = [0i32; 4];
    for (&[w01, w23], &x) in w.iter().zip(x) {
        let (x0, x1) = (i32::from(x as i16), i32::from((x >> 16) as i16));
        for (r, word) in [w01, w01 >> 8, w23, w23 >> 8].into_iter().enumerate() {
            let (a, b) = (i32::from(word as i8), i32::from((word >> 16) as i8));
            acc[r] = acc[r].wrapping_add(a * x0).wrapping_add(b * x1);
        }
    }
    acc
}

/// Rows `2·half` and `2·half + 1` of one block (`w`: `WORDS` words per pair, as many
/// pairs as `x`) times two inputs `A` and `B` whose pairs are interleaved
/// (`x[p] = [A[p], B[p]]`), added to `acc`: `[row 0 · A, row 0 · B, row 1 · A, row 1 · B]`,
/// in wrapping `i32` arithmetic. On Cortex-M4/M7 the int8 layout takes the DSP
/// extension's loop; elsewhere, and widened, plain Rust.
#[inline]
pub(crate) fn dot2x2<const WORDS: usize>(w: &[u32], half: usize, x: &[[u32; 2]], acc: [i32; 4]) -> [i32; 4] {
    assert_eq!(w.len(), WORDS * x.len(), "the weights and the inputs hold different numbers of pairs");
    #[cfg(arm_dsp)]
    if WORDS == 2 {
        // SAFETY: reinterprets the words as the pairs they are (`[u32; 2]` has `u32`'s
        // alignment), `x.len()` of them.
        let w = unsafe { core::slice::from_raw_parts(w.as_ptr().cast::<[u32; 2]>(), x.len()) };
        return super::dsp::dot2x2(w, half, x, acc);
    }
    let mut acc = acc;
    for (p, &[a, b]) in x.iter().enumerate() {
        for r in 0..2 {
            let row = row_pair::<WORDS>(w, p, 2 * half + r);
            acc[2 * r] = super::insn::smlad(row, a, acc[2 * r]);
            acc[2 * r + 1] = super::insn::smlad(row, b, acc[2 * r + 1]);
        }
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_places_rows_and_columns_as_documented() {
        // Two groups of three rows, three columns: each group pads to one block of four
        // rows, the columns to two pairs.
        let w: [i8; 18] = core::array::from_fn(|i| i as i8 - 9);
        let packed = Packed::<2, 2>::pack(&w, 2, 3, 3);
        let at = |row: usize, col: usize| w[row * 3 + col] as u8 as u32;
        // Group 0, pair 0: rows 0 and 1 at columns 0 and 1, then row 2 beside zeros.
        assert_eq!(packed.words[0][0][0], at(0, 0) | at(1, 0) << 8 | at(0, 1) << 16 | at(1, 1) << 24);
        assert_eq!(packed.words[0][0][1], at(2, 0) | at(2, 1) << 16);
        // Pair 1 holds column 2 only.
        assert_eq!(packed.words[0][1][0], at(0, 2) | at(1, 2) << 8);
        // Group 1 starts its own block at row 3.
        assert_eq!(packed.words[1][1][1], at(5, 2));
        // Six groups of one row (depthwise) go four to a block: groups 4 and 5 are rows 0
        // and 1 of block 1, whose rows 2 and 3 are padding.
        let packed = Packed::<2, 2>::pack(&w, 6, 1, 3);
        assert_eq!(packed.words[1][0][0], at(4, 0) | at(5, 0) << 8 | at(4, 1) << 16 | at(5, 1) << 24);
        assert_eq!(packed.words[1][1][1], 0);
        assert_eq!(packed.words[0][1][1], at(2, 2) | at(3, 2) << 8);
    }

    #[test]
    fn unpack_gives_back_what_pack_was_given() {
        let w: [i8; 30] = core::array::from_fn(|i| (i as i8).wrapping_mul(53).wrapping_sub(90));
        let mut back = [0i8; 30];
        Packed::<3, 2>::pack(&w, 2, 3, 5).unpack(2, 3, 5, &mut back);
        assert_eq!(back, w);
        let mut back = [0i8; 30];
        Packed::<8, 1>::pack(&w, 1, 2, 15).unpack(1, 2, 15, &mut back);
        assert_eq!(back, w);
        let mut back = [0i8; 30];
        Packed::<3, 2, 4>::pack(&w, 2, 3, 5).unpack(2, 3, 5, &mut back);
        assert_eq!(back, w);
        let mut back = [0i8; 30];
        Packed::<3, 2>::pack(&w, 6, 1, 5).unpack(6, 1, 5, &mut back);
        assert_eq!(back, w);
    }

    #[test]
    fn the_widened_layout_holds_each_rows_pair_in_a_word() {
        let w: [i8; 18] = core::array::from_fn(|i| i as i8 - 9);
        let packed = Packed::<2, 2, 4>::pack(&w, 2, 3, 3);
        let at = |row: usize, col: usize| w[row * 3 + col] as i16 as u16 as u32;
        assert_eq!(packed.words[0][0][1], at(1, 0) | at(1, 1) << 16);
        // Column 2 beside the padding's zero, and row 3 of each block all zero.
        assert_eq!(packed.words[0][1][2], at(2, 2));
        assert_eq!(packed.words[1][0][3], 0);
        assert_eq!(packed.words[1][1][0], at(3, 2));
    }

    #[test]
    fn dot2x2_multiplies_two_rows_with_two_interleaved_inputs() {
        // 13 pairs: the eight-, four- and one-pair loops all run on Cortex-M4.
        let w: [i8; 4 * 26] = core::array::from_fn(|i| (i as i8).wrapping_mul(37).wrapping_sub(100));
        let xa: [i8; 26] = core::array::from_fn(|i| (i as i8).wrapping_mul(91).wrapping_add(3));
        let xb: [i8; 26] = core::array::from_fn(|i| (i as i8).wrapping_mul(-57).wrapping_add(7));
        let zero_point = 9;
        let packed = Packed::<13, 1>::pack(&w, 1, 4, 26);
        let (mut wide_a, mut wide_b) = ([0u32; 13], [0u32; 13]);
        widen(&xa, zero_point, &mut wide_a);
        widen(&xb, zero_point, &mut wide_b);
        let x: [[u32; 2]; 13] = core::array::from_fn(|p| [wide_a[p], wide_b[p]]);
        let dot = |r: usize, x: &[i8; 26]| -> i32 {
            (0..26).map(|c| i32::from(w[r * 26 + c]) * (i32::from(x[c]) - zero_point)).sum()
        };
        for half in 0..2 {
            let got = dot2x2::<2>(packed.words[0].as_flattened(), half, &x, [1, 2, 3, 4]);
            let widened = Packed::<13, 1, 4>::pack(&w, 1, 4, 26);
            assert_eq!(dot2x2::<4>(widened.words[0].as_flattened(), half, &x, [1, 2, 3, 4]), got, "half {half}");
            let (r0, r1) = (2 * half, 2 * half + 1);
            assert_eq!(got, [1 + dot(r0, &xa), 2 + dot(r0, &xb), 3 + dot(r1, &xa), 4 + dot(r1, &xb)], "half {half}");
        }
    }

    #[test]
    fn dot4_multiplies_every_row_with_the_widened_input() {
        let w: [i8; 20] = core::array::from_fn(|i| (i as i8).wrapping_mul(37).wrapping_sub(100));
        let x: [i8; 5] = [-128, 127, 3, -7, 55];
        let zero_point = -5;
        let packed = Packed::<3, 1>::pack(&w, 1, 4, 5);
        let mut wide = [0u32; 3];
        widen(&x, zero_point, &mut wide);
        let got = dot4(&packed.words[0], &wide);
        for (r, &got) in got.iter().enumerate() {
            let want: i32 = (0..5).map(|c| i32::from(w[r * 5 + c]) * (i32::from(x[c]) - zero_point)).sum();
            assert_eq!(got, want, "row {r}");
        }
    }
}
