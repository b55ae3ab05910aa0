//! Fuzz target: PATCH parse + apply must never panic and must not change the input on error.
#![cfg_attr(feature = "libfuzzer", no_main)]

use scim_sidecar::scim::patch::PatchRequest;
use scim_sidecar::scim::ResourceType;

fn run(data: &[u8]) {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    let Ok(req) = PatchRequest::parse(&body) else { return };
    let user =
        serde_json::json!({"id":"1","userName":"u","emails":[{"value":"a@b","type":"work"}],"active":true});
    let group = serde_json::json!({"id":"g","displayName":"G","members":[{"value":"m1"},{"value":"m2"}]});
    for (rt, res) in [(ResourceType::User, &user), (ResourceType::Group, &group)] {
        let before = res.clone();
        let _ = req.apply(rt, res);
        assert_eq!(&before, res);
        let _ = req.touches("members");
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
