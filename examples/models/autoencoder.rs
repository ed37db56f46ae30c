//! An MLPerf Tiny reference model (mlcommons/tiny, `benchmark/training/*`), declared layer
//! for layer once, for the `mlperf_tiny` example, the PyTorch fixture tests and the firmware
//! reference.
//! `autoencoder!` declares it under any name with any attributes (the firmware bakes its int8
//! copy with `#[weights = ..]`); `AutoEncoder` is that declaration.

/// Declares the FC autoencoder as the network `$name`, with `$attr`s (docs, `#[weights = ..]`)
/// before it, and checks its parameter count against its PyTorch port's
/// (`sum(p.numel() for p in model.parameters())`).
macro_rules! autoencoder {
    ($(#[$($attr:tt)*])* $name:ident) => {
        nn::network! {
            $(#[$($attr)*])*
            pub struct $name {
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
        const _: () = assert!($name::<f32>::NUM_PARAMS == 267_928);
    };
}

autoencoder! {
    /// The FC autoencoder for anomaly detection: 5 frames × 128 mel bins in, the same out.
    AutoEncoder
}
