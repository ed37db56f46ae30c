//! Post-training quantisation on the host: activation ranges from calibration data,
//! symmetric per-channel weights and int32 biases, as TFLite's converter computes them.

use std::collections::HashMap;

use super::quant::Quant;

/// The running min and max of one activation over the calibration inputs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Range {
    /// The smallest value seen.
    pub min: f32,
    /// The largest value seen.
    pub max: f32,
}

impl Default for Range {
    fn default() -> Self {
        Self::new()
    }
}

impl Range {
    /// A range that has seen nothing yet (it still holds 0 once quantised).
    pub const fn new() -> Self {
        Self { min: f32::INFINITY, max: f32::NEG_INFINITY }
    }

    /// Widens the range to hold every element of `x`.
    pub fn observe(&mut self, x: &[f32]) {
        for &v in x {
            self.min = self.min.min(v);
            self.max = self.max.max(v);
        }
    }

    /// TFLite's asymmetric parameters: the range widened to hold 0, then, in `f32`,
    /// `scale = (max − min) / 255` and `zp = clamp(round(−128 − min / scale), −128, 127)`.
    /// An all-zero range gives scale 0 and zero point −128, as TFLite's does.
    pub fn quant(self) -> Quant {
        let min = self.min.min(0.0);
        let max = self.max.max(0.0);
        let scale = (max - min) / 255.0;
        if scale == 0.0 {
            return Quant { scale, zero_point: -128 };
        }
        let zero_point = libm::roundf(-128.0 - min / scale).clamp(-128.0, 127.0) as i32;
        Quant { scale, zero_point }
    }
}

/// Quantises one output channel's weights symmetrically into `q`:
/// `s_w = max|w| / 127` in `f32` (1 for an all-zero channel) and
/// `q = clamp(round(w / s_w), −127, 127)`. Returns `s_w`.
///
/// # Panics
/// If `w` and `q` differ in length.
pub fn quantize_channel(w: &[f32], q: &mut [i8]) -> f32 {
    assert_eq!(w.len(), q.len(), "a channel's weights and their int8 copy differ in length");
    let max = w.iter().fold(0.0f32, |m, &v| m.max(v.abs()));
    let scale = if max == 0.0 { 1.0 } else { max / 127.0 };
    for (q, &w) in q.iter_mut().zip(w) {
        *q = libm::roundf(w / scale).clamp(-127.0, 127.0) as i8;
    }
    scale
}

/// A channel's int32 bias: `round(b / (s_in · s_w))`, product and quotient in `f32`
/// (saturated to the `i32` range).
pub fn quantize_bias(b: f32, input_scale: f32, weight_scale: f32) -> i32 {
    libm::roundf(b / (input_scale * weight_scale)) as i32
}

/// The ranges of a network's activations over the calibration inputs, keyed by the
/// state-dict key of the layer that produces each.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Calibration {
    /// The network's input.
    pub input: Range,
    ranges: HashMap<&'static str, Range>,
}

impl Calibration {
    /// Nothing observed yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Widens the range of the output of the layer at `key` to hold `x`.
    pub fn observe(&mut self, key: &'static str, x: &[f32]) {
        self.ranges.entry(key).or_default().observe(x);
    }

    /// The quantisation of the output of the layer at `key` (of a range that holds only
    /// 0 when nothing was observed there).
    pub fn quant(&self, key: &str) -> Quant {
        self.ranges.get(key).copied().unwrap_or_default().quant()
    }
}

/// A `Linear`'s or `Conv2d`'s weights and bias in int8, as [`quantize_layer`] makes them.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantizedLayer {
    /// The int8 weight, row-major in the float weight's shape.
    pub weight: Vec<i8>,
    /// The scale of each output channel's weights.
    pub weight_scale: Vec<f32>,
    /// The int32 bias (zeros for a layer without one).
    pub bias: Vec<i32>,
}

/// Quantises the row-major float `weight` of `outputs` output channels (first axis) and its
/// `bias` for an input of scale `input_scale`: [`quantize_channel`] per channel, then
/// [`quantize_bias`].
pub fn quantize_layer(weight: &[f32], outputs: usize, bias: Option<&[f32]>, input_scale: f32) -> QuantizedLayer {
    let per_channel = weight.len() / outputs.max(1);
    let mut q = vec![0i8; weight.len()];
    let weight_scale: Vec<f32> = weight
        .chunks(per_channel.max(1))
        .zip(q.chunks_mut(per_channel.max(1)))
        .map(|(w, q)| quantize_channel(w, q))
        .collect();
    let bias = match bias {
        Some(b) => b.iter().zip(&weight_scale).map(|(&b, &s)| quantize_bias(b, input_scale, s)).collect(),
        None => vec![0; outputs],
    };
    QuantizedLayer { weight: q, weight_scale, bias }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn calibration_gives_tflite_scale_and_zero_point() {
        let mut range = Range::new();
        range.observe(&[-1.0, 0.5, 2.0]);
        range.observe(&[1.5, -0.25]);
        let q = range.quant();
        // (2 − (−1)) / 255 in f32, and −128 − (−1) / scale = −128 + 85 = −43.
        assert_eq!(q.scale, 3.0f32 / 255.0);
        assert_eq!(q.zero_point, -43);
        // A range of positives only is widened to hold 0: zero point −128.
        let mut positive = Range::new();
        positive.observe(&[0.5, 2.55]);
        assert_eq!(positive.quant(), Quant { scale: 2.55f32 / 255.0, zero_point: -128 });
        // Negatives only: max widened to 0, zero point 127.
        let mut negative = Range::new();
        negative.observe(&[-5.1, -1.0]);
        assert_eq!(negative.quant(), Quant { scale: 5.1f32 / 255.0, zero_point: 127 });
        assert_eq!(Range::new().quant(), Quant { scale: 0.0, zero_point: -128 });
    }

    #[test]
    fn weights_are_symmetric_per_channel() {
        let mut q = [0i8; 4];
        // max|w| = 127/64, so s_w = 1/64 exactly: 0.5 → 32, ±1/128 → ±0.5 → ±1 (away from zero).
        let scale = quantize_channel(&[0.5, -1.984375, 0.0078125, -0.0078125], &mut q);
        assert_eq!(scale, 1.0 / 64.0);
        assert_eq!(q, [32, -127, 1, -1]);
        assert_eq!(quantize_channel(&[0.0, 0.0], &mut q[..2]), 1.0);
        assert_eq!(q[..2], [0, 0]);
        assert_eq!(quantize_bias(0.3, 0.1, 0.5), 6);
        assert_eq!(quantize_bias(-0.25, 0.5, 1.0), -1); // −0.5 → −1
        assert_eq!(quantize_bias(0.75, 0.5, 1.0), 2); // 1.5 → 2
    }

    #[test]
    fn a_layer_quantises_channel_by_channel() {
        let weight = [0.5, -1.984375, 0.0, 0.0, 1.27, -0.635];
        let layer = quantize_layer(&weight, 3, Some(&[0.3, 1.0, -0.0127]), 0.1);
        assert_eq!(layer.weight, [32, -127, 0, 0, 127, -64]);
        assert_eq!(layer.weight_scale, [1.0 / 64.0, 1.0, 0.01]);
        assert_eq!(layer.bias, [quantize_bias(0.3, 0.1, 1.0 / 64.0), 10, quantize_bias(-0.0127, 0.1, 0.01)]);
        assert_eq!(quantize_layer(&weight, 3, None, 0.1).bias, [0, 0, 0]);
    }

    #[test]
    fn calibration_keeps_one_range_per_layer() {
        let mut calibration = Calibration::new();
        calibration.observe("0", &[-1.0, 2.0]);
        calibration.observe("0", &[1.5, -0.25]);
        calibration.observe("1", &[2.55]);
        assert_eq!(calibration.quant("0"), Quant { scale: 3.0f32 / 255.0, zero_point: -43 });
        assert_eq!(calibration.quant("1"), Quant { scale: 2.55f32 / 255.0, zero_point: -128 });
        assert_eq!(calibration.quant("2"), Range::new().quant());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Inside the calibrated range, quantise then dequantise lands within half a step
        /// (plus the f32 rounding of the two operations).
        #[test]
        fn quantize_then_dequantize_is_within_half_a_step(
            values in proptest::collection::vec(-50.0f32..50.0, 1..40),
        ) {
            let mut range = Range::new();
            range.observe(&values);
            let q = range.quant();
            prop_assume!(q.scale > 0.0);
            for &x in &values {
                let back = q.dequantize(q.quantize(x));
                prop_assert!((back - x).abs() <= q.scale * 0.5 * (1.0 + 1e-4) + 1e-6,
                    "x {x} came back as {back}, scale {}", q.scale);
            }
        }

        /// Weights come back within half a step of their channel's scale.
        #[test]
        fn weights_dequantize_within_half_a_step(w in proptest::collection::vec(-3.0f32..3.0, 1..40)) {
            let mut q = vec![0i8; w.len()];
            let scale = quantize_channel(&w, &mut q);
            for (&w, &q) in w.iter().zip(&q) {
                prop_assert!((f32::from(q) * scale - w).abs() <= scale * 0.5 * (1.0 + 1e-4));
            }
        }
    }
}
