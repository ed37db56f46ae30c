//! Depthwise convolution: DS-CNN's depthwise layer (64 channels of 25×5, 3×3 kernels,
//! padding 1) at batch 32, in f32, 1 thread. `Conv2d` with `groups = 64` runs its direct
//! kernel; the reference is the same layer as 64 one-channel convolutions, each through
//! im2col and a matrix product with a single row (what a depthwise layer costs as "a GEMM
//! with one channel" per group). Forward, and backward (weight and bias gradients, then the
//! input gradient). After criterion's run it prints each direct case over its reference.

#[allow(dead_code, reason = "the GEMM floors of the shared module serve the other benches")]
mod common;

use std::hint::black_box;

use nn::gemm::set_num_threads;
use nn::layers::{Conv2d, Conv2dSpec};
use nn::ndarray::{concatenate, s, Array4, ArrayView4, Axis};
use nn::rand::rngs::StdRng;
use nn::rand::{Rng, SeedableRng};

const BATCH: usize = 32;
const CHANNELS: usize = 64;
const HW: (usize, usize) = (25, 5);

/// The depthwise layer as one-channel layers, channel `c` convolved by layer `c`.
struct PerChannel(Vec<Conv2d<f32>>);

impl PerChannel {
    fn new(depthwise: &Conv2d<f32>) -> Self {
        let spec = Conv2dSpec::new(1, 1, (3, 3)).padding((1, 1));
        let layers = (0..CHANNELS)
            .map(|c| {
                let weight = depthwise.weight.slice(s![c..c + 1, .., .., ..]).to_owned();
                let bias = depthwise.bias.as_ref().map(|b| b.slice(s![c..c + 1]).to_owned());
                Conv2d::from_parts(spec, weight, bias).expect("a one-channel layer")
            })
            .collect();
        PerChannel(layers)
    }

    fn forward(&self, x: ArrayView4<f32>) -> Array4<f32> {
        let outputs: Vec<Array4<f32>> =
            self.0.iter().enumerate().map(|(c, layer)| layer.forward(x.slice(s![.., c..c + 1, .., ..]))).collect();
        let views: Vec<_> = outputs.iter().map(|y| y.view()).collect();
        concatenate(Axis(1), &views).expect("one channel each")
    }

    fn backward(&mut self, x: ArrayView4<f32>, g: ArrayView4<f32>) -> Array4<f32> {
        let grads: Vec<Array4<f32>> = self
            .0
            .iter_mut()
            .enumerate()
            .map(|(c, layer)| {
                let (x, g) = (x.slice(s![.., c..c + 1, .., ..]), g.slice(s![.., c..c + 1, .., ..]));
                layer.backward(x, g);
                layer.input_grad(g, HW)
            })
            .collect();
        let views: Vec<_> = grads.iter().map(|d| d.view()).collect();
        concatenate(Axis(1), &views).expect("one channel each")
    }
}

/// Panics unless the two agree to float rounding (the cases compute the same thing).
fn assert_close(what: &str, a: &Array4<f32>, b: &Array4<f32>) {
    let close = a.iter().zip(b).all(|(a, b)| (a - b).abs() <= 1e-4 * (1.0 + b.abs()));
    assert!(close && a.dim() == b.dim(), "{what}: the direct kernel and the reference differ");
}

fn main() {
    set_num_threads(1);
    let mut criterion = common::criterion();
    let mut rng = StdRng::seed_from_u64(0);
    let spec = Conv2dSpec::new(CHANNELS, CHANNELS, (3, 3)).padding((1, 1)).groups(CHANNELS);
    let depthwise = Conv2d::<f32>::init(spec, &mut rng).expect("a depthwise layer");
    let per_channel = PerChannel::new(&depthwise);
    let x = Array4::from_shape_simple_fn((BATCH, CHANNELS, HW.0, HW.1), || rng.random_range(-1.0..1.0));
    let g = Array4::from_shape_simple_fn(x.raw_dim(), || rng.random_range(-1.0..1.0));

    assert_close("forward", &depthwise.forward(x.view()), &per_channel.forward(x.view()));
    let (mut direct, mut reference) = (depthwise.clone(), PerChannel::new(&depthwise));
    direct.backward(x.view(), g.view());
    let input_grad = direct.input_grad(g.view(), HW);
    assert_close("input gradient", &input_grad, &reference.backward(x.view(), g.view()));
    let weight_grads: Vec<_> = reference.0.iter().map(|l| l.weight_grad.view()).collect();
    assert_close("weight gradient", &direct.weight_grad, &concatenate(Axis(0), &weight_grads).expect("one each"));

    let (x, g) = (&x, &g);
    let mut suite = common::Suite::new("depthwise");
    let layer = &depthwise;
    suite.case("forward_direct", move || {
        black_box(layer.forward(black_box(x.view())));
    });
    let reference = &per_channel;
    suite.case("forward_per_channel_gemm", move || {
        black_box(reference.forward(black_box(x.view())));
    });
    let mut direct = depthwise.clone();
    suite.case("backward_direct", move || {
        direct.backward(black_box(x.view()), black_box(g.view()));
        black_box(direct.input_grad(g.view(), HW));
    });
    let mut reference = PerChannel::new(&depthwise);
    suite.case("backward_per_channel_gemm", move || {
        black_box(reference.backward(black_box(x.view()), black_box(g.view())));
    });
    suite.run(&mut criterion);

    criterion.final_summary();
    suite.print_table(
        "Depthwise 64x25x5, 3x3, batch 32: the direct kernel over one-channel im2col + GEMM",
        &[("forward_direct", "forward_per_channel_gemm"), ("backward_direct", "backward_per_channel_gemm")],
    );
}
