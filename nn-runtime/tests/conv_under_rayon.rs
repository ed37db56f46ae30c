//! Convolutions called from inside a rayon `par_iter` while their matrix products are
//! split across threads: a worker that waits for its product's pieces runs other items
//! of the `par_iter` meanwhile, entering the convolution again on the same thread. Each
//! call must still get scratch of its own, and the numbers of a call made alone.

use nn_runtime::layers::conv2d::{Conv2d, Conv2dSpec};
use nn_runtime::ndarray::{Array4, ArrayView4};
use rand::{Rng, SeedableRng};
use rayon::prelude::*;

/// Output, weight gradient and input gradient of one image, the output as its own
/// gradient.
fn forward_backward(layer: &Conv2d<f32>, x: ArrayView4<f32>) -> [Array4<f32>; 3] {
    let y = layer.forward(x);
    let mut probe = layer.clone();
    probe.backward(x, y.view());
    let input_grad = probe.input_grad(y.view(), (x.dim().2, x.dim().3));
    [y, probe.weight_grad, input_grad]
}

#[test]
fn forward_and_backward_inside_par_iter_with_many_threads() {
    // 16 · 9 · 32 = 4608 rows by 1086 columns: 5M multiply-accumulates per product, enough
    // to be split across threads.
    let spec = Conv2dSpec::new(16, 32, (3, 3)).padding((1, 1));
    let mut rng = rand::rngs::StdRng::seed_from_u64(0);
    let layer = Conv2d::<f32>::init(spec, &mut rng).unwrap();
    // Small images between the large ones: threads that finish them early take pieces of
    // the large ones' products, and the threads waiting for those pieces take other images.
    let images: Vec<Array4<f32>> = (0..36)
        .map(|i| {
            let side = if i % 3 == 0 { 32 } else { 4 };
            Array4::from_shape_simple_fn((1, 16, side, side), || rng.random_range(-1.0..1.0))
        })
        .collect();
    let alone: Vec<_> = images.iter().map(|x| forward_backward(&layer, x.view())).collect();

    nn_runtime::gemm::set_num_threads(2);
    let pool = rayon::ThreadPoolBuilder::new().num_threads(8).build().unwrap();
    // Which thread takes which piece when is up to the scheduler: a few rounds make a
    // re-entry near certain (one round alone hit it in 2 of 3 runs before the fix).
    for round in 0..4 {
        let inside: Vec<_> = pool.install(|| images.par_iter().map(|x| forward_backward(&layer, x.view())).collect());
        for (i, (got, want)) in inside.iter().zip(&alone).enumerate() {
            for (what, (got, want)) in ["output", "weight gradient", "input gradient"].iter().zip(got.iter().zip(want))
            {
                assert_eq!(got, want, "round {round}, image {i}: the {what} inside par_iter");
            }
        }
    }
    nn_runtime::gemm::set_num_threads(1);
}
