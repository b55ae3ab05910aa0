//! Fuzz target: the SAML structural screen (`login_gate::verify::structure::inspect`) must never
//! panic, and what it accepts must have the shape it promises: one assertion, plaintext with an
//! `ID` or encrypted, no DTD or processing instruction, signatures only where allowed.
#![cfg_attr(feature = "libfuzzer", no_main)]

use scim_sidecar::login_gate::verify::structure::{inspect, Root};

fn run(data: &[u8]) {
    let Ok(xml) = std::str::from_utf8(data) else { return };
    if let Ok(shape) = inspect(xml, Root::Response) {
        assert_eq!(shape.encrypted, shape.assertion_id.is_none(), "{shape:?}");
        assert!(!xml.contains("<!DOCTYPE") && !xml.contains("<!ENTITY"), "DTD accepted");
        assert!(xml.contains("Assertion"));
        if shape.assertion_signed || shape.response_signed {
            assert!(xml.contains("Signature"));
        }
    }
    if let Ok(shape) = inspect(xml, Root::Assertion) {
        assert!(!shape.response_signed && !shape.encrypted, "{shape:?}");
        assert!(shape.assertion_id.is_some());
        assert!(!xml.contains("<!DOCTYPE") && !xml.contains("<!ENTITY"), "DTD accepted");
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
