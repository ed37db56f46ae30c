//! Runs the MLPerf Tiny DS-CNN keyword spotter in int8 (`Kws8::INT8`, baked into
//! flash from `models/ds-cnn-int8.safetensors`) on three fixed int8 inputs, with its activations
//! in a scratch in `.bss` (`infer_with`); prints each int8 output and what one inference
//! costs, and exits.
#![no_std]
#![no_main]

// The board helpers serve every bin; this one prints no f32 logits (`report`).
#[allow(dead_code)]
mod board;

use cortex_m_rt::entry;
use nn_firmware::{tiny_inputs::KWS_INPUTS, Kws8, Kws8Int8, Kws8Int8Scratch};
use panic_semihosting as _;

#[entry]
fn main() -> ! {
    board::run_int8_model!("kws int8", Kws8, Kws8Int8, Kws8Int8Scratch, KWS_INPUTS)
}
