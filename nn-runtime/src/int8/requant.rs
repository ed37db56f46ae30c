//! Requantisation: an `i32` accumulator scaled by a real multiplier in integer
//! arithmetic, exactly as TFLite for Microcontrollers and gemmlowp compute it.

use super::insn::{smmlar, ssat8};

/// A real multiplier `m · 2^shift / 2^31` in TFLite's fixed-point form: `m` in
/// `[2^30, 2^31)` (or 0), `shift` the power of two applied around it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Multiplier {
    /// The Q31 significand, `round(q · 2^31)` for `q` in `[0.5, 1)`.
    pub m: i32,
    /// Left shift when positive, right shift when negative.
    pub shift: i32,
}

impl Multiplier {
    /// The multiplier that scales by 0 (and the placeholder of absent channels).
    pub const ZERO: Self = Self { m: 0, shift: 0 };

    /// TFLite's `QuantizeMultiplier`: `frexp` gives `q` in `[0.5, 1)` and the exponent;
    /// `m = round(q · 2^31)`, halved (and the shift raised) when it rounds up to 2^31; a
    /// shift below −31 flushes the multiplier to 0. A zero, negative or non-finite `real`
    /// gives 0. A `const fn`, so a baked model computes its multipliers at compile time.
    pub const fn quantize(real: f64) -> Self {
        if !(real > 0.0 && real.is_finite()) {
            return Self::ZERO;
        }
        let (q, mut shift) = frexp(real);
        // round(v) for v = q · 2^31 in [2^30, 2^31): v + 0.5 is exact below 2^31 − 0.5 and
        // truncates to 2^31 above, so truncation gives the round half away from zero
        // (`f64::round` is not in `core`).
        let mut m = (q * (1u64 << 31) as f64 + 0.5) as i64;
        if m == 1 << 31 {
            m /= 2;
            shift += 1;
        }
        if shift < -31 {
            return Self::ZERO;
        }
        Self { m: m as i32, shift }
    }

    /// `MultiplyByQuantizedMultiplier` in its double-rounding form (TFLM's and CMSIS-NN's):
    /// `RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x · 2^max(shift, 0), m), max(−shift, 0))`.
    #[inline]
    pub fn apply(self, x: i32) -> i32 {
        let left = self.shift.max(0) as u32;
        let right = (-self.shift).max(0);
        rounding_divide_by_pot(saturating_rounding_doubling_high_mul(x.wrapping_shl(left), self.m), right)
    }
}

/// C's `frexp` for a positive finite `x`: `(q, e)` with `x = q · 2^e` and `q` in
/// `[0.5, 1)`, read from the bits (a subnormal is first scaled by 2^64).
const fn frexp(x: f64) -> (f64, i32) {
    const EXPONENT: u64 = 0x7ff << 52;
    let (mut bits, mut bias) = (x.to_bits(), 1022);
    if bits & EXPONENT == 0 {
        bits = (x * f64::from_bits((1023 + 64) << 52)).to_bits();
        bias += 64;
    }
    let exponent = ((bits & EXPONENT) >> 52) as i32;
    (f64::from_bits((bits & !EXPONENT) | (1022 << 52)), exponent - bias)
}

/// gemmlowp's `SaturatingRoundingDoublingHighMul`: the high 32 bits of `2·a·b`, rounded
/// to nearest (ties up); `i32::MIN · i32::MIN` (the one overflow) saturates to `i32::MAX`.
///
/// gemmlowp writes it `(a·b + nudge) / 2^31` truncated toward zero, with `nudge = 2^30`
/// for `a·b ≥ 0` and `1 − 2^30` below. For a negative `n = a·b + 1 − 2^30`, truncation
/// is the ceiling, `⌈n / 2^31⌉ = ⌊(n + 2^31 − 1) / 2^31⌋ = ⌊(a·b + 2^30) / 2^31⌋`: both
/// cases are the one arithmetic shift below, which compiles without branches.
#[inline]
pub fn saturating_rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    ((i64::from(a) * i64::from(b) + (1 << 30)) >> 31) as i32
}

/// gemmlowp's `RoundingDivideByPOT`: `x / 2^exponent` rounded to nearest, ties away
/// from zero, for `exponent` in `0..=31`.
#[inline]
pub fn rounding_divide_by_pot(x: i32, exponent: i32) -> i32 {
    debug_assert!((0..=31).contains(&exponent), "exponent {exponent} outside 0..=31");
    let mask = ((1u32 << exponent) - 1) as i32;
    let remainder = x & mask;
    let threshold = (mask >> 1) + i32::from(x < 0);
    (x >> exponent) + i32::from(remainder > threshold)
}

/// The requantisation of a layer's output: one multiplier per output channel, the
/// output zero point, and the lower clamp (`max(−128, zp)` when a ReLU is fused).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Requantize<const N: usize> {
    /// Channel `c`'s `QuantizeMultiplier(s_in · s_w[c] / s_out)`.
    pub multipliers: [Multiplier; N],
    /// The output tensor's zero point.
    pub zero_point: i32,
    /// The smallest output value: −128, or the zero point when a ReLU is fused.
    pub act_min: i32,
}

impl<const N: usize> Requantize<N> {
    /// The requantisation from `acc = Σ w · (x − zp_in)` (scale `input_scale · weight_scales[c]`)
    /// to the output `output` (scale, zero point), with a fused ReLU when `relu`:
    /// `QuantizeMultiplier(double(s_in) · double(s_w[c]) / double(s_out))` per channel (a
    /// `const fn`: a baked model computes its multipliers at compile time).
    pub const fn new(
        input_scale: f32,
        weight_scales: &[f32; N],
        output_scale: f32,
        output_zero_point: i32,
        relu: bool,
    ) -> Self {
        let mut multipliers = [Multiplier::ZERO; N];
        let mut c = 0;
        while c < N {
            let real = input_scale as f64 * weight_scales[c] as f64 / output_scale as f64;
            multipliers[c] = Multiplier::quantize(real);
            c += 1;
        }
        Self { multipliers, zero_point: output_zero_point, act_min: act_min(output_zero_point, relu) }
    }

    /// Channel `c`'s accumulator to its int8 output.
    #[inline]
    pub fn apply(&self, c: usize, acc: i32) -> i8 {
        requantize(acc, self.multipliers[c], self.zero_point, self.act_min)
    }
}

impl<const N: usize> Requantize<N> {
    /// Whether the kernels' short requantisation (`SMMLAR` of `2·acc`, then a rounding
    /// shift) gives [`requantize`]'s result for every channel when each `|acc|` is at most
    /// `bound`: every multiplier shifts right by 1 to 31, `bound < 2^30`, and the output
    /// zero point, folded into the rounding constant, keeps the sum in an `i32`.
    pub const fn short_form_holds(&self, bound: i64) -> bool {
        let mut c = 0;
        while c < N {
            if !short_fits(self.multipliers[c], self.zero_point, bound) {
                return false;
            }
            c += 1;
        }
        true
    }
}

/// Whether [`Short`] gives [`requantize`]'s result for `multiplier` and the output zero
/// point `zero_point` whenever `|acc| ≤ bound`: the multiplier shifts right by `s` in
/// `1..=31`, `bound < 2^30`, and the sum `SMMLAR` forms with the zero point folded into its
/// rounding constant, `|hi| + 2^(s−1) + |zero_point| · 2^s + 1` with `|hi| ≤ bound`, stays
/// in an `i32`.
pub(crate) const fn short_fits(multiplier: Multiplier, zero_point: i32, bound: i64) -> bool {
    let s = -(multiplier.shift as i64);
    1 <= s && s <= 31 && bound < 1 << 30 && bound + (1 << (s - 1)) + (zero_point as i64).abs() * (1 << s) + 1 < 1 << 31
}

/// One channel's [`requantize`] in a few instructions, where [`short_fits`] holds: its
/// constants are worked out once, by [`Short::new`], for all the channel's outputs.
///
/// With `s = −shift` and `r = 2^(s−1)`: `SMMLAR(2·acc, m, r)` is
/// `r + ⌊(2·acc·m + 2^31) / 2^32⌋ = r + ⌊(acc·m + 2^30) / 2^31⌋`, gemmlowp's
/// `SaturatingRoundingDoublingHighMul(acc, m)` (which cannot saturate, `m ≥ 0`) plus the
/// rounding half. `RoundingDivideByPOT(v, s)` is `⌊(v + r − [v < 0]) / 2^s⌋` (ties away
/// from zero); `acc`'s sign stands in for `v`'s, as they differ only where `v = 0` and
/// `acc < 0`, and there `⌊(r − 1) / 2^s⌋ = 0` as well. The output zero point `zp` rides
/// in the rounding constant: `⌊v / 2^s⌋ + zp = ⌊(v + zp · 2^s) / 2^s⌋`, so `SMMLAR`
/// accumulates onto `round = r + zp · 2^s` and no instruction adds it.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub(crate) struct Short {
    m: i32,
    round: i32,
    shift: u32,
}

impl Short {
    /// The constants of `multiplier` for an output of zero point `zero_point`
    /// (meaningless, but harmless, where [`short_fits`] does not hold).
    #[inline(always)]
    pub(crate) fn new(multiplier: Multiplier, zero_point: i32) -> Self {
        let shift = multiplier.shift.wrapping_neg() as u32;
        let round = 1i32.wrapping_shl(shift.wrapping_sub(1)).wrapping_add(zero_point.wrapping_shl(shift));
        Self { m: multiplier.m, round, shift }
    }

    /// The constants as the words `[m, round, shift]`, as the `asm!` loops read them.
    #[cfg(arm_dsp)]
    #[inline(always)]
    pub(crate) fn words(&self) -> [u32; 3] {
        [self.m as u32, self.round as u32, self.shift]
    }

    /// `acc` to its int8 output (the zero point added), clamped at `act_min`.
    #[inline(always)]
    pub(crate) fn apply(self, acc: i32, act_min: i32) -> i8 {
        let v = (smmlar(acc << 1, self.m, self.round) + (acc >> 31)) >> self.shift;
        ssat8(v).max(act_min) as i8
    }
}

/// Two accumulators of one channel to their int8 outputs: on Cortex-M4/M7 one `asm!`
/// block, elsewhere [`Short::apply`] each.
#[inline(always)]
pub(crate) fn apply_pair(acc: [i32; 2], short: &Short, act_min: i32) -> [i8; 2] {
    #[cfg(arm_dsp)]
    {
        super::dsp::short_pair(acc, short, act_min)
    }
    #[cfg(not(arm_dsp))]
    {
        acc.map(|acc| short.apply(acc, act_min))
    }
}

/// Four accumulators to their int8 outputs, `[row 0 · A, row 0 · B, row 1 · A,
/// row 1 · B]` as `dot2x2` leaves them, with `rows[0]` for the first two and `rows[1]`
/// for the others: on Cortex-M4/M7 one `asm!` block, elsewhere [`Short::apply`] each.
#[inline(always)]
pub(crate) fn apply_2x2(acc: [i32; 4], rows: &[Short; 2], act_min: i32) -> [i8; 4] {
    #[cfg(arm_dsp)]
    {
        super::dsp::short_2x2(acc, rows, act_min)
    }
    #[cfg(not(arm_dsp))]
    {
        let [a0, b0, a1, b1] = acc;
        let apply = |short: Short, acc| short.apply(acc, act_min);
        [apply(rows[0], a0), apply(rows[0], b0), apply(rows[1], a1), apply(rows[1], b1)]
    }
}

/// `clamp(MultiplyByQuantizedMultiplier(acc, multiplier) + zero_point, act_min, 127)`: one
/// accumulator to its int8 output.
#[inline]
pub fn requantize(acc: i32, multiplier: Multiplier, zero_point: i32, act_min: i32) -> i8 {
    (multiplier.apply(acc).wrapping_add(zero_point)).clamp(act_min, 127) as i8
}

/// The lower clamp of a layer's output: `max(−128, zero_point)` with a fused ReLU, −128 without.
#[inline]
pub const fn act_min(zero_point: i32, relu: bool) -> i32 {
    if relu && zero_point > -128 {
        zero_point
    } else {
        -128
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Each case is worked out by hand from gemmlowp's formula,
    /// `(a·b + nudge) / 2^31` truncated, with `nudge = 2^30` for `a·b ≥ 0` and `1 − 2^30`
    /// below: positive ties round up, negative ties toward zero.
    #[test]
    fn doubling_high_mul_rounds_to_nearest_and_saturates() {
        // 2^30 · 2^30 · 2 / 2^32 = 2^29.
        assert_eq!(saturating_rounding_doubling_high_mul(1 << 30, 1 << 30), 1 << 29);
        // 3 · 2^30 / 2^31 = 1.5 → 2, but −1.5 → (−3·2^30 + 1 − 2^30) / 2^31 = −1.99… → −1.
        assert_eq!(saturating_rounding_doubling_high_mul(3, 1 << 30), 2);
        assert_eq!(saturating_rounding_doubling_high_mul(-3, 1 << 30), -1);
        // 0.5 → 1; −0.5 → 0.
        assert_eq!(saturating_rounding_doubling_high_mul(1, 1 << 30), 1);
        assert_eq!(saturating_rounding_doubling_high_mul(-1, 1 << 30), 0);
        // Off the ties: 0.75 → 1, −0.75 → −1; ±(2.5 + 5·2^−31) → ±3.
        assert_eq!(saturating_rounding_doubling_high_mul(3, 1 << 29), 1);
        assert_eq!(saturating_rounding_doubling_high_mul(-3, 1 << 29), -1);
        assert_eq!(saturating_rounding_doubling_high_mul(5, (1 << 30) + 1), 3);
        assert_eq!(saturating_rounding_doubling_high_mul(-5, (1 << 30) + 1), -3);
        // 0.25 rounds to 0 either way.
        assert_eq!(saturating_rounding_doubling_high_mul(1, 1 << 29), 0);
        assert_eq!(saturating_rounding_doubling_high_mul(-1, 1 << 29), 0);
        // The one overflow: (−2^31)² · 2 / 2^32 = 2^31, saturated.
        assert_eq!(saturating_rounding_doubling_high_mul(i32::MIN, i32::MIN), i32::MAX);
        assert_eq!(saturating_rounding_doubling_high_mul(i32::MIN, i32::MAX), -i32::MAX);
        assert_eq!(saturating_rounding_doubling_high_mul(i32::MAX, i32::MAX), i32::MAX - 1);
    }

    /// gemmlowp's formula as it writes it, with the nudge and the truncating division.
    fn gemmlowp_doubling_high_mul(a: i32, b: i32) -> i32 {
        if a == i32::MIN && b == i32::MIN {
            return i32::MAX;
        }
        let ab = i64::from(a) * i64::from(b);
        let nudge = if ab >= 0 { 1 << 30 } else { 1 - (1 << 30) };
        ((ab + nudge) / (1i64 << 31)) as i32
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn doubling_high_mul_is_gemmlowps(a in any::<i32>(), b in any::<i32>(), small in -4i32..4) {
            prop_assert_eq!(saturating_rounding_doubling_high_mul(a, b), gemmlowp_doubling_high_mul(a, b));
            // Ties sit at small products: a·b = ±2^30 · odd.
            prop_assert_eq!(saturating_rounding_doubling_high_mul(small, 1 << 30), gemmlowp_doubling_high_mul(small, 1 << 30));
            prop_assert_eq!(saturating_rounding_doubling_high_mul(a, small), gemmlowp_doubling_high_mul(a, small));
        }
    }

    #[test]
    fn rounding_divide_by_pot_rounds_ties_away_from_zero() {
        assert_eq!(rounding_divide_by_pot(5, 1), 3); // 2.5 → 3
        assert_eq!(rounding_divide_by_pot(-5, 1), -3); // −2.5 → −3
        assert_eq!(rounding_divide_by_pot(7, 2), 2); // 1.75 → 2
        assert_eq!(rounding_divide_by_pot(-7, 2), -2);
        assert_eq!(rounding_divide_by_pot(6, 2), 2); // 1.5 → 2
        assert_eq!(rounding_divide_by_pot(-6, 2), -2); // −1.5 → −2
        assert_eq!(rounding_divide_by_pot(5, 2), 1); // 1.25 → 1
        assert_eq!(rounding_divide_by_pot(-5, 2), -1);
        assert_eq!(rounding_divide_by_pot(-1, 31), 0);
        assert_eq!(rounding_divide_by_pot(i32::MIN, 31), -1);
        assert_eq!(rounding_divide_by_pot(i32::MAX, 31), 1);
        assert_eq!(rounding_divide_by_pot(12345, 0), 12345);
    }

    /// TFLite's `QuantizeMultiplier` as it writes it, with libm's `frexp` and `round`.
    fn tflite_quantize_multiplier(real: f64) -> Multiplier {
        let (q, mut shift) = libm::frexp(real);
        let mut m = libm::round(q * (1u64 << 31) as f64) as i64;
        if m == 1 << 31 {
            m /= 2;
            shift += 1;
        }
        if shift < -31 {
            return Multiplier::ZERO;
        }
        Multiplier { m: m as i32, shift }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        #[test]
        fn quantize_multiplier_is_tflites(bits in 1u64..0x7ff0_0000_0000_0000, scale in 1e-12f64..1e3) {
            let x = f64::from_bits(bits);
            prop_assert_eq!(Multiplier::quantize(x), tflite_quantize_multiplier(x));
            prop_assert_eq!(Multiplier::quantize(scale), tflite_quantize_multiplier(scale));
        }

        /// The bit-level `frexp` is C's (libm's), normal and subnormal numbers alike.
        #[test]
        fn frexp_is_cs(bits in 1u64..0x7ff0_0000_0000_0000, subnormal in 1u64..1 << 52) {
            let x = f64::from_bits(bits);
            prop_assert_eq!(frexp(x), libm::frexp(x));
            let x = f64::from_bits(subnormal);
            prop_assert_eq!(frexp(x), libm::frexp(x));
        }
    }

    #[test]
    fn quantize_multiplier_matches_tflite() {
        // 0.5 = 0.5 · 2^0 → m = 2^30, shift 0.
        assert_eq!(Multiplier::quantize(0.5), Multiplier { m: 1 << 30, shift: 0 });
        // 1.0 = 0.5 · 2^1.
        assert_eq!(Multiplier::quantize(1.0), Multiplier { m: 1 << 30, shift: 1 });
        // 3.0 = 0.75 · 2^2: m = 0.75 · 2^31.
        assert_eq!(Multiplier::quantize(3.0), Multiplier { m: 3 << 29, shift: 2 });
        // 0.1 = 0.8 · 2^−3: m = round(0.8 · 2^31) = 1717986918.4 → 1717986918.
        assert_eq!(Multiplier::quantize(0.1), Multiplier { m: 1_717_986_918, shift: -3 });
        // Just below 1 · 2^e: q · 2^31 rounds to 2^31, halved, shift + 1.
        let q = 1.0 - f64::EPSILON / 2.0;
        assert_eq!(Multiplier::quantize(q), Multiplier { m: 1 << 30, shift: 1 });
        // 2^−32 = 0.5 · 2^−31 is the smallest kept; 2^−33 gives shift −32 → 0.
        assert_eq!(Multiplier::quantize(2f64.powi(-32)), Multiplier { m: 1 << 30, shift: -31 });
        assert_eq!(Multiplier::quantize(2f64.powi(-33)), Multiplier::ZERO);
        assert_eq!(Multiplier::quantize(0.0), Multiplier::ZERO);
        assert_eq!(Multiplier::quantize(f64::INFINITY), Multiplier::ZERO);
        // In a const, at compile time.
        const TENTH: Multiplier = Multiplier::quantize(0.1);
        assert_eq!(TENTH, Multiplier { m: 1_717_986_918, shift: -3 });
    }

    #[test]
    fn multiply_by_quantized_multiplier_shifts_left_and_right() {
        // 0.1 · 1000 = 100; · (−1000) = −100.
        let tenth = Multiplier::quantize(0.1);
        assert_eq!(tenth.apply(1000), 100);
        assert_eq!(tenth.apply(-1000), -100);
        // 0.1 · 5 = 0.5 → 1 (away from zero); 0.1 · (−5) → −1; 0.1 · 4 = 0.4 → 0.
        assert_eq!(tenth.apply(5), 1);
        assert_eq!(tenth.apply(-5), -1);
        assert_eq!(tenth.apply(4), 0);
        // Left shift: 3 · 7 = 21 through shift 2.
        assert_eq!(Multiplier::quantize(3.0).apply(7), 21);
        assert_eq!(Multiplier::quantize(3.0).apply(-7), -21);
        // Double rounding: 0.75 · 2^-1 = 0.375 applied to 4 = 1.5. The high mul gives
        // round(4 · 0.75) = 3, then 3 / 2 = 1.5 → 2.
        let m = Multiplier::quantize(0.375);
        assert_eq!(m, Multiplier { m: 3 << 29, shift: -1 });
        assert_eq!(m.apply(4), 2);
        assert_eq!(m.apply(-4), -2);
        // A case where the two roundings differ from one: 0.5000000004656613 (m = 2^30 + 1)
        // at shift −1 on x = 1: high mul round((2^30 + 1) / 2^31) = 1, then 1/2 → 1
        // (a single rounding of 0.25 would give 0).
        let m = Multiplier { m: (1 << 30) + 1, shift: -1 };
        assert_eq!(m.apply(1), 1);
        assert_eq!(m.apply(-1), -1);
    }

    #[test]
    fn layer_multipliers_are_input_times_weight_over_output_scale() {
        // 0.5 · 0.25 / 0.125 = 1 = 0.5 · 2^1; 0.5 · 0.75 / 0.125 = 3 = 0.75 · 2^2.
        let r = Requantize::new(0.5, &[0.25, 0.75], 0.125, -128, true);
        assert_eq!(r.multipliers, [Multiplier { m: 1 << 30, shift: 1 }, Multiplier { m: 3 << 29, shift: 2 }]);
        assert_eq!((r.zero_point, r.act_min), (-128, -128));
        // The product and quotient in f64: 0.1f32 · 0.1f32 / 0.01f32 is not 1 there.
        let (s, out) = (0.1f32, 0.01f32);
        let want = Multiplier::quantize(f64::from(s) * f64::from(s) / f64::from(out));
        assert_eq!(Requantize::new(s, &[s], out, 3, false).multipliers[0], want);
        assert_ne!(want, Multiplier::quantize(f64::from(s * s / out)));
        assert_eq!(Requantize::new(s, &[s], out, 3, false).act_min, -128);
        assert_eq!(Requantize::new(0.5, &[0.25], 0.125, 3, true).apply(0, -10), 3);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        /// The short form equals the general one over the accumulators it is used for
        /// (where [`short_fits`] holds), every right-shifting multiplier, zero point and
        /// clamp.
        #[test]
        fn the_short_form_is_requantize(
            acc in -(1i32 << 30) + 1..1 << 30, small in -300i32..300,
            m in (1i32 << 30)..i32::MAX, shift in -31i32..=-1,
            zero_point in -128i32..128, relu in any::<bool>(),
        ) {
            let amin = act_min(zero_point, relu);
            for (acc, m) in [(acc, m), (small, m), (acc, 0), (small, 1 << 30)] {
                let multiplier = Multiplier { m, shift };
                if !short_fits(multiplier, zero_point, i64::from(acc).abs()) {
                    continue;
                }
                prop_assert_eq!(
                    Short::new(multiplier, zero_point).apply(acc, amin),
                    requantize(acc, multiplier, zero_point, amin),
                    "acc {} m {} shift {}", acc, m, shift
                );
            }
        }
    }

    fn short(acc: i32, multiplier: Multiplier, zero_point: i32, act_min: i32) -> i8 {
        assert!(short_fits(multiplier, zero_point, i64::from(acc).abs()));
        Short::new(multiplier, zero_point).apply(acc, act_min)
    }

    #[test]
    fn two_and_four_accumulators_take_their_rows_constants() {
        let rows =
            [Short::new(Multiplier { m: 1 << 30, shift: -1 }, 5), Short::new(Multiplier { m: 3 << 29, shift: -3 }, 5)];
        let acc = [3, -3, 1000, -1000];
        let want = [
            short(3, Multiplier { m: 1 << 30, shift: -1 }, 5, -128),
            short(-3, Multiplier { m: 1 << 30, shift: -1 }, 5, -128),
            short(1000, Multiplier { m: 3 << 29, shift: -3 }, 5, -128),
            short(-1000, Multiplier { m: 3 << 29, shift: -3 }, 5, -128),
        ];
        assert_eq!(apply_2x2(acc, &rows, -128), want);
        // 3 · 0.5 / 2 = 0.75 → 1; −0.75 → −1; 1000 · 0.75 / 8 = 93.75 → 94 (+ 5 → 99); −94 + 5.
        assert_eq!(want, [6, 4, 99, -89]);
        // A fused ReLU at the zero point 5.
        assert_eq!(apply_2x2(acc, &rows, 5), [6, 5, 99, 5]);
        assert_eq!(apply_pair([1000, -1000], &rows[1], -128), [99, -89]);
    }

    #[test]
    fn the_short_form_holds_for_right_shifts_and_small_accumulators() {
        let right = Requantize { multipliers: [Multiplier { m: 1 << 30, shift: -1 }; 2], zero_point: 0, act_min: -128 };
        assert!(right.short_form_holds((1 << 30) - 1));
        assert!(!right.short_form_holds(1 << 30));
        let left = Requantize {
            multipliers: [Multiplier { m: 1 << 30, shift: -1 }, Multiplier { m: 1 << 30, shift: 0 }],
            ..right
        };
        assert!(!left.short_form_holds(0));
        // The zero point rides in SMMLAR's sum: at s = 31 the rounding half alone is 2^30,
        // which leaves room for any bound below 2^30 − 1, and a zero point of ±1 adds 2^31.
        let coarse = Multiplier { m: 1 << 30, shift: -31 };
        assert!(short_fits(coarse, 0, (1 << 29) - 1));
        assert!(short_fits(coarse, 0, (1 << 30) - 2));
        assert!(!short_fits(coarse, 1, (1 << 30) - 2));
        assert!(!short_fits(coarse, -1, 1 << 29));
        // A tie of the high mul (acc·m = 2^30 · odd) and of the final division, by hand:
        // acc = 3, m = 2^30: 1.5 → 2, then 2 / 2 = 1 → 1; −3 → −1 then −1/2 → −1 (away from zero).
        let half = Multiplier { m: 1 << 30, shift: -1 };
        assert_eq!(short(3, half, 0, -128), 1);
        assert_eq!(short(-3, half, 0, -128), -1);
        assert_eq!(short(-1, half, 0, -128), 0);
    }

    #[test]
    fn requantize_adds_zero_point_and_clamps() {
        let half = Multiplier::quantize(0.5);
        assert_eq!(requantize(100, half, -10, -128), 40);
        assert_eq!(requantize(1000, half, 0, -128), 127);
        assert_eq!(requantize(-1000, half, 0, -128), -128);
        // A fused ReLU clamps at the zero point.
        assert_eq!(requantize(-20, half, 5, act_min(5, true)), 5);
        assert_eq!(requantize(-20, half, 5, act_min(5, false)), -5);
        assert_eq!(act_min(-128, true), -128);
    }
}
