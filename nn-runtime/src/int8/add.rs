//! The residual add in int8, as TFLite's int8 ADD computes it: both inputs shifted left
//! by 20 bits and scaled to a common scale, summed, then requantised to the output.

use super::quant::Quant;
use super::requant::{act_min, short_fits, Multiplier, Short};

/// TFLite's left shift of both inputs before they are rescaled.
pub const LEFT_SHIFT: i32 = 20;

/// The parameters of one int8 ADD, `y = x₁ + x₂` (`Residual`: the chain's output and the shortcut).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Add {
    /// `QuantizeMultiplier(s₁ / twice_max)`.
    pub input1_multiplier: Multiplier,
    /// `QuantizeMultiplier(s₂ / twice_max)`.
    pub input2_multiplier: Multiplier,
    /// `QuantizeMultiplier(twice_max / (2²⁰ · s_out))`.
    pub output_multiplier: Multiplier,
    /// The zero points of the first input, the second input and the output.
    pub zero_points: [i32; 3],
    /// The smallest output value: −128, or the output zero point when a ReLU is fused.
    pub act_min: i32,
}

impl Add {
    /// TFLite's parameters for inputs quantised as `input1` and `input2` and the output
    /// as `output`: `twice_max = 2 · max(s₁, s₂)` in `f32`, each quotient in `f64` (a `const fn`:
    /// a baked model computes them at compile time).
    pub const fn new(input1: Quant, input2: Quant, output: Quant, relu: bool) -> Self {
        let twice_max = 2.0 * input1.scale.max(input2.scale);
        let shifted_output = (1i32 << LEFT_SHIFT) as f32 * output.scale;
        Self {
            input1_multiplier: Multiplier::quantize(input1.scale as f64 / twice_max as f64),
            input2_multiplier: Multiplier::quantize(input2.scale as f64 / twice_max as f64),
            output_multiplier: Multiplier::quantize(twice_max as f64 / shifted_output as f64),
            zero_points: [input1.zero_point, input2.zero_point, output.zero_point],
            act_min: act_min(output.zero_point, relu),
        }
    }

    /// One output: `clamp(MBQM(a₁ + a₂, M_o) + zp_out, act_min, 127)` with
    /// `a_i = MBQM((q_i − zp_i) · 2²⁰, M_i)`.
    #[inline]
    pub fn apply(&self, q1: i8, q2: i8) -> i8 {
        let [zp1, zp2, zp_out] = self.zero_points;
        let a1 = self.input1_multiplier.apply((i32::from(q1) - zp1) << LEFT_SHIFT);
        let a2 = self.input2_multiplier.apply((i32::from(q2) - zp2) << LEFT_SHIFT);
        (self.output_multiplier.apply(a1.wrapping_add(a2)).wrapping_add(zp_out)).clamp(self.act_min, 127) as i8
    }

    /// `y[i] = apply(y[i], x[i])`: the chain's output `y` (first input) plus the shortcut `x`.
    ///
    /// Each input's rescaled value `a_i` depends on its int8 value alone: both are looked
    /// up in a table of 256 made once per call, and when the output multiplier shifts
    /// right (as it does but for outputs far coarser than the inputs) the sum is
    /// requantised in the short form wherever it gives the general one's result.
    pub fn add_in_place(&self, y: &mut [i8], x: &[i8]) {
        let [zp1, zp2, zp_out] = self.zero_points;
        let table = |multiplier: Multiplier, zero_point: i32| -> [i32; 256] {
            core::array::from_fn(|i| multiplier.apply((i as i32 - 128 - zero_point) << LEFT_SHIFT))
        };
        let (t1, t2) = (table(self.input1_multiplier, zp1), table(self.input2_multiplier, zp2));
        let largest = |t: &[i32; 256]| t.iter().map(|v| i64::from(*v).abs()).max().unwrap_or(0);
        let index = |q: i8| usize::from(q as u8 ^ 0x80);
        if short_fits(self.output_multiplier, zp_out, largest(&t1) + largest(&t2)) {
            let short = Short::new(self.output_multiplier, zp_out);
            for (y, &x) in y.iter_mut().zip(x) {
                *y = short.apply(t1[index(*y)] + t2[index(x)], self.act_min);
            }
        } else {
            for (y, &x) in y.iter_mut().zip(x) {
                *y = self.apply(*y, x);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn multipliers_are_tflites() {
        let add = Add::new(
            Quant { scale: 0.5, zero_point: 0 },
            Quant { scale: 0.25, zero_point: 0 },
            Quant { scale: 1.0, zero_point: 0 },
            false,
        );
        // twice_max = 1: 0.5 and 0.25, then 1 / 2²⁰ = 0.5 · 2^−19.
        assert_eq!(add.input1_multiplier, Multiplier { m: 1 << 30, shift: 0 });
        assert_eq!(add.input2_multiplier, Multiplier { m: 1 << 30, shift: -1 });
        assert_eq!(add.output_multiplier, Multiplier { m: 1 << 30, shift: -19 });
        // 0.5 · 3 + 0.25 · 2 = 2.0; 0.5 · 3 + 0.25 · 3 = 2.25 → 2; 0.5 · 1 + 0.25 · 2 = 1.
        assert_eq!(add.apply(3, 2), 2);
        assert_eq!(add.apply(3, 3), 2);
        assert_eq!(add.apply(1, 2), 1);
        // 0.5 · 1 + 0.25 · 0 = 0.5 → 1 (ties away from zero); −0.5 → −1.
        assert_eq!(add.apply(1, 0), 1);
        assert_eq!(add.apply(-1, 0), -1);
        assert_eq!(add.apply(127, 127), 95);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// The tables and the short requantisation of `add_in_place` give `apply`'s
        /// outputs, for every pair of int8 values (fine and coarse outputs alike).
        #[test]
        fn add_in_place_is_apply_for_every_value(
            s1 in 0.001f32..1.0, s2 in 0.001f32..1.0, s_out in 0.0001f32..300.0,
            zp1 in -128i32..128, zp2 in -128i32..128, zp_out in -128i32..128, relu in any::<bool>(), fine in any::<bool>(),
        ) {
            // A far finer output (scale ≤ 3·10⁻¹⁰) makes the output multiplier shift left.
            let s_out = if fine { s_out * 1e-12 } else { s_out };
            let (a, b, out) = (Quant { scale: s1, zero_point: zp1 }, Quant { scale: s2, zero_point: zp2 }, Quant { scale: s_out, zero_point: zp_out });
            let add = Add::new(a, b, out, relu);
            // A fine output shifts left, a coarse one right; an output over 2¹¹ times
            // coarser than twice the inputs' larger scale takes TFLite's zero multiplier
            // (below 2⁻³¹ it flushes to `m = 0, shift = 0`).
            if add.output_multiplier == Multiplier::ZERO {
                prop_assert!(!fine);
            } else {
                prop_assert_eq!(add.output_multiplier.shift >= 0, fine);
            }
            let (mut y, mut x) = ([0i8; 256 * 256], [0i8; 256 * 256]);
            for (i, (y, x)) in y.iter_mut().zip(x.iter_mut()).enumerate() {
                (*y, *x) = ((i / 256) as u8 as i8, (i % 256) as u8 as i8);
            }
            let want: Vec<i8> = y.iter().zip(&x).map(|(&y, &x)| add.apply(y, x)).collect();
            add.add_in_place(&mut y, &x);
            prop_assert_eq!(&y[..], &want[..]);
        }

        /// The integer ADD agrees with the real sum rounded to the output grid, up to one
        /// step (its two roundings may each move half a step).
        #[test]
        fn add_is_the_real_sum_within_a_step(
            q1 in any::<i8>(), q2 in any::<i8>(),
            s1 in 0.01f32..1.0, s2 in 0.01f32..1.0, s_out in 0.02f32..2.0,
            zp1 in -128i32..128, zp2 in -128i32..128, zp_out in -128i32..128, relu in any::<bool>(),
        ) {
            let (a, b, out) = (Quant { scale: s1, zero_point: zp1 }, Quant { scale: s2, zero_point: zp2 }, Quant { scale: s_out, zero_point: zp_out });
            let add = Add::new(a, b, out, relu);
            let real = f64::from(a.dequantize(q1)) + f64::from(b.dequantize(q2));
            let lowest = if relu { zp_out.max(-128) } else { -128 };
            let want = (real / f64::from(s_out) + f64::from(zp_out)).round().clamp(f64::from(lowest), 127.0);
            let got = f64::from(add.apply(q1, q2));
            prop_assert!((got - want).abs() <= 1.0, "got {got}, want {want}");
        }
    }
}
