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

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body::Body as HttpBody;
use serde_json::json;

use super::Verdict;
use crate::app::App;
use crate::body::{full, read_guarded, Body, BoxError};

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

/// Decides whether `req` may reach Grafana; `path` as Grafana resolves it.
pub async fn check<B>(app: &App, req: Request<B>, path: &str) -> Verdict<B>
where
    B: HttpBody<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let Some((place, target)) = classify(req.method(), path) else { return Verdict::Pass(req) };
    // The team of an existing binding, once checked: its body's `teamRef` usually names it again.
    let mut checked_team = None;
    let decided = match target {
        Target::User(uid) => user_guarded(app, uid).await,
        Target::Team(uid) => team_guarded(app, &place.caller_headers(req.headers()), req.uri().query(), uid).await,
        Target::AuthInfo(Some(name)) => auth_info_guarded(app, name).await,
        Target::Binding(Some(name)) => bound_team(app, &req, &place, name).await.map(|team| {
            checked_team = team;
            None
        }),
        Target::AuthInfo(None) | Target::Binding(None) => Ok(None),
        // Without SCIM configured nothing is managed, so nothing a bulk delete takes is SCIM's.
        Target::Collection(_) if !app.policy.scim_active() => Ok(None),
        Target::Collection(resource) => Ok(Some(refuse(
            app,
            "collection",
            StatusCode::FORBIDDEN,
            "Forbidden",
            &format!("deleting every {resource} at once is refused while SCIM provisions them: it would delete SCIM-managed ones too"),
        ))),
    };
    match decided {
        Ok(Some(refusal)) | Err(refusal) => return Verdict::Refuse(refusal),
        Ok(None) => {}
    }
    let field = match target {
        Target::Binding(_) if req.method() != Method::DELETE => "teamRef",
        Target::AuthInfo(_) if req.method() != Method::DELETE => "userRef",
        _ => return Verdict::Pass(req),
    };
    body_guarded(app, req, &place, field, checked_team.as_deref()).await
}

/// A write to `users/<uid>`: refused when SCIM manages the user.
async fn user_guarded(app: &App, uid: &str) -> Result<Option<Response<Body>>, Response<Body>> {
    match super::users::managed_uid(app, uid).await {
        Ok(true) => Ok(Some(managed(
            app,
            "user",
            &format!("user {uid:?} is managed by SCIM: change it in your identity provider"),
        ))),
        Ok(false) => Ok(None),
        Err(e) => Err(unverifiable(app, "user", &e)),
    }
}

/// A write to `teams/<uid>`, or to a binding of that team: refused when SCIM manages the team
/// the UID names in the org of the caller (whose request carried `headers` and `query`).
async fn team_guarded(
    app: &App,
    headers: &http::HeaderMap,
    query: Option<&str>,
    uid: &str,
) -> Result<Option<Response<Body>>, Response<Body>> {
    let id = match super::teams::team_id_by_uid(app, headers, query, uid).await {
        Ok(Some(id)) => id,
        Ok(None) => return Ok(None),
        Err(e) => return Err(unverifiable(app, "team", &e)),
    };
    match app.store.is_managed_grafana_team(id).await {
        Ok(true) => Ok(Some(managed(
            app,
            "team",
            &format!(
                "team {uid:?} is managed by SCIM: its name and members change in your identity provider"
            ),
        ))),
        Ok(false) => Ok(None),
        Err(e) => Err(unverifiable(app, "team", &e.to_string())),
    }
}

/// The team of an existing binding, checked: `Err` is the refusal when that team is managed (or
/// cannot be checked), `Ok(None)` a binding Grafana does not show the caller (Grafana answers the
/// write itself), `Ok(Some(uid))` an unmanaged team's UID.
async fn bound_team<B>(
    app: &App,
    req: &Request<B>,
    place: &Place<'_>,
    name: &str,
) -> Result<Option<String>, Response<Body>> {
    let found = app
        .grafana
        .team_binding_as(
            (place.group, place.version),
            place.namespace,
            name,
            req.headers(),
            req.uri().query(),
        )
        .await;
    match found {
        Ok(binding) => {
            let team = binding.spec.team_ref.name;
            let headers = place.caller_headers(req.headers());
            match team_guarded(app, &headers, req.uri().query(), &team).await? {
                Some(refusal) => Err(refusal),
                None => Ok(Some(team)),
            }
        }
        Err(e) if e.is_not_found() || e.is_unauthorized() => Ok(None),
        Err(e) => Err(unverifiable(app, "team", &e.to_string())),
    }
}

/// A write to an existing auth info, named `<userUID>.<module>`: refused when the user is
/// managed. A UID may itself hold dots, so every prefix ending before a dot is tried, up to
/// [`MAX_REFERENCES`] of them.
async fn auth_info_guarded(app: &App, name: &str) -> Result<Option<Response<Body>>, Response<Body>> {
    let prefixes: Vec<&str> = name.match_indices('.').map(|(i, _)| &name[..i]).collect();
    if prefixes.len() > MAX_REFERENCES {
        return Err(too_many(app));
    }
    for uid in prefixes {
        if let Some(refusal) = user_guarded(app, uid).await? {
            return Ok(Some(refusal));
        }
    }
    Ok(None)
}

/// A binding's or auth info's body: refused when a team (`teamRef`) or user (`userRef`) it names
/// is managed, or when it cannot be read as JSON; otherwise forwarded as read. `checked` is a
/// name already found unmanaged for this request, not asked of Grafana again.
async fn body_guarded<B>(
    app: &App,
    req: Request<B>,
    place: &Place<'_>,
    field: &str,
    checked: Option<&str>,
) -> Verdict<B>
where
    B: HttpBody<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    if !is_json(req.headers().get(CONTENT_TYPE)) {
        return Verdict::Refuse(refuse(
            app,
            "unreadable",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            "scim-sidecar reads identity writes that name teams or users only as JSON; send application/json or a JSON patch",
        ));
    }
    let (parts, body) = req.into_parts();
    let bytes = match read_guarded(body, app.config.server.max_body_bytes).await {
        Ok(bytes) => bytes,
        Err(crate::body::ReadError::TooLarge { .. }) => {
            let message = "the request body is larger than the sidecar reads";
            return Verdict::Refuse(refuse(
                app,
                "unreadable",
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLarge",
                message,
            ));
        }
        Err(crate::body::ReadError::Stream(_)) => return Verdict::Refuse(bad_request(app)),
        Err(e @ crate::body::ReadError::TimedOut { .. }) => {
            return Verdict::Refuse(refuse(app, "unreadable", e.status(), "Timeout", &e.to_string()));
        }
        Err(e @ crate::body::ReadError::Busy) => {
            return Verdict::Refuse(refuse(
                app,
                "unreadable",
                e.status(),
                "ServiceUnavailable",
                &e.to_string(),
            ));
        }
    };
    let Some(names) = refs::names_under(&bytes, field) else { return Verdict::Refuse(bad_request(app)) };
    if names.len() > MAX_REFERENCES {
        return Verdict::Refuse(too_many(app));
    }
    let headers = place.caller_headers(&parts.headers);
    for name in names.iter().filter(|n| Some(n.as_str()) != checked) {
        let decided = match field {
            "teamRef" => team_guarded(app, &headers, parts.uri.query(), name).await,
            _ => user_guarded(app, name).await,
        };
        match decided {
            Ok(Some(refusal)) | Err(refusal) => return Verdict::Refuse(refusal),
            Ok(None) => {}
        }
    }
    Verdict::PassRead(Request::from_parts(parts, full(bytes)))
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

fn managed(app: &App, kind: &'static str, message: &str) -> Response<Body> {
    refuse(app, kind, StatusCode::FORBIDDEN, "Forbidden", message)
}

fn unverifiable(app: &App, kind: &'static str, error: &str) -> Response<Body> {
    // Fail closed: letting the write through could silently fork Grafana from the IdP.
    tracing::warn!(error, kind, "cannot tell whether an identity API write touches a scim-managed object");
    let label = if kind == "user" { "user_unknown" } else { "team_unknown" };
    refuse(
        app,
        label,
        StatusCode::SERVICE_UNAVAILABLE,
        "ServiceUnavailable",
        &format!("cannot verify whether the {kind} is managed by SCIM; try again"),
    )
}

fn bad_request(app: &App) -> Response<Body> {
    refuse(
        app,
        "unreadable",
        StatusCode::BAD_REQUEST,
        "BadRequest",
        "the request body is not a JSON object or patch the sidecar can check",
    )
}

fn too_many(app: &App) -> Response<Body> {
    let message =
        format!("the request names more than {MAX_REFERENCES} teams or users for the sidecar to check");
    refuse(app, "unreadable", StatusCode::BAD_REQUEST, "BadRequest", &message)
}

/// A Kubernetes `Status` failure, counted by kind.
fn refuse(app: &App, kind: &'static str, status: StatusCode, reason: &str, message: &str) -> Response<Body> {
    let body = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": status.as_u16(),
    });
    super::counted(app, kind, status, &body)
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
