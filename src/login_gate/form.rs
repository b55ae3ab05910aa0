//! Which part of an ACS post Grafana reads, so that the gate verifies exactly that and nothing
//! else stands in for it.
//!
//! Grafana's SAML service provider (crewjam/saml) takes the response from the parsed form body
//! (`PostForm`), which Go fills only for `application/x-www-form-urlencoded` bodies (or, once
//! something calls `ParseMultipartForm`, for multipart ones), and it resolves a `SAMLart`
//! artifact, from the body or the query string, before it looks at any `SAMLResponse`. A post
//! the gate read one way and Grafana another could carry an allowed person's response for the gate
//! and a refused person's for Grafana. So the gate accepts only the shape browsers send for the
//! HTTP-POST binding: a URL-encoded body, no artifact anywhere. Within such a body both read the
//! first `SAMLResponse` (Go's `Values.Get` and this module alike), so the body is forwarded as is.

use std::borrow::Cow;

use http::header::CONTENT_TYPE;
use http::request::Parts;

/// Why a post is not one the gate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormError {
    /// The body is not `application/x-www-form-urlencoded`.
    NotUrlEncoded,
    /// A `SAMLart` field (artifact binding), which Grafana would resolve instead of the response.
    Artifact,
    /// No `SAMLResponse` field in the body.
    NoResponse,
}

/// Checks the request head: a URL-encoded body (the media type compared as Go's
/// `mime.ParseMediaType` does, ignoring case and parameters) and no `SAMLart` in the query.
pub fn check_head(parts: &Parts) -> Result<(), FormError> {
    let media_type = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim)
        .unwrap_or_default();
    if !media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(FormError::NotUrlEncoded);
    }
    let query = parts.uri.query().unwrap_or_default();
    if has_artifact(query.as_bytes()) {
        return Err(FormError::Artifact);
    }
    Ok(())
}

/// The first `SAMLResponse` of a URL-encoded `body`, refusing a body with a `SAMLart` field.
pub fn saml_response(body: &[u8]) -> Result<Cow<'_, str>, FormError> {
    if has_artifact(body) {
        return Err(FormError::Artifact);
    }
    form_urlencoded::parse(body)
        .find(|(k, _)| k == "SAMLResponse")
        .map(|(_, v)| v)
        .ok_or(FormError::NoResponse)
}

fn has_artifact(form: &[u8]) -> bool {
    form_urlencoded::parse(form).any(|(k, _)| k == "SAMLart")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(content_type: Option<&str>, uri: &str) -> Parts {
        let mut req = http::Request::post(uri);
        if let Some(ct) = content_type {
            req = req.header(CONTENT_TYPE, ct);
        }
        req.body(()).unwrap().into_parts().0
    }

    #[test]
    fn only_url_encoded_posts_without_artifacts_are_read() {
        let form = "application/x-www-form-urlencoded";
        assert_eq!(check_head(&head(Some(form), "/saml/acs")), Ok(()));
        assert_eq!(
            check_head(&head(Some("Application/X-WWW-Form-URLEncoded; charset=utf-8"), "/saml/acs")),
            Ok(())
        );
        assert_eq!(check_head(&head(Some(form), "/saml/acs?RelayState=x")), Ok(()));
        for ct in
            [None, Some("multipart/form-data; boundary=x"), Some("text/plain"), Some("application/json")]
        {
            assert_eq!(check_head(&head(ct, "/saml/acs")), Err(FormError::NotUrlEncoded), "{ct:?}");
        }
        assert_eq!(check_head(&head(Some(form), "/saml/acs?SAMLart=AAQ")), Err(FormError::Artifact));
        assert_eq!(check_head(&head(Some(form), "/saml/acs?SAML%61rt=AAQ")), Err(FormError::Artifact));
    }

    #[test]
    fn the_first_response_is_read_and_artifacts_refused() {
        assert_eq!(saml_response(b"SAMLResponse=a%2Bb&SAMLResponse=c").unwrap(), "a+b");
        assert_eq!(saml_response(b"RelayState=x"), Err(FormError::NoResponse));
        assert_eq!(saml_response(b"SAMLResponse=a&SAMLart=AAQ"), Err(FormError::Artifact));
    }
}
