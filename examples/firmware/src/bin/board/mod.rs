//! What both firmwares share: the instruction counter, stack measurement, the lines
//! they print over semihosting, and exits that QEMU turns into exit codes.

use core::hint::black_box;
use core::ptr::{addr_of, read_volatile, write_volatile};
use core::sync::atomic::{compiler_fence, AtomicU32, Ordering};

use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::SYST;
use cortex_m_rt::{exception, ExceptionFrame};
use cortex_m_semihosting::{debug, hprint, hprintln};

/// The core clock SysTick counts, in Hz, of the board each target runs on in
/// `.cargo/config.toml`: mps2-an386's 25 MHz, or the micro:bit's 16 MHz.
#[cfg(target_abi = "eabihf")]
const CORE_HZ: u32 = 25_000_000;
#[cfg(not(target_abi = "eabihf"))]
const CORE_HZ: u32 = 16_000_000;

/// SysTick's reload value: it counts down 2^24 ticks, then wraps.
const RELOAD: u32 = 0x00FF_FFFF;

/// How many times SysTick has wrapped (a load and a store: Cortex-M0 has no atomic add).
static WRAPS: AtomicU32 = AtomicU32::new(0);

/// The value cortex-m-rt's `paint-stack` fills the stack with at reset.
const PAINT: u32 = 0xCCCC_CCCC;

extern "C" {
    /// The top of the stack (it grows down from here).
    static _stack_start: u32;
    /// The lowest address the stack may reach.
    static _stack_end: u32;
}

#[exception]
fn SysTick() {
    WRAPS.store(WRAPS.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
}

#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    hprintln!("hard fault at pc {:#010x}", frame.pc());
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}

/// Starts SysTick on the core clock. Under QEMU with `-icount shift=0` one instruction
/// takes 1 ns of virtual time, so SysTick counts instructions (DWT's cycle counter is
/// not emulated).
pub fn start_counter(mut syst: SYST) {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(RELOAD);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
    // QEMU reads 0 until the first reload.
    while SYST::get_current() == 0 {}
}

/// Ticks since `start_counter` (SysTick counts down; each wrap adds 2^24), modulo 2^32.
fn now() -> u32 {
    loop {
        let wraps = WRAPS.load(Ordering::Relaxed);
        let current = SYST::get_current();
        if wraps == WRAPS.load(Ordering::Relaxed) {
            return wraps.wrapping_mul(RELOAD + 1).wrapping_add(RELOAD - current);
        }
    }
}

/// Marks the start and the end of a counted region for `tools/qemu-insn-count`, which
/// counts the instructions QEMU executes between two calls of this function.
#[no_mangle]
#[inline(never)]
pub extern "C" fn insn_mark() {
    // An empty asm statement: LLVM may neither drop the call nor merge it with another function.
    // SAFETY: it executes no instruction.
    unsafe { core::arch::asm!("", options(nomem, nostack, preserves_flags)) };
}

/// Runs `f` `reps` times and prints the instructions per run (through SysTick under
/// `-icount shift=0`), and per multiply-accumulate when `macs` is not zero. The runs
/// lie between two [`insn_mark`] calls, for an exact count by `tools/qemu-insn-count`.
pub fn count_instructions<R>(name: &str, reps: u32, macs: u32, mut f: impl FnMut() -> R) {
    compiler_fence(Ordering::SeqCst);
    let start = now();
    insn_mark();
    for _ in 0..reps {
        black_box(f());
    }
    insn_mark();
    let ticks = now().wrapping_sub(start);
    compiler_fence(Ordering::SeqCst);
    // One instruction per nanosecond: ticks × 10⁹ / CORE_HZ (the micro:bit's 62.5 ns tick is not whole).
    let insns = (u64::from(ticks) * 1_000_000_000 / (u64::from(CORE_HZ) * u64::from(reps))) as u32;
    hprint!("{name}: {insns} instructions per inference ({ticks} SysTick ticks for {reps} runs");
    // In u64: a model of 43 M instructions or more would overflow `insns · 100` in u32.
    if let Some(centi) = (u64::from(insns) * 100).checked_div(u64::from(macs)) {
        hprint!(", {}.{:02} per multiply-accumulate", centi / 100, centi % 100);
    }
    hprintln!(")");
}

/// Stack left unpainted below [`stack_used`]'s frame for `paint`'s own frame.
const PAINT_MARGIN: usize = 256;

/// Runs `f` once on a freshly painted stack and returns its result and the bytes of
/// stack it used below the caller's frame (at least [`PAINT_MARGIN`]).
#[inline(never)]
pub fn stack_used<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let top = cortex_m::register::msp::read() as usize;
    let bottom = addr_of!(_stack_end) as usize;
    paint(bottom, top - PAINT_MARGIN);
    let result = black_box(f());
    (result, top - lowest_used(bottom, top))
}

/// Paints the words of `[bottom, top)`: free stack, below this call's frame.
#[inline(never)]
fn paint(bottom: usize, top: usize) {
    for word in (bottom..top).step_by(4) {
        // SAFETY: the addresses lie below the stack pointer, in the stack region: unused.
        unsafe { write_volatile(word as *mut u32, PAINT) };
    }
}

/// The lowest address in `[bottom, top)` whose paint has been scrubbed off.
fn lowest_used(bottom: usize, top: usize) -> usize {
    // SAFETY: reads of the stack region, which is mapped RAM.
    (bottom..top).step_by(4).find(|&word| unsafe { read_volatile(word as *const u32) } != PAINT).unwrap_or(top)
}

/// The deepest the stack has been since reset (cortex-m-rt painted it then).
pub fn peak_stack() -> usize {
    let top = addr_of!(_stack_start) as usize;
    top - lowest_used(addr_of!(_stack_end) as usize, top)
}

/// Prints one result line; the bit-exact checker reads the `bits` list.
pub fn report(what: &str, index: usize, label: u8, logits: &[f32]) {
    hprint!("{what} {index}: label {label} predicted {} logits [", nn_firmware::argmax(logits));
    for (i, v) in logits.iter().enumerate() {
        hprint!("{}{v:?}", if i == 0 { "" } else { ", " });
    }
    hprint!("] bits [");
    for (i, v) in logits.iter().enumerate() {
        hprint!("{}{:08x}", if i == 0 { "" } else { " " }, v.to_bits());
    }
    hprintln!("]");
}

/// Prints `name index: [v, v, ...]`, the line the host's reference prints too.
pub fn print_values(name: &str, index: usize, values: &[i8]) {
    hprint!("{name} {index}: [");
    for (i, v) in values.iter().enumerate() {
        hprint!("{}{v}", if i == 0 { "" } else { ", " });
    }
    hprintln!("]");
}

/// The `main` of an MLPerf Tiny int8 firmware: runs `$net::INT8` (of type `$int8`) with its
/// activations in a `$scratch` in `.bss` (`infer_with`), prints the stack one inference
/// takes beside it, counts the instructions of 3 inferences, prints the int8 output of
/// each of `$inputs` as `$label input i: [..]`, and exits.
// Used by the MLPerf Tiny bins only, like every helper here by some of the bins.
#[allow(unused_macros)]
macro_rules! run_int8_model {
    ($label:literal, $net:ident, $int8:ident, $scratch:ident, $inputs:expr) => {{
        let peripherals = cortex_m::Peripherals::take().unwrap_or_else(|| panic!("peripherals taken twice"));
        board::start_counter(peripherals.SYST);
        let model: &$int8 = core::hint::black_box(&$net::INT8);
        // The activations' arena, in `.bss`: taken once, so no `static mut` is touched here.
        let scratch =
            cortex_m::singleton!(: $scratch = $scratch::new()).unwrap_or_else(|| panic!("the scratch is taken once"));
        let first = core::hint::black_box(&$inputs[0]);
        let (_, stack) = board::stack_used(|| model.infer_with(first, scratch));
        board::count_instructions($label, 3, $net::<f32>::MACS as u32, || model.infer_with(first, scratch));
        cortex_m_semihosting::hprintln!(
            "{}: {stack} bytes of stack per inference beside a {}-byte scratch in .bss, {} bytes of int8 model in flash, {} MACs",
            $label,
            $int8::SCRATCH_BYTES,
            core::mem::size_of::<$int8>(),
            $net::<f32>::MACS
        );
        for (i, x) in $inputs.iter().enumerate() {
            board::print_values(concat!($label, " input"), i, &model.infer_with(core::hint::black_box(x), scratch));
        }
        cortex_m_semihosting::hprintln!("{}: peak stack since reset {} bytes", $label, board::peak_stack());
        board::exit_success()
    }};
}
#[allow(unused_imports)]
pub(crate) use run_int8_model;

/// Ends the QEMU run with exit code 0.
pub fn exit_success() -> ! {
    debug::exit(debug::EXIT_SUCCESS);
    loop {
        cortex_m::asm::wfi();
    }
}
