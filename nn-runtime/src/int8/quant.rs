//! An int8 activation's quantisation, `real = scale · (q − zero_point)`: quantising an
//! `f32` input and dequantising an int8 output.

/// The (scale, zero point) of one int8 tensor.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Quant {
    /// The real value of one step.
    pub scale: f32,
    /// The stored value of real 0, in `−128..=127`.
    pub zero_point: i32,
}

impl Quant {
    /// `clamp(round(x / scale) + zero_point, −128, 127)`, the quotient in `f32` and the
    /// rounding half away from zero (a zero scale, from an all-zero range, gives the zero point).
    #[inline]
    pub fn quantize(self, x: f32) -> i8 {
        if self.scale == 0.0 {
            return self.zero_point.clamp(-128, 127) as i8;
        }
        // `as i32` saturates (and sends NaN to 0) before the clamp.
        (libm::roundf(x / self.scale) as i32).saturating_add(self.zero_point).clamp(-128, 127) as i8
    }

    /// `scale · (q − zero_point)` in `f32`.
    #[inline]
    pub fn dequantize(self, q: i8) -> f32 {
        self.scale * (i32::from(q) - self.zero_point) as f32
    }

    /// Quantises every element of `x` into `q`.
    #[inline]
    pub fn quantize_slice(self, x: &[f32], q: &mut [i8]) {
        for (q, &x) in q.iter_mut().zip(x) {
            *q = self.quantize(x);
        }
    }

    /// Dequantises every element of `q` into `x`.
    #[inline]
    pub fn dequantize_slice(self, q: &[i8], x: &mut [f32]) {
        for (x, &q) in x.iter_mut().zip(q) {
            *x = self.dequantize(q);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantize_rounds_half_away_from_zero_and_clamps() {
        let q = Quant { scale: 0.5, zero_point: -3 };
        assert_eq!(q.quantize(0.25), -2); // 0.5 → 1, + −3
        assert_eq!(q.quantize(-0.25), -4); // −0.5 → −1
        assert_eq!(q.quantize(0.2), -3); // 0.4 → 0
        assert_eq!(q.quantize(1e6), 127);
        assert_eq!(q.quantize(-1e6), -128);
        assert_eq!(q.quantize(f32::NAN), -3);
        assert_eq!(q.dequantize(-2), 0.5);
        assert_eq!(q.dequantize(-128), -62.5);
        assert_eq!(Quant { scale: 0.0, zero_point: -128 }.quantize(3.0), -128);
    }
}
