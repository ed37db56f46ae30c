//! A QEMU TCG plugin that counts the guest instructions executed between marks: an exact,
//! deterministic instruction count for code running under `qemu-system-arm` (QEMU does not
//! emulate the Cortex-M cycle counter, and Debian ships no TCG plugins).
//!
//! ```text
//! qemu-system-arm ... -d plugin -plugin target/release/libqemu_insn_count.so,mark=0x1a10 -kernel fw.elf
//! ```
//!
//! `mark` is the address of a function the guest calls at the start and at the end of each
//! region (the firmware's `insn_mark`: `arm-none-eabi-nm fw.elf | grep insn_mark`). At exit
//! the plugin prints, through QEMU's log (`-d plugin`, on stderr), the instructions executed
//! in all and between the 1st and 2nd mark, the 3rd and 4th, and so on. A region includes
//! the mark call itself (one `bx lr`) and the call site around it.
//!
//! With `blocks=<file>` it also writes, at exit, one line per translated block that ran:
//! its address, its instructions and how often it ran (`0x1a10 12 3000`), the profile
//! that shows where a kernel's instructions go (`arm-none-eabi-objdump -d` names them).
//!
//! It declares the part of QEMU's plugin API (version 1, QEMU 4.2 to 8.x) that it uses, so
//! it needs neither QEMU's header nor bindgen. QEMU 9 changed the inline operations: with
//! it, `qemu_plugin_register_vcpu_tb_exec_inline` must become
//! `qemu_plugin_register_vcpu_tb_exec_inline_per_vcpu`.

use std::ffi::{c_char, c_int, c_uint, c_void, CStr, CString};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// QEMU's handle for a loaded plugin.
type PluginId = u64;

/// QEMU's translation block, opaque here.
#[repr(C)]
struct Tb {
    _private: [u8; 0],
}

/// `QEMU_PLUGIN_CB_NO_REGS`: the callback reads no guest register.
const CB_NO_REGS: c_int = 0;
/// `QEMU_PLUGIN_INLINE_ADD_U64`: the generated code adds an immediate to a `u64`.
const INLINE_ADD_U64: c_int = 0;

extern "C" {
    fn qemu_plugin_register_vcpu_tb_trans_cb(id: PluginId, cb: extern "C" fn(PluginId, *mut Tb));
    fn qemu_plugin_register_vcpu_tb_exec_inline(tb: *mut Tb, op: c_int, ptr: *mut c_void, imm: u64);
    fn qemu_plugin_register_vcpu_tb_exec_cb(
        tb: *mut Tb,
        cb: extern "C" fn(c_uint, *mut c_void),
        flags: c_int,
        userdata: *mut c_void,
    );
    fn qemu_plugin_tb_n_insns(tb: *const Tb) -> usize;
    fn qemu_plugin_tb_vaddr(tb: *const Tb) -> u64;
    fn qemu_plugin_register_atexit_cb(id: PluginId, cb: extern "C" fn(PluginId, *mut c_void), userdata: *mut c_void);
    fn qemu_plugin_outs(string: *const c_char);
}

/// The plugin API version this plugin is written against.
#[no_mangle]
pub static qemu_plugin_version: c_int = 1;

/// Instructions executed so far: the code QEMU generates adds each block's length on entry.
static EXECUTED: AtomicU64 = AtomicU64::new(0);

/// The guest address of the mark function.
static MARK: AtomicU64 = AtomicU64::new(0);

/// [`EXECUTED`] at each call of the mark function.
static MARKS: Mutex<Vec<u64>> = Mutex::new(Vec::new());

/// Where `blocks=` asked for the per-block profile, if it did.
static BLOCKS_FILE: Mutex<Option<String>> = Mutex::new(None);

/// One translated block of the profile: its address, its instructions, and the count its
/// generated code increments on each entry.
struct Block {
    address: u64,
    insns: u64,
    runs: AtomicU64,
}

/// Every block translated while profiling; each is leaked, so that its counter outlives
/// the generated code that increments it.
static BLOCKS: Mutex<Vec<&'static Block>> = Mutex::new(Vec::new());

/// Called by QEMU when it loads the plugin; `argv` holds the `key=value` options.
///
/// # Safety
/// QEMU passes `argc` valid C strings in `argv`.
#[no_mangle]
pub unsafe extern "C" fn qemu_plugin_install(
    id: PluginId,
    _info: *const c_void,
    argc: c_int,
    argv: *const *const c_char,
) -> c_int {
    let args = (0..usize::try_from(argc).unwrap_or(0))
        // SAFETY: QEMU passes `argc` valid C strings.
        .map(|i| unsafe { CStr::from_ptr(*argv.add(i)) }.to_string_lossy().into_owned());
    let mut mark = None;
    for arg in args {
        if let Some(file) = arg.strip_prefix("blocks=") {
            *BLOCKS_FILE.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(file.to_owned());
            continue;
        }
        match arg.strip_prefix("mark=").map(|hex| u64::from_str_radix(hex.trim_start_matches("0x"), 16)) {
            Some(Ok(address)) => mark = Some(address),
            _ => {
                eprintln!(
                    "qemu-insn-count: unknown option `{arg}`; expected mark=0x<address of the mark function> or blocks=<file>"
                );
                return -1;
            }
        }
    }
    let Some(mark) = mark else {
        eprintln!("qemu-insn-count: missing mark=0x<address of the mark function>");
        return -1;
    };
    MARK.store(mark, Ordering::Relaxed);
    // SAFETY: QEMU's registration functions, called with the id QEMU gave.
    unsafe {
        qemu_plugin_register_vcpu_tb_trans_cb(id, translated);
        qemu_plugin_register_atexit_cb(id, report, std::ptr::null_mut());
    }
    0
}

/// Instruments each block as QEMU translates it: count its instructions, and record
/// the count when the block is the mark function.
extern "C" fn translated(_id: PluginId, tb: *mut Tb) {
    // SAFETY: `tb` is the block being translated, valid during this callback.
    unsafe {
        let insns = qemu_plugin_tb_n_insns(tb) as u64;
        qemu_plugin_register_vcpu_tb_exec_inline(tb, INLINE_ADD_U64, EXECUTED.as_ptr().cast(), insns);
        // Thumb addresses: the symbol's value has bit 0 set, the block's address does not.
        let address = qemu_plugin_tb_vaddr(tb);
        if address == MARK.load(Ordering::Relaxed) & !1 {
            qemu_plugin_register_vcpu_tb_exec_cb(tb, marked, CB_NO_REGS, std::ptr::null_mut());
        }
        if BLOCKS_FILE.lock().is_ok_and(|file| file.is_some()) {
            let block: &'static Block = Box::leak(Box::new(Block { address, insns, runs: AtomicU64::new(0) }));
            qemu_plugin_register_vcpu_tb_exec_inline(tb, INLINE_ADD_U64, block.runs.as_ptr().cast(), 1);
            if let Ok(mut blocks) = BLOCKS.lock() {
                blocks.push(block);
            }
        }
    }
}

/// Runs when the guest enters the mark function.
extern "C" fn marked(_vcpu: c_uint, _userdata: *mut c_void) {
    if let Ok(mut marks) = MARKS.lock() {
        marks.push(EXECUTED.load(Ordering::Relaxed));
    }
}

/// Prints the counts when QEMU exits.
extern "C" fn report(_id: PluginId, _userdata: *mut c_void) {
    let marks = MARKS.lock().map(|marks| marks.clone()).unwrap_or_default();
    let mut text = format!("qemu-insn-count: {} instructions in all\n", EXECUTED.load(Ordering::Relaxed));
    for (region, pair) in marks.chunks_exact(2).enumerate() {
        text += &format!("qemu-insn-count: region {}: {} instructions\n", region + 1, pair[1] - pair[0]);
    }
    if let Ok(text) = CString::new(text) {
        // SAFETY: a valid C string, which QEMU copies.
        unsafe { qemu_plugin_outs(text.as_ptr()) };
    }
    if let Some(file) = BLOCKS_FILE.lock().ok().and_then(|file| file.clone()) {
        let blocks = BLOCKS.lock().map(|blocks| blocks.clone()).unwrap_or_default();
        let profile: String = blocks
            .iter()
            .filter(|block| block.runs.load(Ordering::Relaxed) > 0)
            .map(|block| format!("{:#x} {} {}\n", block.address, block.insns, block.runs.load(Ordering::Relaxed)))
            .collect();
        if let Err(error) = std::fs::write(&file, profile) {
            eprintln!("qemu-insn-count: cannot write the block profile to {file}: {error}");
        }
    }
}
