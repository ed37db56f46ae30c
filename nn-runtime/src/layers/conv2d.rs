//! `Conv2d(in_c, out_c, kernel)`: PyTorch's 2-d convolution over `[batch, C, H, W]`
//! batches, computed as im2col + one GEMM per sample.
//!
//! Per-sample GEMMs write straight into the NCHW output and keep the im2col buffer small
//! enough for the cache. Folding the batch into one GEMM's N dimension needs a buffer
//! `batch` times larger and a transposing copy of the output, and measured no faster on
//! LeNet-5's shapes at batch 64.

use ndarray::{Array1, Array2, Array4, ArrayView, ArrayView2, ArrayView4, ArrayViewMut2, Dimension};
use rand::Rng;

use super::weight_bias;
use crate::frozen::{output_len, valid_outputs};
use crate::gemm::matmul;
use crate::params::{Entry, EntryMut};
use crate::Float;

/// A 2-d convolution with square kernels, its parameters and their gradients.
#[derive(Debug, Clone)]
pub struct Conv2d<F> {
    /// `[out_c, in_c, kernel, kernel]`, as PyTorch stores it.
    pub weight: Array4<F>,
    /// `[out_c]`, absent for `bias = false`.
    pub bias: Option<Array1<F>>,
    /// d loss / d weight, accumulated by [`Conv2d::backward`].
    pub weight_grad: Array4<F>,
    /// d loss / d bias, accumulated by [`Conv2d::backward`].
    pub bias_grad: Option<Array1<F>>,
    /// Step between windows, the same along both axes.
    pub stride: usize,
    /// Zeros added on every side of the input, the same along both axes.
    pub padding: usize,
}

impl<F: Float> Conv2d<F> {
    /// PyTorch's default init: weight and bias uniform in `±1/√(in_c·kernel²)`
    /// (Kaiming-uniform with `a = √5`).
    pub fn init<R: Rng + ?Sized>(
        in_channels: usize,
        out_channels: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
        bias: bool,
        rng: &mut R,
    ) -> Self {
        let bound = 1.0 / ((in_channels * kernel * kernel) as f64).sqrt();
        let mut uniform = || F::of(rng.random_range(-bound..bound));
        let weight = Array4::from_shape_simple_fn((out_channels, in_channels, kernel, kernel), &mut uniform);
        let bias = bias.then(|| Array1::from_shape_simple_fn(out_channels, &mut uniform));
        Self::from_parts(weight, bias, stride, padding)
    }

    /// A layer with the given weight `[out_c, in_c, kernel, kernel]` and bias `[out_c]`,
    /// gradients zeroed.
    ///
    /// # Panics
    /// If the kernel is not square, or the stride is zero.
    pub fn from_parts(weight: Array4<F>, bias: Option<Array1<F>>, stride: usize, padding: usize) -> Self {
        let (_, _, kh, kw) = weight.dim();
        assert_eq!(kh, kw, "Conv2d kernels are square, got {kh}x{kw}");
        assert!(stride > 0, "Conv2d stride must be positive");
        let weight_grad = Array4::zeros(weight.raw_dim());
        let bias_grad = bias.as_ref().map(|b| Array1::zeros(b.raw_dim()));
        Conv2d { weight, bias, weight_grad, bias_grad, stride, padding }
    }

    /// A layer with every parameter zero (what loading fills in).
    pub fn zeros(
        in_channels: usize,
        out_channels: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
        bias: bool,
    ) -> Self {
        let weight = Array4::zeros((out_channels, in_channels, kernel, kernel));
        Self::from_parts(weight, bias.then(|| Array1::zeros(out_channels)), stride, padding)
    }

    /// Copies the weights into a frozen layer: `weight` is `[out_c][in_c][k][k]`
    /// flattened (PyTorch's layout, what [`crate::frozen::conv2d`] reads), `bias` has
    /// `out_c` elements.
    pub fn freeze_into(&self, weight: &mut [F], bias: Option<&mut [F]>) {
        for (dst, &w) in weight.iter_mut().zip(self.weight.iter()) {
            *dst = w;
        }
        weight_bias::freeze_bias(self.bias.as_ref(), bias);
    }

    /// The convolution of a batch `x` of shape `[batch, in_c, H, W]`, of shape
    /// `[batch, out_c, OH, OW]` with `OH = ⌊(H + 2·padding − kernel) / stride⌋ + 1`.
    pub fn forward(&self, x: ArrayView4<F>) -> Array4<F> {
        let x = x.as_standard_layout();
        let (batch, in_c, h, w) = x.dim();
        let geometry = self.geometry(in_c, h, w);
        let weight = self.weight.as_standard_layout();
        let weight = matrix(weight.view(), geometry.out_c);
        let mut y = Array4::zeros((batch, geometry.out_c, geometry.oh, geometry.ow));
        let mut cols = Array2::zeros(geometry.cols_shape());
        for (x_n, y_n) in x.outer_iter().zip(y.outer_iter_mut()) {
            geometry.im2col(x_n.as_slice().expect("standard layout"), &mut cols);
            let mut y_n = y_n.into_shape_with_order((geometry.out_c, geometry.oh * geometry.ow)).expect("fresh array");
            if let Some(bias) = &self.bias {
                for (mut row, &b) in y_n.rows_mut().into_iter().zip(bias) {
                    row.fill(b);
                }
            }
            matmul(F::one(), &weight, &cols.view(), F::one(), &mut y_n);
        }
        y
    }

    /// Accumulates d loss / d weight and d loss / d bias for the batch `x` that produced
    /// `grad_out`: per sample, `dW += g · colsᵀ` and `db += Σ g`.
    pub fn backward(&mut self, x: ArrayView4<F>, grad_out: ArrayView4<F>) {
        let x = x.as_standard_layout();
        let (batch, in_c, h, w) = x.dim();
        let geometry = self.geometry(in_c, h, w);
        geometry.check_grad_out(batch, grad_out.dim());
        let grad_out = grad_out.as_standard_layout();
        let mut weight_grad: ArrayViewMut2<F> = self
            .weight_grad
            .view_mut()
            .into_shape_with_order(geometry.weight_shape())
            .expect("weight_grad is in standard layout");
        let mut cols = Array2::zeros(geometry.cols_shape());
        for (x_n, g_n) in x.outer_iter().zip(grad_out.outer_iter()) {
            geometry.im2col(x_n.as_slice().expect("standard layout"), &mut cols);
            let g_n = matrix(g_n, geometry.out_c);
            matmul(F::one(), &g_n, &cols.t(), F::one(), &mut weight_grad);
            if let Some(bias_grad) = &mut self.bias_grad {
                for (b, row) in bias_grad.iter_mut().zip(g_n.rows()) {
                    *b += row.sum();
                }
            }
        }
    }

    /// d loss / d x of shape `[batch, in_c, H, W]` for an input of spatial size
    /// `input_hw = (H, W)` (which the output size alone does not fix when `stride > 1`):
    /// per sample `Wᵀ g`, scattered back onto the image (col2im).
    pub fn input_grad(&self, grad_out: ArrayView4<F>, input_hw: (usize, usize)) -> Array4<F> {
        let (h, w) = input_hw;
        let in_c = self.weight.dim().1;
        let geometry = self.geometry(in_c, h, w);
        let batch = grad_out.dim().0;
        geometry.check_grad_out(batch, grad_out.dim());
        let grad_out = grad_out.as_standard_layout();
        let weight = self.weight.as_standard_layout();
        let weight = matrix(weight.view(), geometry.out_c);
        let mut grad_in = Array4::zeros((batch, in_c, h, w));
        let mut cols = Array2::zeros(geometry.cols_shape());
        for (g_n, mut dx_n) in grad_out.outer_iter().zip(grad_in.outer_iter_mut()) {
            let g_n = matrix(g_n, geometry.out_c);
            matmul(F::one(), &weight.t(), &g_n, F::zero(), &mut cols.view_mut());
            geometry.col2im(&cols, dx_n.as_slice_mut().expect("fresh array"));
        }
        grad_in
    }

    /// Visits `weight` then `bias` under their state-dict keys (`"0.weight"`, `"0.bias"`).
    pub fn visit(&self, keys: [&str; 2], visitor: &mut dyn FnMut(&str, Entry<'_, F>)) {
        let bias = self.bias.as_ref().zip(self.bias_grad.as_ref());
        weight_bias::visit(keys, (&self.weight, &self.weight_grad), bias, visitor);
    }

    /// Writable counterpart of [`Conv2d::visit`].
    pub fn visit_mut(&mut self, keys: [&str; 2], visitor: &mut dyn FnMut(&str, EntryMut<'_, F>)) {
        let bias = self.bias.as_mut().zip(self.bias_grad.as_mut());
        weight_bias::visit_mut(keys, (&mut self.weight, &mut self.weight_grad), bias, visitor);
    }

    /// Number of trainable scalars.
    pub fn num_params(&self) -> usize {
        self.weight.len() + self.bias.as_ref().map_or(0, |b| b.len())
    }

    /// The sizes of this layer applied to a `[in_c, h, w]` image.
    fn geometry(&self, in_c: usize, h: usize, w: usize) -> Geometry {
        let (out_c, weight_in_c, kernel, _) = self.weight.dim();
        assert_eq!(in_c, weight_in_c, "Conv2d expects {weight_in_c} input channels, got {in_c}");
        let (stride, padding) = (self.stride, self.padding);
        let (oh, ow) = (output_len(h, kernel, stride, padding), output_len(w, kernel, stride, padding));
        Geometry { in_c, h, w, out_c, kernel, stride, padding, oh, ow }
    }
}

/// `a` (standard layout) seen as a `[rows, rest]` matrix.
fn matrix<F, D: Dimension>(a: ArrayView<F, D>, rows: usize) -> ArrayView2<F> {
    let rest = a.len() / rows;
    a.into_shape_with_order((rows, rest)).expect("standard layout")
}

/// The sizes of one convolution of one image, shared by im2col and col2im.
struct Geometry {
    in_c: usize,
    h: usize,
    w: usize,
    out_c: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    oh: usize,
    ow: usize,
}

impl Geometry {
    /// `[in_c·kernel², OH·OW]`: one row per kernel tap, one column per output pixel.
    fn cols_shape(&self) -> (usize, usize) {
        (self.in_c * self.kernel * self.kernel, self.oh * self.ow)
    }

    /// The weight seen as `[out_c, in_c·kernel²]`.
    fn weight_shape(&self) -> (usize, usize) {
        (self.out_c, self.in_c * self.kernel * self.kernel)
    }

    fn check_grad_out(&self, batch: usize, grad_out: (usize, usize, usize, usize)) {
        let want = (batch, self.out_c, self.oh, self.ow);
        assert_eq!(grad_out, want, "Conv2d grad_out has shape {grad_out:?}, expected {want:?}");
    }

    /// Calls `visit(col, pixel, len)` for every run of im2col entries read from one input
    /// row: `cols[col + i]` holds `x[pixel + i·stride]` for `i < len`. Entries outside
    /// every run read the zero padding, and are the same for every image.
    fn for_each_run(&self, mut visit: impl FnMut(usize, usize, usize)) {
        let (kernel, stride, padding) = (self.kernel, self.stride, self.padding);
        for c in 0..self.in_c {
            for ki in 0..kernel {
                let rows = valid_outputs(ki, self.h, self.oh, stride, padding);
                for kj in 0..kernel {
                    let cols = valid_outputs(kj, self.w, self.ow, stride, padding);
                    if cols.is_empty() {
                        continue;
                    }
                    let tap = (c * kernel + ki) * kernel + kj;
                    for oy in rows.clone() {
                        let col = tap * self.oh * self.ow + oy * self.ow + cols.start;
                        let pixel =
                            (c * self.h + oy * stride + ki - padding) * self.w + cols.start * stride + kj - padding;
                        visit(col, pixel, cols.len());
                    }
                }
            }
        }
    }

    /// Fills `cols` (`[in_c·kernel², OH·OW]`, zero where it reads padding) from the image
    /// `x` (`[in_c, h, w]`, row-major).
    fn im2col<F: Float>(&self, x: &[F], cols: &mut Array2<F>) {
        let cols = cols.as_slice_mut().expect("fresh array");
        let stride = self.stride;
        self.for_each_run(|col, pixel, len| {
            let run = &mut cols[col..col + len];
            if stride == 1 {
                run.copy_from_slice(&x[pixel..pixel + len]);
            } else {
                for (c, &v) in run.iter_mut().zip(x[pixel..].iter().step_by(stride)) {
                    *c = v;
                }
            }
        });
    }

    /// Adds every entry of `cols` onto the image pixel it was read from (the adjoint of
    /// [`Geometry::im2col`]); `x` is `[in_c, h, w]`, row-major.
    fn col2im<F: Float>(&self, cols: &Array2<F>, x: &mut [F]) {
        let cols = cols.as_slice().expect("fresh array");
        let stride = self.stride;
        self.for_each_run(|col, pixel, len| {
            let run = &cols[col..col + len];
            if stride == 1 {
                for (v, &c) in x[pixel..pixel + len].iter_mut().zip(run) {
                    *v += c;
                }
            } else {
                for (v, &c) in x[pixel..].iter_mut().step_by(stride).zip(run) {
                    *v += c;
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finite_diff::{assert_grad_close, numeric_grad};
    use proptest::prelude::{proptest, ProptestConfig};
    use rand::SeedableRng;

    /// loss = Σ y ⊙ r for a fixed random `r`, so d loss / d y = r.
    fn weighted_sum(y: &Array4<f64>, r: &Array4<f64>) -> f64 {
        (y * r).sum()
    }

    /// Reference: PyTorch's definition
    /// `y[n,o,i,j] = b[o] + Σ_{c,ki,kj} w[o,c,ki,kj] · x_pad[n, c, 2i+ki, 2j+kj]` with
    /// stride 2 and padding 1, evaluated by this python3 loop:
    /// ```text
    /// N,C,H,W,O,K,S,P = 2,2,4,5,2,3,2,1
    /// x = lambda n,c,i,j: ((n*40 + c*20 + i*5 + j) % 7) - 3
    /// w = lambda o,c,i,j: ((o*18 + c*9 + i*3 + j) % 5) - 2
    /// b = [0.5, -1.0]
    /// OH, OW = (H+2*P-K)//S+1, (W+2*P-K)//S+1
    /// print([b[o] + sum(w(o,c,ki,kj) * x(n,c,i*S+ki-P,j*S+kj-P)
    ///        for c in range(C) for ki in range(K) for kj in range(K)
    ///        if 0 <= i*S+ki-P < H and 0 <= j*S+kj-P < W)
    ///        for n in range(N) for o in range(O) for i in range(OH) for j in range(OW)])
    /// ```
    #[test]
    fn forward_matches_pytorch_definition() {
        let x = Array4::from_shape_fn((2, 2, 4, 5), |(n, c, i, j)| ((n * 40 + c * 20 + i * 5 + j) % 7) as f64 - 3.0);
        let weight =
            Array4::from_shape_fn((2, 2, 3, 3), |(o, c, i, j)| ((o * 18 + c * 9 + i * 3 + j) % 5) as f64 - 2.0);
        let layer = Conv2d::from_parts(weight, Some(ndarray::array![0.5, -1.0]), 2, 1);
        let y = layer.forward(x.view());
        let want = [
            -2.5, -19.5, 12.5, -6.5, 9.5, 1.5, -15.0, 37.0, -8.0, 7.0, -9.0, -17.0, 5.5, -0.5, -15.5, -11.5, -12.5,
            7.5, -2.0, -20.0, 29.0, -7.0, 10.0, -9.0,
        ];
        assert_eq!(y.shape(), [2, 2, 2, 3]);
        assert_eq!(y.iter().copied().collect::<Vec<_>>(), want);
    }

    #[test]
    fn init_is_bounded_by_one_over_sqrt_fan_in() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let layer = Conv2d::<f64>::init(4, 8, 5, 1, 0, true, &mut rng);
        let bound = 1.0 / 10.0;
        assert!(layer.weight.iter().chain(layer.bias.as_ref().unwrap()).all(|w| w.abs() < bound));
        assert!(layer.weight.iter().any(|w| w.abs() > 0.9 * bound), "uses the whole range");
        assert_eq!(layer.num_params(), 8 * 4 * 25 + 8);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn backward_matches_finite_differences(
            batch in 1usize..3, in_c in 1usize..3, out_c in 1usize..3, kernel in 1usize..4,
            stride in 1usize..4, padding in 0usize..3, extra_h in 0usize..4, extra_w in 0usize..4,
            bias: bool, seed in 0u64..1000,
        ) {
            let (h, w) = (kernel + extra_h, kernel + extra_w);
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let layer = Conv2d::<f64>::init(in_c, out_c, kernel, stride, padding, bias, &mut rng);
            let x = Array4::from_shape_simple_fn((batch, in_c, h, w), || rng.random_range(-2.0..2.0));
            let y = layer.forward(x.view());
            let r = Array4::from_shape_simple_fn(y.raw_dim(), || rng.random_range(-1.0..1.0));

            let mut analytic = layer.clone();
            analytic.backward(x.view(), r.view());
            let grad_x = analytic.input_grad(r.view(), (h, w));

            let numeric_x = numeric_grad(&x, |x| weighted_sum(&layer.forward(x.view()), &r));
            let numeric_w = numeric_grad(&layer.weight, |w| {
                let probe = Conv2d::from_parts(w.clone(), layer.bias.clone(), stride, padding);
                weighted_sum(&probe.forward(x.view()), &r)
            });
            assert_grad_close(&grad_x, &numeric_x);
            assert_grad_close(&analytic.weight_grad, &numeric_w);
            if let Some(bias) = &layer.bias {
                let numeric_b = numeric_grad(bias, |b| {
                    let probe = Conv2d::from_parts(layer.weight.clone(), Some(b.clone()), stride, padding);
                    weighted_sum(&probe.forward(x.view()), &r)
                });
                assert_grad_close(analytic.bias_grad.as_ref().unwrap(), &numeric_b);
            }
        }
    }

    /// A second backward adds to the gradients, as PyTorch's `.grad` accumulates.
    #[test]
    fn backward_accumulates() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let mut layer = Conv2d::<f64>::init(2, 3, 3, 1, 1, true, &mut rng);
        let x = Array4::from_shape_simple_fn((2, 2, 5, 5), || rng.random_range(-1.0..1.0));
        let r = Array4::from_shape_simple_fn((2, 3, 5, 5), || rng.random_range(-1.0..1.0));
        layer.backward(x.view(), r.view());
        let once = (layer.weight_grad.clone(), layer.bias_grad.clone().unwrap());
        layer.backward(x.view(), r.view());
        assert!(layer.weight_grad.iter().zip(&once.0).all(|(g, o)| (g - 2.0 * o).abs() < 1e-12));
        assert!(layer.bias_grad.unwrap().iter().zip(&once.1).all(|(g, o)| (g - 2.0 * o).abs() < 1e-12));
    }
}
