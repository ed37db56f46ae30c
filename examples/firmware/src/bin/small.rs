//! Runs the 16-32-4 model on 4×4 thumbnails of the eight test digits, prints its
//! outputs and what one inference costs, and exits: a firmware for small parts.
#![no_std]
#![no_main]

// The board helpers serve every bin; this one prints no int8 outputs (`print_values`).
#[allow(dead_code)]
mod board;

use core::hint::black_box;

use cortex_m_rt::entry;
use nn_firmware::{Small, LABELS, THUMBNAILS};
use panic_semihosting as _;

/// Multiply-accumulates of one inference: 16×32 + 32×4.
const MACS: u32 = 16 * 32 + 32 * 4;

const _: () = assert!(Small::<f32>::NUM_PARAMS == 676);

#[entry]
fn main() -> ! {
    let peripherals = cortex_m::Peripherals::take().unwrap_or_else(|| panic!("peripherals taken twice"));
    board::start_counter(peripherals.SYST);
    let model = black_box(Small::FROZEN);

    let input = THUMBNAILS[0];
    let (_, stack) = board::stack_used(|| model.infer(black_box(&input)));
    board::count_instructions("small", 100, MACS, || model.infer(black_box(&input)));
    cortex_m_semihosting::hprintln!(
        "small: {stack} bytes of stack per inference (SCRATCH_BYTES = {}), {} bytes of weights in flash",
        Small::<f32>::SCRATCH_BYTES,
        Small::<f32>::FROZEN_BYTES
    );

    for (i, (thumbnail, &label)) in THUMBNAILS.iter().zip(&LABELS).enumerate() {
        let logits = model.infer(black_box(thumbnail));
        board::report("small digit", i, label, &logits);
    }
    cortex_m_semihosting::hprintln!("small: peak stack since reset {} bytes", board::peak_stack());
    board::exit_success()
}
