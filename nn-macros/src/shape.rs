//! Shape arithmetic: the per-sample shape flowing between layers, the one output-size
//! rule of convolution and pooling windows, and the size cap every computed size obeys.
//! `check` computes every shape once with these, in checked arithmetic.

use std::fmt;

/// The most scalars one sample, one tensor or one argument may count: 2^30 (4 GiB of
/// `f32`). Above it a frozen struct no longer fits a 32-bit target, and a baked weight
/// image would make rustc allocate gigabytes.
pub const MAX_SCALARS: usize = 1 << 30;

/// How [`MAX_SCALARS`] reads in messages.
pub const MAX_SCALARS_TEXT: &str = "2^30 (1073741824)";

/// The shape of one sample (the batch axis is not part of it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// A feature vector `[n]`.
    Flat(usize),
    /// An image `[channels, height, width]`.
    Image { channels: usize, height: usize, width: usize },
}

impl Shape {
    /// Number of scalars in one sample (at most [`MAX_SCALARS`] for a checked shape).
    pub fn len(self) -> usize {
        match self {
            Shape::Flat(n) => n,
            Shape::Image { channels, height, width } => channels * height * width,
        }
    }

    /// The dimensions, as PyTorch prints them.
    pub fn dims(self) -> Vec<usize> {
        match self {
            Shape::Flat(n) => vec![n],
            Shape::Image { channels, height, width } => vec![channels, height, width],
        }
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shape::Flat(n) => write!(f, "[{n}]"),
            Shape::Image { channels, height, width } => write!(f, "[{channels}, {height}, {width}]"),
        }
    }
}

/// The number of scalars of a tensor of `dims`, or `None` above [`MAX_SCALARS`].
pub fn scalars(dims: &[usize]) -> Option<usize> {
    dims.iter().try_fold(1usize, |total, &d| total.checked_mul(d)).filter(|&n| n <= MAX_SCALARS)
}

/// The exact product of `dims`, for messages about sizes past the cap.
pub fn exact_product(dims: &[usize]) -> u128 {
    dims.iter().map(|&d| d as u128).product()
}

/// `size + before + after` (a padded length), or `None` past [`MAX_SCALARS`].
pub fn padded(size: usize, before: usize, after: usize) -> Option<usize> {
    size.checked_add(before)?.checked_add(after).filter(|&n| n <= MAX_SCALARS)
}

/// Output length of a convolution or pooling window along one axis (PyTorch's floor
/// rule, the runtime's `nn::frozen::output_len`), or `None` when the window is larger
/// than the padded input.
pub fn window_output(size: usize, kernel: usize, stride: usize, padding: usize) -> Option<usize> {
    let padded = padded(size, padding, padding)?;
    (padded >= kernel).then(|| (padded - kernel) / stride + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_output_follows_pytorch() {
        assert_eq!(window_output(28, 5, 1, 2), Some(28));
        assert_eq!(window_output(28, 2, 2, 0), Some(14));
        assert_eq!(window_output(7, 2, 2, 0), Some(3));
        assert_eq!(window_output(4, 5, 1, 0), None);
        assert_eq!(window_output(4, 5, 1, 1), Some(2));
        assert_eq!(window_output(4, 1, 1, usize::MAX / 2), None);
    }

    #[test]
    fn sizes_past_the_cap_are_none() {
        assert_eq!(scalars(&[1 << 15, 1 << 15]), Some(MAX_SCALARS));
        assert_eq!(scalars(&[1_000_000, 1_000_000]), None);
        assert_eq!(scalars(&[usize::MAX, 2]), None);
        assert_eq!(exact_product(&[1_000_000, 1_000_000]), 1_000_000_000_000);
        assert_eq!(padded(usize::MAX, 1, 0), None);
    }

    #[test]
    fn shapes_print_like_pytorch() {
        assert_eq!(Shape::Image { channels: 6, height: 28, width: 28 }.to_string(), "[6, 28, 28]");
        assert_eq!(Shape::Flat(256).len(), 256);
    }
}
