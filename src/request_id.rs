//! `X-Request-Id`: one identifier per request, shared by the logs, Grafana and the client.
//!
//! A request arriving with a well-formed `X-Request-Id` (from a load balancer, an ingress or the
//! IdP) keeps it; any other request gets a fresh UUIDv4. The identifier is forwarded to Grafana in
//! place of whatever the client sent, attached to every log event of the request (the `request`
//! span), and returned on the response, so one id follows a request through the ingress, the
//! sidecar and Grafana.
//!
//! Well-formed means 1 to [`MAX_LEN`] characters of `A-Z a-z 0-9 - _ . : / + =` and `@`: what
//! UUIDs, Envoy/nginx ids, W3C trace ids and base64 values use, and nothing a log line or a
//! header could be split on. The id is a correlation aid chosen by whoever sent the request, not a
//! trust anchor: a client can repeat another request's id, so nothing authorises on it.

use http::header::HeaderName;
use http::{HeaderMap, HeaderValue};

/// The header, lowercase as `http` stores it.
pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest accepted client-sent id.
pub const MAX_LEN: usize = 128;

/// Whether `value` may be kept as the request's id.
pub fn well_formed(value: &[u8]) -> bool {
    (1..=MAX_LEN).contains(&value.len())
        && value.iter().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'/' | b'+' | b'=' | b'@')
        })
}

/// The request's id: the one in `headers` when there is exactly one and it is well-formed, else a
/// new UUIDv4. `headers` is left holding exactly that id.
pub fn assign(headers: &mut HeaderMap) -> HeaderValue {
    let mut sent = headers.get_all(&X_REQUEST_ID).iter();
    let kept = match (sent.next(), sent.next()) {
        (Some(one), None) if well_formed(one.as_bytes()) => Some(one.clone()),
        _ => None,
    };
    let id = kept.unwrap_or_else(generate);
    headers.insert(X_REQUEST_ID.clone(), id.clone());
    id
}

/// A fresh id (a hyphenated UUIDv4).
pub fn generate() -> HeaderValue {
    let text = uuid::Uuid::new_v4().hyphenated().to_string();
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("unknown"))
}

/// The id as log text (always ASCII: it was checked or generated).
pub fn as_str(id: &HeaderValue) -> &str {
    id.to_str().unwrap_or("unknown")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&[u8]]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(X_REQUEST_ID.clone(), HeaderValue::from_bytes(v).unwrap());
        }
        map
    }

    #[test]
    fn a_well_formed_id_is_kept() {
        for id in [
            "abc",
            "7f9c1a2e-0b1d-4c1e-9d3a-0e5f2b8c4d6a",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-01",
            "a/b+c=@d.e:f_g",
        ] {
            let mut map = headers(&[id.as_bytes()]);
            assert_eq!(assign(&mut map), id);
            assert_eq!(map.get_all(&X_REQUEST_ID).iter().count(), 1);
        }
    }

    #[test]
    fn missing_repeated_or_malformed_ids_are_replaced() {
        let long = "a".repeat(MAX_LEN + 1);
        let cases: [&[&[u8]]; 6] =
            [&[], &[b""], &[b"a b"], &[b"a\"b"], &[long.as_bytes()], &[b"one", b"two"]];
        for sent in cases {
            let mut map = headers(sent);
            let id = assign(&mut map);
            assert!(uuid::Uuid::parse_str(as_str(&id)).is_ok(), "{sent:?} → {id:?}");
            assert_eq!(map.get_all(&X_REQUEST_ID).iter().collect::<Vec<_>>(), [&id]);
        }
        let mut map = headers(&[b"\xc3\xa9t\xc3\xa9"]);
        assert_ne!(assign(&mut map).as_bytes(), b"\xc3\xa9t\xc3\xa9");
    }

    #[test]
    fn the_longest_accepted_id_is_kept() {
        let id = "z".repeat(MAX_LEN);
        assert_eq!(assign(&mut headers(&[id.as_bytes()])), id.as_str());
    }
}
