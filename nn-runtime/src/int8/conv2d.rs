//! A `Conv2d` layer in int8, groups (depthwise included) and non-square kernels,
//! strides and paddings. Depthwise 3×3 layers run a direct kernel per channel plane
//! ([`depthwise`](super::depthwise)); the others gather the patches of two output pixels
//! at once (im2col), widened and interleaved pair by pair, and multiply two rows of the
//! [`Packed`] weights with both ([`dot2x2`]).

use super::depthwise;
use super::packed::{blocks, dot2x2, lone_row_slot, pair, pairs, Packed};
use super::requant::{apply_2x2, requantize, Multiplier, Requantize, Short};

/// Kernel size, stride, zero padding (each `[height, width]`) and groups of a `Conv2d`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    /// `[kh, kw]`.
    pub kernel: [usize; 2],
    /// `[sh, sw]`.
    pub stride: [usize; 2],
    /// `[ph, pw]`, on both sides of each axis.
    pub padding: [usize; 2],
    /// Input and output channels split into this many independent groups.
    pub groups: usize,
}

impl Geometry {
    /// PyTorch's output length along `axis` (0 = height) for an input of `len`, or `None`
    /// when the padded input is shorter than the kernel.
    pub const fn output_len(&self, axis: usize, len: usize) -> Option<usize> {
        let padded = len + 2 * self.padding[axis];
        if padded < self.kernel[axis] || self.stride[axis] == 0 {
            return None;
        }
        Some((padded - self.kernel[axis]) / self.stride[axis] + 1)
    }
}

/// An int8 `Conv2d` from `[C, H, W]` to `[OC, OH, OW]`, its `[OC, C/groups, kh, kw]`
/// weights [`Packed`] per group (`PAIRS = (C/groups · kh · kw).div_ceil(2)`,
/// `BLOCKS = groups · (OC/groups).div_ceil(4)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2d<
    const C: usize,
    const H: usize,
    const W: usize,
    const OC: usize,
    const OH: usize,
    const OW: usize,
    const PAIRS: usize,
    const BLOCKS: usize,
    const WORDS: usize = 2,
> {
    /// The weights, symmetric per output channel: int8 (`WORDS = 2`) or widened to 16
    /// bits (`WORDS = 4`, ungrouped layers only).
    pub weights: Packed<PAIRS, BLOCKS, WORDS>,
    /// The int32 bias of each output channel, in units of `s_in · s_w[o]`.
    pub bias: [i32; OC],
    /// `bias − zp_in · Σ w` per output channel: where the kernels' sums start, as they
    /// read the input without its zero point (the padding reads as `zp_in`).
    pub kernel_bias: [i32; OC],
    /// Multipliers, output zero point and fused-ReLU clamp.
    pub requantize: Requantize<OC>,
    /// The input's zero point (what padding stands for: it adds nothing to a sum).
    pub input_zero_point: i32,
    /// Kernel, stride, padding and groups.
    pub geometry: Geometry,
    /// Whether every accumulator this layer can reach lets the short requantisation
    /// ([`Requantize::short_form_holds`]) stand for the general one.
    pub short_requantize: bool,
}

impl<
        const C: usize,
        const H: usize,
        const W: usize,
        const OC: usize,
        const OH: usize,
        const OW: usize,
        const PAIRS: usize,
        const BLOCKS: usize,
        const WORDS: usize,
    > Conv2d<C, H, W, OC, OH, OW, PAIRS, BLOCKS, WORDS>
{
    /// The layer with PyTorch's `[OC, C/groups, kh, kw]` int8 weight flattened row-major
    /// into `weight`, packed (in a `const`, at compile time).
    ///
    /// # Panics
    /// If the sizes do not fit together (in a `const`, a compile error).
    pub const fn new(
        weight: &[i8],
        bias: [i32; OC],
        requantize: Requantize<OC>,
        input_zero_point: i32,
        geometry: Geometry,
    ) -> Self {
        let g = geometry.groups;
        assert!(g > 0 && C.is_multiple_of(g) && OC.is_multiple_of(g), "groups must divide both channel counts");
        assert!(WORDS == 2 || g == 1, "only ungrouped convolutions take widened weights");
        let cols = C / g * geometry.kernel[0] * geometry.kernel[1];
        assert!(PAIRS == pairs(cols) && BLOCKS == blocks(g, OC / g), "PAIRS or BLOCKS do not fit the kernel");
        assert!(
            matches!(geometry.output_len(0, H), Some(oh) if oh == OH)
                && matches!(geometry.output_len(1, W), Some(ow) if ow == OW),
            "OH × OW is not the output size of the geometry"
        );
        assert!(weight.len() == OC * cols, "the weights are not OC × C/groups × kh × kw long");
        // The largest |acc| of any channel, |bias| + Σ |w| · max |x − zp|, and each
        // channel's kernel bias, in one pass (a baked model evaluates this at compile time).
        let deviation = if input_zero_point > -1 { input_zero_point + 128 } else { 127 - input_zero_point };
        let mut bound = 0i64;
        let mut kernel_bias = bias;
        let mut o = 0;
        while o < OC {
            let (mut magnitude, mut sum) = (0i64, 0i32);
            let mut k = 0;
            while k < cols {
                let w = weight[o * cols + k];
                magnitude += (w as i64).abs();
                sum = sum.wrapping_add(w as i32);
                k += 1;
            }
            let reach = (bias[o] as i64).abs() + magnitude * deviation as i64;
            if reach > bound {
                bound = reach;
            }
            kernel_bias[o] = bias[o].wrapping_sub(input_zero_point.wrapping_mul(sum));
            o += 1;
        }
        Self {
            weights: Packed::pack(weight, g, OC / g, cols),
            bias,
            kernel_bias,
            requantize,
            input_zero_point,
            geometry,
            short_requantize: requantize.short_form_holds(bound),
        }
    }

    /// The int8 output for the int8 image `x`: integer arithmetic only, the same bits on
    /// every target.
    #[inline]
    pub fn infer(&self, x: &[[[i8; W]; H]; C]) -> [[[i8; OW]; OH]; OC] {
        let mut y = [[[0i8; OW]; OH]; OC];
        self.infer_into(x, &mut y);
        y
    }

    /// [`infer`](Self::infer) into `y`, a buffer the caller provides (an arena's slot).
    #[inline]
    pub fn infer_into(&self, x: &[[[i8; W]; H]; C], y: &mut [[[i8; OW]; OH]; OC]) {
        let mut shorts = [Short::default(); OC];
        if self.short_requantize {
            for (short, &multiplier) in shorts.iter_mut().zip(&self.requantize.multipliers) {
                *short = Short::new(multiplier, self.requantize.zero_point);
            }
        }
        let view = View {
            words: self.weights.words.as_flattened().as_flattened(),
            wide: WORDS == 4,
            shorts: &shorts,
            pairs: PAIRS,
            bias: &self.kernel_bias,
            multipliers: &self.requantize.multipliers,
            zero_point: self.requantize.zero_point,
            act_min: self.requantize.act_min,
            input_zero_point: self.input_zero_point,
            geometry: self.geometry,
            sizes: [C, H, W, OC, OH, OW],
        };
        let (x, y) = (x.as_flattened().as_flattened(), y.as_flattened_mut().as_flattened_mut());
        if depthwise::serves::<C, H, W, OC>(&self.geometry) {
            self.depthwise(&view, x, y);
        } else {
            self.gemm(&view, x, y);
        }
    }

    /// The depthwise kernel with its stripe: a function of its own, so that the other
    /// kernel's buffers are not on the stack beside the stripe.
    #[inline(never)]
    fn depthwise(&self, view: &View<'_>, x: &[i8], y: &mut [i8]) {
        let mut room = depthwise::Plane::<W>::new();
        let plane = room.halves();
        match self.short_requantize {
            true => depthwise::infer::<true>(view, x, y, plane),
            false => depthwise::infer::<false>(view, x, y, plane),
        }
    }

    /// The im2col kernel with its patches, a function of its own as [`Self::depthwise`] is.
    #[inline(never)]
    fn gemm(&self, view: &View<'_>, x: &[i8], y: &mut [i8]) {
        let (mut patches, mut offsets) = ([[0u32; 2]; PAIRS], [[0u32; 2]; PAIRS]);
        match self.short_requantize {
            true => im2col_gemm::<true>(view, x, y, &mut patches, &mut offsets),
            false => im2col_gemm::<false>(view, x, y, &mut patches, &mut offsets),
        }
    }
}

/// A [`Conv2d`]'s parameters as slices and its sizes as numbers: what the kernels take,
/// so that one copy of their code serves every layer.
pub(crate) struct View<'a> {
    /// The packed weights, block after block (`pairs` column pairs each, of 2 words or,
    /// widened, 4).
    pub(crate) words: &'a [u32],
    /// Whether the weights are widened to 16 bits (4 words per column pair).
    pub(crate) wide: bool,
    /// Column pairs per block.
    pub(crate) pairs: usize,
    /// Per output channel, where its sum starts: [`Conv2d::kernel_bias`].
    pub(crate) bias: &'a [i32],
    /// Per output channel.
    pub(crate) multipliers: &'a [Multiplier],
    /// Per output channel, the short requantisation's constants (when it holds).
    pub(crate) shorts: &'a [Short],
    /// The output's zero point.
    pub(crate) zero_point: i32,
    /// The output's lower clamp.
    pub(crate) act_min: i32,
    /// The input's zero point.
    pub(crate) input_zero_point: i32,
    /// Kernel, stride, padding and groups.
    pub(crate) geometry: Geometry,
    /// `[C, H, W, OC, OH, OW]`.
    pub(crate) sizes: [usize; 6],
}

impl View<'_> {
    /// The words of one column pair of a block: 2, or 4 widened.
    #[inline(always)]
    pub(crate) fn words_per_pair(&self) -> usize {
        if self.wide {
            4
        } else {
            2
        }
    }

    /// [`dot2x2`] of the block `words` in this layer's layout.
    #[inline(always)]
    fn dot2x2(&self, words: &[u32], half: usize, patches: &[[u32; 2]], acc: [i32; 4]) -> [i32; 4] {
        if self.wide {
            dot2x2::<4>(words, half, patches, acc)
        } else {
            dot2x2::<2>(words, half, patches, acc)
        }
    }

    /// Channel `o`'s requantisation: [`Short`] when `SHORT` (which
    /// [`Conv2d::short_requantize`] allows), else the general one.
    #[inline(always)]
    pub(crate) fn channel<const SHORT: bool>(&self, o: usize) -> impl Fn(i32) -> i8 {
        let (zero_point, act_min) = (self.zero_point, self.act_min);
        let (short, multiplier) =
            if SHORT { (self.shorts[o], Multiplier::ZERO) } else { (Short::default(), self.multipliers[o]) };
        move |acc| {
            if SHORT {
                short.apply(acc, act_min)
            } else {
                requantize(acc, multiplier, zero_point, act_min)
            }
        }
    }
}

/// Every group and pair of output pixels of `layer`: both patches gathered into
/// `patches`, then each pair of weight rows times both. `offsets` is room for the
/// columns' input offsets.
fn im2col_gemm<const SHORT: bool>(
    layer: &View<'_>,
    x: &[i8],
    y: &mut [i8],
    patches: &mut [[u32; 2]],
    offsets: &mut [[u32; 2]],
) {
    let Geometry { kernel: [kh, kw], groups, .. } = layer.geometry;
    let [c, h, w, oc, oh, ow] = layer.sizes;
    let (in_per_group, out_per_group) = (c / groups, oc / groups);
    let blocks_per_group = out_per_group.div_ceil(4);
    let pixels = oh * ow;
    // Where each column's input sits, from the window's top-left corner in its group's
    // first channel (an odd last column's partner repeats it: its weight is 0).
    let mut k = 0;
    for c in 0..in_per_group {
        for ky in 0..kh {
            for kx in 0..kw {
                offsets[k / 2][k % 2] = ((c * h + ky) * w + kx) as u32;
                k += 1;
            }
        }
    }
    if k % 2 == 1 {
        offsets[k / 2][1] = offsets[k / 2][0];
    }
    for g in 0..groups {
        let group = &x[g * in_per_group * h * w..(g + 1) * in_per_group * h * w];
        for first in (0..pixels).step_by(2) {
            let second = first + 1 < pixels;
            if second {
                gather_both(layer, group, offsets, first, patches);
            } else {
                gather(layer, group, offsets, first, 0, patches);
            }
            if SHORT && second && out_per_group % 2 == 0 {
                rows_2x2(layer, [g * out_per_group, g * blocks_per_group], out_per_group, first, patches, y);
                continue;
            }
            if out_per_group == 1 {
                // Groups of one row go four to a block.
                let per_block = layer.words_per_pair() * layer.pairs;
                let (block, row) = lone_row_slot(g);
                let words = &layer.words[block * per_block..(block + 1) * per_block];
                let acc = layer.dot2x2(words, row / 2, patches, [layer.bias[g]; 4]);
                let output = layer.channel::<SHORT>(g);
                let at = g * pixels + first;
                y[at] = output(acc[2 * (row % 2)]);
                if second {
                    y[at + 1] = output(acc[2 * (row % 2) + 1]);
                }
                continue;
            }
            for b in 0..blocks_per_group {
                let block = g * blocks_per_group + b;
                let per_block = layer.words_per_pair() * layer.pairs;
                let words = &layer.words[block * per_block..(block + 1) * per_block];
                for half in 0..2 {
                    let r = 4 * b + 2 * half;
                    if r >= out_per_group {
                        break;
                    }
                    let o = g * out_per_group + r;
                    let next = r + 1 < out_per_group;
                    let (b0, b1) = (layer.bias[o], if next { layer.bias[o + 1] } else { 0 });
                    let [a0, b0, a1, b1] = layer.dot2x2(words, half, patches, [b0, b0, b1, b1]);
                    let at = o * pixels + first;
                    assert!(at + usize::from(next) * pixels + usize::from(second) < y.len());
                    let outputs = match (SHORT, layer.shorts.get(o..o + 2)) {
                        (true, Some([r0, r1])) => apply_2x2([a0, b0, a1, b1], &[*r0, *r1], layer.act_min),
                        _ => {
                            let (row0, row1) =
                                (layer.channel::<SHORT>(o), layer.channel::<SHORT>(o + usize::from(next)));
                            [row0(a0), row0(b0), row1(a1), row1(b1)]
                        }
                    };
                    // SAFETY: asserted above: the largest index written lies in `y`.
                    unsafe {
                        *y.get_unchecked_mut(at) = outputs[0];
                        if second {
                            *y.get_unchecked_mut(at + 1) = outputs[1];
                        }
                        if next {
                            *y.get_unchecked_mut(at + pixels) = outputs[2];
                            if second {
                                *y.get_unchecked_mut(at + pixels + 1) = outputs[3];
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The common case of [`im2col_gemm`]'s rows: the short requantisation, both pixels
/// `first` and `first + 1`, and an even number `rows` of a group's rows, from row
/// `first_row` and weight block `first_block`, in pairs without a test per output.
#[inline(always)]
fn rows_2x2(
    layer: &View<'_>,
    [first_row, first_block]: [usize; 2],
    rows: usize,
    first: usize,
    patches: &[[u32; 2]],
    y: &mut [i8],
) {
    let pixels = layer.sizes[4] * layer.sizes[5];
    let pairs = layer.pairs;
    let per_block = layer.words_per_pair() * pairs;
    assert!(
        (first_row + rows) * pixels <= y.len()
            && first + 1 < pixels
            && layer.words.len() >= (first_block + rows.div_ceil(4)) * per_block
            && layer.bias.len() >= first_row + rows
            && layer.shorts.len() >= first_row + rows
            && rows.is_multiple_of(2)
            && patches.len() == pairs,
        "the rows, their weights or their outputs are out of bounds"
    );
    let act_min = layer.act_min;
    #[cfg(arm_dsp)]
    if rows > 0 && rows.is_multiple_of(4) {
        // SAFETY: asserted above: the `rows / 4` blocks from `first_block`, the rows'
        // biases, constants and outputs at `first` and `first + 1` lie in bounds, and
        // `patches` holds `pairs` pairs.
        unsafe {
            super::dsp::gemm_2x2(
                layer.words.as_ptr().add(first_block * per_block),
                layer.wide,
                pairs,
                rows / 4,
                patches.as_ptr(),
                layer.bias.as_ptr().add(first_row),
                layer.shorts.as_ptr().add(first_row),
                act_min,
                y.as_mut_ptr().add(first_row * pixels + first),
                pixels,
            );
        }
        return;
    }
    for r in (0..rows).step_by(2) {
        let o = first_row + r;
        let block = first_block + r / 4;
        // SAFETY: asserted above: rows `o` and `o + 1` have their weights (in block
        // `block`), biases, constants and outputs at `first` and `first + 1` in bounds.
        unsafe {
            let words = layer.words.get_unchecked(block * per_block..(block + 1) * per_block);
            let (b0, b1) = (*layer.bias.get_unchecked(o), *layer.bias.get_unchecked(o + 1));
            let acc = layer.dot2x2(words, (r / 2) % 2, patches, [b0, b0, b1, b1]);
            let shorts: &[Short; 2] = &*layer.shorts.as_ptr().add(o).cast();
            let out = apply_2x2(acc, shorts, act_min);
            let at = y.as_mut_ptr().add(o * pixels + first);
            *at = out[0];
            *at.add(1) = out[1];
            *at.add(pixels) = out[2];
            *at.add(pixels + 1) = out[3];
        }
    }
}

/// Writes output pixel `p`'s patch, the inputs as 16-bit pairs in the weights'
/// `[c][ky][kx]` order (positions in the padding the input zero point), into slot `q` of
/// `patches`.
#[inline(always)]
fn gather(layer: &View<'_>, group: &[i8], offsets: &[[u32; 2]], p: usize, q: usize, patches: &mut [[u32; 2]]) {
    let Geometry { kernel: [kh, kw], .. } = layer.geometry;
    let [_, h, w, ..] = layer.sizes;
    let zp = layer.input_zero_point;
    let (top, left) = corner(layer, p);
    if top < h && left < w && top + kh <= h && left + kw <= w {
        let corner = &group[top * w + left..];
        #[cfg(arm_dsp)]
        {
            assert!(offsets.len() >= patches.len() && q < 2, "a patch has more pairs than offsets");
            // SAFETY: as below, every offset indexes the group from the corner; the patch's
            // slot `q` of each of its pairs lies in `patches`.
            unsafe {
                super::dsp::gather(
                    corner.as_ptr(),
                    offsets.as_ptr(),
                    patches.len(),
                    patches.as_mut_ptr().cast::<u32>().add(q),
                )
            };
        }
        #[cfg(not(arm_dsp))]
        for (slot, &[o0, o1]) in patches.iter_mut().zip(offsets) {
            // SAFETY: the window lies inside the image, so every offset from its corner
            // indexes the group's channels (`offsets` holds `(c·H + ky)·W + kx`).
            let (v0, v1) = unsafe { (*corner.get_unchecked(o0 as usize), *corner.get_unchecked(o1 as usize)) };
            slot[q] = pair(i32::from(v0), i32::from(v1));
        }
    } else {
        let mut k = 0;
        let mut low = 0;
        for plane in group.chunks_exact(h * w) {
            for ky in 0..kh {
                let iy = top.wrapping_add(ky);
                for kx in 0..kw {
                    let ix = left.wrapping_add(kx);
                    let v = if iy < h && ix < w { i32::from(plane[iy * w + ix]) } else { zp };
                    if k % 2 == 0 {
                        low = v;
                    } else {
                        patches[k / 2][q] = pair(low, v);
                    }
                    k += 1;
                }
            }
        }
        if k % 2 == 1 {
            patches[k / 2][q] = pair(low, 0);
        }
    }
}

/// The input row and column of output pixel `p`'s window's top-left tap (wrapped below
/// zero, where the window starts in the padding).
#[inline(always)]
fn corner(layer: &View<'_>, p: usize) -> (usize, usize) {
    let Geometry { stride: [sh, sw], padding: [ph, pw], .. } = layer.geometry;
    let ow = layer.sizes[5];
    ((p / ow * sh).wrapping_sub(ph), (p % ow * sw).wrapping_sub(pw))
}

/// Both patches, of output pixels `p` and `p + 1`; on Cortex-M4/M7, where their windows
/// lie inside the image one input apart (stride 1, one output row), by one loop that
/// loads both pixels' inputs together.
#[inline(always)]
fn gather_both(layer: &View<'_>, group: &[i8], offsets: &[[u32; 2]], p: usize, patches: &mut [[u32; 2]]) {
    #[cfg(arm_dsp)]
    {
        let Geometry { kernel: [kh, kw], stride: [_, sw], .. } = layer.geometry;
        let [_, h, w, _, _, ow] = layer.sizes;
        let (top, left) = corner(layer, p);
        if sw == 1 && p % ow + 1 < ow && top < h && left < w && top + kh <= h && left + kw < w {
            assert!(offsets.len() >= patches.len(), "a patch has more pairs than offsets");
            // SAFETY: both windows lie inside the image, so every offset from the first's
            // corner indexes the group with the input after it; `patches` holds its pairs.
            unsafe {
                super::dsp::gather_two(
                    group[top * w + left..].as_ptr(),
                    offsets.as_ptr(),
                    patches.len(),
                    patches.as_mut_ptr(),
                )
            };
            return;
        }
    }
    gather(layer, group, offsets, p, 0, patches);
    gather(layer, group, offsets, p + 1, 1, patches);
}

#[cfg(test)]
mod tests {
    use super::super::requant::{act_min, requantize, Multiplier};
    use super::*;
    use proptest::prelude::*;

    /// A `Conv2d` of the given sizes against the plain integer formula, with the
    /// out-of-image taps skipped.
    fn check<
        const C: usize,
        const H: usize,
        const W: usize,
        const OC: usize,
        const OH: usize,
        const OW: usize,
        const PAIRS: usize,
        const BLOCKS: usize,
        const WORDS: usize,
    >(
        seed: u64,
        geometry: Geometry,
    ) {
        let mut state = seed | 1;
        let mut next = move || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 33) as i32
        };
        let [kh, kw] = geometry.kernel;
        let cg = C / geometry.groups;
        let weight: Vec<i8> = (0..OC * cg * kh * kw).map(|_| (next() % 255 - 127) as i8).collect();
        let x: [[[i8; W]; H]; C] =
            core::array::from_fn(|_| core::array::from_fn(|_| core::array::from_fn(|_| (next() % 256 - 128) as i8)));
        let bias: [i32; OC] = core::array::from_fn(|_| next() % 2001 - 1000);
        // Now and then multipliers up to 10, which shift left: the general requantisation.
        let scale = if next() % 3 == 0 { 1e-2 } else { 1e-4 };
        let multipliers = core::array::from_fn(|_| Multiplier::quantize(f64::from(next() % 1000 + 1) * scale));
        let zero_point = next() % 256 - 128;
        let input_zero_point = next() % 256 - 128;
        let requant = Requantize { multipliers, zero_point, act_min: act_min(zero_point, next() % 2 == 0) };
        let layer = Conv2d::<C, H, W, OC, OH, OW, PAIRS, BLOCKS, WORDS>::new(
            &weight,
            bias,
            requant,
            input_zero_point,
            geometry,
        );
        let y = layer.infer(&x);
        let og = OC / geometry.groups;
        for o in 0..OC {
            for (oy, ox) in (0..OH).flat_map(|oy| (0..OW).map(move |ox| (oy, ox))) {
                let mut acc = bias[o];
                for ci in 0..cg {
                    let c = o / og * cg + ci;
                    for ky in 0..kh {
                        for kx in 0..kw {
                            let iy = (oy * geometry.stride[0] + ky) as isize - geometry.padding[0] as isize;
                            let ix = (ox * geometry.stride[1] + kx) as isize - geometry.padding[1] as isize;
                            if (0..H as isize).contains(&iy) && (0..W as isize).contains(&ix) {
                                let w = i32::from(weight[((o * cg + ci) * kh + ky) * kw + kx]);
                                acc += w * (i32::from(x[c][iy as usize][ix as usize]) - input_zero_point);
                            }
                        }
                    }
                }
                let want = requantize(acc, multipliers[o], zero_point, requant.act_min);
                assert_eq!(y[o][oy][ox], want, "output [{o}][{oy}][{ox}] of {geometry:?}");
            }
        }
    }

    const fn geometry(kernel: [usize; 2], stride: [usize; 2], padding: [usize; 2], groups: usize) -> Geometry {
        Geometry { kernel, stride, padding, groups }
    }

    #[test]
    fn depthwise_3x3_layers_take_the_direct_kernel() {
        assert!(depthwise::serves::<4, 5, 5, 4>(&geometry([3, 3], [1, 1], [1, 1], 4)));
        assert!(depthwise::serves::<3, 7, 6, 3>(&geometry([3, 3], [2, 2], [1, 1], 3)));
        assert!(depthwise::serves::<2, 25, 5, 2>(&geometry([3, 3], [1, 1], [1, 1], 2)));
        // A channel multiplier of 2, a 5×5 kernel, a plane too narrow for its padding.
        assert!(!depthwise::serves::<3, 5, 5, 6>(&geometry([3, 3], [2, 2], [1, 1], 3)));
        assert!(!depthwise::serves::<2, 8, 8, 2>(&geometry([5, 5], [1, 1], [2, 2], 2)));
        assert!(!depthwise::serves::<2, 1, 1, 2>(&geometry([3, 3], [1, 1], [1, 1], 2)));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(12))]

        #[test]
        fn conv2d_matches_the_integer_formula(seed in any::<u64>()) {
            // 3×3, stride 1, padding 1: the output keeps the 5×6 size.
            check::<2, 5, 6, 5, 5, 6, 9, 2, 2>(seed, geometry([3, 3], [1, 1], [1, 1], 1));
            // Non-square kernel, stride and padding: (6 + 2 − 3) / 2 + 1 = 3, (7 + 0 − 2) / 3 + 1 = 2.
            check::<3, 6, 7, 4, 3, 2, 9, 1, 2>(seed, geometry([3, 2], [2, 3], [1, 0], 1));
            // Two groups of 2 → 3 channels.
            check::<4, 4, 4, 6, 4, 4, 9, 2, 2>(seed, geometry([3, 3], [1, 1], [1, 1], 2));
            // Depthwise: a group per channel, multiplier 2.
            check::<3, 5, 5, 6, 3, 3, 5, 3, 2>(seed, geometry([3, 3], [2, 2], [1, 1], 3));
            // 1×1 pointwise.
            check::<8, 3, 3, 5, 3, 3, 4, 2, 2>(seed, geometry([1, 1], [1, 1], [0, 0], 1));
            // 1×1 with an odd channel count and an even pixel count.
            check::<3, 2, 4, 4, 2, 4, 2, 1, 2>(seed, geometry([1, 1], [1, 1], [0, 0], 1));
            // Depthwise 3×3 (the direct kernel): an odd output width, stride 2, no
            // padding, and a tall narrow plane like the keyword spotter's.
            check::<4, 5, 5, 4, 5, 5, 5, 1, 2>(seed, geometry([3, 3], [1, 1], [1, 1], 4));
            check::<3, 7, 6, 3, 4, 3, 5, 1, 2>(seed, geometry([3, 3], [2, 2], [1, 1], 3));
            check::<2, 4, 6, 2, 2, 4, 5, 1, 2>(seed, geometry([3, 3], [1, 1], [0, 0], 2));
            check::<2, 25, 5, 2, 25, 5, 5, 1, 2>(seed, geometry([3, 3], [1, 1], [1, 1], 2));
            check::<2, 6, 6, 2, 3, 3, 5, 1, 2>(seed, geometry([3, 3], [2, 2], [1, 1], 2));
            // Stride 2 over several stripes, an odd output width.
            check::<2, 24, 6, 2, 12, 3, 5, 1, 2>(seed, geometry([3, 3], [2, 2], [1, 1], 2));
            // Six depthwise channels, four to a block: through the direct kernel (3×3) and
            // through im2col (5×5).
            check::<6, 5, 5, 6, 5, 5, 5, 2, 2>(seed, geometry([3, 3], [1, 1], [1, 1], 6));
            check::<6, 8, 8, 6, 8, 8, 13, 2, 2>(seed, geometry([5, 5], [1, 1], [2, 2], 6));
            // Widened weights: the ungrouped cases above again, and 16 rows by an odd
            // pixel count.
            check::<2, 5, 6, 5, 5, 6, 9, 2, 4>(seed, geometry([3, 3], [1, 1], [1, 1], 1));
            check::<3, 6, 7, 4, 3, 2, 9, 1, 4>(seed, geometry([3, 2], [2, 3], [1, 0], 1));
            check::<8, 3, 3, 5, 3, 3, 4, 2, 4>(seed, geometry([1, 1], [1, 1], [0, 0], 1));
            check::<3, 2, 4, 4, 2, 4, 2, 1, 4>(seed, geometry([1, 1], [1, 1], [0, 0], 1));
            check::<20, 3, 3, 16, 3, 3, 10, 4, 4>(seed, geometry([1, 1], [1, 1], [0, 0], 1));
        }
    }
}
