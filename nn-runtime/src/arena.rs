//! The activation arena of frozen and int8 inference: one buffer the caller provides
//! ([`Scratch`], which can be a `static`), cut at offsets fixed at compile time ([`plan`])
//! into the layers' inputs and outputs, which reuse each other's space once dead.
//!
//! A network holds one scalar type in its arena (`F` frozen, `i8` quantised), so offsets
//! and lengths count elements of it: every view is aligned by construction. The views
//! are typed arrays ([`cast`], [`cast_mut`]) of disjoint regions ([`regions`]), checked in
//! bounds and non-overlapping; the generated code passes constant offsets, so the checks
//! fold away.

use core::mem::{align_of, size_of};

mod sealed {
    pub trait Sealed {}
    impl Sealed for i8 {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
    impl<T: Sealed, const N: usize> Sealed for [T; N] {}
}

/// A type an arena region can be viewed as: a scalar (`i8`, `f32`, `f64`) or an array of
/// them, nested to any depth. Sealed: only these have the layout the views rely on.
///
/// # Safety
/// `Self` has the layout of `[Self::Scalar; Self::LEN]`: the same size, the alignment of
/// the scalar and no padding, and every bit pattern of those bytes is a valid `Self`.
pub unsafe trait Plain: sealed::Sealed + Sized {
    /// The scalar it is made of.
    type Scalar: Scalar;
    /// How many scalars it holds.
    const LEN: usize;
}

/// A scalar an arena holds: `i8`, `f32` or `f64`.
pub trait Scalar: Plain<Scalar = Self> + Copy + 'static {}

// SAFETY: a scalar is one of itself; every bit pattern of an `i8`, `f32` or `f64` is a
// value (a float's may be a NaN, never undefined behaviour).
unsafe impl Plain for i8 {
    type Scalar = i8;
    const LEN: usize = 1;
}
// SAFETY: as for `i8`.
unsafe impl Plain for f32 {
    type Scalar = f32;
    const LEN: usize = 1;
}
// SAFETY: as for `i8`.
unsafe impl Plain for f64 {
    type Scalar = f64;
    const LEN: usize = 1;
}
// SAFETY: an array lays its elements out back to back with no padding, aligned as its
// element; an element of `T::LEN` scalars makes `N · T::LEN` of them.
unsafe impl<T: Plain, const N: usize> Plain for [T; N] {
    type Scalar = T::Scalar;
    const LEN: usize = N * T::LEN;
}

impl Scalar for i8 {}
impl Scalar for f32 {}
impl Scalar for f64 {}

/// `N` bytes of activation memory, aligned to 16, for `infer_with`: on the stack, in a
/// `static` (`Scratch::new` is `const`), or boxed.
#[repr(C, align(16))]
pub struct Scratch<const N: usize> {
    bytes: [u8; N],
}

impl<const N: usize> Scratch<N> {
    /// A zeroed scratch; in a `static`, it takes `N` bytes of `.bss` and no flash.
    pub const fn new() -> Self {
        Self { bytes: [0; N] }
    }

    /// A zeroed scratch on the heap, built without passing through the stack (a large
    /// one would overflow it).
    #[cfg(feature = "std")]
    pub fn boxed() -> Box<Self> {
        // SAFETY: all-zero bytes are a valid `[u8; N]`.
        unsafe { crate::frozen::zeroed_box() }
    }

    /// The scratch as `N / size_of::<S>()` scalars `S`, the arena of one inference.
    pub fn elements_mut<S: Scalar>(&mut self) -> &mut [S] {
        const { assert!(align_of::<S>() <= align_of::<Self>(), "a scalar is aligned to 16 or less") };
        // SAFETY: the bytes are aligned to 16, so to `S`; `N / size_of::<S>()` scalars fit
        // in `N` bytes; every bit pattern is a valid `S` (`Plain`), and `S` values written
        // are plain bytes for the next view. The borrow of `self` covers the slice's.
        unsafe { core::slice::from_raw_parts_mut(self.bytes.as_mut_ptr().cast::<S>(), N / size_of::<S>()) }
    }
}

impl<const N: usize> Default for Scratch<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// The disjoint regions `(offset, len)` of `arena`, in the order given.
///
/// # Panics
/// If a region runs past the arena's end or two regions overlap (empty regions overlap
/// nothing). The generated code passes constant regions from its plan, so after
/// inlining the checks are decided at compile time.
#[inline(always)]
pub fn regions<S, const K: usize>(arena: &mut [S], spans: [(usize, usize); K]) -> [&mut [S]; K] {
    for (i, &(start, len)) in spans.iter().enumerate() {
        assert!(
            start <= arena.len() && len <= arena.len() - start,
            "arena region {start}..{} runs past the arena's {} elements",
            start + len,
            arena.len()
        );
        for &(other, other_len) in &spans[..i] {
            let apart = len == 0 || other_len == 0 || start + len <= other || other + other_len <= start;
            assert!(apart, "arena regions {start}..{} and {other}..{} overlap", start + len, other + other_len);
        }
    }
    let base = arena.as_mut_ptr();
    // SAFETY: each region lies inside `arena` and no two share an element (checked
    // above), so these are disjoint borrows of `arena`, which the result's lifetime keeps.
    spans.map(|(start, len)| unsafe { core::slice::from_raw_parts_mut(base.add(start), len) })
}

/// `region` viewed as a `T`.
///
/// # Panics
/// If `region` does not hold exactly `T::LEN` scalars.
#[inline(always)]
pub fn cast<T: Plain>(region: &[T::Scalar]) -> &T {
    assert_eq!(region.len(), T::LEN, "an arena view holds as many scalars as its type");
    // SAFETY: `T` has the layout of `[T::Scalar; T::LEN]` (`Plain`), which `region` is:
    // as long, aligned to the scalar, and any bits are a valid `T`.
    unsafe { &*region.as_ptr().cast::<T>() }
}

/// `region` viewed as a mutable `T`.
///
/// # Panics
/// If `region` does not hold exactly `T::LEN` scalars.
#[inline(always)]
pub fn cast_mut<T: Plain>(region: &mut [T::Scalar]) -> &mut T {
    assert_eq!(region.len(), T::LEN, "an arena view holds as many scalars as its type");
    // SAFETY: as in `cast`; the unique borrow of `region` becomes the unique borrow of `T`,
    // and any `T` written leaves valid scalars behind.
    unsafe { &mut *region.as_mut_ptr().cast::<T>() }
}

/// The scalars of `x`, in memory order (row-major for nested arrays).
#[inline(always)]
pub fn scalars<T: Plain>(x: &T) -> &[T::Scalar] {
    // SAFETY: `T` has the layout of `[T::Scalar; T::LEN]` (`Plain`).
    unsafe { core::slice::from_raw_parts((x as *const T).cast::<T::Scalar>(), T::LEN) }
}

/// The scalars of `x`, mutable, in memory order.
#[inline(always)]
pub fn scalars_mut<T: Plain>(x: &mut T) -> &mut [T::Scalar] {
    // SAFETY: as in `scalars`; every scalar written leaves a valid `T` (`Plain`).
    unsafe { core::slice::from_raw_parts_mut((x as *mut T).cast::<T::Scalar>(), T::LEN) }
}

/// One buffer of an inference, for [`plan`]: its length and the steps it is live in,
/// from the one that writes it first to the one that reads it last (inclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Buffer {
    /// Elements it holds.
    pub len: usize,
    /// The first step it is live in.
    pub first: usize,
    /// The last step it is live in.
    pub last: usize,
}

impl Buffer {
    /// Whether the two are live in a common step.
    const fn meets(&self, other: &Buffer) -> bool {
        self.first <= other.last && other.first <= self.last
    }
}

/// Where each buffer of an inference lives in its arena.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan<const K: usize> {
    /// Each buffer's first element.
    pub offsets: [usize; K],
    /// The arena's length: the end of the buffer that ends last.
    pub len: usize,
}

/// Offsets for `buffers` such that no two live in a common step share an element, in an
/// arena as short as the planner finds: the shorter of two greedy plans.
///
/// - By size (TFLite Micro's `GreedyMemoryPlanner`): the largest buffer first, each at the
///   lowest offset clear of the buffers placed and live with it.
/// - In step order, at the two ends of an arena of the lower bound (the most elements
///   live in one step): each buffer at the end away from the one placed last of those live
///   with it, so a chain ping-pongs and takes its largest input-plus-output pair.
pub const fn plan<const K: usize>(buffers: [Buffer; K]) -> Plan<K> {
    let by_size = place(&buffers, &order_by_size(&buffers), 0);
    let mut in_order = [0; K];
    let mut i = 0;
    while i < K {
        in_order[i] = i;
        i += 1;
    }
    let two_ends = place(&buffers, &in_order, live_bound(&buffers));
    if two_ends.len < by_size.len {
        two_ends
    } else {
        by_size
    }
}

/// The most elements live in one step: no arena is shorter.
pub const fn live_bound<const K: usize>(buffers: &[Buffer; K]) -> usize {
    let mut bound = 0;
    let mut i = 0;
    while i < K {
        // The steps where the live set changes are where a buffer starts.
        let step = buffers[i].first;
        let mut live = 0;
        let mut j = 0;
        while j < K {
            if buffers[j].first <= step && step <= buffers[j].last {
                live += buffers[j].len;
            }
            j += 1;
        }
        if live > bound {
            bound = live;
        }
        i += 1;
    }
    bound
}

/// Buffer indices, the longest first (ties in step order).
const fn order_by_size<const K: usize>(buffers: &[Buffer; K]) -> [usize; K] {
    let mut order = [0; K];
    let mut i = 0;
    while i < K {
        order[i] = i;
        i += 1;
    }
    // Insertion sort: stable, and `const`.
    let mut i = 1;
    while i < K {
        let mut j = i;
        while j > 0 && buffers[order[j - 1]].len < buffers[order[j]].len {
            let swap = order[j - 1];
            order[j - 1] = order[j];
            order[j] = swap;
            j -= 1;
        }
        i += 1;
    }
    order
}

/// Places the buffers in `order`. With `top == 0` each goes at the lowest clear offset;
/// otherwise at the end of `[0, top)` away from the last placed buffer live with it (its
/// top when that one starts at 0), falling back to the other end, then to the lowest
/// clear offset past `top`.
const fn place<const K: usize>(buffers: &[Buffer; K], order: &[usize; K], top: usize) -> Plan<K> {
    let mut offsets = [0; K];
    let mut placed = [false; K];
    let mut len = 0;
    let mut n = 0;
    while n < K {
        let b = order[n];
        let low = lowest_clear(buffers, &offsets, &placed, b);
        let offset = if top == 0 {
            low
        } else {
            let high = highest_clear(buffers, &offsets, &placed, b, top);
            let fits_low = low + buffers[b].len <= top;
            let prefer_high = match last_live_with(buffers, order, &placed, n) {
                Some(other) => offsets[other] == 0,
                None => false,
            };
            match high {
                Some(high) if prefer_high || !fits_low => high,
                _ => low,
            }
        };
        offsets[b] = offset;
        placed[b] = true;
        if offset + buffers[b].len > len {
            len = offset + buffers[b].len;
        }
        n += 1;
    }
    Plan { offsets, len }
}

/// Whether `[offset, offset + len of b)` is clear of every placed buffer live with `b`.
const fn clear<const K: usize>(
    buffers: &[Buffer; K],
    offsets: &[usize; K],
    placed: &[bool; K],
    b: usize,
    offset: usize,
) -> bool {
    let end = offset + buffers[b].len;
    let mut o = 0;
    while o < K {
        let other = &buffers[o];
        let apart = end <= offsets[o] || offsets[o] + other.len <= offset || other.len == 0 || buffers[b].len == 0;
        if placed[o] && buffers[b].meets(other) && !apart {
            return false;
        }
        o += 1;
    }
    true
}

/// The lowest offset where `b` is clear: 0 or the end of a placed buffer live with it.
const fn lowest_clear<const K: usize>(
    buffers: &[Buffer; K],
    offsets: &[usize; K],
    placed: &[bool; K],
    b: usize,
) -> usize {
    let mut best = usize::MAX;
    if clear(buffers, offsets, placed, b, 0) {
        return 0;
    }
    let mut o = 0;
    while o < K {
        if placed[o] && buffers[b].meets(&buffers[o]) {
            let candidate = offsets[o] + buffers[o].len;
            if candidate < best && clear(buffers, offsets, placed, b, candidate) {
                best = candidate;
            }
        }
        o += 1;
    }
    best
}

/// The highest offset at most `top − len` where `b` is clear: `top − len` or the start
/// of a placed buffer live with it, less `len`.
const fn highest_clear<const K: usize>(
    buffers: &[Buffer; K],
    offsets: &[usize; K],
    placed: &[bool; K],
    b: usize,
    top: usize,
) -> Option<usize> {
    let len = buffers[b].len;
    if len > top {
        return None;
    }
    if clear(buffers, offsets, placed, b, top - len) {
        return Some(top - len);
    }
    let mut best = None;
    let mut o = 0;
    while o < K {
        if placed[o] && buffers[b].meets(&buffers[o]) && offsets[o] >= len {
            let candidate = offsets[o] - len;
            let higher = match best {
                Some(best) => candidate > best,
                None => true,
            };
            if higher && clear(buffers, offsets, placed, b, candidate) {
                best = Some(candidate);
            }
        }
        o += 1;
    }
    best
}

/// Of the buffers placed before position `n` of `order`, the last one live with `order[n]`.
const fn last_live_with<const K: usize>(
    buffers: &[Buffer; K],
    order: &[usize; K],
    placed: &[bool; K],
    n: usize,
) -> Option<usize> {
    let b = order[n];
    let mut m = n;
    while m > 0 {
        m -= 1;
        let other = order[m];
        if placed[other] && buffers[b].meets(&buffers[other]) && buffers[other].len > 0 {
            return Some(other);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every two buffers live in a common step are apart, and inside the plan's length.
    fn assert_valid<const K: usize>(buffers: &[Buffer; K], plan: &Plan<K>) {
        for (i, a) in buffers.iter().enumerate() {
            assert!(plan.offsets[i] + a.len <= plan.len, "buffer {i} past the end: {plan:?}");
            for (j, b) in buffers.iter().enumerate().take(i) {
                let (oa, ob) = (plan.offsets[i], plan.offsets[j]);
                let apart = oa + a.len <= ob || ob + b.len <= oa || a.len == 0 || b.len == 0;
                assert!(!a.meets(b) || apart, "buffers {j} and {i} overlap while live: {buffers:?} {plan:?}");
            }
        }
    }

    /// A chain: value `i` is written by step `i − 1` and read by step `i`.
    fn chain<const K: usize>(lens: [usize; K]) -> [Buffer; K] {
        core::array::from_fn(|i| Buffer { len: lens[i], first: i.saturating_sub(1), last: i })
    }

    #[test]
    fn a_chain_takes_its_largest_pair() {
        // Largest first at the bottom would leave 1 with no room under 11.
        let buffers = chain([5, 6, 5, 1, 6]);
        let planned = plan(buffers);
        assert_valid(&buffers, &planned);
        assert_eq!(planned.len, 11);
        // The plan is a constant: the generated code evaluates it at compile time.
        const PLAN: Plan<3> = plan([
            Buffer { len: 8000, first: 0, last: 1 },
            Buffer { len: 8000, first: 1, last: 2 },
            Buffer { len: 64, first: 2, last: 3 },
        ]);
        assert_eq!(PLAN, Plan { offsets: [0, 8000, 0], len: 16000 });
    }

    #[test]
    fn a_residual_keeps_three_live() {
        // x (block input) lives through the chain a -> b and the add into b.
        let buffers = [
            Buffer { len: 16, first: 0, last: 2 },
            Buffer { len: 16, first: 1, last: 2 },
            Buffer { len: 16, first: 2, last: 3 },
            Buffer { len: 16, first: 3, last: 4 },
        ];
        let planned = plan(buffers);
        assert_valid(&buffers, &planned);
        assert_eq!(planned.len, 48);
        assert_eq!(live_bound(&buffers), 48);
    }

    #[test]
    fn empty_and_lone_buffers() {
        assert_eq!(plan::<0>([]), Plan { offsets: [], len: 0 });
        assert_eq!(plan([Buffer { len: 7, first: 3, last: 3 }]).len, 7);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn chains_ping_pong(lens in proptest::collection::vec(0usize..50, 8)) {
            let lens: [usize; 8] = lens.try_into().unwrap();
            let buffers = chain(lens);
            let planned = plan(buffers);
            assert_valid(&buffers, &planned);
            let pair = (1..8).map(|i| lens[i - 1] + lens[i]).max().unwrap();
            prop_assert_eq!(planned.len, pair);
        }

        #[test]
        fn live_buffers_never_share(spans in proptest::collection::vec((1usize..40, 0usize..10, 0usize..4), 10)) {
            let buffers: [Buffer; 10] = core::array::from_fn(|i| {
                let (len, first, extra) = spans[i];
                Buffer { len, first, last: first + extra }
            });
            let planned = plan(buffers);
            assert_valid(&buffers, &planned);
            prop_assert!(planned.len >= live_bound(&buffers));
        }
    }

    #[test]
    fn regions_are_disjoint_typed_views() {
        let mut scratch = Scratch::<64>::new();
        let arena = scratch.elements_mut::<f32>();
        assert_eq!(arena.len(), 16);
        let [a, b] = regions(arena, [(0, 6), (6, 4)]);
        let y: &mut [[f32; 2]; 2] = cast_mut(b);
        y[1][0] = 3.0;
        let x: &[[[f32; 3]; 2]; 1] = cast(a);
        assert_eq!(x, &[[[0.0; 3]; 2]]);
        assert_eq!(scalars(y), [0.0, 0.0, 3.0, 0.0]);
        let [whole] = regions(scratch.elements_mut::<i8>(), [(0, 64)]);
        let bytes: &[i8; 64] = cast(whole);
        // f32 3.0 is 0x40400000, little- or big-endian at bytes 32..36.
        assert_eq!(bytes[32..36].iter().map(|&b| b as u8 as u32).sum::<u32>(), 0x40 + 0x40);
    }

    #[test]
    #[should_panic(expected = "overlap")]
    fn overlapping_regions_panic() {
        let mut arena = [0i8; 10];
        let _ = regions(&mut arena, [(0, 5), (4, 3)]);
    }

    #[test]
    #[should_panic(expected = "runs past")]
    fn regions_past_the_end_panic() {
        let mut arena = [0i8; 10];
        let _ = regions(&mut arena, [(8, 3)]);
    }

    #[test]
    #[should_panic(expected = "as many scalars")]
    fn a_view_of_the_wrong_length_panics() {
        let arena = [0.0f64; 5];
        let _: &[f64; 4] = cast(&arena);
    }

    #[test]
    fn empty_regions_meet_nothing() {
        let mut arena = [1i8; 4];
        let [a, b] = regions(&mut arena, [(2, 0), (0, 4)]);
        assert!(a.is_empty());
        assert_eq!(b, [1; 4]);
    }

    /// A static scratch, as a firmware declares it: `new` is `const`.
    #[cfg(feature = "std")]
    #[test]
    fn a_scratch_can_be_static() {
        static SCRATCH: std::sync::Mutex<Scratch<32>> = std::sync::Mutex::new(Scratch::new());
        let mut scratch = SCRATCH.lock().unwrap();
        assert_eq!(scratch.elements_mut::<f64>().len(), 4);
        assert_eq!(align_of::<Scratch<32>>(), 16);
        assert_eq!(Scratch::<100>::boxed().elements_mut::<i8>().len(), 100);
    }
}
