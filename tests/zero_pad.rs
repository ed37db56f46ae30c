//! `ZeroPad2d` inside a network: the generated backward through it against central
//! finite differences in f64, and the frozen copy against `forward`.

use nn::ndarray::{Array, Array2, Array4, Dimension};
use nn::prelude::*;
use nn::rand::rngs::StdRng;
use nn::rand::{Rng, SeedableRng};

mod common;
use common::check_gradients;

network! {
    /// Asymmetric padding before a convolution, and as the first layer.
    pub struct Padded {
        input: [2, 3, 4],
        ZeroPad2d(1, 2, 0, 1) -> Conv2d(2, 3, 3) -> Tanh -> ZeroPad2d(0, 0, 1, 1) -> Flatten -> Linear(_, 2)
    }
}

fn random<D: Dimension>(shape: impl nn::ndarray::ShapeBuilder<Dim = D>, rng: &mut StdRng) -> Array<f64, D> {
    Array::from_shape_simple_fn(shape, || rng.random_range(-1.0..1.0))
}

#[test]
fn pads_in_pytorch_order() {
    // Padded to [2, 4, 7]; the 3×3 convolution gives [3, 2, 5]; padded again [3, 4, 5],
    // so the Linear takes 60: 3·2·9 + 3 convolution and 60·2 + 2 linear parameters.
    assert_eq!(Padded::<f64>::NUM_PARAMS, 57 + 122);
    let x = Array4::from_shape_fn((1, 2, 3, 4), |(_, c, h, w)| (1 + c * 12 + h * 4 + w) as f64);
    let padded =
        nn::layers::zero_pad::forward(x.view(), nn::layers::zero_pad::Padding { left: 1, right: 2, top: 0, bottom: 1 });
    assert_eq!(padded.dim(), (1, 2, 4, 7));
    assert_eq!(padded.slice(nn::ndarray::s![0, 0, 0, ..]).to_vec(), [0.0, 1.0, 2.0, 3.0, 4.0, 0.0, 0.0]);
    assert!(padded.slice(nn::ndarray::s![0, .., 3, ..]).iter().all(|&v| v == 0.0));
}

#[test]
fn backward_matches_finite_differences() {
    let mut rng = StdRng::seed_from_u64(3);
    let x: Array4<f64> = random((2, 2, 3, 4), &mut rng);
    let r: Array2<f64> = random((2, 2), &mut rng);
    check_gradients(Padded::<f64>::init(&mut rng), x, r);
}

#[test]
fn frozen_equals_forward() {
    let mut rng = StdRng::seed_from_u64(4);
    let model = Padded::<f64>::init(&mut rng);
    let frozen = model.freeze();
    let x: Array4<f64> = random((3, 2, 3, 4), &mut rng);
    for (n, want) in model.forward(x.view()).rows().into_iter().enumerate() {
        let sample: [[[f64; 4]; 3]; 2] =
            std::array::from_fn(|c| std::array::from_fn(|h| std::array::from_fn(|w| x[[n, c, h, w]])));
        for (got, want) in frozen.infer(&sample).iter().zip(want) {
            assert!((got - want).abs() < 1e-12, "frozen {got} vs forward {want}");
        }
    }
}
