//! Fuzz target: filter parsing must never panic, and print → parse must be the identity.
#![cfg_attr(feature = "libfuzzer", no_main)]

use scim_sidecar::scim::filter::{matches, parse_filter, plan, validate};
use scim_sidecar::scim::ResourceType;

fn run(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(f) = parse_filter(s) {
        let printed = f.to_string();
        assert_eq!(parse_filter(&printed).ok().as_ref(), Some(&f), "round trip of {s:?} via {printed:?}");
        let user = serde_json::json!({"id":"1","userName":"u","emails":[{"value":"a@b","type":"work"}],"active":true});
        for rt in [ResourceType::User, ResourceType::Group] {
            if validate(rt, &f).is_ok() {
                let _ = matches(&f, rt, &user);
                let _ = plan(rt, &f);
            }
        }
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
