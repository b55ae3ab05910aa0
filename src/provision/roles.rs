//! Role sync (`[scim.roles]`): which Grafana org role, and whether the server-admin flag, a
//! managed user's SCIM `roles` ask for. Pure: [`desired`] reads only the configuration and the
//! stored SCIM document, so reconcile can call it as it is ([`desired_org_role`]); the Grafana
//! calls that apply it live in [`apply`].
//!
//! - A user's org role is the highest mapped role among their role values (`None` < `Viewer` <
//!   `Editor` < `Admin`); with no mapped value it is `[scim] default_role`.
//! - Values compare ignoring ASCII case and surrounding blanks (`roles.value` is not case-exact).
//! - Values neither mapped nor listed in `grafana_admin_values` are unmapped: kept in SCIM,
//!   reported, never an error.
//! - A user is a server admin when a value is in `grafana_admin_values` (never otherwise; with
//!   the list empty SCIM never touches the flag).
//! - [`full_assignment`]: a PATCH `add` of `roles` (path `roles`, or a path-less value holding
//!   `roles`) carries the user's whole current assignment (Entra's `AppRoleAssignmentsComplex`
//!   PATCH; removals never arrive on their own) and replaces the set; a `replace` inside
//!   filtered `roles` elements that match nothing adds the element (as an `add` would).

pub mod apply;

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::config::ScimConfig;
use crate::scim::filter::PatchPath;
use crate::scim::patch::{OpKind, PatchOp, PatchRequest};

/// Grafana's org roles, in rank order (`Ord` is the precedence).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum OrgRole {
    None,
    Viewer,
    Editor,
    Admin,
}

impl OrgRole {
    /// Grafana's spelling (case-sensitive, as its API wants it).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "None" => Some(Self::None),
            "Viewer" => Some(Self::Viewer),
            "Editor" => Some(Self::Editor),
            "Admin" => Some(Self::Admin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "None",
            Self::Viewer => "Viewer",
            Self::Editor => "Editor",
            Self::Admin => "Admin",
        }
    }
}

/// What a user's SCIM roles ask of Grafana in one org.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    /// The org role to hold (Grafana's spelling).
    pub org_role: String,
    /// Whether a mapped value chose it (false: `[scim] default_role`).
    pub mapped: bool,
    /// Server admin (only meaningful when `grafana_admin_values` is not empty).
    pub grafana_admin: bool,
    /// Values neither mapped nor admin values, as sent.
    pub unmapped: Vec<String>,
}

/// The role values of a SCIM user document: each `roles[].value` (a bare string element is
/// taken as its value), trimmed, blanks skipped, duplicates (ignoring case) once.
pub fn role_values(doc: &Value) -> Vec<String> {
    let Some(items) = doc.get("roles").and_then(Value::as_array) else { return Vec::new() };
    let mut out: Vec<String> = Vec::new();
    for item in items {
        let value = match item {
            Value::String(s) => Some(s.as_str()),
            Value::Object(m) => m.get("value").and_then(Value::as_str),
            _ => None,
        };
        let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else { continue };
        if !out.iter().any(|o| o.eq_ignore_ascii_case(value)) {
            out.push(value.to_string());
        }
    }
    out
}

/// Whether two documents carry the same role values (ignoring case and order).
pub fn same_values(a: &Value, b: &Value) -> bool {
    let fold = |d: &Value| {
        let mut v: Vec<String> = role_values(d).iter().map(|s| s.to_ascii_lowercase()).collect();
        v.sort();
        v
    };
    fold(a) == fold(b)
}

/// What `doc`'s roles ask for in `org_id`; `None` while `[scim.roles] enabled` is false.
pub fn desired(scim: &ScimConfig, org_id: i64, doc: &Value) -> Option<Desired> {
    let cfg = &scim.roles;
    if !cfg.enabled {
        return None;
    }
    let map: BTreeMap<String, String> = cfg.map_for(org_id);
    let mut best: Option<OrgRole> = None;
    let mut grafana_admin = false;
    let mut unmapped = Vec::new();
    for value in role_values(doc) {
        let folded = value.to_ascii_lowercase();
        let admin = cfg.grafana_admin_values.iter().any(|a| a.trim().eq_ignore_ascii_case(&folded));
        grafana_admin |= admin;
        match map.get(&folded).and_then(|r| OrgRole::parse(r)) {
            Some(role) => best = best.max(Some(role)),
            None if !admin => unmapped.push(value),
            None => {}
        }
    }
    Some(Desired {
        org_role: best.map_or_else(|| scim.default_role.clone(), |r| r.as_str().to_string()),
        mapped: best.is_some(),
        grafana_admin,
        unmapped,
    })
}

/// The org role a managed user should hold in `org_id` given its stored SCIM document
/// (`UserRecord::attributes`); `None` while role sync is off (the role is then not SCIM's).
pub fn desired_org_role(scim: &ScimConfig, org_id: i64, attributes: &Value) -> Option<String> {
    desired(scim, org_id, attributes).map(|d| d.org_role)
}

/// The role values `/Roles` lists in `org_id`: those mapped there, and the server-admin values.
/// Empty while role sync is off.
pub fn entries(scim: &ScimConfig, org_id: i64) -> Vec<crate::scim::roles::RoleEntry> {
    let cfg = &scim.roles;
    if !cfg.enabled {
        return Vec::new();
    }
    let map = cfg.map_for(org_id);
    cfg.all_values()
        .into_iter()
        .filter_map(|value| {
            let folded = value.to_ascii_lowercase();
            let org_role = map.get(&folded).cloned();
            let server_admin =
                cfg.grafana_admin_values.iter().any(|a| a.trim().eq_ignore_ascii_case(&folded));
            (org_role.is_some() || server_admin).then_some(crate::scim::roles::RoleEntry {
                value,
                org_role,
                server_admin,
            })
        })
        .collect()
}

/// Whether `op` is an `add` of the whole `roles` attribute (no filter, no sub-attribute).
fn adds_all_roles(op: &PatchOp) -> bool {
    op.op == OpKind::Add
        && matches!(&op.path, Some(PatchPath::Attr(a)) if a.name.eq_ignore_ascii_case("roles") && a.sub_attr.is_none())
}

/// Whether `op` replaces inside filtered `roles` elements (`roles[primary eq "True"].value`).
fn replaces_filtered_roles(op: &PatchOp) -> bool {
    op.op == OpKind::Replace
        && matches!(&op.path, Some(PatchPath::Value(v)) if v.attr.name.eq_ignore_ascii_case("roles"))
}

/// Rewrites a PATCH so that an `add` of `roles` replaces the set (see the module doc). Other
/// operations, and `add`s to filtered paths (`roles[primary eq "True"].value`), are kept.
pub fn full_assignment(patch: &PatchRequest) -> PatchRequest {
    let mut out = patch.clone();
    let mut ops = Vec::with_capacity(out.operations.len());
    for op in out.operations.drain(..) {
        if adds_all_roles(&op) {
            ops.push(PatchOp { op: OpKind::Replace, ..op });
            continue;
        }
        if replaces_filtered_roles(&op) {
            // Entra's single-role shape (`roles[primary eq "True"].value`) on a user with no
            // primary role yet: seeded like an add instead of failing with noTarget.
            ops.push(PatchOp { op: OpKind::Add, ..op });
            continue;
        }
        match (&op.op, &op.path, &op.value) {
            (OpKind::Add, None, Some(Value::Object(m)))
                if m.keys().any(|k| k.eq_ignore_ascii_case("roles")) =>
            {
                let (roles, rest): (Map<String, Value>, Map<String, Value>) =
                    m.clone().into_iter().partition(|(k, _)| k.eq_ignore_ascii_case("roles"));
                if !rest.is_empty() {
                    ops.push(PatchOp { op: OpKind::Add, path: None, value: Some(Value::Object(rest)) });
                }
                ops.push(PatchOp { op: OpKind::Replace, path: None, value: Some(Value::Object(roles)) });
            }
            _ => ops.push(op),
        }
    }
    out.operations = ops;
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::config::RolesConfig;

    fn scim(enabled: bool) -> ScimConfig {
        let roles: RolesConfig = toml::from_str(
            "grafana_admin_values = [\"super\"]\n[map]\n\"grafana-admins\" = \"Admin\"\n\
             \"grafana-editors\" = \"Editor\"\n\"viewers\" = \"Viewer\"\n\"nobody\" = \"None\"\n\
             [namespaces.\"org-2\".map]\n\"grafana-admins\" = \"Editor\"\n",
        )
        .unwrap();
        ScimConfig { roles: RolesConfig { enabled, ..roles }, ..ScimConfig::default() }
    }

    fn doc(values: &[&str]) -> Value {
        json!({"userName": "u", "roles": values.iter().map(|v| json!({"value": v})).collect::<Vec<_>>()})
    }

    #[test]
    fn the_highest_mapped_role_wins_and_none_mapped_is_the_default() {
        let c = scim(true);
        let d = desired(&c, 1, &doc(&["viewers", "GRAFANA-EDITORS", "nobody"])).unwrap();
        assert_eq!((d.org_role.as_str(), d.mapped, d.grafana_admin), ("Editor", true, false));
        assert!(d.unmapped.is_empty());
        assert_eq!(desired_org_role(&c, 1, &doc(&["grafana-admins", "viewers"])).as_deref(), Some("Admin"));
        assert_eq!(desired_org_role(&c, 1, &doc(&["nobody"])).as_deref(), Some("None"));
        let d = desired(&c, 1, &doc(&["x-team", " "])).unwrap();
        assert_eq!((d.org_role.as_str(), d.mapped), ("Viewer", false));
        assert_eq!(d.unmapped, vec!["x-team"]);
        assert_eq!(desired_org_role(&c, 1, &json!({"userName": "u"})).as_deref(), Some("Viewer"));
        // Namespace overrides.
        assert_eq!(desired_org_role(&c, 2, &doc(&["grafana-admins"])).as_deref(), Some("Editor"));
        // Off: not SCIM's.
        assert_eq!(desired_org_role(&scim(false), 1, &doc(&["grafana-admins"])), None);
    }

    #[test]
    fn server_admin_only_for_listed_values() {
        let c = scim(true);
        let d = desired(&c, 1, &doc(&["Super"])).unwrap();
        assert!(d.grafana_admin);
        assert!(d.unmapped.is_empty(), "an admin value is not unmapped");
        assert_eq!(d.org_role, "Viewer");
        assert!(!desired(&c, 1, &doc(&["grafana-admins"])).unwrap().grafana_admin);
    }

    #[test]
    fn role_values_accept_entra_okta_and_bare_shapes() {
        let entra = json!({"roles": [{"primary": false, "type": "WindowsAzureActiveDirectoryRole",
            "displayName": "Admins", "value": "grafana-admins"}, {"id": "x", "value": "GRAFANA-admins"}, "viewers", 7]});
        assert_eq!(role_values(&entra), vec!["grafana-admins", "viewers"]);
        assert!(same_values(&doc(&["a", "B"]), &doc(&["b", "A", "a"])));
        assert!(!same_values(&doc(&["a"]), &doc(&[])));
    }

    #[test]
    fn an_add_of_roles_replaces_the_set() {
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
            {"op": "Add", "path": "roles", "value": [{"value": "a"}]},
            {"op": "add", "value": {"roles": [{"value": "b"}], "title": "t"}},
            {"op": "add", "path": "roles[primary eq \"True\"].value", "value": "c"},
            {"op": "add", "path": "emails", "value": [{"value": "e@x"}]}]});
        let p = full_assignment(&PatchRequest::parse(&body).unwrap());
        let kinds: Vec<OpKind> = p.operations.iter().map(|o| o.op).collect();
        assert_eq!(kinds, vec![OpKind::Replace, OpKind::Add, OpKind::Replace, OpKind::Add, OpKind::Add]);
        assert_eq!(p.operations[1].value, Some(json!({"title": "t"})));
        assert_eq!(p.operations[2].value, Some(json!({"roles": [{"value": "b"}]})));
        let current = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "u",
            "roles": [{"value": "old"}]});
        let out = p.apply(crate::scim::ResourceType::User, &current).unwrap();
        assert_eq!(role_values(&out), vec!["b", "c"]);
        let single = json!({"Operations": [{"op": "Replace", "path": "roles[primary eq \"True\"].value", "value": "v"}]});
        let p = full_assignment(&PatchRequest::parse(&single).unwrap());
        assert_eq!(p.operations[0].op, OpKind::Add);
        let out = p.apply(crate::scim::ResourceType::User, &current).unwrap();
        assert_eq!(role_values(&out), vec!["old", "v"]);
    }
}
