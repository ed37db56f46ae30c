//! A `Linear` layer in int8: `y = requantize(bias + W (x − zp_in))`.

use super::packed::{blocks, dot4, pairs, widen, Packed};
use super::requant::Requantize;

/// An int8 `Linear(IN, OUT)`, its weights [`Packed`] (`PAIRS = IN.div_ceil(2)`,
/// `BLOCKS = OUT.div_ceil(4)`), as a baked model stores it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dense<const IN: usize, const OUT: usize, const PAIRS: usize, const BLOCKS: usize> {
    /// The `[OUT, IN]` weights, symmetric per output channel.
    pub weights: Packed<PAIRS, BLOCKS>,
    /// The int32 bias of each output, in units of `s_in · s_w[o]`.
    pub bias: [i32; OUT],
    /// Multipliers, output zero point and fused-ReLU clamp.
    pub requantize: Requantize<OUT>,
    /// The input's zero point.
    pub input_zero_point: i32,
}

impl<const IN: usize, const OUT: usize, const PAIRS: usize, const BLOCKS: usize> Dense<IN, OUT, PAIRS, BLOCKS> {
    /// The layer with PyTorch's `[out, in]` int8 weight, packed (in a `const`, at compile time).
    ///
    /// # Panics
    /// If `PAIRS` or `BLOCKS` do not fit `IN` and `OUT` (in a `const`, a compile error).
    pub const fn new(
        weight: &[[i8; IN]; OUT],
        bias: [i32; OUT],
        requantize: Requantize<OUT>,
        input_zero_point: i32,
    ) -> Self {
        assert!(
            PAIRS == pairs(IN) && BLOCKS == blocks(1, OUT),
            "Dense<IN, OUT, PAIRS, BLOCKS> needs PAIRS = IN.div_ceil(2) and BLOCKS = OUT.div_ceil(4)"
        );
        Self { weights: Packed::pack(weight.as_flattened(), 1, OUT, IN), bias, requantize, input_zero_point }
    }

    /// The int8 output for the int8 input `x`: integer arithmetic only, the same bits on
    /// every target.
    #[inline]
    pub fn infer(&self, x: &[i8; IN]) -> [i8; OUT] {
        let mut y = [0i8; OUT];
        self.infer_into(x, &mut y);
        y
    }

    /// [`infer`](Self::infer) into `y`, a buffer the caller provides (an arena's slot).
    #[inline]
    pub fn infer_into(&self, x: &[i8; IN], y: &mut [i8; OUT]) {
        let mut wide = [0u32; PAIRS];
        widen(x, self.input_zero_point, &mut wide);
        for (b, (block, rows)) in self.weights.words.iter().zip(y.chunks_mut(4)).enumerate() {
            let acc = dot4(block, &wide);
            for (r, out) in rows.iter_mut().enumerate() {
                let o = 4 * b + r;
                *out = self.requantize.apply(o, self.bias[o].wrapping_add(acc[r]));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::requant::{requantize, Multiplier};
    use super::*;
    use proptest::prelude::*;

    /// Runs a `Dense` of the given size against the plain integer formula.
    fn check<const IN: usize, const OUT: usize, const PAIRS: usize, const BLOCKS: usize>(seed: u64, relu: bool) {
        let mut state = seed;
        let mut next = move || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 33) as i32
        };
        let weight: [[i8; IN]; OUT] = core::array::from_fn(|_| core::array::from_fn(|_| (next() % 255 - 127) as i8));
        let x: [i8; IN] = core::array::from_fn(|_| (next() % 256 - 128) as i8);
        let bias: [i32; OUT] = core::array::from_fn(|_| next() % 20001 - 10000);
        let multipliers = core::array::from_fn(|_| Multiplier::quantize(f64::from(next() % 1000 + 1) * 1e-5));
        let zero_point = next() % 256 - 128;
        let input_zero_point = next() % 256 - 128;
        let requant = Requantize { multipliers, zero_point, act_min: super::super::requant::act_min(zero_point, relu) };
        let layer = Dense::<IN, OUT, PAIRS, BLOCKS>::new(&weight, bias, requant, input_zero_point);
        let y = layer.infer(&x);
        for o in 0..OUT {
            let acc =
                bias[o] + (0..IN).map(|i| i32::from(weight[o][i]) * (i32::from(x[i]) - input_zero_point)).sum::<i32>();
            assert_eq!(y[o], requantize(acc, multipliers[o], zero_point, requant.act_min), "output {o} of {IN}->{OUT}");
        }
    }

    /// A float `Linear` quantised as post-training quantisation does it (calibrated input
    /// and output ranges, per-channel weights, int32 bias) tracks the float layer: every
    /// output within two output steps of the float result.
    #[test]
    fn a_float_layer_quantised_by_ptq_tracks_its_float_output() {
        use super::super::ptq::{quantize_bias, quantize_channel, Range};
        const IN: usize = 24;
        const OUT: usize = 6;
        let weight: [[f32; IN]; OUT] =
            core::array::from_fn(|o| core::array::from_fn(|i| ((o * 7 + i * 13) % 17) as f32 / 17.0 - 0.5));
        let bias: [f32; OUT] = core::array::from_fn(|o| o as f32 * 0.1 - 0.2);
        let inputs: Vec<[f32; IN]> =
            (0..20).map(|n| core::array::from_fn(|i| ((n * 5 + i * 3) % 11) as f32 / 5.0 - 1.0)).collect();
        let float = |x: &[f32; IN]| -> [f32; OUT] {
            core::array::from_fn(|o| bias[o] + (0..IN).map(|i| weight[o][i] * x[i]).sum::<f32>())
        };
        let (mut in_range, mut out_range) = (Range::new(), Range::new());
        for x in &inputs {
            in_range.observe(x);
            out_range.observe(&float(x));
        }
        let (input, output) = (in_range.quant(), out_range.quant());
        let mut q = [[0i8; IN]; OUT];
        let scales: [f32; OUT] = core::array::from_fn(|o| quantize_channel(&weight[o], &mut q[o]));
        let q_bias = core::array::from_fn(|o| quantize_bias(bias[o], input.scale, scales[o]));
        let requant = Requantize::new(input.scale, &scales, output.scale, output.zero_point, false);
        let layer = Dense::<IN, OUT, 12, 2>::new(&q, q_bias, requant, input.zero_point);
        for x in &inputs {
            let mut qx = [0i8; IN];
            input.quantize_slice(x, &mut qx);
            let y = layer.infer(&qx);
            for (o, (&y, want)) in y.iter().zip(float(x)).enumerate() {
                let got = output.dequantize(y);
                assert!((got - want).abs() <= 2.0 * output.scale, "output {o}: int8 gives {got}, float {want}");
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]

        #[test]
        fn dense_matches_the_integer_formula(seed in any::<u64>(), relu in any::<bool>()) {
            check::<1, 1, 1, 1>(seed, relu);
            check::<7, 5, 4, 2>(seed, relu);
            check::<16, 8, 8, 2>(seed, relu);
            check::<33, 10, 17, 3>(seed, relu);
            check::<64, 3, 32, 1>(seed, relu);
        }
    }
}
