//! `Flatten`: `[batch, C, H, W]` ↔ `[batch, C·H·W]`, PyTorch's row-major order, by
//! reshaping without a copy whenever the batch is in standard layout.

use ndarray::{Array, Array2, Array4, ArrayView, ArrayViewMut, CowArray, Dimension, Ix2, Ix4, ShapeArg};

/// `[batch, C, H, W]` → `[batch, C·H·W]`, taking ownership (no copy from standard layout).
pub fn flatten<F: Clone>(x: Array4<F>) -> Array2<F> {
    let shape = flat_shape(x.dim());
    reshape(x, shape)
}

/// `[batch, C, H, W]` → `[batch, C·H·W]` for a batch that may be borrowed: it stays
/// borrowed (a reshaped view) when in standard layout, and is copied otherwise.
pub fn flatten_cow<F: Clone>(x: CowArray<'_, F, Ix4>) -> CowArray<'_, F, Ix2> {
    let shape = flat_shape(x.dim());
    if x.is_standard_layout() {
        x.into_shape_with_order(shape).expect("standard layout")
    } else {
        x.as_standard_layout().into_owned().into_shape_with_order(shape).expect("standard layout").into()
    }
}

/// Copies `src` into `dst` of the same number of elements, in row-major order: a
/// `Flatten` (or its gradient) into a preallocated buffer.
pub fn copy_flat<F: Copy, D: Dimension, E: Dimension>(src: ArrayView<F, D>, mut dst: ArrayViewMut<F, E>) {
    assert_eq!(src.len(), dst.len(), "copy_flat needs equal sizes");
    if let (Some(src), Some(dst)) = (src.as_slice(), dst.as_slice_mut()) {
        return dst.copy_from_slice(src);
    }
    for (d, &s) in dst.iter_mut().zip(src.iter()) {
        *d = s;
    }
}

/// `[batch, C·H·W]` → `[batch, C, H, W]` with `chw = (C, H, W)`: Flatten's backward
/// (no copy from standard layout).
///
/// # Panics
/// If the rows do not hold `C·H·W` elements.
pub fn unflatten<F: Clone>(x: Array2<F>, chw: (usize, usize, usize)) -> Array4<F> {
    let (c, h, w) = chw;
    assert_eq!(x.ncols(), c * h * w, "unflatten to {chw:?} needs rows of {} elements, got {}", c * h * w, x.ncols());
    let shape = (x.nrows(), c, h, w);
    reshape(x, shape)
}

fn flat_shape((batch, c, h, w): (usize, usize, usize, usize)) -> (usize, usize) {
    (batch, c * h * w)
}

/// Reshapes in row-major order, copying first only if `x` is not in standard layout.
fn reshape<F: Clone, D: Dimension, E: ShapeArg>(x: Array<F, D>, shape: E) -> Array<F, E::Dim> {
    let x = if x.is_standard_layout() { x } else { x.as_standard_layout().into_owned() };
    x.into_shape_with_order(shape).expect("standard layout, same size")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattens_in_row_major_order_without_copying() {
        let x = Array4::from_shape_fn((2, 3, 2, 2), |(n, c, i, j)| (n * 1000 + c * 100 + i * 10 + j) as f64);
        let ptr = x.as_ptr();
        let flat = flatten(x.clone());
        assert_eq!(flat.dim(), (2, 12));
        assert_eq!(flat[[1, 7]], 1000.0 + 100.0 + 10.0 + 1.0);
        assert_eq!(flatten_cow(CowArray::from(x.view())), flat);
        assert!(flatten_cow(CowArray::from(x.view())).is_view());
        let owned = flatten(x);
        assert_eq!(owned.as_ptr(), ptr, "no copy");

        let back = unflatten(owned, (3, 2, 2));
        assert_eq!(back.as_ptr(), ptr, "no copy back either");
        assert_eq!(back[[1, 1, 1, 1]], 1111.0);
    }

    #[test]
    fn copies_a_batch_that_is_not_in_standard_layout() {
        let x = Array4::from_shape_fn((2, 2, 3, 3), |(n, c, i, j)| (n * 1000 + c * 100 + i * 10 + j) as f64);
        let transposed = x.clone().permuted_axes([0, 1, 3, 2]);
        let flat = flatten_cow(CowArray::from(transposed.view()));
        assert!(flat.is_owned());
        assert_eq!(flat[[0, 1]], 10.0, "row-major order of the transposed view");
        assert_eq!(flatten(transposed.clone()), flat);
    }
}
