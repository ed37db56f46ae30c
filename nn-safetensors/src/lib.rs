//! The strict check of a safetensors file's header that nn runs before the `safetensors`
//! crate parses the file, both at run time (`nn_runtime::io`) and at compile time
//! (`#[weights]`).
//!
//! The format: an 8-byte little-endian header length `n`, `n` bytes of JSON mapping each
//! tensor's name to its `dtype`, `shape` and `data_offsets` (`[begin, end)`, relative to the
//! data), then the data. [`check`] accepts a file only if the header fits in it, every
//! tensor's offsets span exactly its shape's bytes (all arithmetic checked), and the
//! tensors tile the data from its first byte to the file's last, without gap or overlap.
//! Such a file the `safetensors` crate parses and slices without overflow or panic.
//! [`read_regular`] reads a file only if it is a regular one.

#![deny(missing_docs)]

use std::fs;
use std::io;
use std::path::Path;

use safetensors::tensor::{Metadata, TensorInfo};

/// The largest header the `safetensors` crate reads (its own limit, in bytes).
pub const MAX_HEADER_LEN: u64 = 100_000_000;

/// Bytes of the header-length prefix.
const PREFIX: usize = 8;

/// Checks the header of the safetensors file `bytes` against the data it describes;
/// the error says what is wrong and names the tensor involved.
pub fn check(bytes: &[u8]) -> Result<(), String> {
    let Some(prefix) = bytes.first_chunk::<PREFIX>() else {
        return Err(format!("{} bytes, shorter than the 8-byte header length", bytes.len()));
    };
    let header_len = u64::from_le_bytes(*prefix);
    if header_len > MAX_HEADER_LEN {
        return Err(format!("header length {header_len} exceeds the safetensors limit of {MAX_HEADER_LEN} bytes"));
    }
    let rest = &bytes[PREFIX..];
    let Some(header) = usize::try_from(header_len).ok().and_then(|n| rest.get(..n)) else {
        return Err(format!("header length {header_len} runs past the end of the file ({} bytes)", bytes.len()));
    };
    let data_len = rest.len() - header.len();
    let header = std::str::from_utf8(header).map_err(|e| format!("the header is not UTF-8: {e}"))?;
    let metadata: Metadata =
        serde_json::from_str(header).map_err(|e| format!("the header is not a safetensors table: {e}"))?;
    let mut tensors: Vec<(String, &TensorInfo)> = metadata.tensors().into_iter().collect();
    tensors.sort_by(|(a_name, a), (b_name, b)| (a.data_offsets, a_name).cmp(&(b.data_offsets, b_name)));
    let mut end_of_previous = 0;
    for (name, info) in &tensors {
        let (begin, end) = info.data_offsets;
        if end < begin {
            return Err(format!("tensor `{name}`: data offsets [{begin}, {end}] end before they begin"));
        }
        let needed = info
            .shape
            .iter()
            .try_fold(info.dtype.size(), |bytes, &d| bytes.checked_mul(d))
            .ok_or_else(|| format!("tensor `{name}`: {:?} {:?} is too large to address", info.dtype, info.shape))?;
        if end - begin != needed {
            return Err(format!(
                "tensor `{name}`: {:?} {:?} needs {needed} bytes, its data offsets [{begin}, {end}] span {}",
                info.dtype,
                info.shape,
                end - begin
            ));
        }
        if begin > end_of_previous {
            return Err(format!(
                "tensor `{name}` begins at data byte {begin}, leaving bytes {end_of_previous}..{begin} unused"
            ));
        }
        if begin < end_of_previous {
            return Err(format!(
                "tensor `{name}` begins at data byte {begin}, inside the previous tensor, which ends at {end_of_previous}"
            ));
        }
        end_of_previous = end;
    }
    if end_of_previous != data_len {
        return Err(format!(
            "the tensors end at data byte {end_of_previous}, but the file holds {data_len} data bytes"
        ));
    }
    Ok(())
}

/// The bytes of the regular file at `path`. Anything else (a directory, a FIFO, a
/// socket, a device) is refused before it is opened, as an [`io::ErrorKind::InvalidInput`]
/// error: opening a FIFO blocks until a writer comes, and `/dev/zero` never ends.
pub fn read_regular(path: &Path) -> io::Result<Vec<u8>> {
    let kind = fs::metadata(path)?.file_type();
    if !kind.is_file() {
        let what = if kind.is_dir() { "a directory" } else { "a FIFO, socket or device" };
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("not a regular file but {what}")));
    }
    fs::read(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A safetensors file with the JSON `header` and `data_len` zero bytes of data.
    fn file(header: &str, data_len: usize) -> Vec<u8> {
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend(header.as_bytes());
        bytes.resize(bytes.len() + data_len, 0);
        bytes
    }

    #[test]
    fn accepts_what_safetensors_writes() {
        let data = [0u8; 24];
        let a = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![2, 2], &data[..16]).unwrap();
        let b = safetensors::tensor::TensorView::new(safetensors::Dtype::I64, vec![], &data[16..]).unwrap();
        let metadata = Some(std::collections::HashMap::from([("k".to_string(), "v".to_string())]));
        let bytes = safetensors::serialize([("a", a), ("b", b)], &metadata).unwrap();
        assert_eq!(check(&bytes), Ok(()));
        assert_eq!(check(&file("{}", 0)), Ok(()));
    }

    #[test]
    fn names_every_malformation() {
        let huge = usize::MAX - 3;
        let cases = [
            (vec![1, 0, 0], "3 bytes, shorter than the 8-byte header length".to_string()),
            (u64::MAX.to_le_bytes().to_vec(), format!("header length {} exceeds the safetensors limit", u64::MAX)),
            (file("{}", 0)[..9].to_vec(), "header length 2 runs past the end of the file (9 bytes)".to_string()),
            (file("{\"a\":1}", 0), "the header is not a safetensors table".to_string()),
            (
                file(r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#, 4),
                "tensor `a`: data offsets [4, 0] end before they begin".to_string(),
            ),
            (
                file(&format!(r#"{{"a":{{"dtype":"F32","shape":[{huge},2],"data_offsets":[0,8]}}}}"#), 8),
                format!("tensor `a`: F32 [{huge}, 2] is too large to address"),
            ),
            (
                file(r#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, 8),
                "tensor `a`: F32 [3] needs 12 bytes, its data offsets [0, 8] span 8".to_string(),
            ),
            (
                file(
                    r#"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[3,5]}}"#,
                    5,
                ),
                "tensor `b` begins at data byte 3, leaving bytes 2..3 unused".to_string(),
            ),
            (
                file(
                    r#"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}"#,
                    3,
                ),
                "tensor `b` begins at data byte 1, inside the previous tensor, which ends at 2".to_string(),
            ),
            (
                file(r#"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}"#, 3),
                "the tensors end at data byte 2, but the file holds 3 data bytes".to_string(),
            ),
        ];
        for (bytes, expected) in cases {
            let reason = check(&bytes).unwrap_err();
            assert!(reason.contains(&expected), "{reason:?} should contain {expected:?}");
        }
    }

    #[test]
    fn rejects_an_end_offset_that_overflows_safetensors_own_check() {
        // `buffer_end + 8 + n` overflows inside safetensors 0.4.5 for this end offset: a
        // panic in a debug build (as proc macros are built), where a file must be an error.
        let end = usize::MAX - 10;
        let bytes = file(&format!(r#"{{"a":{{"dtype":"U8","shape":[{end}],"data_offsets":[0,{end}]}}}}"#), 0);
        let reason = check(&bytes).unwrap_err();
        assert!(reason.contains(&format!("the tensors end at data byte {end}, but the file holds 0")), "{reason}");
    }
}
