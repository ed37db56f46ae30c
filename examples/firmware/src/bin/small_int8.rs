//! Runs the 16-32-4 model in int8 (`Small8::INT8`) on 4×4 thumbnails of the eight test
//! digits, prints its int8 outputs and what one inference costs, and exits.
#![no_std]
#![no_main]

// The board helpers serve every bin; this one prints no f32 logits (`report`).
#[allow(dead_code)]
mod board;

use core::hint::black_box;

use cortex_m_rt::entry;
use cortex_m_semihosting::hprintln;
use nn_firmware::{Small8, Small8Int8, THUMBNAILS};
use panic_semihosting as _;

/// Multiply-accumulates of one inference: 16×32 + 32×4.
const MACS: u32 = 16 * 32 + 32 * 4;

#[entry]
fn main() -> ! {
    let peripherals = cortex_m::Peripherals::take().unwrap_or_else(|| panic!("peripherals taken twice"));
    board::start_counter(peripherals.SYST);
    let model = black_box(Small8::INT8);

    let input = model.quantize_input(&THUMBNAILS[0]);
    let (_, stack) = board::stack_used(|| model.infer(black_box(&input)));
    board::count_instructions("small int8", 100, MACS, || model.infer(black_box(&input)));
    hprintln!(
        "small int8: {stack} bytes of stack per inference, {} bytes of int8 model in flash",
        core::mem::size_of::<Small8Int8>()
    );

    for (i, thumbnail) in THUMBNAILS.iter().enumerate() {
        let y = model.infer(black_box(&model.quantize_input(thumbnail)));
        board::print_values("small int8 digit", i, &y);
    }
    hprintln!("small int8: peak stack since reset {} bytes", board::peak_stack());
    board::exit_success()
}
