//! The data caches of this CPU, read once at run time, from which the blocked product
//! takes its block sizes: on x86-64 from `cpuid` (leaf 4 on Intel, leaf 0x8000001D on
//! AMD and Hygon), where that says nothing from Linux's
//! `/sys/devices/system/cpu/cpu0/cache`, and [`FALLBACK`] for any size neither gives.

use std::sync::OnceLock;

/// Sizes in bytes of the caches one core uses: its L1 data cache, its L2, and the L3
/// (shared between cores).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Caches {
    /// Level-1 data cache.
    pub(super) l1d: usize,
    /// Level-2 cache.
    pub(super) l2: usize,
    /// Level-3 cache.
    pub(super) l3: usize,
}

/// What a CPU that reports nothing is taken to have: small for today's cores, so blocks
/// sized from it fit wherever they run.
pub(super) const FALLBACK: Caches = Caches { l1d: 32 << 10, l2: 512 << 10, l3: 4 << 20 };

/// This CPU's caches, detected at the first call.
pub(super) fn caches() -> Caches {
    static CACHES: OnceLock<Caches> = OnceLock::new();
    *CACHES.get_or_init(|| sane(detect()))
}

/// One cache a CPU reports: its level (1 to 3) and size in bytes; data or unified
/// caches only.
type Level = (u32, usize);

/// The levels' sizes, each within what real CPUs have, or [`FALLBACK`]'s.
fn sane(levels: Vec<Level>) -> Caches {
    let size = |level: u32, range: std::ops::RangeInclusive<usize>, fallback: usize| {
        levels.iter().find(|&&(l, size)| l == level && range.contains(&size)).map_or(fallback, |&(_, size)| size)
    };
    let l1d = size(1, (8 << 10)..=(1 << 20), FALLBACK.l1d);
    let l2 = size(2, (64 << 10)..=(64 << 20), FALLBACK.l2).max(l1d);
    let l3 = size(3, (256 << 10)..=(4 << 30), FALLBACK.l3.max(l2)).max(l2);
    Caches { l1d, l2, l3 }
}

/// The data and unified caches of this CPU: `cpuid`'s, else Linux's list.
fn detect() -> Vec<Level> {
    let levels = cpuid();
    if levels.is_empty() {
        sysfs()
    } else {
        levels
    }
}

/// The data and unified caches `cpuid` describes.
#[cfg(target_arch = "x86_64")]
fn cpuid() -> Vec<Level> {
    use std::arch::x86_64::__cpuid_count;

    // Leaves above the maximum the CPU reports are not asked for.
    let vendor = __cpuid_count(0, 0);
    let max_leaf = vendor.eax;
    let amd = matches!(
        (vendor.ebx, vendor.edx, vendor.ecx),
        (0x6874_7541, 0x6974_6e65, 0x444d_4163) | (0x6f67_7948, 0x6e65_476e, 0x656e_6975)
    );
    let leaf = if amd {
        let max_extended = __cpuid_count(0x8000_0000, 0).eax;
        // Leaf 0x8000001D exists when the topology extensions bit (22) of 0x80000001 is set.
        let topology = max_extended >= 0x8000_001d && __cpuid_count(0x8000_0001, 0).ecx & (1 << 22) != 0;
        if !topology {
            return Vec::new();
        }
        0x8000_001d
    } else if max_leaf >= 4 {
        4
    } else {
        return Vec::new();
    };
    // Both leaves share one layout: a subleaf per cache until the type is 0 ("no more").
    (0..16)
        .map(|subleaf| __cpuid_count(leaf, subleaf))
        .take_while(|r| r.eax & 0x1f != 0)
        .filter(|r| matches!(r.eax & 0x1f, 1 | 3))
        .map(|r| {
            let ways = (r.ebx >> 22) as usize + 1;
            let partitions = ((r.ebx >> 12) & 0x3ff) as usize + 1;
            let line = (r.ebx & 0xfff) as usize + 1;
            let sets = r.ecx as usize + 1;
            ((r.eax >> 5) & 0x7, ways * partitions * line * sets)
        })
        .collect()
}

/// No `cpuid` off x86-64.
#[cfg(not(target_arch = "x86_64"))]
fn cpuid() -> Vec<Level> {
    Vec::new()
}

/// The data and unified caches Linux lists for the first CPU; none elsewhere.
fn sysfs() -> Vec<Level> {
    let read = |index: usize, file: &str| {
        std::fs::read_to_string(format!("/sys/devices/system/cpu/cpu0/cache/index{index}/{file}"))
    };
    (0..8)
        .map_while(|index| Some((read(index, "level").ok()?, read(index, "type").ok()?, read(index, "size").ok()?)))
        .filter(|(_, kind, _)| matches!(kind.trim(), "Data" | "Unified"))
        .filter_map(|(level, _, size)| Some((level.trim().parse().ok()?, parse_size(size.trim())?)))
        .collect()
}

/// A sysfs cache size (`"48K"`, `"2048K"`, `"32M"`) in bytes.
fn parse_size(size: &str) -> Option<usize> {
    let (digits, unit) = match size.strip_suffix('K') {
        Some(digits) => (digits, 1 << 10),
        None => match size.strip_suffix('M') {
            Some(digits) => (digits, 1 << 20),
            None => (size, 1),
        },
    };
    digits.parse::<usize>().ok().map(|n| n * unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_cpu_reports_sizes_within_reason() {
        let Caches { l1d, l2, l3 } = caches();
        assert!((8 << 10..=1 << 20).contains(&l1d), "L1d {l1d}");
        assert!(l1d <= l2 && l2 <= l3, "L1d {l1d}, L2 {l2}, L3 {l3}");
    }

    #[test]
    fn missing_or_absurd_levels_fall_back() {
        assert_eq!(sane(Vec::new()), FALLBACK);
        let zen4 = sane(vec![(1, 32 << 10), (2, 1 << 20), (3, 32 << 20)]);
        assert_eq!(zen4, Caches { l1d: 32 << 10, l2: 1 << 20, l3: 32 << 20 });
        let absurd = sane(vec![(1, 0), (2, 1 << 40)]);
        assert_eq!(absurd, FALLBACK);
    }

    #[test]
    fn sysfs_sizes_parse() {
        assert_eq!(parse_size("48K"), Some(48 << 10));
        assert_eq!(parse_size("32M"), Some(32 << 20));
        assert_eq!(parse_size("512"), Some(512));
        assert_eq!(parse_size("big"), None);
    }
}
