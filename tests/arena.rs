//! The activation arena on the four MLPerf Tiny models: `infer_with` into a caller's
//! scratch gives `infer`'s bits, in f32 and in int8, and the int8 `SCRATCH_BYTES` the
//! plan needs stays within 1.2× of the most activation bytes live at once (the two ends
//! of a convolution, three in a residual stage), worked out here from the architectures.

use nn::ndarray::{Array2, Array4};
use nn::rand::{rngs::StdRng, Rng, SeedableRng};
use nn::Scratch;

#[path = "../examples/models/autoencoder.rs"]
mod autoencoder;
#[path = "../examples/models/ds_cnn.rs"]
mod ds_cnn;
#[path = "../examples/models/mobilenet_v1.rs"]
mod mobilenet_v1;
#[path = "../examples/models/resnet8.rs"]
mod resnet8;
use autoencoder::*;
use ds_cnn::*;
use mobilenet_v1::*;
use resnet8::*;

/// DS-CNN: the 10×4 stride-2 convolution gives [64, 25, 5], which every later
/// convolution reads and writes: two of them live.
const KWS_LIVE: usize = 2 * 64 * 25 * 5;
/// MobileNetV1: the first depthwise output [8, 48, 48] beside the pointwise
/// convolution's [16, 48, 48], the largest adjacent pair.
const VWW_LIVE: usize = 8 * 48 * 48 + 16 * 48 * 48;
/// ResNet-8: the first stage keeps its input [16, 32, 32] while its chain runs through
/// two more of that size.
const IC_LIVE: usize = 3 * 16 * 32 * 32;
/// The autoencoder: two 128-wide layers.
const AE_LIVE: usize = 2 * 128;

/// `plan` bytes within 1.2× of `live` bytes, and not below them (no plan can be).
fn assert_near_live(name: &str, plan: usize, live: usize) {
    assert!(live <= plan && 5 * plan <= 6 * live, "{name}: the arena takes {plan} bytes, {live} live at most");
}

/// One `[C, H, W]` sample, boxed: MobileNetV1's takes 110 KB.
type Image<const C: usize, const H: usize, const W: usize> = Box<[[[f32; W]; H]; C]>;

/// A random `[n, C, H, W]` batch and its samples as arrays.
fn images<const C: usize, const H: usize, const W: usize>(n: usize, seed: u64) -> (Array4<f32>, Vec<Image<C, H, W>>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let batch = Array4::from_shape_fn((n, C, H, W), |_| rng.random_range(-1.0f32..1.0));
    let samples = (0..n)
        .map(|i| {
            let flat: Vec<f32> = batch.index_axis(nn::ndarray::Axis(0), i).iter().copied().collect();
            let planes: Vec<[[f32; W]; H]> = flat.as_chunks::<W>().0.as_chunks::<H>().0.to_vec();
            planes.into_boxed_slice().try_into().expect("C planes")
        })
        .collect();
    (batch, samples)
}

/// For an image model `$net` and its int8 form: both arenas near the live bound, and
/// `infer_with` equal to `infer` on `n` random samples, in f32 and in int8.
macro_rules! image_model_in_a_scratch {
    ($name:literal, $net:ident, $int8:ident, $live:expr, [$c:literal, $h:literal, $w:literal], n = $n:literal, seed = $seed:literal) => {{
        assert_near_live(concat!($name, " int8"), $int8::SCRATCH_BYTES, $live);
        assert_near_live(concat!($name, " f32"), $net::<f32>::SCRATCH_BYTES, 4 * $live);
        let model = $net::<f32>::init(&mut StdRng::seed_from_u64($seed));
        let (batch, samples) = images::<$c, $h, $w>($n, $seed + 1);
        let frozen = model.freeze();
        let mut scratch = Scratch::<{ $net::<f32>::SCRATCH_BYTES }>::boxed();
        let q = model.quantize(batch.view()).unwrap();
        let mut q_scratch = Scratch::<{ $int8::SCRATCH_BYTES }>::boxed();
        for x in &samples {
            assert_eq!(frozen.infer_with(x, &mut scratch).map(f32::to_bits), frozen.infer(x).map(f32::to_bits));
            let qx = Box::new(q.quantize_input(x));
            assert_eq!(q.infer_with(&qx, &mut q_scratch), q.infer(&qx));
        }
    }};
}

#[test]
fn ds_cnn_in_a_scratch() {
    image_model_in_a_scratch!("DS-CNN", DsCnn, DsCnnInt8, KWS_LIVE, [1, 49, 10], n = 3, seed = 1);
}

#[test]
fn resnet8_in_a_scratch() {
    image_model_in_a_scratch!("ResNet-8", ResNet8, ResNet8Int8, IC_LIVE, [3, 32, 32], n = 3, seed = 3);
}

#[test]
fn mobilenet_v1_in_a_scratch() {
    image_model_in_a_scratch!("MobileNetV1", MobileNetV1, MobileNetV1Int8, VWW_LIVE, [3, 96, 96], n = 2, seed = 5);
}

/// MobileNetV1's f32 activations take 221 KB at the least: in a boxed scratch, a thread
/// with a 256 KB stack runs it (its `infer`, the arena on the stack, would not fit with
/// the sample beside it).
#[test]
fn mobilenet_v1_runs_on_a_small_stack_with_a_boxed_scratch() {
    let frozen = MobileNetV1::<f32>::init(&mut StdRng::seed_from_u64(7)).freeze();
    let (_, mut samples) = images::<3, 96, 96>(1, 8);
    let x = samples.pop().expect("one sample");
    let want = frozen.infer(&x);
    let got = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            let mut scratch = Scratch::<{ MobileNetV1::<f32>::SCRATCH_BYTES }>::boxed();
            frozen.infer_with(&x, &mut scratch)
        })
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(got.map(f32::to_bits), want.map(f32::to_bits));
}

#[test]
fn autoencoder_in_a_scratch() {
    assert_near_live("autoencoder int8", AutoEncoderInt8::SCRATCH_BYTES, AE_LIVE);
    assert_near_live("autoencoder f32", AutoEncoder::<f32>::SCRATCH_BYTES, 4 * AE_LIVE);
    let model = AutoEncoder::<f32>::init(&mut StdRng::seed_from_u64(9));
    let mut rng = StdRng::seed_from_u64(10);
    let batch = Array2::from_shape_fn((4, 640), |_| rng.random_range(-1.0f32..1.0));
    let frozen = model.freeze();
    let mut scratch = Scratch::<{ AutoEncoder::<f32>::SCRATCH_BYTES }>::new();
    let q = model.quantize(batch.view()).unwrap();
    let mut q_scratch = AutoEncoderInt8Scratch::new();
    for row in batch.rows() {
        let x: [f32; 640] = row.to_vec().try_into().unwrap();
        assert_eq!(frozen.infer_with(&x, &mut scratch).map(f32::to_bits), frozen.infer(&x).map(f32::to_bits));
        let qx = q.quantize_input(&x);
        assert_eq!(q.infer_with(&qx, &mut q_scratch), q.infer(&qx));
    }
}
