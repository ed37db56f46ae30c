//! Puts the selected memory map (`MEMORY_X`, default `memory/mps2-an386.x`) where
//! cortex-m-rt's `link.x` looks for `memory.x`.
//!
//! Keep no `memory.x` in this directory: the linker searches its working directory
//! before `-L` paths, so one there would silently win over the map selected here.

use std::{env, fs, path::PathBuf};

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let map = env::var("MEMORY_X").unwrap_or_else(|_| "memory/mps2-an386.x".into());
    fs::copy(&map, out.join("memory.x")).unwrap_or_else(|e| panic!("cannot copy the memory map {map}: {e}"));
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed={map}");
    println!("cargo:rerun-if-env-changed=MEMORY_X");
}
