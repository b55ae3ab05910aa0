//! Fuzz target: `route_path` must never panic, must decode exactly once (a percent-encoded path
//! decodes back to itself), must trim an encoded sub-path, and `same_route` must be an
//! equivalence that ignores ASCII case and empty segments.
#![cfg_attr(feature = "libfuzzer", no_main)]

use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use scim_sidecar::route_path::{route_path, same_route, segments};

fn run(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (sub_path, raw) = text.split_once('\n').unwrap_or(("", &text));
    let decoded = route_path(raw, sub_path);
    assert!(segments(&decoded).all(|s| !s.is_empty() && !s.contains('/')));
    assert!(same_route(&decoded, &decoded));
    assert!(same_route(&decoded, &decoded.to_ascii_uppercase()));
    assert!(same_route(&decoded, &format!("//{decoded}/")));
    let plain = route_path(raw, "");
    assert_eq!(same_route(&plain, &decoded), same_route(&decoded, &plain));
    if sub_path.is_empty() {
        assert_eq!(plain, decoded);
    }
    // Decoded once: an encoded path comes back as it was, and never decodes a second time.
    let encoded = utf8_percent_encode(raw, NON_ALPHANUMERIC).to_string();
    assert_eq!(route_path(&encoded, ""), raw);
    if !sub_path.is_empty() {
        let both = format!("{}{encoded}", utf8_percent_encode(sub_path, NON_ALPHANUMERIC));
        assert_eq!(route_path(&both, sub_path), raw, "sub-path {sub_path:?}");
    }
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
