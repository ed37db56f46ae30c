//! An MLPerf Tiny reference model (mlcommons/tiny, `benchmark/training/*`), declared layer
//! for layer once, for the `mlperf_tiny` example, the PyTorch fixture tests and the firmware
//! reference; its PyTorch port is `ds_cnn()` in tests/pytorch/mlperf_tiny/make_fixture.py.
//! `ds_cnn!` declares it under any name with any attributes (the firmware bakes its int8
//! copy with `#[weights = ..]`); `DsCnn` is that declaration.

/// Declares the DS-CNN keyword spotter as the network `$name`, with `$attr`s (docs, `#[weights = ..]`)
/// before it, and checks its parameter count against its PyTorch port's
/// (`sum(p.numel() for p in model.parameters())`).
macro_rules! ds_cnn {
    ($(#[$($attr:tt)*])* $name:ident) => {
        nn::network! {
            $(#[$($attr)*])*
            pub struct $name {
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
        const _: () = assert!($name::<f32>::NUM_PARAMS == 23_756);
    };
}

ds_cnn! {
    /// DS-CNN keyword spotter: 49 MFCC frames × 10 coefficients, 12 classes.
    DsCnn
}
