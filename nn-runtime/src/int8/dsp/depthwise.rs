//! The Cortex-M4/M7 loop of a depthwise 3×3 layer's stripe (see
//! [`depthwise`](crate::int8::depthwise)), with the DSP extension through `asm!`.
//!
//! The loop keeps fourteen registers busy, r6 and r7 (which `asm!` cannot name as
//! operands) saved on the stack around it:
//!
//! | register | holds |
//! |---|---|
//! | r0–r3 | the accumulators of up to four adjacent outputs |
//! | r4–r7 | the taps of two kernel rows, `(w0, w1)` and `(w1, w2)` each; then the requantisation's `m`, `round`, `shift` and the clamp's `act_min` bytes |
//! | r8 | the input pair just loaded, a temporary |
//! | r9–r11 | the three kernel rows' inputs, advanced output by output |
//! | r12 | the output |
//! | lr | the row's plan, then the passes of four left in it; in a pass of five, the fifth output's accumulator |
//!
//! and reads its constants ([`Stripe`]) from a copy on the stack, at `sp`:
//!
//! | offset | words |
//! |---|---|
//! | 0 | the bias, four times |
//! | 16 | row 0's and row 1's taps |
//! | 32 | row 2's taps |
//! | 40 | `m`, `round` |
//! | 48 | `shift`, `act_min` in every byte |
//! | 56 | the row's plan: `ow % 4` (the first pass: none, of five, two or three outputs), then four times the passes of four after it |
//! | 60 | the step from a row's end to the next row's start, in bytes |
//! | 64 | the end of the stripe's outputs |
//!
//! The taps and the bias are doubled, so that the accumulators hold `2·acc` and the
//! short requantisation ([`Short`]) starts at `SMMLAR` without its `LSL`: `|acc| < 2^30`
//! where the short form holds, so `2·acc` stays in an `i32`.

use core::arch::asm;

use crate::int8::depthwise::Taps;
use crate::int8::requant::Short;

/// One kernel row of four adjacent outputs of stride `$s` in r0–r3, from the inputs at
/// `$p` (advanced past the four) with the taps `$w01 = (w0, w1)` and `$w12 = (w1, w2)`:
/// with stride 1 three `LDR` and eight multiplies (output 1 takes `w0 · x1` alone and
/// `(w1, w2)` on `(x2, x3)`), with stride 2 five `LDR` and eight multiplies.
#[rustfmt::skip]
macro_rules! row_quad {
    (1, $p:literal, $w01:literal, $w12:literal) => {
        concat!(
            "ldr r8, [", $p, "]\n",
            "smlad r0, ", $w01, ", r8, r0\n",
            "smlabt r1, ", $w01, ", r8, r1\n",
            "ldr r8, [", $p, ", #4]\n",
            "smlatb r0, ", $w12, ", r8, r0\n",
            "smlad r1, ", $w12, ", r8, r1\n",
            "smlad r2, ", $w01, ", r8, r2\n",
            "smlabt r3, ", $w01, ", r8, r3\n",
            "ldr r8, [", $p, ", #8]!\n",
            "smlatb r2, ", $w12, ", r8, r2\n",
            "smlad r3, ", $w12, ", r8, r3\n",
        )
    };
    (2, $p:literal, $w01:literal, $w12:literal) => {
        concat!(
            "ldr r8, [", $p, "]\n",
            "smlad r0, ", $w01, ", r8, r0\n",
            "ldr r8, [", $p, ", #4]\n",
            "smlatb r0, ", $w12, ", r8, r0\n",
            "smlad r1, ", $w01, ", r8, r1\n",
            "ldr r8, [", $p, ", #8]\n",
            "smlatb r1, ", $w12, ", r8, r1\n",
            "smlad r2, ", $w01, ", r8, r2\n",
            "ldr r8, [", $p, ", #12]\n",
            "smlatb r2, ", $w12, ", r8, r2\n",
            "smlad r3, ", $w01, ", r8, r3\n",
            "ldr r8, [", $p, ", #16]!\n",
            "smlatb r3, ", $w12, ", r8, r3\n",
        )
    };
}

/// One kernel row of two adjacent outputs of stride `$s` in r0–r1, as [`row_quad`]
/// does four: two `LDR` (three with stride 2) and four multiplies.
#[rustfmt::skip]
macro_rules! row_pair {
    (1, $p:literal, $w01:literal, $w12:literal) => {
        concat!(
            "ldr r8, [", $p, "], #4\n",
            "smlad r0, ", $w01, ", r8, r0\n",
            "smlabt r1, ", $w01, ", r8, r1\n",
            "ldr r8, [", $p, "]\n",
            "smlatb r0, ", $w12, ", r8, r0\n",
            "smlad r1, ", $w12, ", r8, r1\n",
        )
    };
    (2, $p:literal, $w01:literal, $w12:literal) => {
        concat!(
            "ldr r8, [", $p, "], #8\n",
            "smlad r0, ", $w01, ", r8, r0\n",
            "ldr r8, [", $p, ", #-4]\n",
            "smlatb r0, ", $w12, ", r8, r0\n",
            "smlad r1, ", $w01, ", r8, r1\n",
            "ldr r8, [", $p, "]\n",
            "smlatb r1, ", $w12, ", r8, r1\n",
        )
    };
}

/// One kernel row of three adjacent outputs of stride `$s` in r0–r2, as [`row_quad`]
/// does four: three `LDR` (four with stride 2) and six multiplies.
#[rustfmt::skip]
macro_rules! row_triple {
    (1, $p:literal, $w01:literal, $w12:literal) => {
        concat!(
            "ldr r8, [", $p, "]\n",
            "smlad r0, ", $w01, ", r8, r0\n",
            "smlabt r1, ", $w01, ", r8, r1\n",
            "ldr r8, [", $p, ", #4]\n",
            "smlatb r0, ", $w12, ", r8, r0\n",
            "smlad r1, ", $w12, ", r8, r1\n",
            "smlad r2, ", $w01, ", r8, r2\n",
            "ldr r8, [", $p, ", #6]!\n",
            "smlatt r2, ", $w12, ", r8, r2\n",
        )
    };
    (2, $p:literal, $w01:literal, $w12:literal) => {
        concat!(
            "ldr r8, [", $p, "]\n",
            "smlad r0, ", $w01, ", r8, r0\n",
            "ldr r8, [", $p, ", #4]\n",
            "smlatb r0, ", $w12, ", r8, r0\n",
            "smlad r1, ", $w01, ", r8, r1\n",
            "ldr r8, [", $p, ", #8]\n",
            "smlatb r1, ", $w12, ", r8, r1\n",
            "smlad r2, ", $w01, ", r8, r2\n",
            "ldr r8, [", $p, ", #12]!\n",
            "smlatb r2, ", $w12, ", r8, r2\n",
        )
    };
}

/// One kernel row of five adjacent outputs of stride `$s` in r0–r3 and lr, as
/// [`row_quad`] does four: four `LDR` (six with stride 2) and ten multiplies.
#[rustfmt::skip]
macro_rules! row_quint {
    (1, $p:literal, $w01:literal, $w12:literal) => {
        concat!(
            "ldr r8, [", $p, "]\n",
            "smlad r0, ", $w01, ", r8, r0\n",
            "smlabt r1, ", $w01, ", r8, r1\n",
            "ldr r8, [", $p, ", #4]\n",
            "smlatb r0, ", $w12, ", r8, r0\n",
            "smlad r1, ", $w12, ", r8, r1\n",
            "smlad r2, ", $w01, ", r8, r2\n",
            "smlabt r3, ", $w01, ", r8, r3\n",
            "ldr r8, [", $p, ", #8]\n",
            "smlatb r2, ", $w12, ", r8, r2\n",
            "smlad r3, ", $w12, ", r8, r3\n",
            "smlad lr, ", $w01, ", r8, lr\n",
            "ldr r8, [", $p, ", #10]!\n",
            "smlatt lr, ", $w12, ", r8, lr\n",
        )
    };
    (2, $p:literal, $w01:literal, $w12:literal) => {
        concat!(
            "ldr r8, [", $p, "]\n",
            "smlad r0, ", $w01, ", r8, r0\n",
            "ldr r8, [", $p, ", #4]\n",
            "smlatb r0, ", $w12, ", r8, r0\n",
            "smlad r1, ", $w01, ", r8, r1\n",
            "ldr r8, [", $p, ", #8]\n",
            "smlatb r1, ", $w12, ", r8, r1\n",
            "smlad r2, ", $w01, ", r8, r2\n",
            "ldr r8, [", $p, ", #12]\n",
            "smlatb r2, ", $w12, ", r8, r2\n",
            "smlad r3, ", $w01, ", r8, r3\n",
            "ldr r8, [", $p, ", #16]\n",
            "smlatb r3, ", $w12, ", r8, r3\n",
            "smlad lr, ", $w01, ", r8, lr\n",
            "ldr r8, [", $p, ", #20]!\n",
            "smlatb lr, ", $w12, ", r8, lr\n",
        )
    };
}

/// The three kernel rows of `$n` (`row_pair`, `row_triple`, `row_quad` or `row_quint`)
/// outputs of stride `$s`: one `LDM` of the biases and the first two rows' taps (and for
/// five outputs one `LDR` of lr's bias), one `LDRD` of the third row's taps, two of the
/// requantisation's constants and the clamp's.
macro_rules! three_rows {
    ($n:ident, $s:tt) => {
        concat!(
            "ldm sp, {{r0-r7}}\n",
            three_rows!(@lr $n),
            $n!($s, "r9", "r4", "r5"),
            $n!($s, "r10", "r6", "r7"),
            "ldrd r4, r5, [sp, #32]\n",
            $n!($s, "r11", "r4", "r5"),
            "ldrd r4, r5, [sp, #40]\n",
            "ldrd r6, r7, [sp, #48]\n",
        )
    };
    (@lr row_quint) => {
        "ldr lr, [sp]\n"
    };
    (@lr $n:ident) => {
        ""
    };
}

/// The short requantisation of the doubled accumulator `$a` (r4–r6 holding `m`, `round`
/// and `shift`) to a saturated int8 value in its low byte: `SMMLAR`, `ADD … ASR #31`,
/// `ASR` and `SSAT`.
#[rustfmt::skip]
macro_rules! requantise {
    ($a:literal) => {
        concat!(
            "smmlar r8, ", $a, ", r4, r5\n",
            "add ", $a, ", r8, ", $a, ", asr #31\n",
            "asr ", $a, ", ", $a, ", r6\n",
            "ssat ", $a, ", #8, ", $a, "\n",
        )
    };
}

/// The clamp of `$a`'s bytes at the `act_min` bytes in r7 (`SSUB8` and `SEL`), or
/// nothing.
macro_rules! clamp {
    (true, $a:literal) => {
        concat!("ssub8 r8, ", $a, ", r7\n", "sel ", $a, ", ", $a, ", r7\n")
    };
    (false, $a:literal) => {
        ""
    };
}

/// The whole loop of a stripe of stride `$s`, with the clamp at `act_min` when `$clamp`:
/// per output row first the pass its plan (`ow % 4`) asks for, of two, three or five
/// outputs (or none), then its passes of four, then the step to the next row.
///
/// A pass of four takes 59 instructions with stride 1 (one `LDM`, three `LDRD`, nine
/// `LDR` of input pairs and 24 multiplies for the 36 multiply-accumulates, 16 for the
/// requantisation, three `BFI` and one `STR`, two for the loop), 65 with stride 2 (15
/// `LDR`), and two more with the clamp; a pass of five 72 with stride 1 (78 with stride
/// 2, four more with the clamp), where a lone output and a pass of four would take 80.
macro_rules! stripe_loop {
    ($s:tt, $clamp:tt) => {
        concat!(
            // Save r6 and r7, copy the constants to the stack: words 8–15 and the end
            // (r8) first, at the higher addresses.
            "push {{r6, r7}}\n",
            "add lr, lr, #32\n",
            "ldm lr, {{r0-r7}}\n",
            "push {{r0-r8}}\n",
            "ldmdb lr, {{r0-r7}}\n",
            "push {{r0-r7}}\n",
            "2:\n",
            // C: a first pass of two or three; Z: of two or none.
            "ldr lr, [sp, #56]\n",
            "lsls r8, lr, #31\n",
            "bcc 4f\n",
            "bne 3f\n",
            three_rows!(row_pair, $s),
            requantise!("r0"),
            requantise!("r1"),
            "bfi r0, r1, #8, #8\n",
            clamp!($clamp, "r0"),
            "strh r0, [r12], #2\n",
            "b 5f\n",
            "3:\n",
            three_rows!(row_triple, $s),
            requantise!("r0"),
            requantise!("r1"),
            requantise!("r2"),
            "bfi r0, r1, #8, #8\n",
            "bfi r0, r2, #16, #8\n",
            clamp!($clamp, "r0"),
            "strh r0, [r12], #2\n",
            "lsr r0, r0, #16\n",
            "strb r0, [r12], #1\n",
            "b 5f\n",
            "4:\n",
            "beq 5f\n",
            three_rows!(row_quint, $s),
            requantise!("r0"),
            requantise!("r1"),
            requantise!("r2"),
            requantise!("r3"),
            requantise!("lr"),
            "bfi r0, r1, #8, #8\n",
            "bfi r0, r2, #16, #8\n",
            "bfi r0, r3, #24, #8\n",
            clamp!($clamp, "r0"),
            clamp!($clamp, "lr"),
            "str r0, [r12], #4\n",
            "strb lr, [r12], #1\n",
            "ldr lr, [sp, #56]\n",
            "5:\n",
            "lsrs lr, lr, #2\n",
            "beq 7f\n",
            "6:\n",
            three_rows!(row_quad, $s),
            requantise!("r0"),
            requantise!("r1"),
            requantise!("r2"),
            requantise!("r3"),
            "bfi r0, r1, #8, #8\n",
            "bfi r0, r2, #16, #8\n",
            "bfi r0, r3, #24, #8\n",
            clamp!($clamp, "r0"),
            "str r0, [r12], #4\n",
            "subs lr, lr, #1\n",
            "bne 6b\n",
            "7:\n",
            "ldrd r4, r5, [sp, #60]\n",
            "add r9, r9, r4\n",
            "add r10, r10, r4\n",
            "add r11, r11, r4\n",
            "cmp r12, r5\n",
            "bne 2b\n",
            "add sp, sp, #68\n",
            "pop {{r6, r7}}\n",
        )
    };
}

/// One `asm!` block of [`stripe_loop`]`($s, $clamp)` on the plane rows `$p0`, `$p1`,
/// `$p2`, the output `$y` up to `$end` and the constants `$k`.
macro_rules! stripe_asm {
    ($s:tt, $clamp:tt, $p0:expr, $p1:expr, $p2:expr, $y:expr, $end:expr, $k:expr) => {
        asm!(
            stripe_loop!($s, $clamp),
            inout("r9") $p0 => _, inout("r10") $p1 => _, inout("r11") $p2 => _,
            inout("r12") $y => _, inout("r8") $end => _, inout("lr") $k => _,
            out("r0") _, out("r1") _, out("r2") _, out("r3") _, out("r4") _, out("r5") _,
        )
    };
}

/// The constants of the stripe loop of a depthwise 3×3 layer: one channel's doubled bias
/// and taps and its short requantisation, and the layer's clamp and plan of an output
/// row `ow` wide in a plane `width` wide (the words at offsets 0–60 of the loop's copy).
pub(crate) struct Stripe {
    /// The words the loop copies to the stack (all but the end of the outputs).
    k: [u32; 16],
    /// The plane's row length, in 16-bit values.
    width: usize,
    /// The output rows' length.
    ow: usize,
    /// Whether `act_min` clamps anything `SSAT` lets through.
    clamp: bool,
}

impl Stripe {
    /// The constants of a layer of stride `S` with output rows `ow` wide (`ow ≥ 2`) in a
    /// plane `width` wide and the output's `act_min`, before [`set_channel`](Self::set_channel).
    pub(crate) fn new<const S: usize>(act_min: i32, width: usize, ow: usize) -> Self {
        let mut k = [0; 16];
        k[13] = (act_min as u32 & 0xff) * 0x0101_0101;
        // The first pass of a row, after the plan's low two bits: none, five, two or three.
        let first = [0, 5, 2, 3][ow % 4];
        k[14] = ((ow - first) / 4 * 4 + ow % 4) as u32;
        k[15] = (2 * S * (width - ow)) as u32;
        Self { k, width, ow, clamp: act_min > -128 }
    }

    /// Sets the channel whose packed taps are `taps`, its kernel bias `bias` (the input's
    /// zero point in it) and its short requantisation `short` (the output's zero point in
    /// it): one `asm!` block, per pair of taps an `LDR` from the byte of the channel's taps
    /// (unaligned for an odd channel: M4 loads words at any byte address), `SXTB16` and
    /// `SADD16` doubling them, `LSL` doubling the bias, then per kernel row the taps
    /// `(w0, w1)` and `(w1, w2)` (three by `LSR` and `PKHBT`) stored with the bias.
    #[inline(always)]
    pub(crate) fn set_channel(&mut self, taps: Taps<'_>, bias: i32, short: &Short) {
        assert!(taps.words.len() >= 9, "a 3×3 kernel is 5 pairs");
        // SAFETY: reads a word at the byte `taps.odd` of the first words of five pairs of
        // `taps.words` (in bounds: asserted), writes words 0–9 of `k` (4-byte aligned, as
        // `STRD` needs).
        unsafe {
            asm!(
                "ldr {d0}, [{wp}]",
                "ldr {d1}, [{wp}, #8]",
                "ldr {d2}, [{wp}, #16]",
                "ldr {d3}, [{wp}, #24]",
                "ldr {d4}, [{wp}, #32]",
                "sxtb16 {d0}, {d0}",
                "sxtb16 {d1}, {d1}",
                "sxtb16 {d2}, {d2}",
                "sxtb16 {d3}, {d3}",
                "sxtb16 {d4}, {d4}",
                "lsl {bias}, {bias}, #1",
                "strd {bias}, {bias}, [{kp}]",
                "strd {bias}, {bias}, [{kp}, #8]",
                "sadd16 {d0}, {d0}, {d0}",
                "sadd16 {d1}, {d1}, {d1}",
                "sadd16 {d2}, {d2}, {d2}",
                "sadd16 {d3}, {d3}, {d3}",
                "sadd16 {d4}, {d4}, {d4}",
                "lsr {wp}, {d0}, #16",
                "pkhbt {wp}, {wp}, {d1}, lsl #16",
                "strd {d0}, {wp}, [{kp}, #16]",
                "lsr {wp}, {d1}, #16",
                "pkhbt {wp}, {wp}, {d2}, lsl #16",
                "strd {wp}, {d2}, [{kp}, #24]",
                "lsr {wp}, {d3}, #16",
                "pkhbt {wp}, {wp}, {d4}, lsl #16",
                "strd {d3}, {wp}, [{kp}, #32]",
                wp = inout(reg) taps.words.as_ptr().cast::<u8>().add(usize::from(taps.odd)) => _,
                bias = inout(reg) bias => _, kp = in(reg) self.k.as_mut_ptr(),
                d0 = out(reg) _, d1 = out(reg) _, d2 = out(reg) _, d3 = out(reg) _, d4 = out(reg) _,
                options(nostack),
            );
        }
        self.k[10..13].copy_from_slice(&short.words());
    }

    /// The `rows` output rows of stride `S` into `y` from the widened stripe at `plane`:
    /// one `asm!` loop.
    ///
    /// # Safety
    /// The plane holds `(rows − 1)·S + 3` rows of `width` 16-bit values and 2 more;
    /// `(ow − 1)·S + 2 < width`; `y` holds `rows · ow`; `rows ≥ 1`.
    #[inline(always)]
    pub(crate) unsafe fn run<const S: usize>(&self, plane: *const i16, rows: usize, y: *mut i8) {
        // SAFETY: the caller's bounds; the loop reads the 64 bytes of `k`, pushes 76 bytes
        // and pops them, reads the plane's rows and writes `rows · ow` bytes at `y`; M4
        // loads and stores words at any byte boundary.
        unsafe {
            let (p0, end) = (plane, y.add(rows * self.ow));
            let (p1, p2) = (p0.add(self.width), p0.add(2 * self.width));
            let k = self.k.as_ptr();
            match (S, self.clamp) {
                (1, false) => stripe_asm!(1, false, p0, p1, p2, y, end, k),
                (1, true) => stripe_asm!(1, true, p0, p1, p2, y, end, k),
                (_, false) => stripe_asm!(2, false, p0, p1, p2, y, end, k),
                (_, true) => stripe_asm!(2, true, p0, p1, p2, y, end, k),
            }
        }
    }
}
