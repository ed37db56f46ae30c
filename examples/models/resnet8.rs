//! An MLPerf Tiny reference model (mlcommons/tiny, `benchmark/training/*`), declared layer
//! for layer once, for the `mlperf_tiny` example, the PyTorch fixture tests and the firmware
//! reference; its PyTorch port is `resnet8()` in tests/pytorch/mlperf_tiny/make_fixture.py.
//! `resnet8!` declares it under any name with any attributes (the firmware bakes its int8
//! copy with `#[weights = ..]`); `ResNet8` is that declaration.

/// Declares ResNet-8 as the network `$name`, with `$attr`s (docs, `#[weights = ..]`)
/// before it, and checks its parameter count against its PyTorch port's
/// (`sum(p.numel() for p in model.parameters())`).
macro_rules! resnet8 {
    ($(#[$($attr:tt)*])* $name:ident) => {
        nn::network! {
            $(#[$($attr)*])*
            pub struct $name {
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
        const _: () = assert!($name::<f32>::NUM_PARAMS == 78_186);
    };
}

resnet8! {
    /// ResNet-8 on CIFAR-10: a 32×32 RGB image, 10 classes.
    ResNet8
}
