//! Bearer-token authentication of IdP SCIM clients against the configured static tokens.
//!
//! Tokens are configured plain or as `sha256:<hex>` digests. Both are kept only as SHA-256
//! digests, and a presented token is hashed and compared with *every* configured digest in
//! constant time, so neither the comparison nor the number of tokens tried leaks timing.
//! Grafana service-account tokens (optional) are checked elsewhere, against Grafana.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::Secret;

/// The accepted static tokens, as digests.
#[derive(Clone, Default)]
pub struct StaticTokens {
    digests: Vec<[u8; 32]>,
}

impl std::fmt::Debug for StaticTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StaticTokens({} configured)", self.digests.len())
    }
}

impl StaticTokens {
    /// Builds the set from configuration. Malformed `sha256:` entries were refused by config
    /// validation; any that slip through are skipped (they can match nothing).
    pub fn from_config(tokens: &[Secret]) -> Self {
        let digests = tokens
            .iter()
            .filter_map(|t| match t.expose().strip_prefix("sha256:") {
                Some(hex_digest) => hex::decode(hex_digest).ok().and_then(|d| <[u8; 32]>::try_from(d).ok()),
                None => Some(digest(t.expose())),
            })
            .collect();
        Self { digests }
    }

    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }

    /// True when `presented` is one of the configured tokens.
    pub fn verify(&self, presented: &str) -> bool {
        let candidate = digest(presented);
        let mut matched = subtle::Choice::from(0u8);
        for d in &self.digests {
            matched |= d.ct_eq(&candidate);
        }
        matched.into()
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The token of an `Authorization: Bearer <token>` header value (scheme case-insensitive).
pub fn bearer(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_hashed_tokens_verify() {
        let hashed = format!("sha256:{}", hex::encode(digest("second-token-0123456789")));
        let set = StaticTokens::from_config(&[Secret::new("first-token-0123456789"), Secret::new(hashed)]);
        assert!(set.verify("first-token-0123456789"));
        assert!(set.verify("second-token-0123456789"));
        assert!(!set.verify("first-token-012345678"));
        assert!(!set.verify(""));
        assert!(!StaticTokens::default().verify("anything"));
        assert_eq!(format!("{set:?}"), "StaticTokens(2 configured)");
    }

    #[test]
    fn bearer_header_parsing() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer   abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer "), None);
        assert_eq!(bearer("non-token"), None);
    }
}
