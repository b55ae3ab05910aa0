//! Header hygiene for forwarded messages: hop-by-hop removal, `X-Forwarded-*`, framing checks.
//!
//! Pure functions over [`HeaderMap`]s, so they are tested without sockets. Hop-by-hop fields are
//! those of RFC 9110 §7.6.1 (plus the legacy `Keep-Alive` and `Proxy-Connection`) and every field
//! named in `Connection`. This module does not send anything anywhere.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};

/// Fields that only describe the current connection and must never be forwarded
/// (RFC 9110 §7.6.1; `Keep-Alive` and `Proxy-Connection` are pre-standard but still seen).
const HOP_BY_HOP: [HeaderName; 9] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
];

pub const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
pub const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
pub const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// Most field names a `Connection` header may list before the rest are ignored (input cap).
const MAX_CONNECTION_TOKENS: usize = 64;

/// Comma-separated tokens of every `Connection` field, lower-cased, capped in number.
fn connection_tokens(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .take(MAX_CONNECTION_TOKENS)
        .collect()
}

/// Whether this HTTP/1.1 request asks for a protocol upgrade (`Connection: upgrade` + `Upgrade`).
pub fn is_upgrade_request(headers: &HeaderMap) -> bool {
    headers.contains_key(header::UPGRADE) && connection_tokens(headers).iter().any(|t| t == "upgrade")
}

/// Removes hop-by-hop fields. With `keep_upgrade`, `Upgrade` and `Connection: upgrade` survive,
/// because a WebSocket handshake needs them on the next hop too.
pub fn strip_hop_by_hop(headers: &mut HeaderMap, keep_upgrade: bool) {
    for token in connection_tokens(headers) {
        if keep_upgrade && token == "upgrade" {
            continue;
        }
        if let Ok(name) = HeaderName::from_bytes(token.as_bytes()) {
            headers.remove(name);
        }
    }
    let upgrade = if keep_upgrade { headers.get(header::UPGRADE).cloned() } else { None };
    for name in &HOP_BY_HOP {
        headers.remove(name);
    }
    if let Some(upgrade) = upgrade {
        headers.insert(header::UPGRADE, upgrade);
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    }
}

/// Appends `value` to a list-valued field, folding existing lines into one `a, b, value` line.
pub fn append_list(headers: &mut HeaderMap, name: &HeaderName, value: &str) {
    let existing: Vec<&[u8]> = headers.get_all(name).iter().map(HeaderValue::as_bytes).collect();
    let mut joined: Vec<u8> = Vec::new();
    for part in existing {
        joined.extend_from_slice(part);
        joined.extend_from_slice(b", ");
    }
    joined.extend_from_slice(value.as_bytes());
    if let Ok(v) = HeaderValue::from_bytes(&joined) {
        headers.insert(name.clone(), v);
    }
}

/// Why a request's message framing is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    #[error("both transfer-encoding and content-length")]
    TransferEncodingWithLength,
    #[error("transfer-encoding other than chunked")]
    UnsupportedTransferEncoding,
    #[error("conflicting or invalid content-length")]
    BadContentLength,
}

/// Refuses framing shapes that let two parsers disagree on where a request ends (smuggling).
///
/// # Errors
/// A [`FramingError`] naming the first problem found.
pub fn check_framing(headers: &HeaderMap) -> Result<(), FramingError> {
    let te: Vec<&HeaderValue> = headers.get_all(header::TRANSFER_ENCODING).iter().collect();
    let has_cl = headers.contains_key(header::CONTENT_LENGTH);
    if !te.is_empty() {
        if has_cl {
            return Err(FramingError::TransferEncodingWithLength);
        }
        let only_chunked = te.len() == 1 && te[0].as_bytes().trim_ascii().eq_ignore_ascii_case(b"chunked");
        if !only_chunked {
            return Err(FramingError::UnsupportedTransferEncoding);
        }
    }
    let mut lengths =
        headers.get_all(header::CONTENT_LENGTH).iter().flat_map(|v| v.as_bytes().split(|b| *b == b','));
    if let Some(first) = lengths.next() {
        let parse = |raw: &[u8]| -> Option<u64> {
            let raw = raw.trim_ascii();
            if raw.is_empty() || raw.len() > 19 || !raw.iter().all(u8::is_ascii_digit) {
                return None;
            }
            std::str::from_utf8(raw).ok()?.parse().ok()
        };
        let first = parse(first).ok_or(FramingError::BadContentLength)?;
        for other in lengths {
            if parse(other) != Some(first) {
                return Err(FramingError::BadContentLength);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn strips_standard_and_connection_named_fields() {
        let mut h = map(&[
            ("connection", "close, X-Secret"),
            ("x-secret", "1"),
            ("keep-alive", "timeout=5"),
            ("te", "trailers"),
            ("proxy-authorization", "Basic eA=="),
            ("upgrade", "websocket"),
            ("accept", "*/*"),
        ]);
        strip_hop_by_hop(&mut h, false);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("accept"));
    }

    #[test]
    fn keeps_upgrade_for_handshakes() {
        let mut h = map(&[("connection", "keep-alive, Upgrade"), ("upgrade", "websocket"), ("x-a", "1")]);
        assert!(is_upgrade_request(&h));
        strip_hop_by_hop(&mut h, true);
        assert_eq!(h["upgrade"], "websocket");
        assert_eq!(h["connection"], "upgrade");
        assert!(!is_upgrade_request(&map(&[("upgrade", "websocket")])));
    }

    #[test]
    fn appends_to_lists() {
        let mut h = map(&[("x-forwarded-for", "1.1.1.1"), ("x-forwarded-for", "2.2.2.2")]);
        append_list(&mut h, &X_FORWARDED_FOR, "3.3.3.3");
        assert_eq!(h["x-forwarded-for"], "1.1.1.1, 2.2.2.2, 3.3.3.3");
        let mut empty = HeaderMap::new();
        append_list(&mut empty, &X_FORWARDED_PROTO, "https");
        assert_eq!(empty["x-forwarded-proto"], "https");
    }

    #[test]
    fn framing_rules() {
        assert_eq!(check_framing(&map(&[("transfer-encoding", "chunked")])), Ok(()));
        assert_eq!(check_framing(&map(&[("content-length", "5"), ("content-length", "5")])), Ok(()));
        assert_eq!(
            check_framing(&map(&[("transfer-encoding", "chunked"), ("content-length", "5")])),
            Err(FramingError::TransferEncodingWithLength)
        );
        for te in ["gzip, chunked", "gzip", "chunked, chunked"] {
            assert_eq!(
                check_framing(&map(&[("transfer-encoding", te)])),
                Err(FramingError::UnsupportedTransferEncoding),
                "{te}"
            );
        }
        for cl in [
            &[("content-length", "5"), ("content-length", "6")][..],
            &[("content-length", "5, 6")],
            &[("content-length", "+5")],
        ] {
            assert_eq!(check_framing(&map(cl)), Err(FramingError::BadContentLength));
        }
    }
}
