//! PyTorch interop: state_dicts PyTorch saved load into `network!` models
//! and give PyTorch's outputs, and the files nn saves load into PyTorch.
//!
//! One folder per case under `tests/pytorch/`: `make_fixture.py` wrote the committed
//! `.safetensors` fixtures beside it (its docstring says how to rerun it) and `mod.rs`
//! holds the tests that read them. CI never runs Python; every PyTorch number here comes
//! from one of those scripts, run with PyTorch 2.15.0 on CPU.
//!
//! To regenerate the fixtures, from the repository root, with a Python that has torch
//! and safetensors:
//!
//! ```text
//! python tests/pytorch/linear/make_fixture.py        # and lenet/, batch_norm/, conv2d_groups/,
//!                                                    # mlperf_tiny/ likewise
//! NN_WRITE_FIXTURES=1 cargo test --test interop linear_saved_by_nn   # nn writes its file
//! python tests/pytorch/linear_saved_by_nn/make_fixture.py            # PyTorch loads it
//! ```

#[path = "pytorch/batch_norm/mod.rs"]
mod batch_norm;
#[path = "pytorch/conv2d_groups/mod.rs"]
mod conv2d_groups;
#[path = "pytorch/lenet/mod.rs"]
mod lenet;
#[path = "pytorch/linear/mod.rs"]
mod linear;
#[path = "pytorch/linear_saved_by_nn/mod.rs"]
mod linear_saved_by_nn;
#[path = "pytorch/mlperf_tiny/mod.rs"]
mod mlperf_tiny;
#[path = "pytorch/mlperf_tiny/runtime_layers.rs"]
mod mlperf_tiny_runtime_layers;

/// Reading the fixtures and comparing with them.
mod fixture {
    use std::collections::HashMap;
    use std::path::PathBuf;

    use nn::ndarray::{Array1, ArrayD, ArrayView, ArrayViewD, Dimension, IxDyn};
    use nn::{Entry, Params};

    /// Asserts `|got − want| ≤ tolerance · max(max |want|, 1e-6)` everywhere (a NaN fails),
    /// naming the worst element. The floor is for gradients that are zero up to rounding: a
    /// convolution's bias before a training BatchNorm, whose normalisation cancels it
    /// (PyTorch's are ~1e-17).
    pub fn assert_close_relative<D: Dimension>(
        got: ArrayView<f64, D>,
        want: ArrayViewD<f32>,
        tolerance: f64,
        what: &str,
    ) {
        assert_eq!(got.shape(), want.shape(), "{what}: shape");
        let scale = want.iter().fold(0.0f64, |m, &w| m.max(f64::from(w).abs())).max(1e-6);
        let (index, worst) = got
            .iter()
            .zip(want.iter())
            .map(|(&g, &w)| (g - f64::from(w)).abs() / scale)
            .enumerate()
            .fold((0, 0.0), |best, (i, d)| if d > best.1 || d.is_nan() { (i, d) } else { best });
        assert!(worst <= tolerance, "{what}: element {index} is off by {worst:e} of the largest |value| {scale:e}");
    }

    /// `tests/pytorch/<case>/<file>`.
    pub fn path(case: &str, file: &str) -> PathBuf {
        [env!("CARGO_MANIFEST_DIR"), "tests", "pytorch", case, file].iter().collect()
    }

    /// One tensor of a fixture: its dtype as safetensors spells it, shape and bytes.
    struct Stored {
        dtype: String,
        shape: Vec<usize>,
        data: Vec<u8>,
    }

    /// Every tensor of one fixture file, by name.
    pub struct Tensors {
        file: PathBuf,
        tensors: HashMap<String, Stored>,
    }

    impl Tensors {
        /// Reads `tests/pytorch/<case>/<file>` with nn's own safetensors reader.
        pub fn read(case: &str, file: &str) -> Tensors {
            let file = path(case, file);
            let bytes = nn::io::read(&file).unwrap();
            let parsed = nn::io::parse(&file, &bytes).unwrap();
            let tensors = parsed
                .tensors()
                .into_iter()
                .map(|(name, view)| {
                    let stored = Stored {
                        dtype: format!("{:?}", view.dtype()),
                        shape: view.shape().to_vec(),
                        data: view.data().to_vec(),
                    };
                    (name, stored)
                })
                .collect();
            Tensors { file, tensors }
        }

        fn get(&self, name: &str, dtype: &str) -> &Stored {
            let stored =
                self.tensors.get(name).unwrap_or_else(|| panic!("{}: no tensor `{name}`", self.file.display()));
            assert_eq!(stored.dtype, dtype, "{}: dtype of `{name}`", self.file.display());
            stored
        }

        /// The float32 tensor `name`.
        pub fn floats(&self, name: &str) -> ArrayD<f32> {
            let stored = self.get(name, "F32");
            let values = stored.data.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect();
            ArrayD::from_shape_vec(IxDyn(&stored.shape), values).unwrap()
        }

        /// The float32 tensor `name`, of rank `D`.
        pub fn floats_of<D: Dimension>(&self, name: &str) -> nn::ndarray::Array<f32, D> {
            self.floats(name).into_dimensionality().unwrap()
        }

        /// The int64 vector `name` as class indices.
        pub fn labels(&self, name: &str) -> Array1<usize> {
            let stored = self.get(name, "I64");
            assert_eq!(stored.shape.len(), 1, "{}: `{name}` is not a vector", self.file.display());
            stored
                .data
                .chunks_exact(8)
                .map(|b| usize::try_from(i64::from_le_bytes(b.try_into().unwrap())).unwrap())
                .collect()
        }

        /// The int64 scalar `name` (`num_batches_tracked`).
        pub fn count(&self, name: &str) -> i64 {
            let stored = self.get(name, "I64");
            assert!(stored.shape.is_empty(), "{}: `{name}` is not a scalar", self.file.display());
            i64::from_le_bytes(stored.data[..].try_into().unwrap())
        }

        /// The names of every tensor, sorted.
        pub fn names(&self) -> Vec<&str> {
            let mut names: Vec<&str> = self.tensors.keys().map(String::as_str).collect();
            names.sort_unstable();
            names
        }
    }

    /// Asserts `got` and `want` have one shape and differ by at most `tolerance` anywhere
    /// (a NaN anywhere fails); the message names the worst element.
    pub fn assert_close<D: Dimension>(got: ArrayView<f32, D>, want: ArrayView<f32, D>, tolerance: f32, what: &str) {
        assert_eq!(got.shape(), want.shape(), "{what}: shape");
        let (index, worst) = got
            .iter()
            .zip(want.iter())
            .map(|(g, w)| (g - w).abs())
            .enumerate()
            .fold((0, 0.0), |best, (i, d)| if d > best.1 || d.is_nan() { (i, d) } else { best });
        assert!(
            worst <= tolerance,
            "{what}: element {index} is {} where PyTorch has {} (difference {worst:e}, tolerance {tolerance:e})",
            got.iter().nth(index).unwrap(),
            want.iter().nth(index).unwrap(),
        );
    }

    /// Asserts `model`'s state dict equals the one in `want`: the same keys, every float
    /// tensor within `tolerance`, every count exactly.
    pub fn assert_state_dict_close(model: &impl Params<f32>, want: &Tensors, tolerance: f32) {
        let mut keys = Vec::new();
        model.visit(&mut |name, entry| {
            keys.push(name.to_string());
            match entry {
                Entry::Param { value, .. } | Entry::Buffer(value) => {
                    assert_close(value, want.floats(name).view(), tolerance, name)
                }
                Entry::Count(count) => assert_eq!(count, want.count(name), "{name}"),
            }
        });
        keys.sort_unstable();
        assert_eq!(keys, want.names(), "state-dict keys");
    }
}
