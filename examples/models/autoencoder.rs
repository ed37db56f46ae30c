//! An MLPerf Tiny reference model (mlcommons/tiny, `benchmark/training/*`), declared layer
//! for layer once, for the `mlperf_tiny` example, the PyTorch fixture tests and the firmware
//! reference.

nn::network! {
    /// The FC autoencoder for anomaly detection: 5 frames × 128 mel bins in, the same out.
    pub struct AutoEncoder {
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

// The PyTorch port's `sum(p.numel() for p in model.parameters())`.
const _: () = assert!(AutoEncoder::<f32>::NUM_PARAMS == 267_928);
