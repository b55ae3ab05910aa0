//! Fuzz target: the ACS form reader (`login_gate::form`) must never panic, must read the first
//! `SAMLResponse` exactly as Go's `PostForm.Get` would, must refuse any `SAMLart` (body or query),
//! and must round-trip a URL-encoded value; the value then goes through base64 decoding and the
//! structural screen as the gate does, which must not panic either.
#![cfg_attr(feature = "libfuzzer", no_main)]

use scim_sidecar::login_gate::form::{check_head, saml_response, FormError};
use scim_sidecar::login_gate::verify::decode_saml_response;
use scim_sidecar::login_gate::verify::structure::{inspect, Root};

fn run(data: &[u8]) {
    // Layout: content type, a newline, the query, a newline, the body.
    let mut parts = data.splitn(3, |b| *b == b'\n');
    let (ct, query, body) =
        (parts.next().unwrap_or_default(), parts.next().unwrap_or_default(), parts.next());
    let body = body.unwrap_or(data);
    let pairs: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    match saml_response(body) {
        Ok(value) => {
            assert!(!pairs.iter().any(|(k, _)| k == "SAMLart"));
            let first = pairs.iter().find(|(k, _)| k == "SAMLResponse").map(|(_, v)| v.as_str());
            assert_eq!(first, Some(value.as_ref()));
            if let Ok(xml) = decode_saml_response(&value) {
                let _ = inspect(&xml, Root::Response);
            }
        }
        Err(FormError::Artifact) => assert!(pairs.iter().any(|(k, _)| k == "SAMLart")),
        Err(FormError::NoResponse) => assert!(!pairs.iter().any(|(k, _)| k == "SAMLResponse")),
        Err(FormError::NotUrlEncoded) => panic!("the body reader never judges the media type"),
    }
    // Round trip: any value, URL-encoded among other fields, reads back unchanged.
    let value = String::from_utf8_lossy(body);
    let encoded = form_urlencoded::Serializer::new(String::new())
        .append_pair("RelayState", &value)
        .append_pair("SAMLResponse", &value)
        .append_pair("SAMLResponse", "second")
        .finish();
    assert_eq!(saml_response(encoded.as_bytes()).ok().as_deref(), Some(value.as_ref()));
    // The head: media type and query, as far as `http` accepts them.
    let uri = format!("/saml/acs?{}", String::from_utf8_lossy(query));
    let mut req = http::Request::post(uri.as_str());
    if let Ok(ct) = http::HeaderValue::from_bytes(ct) {
        req = req.header(http::header::CONTENT_TYPE, ct);
    }
    if let Ok(req) = req.body(()) {
        let (head, ()) = req.into_parts();
        let verdict = check_head(&head);
        let artifact = form_urlencoded::parse(head.uri.query().unwrap_or_default().as_bytes())
            .any(|(k, _)| k == "SAMLart");
        if artifact {
            assert_ne!(verdict, Ok(()));
        }
        if verdict.is_ok() {
            let media = head.headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
            let essence = media.and_then(|m| m.split(';').next()).map(str::trim);
            assert!(essence.is_some_and(|e| e.eq_ignore_ascii_case("application/x-www-form-urlencoded")));
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
