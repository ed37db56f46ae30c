//! Classifies the eight test digits with the seed MNIST model in int8 (`Mnist8::INT8`,
//! baked into flash from `models/mnist-int8.safetensors`), prints each int8 output, what
//! one inference costs, and exits.
#![no_std]
#![no_main]

// The board helpers serve every bin; this one prints no f32 logits (`report`).
#[allow(dead_code)]
mod board;

use core::hint::black_box;

use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;
use nn_firmware::{Mnist8, Mnist8Int8, TEST_DIGITS};
use panic_semihosting as _;

/// Multiply-accumulates of one inference: 784×256 + 256×10.
const MACS: u32 = 784 * 256 + 256 * 10;

#[entry]
fn main() -> ! {
    let peripherals = cortex_m::Peripherals::take().unwrap_or_else(|| panic!("peripherals taken twice"));
    board::start_counter(peripherals.SYST);
    let model = black_box(Mnist8::INT8);

    let input = model.quantize_input(&TEST_DIGITS[0].mnist_input());
    let (_, stack) = board::stack_used(|| model.infer(black_box(&input)));
    board::count_instructions("mnist int8", 4, MACS, || model.infer(black_box(&input)));
    hprintln!(
        "mnist int8: {stack} bytes of stack per inference, {} bytes of int8 model in flash",
        core::mem::size_of::<Mnist8Int8>()
    );

    for (i, digit) in TEST_DIGITS.iter().enumerate() {
        let y = model.infer(black_box(&model.quantize_input(&digit.mnist_input())));
        board::print_values("mnist int8 digit", i, &y);
    }
    hprintln!("mnist int8: peak stack since reset {} bytes", board::peak_stack());
    board::exit_success()
}
