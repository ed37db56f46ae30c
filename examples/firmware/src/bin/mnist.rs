//! Classifies the eight test digits with the seed MNIST model (784-256-10, weights in
//! flash), prints each prediction and its logits, what one inference costs, and exits.
#![no_std]
#![no_main]

// The board helpers serve every bin; this one prints no int8 outputs (`print_values`).
#[allow(dead_code)]
mod board;

use core::hint::black_box;

use cortex_m_rt::entry;
use nn_firmware::{Mnist, TEST_DIGITS};
use panic_semihosting as _;

/// Multiply-accumulates of one inference: 784×256 + 256×10.
const MACS: u32 = 784 * 256 + 256 * 10;

const _: () = assert!(Mnist::<f32>::NUM_PARAMS == 203_530);
const _: () = assert!(Mnist::<f32>::FROZEN_BYTES == 4 * 203_530);

#[entry]
fn main() -> ! {
    let peripherals = cortex_m::Peripherals::take().unwrap_or_else(|| panic!("peripherals taken twice"));
    board::start_counter(peripherals.SYST);
    let model = black_box(Mnist::FROZEN);

    let input = TEST_DIGITS[0].mnist_input();
    let (_, stack) = board::stack_used(|| model.infer(black_box(&input)));
    board::count_instructions("mnist", 4, MACS, || model.infer(black_box(&input)));
    cortex_m_semihosting::hprintln!(
        "mnist: {stack} bytes of stack per inference (SCRATCH_BYTES = {}), {} bytes of weights in flash",
        Mnist::<f32>::SCRATCH_BYTES,
        Mnist::<f32>::FROZEN_BYTES
    );

    for (i, digit) in TEST_DIGITS.iter().enumerate() {
        let logits = model.infer(black_box(&digit.mnist_input()));
        board::report("mnist digit", i, digit.label, &logits);
    }
    cortex_m_semihosting::hprintln!("mnist: peak stack since reset {} bytes", board::peak_stack());
    board::exit_success()
}
