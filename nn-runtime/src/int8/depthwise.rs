//! The direct kernel of a depthwise 3×3 [`Conv2d`] (one group per channel, as many
//! outputs as inputs, stride 1 or 2): channel by channel, a stripe of input rows is
//! widened to 16 bits with its padding, so that every output takes all nine taps. The
//! padding (columns left and right, rows above and below the image) holds the input's
//! zero point `zp` and the sums start at the kernel bias `bias − zp · Σ taps`
//! ([`Conv2d::kernel_bias`]), which gives `Σ w · (x − zp)` over the taps inside the image
//! without a subtraction per input. The stripe's output rows
//! are worked out in pairs of adjacent outputs: per kernel row three 32-bit loads of
//! input pairs, one `SMLAD` with the taps `(w0, w1)` each and one `SMLABB`/`SMLABT` with
//! `w2`; an odd output width ends each row with one output alone. On Cortex-M4/M7 a
//! whole stripe is one `asm!` loop, requantisation included, four adjacent outputs per
//! pass (`dsp::Stripe`), and the widening takes four inputs per `LDR`, two `SXTB16` and
//! two `PKH`.
//!
//! [`Conv2d`]: super::conv2d::Conv2d
//! [`Conv2d::kernel_bias`]: super::conv2d::Conv2d::kernel_bias

use super::conv2d::{Geometry, View};
use super::insn::{smlabb, smlabt, smlad};
use super::packed::{lone_row_slot, pair};
use super::requant::apply_pair;

/// The 16-bit room the widened stripe needs past its last row: the high half of the
/// last pair an output of stride 2 reads.
const SLACK: usize = 2;

/// Rows of `2·W` 16-bit values the stripe holds (a padded row, at most `2·W` long,
/// takes one or less).
const STRIPE: usize = 8;

/// 16-bit values the stripe holds besides its [`STRIPE`] rows: little beside a wide
/// plane's rows, but enough that a narrow plane such as DS-CNN's 25 × 5 (27 × 7 padded)
/// fits whole, in one stripe rather than three, each of which costs every channel the
/// stripe's set-up and the rows it shares with the next widened again.
const EXTRA: usize = 112;

/// Room for a stripe of a channel plane `W` wide, widened to 16 bits: [`STRIPE`] rows
/// of `2·W` and [`EXTRA`] (plus [`SLACK`]).
#[repr(C)]
pub(crate) struct Plane<const W: usize> {
    rows: [[u32; W]; STRIPE],
    extra: [u32; EXTRA / 2],
    slack: [u32; SLACK / 2],
}

impl<const W: usize> Plane<W> {
    /// The room, zeroed.
    pub(crate) fn new() -> Self {
        Self { rows: [[0; W]; STRIPE], extra: [0; EXTRA / 2], slack: [0; SLACK / 2] }
    }

    /// The room as `2·STRIPE·W + EXTRA + SLACK` 16-bit values.
    pub(crate) fn halves(&mut self) -> &mut [i16] {
        // SAFETY: `Plane` is `repr(C)` words only, so its bytes are
        // `2·STRIPE·W + EXTRA + SLACK` i16s, aligned and initialised; the borrow of `self`
        // covers the slice's life.
        unsafe { core::slice::from_raw_parts_mut((self as *mut Self).cast::<i16>(), 2 * STRIPE * W + EXTRA + SLACK) }
    }
}

/// Whether the direct kernel runs the `Conv2d` of `geometry` from `C` to `OC` channels
/// of `H × W`: depthwise with multiplier 1, 3×3, stride 1 or 2, a padded row fits two
/// rows of the plane (`2·pw ≤ W`) and the output is at least 2 wide.
pub(crate) const fn serves<const C: usize, const H: usize, const W: usize, const OC: usize>(
    geometry: &Geometry,
) -> bool {
    let Geometry { kernel, stride, padding, groups } = *geometry;
    groups == C
        && OC == C
        && H > 0
        && kernel[0] == 3
        && kernel[1] == 3
        && stride[0] == stride[1]
        && (stride[0] == 1 || stride[0] == 2)
        && 2 * padding[1] <= W
        && W + 2 * padding[1] >= 3 + stride[1]
}

/// One kernel row of two adjacent outputs: the input pairs from 16-bit index `at` of
/// `plane`, `S` apart, times the row's taps `(w0, w1)` and `w2` (low half).
///
/// # Safety
/// `at + S + 3 < plane.len()` (with `S = 2`; `at + 4` with `S = 1`).
#[inline(always)]
unsafe fn row_pair<const S: usize>(plane: &[i16], at: usize, w01: u32, w2: u32, acc: [i32; 2]) -> [i32; 2] {
    // SAFETY: the caller's bound.
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
/// (rows `row_len` apart), with the taps `w` (per row, `(w0, w1)` and `w2`).
///
/// # Safety
/// `at + 2·row_len + S + 3 < plane.len()`.
#[inline(always)]
unsafe fn three_rows<const S: usize>(
    plane: &[i16],
    at: usize,
    row_len: usize,
    w: &[u32; 6],
    acc: [i32; 2],
) -> [i32; 2] {
    // SAFETY: the caller's bound.
    unsafe {
        let acc = row_pair::<S>(plane, at, w[0], w[1], acc);
        let acc = row_pair::<S>(plane, at + row_len, w[2], w[3], acc);
        row_pair::<S>(plane, at + 2 * row_len, w[4], w[5], acc)
    }
}

/// One kernel row of one output.
///
/// # Safety
/// `at + 3 < plane.len()`.
#[inline(always)]
unsafe fn row_one(plane: &[i16], at: usize, w01: u32, w2: u32, acc: i32) -> i32 {
    // SAFETY: the caller's bound.
    let load = |i: usize| unsafe { plane.as_ptr().add(at + i).cast::<u32>().read_unaligned() };
    smlabb(w2, load(2), smlad(w01, load(0), acc))
}

/// Runs `layer`, which [`serves`] accepts, on `x` into `y`, its stripes widened in
/// `plane` ([`Plane::halves`]).
pub(crate) fn infer<const SHORT: bool>(layer: &View<'_>, x: &[i8], y: &mut [i8], plane: &mut [i16]) {
    // The padding columns are never written after this.
    plane.fill(layer.input_zero_point as i16);
    if layer.geometry.stride[0] == 1 {
        channels::<1, SHORT>(layer, x, y, plane);
    } else {
        channels::<2, SHORT>(layer, x, y, plane);
    }
}

/// The `rows` rows of `w` inputs of `x` in 16 bits into the rows of `width` of `values`,
/// from column `pw` on (the padding columns are left as they are).
fn widen(x: &[i8], rows: usize, w: usize, pw: usize, width: usize, values: &mut [i16]) {
    if rows == 0 {
        return;
    }
    assert!(
        x.len() == rows * w && values.len() >= (rows - 1) * width + pw + w && pw + w <= width,
        "the rows do not fit"
    );
    #[cfg(arm_dsp)]
    {
        // SAFETY: `x` holds `rows · w` inputs and `values` from `pw` on `(rows − 1)·width + w`
        // (asserted).
        unsafe { super::dsp::widen(x.as_ptr(), w, rows, values.as_mut_ptr().add(pw), width) };
    }
    #[cfg(not(arm_dsp))]
    for (row, x) in values.chunks_mut(width).zip(x.chunks_exact(w)) {
        for (v, &x) in row[pw..pw + w].iter_mut().zip(x) {
            *v = i16::from(x);
        }
    }
}

/// [`infer`] with stride `S`: stripe by stripe, the stripe's rows outside the image set
/// to the zero point once, then channel by channel its rows in the image widened and its
/// output rows worked out.
fn channels<const S: usize, const SHORT: bool>(layer: &View<'_>, x: &[i8], y: &mut [i8], plane: &mut [i16]) {
    let [ph, pw] = layer.geometry.padding;
    let [c_in, h, w, _, oh, ow] = layer.sizes;
    let width = w + 2 * pw;
    let fit = plane.len().saturating_sub(SLACK) / width;
    assert!(fit >= 3, "the stripe has no room for three padded rows");
    assert!(x.len() == c_in * h * w && y.len() == c_in * oh * ow, "the input or the output does not fit the layer");
    // Output rows per stripe: their input rows, `S` apart plus the kernel's 2, fit.
    let per_stripe = (fit - 3) / S + 1;
    let zp = layer.input_zero_point;
    #[cfg(arm_dsp)]
    let mut dsp = super::dsp::Stripe::new::<S>(layer.act_min, width, ow);
    // The stripe's first output row, and the input row of the plane's row 0.
    let (mut oy, mut first) = (0, -(ph as isize));
    while oy < oh {
        let rows = (oh - oy).min(per_stripe);
        // The plane's rows `top..bottom` lie in the image, the others hold `zp`.
        let count = (rows - 1) * S + 3;
        let top = (-first).clamp(0, count as isize) as usize;
        let bottom = (h as isize - first).clamp(top as isize, count as isize) as usize;
        plane[..top * width].fill(zp as i16);
        plane[bottom * width..count * width].fill(zp as i16);
        let (from, n) = ((first + top as isize) as usize, bottom - top);
        let (xs, ys) = (x.chunks_exact(h * w), y.chunks_exact_mut(oh * ow));
        for (c, ((x, y), &bias)) in xs.zip(ys).zip(layer.bias).enumerate() {
            widen(&x[from * w..(from + n) * w], n, w, pw, width, &mut plane[top * width..]);
            let y = &mut y[oy * ow..(oy + rows) * ow];
            let taps = Taps::of(layer, c);
            #[cfg(arm_dsp)]
            if let (true, Some(short)) = (SHORT, layer.shorts.get(c)) {
                dsp.set_channel(taps, bias, short);
                // SAFETY: the plane holds the stripe's `(rows − 1)·S + 3` rows of `width`,
                // with `SLACK` past them (`fit` counts them), each output's last input lies
                // in its row, `(ow − 1)·S + 2 < width`, and `y` holds `rows · ow`.
                unsafe { dsp.run::<S>(plane.as_ptr(), rows, y.as_mut_ptr()) };
                continue;
            }
            let taps: [i32; 9] = core::array::from_fn(|k| taps.tap(k));
            let channel = Channel { taps: Channel::pairs(&taps), bias, layer, c };
            // SAFETY: as above.
            unsafe { channel.stripe::<S, SHORT>(plane, width, ow, y) };
        }
        (oy, first) = (oy + rows, first + (rows * S) as isize);
    }
}

/// Where channel `c`'s nine taps lie in a depthwise layer's packed weights: row `r` of
/// block `b` (`packed::lone_row_slot`), so the bytes `r % 2` and `r % 2 + 2` of the word
/// of rows `r / 2` of each of the block's five pairs.
#[derive(Clone, Copy)]
pub(crate) struct Taps<'a> {
    /// The words from the channel's word of its block's first pair on (two per pair).
    pub(crate) words: &'a [u32],
    /// Whether the channel is an odd row of its block: which byte of each half its taps are.
    pub(crate) odd: bool,
}

impl<'a> Taps<'a> {
    /// Channel `c`'s taps in `layer`.
    fn of(layer: &View<'a>, c: usize) -> Self {
        let (block, row) = lone_row_slot(c);
        let words = &layer.words[block * 2 * layer.pairs + row / 2..];
        assert!(words.len() >= 9, "a 3×3 kernel is 5 pairs");
        Self { words, odd: row % 2 == 1 }
    }

    /// Tap `k` (row-major).
    fn tap(self, k: usize) -> i32 {
        i32::from((self.words[2 * (k / 2)] >> (8 * usize::from(self.odd) + 16 * (k % 2))) as i8)
    }
}

/// One channel of a depthwise layer: its taps (per kernel row, `(w0, w1)` and `w2`), its
/// bias and its index `c` in `layer`.
struct Channel<'a, 'b> {
    taps: [u32; 6],
    bias: i32,
    layer: &'a View<'b>,
    c: usize,
}

impl Channel<'_, '_> {
    /// The nine taps `taps` (row by row) as per kernel row `(w0, w1)` and `w2`.
    fn pairs(taps: &[i32; 9]) -> [u32; 6] {
        let row = |r: usize| [pair(taps[3 * r], taps[3 * r + 1]), taps[3 * r + 2] as u32];
        let ([a, b], [c, d], [e, f]) = (row(0), row(1), row(2));
        [a, b, c, d, e, f]
    }

    /// The output rows `y` (each `ow` long) of the widened stripe `plane`, rows `width`
    /// apart.
    ///
    /// # Safety
    /// The plane holds `(y.len() / ow − 1)·S + 3` rows of `width` and [`SLACK`] more,
    /// `2 ≤ ow` and `(ow − 1)·S + 2 < width`.
    #[inline(always)]
    unsafe fn stripe<const S: usize, const SHORT: bool>(&self, plane: &[i16], width: usize, ow: usize, y: &mut [i8]) {
        let layer = self.layer;
        let output = layer.channel::<SHORT>(self.c);
        for (oy, y) in y.chunks_exact_mut(ow).enumerate() {
            let top = oy * S * width;
            let mut ox = 0;
            while ox + 1 < ow {
                let acc = [self.bias; 2];
                // SAFETY: the caller's bounds: the pair's three rows lie in the plane.
                let acc = unsafe { three_rows::<S>(plane, top + ox * S, width, &self.taps, acc) };
                let [y0, y1] = match (SHORT, layer.shorts.get(self.c)) {
                    (true, Some(short)) => apply_pair(acc, short, layer.act_min),
                    _ => acc.map(&output),
                };
                y[ox] = y0;
                y[ox + 1] = y1;
                ox += 2;
            }
            if ox < ow {
                let at = top + ox * S;
                let mut acc = self.bias;
                for (ky, w) in self.taps.chunks_exact(2).enumerate() {
                    // SAFETY: as above.
                    acc = unsafe { row_one(plane, at + ky * width, w[0], w[1], acc) };
                }
                y[ox] = output(acc);
            }
        }
    }
}
