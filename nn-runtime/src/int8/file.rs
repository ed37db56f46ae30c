//! The int8 weight file: safetensors keyed like the f32 state dict, with I8 weights,
//! F32 scales and I32 biases and zero points, loaded strictly.
//!
//! For each `Linear` or `Conv2d` at key `K`: `K.weight` I8 (the float weight's shape),
//! `K.weight_scale` F32 `[out]`, `K.bias` I32 `[out]`, `K.output_scale` F32 `[]` and
//! `K.output_zero_point` I32 `[]`; for each `Residual` at `K`: `K.output_scale` and
//! `K.output_zero_point`; and `input.scale`, `input.zero_point`.

use std::collections::HashMap;
use std::path::Path;

use safetensors::tensor::Dtype;

use super::quant::Quant;
use super::{Add, Conv2d, Dense, Geometry, Requantize};
use crate::io::{parse, read, save_tensors, StoredTensor};
use crate::Error;

/// What one layer keeps in an int8 file; a network's list of these is its file's schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layer<'a> {
    /// A `Linear` or `Conv2d` at `key` whose weight has `shape` (`[out, in]` or
    /// `[out, in/groups, kh, kw]`).
    Weighted {
        /// The layer's state-dict key.
        key: &'a str,
        /// The weight's shape, output channels first.
        shape: &'a [usize],
    },
    /// A `Residual` at `key`: the scale and zero point after its add.
    Residual {
        /// The layer's state-dict key.
        key: &'a str,
    },
}

/// One tensor the schema requires: name, dtype and shape.
fn schema(layers: &[Layer<'_>]) -> Vec<(String, Dtype, Vec<usize>)> {
    let mut tensors = vec![("input.scale".into(), Dtype::F32, vec![]), ("input.zero_point".into(), Dtype::I32, vec![])];
    for layer in layers {
        let key = match *layer {
            Layer::Weighted { key, shape } => {
                let out = shape.first().copied().unwrap_or(0);
                tensors.push((format!("{key}.weight"), Dtype::I8, shape.to_vec()));
                tensors.push((format!("{key}.weight_scale"), Dtype::F32, vec![out]));
                tensors.push((format!("{key}.bias"), Dtype::I32, vec![out]));
                key
            }
            Layer::Residual { key } => key,
        };
        tensors.push((format!("{key}.output_scale"), Dtype::F32, vec![]));
        tensors.push((format!("{key}.output_zero_point"), Dtype::I32, vec![]));
    }
    tensors
}

/// The tensors of an int8 model, checked against its schema: what `save` writes and `load` returns.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Int8File {
    tensors: HashMap<String, StoredTensor>,
}

impl Int8File {
    /// An empty file, to fill with [`set_input`](Self::set_input) and the `set_*` of each layer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the input's scale and zero point.
    pub fn set_input(&mut self, input: Quant) {
        self.set_quant("input.scale", "input.zero_point", input);
    }

    /// Sets a `Linear` or `Conv2d` at `key`: its weight (of `shape`), per-channel weight
    /// scales, int32 bias and output quantisation.
    pub fn set_weighted(
        &mut self,
        key: &str,
        shape: &[usize],
        weight: &[i8],
        weight_scale: &[f32],
        bias: &[i32],
        output: Quant,
    ) {
        let bytes = |values: &mut dyn Iterator<Item = [u8; 4]>| values.flatten().collect::<Vec<u8>>();
        self.insert(format!("{key}.weight"), Dtype::I8, shape.to_vec(), weight.iter().map(|&w| w as u8).collect());
        let scales = bytes(&mut weight_scale.iter().map(|s| s.to_le_bytes()));
        self.insert(format!("{key}.weight_scale"), Dtype::F32, vec![weight_scale.len()], scales);
        self.insert(
            format!("{key}.bias"),
            Dtype::I32,
            vec![bias.len()],
            bytes(&mut bias.iter().map(|b| b.to_le_bytes())),
        );
        self.set_output(key, output);
    }

    /// Sets the output quantisation of the layer at `key` (a `Residual`'s, after its add).
    pub fn set_output(&mut self, key: &str, output: Quant) {
        self.set_quant(&format!("{key}.output_scale"), &format!("{key}.output_zero_point"), output);
    }

    fn set_quant(&mut self, scale: &str, zero_point: &str, quant: Quant) {
        self.insert(scale.into(), Dtype::F32, vec![], quant.scale.to_le_bytes().to_vec());
        self.insert(zero_point.into(), Dtype::I32, vec![], quant.zero_point.to_le_bytes().to_vec());
    }

    fn insert(&mut self, name: String, dtype: Dtype, shape: Vec<usize>, data: Vec<u8>) {
        self.tensors.insert(name, StoredTensor { dtype, shape, data });
    }

    /// Writes the file (atomically: a temporary file, then a rename), tensors in name order.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        let mut tensors: Vec<(String, StoredTensor)> = self.tensors.clone().into_iter().collect();
        tensors.sort_by(|a, b| a.0.cmp(&b.0));
        save_tensors(path.as_ref(), &tensors, None)
    }

    /// Reads the file at `path` for a network of `layers`, strictly: a missing,
    /// unexpected, mis-shaped or wrong-dtype tensor, a zero point outside −128..=127 and a
    /// scale that is not positive and finite are errors naming the tensor.
    pub fn load(path: impl AsRef<Path>, layers: &[Layer<'_>]) -> Result<Self, Error> {
        let path = path.as_ref();
        let bytes = read(path)?;
        let file = parse(path, &bytes)?;
        let schema = schema(layers);
        for (name, _) in file.tensors() {
            if !schema.iter().any(|(expected, ..)| *expected == name) {
                return Err(Error::UnexpectedTensor { path: path.into(), name });
            }
        }
        let mut tensors = HashMap::new();
        for (name, dtype, shape) in schema {
            let view =
                file.tensor(&name).map_err(|_| Error::MissingTensor { path: path.into(), name: name.clone() })?;
            if view.dtype() != dtype {
                let (expected, found) = (format!("{dtype:?}"), format!("{:?}", view.dtype()));
                return Err(Error::TensorDtype { path: path.into(), name, expected, found });
            }
            if view.shape() != shape.as_slice() {
                return Err(Error::TensorShape {
                    path: path.into(),
                    name,
                    expected: shape,
                    found: view.shape().to_vec(),
                });
            }
            let tensor = StoredTensor { dtype, shape, data: view.data().to_vec() };
            check_values(path, &name, &tensor)?;
            tensors.insert(name, tensor);
        }
        Ok(Self { tensors })
    }

    fn bytes(&self, name: &str) -> &[u8] {
        self.tensors.get(name).map_or(&[], |t| t.data.as_slice())
    }

    fn f32s(&self, name: &str) -> Vec<f32> {
        self.bytes(name).as_chunks::<4>().0.iter().map(|&b| f32::from_le_bytes(b)).collect()
    }

    fn i32s(&self, name: &str) -> Vec<i32> {
        self.bytes(name).as_chunks::<4>().0.iter().map(|&b| i32::from_le_bytes(b)).collect()
    }

    fn quant(&self, scale: &str, zero_point: &str) -> Quant {
        Quant {
            scale: self.f32s(scale).first().copied().unwrap_or(0.0),
            zero_point: self.i32s(zero_point).first().copied().unwrap_or(0),
        }
    }

    /// The input's scale and zero point.
    pub fn input(&self) -> Quant {
        self.quant("input.scale", "input.zero_point")
    }

    /// The output quantisation of the layer at `key`.
    pub fn output(&self, key: &str) -> Quant {
        self.quant(&format!("{key}.output_scale"), &format!("{key}.output_zero_point"))
    }

    /// The int8 weight of the layer at `key`, row-major in its stored shape.
    pub fn weight(&self, key: &str) -> Vec<i8> {
        self.bytes(&format!("{key}.weight")).iter().map(|&b| b as i8).collect()
    }

    /// The per-output-channel weight scales of the layer at `key`.
    pub fn weight_scale(&self, key: &str) -> Vec<f32> {
        self.f32s(&format!("{key}.weight_scale"))
    }

    /// The int32 bias of the layer at `key`.
    pub fn bias(&self, key: &str) -> Vec<i32> {
        self.i32s(&format!("{key}.bias"))
    }
}

/// The layers a loaded file describes, ready to run: what a generated `load` calls once
/// per layer. Each takes the quantisation of the layer's input (the file's [`input`](Int8File::input)
/// or the previous layer's [`output`](Int8File::output)) and whether a ReLU is fused.
///
/// # Panics
/// If the layer's sizes differ from the shapes [`load`](Int8File::load) checked the file
/// against (a mismatch between a network's schema and its layer types).
impl Int8File {
    /// The `Linear` at `key`.
    pub fn dense<const IN: usize, const OUT: usize, const PAIRS: usize, const BLOCKS: usize>(
        &self,
        key: &str,
        input: Quant,
        relu: bool,
    ) -> Dense<IN, OUT, PAIRS, BLOCKS> {
        let weight = self.weight(key);
        let rows: Vec<[i8; IN]> = weight.as_chunks::<IN>().0.to_vec();
        let weight: &[[i8; IN]; OUT] =
            rows.as_slice().try_into().unwrap_or_else(|_| panic!("{key}.weight is not [{OUT}, {IN}]"));
        Dense::new(weight, channels(&self.bias(key), key), self.requantize(key, input, relu), input.zero_point)
    }

    /// The `Conv2d` at `key`, of `geometry`.
    pub fn conv2d<
        const C: usize,
        const H: usize,
        const W: usize,
        const OC: usize,
        const OH: usize,
        const OW: usize,
        const PAIRS: usize,
        const BLOCKS: usize,
        const WORDS: usize,
    >(
        &self,
        key: &str,
        input: Quant,
        geometry: Geometry,
        relu: bool,
    ) -> Conv2d<C, H, W, OC, OH, OW, PAIRS, BLOCKS, WORDS> {
        let bias = channels(&self.bias(key), key);
        Conv2d::new(&self.weight(key), bias, self.requantize(key, input, relu), input.zero_point, geometry)
    }

    /// The add of the `Residual` at `key`: `chain` is the quantisation of the chain's
    /// output (the first input), `shortcut` that of the second: the residual's input, or
    /// the projection shortcut's output.
    pub fn add(&self, key: &str, chain: Quant, shortcut: Quant, relu: bool) -> Add {
        Add::new(chain, shortcut, self.output(key), relu)
    }

    fn requantize<const N: usize>(&self, key: &str, input: Quant, relu: bool) -> Requantize<N> {
        let output = self.output(key);
        Requantize::new(input.scale, &channels(&self.weight_scale(key), key), output.scale, output.zero_point, relu)
    }
}

/// The per-channel `values` of the layer at `key` as an array of its `N` channels.
fn channels<T: Copy, const N: usize>(values: &[T], key: &str) -> [T; N] {
    values.try_into().unwrap_or_else(|_| panic!("layer {key} has {} output channels, not {N}", values.len()))
}

/// Zero points must be int8 values and scales positive and finite.
fn check_values(path: &Path, name: &str, tensor: &StoredTensor) -> Result<(), Error> {
    let error = |reason: String| Error::TensorValue { path: path.into(), name: name.into(), reason };
    let words = tensor.data.as_chunks::<4>().0;
    if name.ends_with("zero_point") {
        for &bytes in words {
            let zp = i32::from_le_bytes(bytes);
            if !(-128..=127).contains(&zp) {
                return Err(error(format!("holds zero point {zp}, outside the int8 range -128..=127")));
            }
        }
    } else if name.ends_with("scale") {
        for &bytes in words {
            let scale = f32::from_le_bytes(bytes);
            if !(scale.is_finite() && scale > 0.0) {
                return Err(error(format!("holds scale {scale}; a scale must be positive and finite")));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAYERS: [Layer<'static>; 3] = [
        Layer::Weighted { key: "0", shape: &[2, 1, 3, 3] },
        Layer::Residual { key: "1" },
        Layer::Weighted { key: "3", shape: &[3, 4] },
    ];

    fn example() -> Int8File {
        let mut file = Int8File::new();
        file.set_input(Quant { scale: 0.5, zero_point: -3 });
        let conv: Vec<i8> = (0..18).map(|i| i - 9).collect();
        file.set_weighted("0", &[2, 1, 3, 3], &conv, &[0.1, 0.2], &[5, -6], Quant { scale: 0.25, zero_point: -128 });
        file.set_output("1", Quant { scale: 0.3, zero_point: 7 });
        let dense: Vec<i8> = (0..12).map(|i: i32| (127 - i * 20) as i8).collect();
        file.set_weighted(
            "3",
            &[3, 4],
            &dense,
            &[1.0, 2.0, 3.0],
            &[1 << 20, 0, -1],
            Quant { scale: 0.125, zero_point: 127 },
        );
        file
    }

    #[test]
    fn save_then_load_gives_every_tensor_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m-int8.safetensors");
        let file = example();
        file.save(&path).unwrap();
        let back = Int8File::load(&path, &LAYERS).unwrap();
        assert_eq!(back, file);
        assert_eq!(back.input(), Quant { scale: 0.5, zero_point: -3 });
        assert_eq!(back.output("1"), Quant { scale: 0.3, zero_point: 7 });
        assert_eq!(back.weight("3")[11], -93);
        assert_eq!(back.weight_scale("0"), [0.1, 0.2]);
        assert_eq!(back.bias("3"), [1 << 20, 0, -1]);
    }

    /// Saves `file` and loads it with `layers`, returning the error message.
    fn load_error(file: &Int8File, layers: &[Layer<'_>]) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.safetensors");
        file.save(&path).unwrap();
        Int8File::load(&path, layers).unwrap_err().to_string()
    }

    #[test]
    fn load_is_strict_and_names_the_tensor() {
        let file = example();
        let mut missing = file.clone();
        missing.tensors.remove("0.weight_scale");
        assert!(
            load_error(&missing, &LAYERS).ends_with("missing tensor `0.weight_scale`"),
            "{}",
            load_error(&missing, &LAYERS)
        );
        let unexpected = load_error(&file, &LAYERS[..2]);
        assert!(unexpected.contains("unexpected tensor `3."), "{unexpected}");
        let shape = load_error(&file, &[LAYERS[0], LAYERS[1], Layer::Weighted { key: "3", shape: &[4, 3] }]);
        assert!(shape.contains("tensor `3.weight` has shape [3, 4], the network expects [4, 3]"), "{shape}");
        let mut dtype = file.clone();
        dtype.insert("3.bias".into(), Dtype::F32, vec![3], vec![0; 12]);
        assert!(load_error(&dtype, &LAYERS).contains("tensor `3.bias` has dtype F32, expected I32"));
        let mut zero_point = file.clone();
        zero_point.set_output("1", Quant { scale: 0.3, zero_point: 128 });
        let message = load_error(&zero_point, &LAYERS);
        assert!(
            message.contains("tensor `1.output_zero_point` holds zero point 128, outside the int8 range"),
            "{message}"
        );
        let mut scale = file.clone();
        scale.set_input(Quant { scale: 0.0, zero_point: 0 });
        assert!(load_error(&scale, &LAYERS).contains("tensor `input.scale` holds scale 0"));
        let mut weight_scale = file;
        weight_scale.insert(
            "0.weight_scale".into(),
            Dtype::F32,
            vec![2],
            [1.0f32, f32::NAN].iter().flat_map(|s| s.to_le_bytes()).collect(),
        );
        assert!(load_error(&weight_scale, &LAYERS).contains("tensor `0.weight_scale` holds scale NaN"));
    }
}
