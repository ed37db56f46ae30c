//! The models and test digits the firmware runs: `network!` declarations (f32 and int8)
//! whose weights the compiler reads, shape-checks and bakes into flash, and eight MNIST
//! test digits. `no_std`, no allocator: it builds for any Cortex-M (`thumbv7em-none-eabihf`,
//! `thumbv6m-none-eabi`) and for the host.
#![no_std]
#![deny(missing_docs)]

use nn::network;

pub mod int8_case;
pub mod tiny_inputs;

// The MLPerf Tiny models, declared once for the host and the firmware: each file's macro
// declares its model here with the int8 weights baked (its own f32 declaration goes unused).
#[macro_use]
#[allow(dead_code)]
#[path = "../../models/autoencoder.rs"]
mod autoencoder;
#[macro_use]
#[allow(dead_code)]
#[path = "../../models/ds_cnn.rs"]
mod ds_cnn;
#[macro_use]
#[allow(dead_code)]
#[path = "../../models/mobilenet_v1.rs"]
mod mobilenet_v1;
#[macro_use]
#[allow(dead_code)]
#[path = "../../models/resnet8.rs"]
mod resnet8;

network! {
    /// The seed MNIST classifier, trained by nn's `mnist` example: 203,530 weights.
    #[weights = "models/mnist.safetensors"]
    pub struct Mnist {
        Linear(784, 256) -> ReLU -> Linear(256, 10)
    }
}

network! {
    /// A model for small parts: 16 inputs (a 4×4 [thumbnail](THUMBNAILS) of a digit), 4
    /// outputs. Untrained (PyTorch's default init from a fixed seed, `make_fixtures.py`): it
    /// shows what a 16-32-4 model costs in flash and time, and its outputs are checked bit
    /// for bit against the host's, not for accuracy.
    #[weights = "models/small.safetensors"]
    pub struct Small {
        Linear(16, 32) -> ReLU -> Linear(32, 4)
    }
}

network! {
    /// The seed MNIST classifier in int8, quantised by nn's `quantize` example (calibrated
    /// on training digits): `Mnist8::INT8`, 203,530 int8 weights in flash.
    #[weights = "models/mnist-int8.safetensors"]
    pub struct Mnist8 {
        Linear(784, 256) -> ReLU -> Linear(256, 10)
    }
}

network! {
    /// The small model in int8 (`Small8::INT8`), quantised by `firmware_reference
    /// --make-small-int8`, calibrated on the eight [thumbnails](THUMBNAILS).
    #[weights = "models/small-int8.safetensors"]
    pub struct Small8 {
        Linear(16, 32) -> ReLU -> Linear(32, 4)
    }
}

ds_cnn! {
    /// The MLPerf Tiny DS-CNN keyword spotter in int8 (`Kws8::INT8`): the PyTorch
    /// fixture's weights, quantised by `firmware_reference --make-tiny-int8`, calibrated on
    /// a synthetic fixed-seed batch.
    #[weights = "models/ds-cnn-int8.safetensors"]
    Kws8
}

mobilenet_v1! {
    /// The MLPerf Tiny MobileNetV1 ×0.25 wake-word detector in int8 (`Vww8::INT8`): a
    /// fixed-seed `init`, quantised by `firmware_reference --make-tiny-int8`, calibrated on
    /// a synthetic fixed-seed batch.
    #[weights = "models/vww-int8.safetensors"]
    Vww8
}

resnet8! {
    /// The MLPerf Tiny ResNet-8 image classifier in int8 (`Ic8::INT8`): the PyTorch
    /// fixture's weights, quantised by `firmware_reference --make-tiny-int8`, calibrated on
    /// a synthetic fixed-seed batch.
    #[weights = "models/ic-int8.safetensors"]
    Ic8
}

autoencoder! {
    /// The MLPerf Tiny FC autoencoder in int8 (`Ae8::INT8`): a fixed-seed `init`, quantised
    /// by `firmware_reference --make-tiny-int8`, calibrated on a synthetic fixed-seed batch.
    #[weights = "models/ae-int8.safetensors"]
    Ae8
}

/// Pixels in one 28×28 MNIST image.
pub const PIXELS: usize = 784;

/// How many test digits the firmware carries.
pub const DIGITS: usize = 8;

/// One test digit as the IDX file stores it.
pub struct Digit {
    /// The digit it shows, 0 to 9.
    pub label: u8,
    /// Row-major 28×28 grey levels, 0 (background) to 255.
    pub pixels: [u8; PIXELS],
}

/// The first eight images of `data/mnist-10k`'s test set (`digits.bin`, written by
/// `make_fixtures.py`: per digit, its label byte and then its 784 pixel bytes).
pub static TEST_DIGITS: [Digit; DIGITS] = DIGITS_DATA;

/// The label of each test digit, apart from its pixels (so that a firmware that only
/// needs thumbnails does not carry the images).
pub const LABELS: [u8; DIGITS] = {
    let mut labels = [0; DIGITS];
    let mut d = 0;
    while d < DIGITS {
        labels[d] = DIGITS_DATA[d].label;
        d += 1;
    }
    labels
};

/// The input of [`Small`] for each test digit: the mean grey level of each 7×7 block of
/// the image, row by row, in `[0, 1]` (an exact integer sum, then one `f32` division),
/// computed by the compiler.
pub static THUMBNAILS: [[f32; 16]; DIGITS] = {
    let mut thumbnails = [[0.0; 16]; DIGITS];
    let mut d = 0;
    while d < DIGITS {
        let mut block = 0;
        while block < 16 {
            let (top, left) = (block / 4 * 7, block % 4 * 7);
            let mut sum = 0u32;
            let mut i = 0;
            while i < 49 {
                sum += DIGITS_DATA[d].pixels[(top + i / 7) * 28 + left + i % 7] as u32;
                i += 1;
            }
            thumbnails[d][block] = sum as f32 / (49.0 * 255.0);
            block += 1;
        }
        d += 1;
    }
    thumbnails
};

const DIGITS_DATA: [Digit; DIGITS] = {
    let bytes: &[u8; DIGITS * (1 + PIXELS)] = include_bytes!("../digits.bin");
    let mut digits = [const { Digit { label: 0, pixels: [0; PIXELS] } }; DIGITS];
    let mut d = 0;
    while d < DIGITS {
        let start = d * (1 + PIXELS);
        digits[d].label = bytes[start];
        let mut p = 0;
        while p < PIXELS {
            digits[d].pixels[p] = bytes[start + 1 + p];
            p += 1;
        }
        d += 1;
    }
    digits
};

impl Digit {
    /// The input of [`Mnist`]: every pixel divided by 255 in `f32`, as nn's MNIST loader
    /// (and torchvision's `ToTensor`) scale it.
    pub fn mnist_input(&self) -> [f32; PIXELS] {
        self.pixels.map(|p| f32::from(p) / 255.0)
    }
}

/// The index of the largest logit (the first one on a tie).
pub fn argmax(logits: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in logits.iter().enumerate() {
        if v > logits[best] {
            best = i;
        }
    }
    best
}
