//! Shape arithmetic: the per-sample shape flowing between layers, and the output
//! sizes of convolution and pooling. `check` computes every shape once with these.

use std::fmt;

/// The shape of one sample (the batch axis is not part of it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// A feature vector `[n]`.
    Flat(usize),
    /// An image `[channels, height, width]`.
    Image { channels: usize, height: usize, width: usize },
}

impl Shape {
    /// Number of scalars in one sample.
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

/// Output length of a convolution or pooling window along one axis (PyTorch's floor
/// rule), or `None` when the window is larger than the padded input.
pub fn window_output(size: usize, kernel: usize, stride: usize, padding: usize) -> Option<usize> {
    let padded = size + 2 * padding;
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
    }

    #[test]
    fn shapes_print_like_pytorch() {
        assert_eq!(Shape::Image { channels: 6, height: 28, width: 28 }.to_string(), "[6, 28, 28]");
        assert_eq!(Shape::Flat(256).len(), 256);
    }
}
