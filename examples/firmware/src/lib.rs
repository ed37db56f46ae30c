//! The models and test digits the firmware runs: `network!` declarations (f32 and int8)
//! whose weights the compiler reads, shape-checks and bakes into flash, and eight MNIST
//! test digits. `no_std`, no allocator: it builds for any Cortex-M (`thumbv7em-none-eabihf`,
//! `thumbv6m-none-eabi`) and for the host.
#![no_std]
#![deny(missing_docs)]

use nn::network;

pub mod int8_case;
pub mod tiny_inputs;

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

network! {
    /// The MLPerf Tiny DS-CNN keyword spotter in int8 (`Kws8::INT8`): the PyTorch
    /// fixture's weights, quantised by `firmware_reference --make-tiny-int8`, calibrated on
    /// a synthetic fixed-seed batch.
    #[weights = "models/ds-cnn-int8.safetensors"]
    pub struct Kws8 {
        input: [1, 49, 10],
        Conv2d(1, 64, (10, 4), stride = 2, padding = (5, 1)) -> BatchNorm2d(64) -> ReLU
            -> Conv2d(64, 64, 3, padding = 1, groups = 64) -> BatchNorm2d(64) -> ReLU
            -> Conv2d(64, 64, 1) -> BatchNorm2d(64) -> ReLU
            -> Conv2d(64, 64, 3, padding = 1, groups = 64) -> BatchNorm2d(64) -> ReLU
            -> Conv2d(64, 64, 1) -> BatchNorm2d(64) -> ReLU
            -> Conv2d(64, 64, 3, padding = 1, groups = 64) -> BatchNorm2d(64) -> ReLU
            -> Conv2d(64, 64, 1) -> BatchNorm2d(64) -> ReLU
            -> Conv2d(64, 64, 3, padding = 1, groups = 64) -> BatchNorm2d(64) -> ReLU
            -> Conv2d(64, 64, 1) -> BatchNorm2d(64) -> ReLU
            -> AdaptiveAvgPool2d(1) -> Flatten -> Linear(64, 12)
    }
}

network! {
    /// The MLPerf Tiny MobileNetV1 ×0.25 wake-word detector in int8 (`Vww8::INT8`): a
    /// fixed-seed `init`, quantised by `firmware_reference --make-tiny-int8`, calibrated on
    /// a synthetic fixed-seed batch.
    #[weights = "models/vww-int8.safetensors"]
    pub struct Vww8 {
        input: [3, 96, 96],
        Conv2d(3, 8, 3, stride = 2, padding = 1) -> BatchNorm2d(8) -> ReLU
            -> Conv2d(8, 8, 3, padding = 1, groups = 8) -> BatchNorm2d(8) -> ReLU
            -> Conv2d(8, 16, 1) -> BatchNorm2d(16) -> ReLU
            -> Conv2d(16, 16, 3, stride = 2, padding = 1, groups = 16) -> BatchNorm2d(16) -> ReLU
            -> Conv2d(16, 32, 1) -> BatchNorm2d(32) -> ReLU
            -> Conv2d(32, 32, 3, padding = 1, groups = 32) -> BatchNorm2d(32) -> ReLU
            -> Conv2d(32, 32, 1) -> BatchNorm2d(32) -> ReLU
            -> Conv2d(32, 32, 3, stride = 2, padding = 1, groups = 32) -> BatchNorm2d(32) -> ReLU
            -> Conv2d(32, 64, 1) -> BatchNorm2d(64) -> ReLU
            -> Conv2d(64, 64, 3, padding = 1, groups = 64) -> BatchNorm2d(64) -> ReLU
            -> Conv2d(64, 64, 1) -> BatchNorm2d(64) -> ReLU
            -> Conv2d(64, 64, 3, stride = 2, padding = 1, groups = 64) -> BatchNorm2d(64) -> ReLU
            -> Conv2d(64, 128, 1) -> BatchNorm2d(128) -> ReLU
            -> Conv2d(128, 128, 3, padding = 1, groups = 128) -> BatchNorm2d(128) -> ReLU
            -> Conv2d(128, 128, 1) -> BatchNorm2d(128) -> ReLU
            -> Conv2d(128, 128, 3, padding = 1, groups = 128) -> BatchNorm2d(128) -> ReLU
            -> Conv2d(128, 128, 1) -> BatchNorm2d(128) -> ReLU
            -> Conv2d(128, 128, 3, padding = 1, groups = 128) -> BatchNorm2d(128) -> ReLU
            -> Conv2d(128, 128, 1) -> BatchNorm2d(128) -> ReLU
            -> Conv2d(128, 128, 3, padding = 1, groups = 128) -> BatchNorm2d(128) -> ReLU
            -> Conv2d(128, 128, 1) -> BatchNorm2d(128) -> ReLU
            -> Conv2d(128, 128, 3, padding = 1, groups = 128) -> BatchNorm2d(128) -> ReLU
            -> Conv2d(128, 128, 1) -> BatchNorm2d(128) -> ReLU
            -> Conv2d(128, 128, 3, stride = 2, padding = 1, groups = 128) -> BatchNorm2d(128) -> ReLU
            -> Conv2d(128, 256, 1) -> BatchNorm2d(256) -> ReLU
            -> Conv2d(256, 256, 3, padding = 1, groups = 256) -> BatchNorm2d(256) -> ReLU
            -> Conv2d(256, 256, 1) -> BatchNorm2d(256) -> ReLU
            -> AdaptiveAvgPool2d(1) -> Flatten -> Linear(256, 2)
    }
}

network! {
    /// The MLPerf Tiny ResNet-8 image classifier in int8 (`Ic8::INT8`): the PyTorch
    /// fixture's weights, quantised by `firmware_reference --make-tiny-int8`, calibrated on
    /// a synthetic fixed-seed batch.
    #[weights = "models/ic-int8.safetensors"]
    pub struct Ic8 {
        input: [3, 32, 32],
        Conv2d(3, 16, 3, padding = 1) -> BatchNorm2d(16) -> ReLU
            -> Residual(
                Conv2d(16, 16, 3, padding = 1) -> BatchNorm2d(16) -> ReLU
                    -> Conv2d(16, 16, 3, padding = 1) -> BatchNorm2d(16)
            )
            -> ReLU
            -> Residual(
                Conv2d(16, 32, 3, stride = 2, padding = 1) -> BatchNorm2d(32) -> ReLU
                    -> Conv2d(32, 32, 3, padding = 1) -> BatchNorm2d(32),
                shortcut = Conv2d(16, 32, 1, stride = 2)
            )
            -> ReLU
            -> Residual(
                Conv2d(32, 64, 3, stride = 2, padding = 1) -> BatchNorm2d(64) -> ReLU
                    -> Conv2d(64, 64, 3, padding = 1) -> BatchNorm2d(64),
                shortcut = Conv2d(32, 64, 1, stride = 2)
            )
            -> ReLU
            -> AdaptiveAvgPool2d(1) -> Flatten -> Linear(64, 10)
    }
}

network! {
    /// The MLPerf Tiny FC autoencoder in int8 (`Ae8::INT8`): a fixed-seed `init`, quantised
    /// by `firmware_reference --make-tiny-int8`, calibrated on a synthetic fixed-seed batch.
    #[weights = "models/ae-int8.safetensors"]
    pub struct Ae8 {
        Linear(640, 128) -> BatchNorm1d(128) -> ReLU
            -> Linear(128, 128) -> BatchNorm1d(128) -> ReLU
            -> Linear(128, 128) -> BatchNorm1d(128) -> ReLU
            -> Linear(128, 128) -> BatchNorm1d(128) -> ReLU
            -> Linear(128, 8) -> BatchNorm1d(8) -> ReLU
            -> Linear(8, 128) -> BatchNorm1d(128) -> ReLU
            -> Linear(128, 128) -> BatchNorm1d(128) -> ReLU
            -> Linear(128, 128) -> BatchNorm1d(128) -> ReLU
            -> Linear(128, 128) -> BatchNorm1d(128) -> ReLU
            -> Linear(128, 640)
    }
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
