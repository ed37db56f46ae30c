//! `ZeroPad2d` in int8: real zero is the zero point, so the border is filled with it.

/// PyTorch's `ZeroPad2d((left, right, top, bottom))` on `[C, H, W]` into `y`, padding
/// with `zero_point`; `right` and `bottom` are what `OW − W − left` and `OH − H − top` leave.
///
/// # Panics
/// If `OH < H + top` or `OW < W + left`.
#[inline]
pub fn zero_pad2d_into<const C: usize, const H: usize, const W: usize, const OH: usize, const OW: usize>(
    x: &[[[i8; W]; H]; C],
    y: &mut [[[i8; OW]; OH]; C],
    left: usize,
    top: usize,
    zero_point: i32,
) {
    assert!(OH >= H + top && OW >= W + left, "a {H}x{W} image padded by ({left}, {top}) does not fit {OH}x{OW}");
    y.as_flattened_mut().as_flattened_mut().fill(zero_point.clamp(-128, 127) as i8);
    for (plane, out) in x.iter().zip(y.iter_mut()) {
        for (row, out_row) in plane.iter().zip(&mut out[top..]) {
            out_row[left..left + W].copy_from_slice(row);
        }
    }
}

/// [`zero_pad2d_into`] into a new array (the firmware's kernel checks call it).
#[inline]
pub fn zero_pad2d<const C: usize, const H: usize, const W: usize, const OH: usize, const OW: usize>(
    x: &[[[i8; W]; H]; C],
    left: usize,
    top: usize,
    zero_point: i32,
) -> [[[i8; OW]; OH]; C] {
    let mut y = [[[0; OW]; OH]; C];
    zero_pad2d_into(x, &mut y, left, top, zero_point);
    y
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn pads_with_the_zero_point(
            values in proptest::collection::vec(any::<i8>(), 2 * 3 * 4),
            left in 0usize..3, top in 0usize..3, zero_point in -128i32..128,
        ) {
            let x: [[[i8; 4]; 3]; 2] = core::array::from_fn(|c| core::array::from_fn(|y| core::array::from_fn(|xx| values[(c * 3 + y) * 4 + xx])));
            let mut y = [[[0i8; 7]; 6]; 2];
            zero_pad2d_into::<2, 3, 4, 6, 7>(&x, &mut y, left, top, zero_point);
            for c in 0..2 {
                for oy in 0..6 {
                    for ox in 0..7 {
                        let inside = (top..top + 3).contains(&oy) && (left..left + 4).contains(&ox);
                        let want = if inside { x[c][oy - top][ox - left] } else { zero_point as i8 };
                        prop_assert_eq!(y[c][oy][ox], want);
                    }
                }
            }
        }
    }
}
