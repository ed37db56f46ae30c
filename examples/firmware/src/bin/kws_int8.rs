//! Runs the MLPerf Tiny DS-CNN keyword spotter in int8 (`Kws8::INT8`, baked into flash
//! from `models/ds-cnn-int8.safetensors`) on three fixed int8 inputs, prints each int8
//! output, what one inference costs, and exits. The activations live in a scratch in
//! `.bss` (`infer_with`), not on the stack.
#![no_std]
#![no_main]

// The board helpers serve every bin; this one prints no f32 logits (`report`).
#[allow(dead_code)]
mod board;

use core::hint::black_box;

use cortex_m_rt::entry;
use cortex_m_semihosting::{hprint, hprintln};
use nn_firmware::{tiny_inputs::KWS_INPUTS, Kws8, Kws8Int8, Kws8Int8Scratch};
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
    let model: &Kws8Int8 = black_box(&Kws8::INT8);
    // The activations' arena, in `.bss`: taken once, so no `static mut` is touched here.
    let scratch = cortex_m::singleton!(: Kws8Int8Scratch = Kws8Int8Scratch::new())
        .unwrap_or_else(|| panic!("the scratch is taken once"));

    let (_, stack) = board::stack_used(|| model.infer_with(black_box(&KWS_INPUTS[0]), scratch));
    board::count_instructions("kws int8", 3, Kws8::<f32>::MACS as u32, || {
        model.infer_with(black_box(&KWS_INPUTS[0]), scratch)
    });
    hprintln!(
        "kws int8: {stack} bytes of stack per inference beside a {}-byte scratch in .bss, {} bytes of int8 model in flash, {} MACs",
        Kws8Int8::SCRATCH_BYTES,
        core::mem::size_of::<Kws8Int8>(),
        Kws8::<f32>::MACS
    );

    for (i, x) in KWS_INPUTS.iter().enumerate() {
        print_values("kws int8 input", i, &model.infer_with(black_box(x), scratch));
    }
    hprintln!("kws int8: peak stack since reset {} bytes", board::peak_stack());
    board::exit_success()
}
