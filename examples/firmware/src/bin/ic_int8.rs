//! Runs the MLPerf Tiny ResNet-8 image classifier in int8 (`Ic8::INT8`, baked into flash
//! from `models/ic-int8.safetensors`) on three fixed int8 inputs, prints each int8
//! output, what one inference costs, and exits.
#![no_std]
#![no_main]

// The board helpers serve every bin; this one prints no f32 logits (`report`).
#[allow(dead_code)]
mod board;

use core::hint::black_box;

use cortex_m_rt::entry;
use cortex_m_semihosting::{hprint, hprintln};
use nn_firmware::{tiny_inputs::IC_INPUTS, Ic8, Ic8Int8};
use panic_semihosting as _;

/// Prints `name index: [v, v, ...]`, the line the host's reference prints too.
fn print_values(name: &str, index: usize, values: &[i8]) {
    hprint!("{name} {index}: [");
    for (i, v) in values.iter().enumerate() {
        hprint!("{}{v}", if i == 0 { "" } else { ", " });
    }
    hprintln!("]");
}

#[entry]
fn main() -> ! {
    let peripherals = cortex_m::Peripherals::take().unwrap_or_else(|| panic!("peripherals taken twice"));
    board::start_counter(peripherals.SYST);
    let model: &Ic8Int8 = black_box(&Ic8::INT8);

    let (_, stack) = board::stack_used(|| model.infer(black_box(&IC_INPUTS[0])));
    board::count_instructions("ic int8", 3, Ic8::<f32>::MACS as u32, || model.infer(black_box(&IC_INPUTS[0])));
    hprintln!(
        "ic int8: {stack} bytes of stack per inference, {} bytes of int8 model in flash, {} MACs",
        core::mem::size_of::<Ic8Int8>(),
        Ic8::<f32>::MACS
    );

    for (i, x) in IC_INPUTS.iter().enumerate() {
        print_values("ic int8 input", i, &model.infer(black_box(x)));
    }
    hprintln!("ic int8: peak stack since reset {} bytes", board::peak_stack());
    board::exit_success()
}
