//! The IDX format of MNIST (<http://yann.lecun.com/exdb/mnist/>): a 4-byte magic
//! number `00 00 08 <rank>`, `rank` big-endian `u32` dimensions, then the bytes,
//! row-major. Files may be gzipped; the gzip magic `1f 8b` tells them apart.

use std::io::Read;
use std::path::Path;

use flate2::read::GzDecoder;

use crate::Error;
use nn_safetensors::read_regular;

/// The type code of unsigned bytes, the only element type MNIST uses.
const UNSIGNED_BYTE: u8 = 0x08;
/// The first two bytes of every gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

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
/// A missing file or one that is not a regular file (a directory, a FIFO, a device),
/// a corrupt gzip stream, a wrong magic number, an element type other than `u8`, and
/// data shorter or longer than the dimensions declare are all [`Error::Data`] naming
/// the file and what is wrong with it. A gzip stream is unpacked only as far as its
/// IDX header allows, so a small file cannot make it allocate more than it declares.
pub fn read_idx(path: impl AsRef<Path>) -> Result<Idx, Error> {
    let path = path.as_ref();
    let data_error = |reason: String| Error::Data { path: path.to_path_buf(), reason };
    let raw = read_regular(path).map_err(|e| data_error(format!("cannot read the file: {e}")))?;
    parse_file(&raw).map_err(data_error)
}

/// Checks and splits the bytes of an IDX file, plain or gzipped.
fn parse_file(raw: &[u8]) -> Result<Idx, String> {
    if raw.starts_with(&GZIP_MAGIC) {
        parse(&gunzip(raw)?)
    } else {
        parse(raw)
    }
}

/// Unpacks the gzip stream `raw` up to one byte more than its IDX header declares:
/// first the header, then the data it sizes.
fn gunzip(raw: &[u8]) -> Result<Vec<u8>, String> {
    let mut stream = GzDecoder::new(raw);
    let mut unpacked = Vec::new();
    unpack(&mut stream, &mut unpacked, 4)?;
    if let Some(&rank) = unpacked.get(3) {
        unpack(&mut stream, &mut unpacked, 4 * usize::from(rank))?;
    }
    // A malformed header is reported by `parse`, with the bytes unpacked so far.
    let Ok((dims, header_len)) = header(&unpacked) else { return Ok(unpacked) };
    let Some(data_len) = data_len(&dims) else { return Ok(unpacked) };
    unpack(&mut stream, &mut unpacked, data_len.saturating_add(1))?;
    if unpacked.len() - header_len > data_len {
        return Err(format!(
            "the gzip stream unpacks to more than the {data_len} data bytes that dimensions {dims:?} declare"
        ));
    }
    Ok(unpacked)
}

/// Appends up to `bytes` more unpacked bytes of `stream` to `unpacked`.
fn unpack(stream: &mut GzDecoder<&[u8]>, unpacked: &mut Vec<u8>, bytes: usize) -> Result<(), String> {
    let read = stream.take(bytes as u64).read_to_end(unpacked);
    read.map(drop).map_err(|e| format!("corrupt gzip stream: {e}"))
}

/// The dimensions an IDX header declares, and the header's length in bytes.
fn header(bytes: &[u8]) -> Result<(Vec<usize>, usize), String> {
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
    let dims = header.chunks_exact(4).map(|d| u32::from_be_bytes([d[0], d[1], d[2], d[3]]) as usize).collect();
    Ok((dims, header_len))
}

/// The number of data bytes `dims` declare, if it fits in `usize`.
fn data_len(dims: &[usize]) -> Option<usize> {
    dims.iter().try_fold(1usize, |n, &d| n.checked_mul(d))
}

/// Checks and splits the bytes of an (unpacked) IDX file; the error says what is wrong.
fn parse(bytes: &[u8]) -> Result<Idx, String> {
    let (dims, header_len) = header(bytes)?;
    let found = bytes.len() - header_len;
    match data_len(&dims) {
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

    /// `bytes` gzipped.
    fn gzip(bytes: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    /// Mutated IDX files, plain, gzipped after the mutation (so the header's mutations
    /// reach the size cap) and mutated after gzip, are an error or an array, never a panic.
    #[test]
    fn fuzz_idx() {
        let valid = idx_bytes(&[3, 2, 2], &(0..12).collect::<Vec<u8>>());
        nn_fuzz::fuzz("idx", valid.clone(), |bytes| parse_file(bytes).is_ok());
        nn_fuzz::fuzz("idx-gzip", valid, |bytes| parse_file(&gzip(bytes)).is_ok());
        let valid = gzip(&idx_bytes(&[4, 3], &[7; 12]));
        nn_fuzz::fuzz("gzip-stream", valid, |bytes| parse_file(bytes).is_ok());
    }
}
