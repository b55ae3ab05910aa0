//! Presentation and shared plumbing of the Users handlers: the SCIM representation of a record,
//! error mapping and the few Grafana/store steps every operation shares.
//!
//! It decides nothing about lifecycle (see `lifecycle`) and never writes Grafana.

use serde_json::Value;
use tracing::warn;

use super::known::{alongside, take_if, Key};

use crate::grafana::model::{OrgUser, UserProfile};
use crate::provision::translate::{derived_user_doc, GrafanaUserView};
use crate::provision::ProvisionError;
use crate::provision::Scope;
use crate::scim::resource::{finish, location};
use crate::scim::ResourceType;
use crate::store::{StoreError, UserRecord};

/// One resource as served: the body (with `meta`) and its weak ETag.
pub struct Presented {
    pub body: Value,
    pub etag: String,
}

impl Presented {
    /// The outcome form of this resource, whose SCIM id is `id`.
    pub fn into_shown(self, id: String) -> crate::provision::Shown {
        crate::provision::Shown { id, body: self.body, etag: self.etag }
    }
}

/// The SCIM representation of `rec`. Unmanaged users (SCIM never wrote them) are shown from
/// Grafana's current copy when one is at hand; managed users from the stored document, which is
/// the source of truth (Grafana converges to it).
pub fn present(ctx: &Scope<'_>, rec: &UserRecord, view: Option<&GrafanaUserView>) -> Presented {
    presented(&ctx.base_url, rec, view)
}

/// [`present`] without the request: `base_url` is the SCIM base the `meta.location` is under.
/// Pure (the page benchmark calls it).
pub fn presented(base_url: &str, rec: &UserRecord, view: Option<&GrafanaUserView>) -> Presented {
    dress(base_url, rec, view, || rec.attributes.clone())
}

/// [`present`] for a record its caller is done with: the stored document moves into the answer
/// instead of being copied.
pub fn present_owned(ctx: &Scope<'_>, mut rec: UserRecord, view: Option<&GrafanaUserView>) -> Presented {
    let stored = std::mem::take(&mut rec.attributes);
    dress(&ctx.base_url, &rec, view, move || stored)
}

/// The answer for `rec`: Grafana's copy (`view`) of an unmanaged user, else the stored document
/// (`stored`, asked for only then), with `id`, `active`, `schemas` and `meta`, and the ETag.
fn dress(
    base_url: &str,
    rec: &UserRecord,
    view: Option<&GrafanaUserView>,
    stored: impl FnOnce() -> Value,
) -> Presented {
    let (mut doc, active, from_store) = match view {
        Some(v) if !rec.managed => (derived_user_doc(v), !v.disabled, false),
        _ => match stored() {
            doc @ Value::Object(_) => (doc, rec.active, true),
            // An unmanaged record keeps no document; without Grafana's copy at hand (no caller
            // does that today) it is shown from its own keys rather than as a bare id.
            _ => (derived_user_doc(&record_view(rec)), rec.active, false),
        },
    };
    if let Some(map) = doc.as_object_mut() {
        if from_store {
            map.remove("meta");
            map.remove("password");
        }
        map.insert("id".into(), Value::from(rec.scim_id.as_str()));
        map.insert("active".into(), Value::Bool(active));
    }
    let (body, etag) = finish(
        ResourceType::User,
        doc,
        rec.created,
        rec.last_modified,
        location(base_url, ResourceType::User, &rec.scim_id),
    );
    Presented { body, etag }
}

/// What a record knows of its Grafana user (no display name).
fn record_view(rec: &UserRecord) -> GrafanaUserView {
    GrafanaUserView {
        id: rec.grafana_user_id,
        uid: rec.grafana_uid.clone(),
        login: rec.user_name.clone(),
        email: rec.email.clone().unwrap_or_default(),
        name: String::new(),
        disabled: !rec.active,
    }
}

pub fn view_from_profile(p: &UserProfile) -> GrafanaUserView {
    GrafanaUserView {
        id: p.id,
        uid: p.uid.clone().filter(|u| !u.is_empty()),
        login: p.login.clone(),
        email: p.email.clone(),
        name: p.name.clone(),
        disabled: p.is_disabled,
    }
}

/// Takes the hit by value: its strings move into the view (a page holds a hundred of them).
pub fn view_from_org_user(u: OrgUser) -> GrafanaUserView {
    GrafanaUserView {
        id: u.user_id,
        uid: u.uid.filter(|x| !x.is_empty()),
        login: u.login,
        email: u.email,
        name: u.name,
        disabled: u.is_disabled,
    }
}

pub use crate::provision::{grafana_error, store_error};

/// SCIM ids are UUIDs: anything else is unknown without asking the store or Grafana.
pub fn is_scim_id(id: &str) -> bool {
    id.len() == 36 && uuid::Uuid::parse_str(id).is_ok()
}

/// A canonical document as the store keeps it: no `id`/`meta`/`schemas`, and never `password`
/// (users sign in through SAML; a password sent by the IdP is dropped, not stored or forwarded).
pub fn stored_doc(canonical: Value) -> Value {
    let mut doc = crate::provision::identity::stored_attributes(canonical);
    if let Some(map) = doc.as_object_mut() {
        map.retain(|k, _| !k.eq_ignore_ascii_case("password"));
    }
    doc
}

/// The string attribute `name` of a canonical document, trimmed, when non-empty.
pub fn text<'a>(doc: &'a Value, name: &str) -> Option<&'a str> {
    doc.get(name).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
}

/// Grafana's profile of user `id` (`None` when Grafana has no such user). A
/// placeholder id (a user created in shadow mode, not yet made in Grafana) is never asked of
/// Grafana: the store's record stands for the user, so its record is never dropped as stale.
pub async fn grafana_profile(ctx: &Scope<'_>, id: i64) -> Result<Option<UserProfile>, ProvisionError> {
    if crate::grafana::shadow::is_placeholder(id) {
        let rec = ctx.prov.store.user_by_grafana_id(ctx.org_id, id).await.map_err(|e| store_error(&e))?;
        return Ok(rec.as_ref().map(placeholder_profile));
    }
    match ctx.prov.grafana.get_user(id).await {
        Ok(p) => Ok(Some(p)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(grafana_error(&e)),
    }
}

/// A visible record and its Grafana user. Records of users deleted in Grafana are dropped
/// (the user is gone; a later create starts afresh).
pub async fn load(ctx: &Scope<'_>, id: &str) -> Result<(UserRecord, GrafanaUserView), ProvisionError> {
    let (rec, profile) = load_profile(ctx, id).await?;
    Ok((rec, view_from_profile(&profile)))
}

/// [`load`] with Grafana's whole profile of the user, which a write judges (`authority`).
pub async fn load_profile(ctx: &Scope<'_>, id: &str) -> Result<(UserRecord, UserProfile), ProvisionError> {
    if !is_scim_id(id) {
        return Err(ProvisionError::not_found(format!("no user with id {id:?}")));
    }
    let known = &ctx.prov.users.known;
    let key = Key::id(id);
    let guess = known.guess(ctx.org_id, key).await;
    let (rec, early) =
        alongside(ctx.prov.store.get_user(ctx.org_id, id), guess, |g| grafana_profile(ctx, g)).await;
    let Some(rec) = rec.map_err(|e| store_error(&e))?.filter(|r| !r.deleted) else {
        if guess.is_some() {
            known.forget_key(ctx.org_id, key).await;
        }
        return Err(ProvisionError::not_found(format!("no user with id {id:?}")));
    };
    let profile = match take_if(early, rec.grafana_user_id) {
        Some(asked) => asked?,
        None => grafana_profile(ctx, rec.grafana_user_id).await?,
    };
    match profile {
        Some(profile) => {
            if rec.managed && rec.active && profile.is_disabled {
                // SCIM never disables an active user: someone did it in Grafana.
                crate::audit::notes::drift_seen(|| crate::audit::notes::DriftSeen {
                    scim_id: rec.scim_id.clone(),
                    grafana_id: rec.grafana_user_id,
                    name: rec.user_name.clone(),
                    what: format!(
                        "user {} (grafana user {}) was disabled in grafana outside SCIM",
                        rec.scim_id, rec.grafana_user_id
                    ),
                });
            }
            known.remember(&rec).await;
            Ok((rec, profile))
        }
        None => {
            forget(ctx, &rec).await;
            Err(ProvisionError::not_found(format!("no user with id {id:?}")))
        }
    }
}

/// The profile a user created in shadow mode would have in Grafana, from its record: what SCIM
/// asked for, never a server admin.
pub fn placeholder_profile(rec: &UserRecord) -> UserProfile {
    let name = rec.attributes.get("displayName").and_then(Value::as_str).unwrap_or_default();
    UserProfile {
        id: rec.grafana_user_id,
        login: rec.user_name.clone(),
        email: rec.email.clone().unwrap_or_default(),
        name: name.to_string(),
        org_id: rec.org_id,
        is_disabled: !rec.active,
        ..UserProfile::default()
    }
}

/// Drops the record of a user deleted in Grafana behind the sidecar's back. A placeholder
/// record (shadow mode) is kept: Grafana never had the user, `reconcile --apply` creates it.
pub async fn forget(ctx: &Scope<'_>, rec: &UserRecord) {
    if crate::grafana::shadow::is_placeholder(rec.grafana_user_id) {
        return;
    }
    ctx.prov.users.known.forget(rec).await;
    crate::audit::notes::drift(format!(
        "user {} (grafana user {}) is gone from grafana: its record was dropped",
        rec.scim_id, rec.grafana_user_id
    ));
    match ctx.prov.store.delete_user_record(rec.org_id, &rec.scim_id).await {
        Ok(()) | Err(StoreError::NotFound) => {}
        Err(e) => warn!(error = %e, "cannot drop the record of a user deleted in grafana"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::provision::identity::unmanaged_user_record;

    const BASE: &str = "https://g.example/scim/v2";

    fn view() -> GrafanaUserView {
        GrafanaUserView {
            id: 7,
            uid: Some("u7".into()),
            login: "jane".into(),
            email: "jane@example.com".into(),
            name: "Jane Doe".into(),
            disabled: false,
        }
    }

    #[test]
    fn unmanaged_users_are_shown_from_grafanas_copy() {
        let rec = unmanaged_user_record(1, &view());
        assert_eq!(rec.attributes, Value::Null, "nothing is stored for a user SCIM never wrote");
        let mut renamed = view();
        renamed.name = "Jane Q Public".into();
        let shown = presented(BASE, &rec, Some(&renamed)).body;
        assert_eq!(shown["id"], json!(rec.scim_id));
        assert_eq!(shown["userName"], "jane");
        assert_eq!(shown["displayName"], "Jane Q Public");
        assert_eq!(shown["name"]["familyName"], "Q Public");
        assert_eq!(shown["emails"][0]["value"], "jane@example.com");
        assert_eq!(shown["meta"]["location"], json!(format!("{BASE}/Users/{}", rec.scim_id)));
    }

    #[test]
    fn a_record_without_a_document_or_grafanas_copy_is_shown_from_its_keys() {
        let mut rec = unmanaged_user_record(1, &view());
        rec.active = false;
        let shown = presented(BASE, &rec, None);
        assert_eq!(shown.body["userName"], "jane");
        assert_eq!(shown.body["emails"][0]["value"], "jane@example.com");
        assert_eq!(shown.body["active"], false);
        assert_eq!(shown.body["schemas"][0], "urn:ietf:params:scim:schemas:core:2.0:User");
        assert_eq!(shown.body["meta"]["version"], json!(shown.etag));
    }

    #[test]
    fn a_placeholder_user_has_the_profile_its_record_asks_for() {
        let mut rec = unmanaged_user_record(3, &view());
        rec.grafana_user_id = -42;
        rec.managed = true;
        rec.active = false;
        rec.attributes = json!({"userName": "jane", "displayName": "Jane Doe"});
        let p = placeholder_profile(&rec);
        assert_eq!((p.id, p.org_id, p.login.as_str()), (-42, 3, "jane"));
        assert_eq!((p.email.as_str(), p.name.as_str()), ("jane@example.com", "Jane Doe"));
        assert!(p.is_disabled && !p.is_grafana_admin);
    }

    #[test]
    fn managed_users_are_shown_from_their_stored_document() {
        let mut rec = unmanaged_user_record(1, &view());
        rec.managed = true;
        rec.attributes = json!({"userName": "Jane", "displayName": "Dr Jane", "password": "x",
            "meta": {"version": "W/\"old\""}, "externalId": "e-1", "active": true});
        rec.active = false;
        let shown = presented(BASE, &rec, Some(&view())).body;
        assert_eq!(shown["userName"], "Jane");
        assert_eq!(shown["displayName"], "Dr Jane");
        assert_eq!(shown["externalId"], "e-1");
        assert_eq!(shown["active"], false, "the record's flag wins over the stored document's");
        assert!(shown.get("password").is_none());
        assert_ne!(shown["meta"]["version"], "W/\"old\"");
    }
}
