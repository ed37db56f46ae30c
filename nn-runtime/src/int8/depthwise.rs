//! The direct kernel of a depthwise 3×3 [`Conv2d`] (one group per channel, as many
//! outputs as inputs, stride 1 or 2): channel by channel, the plane is widened once to
//! `x − zp` in 16 bits with its left and right padding (rows above and below the image
//! are skipped), and each pair of adjacent outputs takes, per kernel row, three 32-bit
//! loads of input pairs, one `SMLAD` with the taps `(w0, w1)` and one `SMLABB`/`SMLABT`
//! with `w2` each. The channel's nine taps stay in registers.

use super::conv2d::{Geometry, View};
use super::insn::{smlabb, smlabt, smlad};
use super::packed::pair;
use super::requant::apply_pair;

/// The 16-bit room the widened plane needs past its last row: the high half of the
/// last pair an output reads.
const SLACK: usize = 2;

/// Room for a channel plane widened to 16 bits, each row `W + 2·pw` long: `H` rows of
/// `2·W` (plus [`SLACK`]).
#[repr(C)]
pub(crate) struct Plane<const H: usize, const W: usize> {
    rows: [[u32; W]; H],
    slack: [u32; SLACK / 2],
}

impl<const H: usize, const W: usize> Plane<H, W> {
    /// The room, zeroed.
    pub(crate) fn new() -> Self {
        Self { rows: [[0; W]; H], slack: [0; SLACK / 2] }
    }

    /// The room as `2·H·W + SLACK` 16-bit values.
    pub(crate) fn halves(&mut self) -> &mut [i16] {
        // SAFETY: `Plane` is `repr(C)` words only, so its bytes are `2·H·W + SLACK` i16s,
        // aligned and initialised; the borrow of `self` covers the slice's life.
        unsafe { core::slice::from_raw_parts_mut((self as *mut Self).cast::<i16>(), 2 * H * W + SLACK) }
    }
}

/// Whether the direct kernel runs the `Conv2d` of `geometry` from `C` to `OC` channels
/// of `H × W`: depthwise with multiplier 1, 3×3, stride 1 or 2, and the padded rows fit
/// a [`Plane`] (`W ≥ 2·pw`, roughly).
pub(crate) const fn serves<const C: usize, const H: usize, const W: usize, const OC: usize>(
    geometry: &Geometry,
) -> bool {
    let Geometry { kernel, stride, padding, groups } = *geometry;
    groups == C
        && OC == C
        && kernel[0] == 3
        && kernel[1] == 3
        && stride[0] == stride[1]
        && (stride[0] == 1 || stride[0] == 2)
        && H * (W + 2 * padding[1]) <= 2 * H * W
}

/// One kernel row of two adjacent outputs: the input pairs from 16-bit index `at` of
/// `plane`, `S` apart, times the row's taps `(w0, w1)` and `w2` (low half).
///
/// # Safety
/// `at + S + 3 < plane.len()` (with `S = 2`; `at + 4` with `S = 1`).
#[inline(always)]
unsafe fn row_pair<const S: usize>(plane: &[i16], at: usize, w01: u32, w2: u32, acc: [i32; 2]) -> [i32; 2] {
    // SAFETY: the caller's bound; M4 loads words from any 16-bit boundary.
    let load = |i: usize| unsafe { plane.as_ptr().add(at + i).cast::<u32>().read_unaligned() };
    if S == 1 {
        let (p0, p1, p2) = (load(0), load(1), load(2));
        [smlabb(w2, p2, smlad(w01, p0, acc[0])), smlabt(w2, p2, smlad(w01, p1, acc[1]))]
    } else {
        let (p0, p2, p4) = (load(0), load(2), load(4));
        [smlabb(w2, p2, smlad(w01, p0, acc[0])), smlabb(w2, p4, smlad(w01, p2, acc[1]))]
    }
}

/// The three kernel rows of two adjacent outputs, from 16-bit index `at` of `plane`
/// (rows `row_len` apart), with the taps `w` (per row, `(w0, w1)` and `w2`): on
/// Cortex-M4/M7 one `asm!` block, the taps loaded by `LDRD` as they are needed.
///
/// # Safety
/// `at + 2·row_len + S + 3 < plane.len()`.
#[inline(always)]
pub(crate) unsafe fn three_rows<const S: usize>(
    plane: &[i16],
    at: usize,
    row_len: usize,
    w: &[u32; 6],
    acc: [i32; 2],
) -> [i32; 2] {
    #[cfg(arm_dsp)]
    {
        // SAFETY: the caller's bound.
        unsafe { super::dsp::depthwise_three_rows::<S>(plane.as_ptr().add(at), row_len, w, acc) }
    }
    #[cfg(not(arm_dsp))]
    {
        // SAFETY: the caller's bound.
        unsafe {
            let acc = row_pair::<S>(plane, at, w[0], w[1], acc);
            let acc = row_pair::<S>(plane, at + row_len, w[2], w[3], acc);
            row_pair::<S>(plane, at + 2 * row_len, w[4], w[5], acc)
        }
    }
}

/// One kernel row of one output.
///
/// # Safety
/// `at + 3 < plane.len()`.
#[inline(always)]
unsafe fn row_one(plane: &[i16], at: usize, w01: u32, w2: u32, acc: i32) -> i32 {
    // SAFETY: the caller's bound; M4 loads words from any 16-bit boundary.
    let load = |i: usize| unsafe { plane.as_ptr().add(at + i).cast::<u32>().read_unaligned() };
    smlabb(w2, load(2), smlad(w01, load(0), acc))
}

/// Runs `layer`, which [`serves`] accepts, on `x` into `y`, its planes widened in
/// `plane` ([`Plane::halves`]).
pub(crate) fn infer<const SHORT: bool>(layer: &View<'_>, x: &[i8], y: &mut [i8], plane: &mut [i16]) {
    if layer.geometry.stride[0] == 1 {
        channels::<1, SHORT>(layer, x, y, plane);
    } else {
        channels::<2, SHORT>(layer, x, y, plane);
    }
}

/// [`infer`] with stride `S`.
fn channels<const S: usize, const SHORT: bool>(layer: &View<'_>, x: &[i8], y: &mut [i8], plane: &mut [i16]) {
    let [ph, pw] = layer.geometry.padding;
    let [_, h, w, _, oh, ow] = layer.sizes;
    let width = w + 2 * pw;
    assert!(plane.len() >= h * width + SLACK, "the plane has no room for the padded rows");
    let zp = layer.input_zero_point;
    for (c, (x, y)) in x.chunks_exact(h * w).zip(y.chunks_exact_mut(oh * ow)).enumerate() {
        // The padding columns are never written: they stay 0.
        for (row, x) in plane.chunks_exact_mut(width).zip(x.chunks_exact(w)) {
            for (v, &x) in row[pw..pw + w].iter_mut().zip(x) {
                *v = (i32::from(x) - zp) as i16;
            }
        }
        let words = &layer.words[c * layer.pairs..];
        let tap = |k: usize| i32::from((words[k / 2][0] >> (16 * (k % 2))) as i8);
        let w01 = [pair(tap(0), tap(1)), pair(tap(3), tap(4)), pair(tap(6), tap(7))];
        let w2 = [tap(2) as u32, tap(5) as u32, tap(8) as u32];
        let taps = [w01[0], w2[0], w01[1], w2[1], w01[2], w2[2]];
        let bias = layer.bias[c];
        let output = layer.channel::<SHORT>(c);
        let plane: &[i16] = plane;
        for (oy, y) in y.chunks_exact_mut(ow).enumerate() {
            // Kernel rows `first..last` lie inside the image, from plane row `oy·S + first − ph`.
            let first = ph.saturating_sub(oy * S);
            let last = 3.min((h + ph).saturating_sub(oy * S));
            let top = (oy * S + first - ph) * width;
            let mut ox = 0;
            while ox + 1 < ow {
                let at = top + ox * S;
                let mut acc = [bias; 2];
                // SAFETY: the plane holds `h · width + SLACK` (asserted above), and the
                // last input pair an output of a row reads ends at most one element past
                // the row.
                unsafe {
                    if first == 0 && last == 3 {
                        acc = three_rows::<S>(plane, at, width, &taps, acc);
                    } else {
                        for (i, ky) in (first..last).enumerate() {
                            acc = row_pair::<S>(plane, at + i * width, w01[ky], w2[ky], acc);
                        }
                    }
                }
                let [y0, y1] = match (SHORT, layer.shorts.get(c)) {
                    (true, Some(short)) => apply_pair(acc, short, layer.zero_point, layer.act_min),
                    _ => acc.map(&output),
                };
                y[ox] = y0;
                y[ox + 1] = y1;
                ox += 2;
            }
            if ox < ow {
                let at = top + ox * S;
                let mut acc = bias;
                for (i, ky) in (first..last).enumerate() {
                    // SAFETY: as above.
                    acc = unsafe { row_one(plane, at + i * width, w01[ky], w2[ky], acc) };
                }
                y[ox] = output(acc);
            }
        }
    }
}
