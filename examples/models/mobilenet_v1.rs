//! An MLPerf Tiny reference model (mlcommons/tiny, `benchmark/training/*`), declared layer
//! for layer once, for the `mlperf_tiny` example, the PyTorch fixture tests and the firmware
//! reference.
//! `mobilenet_v1!` declares it under any name with any attributes (the firmware bakes its int8
//! copy with `#[weights = ..]`); `MobileNetV1` is that declaration.

/// Declares MobileNetV1 ×0.25 as the network `$name`, with `$attr`s (docs, `#[weights = ..]`)
/// before it, and checks its parameter count against its PyTorch port's
/// (`sum(p.numel() for p in model.parameters())`).
macro_rules! mobilenet_v1 {
    ($(#[$($attr:tt)*])* $name:ident) => {
        nn::network! {
            $(#[$($attr)*])*
            pub struct $name {
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
        const _: () = assert!($name::<f32>::NUM_PARAMS == 216_322);
    };
}

mobilenet_v1! {
    /// MobileNetV1 ×0.25 visual wake words: a 96×96 RGB image, person or not.
    MobileNetV1
}
