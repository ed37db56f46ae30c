//! Runs the MLPerf Tiny FC autoencoder in int8 (`Ae8::INT8`, baked into
//! flash from `models/ae-int8.safetensors`) on three fixed int8 inputs, with its activations
//! in a scratch in `.bss` (`infer_with`); prints each int8 output and what one inference
//! costs, and exits.
#![no_std]
#![no_main]

// The board helpers serve every bin; this one prints no f32 logits (`report`).
#[allow(dead_code)]
mod board;

use cortex_m_rt::entry;
use nn_firmware::{tiny_inputs::AE_INPUTS, Ae8, Ae8Int8, Ae8Int8Scratch};
use panic_semihosting as _;

#[entry]
fn main() -> ! {
    board::run_int8_model!("ae int8", Ae8, Ae8Int8, Ae8Int8Scratch, AE_INPUTS)
}
