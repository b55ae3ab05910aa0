//! Entra token mode: accepting the token Microsoft Entra ID signs itself for SCIM provisioning
//! (sent when the enterprise app's "Secret Token" field is left empty) instead of a shared secret.
//!
//! A token is accepted when it is a JWS signed with RS256 ([`token`]) by a key the tenant
//! publishes ([`keys`], fetched and cached; the document is read by [`jwks`]), issued by
//! `https://sts.windows.net/<tenant>/` with `tid` the configured tenant, for the audience
//! [`AUDIENCE`] (the provisioning service), within its `nbf`..`exp` window (with the configured
//! clock skew). Which namespaces accept it is [`Verifier::accepts_org`]; the SCIM edge
//! (`scim_api::auth`) asks that first, turns the outcome into a SCIM answer and names the actor
//! in the audit log (`entra:<appid>`).

pub mod jwks;
pub mod keys;
pub mod token;

#[cfg(test)]
mod tests;

use std::time::{SystemTime, UNIX_EPOCH};

use crate::config::EntraConfig;
use jwks::Key;
pub use keys::{KeyError, SourceError};
pub use token::{TokenError, Verified};

/// The audience of Entra's provisioning tokens: the Microsoft Entra provisioning service.
pub const AUDIENCE: &str = "8adf8e6e-67b2-4cf2-a259-e3dc5476c621";
/// The issuer of v1 tokens is this followed by the tenant id and `/`.
pub const ISSUER_PREFIX: &str = "https://sts.windows.net/";

/// Why a token was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// It failed a check (401).
    Invalid(TokenError),
    /// Its key cannot be had now: the key endpoint is unreachable or answers nonsense (503).
    Unavailable(String),
}

/// Verifies Entra provisioning tokens of one tenant.
pub struct Verifier {
    expected: token::Expected,
    orgs: Vec<i64>,
    keys: keys::KeySource,
}

impl Verifier {
    /// A verifier for `cfg` (validated by config loading); fetches nothing yet.
    ///
    /// # Errors
    /// When the HTTPS client for the key endpoint cannot be built (`ca_file`).
    pub fn new(cfg: &EntraConfig) -> Result<Self, SourceError> {
        let tenant = cfg.tenant();
        Ok(Self {
            expected: token::Expected {
                issuer: format!("{ISSUER_PREFIX}{tenant}/"),
                tenant,
                audience: AUDIENCE.to_owned(),
                skew_secs: cfg.max_clock_skew.as_secs(),
            },
            orgs: cfg.org_ids().into_iter().flatten().collect(),
            keys: keys::KeySource::new(cfg)?,
        })
    }

    /// True when a bearer token has a JWS's shape (three dot-separated parts), so it is this
    /// verifier's to judge rather than a static or Grafana token.
    pub fn is_jwt_shaped(token: &str) -> bool {
        token.bytes().filter(|b| *b == b'.').count() == 2
    }

    /// Whether Entra tokens are accepted in the namespace of `org_id`.
    pub fn accepts_org(&self, org_id: i64) -> bool {
        self.orgs.contains(&org_id)
    }

    /// Verifies `token` now.
    ///
    /// # Errors
    /// See [`Refusal`].
    pub async fn verify(&self, token: &str) -> Result<Verified, Refusal> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        self.verify_at(token, now).await
    }

    /// Verifies `token` at `now` (seconds since the Unix epoch).
    ///
    /// # Errors
    /// See [`Refusal`].
    pub async fn verify_at(&self, token: &str, now: u64) -> Result<Verified, Refusal> {
        let parsed = token::parse(token).map_err(Refusal::Invalid)?;
        let key = match self.keys.key(&parsed.kid).await {
            Ok(key) => key,
            Err(KeyError::Unknown) => return Err(Refusal::Invalid(TokenError::UnknownKey)),
            Err(KeyError::Unavailable(reason)) => return Err(Refusal::Unavailable(reason)),
        };
        match key {
            Key::Rsa(rsa) => parsed.verify(&rsa, &self.expected, now).map_err(Refusal::Invalid),
            Key::Unusable(_) => Err(Refusal::Invalid(TokenError::KeyType)),
        }
    }

    /// Fetches the signing keys now (`scim-sidecar check`): how many usable keys were found.
    ///
    /// # Errors
    /// Why they cannot be fetched.
    pub async fn fetch_keys(&self) -> Result<usize, String> {
        self.keys.fetch_now().await
    }
}
