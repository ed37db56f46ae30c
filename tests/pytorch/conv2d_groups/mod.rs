//! PyTorch → nn for grouped, depthwise and non-square convolutions: nn's `Conv2d` with
//! the weights `make_fixture.py` saved gives PyTorch's output and PyTorch's gradients of
//! the weight, the bias and the input, and the frozen kernel PyTorch's output.
//!
//! The fixtures hold float64 results rounded to float32, and nn computes in f64 from the
//! same float32 weights and inputs, so they agree to float32 rounding of values up to
//! order 10: within 4e-6 (a wrong channel, group or tap is off by order 1). Measured: at
//! most 9.5e-7, on the weight gradient of `ds_cnn_first` (each a sum over 250 outputs per
//! image); the outputs are equal to the bit.

use nn::layers::{Conv2d, Conv2dSpec};
use nn::ndarray::{Array4, Ix1, Ix4};

use crate::fixture::{assert_close, Tensors};

const CASE: &str = "conv2d_groups";
/// How far nn's values may be from PyTorch's, in f32.
const TOLERANCE: f32 = 4e-6;

/// `CASES` of make_fixture.py: each file's layer.
const CASES: [(&str, Conv2dSpec); 5] = [
    ("grouped", Conv2dSpec::new(4, 6, (3, 3)).padding((1, 1)).groups(2)),
    ("grouped_non_square", Conv2dSpec::new(6, 3, (2, 3)).stride((2, 1)).padding((0, 1)).groups(3).bias(false)),
    ("depthwise", Conv2dSpec::new(4, 4, (3, 3)).stride((2, 2)).padding((1, 1)).groups(4)),
    ("depthwise_multiplier", Conv2dSpec::new(3, 6, (3, 3)).padding((1, 1)).groups(3).bias(false)),
    ("ds_cnn_first", Conv2dSpec::new(1, 8, (10, 4)).stride((2, 2)).padding((5, 1))),
];

fn to_f64(a: &Array4<f32>) -> Array4<f64> {
    a.mapv(f64::from)
}

fn to_f32(a: &Array4<f64>) -> Array4<f32> {
    a.mapv(|v| v as f32)
}

#[test]
fn grouped_depthwise_and_non_square_give_pytorchs_outputs_and_gradients() {
    for (file, spec) in CASES {
        let t = Tensors::read(CASE, &format!("{file}.safetensors"));
        let bias = spec.bias;
        let weight = t.floats_of::<Ix4>("weight");
        let b = bias.then(|| t.floats_of::<Ix1>("bias").mapv(f64::from));
        let mut layer = Conv2d::from_parts(spec, to_f64(&weight), b).unwrap();
        let (x, r) = (t.floats_of::<Ix4>("input"), t.floats_of::<Ix4>("grad_output"));
        let (x64, r64) = (to_f64(&x), to_f64(&r));

        let y = layer.forward(x64.view());
        assert_close(to_f32(&y).view(), t.floats_of::<Ix4>("output").view(), TOLERANCE, &format!("{file}: output"));
        layer.backward(x64.view(), r64.view());
        let input_grad = layer.input_grad(r64.view(), (x.dim().2, x.dim().3));
        let want = t.floats_of::<Ix4>("weight_grad");
        assert_close(to_f32(&layer.weight_grad).view(), want.view(), TOLERANCE, &format!("{file}: weight_grad"));
        let want = t.floats_of::<Ix4>("input_grad");
        assert_close(to_f32(&input_grad).view(), want.view(), TOLERANCE, &format!("{file}: input_grad"));
        if bias {
            let got = layer.bias_grad.as_ref().unwrap().mapv(|v| v as f32);
            assert_close(got.view(), t.floats_of::<Ix1>("bias_grad").view(), TOLERANCE, &format!("{file}: bias_grad"));
        }
        if file == "depthwise" {
            frozen_depthwise_gives_pytorchs_output(&t, &weight, bias.then(|| t.floats_of::<Ix1>("bias")));
        }
    }
}

/// The frozen kernel on the depthwise case, `[4, 9, 8]` → `[4, 5, 4]`, in f32.
fn frozen_depthwise_gives_pytorchs_output(t: &Tensors, weight: &Array4<f32>, bias: Option<nn::ndarray::Array1<f32>>) {
    let kernels: [[[[f32; 3]; 3]; 1]; 4] =
        std::array::from_fn(|o| [std::array::from_fn(|i| std::array::from_fn(|j| weight[[o, 0, i, j]]))]);
    let bias: Option<[f32; 4]> = bias.map(|b| std::array::from_fn(|o| b[o]));
    let (x, want) = (t.floats_of::<Ix4>("input"), t.floats_of::<Ix4>("output"));
    for n in 0..2 {
        let image: [[[f32; 8]; 9]; 4] =
            std::array::from_fn(|c| std::array::from_fn(|i| std::array::from_fn(|j| x[[n, c, i, j]])));
        let mut y = [[[0.0f32; 4]; 5]; 4];
        nn::frozen::conv2d_into(&kernels, bias.as_ref(), &image, &mut y, (2, 2), (1, 1));
        let got = Array4::from_shape_fn((1, 4, 5, 4), |(_, c, i, j)| y[c][i][j]);
        let want = want.slice(nn::ndarray::s![n..n + 1, .., .., ..]);
        assert_close(got.view(), want, 1e-5, "depthwise: frozen output");
    }
}
