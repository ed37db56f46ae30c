//! Test support: central finite differences in f64, against which every backward is checked.

use ndarray::{Array, Dimension};

/// Step of the central difference; error is O(h²) ≈ 1e-12 relative for smooth functions.
const STEP: f64 = 1e-6;

/// `d loss / d x` by central differences: `(loss(x + h) - loss(x - h)) / 2h` per element.
pub fn numeric_grad<D: Dimension>(x: &Array<f64, D>, loss: impl Fn(&Array<f64, D>) -> f64) -> Array<f64, D> {
    let mut probe = x.clone();
    let mut grad = Array::zeros(x.raw_dim());
    for (i, g) in grad.iter_mut().enumerate() {
        let original = probe.as_slice_memory_order().expect("contiguous")[i];
        probe.as_slice_memory_order_mut().expect("contiguous")[i] = original + STEP;
        let up = loss(&probe);
        probe.as_slice_memory_order_mut().expect("contiguous")[i] = original - STEP;
        let down = loss(&probe);
        probe.as_slice_memory_order_mut().expect("contiguous")[i] = original;
        *g = (up - down) / (2.0 * STEP);
    }
    grad
}

/// Asserts `analytic ≈ numeric` elementwise within `1e-6 * (1 + |numeric|)`.
pub fn assert_grad_close<D: Dimension>(analytic: &Array<f64, D>, numeric: &Array<f64, D>) {
    assert_eq!(analytic.shape(), numeric.shape(), "gradient shapes differ");
    for (i, (a, n)) in analytic.iter().zip(numeric.iter()).enumerate() {
        assert!((a - n).abs() <= 1e-6 * (1.0 + n.abs()), "element {i}: analytic gradient {a} vs finite difference {n}");
    }
}
