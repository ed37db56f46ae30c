//! Runs nn's int8 kernels on fixed pseudo-random weights and inputs (`int8_case`): a
//! 784-256-10 dense model, a small convolutional chain and a chain of depthwise 3×3
//! layers (every pass of the direct kernel's M4 loop). Prints every output and the
//! instructions one dense inference takes, and exits. On a Cortex-M4F the matrix
//! kernels use the DSP extension; on a Cortex-M0 the portable path: the outputs agree
//! bit for bit with each other and with the host's.
#![no_std]
#![no_main]

// The board helpers serve every bin; this one prints no f32 logits (`report`).
#[allow(dead_code)]
mod board;

use core::hint::black_box;

use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;
use nn_firmware::int8_case::{conv_chain, dense, direct_chain, ChainOutputs, CONV_INPUTS, DENSE_INPUTS, DIRECT_INPUTS};
use panic_semihosting as _;

/// Multiply-accumulates of one 784-256-10 inference: 784×256 + 256×10.
const DENSE_MACS: u32 = 784 * 256 + 256 * 10;

#[entry]
fn main() -> ! {
    let peripherals = cortex_m::Peripherals::take().unwrap_or_else(|| panic!("peripherals taken twice"));
    board::start_counter(peripherals.SYST);

    let input = &DENSE_INPUTS[0];
    let (_, stack) = board::stack_used(|| dense(black_box(input)));
    board::count_instructions("int8 dense", 4, DENSE_MACS, || dense(black_box(input)));
    hprintln!("int8 dense: {stack} bytes of stack per inference");

    for (i, x) in DENSE_INPUTS.iter().enumerate() {
        board::print_values("int8 dense", i, &dense(black_box(x)));
    }
    for (i, x) in CONV_INPUTS.iter().enumerate() {
        let ChainOutputs { sum, averaged, adaptive } = conv_chain(black_box(x));
        board::print_values("int8 conv add", i, sum.as_flattened().as_flattened());
        board::print_values("int8 conv avg", i, averaged.as_flattened().as_flattened());
        board::print_values("int8 conv adaptive", i, adaptive.as_flattened().as_flattened());
    }
    for (i, x) in DIRECT_INPUTS.iter().enumerate() {
        for (name, values) in direct_chain(black_box(x)).lines() {
            board::print_values(name, i, values);
        }
    }
    hprintln!("int8: peak stack since reset {} bytes", board::peak_stack());
    board::exit_success()
}
