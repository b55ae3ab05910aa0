//! Fuzz target: Entra token mode's parsers of untrusted bytes. A bearer token (`entra::token`)
//! must never panic, must parse only with the JWS shape and an accepted header, and must never
//! verify against a key that did not sign it; a key set (`entra::jwks`) must never panic and is
//! accepted only with a usable key.
#![cfg_attr(feature = "libfuzzer", no_main)]

use std::sync::OnceLock;

use scim_sidecar::entra::jwks::{KeySet, RsaKey};
use scim_sidecar::entra::token::{self, Expected, MAX_TOKEN_BYTES};

fn key() -> &'static RsaKey {
    static KEY: OnceLock<RsaKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let rsa = openssl::rsa::Rsa::generate(2048).expect("rsa key");
        RsaKey { n: rsa.n().to_vec(), e: rsa.e().to_vec() }
    })
}

fn run(data: &[u8]) {
    if let Ok(set) = KeySet::parse(data) {
        assert!(set.usable() >= 1);
    }
    let text = String::from_utf8_lossy(data);
    if let Ok(parsed) = token::parse(&text) {
        assert!(text.len() <= MAX_TOKEN_BYTES);
        assert_eq!(text.matches('.').count(), 2);
        assert!(!parsed.kid.is_empty());
        let expected = Expected {
            issuer: "https://sts.windows.net/3f2a9c71-5b0e-4d8a-9e61-2c7b4f0d8a15/".into(),
            tenant: "3f2a9c71-5b0e-4d8a-9e61-2c7b4f0d8a15".into(),
            audience: scim_sidecar::entra::AUDIENCE.into(),
            skew_secs: 60,
        };
        // Nobody but the holder of the private key (generated in this process) can sign.
        assert!(parsed.verify(key(), &expected, 1_800_000_000).is_err());
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
