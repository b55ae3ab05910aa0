//! The read-only `/Roles` resource (role discovery, as in draft-ietf-scim-roles-entitlements and
//! Okta's entitlement discovery): one Role per configured role value, its schema and its
//! ResourceType. Pure: the values come in as data (`RoleEntry`), the documents go out as JSON.
//!
//! A Role's `id` is its value (the string an IdP sends back in a user's `roles[].value`), so an
//! IdP that assigns what it read from `/Roles` sends values the mapping knows. The schema URN
//! is ours ([`ROLE_URN`]): the draft's attribute names (`value`, `display`, `type`,
//! `supported`) are followed, its URN could not be confirmed.

use serde_json::{json, Value};

use super::list::ListResponse;
use super::schema::{AttrType, AttributeDef, Mutability, Returned, SchemaDef, Uniqueness, RESOURCE_TYPE_URN};

/// The Role schema URN the sidecar serves.
pub const ROLE_URN: &str = "urn:ietf:params:scim:schemas:extension:2.0:Role";

const fn read_only(
    name: &'static str,
    t: AttrType,
    required: bool,
    description: &'static str,
) -> AttributeDef {
    AttributeDef {
        name,
        attr_type: t,
        multi_valued: false,
        required,
        case_exact: false,
        mutability: Mutability::ReadOnly,
        returned: Returned::Default,
        uniqueness: Uniqueness::None,
        description,
        sub_attributes: &[],
        canonical_values: &[],
        reference_types: &[],
    }
}

static ROLE_ATTRS: [AttributeDef; 5] = [
    AttributeDef {
        case_exact: true,
        returned: Returned::Always,
        uniqueness: Uniqueness::Server,
        ..read_only("id", AttrType::String, false, "The role value itself.")
    },
    read_only("value", AttrType::String, true, "The value to send in a user's roles[].value."),
    read_only("display", AttrType::String, false, "What the value gives in Grafana."),
    read_only("type", AttrType::String, false, "`Grafana org role` or `Grafana server admin`."),
    read_only("supported", AttrType::Boolean, true, "Whether the value may be assigned (always true)."),
];

/// The Role schema.
pub static ROLE_SCHEMA: SchemaDef = SchemaDef {
    id: ROLE_URN,
    name: "Role",
    description: "A role value the sidecar maps to a Grafana org role or to Grafana server admin",
    attributes: &ROLE_ATTRS,
};

/// One configured role value and what it gives in this namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleEntry {
    pub value: String,
    /// The Grafana org role it maps to here, if any.
    pub org_role: Option<String>,
    /// Listed in `grafana_admin_values`.
    pub server_admin: bool,
}

/// What a path segment may not hold as is (RFC 3986 segment characters stay readable).
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

fn location(base: &str, id: &str) -> String {
    let encoded: String = percent_encoding::utf8_percent_encode(id, SEGMENT).collect();
    format!("{}/Roles/{encoded}", base.trim_end_matches('/'))
}

/// The Role document of `entry`.
pub fn role_doc(entry: &RoleEntry, base: &str) -> Value {
    let (kind, display) = match (&entry.org_role, entry.server_admin) {
        (Some(role), true) => ("Grafana server admin", format!("Grafana server admin and org role {role}")),
        (None, true) => ("Grafana server admin", "Grafana server admin".to_string()),
        (Some(role), false) => ("Grafana org role", format!("Grafana org role {role}")),
        (None, false) => ("Grafana org role", "no Grafana role in this namespace".to_string()),
    };
    json!({
        "schemas": [ROLE_URN],
        "id": entry.value,
        "value": entry.value,
        "display": display,
        "type": kind,
        "supported": true,
        "meta": {"resourceType": "Role", "location": location(base, &entry.value)},
    })
}

/// `GET /Roles`: every entry, as one page.
pub fn list(entries: &[RoleEntry], base: &str) -> Value {
    let items: Vec<Value> = entries.iter().map(|e| role_doc(e, base)).collect();
    ListResponse::new(items.len(), 1, items)
}

/// `GET /Roles/{id}` (ids compare ignoring ASCII case, as values do); `None` → 404.
pub fn by_id(entries: &[RoleEntry], id: &str, base: &str) -> Option<Value> {
    entries.iter().find(|e| e.value.eq_ignore_ascii_case(id.trim())).map(|e| role_doc(e, base))
}

/// The Role ResourceType document.
pub fn resource_type(base: &str) -> Value {
    json!({
        "schemas": [RESOURCE_TYPE_URN],
        "id": "Role",
        "name": "Role",
        "endpoint": "/Roles",
        "description": ROLE_SCHEMA.description,
        "schema": ROLE_URN,
        "meta": {"resourceType": "ResourceType", "location": format!("{}/ResourceTypes/Role", base.trim_end_matches('/'))},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries() -> Vec<RoleEntry> {
        vec![
            RoleEntry { value: "grafana admins".into(), org_role: Some("Admin".into()), server_admin: false },
            RoleEntry { value: "super".into(), org_role: None, server_admin: true },
        ]
    }

    #[test]
    fn roles_list_and_lookup() {
        let l = list(&entries(), "https://h/scim/v2/");
        assert_eq!(l["totalResults"], 2);
        let first = &l["Resources"][0];
        assert_eq!(first["id"], "grafana admins");
        assert_eq!(first["value"], "grafana admins");
        assert_eq!(first["supported"], true);
        assert_eq!(first["display"], "Grafana org role Admin");
        assert_eq!(first["meta"]["location"], "https://h/scim/v2/Roles/grafana%20admins");
        assert_eq!(l["Resources"][1]["type"], "Grafana server admin");
        assert!(by_id(&entries(), "SUPER", "https://h").is_some());
        assert!(by_id(&entries(), "nope", "https://h").is_none());
        assert_eq!(resource_type("https://h")["endpoint"], "/Roles");
    }
}
