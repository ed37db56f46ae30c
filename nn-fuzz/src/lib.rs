//! Fuzzing of nn's file parsers on stable Rust: proptest feeds each parser valid files
//! with a few random mutations (flipped, overwritten, inserted and deleted bytes, cuts,
//! duplicated spans, and numbers replaced by extreme ones), and a panic fails the test.
//!
//! A test calls [`fuzz`] with a valid file and the parser. It runs [`cases`] inputs:
//! a few thousand by default (the short run of `cargo test`), or `NN_FUZZ_CASES` of
//! them, e.g. `NN_FUZZ_CASES=1000000` in a release build for the long run. Each run
//! prints how many inputs it fed and how many the parser accepted.

#![deny(missing_docs)]

use std::cell::Cell;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// Inputs per parser when `NN_FUZZ_CASES` is not set: a few seconds in a debug build.
pub const DEFAULT_CASES: u32 = 2_000;

/// Inputs per parser: `NN_FUZZ_CASES` if set, else [`DEFAULT_CASES`].
///
/// # Panics
/// If `NN_FUZZ_CASES` is set but is not a count.
pub fn cases() -> u32 {
    match std::env::var("NN_FUZZ_CASES") {
        Ok(text) => text.parse().unwrap_or_else(|_| panic!("NN_FUZZ_CASES is {text:?}, not a count")),
        Err(_) => DEFAULT_CASES,
    }
}

/// Numbers that break size arithmetic, written over a run of digits in a header.
const EXTREMES: [&str; 15] = [
    "0",
    "1",
    "-1",
    "255",
    "2147483647",
    "4294967295",
    "4294967296",
    "9007199254740993",
    "4611686018427387903",
    "9223372036854775807",
    "18446744073709551612",
    "18446744073709551615",
    "18446744073709551616",
    "1e400",
    "NaN",
];

/// Bytes worth writing over another: zeros, all-ones, sign bits and JSON punctuation.
const SPECIAL_BYTES: [u8; 12] = [0, 0xff, 0x7f, 0x80, 0x01, b'"', b'{', b'}', b'[', b']', b',', b':'];

/// One edit of a file; positions are taken modulo its length.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Special(usize, usize),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Truncate(usize),
    Duplicate(usize, usize),
    Number(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1..=255u8).prop_map(|(at, bits)| Mutation::Flip(at, bits)),
        (any::<usize>(), any::<usize>()).prop_map(|(at, which)| Mutation::Special(at, which)),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..8)).prop_map(|(at, bytes)| Mutation::Insert(at, bytes)),
        (any::<usize>(), 1..16usize).prop_map(|(at, len)| Mutation::Delete(at, len)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), 1..32usize).prop_map(|(at, len)| Mutation::Duplicate(at, len)),
        (any::<usize>(), any::<usize>()).prop_map(|(which_run, which)| Mutation::Number(which_run, which)),
    ]
}

/// `bytes` with `mutation` applied.
fn apply(mut bytes: Vec<u8>, mutation: &Mutation) -> Vec<u8> {
    if bytes.is_empty() {
        return bytes;
    }
    let len = bytes.len();
    match *mutation {
        Mutation::Flip(at, bits) => bytes[at % len] ^= bits,
        Mutation::Special(at, which) => bytes[at % len] = SPECIAL_BYTES[which % SPECIAL_BYTES.len()],
        Mutation::Insert(at, ref new) => {
            let at = at % (len + 1);
            bytes.splice(at..at, new.iter().copied());
        }
        Mutation::Delete(at, n) => {
            let at = at % len;
            bytes.drain(at..(at + n).min(len));
        }
        Mutation::Truncate(at) => bytes.truncate(at % len),
        Mutation::Duplicate(at, n) => {
            let at = at % len;
            let span = bytes[at..(at + n).min(len)].to_vec();
            bytes.splice(at..at, span);
        }
        Mutation::Number(which_run, which) => {
            let runs = digit_runs(&bytes);
            if !runs.is_empty() {
                let (start, end) = runs[which_run % runs.len()];
                bytes.splice(start..end, EXTREMES[which % EXTREMES.len()].bytes());
            }
        }
    }
    bytes
}

/// The `[start, end)` spans of ASCII digits in `bytes`.
fn digit_runs(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut start = None;
    for (i, b) in bytes.iter().chain(std::iter::once(&b' ')).enumerate() {
        match (b.is_ascii_digit(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                runs.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    runs
}

/// `valid` with one to eight random mutations.
pub fn mutated(valid: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(mutation(), 1..=8).prop_map(move |mutations| mutations.iter().fold(valid.clone(), apply))
}

/// Feeds [`cases`] mutations of `valid` to `parse`, which returns whether it accepted the
/// input, and prints the count; a panic in `parse` fails with the input that caused it.
///
/// # Panics
/// If `parse` panics on an input (the fuzzing found a bug), or if it rejects `valid` itself.
pub fn fuzz(name: &str, valid: Vec<u8>, parse: impl Fn(&[u8]) -> bool) {
    assert!(parse(&valid), "fuzz {name}: the valid file itself is rejected");
    let cases = cases();
    let config = Config { cases, failure_persistence: None, max_shrink_iters: 10_000, ..Config::default() };
    let (fed, accepted) = (Cell::new(0u64), Cell::new(0u64));
    TestRunner::new(config)
        .run(&mutated(valid), |input| {
            fed.set(fed.get() + 1);
            accepted.set(accepted.get() + u64::from(parse(&input)));
            Ok(())
        })
        .unwrap_or_else(|failure| panic!("fuzz {name}: {failure}"));
    eprintln!("fuzz {name}: {} inputs, {} accepted, 0 panics", fed.get(), accepted.get());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_edit_where_they_say() {
        let bytes = b"ab 12 cd 345".to_vec();
        assert_eq!(apply(bytes.clone(), &Mutation::Flip(13, 0x20)), b"aB 12 cd 345");
        assert_eq!(apply(bytes.clone(), &Mutation::Truncate(4)), b"ab 1");
        assert_eq!(apply(bytes.clone(), &Mutation::Delete(2, 4)), b"abcd 345");
        assert_eq!(apply(bytes.clone(), &Mutation::Insert(12, vec![b'!'])), b"ab 12 cd 345!");
        assert_eq!(apply(bytes.clone(), &Mutation::Duplicate(0, 2)), b"abab 12 cd 345");
        assert_eq!(apply(bytes.clone(), &Mutation::Number(1, 2)), b"ab 12 cd -1");
        assert_eq!(apply(bytes.clone(), &Mutation::Number(0, 14)), b"ab NaN cd 345");
        assert_eq!(digit_runs(&bytes), [(3, 5), (9, 12)]);
    }

    #[test]
    fn a_panicking_parser_fails_the_run() {
        let result = std::panic::catch_unwind(|| fuzz("panics", b"{}".to_vec(), |b| b.len() == 2 || panic!("bug")));
        assert!(result.is_err());
    }
}
