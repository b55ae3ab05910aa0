//! Token verification against generated RSA keys: every check, and arbitrary bytes never panic.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::sign::Signer;
use proptest::prelude::*;
use serde_json::{json, Value};

use super::jwks::RsaKey;
use super::token::{parse, Expected, TokenError, MAX_TOKEN_BYTES};

const TENANT: &str = "3f2a9c71-5b0e-4d8a-9e61-2c7b4f0d8a15";
const NOW: u64 = 1_800_000_000;

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn key() -> (PKey<Private>, RsaKey) {
    let rsa = Rsa::generate(2048).unwrap();
    let public = RsaKey { n: rsa.n().to_vec(), e: rsa.e().to_vec() };
    (PKey::from_rsa(rsa).unwrap(), public)
}

fn sign(key: &PKey<Private>, header: &Value, claims: &Value) -> String {
    let input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
    let mut signer = Signer::new(MessageDigest::sha256(), key).unwrap();
    signer.update(input.as_bytes()).unwrap();
    format!("{input}.{}", b64(&signer.sign_to_vec().unwrap()))
}

fn header() -> Value {
    json!({"typ": "JWT", "alg": "RS256", "kid": "k1", "x5t": "k1"})
}

fn claims() -> Value {
    json!({
        "aud": super::AUDIENCE,
        "iss": format!("https://sts.windows.net/{TENANT}/"),
        "tid": TENANT,
        "nbf": NOW - 60,
        "exp": NOW + 3600,
        "appid": "1b5c6d2e-aaaa-4bbb-8ccc-0d1e2f3a4b5c",
        "oid": "9d8e7f6a-0000-4111-8222-333344445555",
    })
}

fn expected() -> Expected {
    Expected {
        issuer: format!("https://sts.windows.net/{TENANT}/"),
        tenant: TENANT.into(),
        audience: super::AUDIENCE.into(),
        skew_secs: 60,
    }
}

fn check(token: &str, key: &RsaKey) -> Result<String, TokenError> {
    let parsed = parse(token)?;
    parsed.verify(key, &expected(), NOW).map(|v| v.actor)
}

fn with(changes: Value) -> Value {
    let mut c = claims();
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v.clone();
        }
    }
    c
}

#[test]
fn a_correct_token_names_its_app() {
    let (private, public) = key();
    let token = sign(&private, &header(), &claims());
    assert_eq!(parse(&token).unwrap().kid, "k1");
    assert_eq!(check(&token, &public).unwrap(), "entra:1b5c6d2e-aaaa-4bbb-8ccc-0d1e2f3a4b5c");
    // No appid: the object id; an audience list holding ours is accepted.
    let token = sign(&private, &header(), &with(json!({"appid": null, "aud": ["x", super::AUDIENCE]})));
    assert_eq!(check(&token, &public).unwrap(), "entra:9d8e7f6a-0000-4111-8222-333344445555");
    // A claim unfit for a log line is not used as the actor.
    let token = sign(&private, &header(), &with(json!({"appid": "a b\n", "oid": null, "sub": null})));
    assert_eq!(check(&token, &public).unwrap(), format!("entra:{TENANT}"));
}

#[test]
fn each_claim_check_refuses() {
    let (private, public) = key();
    let cases = [
        (json!({"iss": format!("https://sts.windows.net/{TENANT}")}), TokenError::Issuer),
        (json!({"iss": format!("https://login.microsoftonline.com/{TENANT}/v2.0")}), TokenError::Issuer),
        (json!({"tid": "c0ffee00-1111-4222-8333-944455556666"}), TokenError::Tenant),
        (json!({"tid": TENANT.to_uppercase()}), TokenError::Tenant),
        (json!({"aud": "00000003-0000-0000-c000-000000000000"}), TokenError::Audience),
        (json!({"aud": []}), TokenError::Audience),
        (json!({"exp": NOW - 61}), TokenError::Expired),
        (json!({"nbf": NOW + 61}), TokenError::NotYetValid),
        // Wrong JSON types are refused, never skipped.
        (json!({"exp": (NOW + 3600).to_string()}), TokenError::Claims),
        (json!({"nbf": (NOW + 99_999).to_string()}), TokenError::Claims),
        (json!({"exp": null}), TokenError::Claims),
        (json!({"tid": null}), TokenError::Claims),
        (json!({"aud": 5}), TokenError::Claims),
    ];
    for (changes, want) in cases {
        let token = sign(&private, &header(), &with(changes.clone()));
        assert_eq!(check(&token, &public), Err(want), "{changes}");
    }
    // Within the skew both ends still pass; no nbf is fine.
    for changes in [json!({"exp": NOW - 59}), json!({"nbf": NOW + 59}), json!({"nbf": null})] {
        let token = sign(&private, &header(), &with(changes.clone()));
        assert!(check(&token, &public).is_ok(), "{changes}");
    }
}

#[test]
fn signatures_and_algorithms() {
    let (private, public) = key();
    let (other, _) = key();
    let token = sign(&other, &header(), &claims());
    assert_eq!(check(&token, &public), Err(TokenError::Signature), "signed by another key");
    // A changed payload under the original signature.
    let good = sign(&private, &header(), &claims());
    let parts: Vec<&str> = good.split('.').collect();
    let forged =
        format!("{}.{}.{}", parts[0], b64(with(json!({"tid": "x"})).to_string().as_bytes()), parts[2]);
    assert_eq!(check(&forged, &public), Err(TokenError::Signature));
    for alg in ["none", "HS256", "RS384", "PS256", "ES256", "rs256"] {
        let h = json!({"alg": alg, "kid": "k1"});
        let token = format!("{}.{}.", b64(h.to_string().as_bytes()), b64(claims().to_string().as_bytes()));
        assert_eq!(parse(&token).err(), Some(TokenError::Algorithm), "{alg}");
    }
    assert_eq!(parse(&sign(&private, &json!({"alg": "RS256"}), &claims())).err(), Some(TokenError::NoKeyId));
    assert_eq!(
        parse(&sign(&private, &json!({"alg": "RS256", "kid": ""}), &claims())).err(),
        Some(TokenError::NoKeyId)
    );
    assert_eq!(
        parse(&sign(&private, &json!({"alg": "RS256", "kid": 5}), &claims())).err(),
        Some(TokenError::Malformed)
    );
    let crit = json!({"alg": "RS256", "kid": "k1", "crit": ["exp"]});
    assert_eq!(parse(&sign(&private, &crit, &claims())).err(), Some(TokenError::Malformed));
    // An empty signature with an accepted algorithm.
    let unsigned = good.rsplit_once('.').unwrap().0.to_string() + ".";
    assert_eq!(parse(&unsigned).err(), Some(TokenError::Signature));
}

#[test]
fn malformed_tokens() {
    let (private, _) = key();
    let good = sign(&private, &header(), &claims());
    let huge = format!("{good}{}", "A".repeat(MAX_TOKEN_BYTES));
    for token in [
        "",
        ".",
        "..",
        "a.b",
        "a.b.c.d",
        "eyJ!!!.eyJ.sig",
        "eyJhbGciOiJSUzI1NiJ9=.e30.c2ln",
        &format!("{}.e30.c2ln", b64(b"not json")),
        &format!("{}.e30.c2ln", b64(b"[1,2]")),
        &format!("{}.e30.c2ln", b64(br#"{"alg":"RS256","alg":"RS256","kid":"k1"}"#)),
        &huge,
    ] {
        assert_eq!(parse(token).err(), Some(TokenError::Malformed), "{:.80}", token);
    }
}

proptest! {
    #[test]
    fn arbitrary_tokens_never_panic(text in ".{0,400}", parts in proptest::collection::vec("[A-Za-z0-9_-]{0,60}", 3)) {
        let (_, public) = fixed_key();
        if let Ok(p) = parse(&text) {
            let _ = p.verify(public, &expected(), NOW);
        }
        let joined = parts.join(".");
        if let Ok(p) = parse(&joined) {
            let _ = p.verify(public, &expected(), NOW);
        }
    }
}

fn fixed_key() -> &'static (PKey<Private>, RsaKey) {
    static KEY: std::sync::OnceLock<(PKey<Private>, RsaKey)> = std::sync::OnceLock::new();
    KEY.get_or_init(key)
}

#[test]
fn a_header_or_claims_array_is_not_an_object() {
    let (private, public) = key();
    let h = json!(["RS256", "k1", null]);
    let token = format!("{}.{}.c2ln", b64(h.to_string().as_bytes()), b64(claims().to_string().as_bytes()));
    assert_eq!(parse(&token).err(), Some(TokenError::Malformed));
    let c = claims();
    let as_array = json!([c["iss"], c["aud"], c["tid"], c["exp"], c["nbf"], null, null, null, null]);
    let token = sign(&private, &header(), &as_array);
    assert_eq!(check(&token, &public), Err(TokenError::Claims));
}
