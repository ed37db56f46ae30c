//! Weights baked at compile time (`#[weights = "..."]`): the compiler's copy
//! in `Name::FROZEN` equals, bit for bit, what loading the same file and freezing it gives
//! at run time, for dense, named, convolutional and the firmware's seed networks; and the
//! associated constants a firmware asserts on are right.

use nn::prelude::*;

network! {
    /// The firmware's seed MNIST model (`examples/firmware/`).
    #[weights = "examples/firmware/models/mnist.safetensors"]
    pub struct Mnist {
        Linear(784, 256) -> ReLU -> Linear(256, 10)
    }
}

network! {
    /// Named layers: keys `fc1.weight`, `fc2.bias`, ... (a file PyTorch saved).
    #[weights = "tests/pytorch/linear/named.safetensors"]
    pub struct Named { fc1: Linear(4, 8) -> act: GELU -> fc2: Linear(8, 3) }
}

network! {
    /// LeNet-5 as PyTorch saved it: convolution weights go in as they are stored.
    #[weights = "tests/pytorch/lenet/model.safetensors"]
    pub struct LeNet {
        input: [1, 28, 28],
        Conv2d(1, 6, 5, padding = 2) -> ReLU -> MaxPool2d(2)
            -> Conv2d(6, 16, 5) -> ReLU -> MaxPool2d(2)
            -> Flatten -> Linear(400, 120) -> ReLU -> Linear(120, 84) -> ReLU -> Linear(84, 10)
    }
}

network! {
    /// PyTorch's Linear + BatchNorm1d after three training steps: the baked copy holds
    /// the folded Linear, computed at compile time.
    #[weights = "tests/pytorch/batch_norm/dense_after_3_steps.safetensors"]
    pub struct DenseBatchNorm { Linear(6, 8) -> BatchNorm1d(8) -> ReLU -> Linear(8, 3) }
}

// Its macro declares the model here with the fixture's weights baked; its own f32
// declaration goes unused.
#[macro_use]
#[allow(dead_code)]
#[path = "../examples/models/ds_cnn.rs"]
mod ds_cnn;

ds_cnn! {
    /// The DS-CNN keyword spotter of the MLPerf Tiny fixtures: nine Conv2d + BatchNorm2d
    /// pairs, each folded when baked.
    #[weights = "tests/pytorch/mlperf_tiny/ds_cnn_weights.safetensors"]
    DsCnn
}

fn path(relative: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// Deterministic inputs in [-1, 1), different for each `seed`.
fn input<const N: usize>(seed: usize) -> [f32; N] {
    std::array::from_fn(|i| ((i * 7919 + seed * 104_729) % 2000) as f32 / 1000.0 - 1.0)
}

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

#[test]
fn baked_mnist_weights_equal_the_loaded_and_frozen_file() {
    let loaded = Mnist::<f32>::load(path("examples/firmware/models/mnist.safetensors")).unwrap().freeze();
    let baked = Mnist::FROZEN;
    assert_eq!(bits(baked.layer0_weight.as_flattened()), bits(loaded.layer0_weight.as_flattened()));
    assert_eq!(bits(&baked.layer0_bias), bits(&loaded.layer0_bias));
    assert_eq!(bits(baked.layer2_weight.as_flattened()), bits(loaded.layer2_weight.as_flattened()));
    assert_eq!(bits(&baked.layer2_bias), bits(&loaded.layer2_bias));
    for seed in 0..4 {
        let x = input::<784>(seed).map(|v| v.abs());
        assert_eq!(bits(&baked.infer(&x)), bits(&loaded.infer(&x)), "input {seed}");
    }
}

#[test]
fn baked_batch_norm_folds_equal_the_loaded_and_frozen_file() {
    let file = "tests/pytorch/batch_norm/dense_after_3_steps.safetensors";
    let loaded = DenseBatchNorm::<f32>::load(path(file)).unwrap().freeze();
    let baked = DenseBatchNorm::FROZEN;
    assert_eq!(bits(baked.layer0_weight.as_flattened()), bits(loaded.layer0_weight.as_flattened()));
    assert_eq!(bits(&baked.layer0_bias), bits(&loaded.layer0_bias));
    for seed in 0..4 {
        let x = input::<6>(seed);
        assert_eq!(bits(&baked.infer(&x)), bits(&loaded.infer(&x)), "input {seed}");
    }

    let loaded = DsCnn::<f32>::load(path("tests/pytorch/mlperf_tiny/ds_cnn_weights.safetensors")).unwrap().freeze();
    let baked = DsCnn::FROZEN;
    let flat = |w: &[[[[f32; 4]; 10]; 1]; 64]| bits(w.as_flattened().as_flattened().as_flattened());
    assert_eq!(flat(&baked.layer0_weight), flat(&loaded.layer0_weight));
    assert_eq!(bits(&baked.layer0_bias), bits(&loaded.layer0_bias));
    assert_eq!(bits(&baked.layer3_bias), bits(&loaded.layer3_bias));
    assert_eq!(bits(&baked.layer24_bias), bits(&loaded.layer24_bias));
    for seed in 0..2 {
        let x = input::<490>(seed);
        let image: [[[f32; 10]; 49]; 1] = [std::array::from_fn(|h| std::array::from_fn(|w| x[h * 10 + w]))];
        assert_eq!(bits(&baked.infer(&image)), bits(&loaded.infer(&image)), "image {seed}");
    }
}

#[test]
fn baked_named_network_equals_the_loaded_one() {
    let loaded = Named::<f32>::load(path("tests/pytorch/linear/named.safetensors")).unwrap().freeze();
    assert_eq!(bits(Named::FROZEN.fc1_weight.as_flattened()), bits(loaded.fc1_weight.as_flattened()));
    for seed in 0..4 {
        let x = input::<4>(seed);
        assert_eq!(bits(&Named::FROZEN.infer(&x)), bits(&loaded.infer(&x)), "input {seed}");
    }
}

#[test]
fn baked_convolutional_network_equals_the_loaded_one() {
    let loaded = LeNet::<f32>::load(path("tests/pytorch/lenet/model.safetensors")).unwrap().freeze();
    for seed in 0..2 {
        let pixels = input::<784>(seed);
        let image: [[[f32; 28]; 28]; 1] = [std::array::from_fn(|h| std::array::from_fn(|w| pixels[h * 28 + w]))];
        assert_eq!(bits(&LeNet::FROZEN.infer(&image)), bits(&loaded.infer(&image)), "image {seed}");
    }
}

#[test]
fn constants_describe_the_baked_model() {
    const _: () = assert!(Mnist::<f32>::NUM_PARAMS == 784 * 256 + 256 + 256 * 10 + 10);
    assert_eq!(Mnist::<f32>::FROZEN_BYTES, 4 * Mnist::<f32>::NUM_PARAMS);
    assert_eq!(std::mem::size_of_val(Mnist::FROZEN), Mnist::<f32>::FROZEN_BYTES);
    assert_eq!((Mnist::<f32>::INPUT, Mnist::<f32>::OUTPUT), (784, 10));
    assert_eq!(LeNet::<f32>::FROZEN_BYTES, 4 * LeNet::<f32>::NUM_PARAMS);
    assert!(std::ptr::eq(Mnist::FROZEN, Mnist::FROZEN), "one static, not a copy per use");
}
