//! Int8 quantised inference, TFLite's scheme with the arithmetic of TFLite for
//! Microcontrollers and CMSIS-NN: every target gives the same int8 outputs, bit for bit.
//!
//! Activations are int8 with one (scale, zero point) per tensor ([`Quant`]); weights
//! are int8, symmetric per output channel, with int32 biases; each layer's `i32`
//! accumulator goes back to int8 through [`Requantize`]. The kernels take fixed-size
//! arrays and need neither heap nor `std`: a baked model calls one per layer
//! ([`Dense::infer_into`], [`Conv2d::infer_into`], [`max_pool2d_into`], [`Add::add_in_place`], ...),
//! each writing into its slot of the inference's arena ([`crate::arena`]).
//! Their weights are [`Packed`] at bake time for the matrix kernels, which on Cortex-M4/M7
//! run on the DSP extension (`SMLAD`, `SXTB16`) and elsewhere in plain Rust.
//!
//! With `std`, [`ptq`] computes the parameters from a float model and calibration data,
//! and [`file`](mod@file) saves and loads them.

mod add;
mod conv2d;
mod dense;
mod depthwise;
#[cfg(arm_dsp)]
mod dsp;
mod insn;
mod packed;
mod pad;
mod pool;
mod quant;
mod requant;

#[cfg(feature = "std")]
pub mod file;
#[cfg(feature = "std")]
pub mod ptq;

pub use add::{Add, LEFT_SHIFT};
pub use conv2d::{Conv2d, Geometry};
pub use dense::Dense;
pub use packed::{blocks, pairs, Packed};
pub use pad::{zero_pad2d, zero_pad2d_into};
pub use pool::{
    adaptive_avg_pool2d, adaptive_avg_pool2d_into, adaptive_window, average, avg_pool2d, avg_pool2d_into, max_pool2d,
    max_pool2d_into,
};
pub use quant::Quant;
pub use requant::{
    act_min, requantize, rounding_divide_by_pot, saturating_rounding_doubling_high_mul, Multiplier, Requantize,
};

/// A `ReLU` that follows a layer keeping its input's quantisation: `q = max(q, zero_point)`
/// (real zero is the zero point).
#[inline]
pub fn relu_in_place(x: &mut [i8], zero_point: i32) {
    let zero = zero_point.clamp(-128, 127) as i8;
    for v in x {
        *v = (*v).max(zero);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn relu_clamps_at_the_zero_point() {
        let mut x = [-128, -6, -5, 0, 127];
        super::relu_in_place(&mut x, -5);
        assert_eq!(x, [-5, -5, -5, 0, 127]);
    }
}
