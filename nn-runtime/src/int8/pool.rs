//! Pooling in int8: max, average and adaptive average. Each keeps its input's scale and
//! zero point; the averages divide the stored values' sum, zero point included, with
//! TFLite AVERAGE_POOL_2D's rounding.

/// TFLite's rounded average of `n` stored values summing to `acc`:
/// `acc > 0 ? (acc + n/2) / n : (acc − n/2) / n`, `/` truncating, clamped to int8.
#[inline]
pub fn average(acc: i32, n: i32) -> i8 {
    let half = n / 2;
    let q = if acc > 0 { (acc + half) / n } else { (acc - half) / n };
    q.clamp(-128, 127) as i8
}

/// How a window becomes one value.
#[derive(Clone, Copy)]
enum Reduce {
    Max,
    Average,
}

/// Reduces every window of every channel into `y`: window `(oy, ox)` covers rows
/// `rows(oy)` and columns `cols(ox)`.
#[inline(always)]
fn pool<const C: usize, const H: usize, const W: usize, const OH: usize, const OW: usize>(
    x: &[[[i8; W]; H]; C],
    y: &mut [[[i8; OW]; OH]; C],
    rows: impl Fn(usize) -> core::ops::Range<usize>,
    cols: impl Fn(usize) -> core::ops::Range<usize>,
    reduce: Reduce,
) {
    for (plane, out) in x.iter().zip(y.iter_mut()) {
        for (oy, out_row) in out.iter_mut().enumerate() {
            let window = &plane[rows(oy)];
            for (ox, out) in out_row.iter_mut().enumerate() {
                let cols = cols(ox);
                *out = match reduce {
                    Reduce::Max => window.iter().flat_map(|row| &row[cols.clone()]).fold(i8::MIN, |m, &v| m.max(v)),
                    Reduce::Average => {
                        let sum = window.iter().flat_map(|row| &row[cols.clone()]).map(|&v| i32::from(v)).sum();
                        average(sum, (window.len() * cols.len()) as i32)
                    }
                };
            }
        }
    }
}

/// PyTorch's `MaxPool2d` without padding, into `y`: `kernel` and `stride` are
/// `[height, width]`.
///
/// # Panics
/// If a window leaves the image (`OH`, `OW` too large for the geometry).
#[inline]
pub fn max_pool2d_into<const C: usize, const H: usize, const W: usize, const OH: usize, const OW: usize>(
    x: &[[[i8; W]; H]; C],
    y: &mut [[[i8; OW]; OH]; C],
    kernel: [usize; 2],
    stride: [usize; 2],
) {
    pool(
        x,
        y,
        |oy| oy * stride[0]..oy * stride[0] + kernel[0],
        |ox| ox * stride[1]..ox * stride[1] + kernel[1],
        Reduce::Max,
    )
}

/// [`max_pool2d_into`] into a new array (the firmware's kernel checks call it).
#[inline]
pub fn max_pool2d<const C: usize, const H: usize, const W: usize, const OH: usize, const OW: usize>(
    x: &[[[i8; W]; H]; C],
    kernel: [usize; 2],
    stride: [usize; 2],
) -> [[[i8; OW]; OH]; C] {
    let mut y = [[[0; OW]; OH]; C];
    max_pool2d_into(x, &mut y, kernel, stride);
    y
}

/// PyTorch's `AvgPool2d` without padding, with TFLite's integer rounding ([`average`]),
/// into `y`.
///
/// # Panics
/// If a window leaves the image (`OH`, `OW` too large for the geometry).
#[inline]
pub fn avg_pool2d_into<const C: usize, const H: usize, const W: usize, const OH: usize, const OW: usize>(
    x: &[[[i8; W]; H]; C],
    y: &mut [[[i8; OW]; OH]; C],
    kernel: [usize; 2],
    stride: [usize; 2],
) {
    pool(
        x,
        y,
        |oy| oy * stride[0]..oy * stride[0] + kernel[0],
        |ox| ox * stride[1]..ox * stride[1] + kernel[1],
        Reduce::Average,
    )
}

/// [`avg_pool2d_into`] into a new array (the firmware's kernel checks call it).
#[inline]
pub fn avg_pool2d<const C: usize, const H: usize, const W: usize, const OH: usize, const OW: usize>(
    x: &[[[i8; W]; H]; C],
    kernel: [usize; 2],
    stride: [usize; 2],
) -> [[[i8; OW]; OH]; C] {
    let mut y = [[[0; OW]; OH]; C];
    avg_pool2d_into(x, &mut y, kernel, stride);
    y
}

/// PyTorch's adaptive window `i` of `out` over `len`: `[⌊i·len/out⌋, ⌈(i+1)·len/out⌉)`.
#[inline]
pub const fn adaptive_window(i: usize, len: usize, out: usize) -> core::ops::Range<usize> {
    i * len / out..((i + 1) * len).div_ceil(out)
}

/// PyTorch's `AdaptiveAvgPool2d((OH, OW))`, with TFLite's integer rounding ([`average`]),
/// into `y`.
#[inline]
pub fn adaptive_avg_pool2d_into<const C: usize, const H: usize, const W: usize, const OH: usize, const OW: usize>(
    x: &[[[i8; W]; H]; C],
    y: &mut [[[i8; OW]; OH]; C],
) {
    pool(x, y, |oy| adaptive_window(oy, H, OH), |ox| adaptive_window(ox, W, OW), Reduce::Average)
}

/// [`adaptive_avg_pool2d_into`] into a new array (the firmware's kernel checks call it).
#[inline]
pub fn adaptive_avg_pool2d<const C: usize, const H: usize, const W: usize, const OH: usize, const OW: usize>(
    x: &[[[i8; W]; H]; C],
) -> [[[i8; OW]; OH]; C] {
    let mut y = [[[0; OW]; OH]; C];
    adaptive_avg_pool2d_into(x, &mut y);
    y
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn average_rounds_half_away_from_zero() {
        assert_eq!(average(5, 2), 3); // 2.5 → 3
        assert_eq!(average(-5, 2), -3); // −2.5 → −3
        assert_eq!(average(4, 3), 1); // 1.33 → 1
        assert_eq!(average(5, 3), 2); // 1.67 → 2
        assert_eq!(average(-5, 3), -2);
        assert_eq!(average(0, 4), 0);
        assert_eq!(average(-2, 4), -1); // −0.5 → −1
        assert_eq!(average(2, 4), 1);
    }

    #[test]
    fn adaptive_windows_are_pytorchs() {
        // 5 → 3: [0, 2), [1, 4), [3, 5).
        assert_eq!(adaptive_window(0, 5, 3), 0..2);
        assert_eq!(adaptive_window(1, 5, 3), 1..4);
        assert_eq!(adaptive_window(2, 5, 3), 3..5);
        assert_eq!(adaptive_window(0, 4, 1), 0..4);
    }

    /// A `[C, H, W]` image from a seed.
    fn image<const C: usize, const H: usize, const W: usize>(seed: u64) -> [[[i8; W]; H]; C] {
        let mut state = seed | 1;
        core::array::from_fn(|_| {
            core::array::from_fn(|_| {
                core::array::from_fn(|_| {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    (state >> 56) as u8 as i8
                })
            })
        })
    }

    /// What `pool` writes into an output that held garbage before.
    fn written<const C: usize, const OH: usize, const OW: usize>(
        pool: impl FnOnce(&mut [[[i8; OW]; OH]; C]),
    ) -> [[[i8; OW]; OH]; C] {
        let mut y = [[[0x55; OW]; OH]; C];
        pool(&mut y);
        y
    }

    /// The plain integer reference: windows by explicit index, rounding by f64.
    fn reference<const C: usize, const H: usize, const W: usize, const OH: usize, const OW: usize>(
        x: &[[[i8; W]; H]; C],
        window: impl Fn(usize, usize) -> ([usize; 2], [usize; 2]),
        max: bool,
    ) -> [[[i8; OW]; OH]; C] {
        core::array::from_fn(|c| {
            core::array::from_fn(|oy| {
                core::array::from_fn(|ox| {
                    let ([y0, y1], [x0, x1]) = window(oy, ox);
                    let values: Vec<i32> = (y0..y1)
                        .flat_map(|y| (x0..x1).map(move |xx| (y, xx)))
                        .map(|(y, xx)| i32::from(x[c][y][xx]))
                        .collect();
                    if max {
                        *values.iter().max().unwrap() as i8
                    } else {
                        // Round half away from zero of the exact mean.
                        (values.iter().sum::<i32>() as f64 / values.len() as f64).round() as i8
                    }
                })
            })
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn pools_match_the_integer_reference(seed in any::<u64>()) {
            let x = image::<2, 7, 6>(seed);
            let fixed = |k: [usize; 2], s: [usize; 2]| move |oy: usize, ox: usize| ([oy * s[0], oy * s[0] + k[0]], [ox * s[1], ox * s[1] + k[1]]);
            prop_assert_eq!(written(|y| max_pool2d_into::<2, 7, 6, 3, 3>(&x, y, [2, 2], [2, 2])), reference(&x, fixed([2, 2], [2, 2]), true));
            prop_assert_eq!(written(|y| max_pool2d_into::<2, 7, 6, 2, 2>(&x, y, [3, 2], [3, 3])), reference(&x, fixed([3, 2], [3, 3]), true));
            prop_assert_eq!(written(|y| avg_pool2d_into::<2, 7, 6, 3, 3>(&x, y, [2, 2], [2, 2])), reference(&x, fixed([2, 2], [2, 2]), false));
            prop_assert_eq!(written(|y| avg_pool2d_into::<2, 7, 6, 2, 4>(&x, y, [3, 3], [3, 1])), reference(&x, fixed([3, 3], [3, 1]), false));
            let adaptive = |oh: usize, ow: usize| move |oy: usize, ox: usize| {
                let (r, c) = (adaptive_window(oy, 7, oh), adaptive_window(ox, 6, ow));
                ([r.start, r.end], [c.start, c.end])
            };
            prop_assert_eq!(written(|y| adaptive_avg_pool2d_into::<2, 7, 6, 3, 4>(&x, y)), reference(&x, adaptive(3, 4), false));
            prop_assert_eq!(written(|y| adaptive_avg_pool2d_into::<2, 7, 6, 1, 1>(&x, y)), reference(&x, adaptive(1, 1), false));
        }
    }
}
