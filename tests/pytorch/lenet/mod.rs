//! PyTorch → nn for convolutions: the LeNet-5 state_dict `make_fixture.py`
//! saved loads strictly into the same declaration, and `forward` and the frozen `infer`
//! give PyTorch's logits on the script's four images.
//!
//! Within 1e-6 of logits of order 0.1: the convolutions sum 25 or 150 products and the
//! Linear layers up to 400, in orders that differ from PyTorch's. Measured: at most 1.5e-8
//! from `forward`, 3.0e-8 from `infer`. The four images' logits differ from each other by
//! up to 6.8e-3, so a mix-up of images would not pass.

use nn::ndarray::{Array2, Ix2, Ix4};
use nn::prelude::*;

use crate::fixture::{assert_close, path, Tensors};

network! {
    /// `lenet()` in make_fixture.py: keys `0.weight`, `3.weight`, `7.weight`, `9.weight`,
    /// `11.weight` and their biases, as PyTorch numbers the `nn.Sequential`.
    #[derive(Debug)]
    pub struct LeNet {
        input: [1, 28, 28],
        Conv2d(1, 6, 5, padding = 2) -> ReLU -> MaxPool2d(2)
            -> Conv2d(6, 16, 5) -> ReLU -> MaxPool2d(2)
            -> Flatten -> Linear(400, 120) -> ReLU -> Linear(120, 84) -> ReLU -> Linear(84, 10)
    }
}

const CASE: &str = "lenet";
/// How far nn's logits may be from PyTorch's.
const TOLERANCE: f32 = 1e-6;

#[test]
fn lenet_saved_by_pytorch_loads_and_gives_pytorch_logits() {
    let model = LeNet::<f32>::load(path(CASE, "model.safetensors")).unwrap();
    let io = Tensors::read(CASE, "io.safetensors");
    let (x, want) = (io.floats_of::<Ix4>("input"), io.floats_of::<Ix2>("logits"));
    assert_close(model.forward(x.view()).view(), want.view(), TOLERANCE, "forward");

    let frozen = model.freeze();
    let logits: Vec<f32> = x
        .outer_iter()
        .flat_map(|image| {
            let image: [[[f32; 28]; 28]; 1] =
                std::array::from_fn(|c| std::array::from_fn(|h| std::array::from_fn(|w| image[[c, h, w]])));
            frozen.infer(&image)
        })
        .collect();
    let logits = Array2::from_shape_vec(want.raw_dim(), logits).unwrap();
    assert_close(logits.view(), want.view(), TOLERANCE, "infer");
}
