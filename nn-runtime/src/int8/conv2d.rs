//! A `Conv2d` layer in int8, groups (depthwise included) and non-square kernels,
//! strides and paddings: each output pixel's patch is gathered once, widened, and
//! multiplied with the [`Packed`] weights of its group.

use super::packed::{blocks, dot4, pair, pairs, Packed};
use super::requant::Requantize;

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
> {
    /// The weights, symmetric per output channel.
    pub weights: Packed<PAIRS, BLOCKS>,
    /// The int32 bias of each output channel, in units of `s_in · s_w[o]`.
    pub bias: [i32; OC],
    /// Multipliers, output zero point and fused-ReLU clamp.
    pub requantize: Requantize<OC>,
    /// The input's zero point (what padding stands for: it adds nothing to a sum).
    pub input_zero_point: i32,
    /// Kernel, stride, padding and groups.
    pub geometry: Geometry,
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
    > Conv2d<C, H, W, OC, OH, OW, PAIRS, BLOCKS>
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
        let cols = C / g * geometry.kernel[0] * geometry.kernel[1];
        assert!(PAIRS == pairs(cols) && BLOCKS == blocks(g, OC / g), "PAIRS or BLOCKS do not fit the kernel");
        assert!(
            matches!(geometry.output_len(0, H), Some(oh) if oh == OH)
                && matches!(geometry.output_len(1, W), Some(ow) if ow == OW),
            "OH × OW is not the output size of the geometry"
        );
        Self { weights: Packed::pack(weight, g, OC / g, cols), bias, requantize, input_zero_point, geometry }
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
        let Geometry { kernel: [kh, kw], stride: [sh, sw], padding: [ph, pw], groups } = self.geometry;
        let (in_per_group, out_per_group) = (C / groups, OC / groups);
        let blocks_per_group = BLOCKS / groups;
        let positions = (0..OH).flat_map(|oy| (0..OW).map(move |ox| (oy, ox)));
        for g in 0..groups {
            for (oy, ox) in positions.clone() {
                // The patch, `x − zp` as 16-bit pairs in the weights' [c][ky][kx] order;
                // positions in the padding stay 0: they are skipped.
                let mut patch = [0u32; PAIRS];
                let mut k = 0;
                for plane in &x[g * in_per_group..(g + 1) * in_per_group] {
                    for ky in 0..kh {
                        let iy = (oy * sh + ky).wrapping_sub(ph);
                        for kx in 0..kw {
                            let ix = (ox * sw + kx).wrapping_sub(pw);
                            if iy < H && ix < W {
                                let v = i32::from(plane[iy][ix]) - self.input_zero_point;
                                patch[k / 2] |= pair(v, 0) << (16 * (k % 2));
                            }
                            k += 1;
                        }
                    }
                }
                for b in 0..blocks_per_group {
                    let acc = dot4(&self.weights.words[g * blocks_per_group + b], &patch);
                    for (r, &acc) in acc.iter().enumerate().take(out_per_group.saturating_sub(4 * b)) {
                        let o = g * out_per_group + 4 * b + r;
                        y[o][oy][ox] = self.requantize.apply(o, self.bias[o].wrapping_add(acc));
                    }
                }
            }
        }
    }
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
        let multipliers = core::array::from_fn(|_| Multiplier::quantize(f64::from(next() % 1000 + 1) * 1e-4));
        let zero_point = next() % 256 - 128;
        let input_zero_point = next() % 256 - 128;
        let requant = Requantize { multipliers, zero_point, act_min: act_min(zero_point, next() % 2 == 0) };
        let layer =
            Conv2d::<C, H, W, OC, OH, OW, PAIRS, BLOCKS>::new(&weight, bias, requant, input_zero_point, geometry);
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

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(12))]

        #[test]
        fn conv2d_matches_the_integer_formula(seed in any::<u64>()) {
            // 3×3, stride 1, padding 1: the output keeps the 5×6 size.
            check::<2, 5, 6, 5, 5, 6, 9, 2>(seed, geometry([3, 3], [1, 1], [1, 1], 1));
            // Non-square kernel, stride and padding: (6 + 2 − 3) / 2 + 1 = 3, (7 + 0 − 2) / 3 + 1 = 2.
            check::<3, 6, 7, 4, 3, 2, 9, 1>(seed, geometry([3, 2], [2, 3], [1, 0], 1));
            // Two groups of 2 → 3 channels.
            check::<4, 4, 4, 6, 4, 4, 9, 2>(seed, geometry([3, 3], [1, 1], [1, 1], 2));
            // Depthwise: a group per channel, multiplier 2.
            check::<3, 5, 5, 6, 3, 3, 5, 3>(seed, geometry([3, 3], [2, 2], [1, 1], 3));
            // 1×1 pointwise.
            check::<8, 3, 3, 5, 3, 3, 4, 2>(seed, geometry([1, 1], [1, 1], [0, 0], 1));
        }
    }
}
