//! Selects the Cortex-M4/M7 int8 kernels: `cfg(arm_dsp)` on the thumbv7em targets, whose
//! cores have the DSP extension (`SMLAD`, `SXTB16`). Stable Rust does not expose ARM
//! target features to `cfg`, so the target name decides.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(arm_dsp)");
    println!("cargo::rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.starts_with("thumbv7em") {
        println!("cargo::rustc-cfg=arm_dsp");
    }
}
