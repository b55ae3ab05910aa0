//! Guard for Grafana's Kubernetes-style identity API (`/apis/iam.grafana.app/<version>/namespaces/
//! <ns>/…`, and `identity.grafana.app`, its read-only name in Grafana 11): the same rule as the
//! `/api` guards ([`super::users`], [`super::teams`]) for the writes Grafana 12 and later accept
//! there when `kubernetesUsersApi` or `kubernetesTeamsApi` is on. Refusals are Kubernetes
//! `Status` objects, as the API server answers.
//!
//! Refused, whatever the body's patch flavour or a `dryRun` (Grafana's legacy stores ignore it):
//! - any write to `users/<uid>` or below it for a SCIM-managed user;
//! - any write to `teams/<uid>` or below it (a team's `spec.members` is its membership, and
//!   `addmember`/`removemember` rewrite it) for a SCIM-managed team;
//! - creating, changing or deleting a `teambindings` object (one membership) of a managed team:
//!   the existing binding's team is asked of Grafana as the caller, a body's `teamRef` is read
//!   ([`refs`]);
//! - creating, changing or deleting `authinfos` (a user's link to a login provider and its
//!   external UID) of a managed user: the object is named `<userUID>.<module>`, a body names the
//!   user under `userRef`;
//! - deleting a whole collection of any of these while SCIM is configured, which could take
//!   managed objects with it.
//!
//! Creating users or teams, and anything about unmanaged ones, passes. Bodies are read only for
//! bindings and auth infos, and only as JSON: another media type (YAML, apply patches) is refused
//! with 415, since the names in it cannot be checked.

pub mod refs;

use http::header::CONTENT_TYPE;
use http::{HeaderValue, Method, StatusCode};

use super::payload::Payload;
use super::refusal::{Dialect, Kind, Refusal};
use super::{Guards, Write};

/// The identity API's groups: `iam.grafana.app` and the name Grafana 11 served it under.
const GROUPS: [&str; 2] = ["iam.grafana.app", "identity.grafana.app"];

/// The most names one request may make the guard look up (each may cost a Grafana call): a
/// binding or auth info names one team or user, so anything past this is not a real request.
const MAX_REFERENCES: usize = 8;

/// The resource a guarded write is about.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Target<'a> {
    /// `users/<uid>[/…]`.
    User(&'a str),
    /// `teams/<uid>[/…]`.
    Team(&'a str),
    /// `teambindings` (a create) or `teambindings/<name>[/…]`.
    Binding(Option<&'a str>),
    /// `authinfos` (a create) or `authinfos/<name>[/…]`.
    AuthInfo(Option<&'a str>),
    /// `DELETE` on a collection of one of the above.
    Collection(&'a str),
}

/// Where a guarded write is addressed: its group, version and namespace as written.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Place<'a> {
    group: &'a str,
    version: &'a str,
    namespace: &'a str,
}

impl Place<'_> {
    /// The org the namespace names, read as Grafana reads it: `default` is org 1, `org-<N>` org N
    /// (Go's `ParseInt`, like Rust's, takes `org-02` and `org-+2` for org 2); `None` for anything
    /// else (`stacks-<N>` in Grafana Cloud has one org).
    fn org(&self) -> Option<i64> {
        if self.namespace == "default" {
            return Some(1);
        }
        self.namespace.strip_prefix("org-")?.parse::<i64>().ok().filter(|n| *n > 0)
    }

    /// The caller's headers with `X-Grafana-Org-Id` set to the namespace's org, so a lookup made
    /// as the caller resolves a team UID in the org the write addresses, whichever org the
    /// caller's session is in.
    fn caller_headers(&self, headers: &http::HeaderMap) -> http::HeaderMap {
        let mut headers = headers.clone();
        if let Some(org) = self.org() {
            headers.insert(crate::grafana::client::ORG_HEADER, HeaderValue::from(org));
        }
        headers
    }
}

/// The target of a write `method path`, `path` as Grafana resolves it ([`crate::route_path`]).
/// Segments compare case-insensitively and empty ones are ignored, which is broader than the API
/// server (case-sensitive; an empty segment routes nowhere).
pub(super) fn classify<'a>(method: &Method, path: &'a str) -> Option<(Place<'a>, Target<'a>)> {
    if !super::may_refuse(method) {
        return None;
    }
    let segs: Vec<&str> = crate::route_path::segments(path).collect();
    let is = |i: usize, want: &str| segs.get(i).is_some_and(|s| s.eq_ignore_ascii_case(want));
    let in_group = GROUPS.iter().any(|g| is(1, g));
    if !(is(0, "apis") && in_group && is(3, "namespaces") && segs.len() >= 6) {
        return None;
    }
    let place = Place { group: segs[1], version: segs[2], namespace: segs[4] };
    let resource = segs[5].to_ascii_lowercase();
    let name = segs.get(6).copied();
    let target = match (resource.as_str(), name) {
        ("users" | "teams" | "teambindings" | "authinfos", None) if *method == Method::DELETE => {
            Target::Collection(segs[5])
        }
        ("users", Some(uid)) => Target::User(uid),
        ("teams", Some(uid)) => Target::Team(uid),
        ("teambindings", name) if name.is_some() || *method == Method::POST => Target::Binding(name),
        ("authinfos", name) if name.is_some() || *method == Method::POST => Target::AuthInfo(name),
        _ => return None,
    };
    Some((place, target))
}

/// Refuses a write touching a managed user or team; reads the body (through `body`) only for
/// bindings and auth infos.
pub(super) async fn check(guards: &Guards, write: &Write<'_>, body: &mut Payload) -> Result<(), Refusal> {
    let method = &write.head.method;
    let Some((place, target)) = classify(method, write.path) else { return Ok(()) };
    let (headers, query) = (&write.head.headers, write.head.uri.query());
    // The team of an existing binding, once checked: its body's `teamRef` usually names it again.
    let mut checked_team = None;
    match target {
        Target::User(uid) => user_guarded(guards, uid).await?,
        Target::Team(uid) => team_guarded(guards, &place.caller_headers(headers), query, uid).await?,
        Target::AuthInfo(Some(name)) => auth_info_guarded(guards, name).await?,
        Target::Binding(Some(name)) => checked_team = bound_team(guards, write, &place, name).await?,
        Target::AuthInfo(None) | Target::Binding(None) => {}
        // Without SCIM configured nothing is managed, so nothing a bulk delete takes is SCIM's.
        Target::Collection(_) if !write.policy.scim_active => {}
        Target::Collection(resource) => {
            return Err(refuse(
                Kind::Collection,
                StatusCode::FORBIDDEN,
                format!("deleting every {resource} at once is refused while SCIM provisions them: it would delete SCIM-managed ones too"),
            ));
        }
    }
    let field = match target {
        Target::Binding(_) if *method != Method::DELETE => "teamRef",
        Target::AuthInfo(_) if *method != Method::DELETE => "userRef",
        _ => return Ok(()),
    };
    body_guarded(guards, write, body, &place, field, checked_team.as_deref()).await
}

/// A write to `users/<uid>`: refused when SCIM manages the user.
async fn user_guarded(guards: &Guards, uid: &str) -> Result<(), Refusal> {
    match super::users::managed_uid(guards, uid).await {
        Ok(true) => Err(managed(
            Kind::User,
            format!("user {uid:?} is managed by SCIM: change it in your identity provider"),
        )),
        Ok(false) => Ok(()),
        Err(e) => Err(unverifiable("user", &e)),
    }
}

/// A write to `teams/<uid>`, or to a binding of that team: refused when SCIM manages the team
/// the UID names in the org of the caller (whose request carried `headers` and `query`).
async fn team_guarded(
    guards: &Guards,
    headers: &http::HeaderMap,
    query: Option<&str>,
    uid: &str,
) -> Result<(), Refusal> {
    let id = match super::teams::team_id_by_uid(guards, headers, query, uid).await {
        Ok(Some(id)) => id,
        Ok(None) => return Ok(()),
        Err(e) => return Err(unverifiable("team", &e)),
    };
    match guards.store.is_managed_grafana_team(id).await {
        Ok(true) => Err(managed(
            Kind::Team,
            format!("team {uid:?} is managed by SCIM: its name and members change in your identity provider"),
        )),
        Ok(false) => Ok(()),
        Err(e) => Err(unverifiable("team", &e.to_string())),
    }
}

/// The team of an existing binding, checked: `Err` is the refusal when that team is managed (or
/// cannot be checked), `Ok(None)` a binding Grafana does not show the caller (Grafana answers the
/// write itself), `Ok(Some(uid))` an unmanaged team's UID.
async fn bound_team(
    guards: &Guards,
    write: &Write<'_>,
    place: &Place<'_>,
    name: &str,
) -> Result<Option<String>, Refusal> {
    let (headers, query) = (&write.head.headers, write.head.uri.query());
    let found = guards
        .grafana
        .team_binding_as((place.group, place.version), place.namespace, name, headers, query)
        .await;
    match found {
        Ok(binding) => {
            let team = binding.spec.team_ref.name;
            team_guarded(guards, &place.caller_headers(headers), query, &team).await?;
            Ok(Some(team))
        }
        Err(e) if e.is_not_found() || e.is_unauthorized() => Ok(None),
        Err(e) => Err(unverifiable("team", &e.to_string())),
    }
}

/// A write to an existing auth info, named `<userUID>.<module>`: refused when the user is
/// managed. A UID may itself hold dots, so every prefix ending before a dot is tried, up to
/// [`MAX_REFERENCES`] of them.
async fn auth_info_guarded(guards: &Guards, name: &str) -> Result<(), Refusal> {
    let prefixes: Vec<&str> = name.match_indices('.').map(|(i, _)| &name[..i]).collect();
    if prefixes.len() > MAX_REFERENCES {
        return Err(too_many());
    }
    for uid in prefixes {
        user_guarded(guards, uid).await?;
    }
    Ok(())
}

/// A binding's or auth info's body: refused when a team (`teamRef`) or user (`userRef`) it names
/// is managed, or when it cannot be read as JSON. `checked` is a name already found unmanaged
/// for this request, not asked of Grafana again.
async fn body_guarded(
    guards: &Guards,
    write: &Write<'_>,
    body: &mut Payload,
    place: &Place<'_>,
    field: &str,
    checked: Option<&str>,
) -> Result<(), Refusal> {
    if !is_json(write.head.headers.get(CONTENT_TYPE)) {
        return Err(refuse(
            Kind::Unreadable,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "scim-sidecar reads identity writes that name teams or users only as JSON; send application/json or a JSON patch",
        ));
    }
    let bytes = body.bytes().await?;
    let Some(names) = refs::names_under(&bytes, field) else { return Err(bad_request()) };
    if names.len() > MAX_REFERENCES {
        return Err(too_many());
    }
    let headers = place.caller_headers(&write.head.headers);
    for name in names.iter().filter(|n| Some(n.as_str()) != checked) {
        match field {
            "teamRef" => team_guarded(guards, &headers, write.head.uri.query(), name).await?,
            _ => user_guarded(guards, name).await?,
        }
    }
    Ok(())
}

/// Whether a `Content-Type` is JSON or one of the JSON patch flavours the API server takes.
fn is_json(value: Option<&HeaderValue>) -> bool {
    let Some(media) = value.and_then(|v| v.to_str().ok()) else { return false };
    let media = media.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    matches!(
        media.as_str(),
        "application/json"
            | "application/merge-patch+json"
            | "application/strategic-merge-patch+json"
            | "application/json-patch+json"
    )
}

fn managed(kind: Kind, message: String) -> Refusal {
    refuse(kind, StatusCode::FORBIDDEN, message)
}

fn unverifiable(what: &'static str, error: &str) -> Refusal {
    // Fail closed: letting the write through could silently fork Grafana from the IdP.
    tracing::warn!(
        error,
        kind = what,
        "cannot tell whether an identity API write touches a scim-managed object"
    );
    let kind = if what == "user" { Kind::UserUnknown } else { Kind::TeamUnknown };
    refuse(
        kind,
        StatusCode::SERVICE_UNAVAILABLE,
        format!("cannot verify whether the {what} is managed by SCIM; try again"),
    )
}

fn bad_request() -> Refusal {
    refuse(
        Kind::Unreadable,
        StatusCode::BAD_REQUEST,
        "the request body is not a JSON object or patch the sidecar can check",
    )
}

fn too_many() -> Refusal {
    let message =
        format!("the request names more than {MAX_REFERENCES} teams or users for the sidecar to check");
    refuse(Kind::Unreadable, StatusCode::BAD_REQUEST, message)
}

/// A Kubernetes `Status` failure.
fn refuse(kind: Kind, status: StatusCode, message: impl Into<std::borrow::Cow<'static, str>>) -> Refusal {
    Refusal::new(kind, status, Dialect::Kubernetes, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(method: Method, path: &str) -> Option<Target<'_>> {
        classify(&method, path).map(|(_, t)| t)
    }

    #[test]
    fn guarded_routes() {
        let ns = "/apis/iam.grafana.app/v0alpha1/namespaces/default";
        let p = |rest: &str| format!("{ns}/{rest}");
        assert_eq!(target(Method::PUT, &p("users/u1")), Some(Target::User("u1")));
        assert_eq!(target(Method::PATCH, &p("users/u1")), Some(Target::User("u1")));
        assert_eq!(target(Method::DELETE, &p("users/u1/")), Some(Target::User("u1")));
        assert_eq!(target(Method::POST, &p("users/u1/password")), Some(Target::User("u1")));
        assert_eq!(target(Method::POST, &p("teams/t1/addmember")), Some(Target::Team("t1")));
        assert_eq!(target(Method::PUT, &p("Teams/t1")), Some(Target::Team("t1")));
        assert_eq!(target(Method::POST, &p("teambindings")), Some(Target::Binding(None)));
        assert_eq!(target(Method::DELETE, &p("teambindings/b1")), Some(Target::Binding(Some("b1"))));
        assert_eq!(target(Method::POST, &p("authinfos")), Some(Target::AuthInfo(None)));
        assert_eq!(target(Method::PATCH, &p("authinfos/u1.saml")), Some(Target::AuthInfo(Some("u1.saml"))));
        assert_eq!(target(Method::DELETE, &p("users")), Some(Target::Collection("users")));
        assert_eq!(target(Method::DELETE, &p("teambindings")), Some(Target::Collection("teambindings")));
        let old = "/APIS//identity.grafana.app/v0alpha1/namespaces/org-2/users/u1";
        assert_eq!(target(Method::PUT, old), Some(Target::User("u1")));
        let (place, _) = classify(&Method::PUT, old).unwrap();
        assert_eq!(place, Place { group: "identity.grafana.app", version: "v0alpha1", namespace: "org-2" });
        let org = |namespace| Place { group: "", version: "", namespace }.org();
        assert_eq!(
            (org("default"), org("org-2"), org("org-02"), org("org-+2")),
            (Some(1), Some(2), Some(2), Some(2))
        );
        assert_eq!((org("stacks-7"), org("org-"), org("org-x")), (None, None, None));
        // Reads, creates of users and teams, other resources and groups pass.
        assert_eq!(target(Method::GET, &p("users/u1")), None);
        assert_eq!(target(Method::POST, &p("users")), None);
        assert_eq!(target(Method::POST, &p("teams")), None);
        assert_eq!(target(Method::PUT, &p("teambindings")), None);
        assert_eq!(target(Method::PUT, &p("dashboards/d1")), None);
        assert_eq!(target(Method::PUT, "/apis/dashboard.grafana.app/v1/namespaces/default/users/u1"), None);
        assert_eq!(target(Method::PUT, "/api/users/7"), None);
    }

    #[test]
    fn only_json_bodies_are_read() {
        let v = |s: &'static str| Some(HeaderValue::from_static(s));
        assert!(is_json(v("application/json").as_ref()));
        assert!(is_json(v("Application/JSON; charset=utf-8").as_ref()));
        assert!(is_json(v("application/json-patch+json").as_ref()));
        assert!(is_json(v("application/merge-patch+json").as_ref()));
        assert!(!is_json(v("application/apply-patch+yaml").as_ref()));
        assert!(!is_json(v("application/yaml").as_ref()));
        assert!(!is_json(None));
    }
}
