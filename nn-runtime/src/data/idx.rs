//! The IDX format of MNIST (<http://yann.lecun.com/exdb/mnist/>): a 4-byte magic
//! number `00 00 08 <rank>`, `rank` big-endian `u32` dimensions, then the bytes,
//! row-major. Files may be gzipped; the gzip magic `1f 8b` tells them apart.

use std::fs;
use std::io::Read;
use std::path::Path;

use flate2::read::GzDecoder;

use crate::Error;

/// The type code of unsigned bytes, the only element type MNIST uses.
const UNSIGNED_BYTE: u8 = 0x08;
/// The first two bytes of every gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// The largest buffer reserved from a gzip footer's size field, which a corrupt file may overstate.
const MAX_RESERVE: usize = 1 << 30;

/// An IDX array of unsigned bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idx {
    /// The dimensions, outermost first (`[n, 28, 28]` for MNIST images).
    pub dims: Vec<usize>,
    /// The elements, row-major; exactly the product of `dims` of them.
    pub data: Vec<u8>,
}

/// Reads an IDX file of unsigned bytes, plain or gzipped.
///
/// A missing file, a corrupt gzip stream, a wrong magic number, an element type
/// other than `u8`, and data shorter or longer than the dimensions declare are all
/// [`Error::Data`] naming the file and what is wrong with it.
pub fn read_idx(path: impl AsRef<Path>) -> Result<Idx, Error> {
    let path = path.as_ref();
    let data_error = |reason: String| Error::Data { path: path.to_path_buf(), reason };
    let raw = fs::read(path).map_err(|e| data_error(format!("cannot read the file: {e}")))?;
    if raw.starts_with(&GZIP_MAGIC) {
        let unpacked = gunzip(&raw).map_err(|e| data_error(format!("corrupt gzip stream: {e}")))?;
        parse(&unpacked).map_err(data_error)
    } else {
        parse(&raw).map_err(data_error)
    }
}

fn gunzip(raw: &[u8]) -> std::io::Result<Vec<u8>> {
    // The last four bytes of a gzip file hold the unpacked size (mod 2³²): a capacity hint.
    let footer: [u8; 4] = raw[raw.len().saturating_sub(4)..].try_into().unwrap_or_default();
    let mut unpacked = Vec::with_capacity((u32::from_le_bytes(footer) as usize).min(MAX_RESERVE));
    GzDecoder::new(raw).read_to_end(&mut unpacked)?;
    Ok(unpacked)
}

/// Checks and splits the bytes of an (unpacked) IDX file; the error says what is wrong.
fn parse(bytes: &[u8]) -> Result<Idx, String> {
    let Some(&[zero0, zero1, type_code, rank]) = bytes.first_chunk::<4>() else {
        return Err(format!("not an IDX file: {} bytes, shorter than the 4-byte magic number", bytes.len()));
    };
    if zero0 != 0 || zero1 != 0 {
        let magic = u32::from_be_bytes([zero0, zero1, type_code, rank]);
        return Err(format!("not an IDX file: magic number is {magic:#010x}, expected 0x000008NN"));
    }
    if type_code != UNSIGNED_BYTE {
        return Err(format!(
            "IDX element type {type_code:#04x} ({}) is not supported; only unsigned bytes (0x08) are",
            type_name(type_code)
        ));
    }
    if rank == 0 {
        return Err("IDX rank is 0; an IDX file has at least one dimension".to_string());
    }
    let header_len = 4 + 4 * rank as usize;
    let Some(header) = bytes.get(4..header_len) else {
        return Err(format!(
            "truncated header: rank {rank} needs {header_len} header bytes, the file has {}",
            bytes.len()
        ));
    };
    let dims: Vec<usize> =
        header.chunks_exact(4).map(|d| u32::from_be_bytes([d[0], d[1], d[2], d[3]]) as usize).collect();
    let expected = dims.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    let found = bytes.len() - header_len;
    match expected {
        Some(expected) if expected == found => Ok(Idx { dims, data: bytes[header_len..].to_vec() }),
        Some(expected) if found < expected => {
            Err(format!("truncated: dimensions {dims:?} need {expected} data bytes, the file holds {found}"))
        }
        Some(expected) => Err(format!(
            "{} unexpected bytes after the {expected} data bytes that dimensions {dims:?} declare",
            found - expected
        )),
        None => Err(format!("dimensions {dims:?} are too large")),
    }
}

fn type_name(code: u8) -> &'static str {
    match code {
        0x09 => "signed byte",
        0x0B => "i16",
        0x0C => "i32",
        0x0D => "f32",
        0x0E => "f64",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx_bytes(dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut bytes = vec![0, 0, UNSIGNED_BYTE, dims.len() as u8];
        dims.iter().for_each(|d| bytes.extend(d.to_be_bytes()));
        bytes.extend(data);
        bytes
    }

    #[test]
    fn parses_dims_and_data() {
        let idx = parse(&idx_bytes(&[2, 3], &[1, 2, 3, 4, 5, 6])).unwrap();
        assert_eq!(idx, Idx { dims: vec![2, 3], data: vec![1, 2, 3, 4, 5, 6] });
    }

    #[test]
    fn every_malformation_is_named() {
        let cases: [(Vec<u8>, &str); 7] = [
            (vec![0, 0], "shorter than the 4-byte magic"),
            (vec![0x50, 0x4b, 3, 4, 0, 0], "magic number is 0x504b0304"),
            (vec![0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0, 0], "0x0d (f32) is not supported"),
            (vec![0, 0, 8, 0], "rank is 0"),
            (vec![0, 0, 8, 3, 0, 0, 0, 1], "truncated header: rank 3 needs 16"),
            (idx_bytes(&[2, 3], &[1, 2, 3, 4, 5]), "need 6 data bytes, the file holds 5"),
            (idx_bytes(&[2, 3], &[0; 8]), "2 unexpected bytes"),
        ];
        for (bytes, expected) in cases {
            let reason = parse(&bytes).unwrap_err();
            assert!(reason.contains(expected), "{reason:?} should contain {expected:?}");
        }
    }
}
