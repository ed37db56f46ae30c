//! `#[weights = "..."]`: reads a safetensors file at compile time, checks every tensor
//! against the declaration, and bakes the weights into a `static` frozen struct.
//!
//! The weights reach the compiler as one byte-string literal holding the little-endian
//! image of the `#[repr(C)]` frozen struct, which a `static` transmutes into place: rustc
//! parses one token and copies one constant, however many weights there are, and the
//! weights land in read-only memory (flash on a microcontroller).

use std::path::{Path, PathBuf};

use proc_macro2::{Literal, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use safetensors::tensor::{Dtype, SafeTensors};
use syn::LitStr;

use crate::check::Network;
use crate::generate::frozen_fields;
use crate::kinds::Bake;
use crate::shape::{scalars, MAX_SCALARS};

/// Where relative weight paths start: the directory of the compiled crate's `Cargo.toml`.
const MANIFEST_DIR: &str = "CARGO_MANIFEST_DIR";

/// Overrides [`MANIFEST_DIR`] for compile-fail tests: trybuild compiles each case in a
/// scratch crate under `target/`, so its harness points this at the real crate instead.
const MANIFEST_DIR_OVERRIDE: &str = "NN_TEST_MANIFEST_DIR";

/// Bytes per baked scalar: frozen weights are `f32`.
const F32_BYTES: usize = 4;

/// The most bytes `#[weights]` bakes: 2^28 (256 MiB). rustc holds the image as one
/// literal, and a microcontroller's flash is far smaller.
const MAX_BAKED_BYTES: usize = 1 << 28;

/// One tensor of a frozen model, in the frozen struct's field order.
#[derive(Clone, Debug, PartialEq)]
pub struct FrozenTensor {
    /// The PyTorch `state_dict` key, e.g. `"0.weight"`.
    pub key: String,
    /// The PyTorch shape, e.g. `[out, in]` for a Linear weight.
    pub shape: Vec<usize>,
    /// Whether the frozen copy stores the 2-d tensor transposed (`[in][out]`).
    pub transposed: bool,
    /// The BatchNorm folded into it, if any: then `key` is the layer's weight or bias
    /// before folding.
    pub fold: Option<Folding>,
}

/// How a frozen tensor folds in a BatchNorm: `w[o] · scale[o]` for a weight,
/// `b[o] · scale[o] + shift[o]` for a bias, computed in f32 as the runtime's
/// `fold_batch_norm` computes them, so a baked model equals a frozen one bit for bit.
#[derive(Clone, Debug, PartialEq)]
pub struct Folding {
    /// The BatchNorm's state-dict key and `eps`.
    pub batch_norm: String,
    pub eps: f64,
    /// A bias, not a weight.
    pub bias: bool,
    /// Whether the layer has the tensor `key` (a bias may be absent: zero).
    pub present: bool,
}

/// The BatchNorm tensors a fold reads; `num_batches_tracked` is in the file but unused.
const BATCH_NORM_TENSORS: [&str; 4] = ["weight", "bias", "running_mean", "running_var"];

/// The `FROZEN` constant with the file's weights, or a compile error at the attribute.
pub fn bake(net: &Network, path: &LitStr) -> syn::Result<TokenStream> {
    if let Some(int8) = bake_int8(net, path)? {
        return Ok(int8);
    }
    let tensors = bakeable(net)?.map_err(|problems| error_at(path, problems))?;
    let bytes: usize = tensors.iter().map(|t| scalars(&t.shape).unwrap_or(MAX_SCALARS) * F32_BYTES).sum();
    if bytes > MAX_BAKED_BYTES {
        return Err(syn::Error::new(
            path.span(),
            format!(
                "`#[weights]` would bake {bytes} bytes of weights into `{}::FROZEN`: a baked model holds at most \
                 2^28 bytes (256 MiB); build a larger one at run time with `{}::load(path)?.freeze()`",
                net.name, net.name
            ),
        ));
    }
    let file = resolve(path)?;
    let bytes = nn_safetensors::read_regular(&file).map_err(|e| {
        syn::Error::new(
            path.span(),
            format!(
                "cannot read the weight file `{}` at {}: {e} (a relative path starts at the crate's directory, \
                 where its Cargo.toml is)",
                path.value(),
                file.display()
            ),
        )
    })?;
    let image = frozen_image(&tensors, &bytes).map_err(|problems| error_at(path, problems))?;
    let Some(file) = file.to_str() else {
        return Err(syn::Error::new(path.span(), format!("the weight file's path {} is not UTF-8", file.display())));
    };
    Ok(emit(net, path.span(), file, &image))
}

/// `Name::INT8` when `path` names an int8 weight file (one with `input.scale`), checked
/// against the declaration; `None` for any other file.
fn bake_int8(net: &Network, path: &LitStr) -> syn::Result<Option<TokenStream>> {
    let file = resolve(path)?;
    // A file that cannot be read or whose header does not check is the f32 path's to report.
    let Ok(bytes) = nn_safetensors::read_regular(&file) else {
        return Ok(None);
    };
    if nn_safetensors::check(&bytes).is_err() {
        return Ok(None);
    }
    let Ok(tensors) = SafeTensors::deserialize(&bytes) else {
        return Ok(None);
    };
    if tensors.tensor("input.scale").is_err() {
        return Ok(None);
    }
    let Some(file) = file.to_str() else {
        return Err(syn::Error::new(path.span(), format!("the weight file's path {} is not UTF-8", file.display())));
    };
    let int8 =
        crate::int8::bake::int8_const(net, &tensors, &path.value()).map_err(|problems| error_at(path, problems))?;
    let endian =
        format!("`{}::INT8` is baked as little-endian bytes: it cannot be built for a big-endian target", net.name);
    let endian_guard = quote_spanned! {path.span()=>
        #[cfg(target_endian = "big")]
        ::core::compile_error!(#endian);
    };
    Ok(Some(quote! {
        // Recompiles this crate when the weight file changes.
        const _: &[u8] = ::core::include_bytes!(#file);

        #endian_guard

        #int8
    }))
}

/// Every one of `problems` as one error at the attribute's string.
fn error_at(path: &LitStr, problems: Vec<String>) -> syn::Error {
    problems
        .into_iter()
        .map(|problem| syn::Error::new(path.span(), problem))
        .reduce(|mut all, error| {
            all.combine(error);
            all
        })
        .unwrap_or_else(|| {
            syn::Error::new(path.span(), "nn internal error: the weight file was rejected without a message")
        })
}

/// The tensors of the weight file the frozen struct's fields are, in order; or one
/// message per layer whose frozen fields no file can fill (a batch norm freezes to a
/// derived scale and shift, a nested network to its own frozen struct).
fn bakeable(net: &Network) -> syn::Result<Result<Vec<FrozenTensor>, Vec<String>>> {
    let instead = format!("build it at run time with `{}::load(path)?.freeze()` instead", net.name);
    let mut tensors = Vec::new();
    let mut problems: Vec<String> = Vec::new();
    for field in frozen_fields(&net.layers) {
        match field.bake {
            Bake::Tensor { key, shape, transposed } => {
                tensors.push(FrozenTensor { key, shape, transposed, fold: None })
            }
            Bake::Folded { key, shape, transposed, bias, batch_norm } => {
                let fold = Folding { batch_norm: batch_norm.key, eps: batch_norm.eps, bias, present: key.is_some() };
                let key = key.unwrap_or_else(|| format!("{}.bias", fold.batch_norm));
                tensors.push(FrozenTensor { key, shape, transposed, fold: Some(fold) })
            }
            Bake::Cannot(why) => {
                let problem = format!("`#[weights]` cannot bake {why}; {instead}");
                if problems.last() != Some(&problem) {
                    problems.push(problem);
                }
            }
        }
    }
    Ok(if problems.is_empty() { Ok(tensors) } else { Err(problems) })
}

/// The absolute path of the file `path` names.
fn resolve(path: &LitStr) -> syn::Result<PathBuf> {
    let base = std::env::var_os(MANIFEST_DIR_OVERRIDE).or_else(|| std::env::var_os(MANIFEST_DIR)).ok_or_else(|| {
        syn::Error::new(
            path.span(),
            format!("`#[weights]` needs cargo: `{MANIFEST_DIR}` is not set, so `{}` cannot be located", path.value()),
        )
    })?;
    Ok(Path::new(&base).join(path.value()))
}

/// The little-endian bytes of the frozen struct whose fields are `tensors`, read from the
/// safetensors `file`; or one message per missing, extra, non-F32, mis-shaped or
/// non-finite tensor, or the one reason the file is not valid safetensors.
fn frozen_image(tensors: &[FrozenTensor], file: &[u8]) -> Result<Vec<u8>, Vec<String>> {
    let invalid = |reason: String| vec![format!("not a valid safetensors file: {reason}")];
    nn_safetensors::check(file).map_err(invalid)?;
    let file = SafeTensors::deserialize(file).map_err(|e| invalid(e.to_string()))?;
    let size = tensors.iter().map(|t| t.shape.iter().product::<usize>() * F32_BYTES).sum();
    let mut image = Vec::with_capacity(size);
    let mut problems = Vec::new();
    for expected in tensors {
        let data = match &expected.fold {
            None => read_f32(&file, &expected.key, &expected.shape),
            Some(fold) => folded(&file, expected, fold),
        };
        let data = match data {
            Ok(data) => data,
            Err(problem) => {
                if !problems.contains(&problem) {
                    problems.push(problem);
                }
                continue;
            }
        };
        let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        match (expected.transposed, expected.shape.as_slice()) {
            (true, &[rows, cols]) => append_transposed(&mut image, &bytes, rows, cols),
            _ => image.extend_from_slice(&bytes),
        }
    }
    let used = |name: &str| {
        tensors.iter().any(|t| {
            (t.key == name && t.fold.as_ref().is_none_or(|fold| fold.present))
                || t.fold.as_ref().is_some_and(|fold| {
                    name.strip_prefix(&fold.batch_norm)
                        .and_then(|rest| rest.strip_prefix('.'))
                        .is_some_and(|rest| BATCH_NORM_TENSORS.contains(&rest) || rest == "num_batches_tracked")
                })
        })
    };
    let mut extra: Vec<String> = file
        .tensors()
        .into_iter()
        .filter(|(name, _)| !used(name))
        .map(|(name, view)| {
            format!(
                "the weight file has a tensor `{name}` ({:?} {:?}) that the declaration does not have: \
                 a baked weight file must match it exactly",
                view.dtype(),
                view.shape()
            )
        })
        .collect();
    extra.sort();
    problems.extend(extra);
    if problems.is_empty() {
        Ok(image)
    } else {
        Err(problems)
    }
}

/// The F32 tensor `key` of `shape` in `file`, or why not.
fn read_f32(file: &SafeTensors, key: &str, shape: &[usize]) -> Result<Vec<f32>, String> {
    let Ok(found) = file.tensor(key) else {
        return Err(format!("the weight file has no tensor `{key}`: the declaration expects F32 {shape:?}"));
    };
    if found.dtype() != Dtype::F32 || found.shape() != shape {
        return Err(format!(
            "tensor `{key}` is {:?} {:?} in the weight file, but the declaration expects F32 {shape:?}{}",
            found.dtype(),
            found.shape(),
            if found.dtype() == Dtype::F32 { "" } else { " (a baked model stores f32: save the weights as float32)" }
        ));
    }
    let values: Vec<f32> =
        found.data().chunks_exact(F32_BYTES).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    if let Some((index, value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(format!("tensor `{key}` holds {value} at element {index}: a baked model needs finite weights"));
    }
    Ok(values)
}

/// The values of `expected` with its BatchNorm folded in, in PyTorch's layout.
fn folded(file: &SafeTensors, expected: &FrozenTensor, fold: &Folding) -> Result<Vec<f32>, String> {
    let outputs = expected.shape[0];
    let [gamma, beta, mean, var] =
        BATCH_NORM_TENSORS.map(|name| read_f32(file, &format!("{}.{name}", fold.batch_norm), &[outputs]));
    let (gamma, beta, mean, var) = (gamma?, beta?, mean?, var?);
    let layer = if fold.present { read_f32(file, &expected.key, &expected.shape)? } else { vec![0.0; outputs] };
    let eps = fold.eps as f32;
    // As `batch_norm_scale_shift` and `fold_batch_norm` compute them, in f32.
    let scale: Vec<f32> = (0..outputs).map(|o| gamma[o] * (1.0 / (var[o] + eps).sqrt())).collect();
    let per_output = layer.len() / outputs;
    Ok(layer
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let o = i / per_output;
            if fold.bias {
                v * scale[o] + (beta[o] - mean[o] * scale[o])
            } else {
                v * scale[o]
            }
        })
        .collect())
}

/// Appends the row-major `[rows, cols]` f32 matrix in `data` as `[cols][rows]`.
fn append_transposed(image: &mut Vec<u8>, data: &[u8], rows: usize, cols: usize) {
    for col in 0..cols {
        for row in 0..rows {
            let at = (row * cols + col) * F32_BYTES;
            image.extend_from_slice(&data[at..at + F32_BYTES]);
        }
    }
}

/// `Name::FROZEN`, a rebuild trigger on the file, and a guard against big-endian targets
/// whose error points at the attribute (`span`).
fn emit(net: &Network, span: Span, file: &str, image: &[u8]) -> TokenStream {
    let name = &net.name;
    let frozen = format_ident!("{}Frozen", name);
    let len = Literal::usize_unsuffixed(image.len());
    let bytes = Literal::byte_string(image);
    let endian =
        format!("`{name}::FROZEN` is baked as little-endian bytes: it cannot be built for a big-endian target");
    let doc = format!("The weights of `{file}`, baked in at compile time, in read-only memory.");
    let endian_guard = quote_spanned! {span=>
        #[cfg(target_endian = "big")]
        ::core::compile_error!(#endian);
    };
    quote! {
        // Recompiles this crate when the weight file changes.
        const _: &[u8] = ::core::include_bytes!(#file);

        #endian_guard

        impl #name<f32> {
            #[doc = #doc]
            pub const FROZEN: &'static #frozen<f32> = {
                // SAFETY: the frozen struct is `#[repr(C)]` with only `f32` arrays (no padding)
                // and a `PhantomData`; the bytes are its fields in order, little-endian,
                // checked against the declaration, and `transmute` checks the size.
                static FROZEN: #frozen<f32> = unsafe { ::core::mem::transmute::<[u8; #len], #frozen<f32>>(*#bytes) };
                &FROZEN
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensor(key: &str, shape: &[usize], transposed: bool) -> FrozenTensor {
        FrozenTensor { key: key.to_string(), shape: shape.to_vec(), transposed, fold: None }
    }

    /// A safetensors file of `(name, dtype, shape, values)`.
    fn file(tensors: &[(&str, Dtype, &[usize], &[f32])]) -> Vec<u8> {
        let data: Vec<Vec<u8>> = tensors
            .iter()
            .map(|(_, dtype, _, values)| match dtype {
                Dtype::F64 => values.iter().flat_map(|v| f64::from(*v).to_le_bytes()).collect(),
                _ => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            })
            .collect();
        let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = tensors
            .iter()
            .zip(&data)
            .map(|((name, dtype, shape, _), bytes)| {
                (name.to_string(), safetensors::tensor::TensorView::new(*dtype, shape.to_vec(), bytes).unwrap())
            })
            .collect();
        safetensors::serialize(views, &None).unwrap()
    }

    fn floats(image: &[u8]) -> Vec<f32> {
        image.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
    }

    #[test]
    fn transposes_weights_and_keeps_field_order() {
        let tensors = [tensor("0.weight", &[2, 3], true), tensor("0.bias", &[2], false)];
        let bytes = file(&[
            ("0.bias", Dtype::F32, &[2], &[7.0, 8.0]),
            ("0.weight", Dtype::F32, &[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
        ]);
        let image = frozen_image(&tensors, &bytes).unwrap();
        assert_eq!(floats(&image), [1.0, 4.0, 2.0, 5.0, 3.0, 6.0, 7.0, 8.0]);
    }

    #[test]
    fn folds_a_batch_norm_into_a_layer_without_bias() {
        // BatchNorm γ = [2, 3], β = [1, −1], mean = [0.5, 2], var = [3, 0] and eps 1:
        // var + eps = [4, 1], so every step is exact in f32.
        let fold = |bias, present| Some(Folding { batch_norm: "1".to_string(), eps: 1.0, bias, present });
        let tensors = [
            FrozenTensor { fold: fold(false, true), ..tensor("0.weight", &[2, 2], true) },
            FrozenTensor { fold: fold(true, false), ..tensor("1.bias", &[2], false) },
        ];
        let bytes = file(&[
            ("0.weight", Dtype::F32, &[2, 2], &[1.0, 2.0, 3.0, 4.0]),
            ("1.weight", Dtype::F32, &[2], &[2.0, 3.0]),
            ("1.bias", Dtype::F32, &[2], &[1.0, -1.0]),
            ("1.running_mean", Dtype::F32, &[2], &[0.5, 2.0]),
            ("1.running_var", Dtype::F32, &[2], &[3.0, 0.0]),
            // An i64 scalar, 0: eight zero bytes.
            ("1.num_batches_tracked", Dtype::I64, &[], &[0.0, 0.0]),
        ]);
        let image = frozen_image(&tensors, &bytes).unwrap();
        // scale = [2 / 2, 3 / 1] = [1, 3]; the weight rows scaled, stored [in][out];
        // the bias is the shift β − mean · scale = [1 − 0.5, −1 − 6].
        assert_eq!(floats(&image), [1.0, 9.0, 2.0, 12.0, 0.5, -7.0]);
    }

    #[test]
    fn a_fold_names_a_missing_batch_norm_tensor_once() {
        let fold = |bias| Some(Folding { batch_norm: "1".to_string(), eps: 1e-5, bias, present: true });
        let tensors = [
            FrozenTensor { fold: fold(false), ..tensor("0.weight", &[1, 1], true) },
            FrozenTensor { fold: fold(true), ..tensor("0.bias", &[1], false) },
        ];
        let bytes = file(&[
            ("0.weight", Dtype::F32, &[1, 1], &[1.0]),
            ("0.bias", Dtype::F32, &[1], &[1.0]),
            ("1.weight", Dtype::F32, &[1], &[1.0]),
            ("1.bias", Dtype::F32, &[1], &[0.0]),
            ("1.running_mean", Dtype::F32, &[1], &[0.0]),
        ]);
        let problems = frozen_image(&tensors, &bytes).unwrap_err();
        assert_eq!(problems, ["the weight file has no tensor `1.running_var`: the declaration expects F32 [1]"]);
    }

    #[test]
    fn reports_every_missing_extra_mistyped_and_misshaped_tensor() {
        let tensors = [
            tensor("0.weight", &[2, 3], true),
            tensor("0.bias", &[2], false),
            tensor("2.weight", &[1, 2], true),
            tensor("2.bias", &[1], false),
        ];
        let bytes = file(&[
            ("0.weight", Dtype::F32, &[3, 2], &[0.0; 6]),
            ("0.bias", Dtype::F64, &[2], &[0.0; 2]),
            ("2.weight", Dtype::F32, &[1, 2], &[0.0; 2]),
            ("4.weight", Dtype::F32, &[1], &[0.0]),
        ]);
        let problems = frozen_image(&tensors, &bytes).unwrap_err();
        assert_eq!(
            problems,
            [
                "tensor `0.weight` is F32 [3, 2] in the weight file, but the declaration expects F32 [2, 3]",
                "tensor `0.bias` is F64 [2] in the weight file, but the declaration expects F32 [2] \
                 (a baked model stores f32: save the weights as float32)",
                "the weight file has no tensor `2.bias`: the declaration expects F32 [1]",
                "the weight file has a tensor `4.weight` (F32 [1]) that the declaration does not have: \
                 a baked weight file must match it exactly",
            ]
        );
    }

    #[test]
    fn rejects_bytes_that_are_not_safetensors() {
        let problems = frozen_image(&[], b"not a weight file").unwrap_err();
        assert!(problems[0].starts_with("not a valid safetensors file"), "{problems:?}");
    }

    #[test]
    fn rejects_non_finite_weights_naming_the_tensor_and_element() {
        let tensors = [tensor("0.weight", &[1, 2], true), tensor("0.bias", &[1], false)];
        let bytes = file(&[
            ("0.weight", Dtype::F32, &[1, 2], &[0.5, f32::INFINITY]),
            ("0.bias", Dtype::F32, &[1], &[f32::NAN]),
        ]);
        assert_eq!(
            frozen_image(&tensors, &bytes).unwrap_err(),
            [
                "tensor `0.weight` holds inf at element 1: a baked model needs finite weights",
                "tensor `0.bias` holds NaN at element 0: a baked model needs finite weights",
            ]
        );
    }

    #[test]
    fn rejects_offsets_that_would_overflow_inside_safetensors() {
        let end = usize::MAX - 10;
        let header = format!(r#"{{"0.bias":{{"dtype":"U8","shape":[{end}],"data_offsets":[0,{end}]}}}}"#);
        let bytes = [&(header.len() as u64).to_le_bytes()[..], header.as_bytes()].concat();
        let problems = frozen_image(&[tensor("0.bias", &[1], false)], &bytes).unwrap_err();
        assert_eq!(
            problems,
            [format!(
                "not a valid safetensors file: the tensors end at data byte {end}, but the file holds 0 data bytes"
            )]
        );
    }

    /// Mutated weight files are baked or rejected with messages, never a panic (which
    /// in a proc macro would crash the compiler).
    #[test]
    fn fuzz_bake() {
        let tensors = [tensor("0.weight", &[2, 3], true), tensor("0.bias", &[2], false)];
        let valid = file(&[
            ("0.weight", Dtype::F32, &[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
            ("0.bias", Dtype::F32, &[2], &[7.0, 8.0]),
        ]);
        nn_fuzz::fuzz("bake", valid, |bytes| frozen_image(&tensors, bytes).is_ok());
    }
}
