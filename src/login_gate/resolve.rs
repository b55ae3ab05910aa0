//! Which accounts a verified login can land in: the Grafana users Grafana itself could sign the
//! person into, and every store record of those users.
//!
//! Grafana's user sync resolves a SAML login by the auth link (`AuthModule` + `AuthID`), then by
//! email, then by login, and a login containing `@` also matches emails; logins and emails are
//! compared lowercased. The auth link is not readable through Grafana's HTTP API, so the gate
//! takes every account any of these steps could reach and refuses when any of them is refused:
//!
//! - the Grafana users `GET /api/users/lookup` finds for the assertion's email and for its login
//!   (that endpoint resolves exactly like the sync's email and login steps: lowercased, email
//!   first when the value has `@`, then login);
//! - the Grafana users whose managed records carry the assertion's external UID (the person who
//!   signed in with that UID before, i.e. the auth link's stand-in);
//! - the records the store finds by the assertion's login and email (its own idea, possibly stale
//!   after a deferred update: kept as an extra, never as the only source).
//!
//! Every record of each Grafana user so found (any org) is a candidate: the externalId and
//! active rules ([`super::decide`]) judge the managed records of the account Grafana will use,
//! not only the store's copy of the person's email. Grafana unreachable → an error (the gate
//! then fails closed).

use std::collections::{BTreeSet, HashSet};

use super::decide::Identity;
use crate::grafana::{GrafanaClient, GrafanaError};
use crate::store::{MappingStore, StoreError, UserRecord};

/// Why candidates could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("grafana: {0}")]
    Grafana(#[from] GrafanaError),
}

/// Every record of every account the login may land in (see the module docs), deduplicated.
///
/// # Errors
/// When the store or Grafana cannot answer.
pub async fn candidates(
    store: &dyn MappingStore,
    grafana: &GrafanaClient,
    identity: &Identity,
) -> Result<Vec<UserRecord>, ResolveError> {
    let mut found: Vec<UserRecord> = Vec::new();
    let mut accounts: BTreeSet<i64> = BTreeSet::new();
    let mut asked: HashSet<String> = HashSet::new();
    for value in [identity.email.as_deref(), identity.login.as_deref()].into_iter().flatten() {
        let value = value.trim().to_lowercase();
        if value.is_empty() || !asked.insert(value.clone()) {
            continue;
        }
        if let Some(user) = grafana.lookup_user(&value).await? {
            accounts.insert(user.id);
        }
    }
    if let Some(login) = identity.login.as_deref() {
        found.extend(store.users_by_user_name_any_org(login).await?);
    }
    if let Some(email) = identity.email.as_deref() {
        found.extend(store.managed_users_by_email(email).await?);
    }
    if let Some(uid) = identity.external_uid.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        let by_uid = store.users_by_external_id_any_org(uid).await?;
        accounts.extend(by_uid.iter().filter(|r| r.managed).map(|r| r.grafana_user_id));
        found.extend(by_uid);
    }
    for id in accounts {
        found.extend(store.users_of_grafana_user(id).await?);
    }
    let mut seen = HashSet::new();
    found.retain(|r| seen.insert((r.org_id, r.scim_id.clone())));
    Ok(found)
}
