//! Bearer-token authentication of IdP SCIM clients against the configured static tokens.
//!
//! Tokens are configured plain or as `sha256:<hex>` digests. Both are kept only as SHA-256
//! digests, and a presented token is hashed and compared with *every* configured digest in
//! constant time, so neither the comparison nor the number of tokens tried leaks timing.
//!
//! Optionally (`[scim] accept_grafana_tokens`), a Grafana service-account token is accepted the way
//! Grafana Enterprise accepts it: Grafana itself says which org the token acts in and which
//! permissions it holds; the org must be the namespace's and the permissions those Grafana's docs
//! list for SCIM. Verdicts are cached for `grafana_token_cache_ttl`, keyed by the token's digest
//! (never the token), so a revoked token stops working within that time.
//!
//! Optionally (`[scim.entra]`), a token with a JWT's shape is judged by [`crate::entra`] instead:
//! accepted only in the namespaces `[scim.entra] namespaces` lists (elsewhere 401 before any key
//! is fetched), 401 naming the check that failed, 503 (with `Retry-After`) while the tenant's
//! signing keys cannot be fetched. Static tokens are tried first and keep working alongside.

use std::time::Duration;

use sha2::{Digest, Sha256};
use subtle::{ConditionallySelectable, ConstantTimeEq};
use tracing::{debug, info, warn};

use crate::config::{ScimConfig, ScimToken};
use crate::entra::{Refusal, Verifier};
use crate::scim_api::failure::{Failure, UNAVAILABLE_RETRY_AFTER};

/// The audit name of a static token configured without one.
pub const UNNAMED: &str = "static-token";
use crate::grafana::GrafanaClient;
use crate::scim::error::ScimError;

/// Permissions a Grafana token needs for `/Users` (grafana-scim.md §2.3), each over all users.
pub const USER_ACTIONS: &[&str] = &["org.users:read", "org.users:write", "org.users:add", "org.users:remove"];
/// Permissions a Grafana token needs for `/Groups`, on top of [`USER_ACTIONS`], each over all teams.
pub const GROUP_ACTIONS: &[&str] = &["teams:read", "teams:create", "teams:write", "teams:delete"];

pub use crate::provision::Principal;

/// A cached verdict about one Grafana token in one org.
#[derive(Debug, Clone)]
enum GrafanaVerdict {
    /// `account`: the service account's login, as Grafana reports it (the audit log's actor).
    Allowed {
        groups: bool,
        account: String,
    },
    Denied {
        status: u16,
        detail: String,
    },
}

/// Authenticates SCIM requests.
pub struct Authenticator {
    tokens: StaticTokens,
    accept_grafana: bool,
    verdicts: moka::future::Cache<([u8; 32], i64), GrafanaVerdict>,
    /// `[scim.entra]`: Entra token mode.
    entra: Option<Verifier>,
}

impl Authenticator {
    pub fn new(config: &ScimConfig) -> Self {
        Self {
            tokens: StaticTokens::from_config(&config.tokens),
            accept_grafana: config.accept_grafana_tokens,
            verdicts: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(config.grafana_token_cache_ttl.max(Duration::from_millis(1)))
                .build(),
            entra: None,
        }
    }

    /// Accepts Entra's own tokens too (Entra token mode), as `verifier` judges them.
    pub fn with_entra(mut self, verifier: Option<Verifier>) -> Self {
        self.entra = verifier;
        self
    }

    /// Checks the `Authorization` header for a request in `org_id`; `groups` when the request
    /// touches `/Groups` (Grafana tokens then need the team permissions too). Returns the
    /// principal and its name for the audit log: the static token's configured name
    /// (`static-token` when it has none), `service-account:<login>` for a Grafana token, or
    /// `entra:<appid>` for an Entra token.
    ///
    /// # Errors
    /// 401 for a missing or unknown token or a refused Entra token, 403 for a Grafana token of
    /// another org or without the needed permissions, 503 when Grafana cannot be asked or the
    /// Entra tenant's signing keys cannot be fetched.
    pub async fn authenticate(
        &self,
        authorization: Option<&str>,
        org_id: i64,
        groups: bool,
        grafana: &GrafanaClient,
    ) -> Result<(Principal, String), Failure> {
        let Some(token) = authorization.and_then(bearer) else {
            return Err(ScimError::unauthorized(
                "a bearer token is required (Authorization: Bearer <token>)",
            )
            .into());
        };
        if let Some(name) = self.tokens.verify_named(token) {
            return Ok((Principal::StaticToken, name));
        }
        if let Some(entra) = self.entra.as_ref().filter(|_| Verifier::is_jwt_shaped(token)) {
            return entra_token(entra, token, org_id).await;
        }
        if !self.accept_grafana {
            return Err(ScimError::unauthorized("the bearer token is not valid").into());
        }
        // Concurrent first uses of one token (an IdP's burst) wait for one answer from Grafana.
        // Random tokens each take a slot, but the cache admits a newcomer only over a less used
        // entry (TinyLFU), so tokens in use keep theirs.
        let key = (digest(token), org_id);
        let verdict = self
            .verdicts
            .try_get_with(key, ask_grafana(grafana, token, org_id))
            .await
            .map_err(|e: std::sync::Arc<ScimError>| (*e).clone())?;
        match verdict {
            GrafanaVerdict::Allowed { groups: may_groups, account } if may_groups || !groups => {
                Ok((Principal::GrafanaToken, format!("service-account:{account}")))
            }
            GrafanaVerdict::Allowed { .. } => Err(ScimError::forbidden(format!(
                "the Grafana service account lacks the team permissions SCIM groups need: {}",
                GROUP_ACTIONS.join(", ")
            ))
            .into()),
            GrafanaVerdict::Denied { status: 403, detail } => Err(ScimError::forbidden(detail).into()),
            GrafanaVerdict::Denied { detail, .. } => Err(ScimError::unauthorized(detail).into()),
        }
    }
}

/// Judges a JWT-shaped token in Entra token mode. An accepted token acts with a static token's
/// authority within the namespaces it is configured for, except that it makes nobody a Grafana
/// server admin unless `[scim.entra] allow_grafana_admin` (provisioning checks that).
async fn entra_token(entra: &Verifier, token: &str, org_id: i64) -> Result<(Principal, String), Failure> {
    if !entra.accepts_org(org_id) {
        return Err(ScimError::unauthorized(
            "Entra tokens are not accepted in this namespace ([scim.entra] namespaces)",
        )
        .into());
    }
    match entra.verify(token).await {
        Ok(verified) => Ok((Principal::EntraToken, verified.actor)),
        Err(Refusal::Invalid(why)) => {
            info!(reason = why.reason(), org_id, "refused an entra token");
            Err(ScimError::unauthorized(format!("Entra token refused: {why}")).into())
        }
        Err(Refusal::Unavailable(reason)) => {
            warn!(error = %reason, "cannot verify an entra token: the tenant's signing keys are unavailable");
            Err(Failure {
                error: ScimError::service_unavailable(
                    "cannot verify the Entra token right now: the tenant's signing keys cannot be fetched; retry later",
                ),
                retry_after: Some(UNAVAILABLE_RETRY_AFTER),
            })
        }
    }
}

async fn ask_grafana(grafana: &GrafanaClient, token: &str, org_id: i64) -> Result<GrafanaVerdict, ScimError> {
    match grafana.token_identity(token).await {
        Ok(identity) if identity.org.id != org_id => Ok(GrafanaVerdict::Denied {
            status: 403,
            detail: "the Grafana service-account token belongs to another org than this namespace".into(),
        }),
        Ok(identity) => {
            let missing: Vec<&str> =
                USER_ACTIONS.iter().copied().filter(|a| !identity.has_action_on_all(a, "users")).collect();
            if missing.is_empty() {
                let groups = GROUP_ACTIONS.iter().all(|a| identity.has_action_on_all(a, "teams"));
                let account = identity.user.as_ref().map(|u| u.login.clone()).unwrap_or_default();
                Ok(GrafanaVerdict::Allowed { groups, account })
            } else {
                Ok(GrafanaVerdict::Denied {
                    status: 403,
                    detail: format!(
                        "the Grafana service account lacks permissions over all users: {}",
                        missing.join(", ")
                    ),
                })
            }
        }
        // Grafana knows the token but it may not even read its org (a Viewer service account
        // lacks `orgs:read`): authenticated, not authorised.
        Err(e) if e.is_forbidden() => Ok(GrafanaVerdict::Denied {
            status: 403,
            detail: format!("the Grafana service account lacks permissions: {}", USER_ACTIONS.join(", ")),
        }),
        Err(e) if e.is_unauthorized() || e.is_not_found() => {
            debug!(status = ?e.status(), "grafana refused a scim token");
            Ok(GrafanaVerdict::Denied { status: 401, detail: "the bearer token is not valid".into() })
        }
        Err(e) => {
            debug!(error = %e, "cannot verify a grafana token");
            Err(ScimError::service_unavailable("cannot verify the token with Grafana right now; retry later"))
        }
    }
}

/// The accepted static tokens, as digests.
#[derive(Clone, Default)]
pub struct StaticTokens {
    digests: Vec<[u8; 32]>,
    /// The name of each digest's token (`static-token` when it has none), for the audit log.
    names: Vec<String>,
}

impl std::fmt::Debug for StaticTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StaticTokens({} configured)", self.digests.len())
    }
}

impl StaticTokens {
    /// Builds the set from configuration. Malformed `sha256:` entries were refused by config
    /// validation; any that slip through are skipped (they can match nothing).
    pub fn from_config(tokens: &[ScimToken]) -> Self {
        let (digests, names) = tokens
            .iter()
            .filter_map(|t| {
                let d = match t.token.expose().strip_prefix("sha256:") {
                    Some(hex_digest) => {
                        hex::decode(hex_digest).ok().and_then(|d| <[u8; 32]>::try_from(d).ok())?
                    }
                    None => digest(t.token.expose()),
                };
                Some((d, t.name.clone().unwrap_or_else(|| UNNAMED.to_owned())))
            })
            .unzip();
        Self { digests, names }
    }

    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }

    /// True when `presented` is one of the configured tokens.
    pub fn verify(&self, presented: &str) -> bool {
        self.verify_named(presented).is_some()
    }

    /// The name of the configured token `presented` is, if any. Every digest is compared, in
    /// constant time, and the match's index is selected without a branch.
    pub fn verify_named(&self, presented: &str) -> Option<String> {
        let candidate = digest(presented);
        let mut matched = subtle::Choice::from(0u8);
        let mut index = 0u64;
        for (i, d) in self.digests.iter().enumerate() {
            let eq = d.ct_eq(&candidate);
            matched |= eq;
            index = u64::conditional_select(&index, &(i as u64), eq);
        }
        let found: bool = matched.into();
        found.then(|| self.names.get(index as usize).cloned().unwrap_or_default())
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
    use crate::config::Secret;

    #[test]
    fn plain_and_hashed_tokens_verify() {
        let hashed = format!("sha256:{}", hex::encode(digest("second-token-0123456789")));
        let set = StaticTokens::from_config(&[
            Secret::new("first-token-0123456789").into(),
            ScimToken { name: Some("entra-prod".into()), token: Secret::new(hashed) },
        ]);
        assert_eq!(set.verify_named("second-token-0123456789").as_deref(), Some("entra-prod"));
        assert_eq!(set.verify_named("first-token-0123456789").as_deref(), Some(UNNAMED));
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
