//! Fuzz target: the HTTP/1 framing guard (`server::h1_guard::Scanner`) must never panic, must
//! refuse only at the final byte of a head (a `\n`), must stay refused, and must judge a byte
//! stream the same however the network splits it into reads.
#![cfg_attr(feature = "libfuzzer", no_main)]

use scim_sidecar::server::h1_guard::{Scanner, MAX_HEAD};

/// Feeds `data` in pieces whose sizes follow `seed`; the refusal offset in `data`, if any.
fn split_feed(data: &[u8], seed: u8, max_head: usize) -> Option<usize> {
    let mut scanner = Scanner::new(max_head);
    let (mut at, mut step) = (0usize, usize::from(seed % 7) + 1);
    while at < data.len() {
        let end = (at + step).min(data.len());
        if let Some(i) = scanner.feed(&data[at..end]) {
            assert!(i < end - at);
            assert_eq!(scanner.feed(b"GET / HTTP/1.1\r\n\r\n"), Some(0), "refused scanners stay refused");
            return Some(at + i);
        }
        at = end;
        step = (step * 5 + usize::from(seed)) % 13 + 1;
    }
    None
}

fn run(data: &[u8]) {
    let Some((&seed, data)) = data.split_first() else { return };
    let whole = Scanner::new(MAX_HEAD).feed(data);
    if let Some(i) = whole {
        assert_eq!(data.get(i), Some(&b'\n'), "refusal must fall on a head's last byte");
    }
    assert_eq!(split_feed(data, seed, MAX_HEAD), whole, "split with seed {seed}");
    let byte_by_byte = {
        let mut s = Scanner::new(MAX_HEAD);
        data.iter().enumerate().find_map(|(i, b)| s.feed(std::slice::from_ref(b)).map(|_| i))
    };
    assert_eq!(byte_by_byte, whole, "byte by byte");
    // Small head limits (the guard gives up following, never panics).
    let _ = split_feed(data, seed, usize::from(seed));
}

#[cfg(feature = "libfuzzer")]
libfuzzer_sys::fuzz_target!(|data: &[u8]| run(data));

#[cfg(not(feature = "libfuzzer"))]
#[path = "replay.rs"]
mod replay;

#[cfg(not(feature = "libfuzzer"))]
fn main() {
    replay::replay(run);
}
