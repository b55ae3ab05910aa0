//! Discovery documents (RFC 7644 §4, RFC 7643 §5–§7): ServiceProviderConfig, ResourceTypes and
//! Schemas, generated from `scim::schema` so they declare exactly what the sidecar supports.
//!
//! Characteristic values are camelCase and no value is ever `null` (Entra's guidance).

use serde_json::{json, Map, Value};

use super::list::ListResponse;
use super::schema::{
    all_schemas, AttributeDef, ResourceType, SchemaDef, RESOURCE_TYPE_URN, SCHEMA_URN, SPC_URN,
};

/// What the ServiceProviderConfig declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveryConfig {
    /// `filter.maxResults`, also the cap on `count`.
    pub max_results: usize,
    pub sort_supported: bool,
    pub etag_supported: bool,
    pub bulk: bool,
    pub change_password: bool,
    pub patch: bool,
    pub documentation_uri: Option<String>,
}

impl Default for DiscoveryConfig {
    fn default() -> Self {
        DiscoveryConfig {
            max_results: 200,
            sort_supported: false,
            etag_supported: false,
            bulk: false,
            change_password: false,
            patch: true,
            documentation_uri: None,
        }
    }
}

fn base(url: &str) -> &str {
    url.trim_end_matches('/')
}

/// `GET /ServiceProviderConfig` (a single resource, not a ListResponse).
pub fn service_provider_config(cfg: &DiscoveryConfig, base_url: &str) -> Value {
    let mut v = json!({
        "schemas": [SPC_URN],
        "patch": {"supported": cfg.patch},
        "bulk": {"supported": cfg.bulk, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": cfg.max_results},
        "changePassword": {"supported": cfg.change_password},
        "sort": {"supported": cfg.sort_supported},
        "etag": {"supported": cfg.etag_supported},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication with a bearer token in the Authorization header",
            "primary": true
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{}/ServiceProviderConfig", base(base_url)),
        }
    });
    if let (Some(doc), Some(m)) = (&cfg.documentation_uri, v.as_object_mut()) {
        m.insert("documentationUri".into(), Value::from(doc.clone()));
    }
    v
}

/// One ResourceType document.
pub fn resource_type(rt: ResourceType, base_url: &str) -> Value {
    let ext: Vec<Value> =
        rt.extensions().iter().map(|s| json!({"schema": s.id, "required": false})).collect();
    let mut m = Map::new();
    m.insert("schemas".into(), json!([RESOURCE_TYPE_URN]));
    m.insert("id".into(), Value::from(rt.name()));
    m.insert("name".into(), Value::from(rt.name()));
    m.insert("endpoint".into(), Value::from(rt.endpoint()));
    m.insert("description".into(), Value::from(rt.core_schema().description));
    m.insert("schema".into(), Value::from(rt.core_urn()));
    if !ext.is_empty() {
        m.insert("schemaExtensions".into(), Value::Array(ext));
    }
    m.insert(
        "meta".into(),
        json!({"resourceType": "ResourceType", "location": format!("{}/ResourceTypes/{}", base(base_url), rt.name())}),
    );
    Value::Object(m)
}

/// `GET /ResourceTypes` (ListResponse).
pub fn resource_types(base_url: &str) -> Value {
    let items: Vec<Value> =
        [ResourceType::User, ResourceType::Group].iter().map(|rt| resource_type(*rt, base_url)).collect();
    ListResponse::new(items.len(), 1, items)
}

/// `GET /ResourceTypes/{name}`; `None` → 404.
pub fn resource_type_by_name(name: &str, base_url: &str) -> Option<Value> {
    let rt = [ResourceType::User, ResourceType::Group]
        .into_iter()
        .find(|rt| rt.name().eq_ignore_ascii_case(name))?;
    Some(resource_type(rt, base_url))
}

/// `GET /ResourceTypes` with the read-only `Role` type when role sync serves `/Roles`.
pub fn resource_types_with_roles(base_url: &str, roles: bool) -> Value {
    let mut items: Vec<Value> =
        [ResourceType::User, ResourceType::Group].iter().map(|rt| resource_type(*rt, base_url)).collect();
    if roles {
        items.push(super::roles::resource_type(base_url));
    }
    ListResponse::new(items.len(), 1, items)
}

/// `GET /ResourceTypes/{name}`, `Role` included when `roles`; `None` → 404.
pub fn resource_type_by_name_with_roles(name: &str, base_url: &str, roles: bool) -> Option<Value> {
    if roles && name.eq_ignore_ascii_case("Role") {
        return Some(super::roles::resource_type(base_url));
    }
    resource_type_by_name(name, base_url)
}

/// `GET /Schemas` with the Role schema when `roles`.
pub fn schemas_with_roles(base_url: &str, roles: bool) -> Value {
    let mut items: Vec<Value> = all_schemas().iter().map(|s| schema_doc(s, base_url)).collect();
    if roles {
        items.push(schema_doc(&super::roles::ROLE_SCHEMA, base_url));
    }
    ListResponse::new(items.len(), 1, items)
}

/// `GET /Schemas/{urn}` with the Role schema when `roles`; `None` → 404.
pub fn schema_by_urn_with_roles(urn: &str, base_url: &str, roles: bool) -> Option<Value> {
    if roles && urn.eq_ignore_ascii_case(super::roles::ROLE_URN) {
        return Some(schema_doc(&super::roles::ROLE_SCHEMA, base_url));
    }
    schema_by_urn(urn, base_url)
}

fn attribute(a: &AttributeDef) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), Value::from(a.name));
    m.insert("type".into(), Value::from(a.attr_type.as_str()));
    m.insert("multiValued".into(), Value::Bool(a.multi_valued));
    m.insert("description".into(), Value::from(a.description));
    m.insert("required".into(), Value::Bool(a.required));
    if !a.canonical_values.is_empty() {
        m.insert("canonicalValues".into(), json!(a.canonical_values));
    }
    m.insert("caseExact".into(), Value::Bool(a.case_exact));
    m.insert("mutability".into(), Value::from(a.mutability.as_str()));
    m.insert("returned".into(), Value::from(a.returned.as_str()));
    m.insert("uniqueness".into(), Value::from(a.uniqueness.as_str()));
    if !a.reference_types.is_empty() {
        m.insert("referenceTypes".into(), json!(a.reference_types));
    }
    if !a.sub_attributes.is_empty() {
        m.insert("subAttributes".into(), Value::Array(a.sub_attributes.iter().map(attribute).collect()));
    }
    Value::Object(m)
}

/// One Schema document.
pub fn schema_doc(s: &SchemaDef, base_url: &str) -> Value {
    json!({
        "schemas": [SCHEMA_URN],
        "id": s.id,
        "name": s.name,
        "description": s.description,
        "attributes": s.attributes.iter().map(attribute).collect::<Vec<_>>(),
        "meta": {"resourceType": "Schema", "location": format!("{}/Schemas/{}", base(base_url), s.id)},
    })
}

/// `GET /Schemas` (ListResponse).
pub fn schemas(base_url: &str) -> Value {
    let items: Vec<Value> = all_schemas().iter().map(|s| schema_doc(s, base_url)).collect();
    ListResponse::new(items.len(), 1, items)
}

/// `GET /Schemas/{urn}` (case-insensitive); `None` → 404.
pub fn schema_by_urn(urn: &str, base_url: &str) -> Option<Value> {
    all_schemas().into_iter().find(|s| s.id.eq_ignore_ascii_case(urn)).map(|s| schema_doc(s, base_url))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_nulls(v: &Value) -> bool {
        match v {
            Value::Null => false,
            Value::Array(a) => a.iter().all(no_nulls),
            Value::Object(m) => m.values().all(no_nulls),
            _ => true,
        }
    }

    #[test]
    fn documents_have_no_nulls_and_camel_case_values() {
        let b = "https://h/scim/v2/";
        for doc in [service_provider_config(&DiscoveryConfig::default(), b), resource_types(b), schemas(b)] {
            assert!(no_nulls(&doc), "{doc}");
        }
        let s = schemas(b);
        assert_eq!(s["totalResults"], 3);
        let user = &s["Resources"][0];
        let pw = user["attributes"].as_array().unwrap().iter().find(|a| a["name"] == "password").unwrap();
        assert_eq!(pw["mutability"], "writeOnly");
        assert_eq!(pw["returned"], "never");
        let un = user["attributes"].as_array().unwrap().iter().find(|a| a["name"] == "userName").unwrap();
        assert_eq!(
            (un["required"].as_bool(), un["caseExact"].as_bool(), un["uniqueness"].as_str()),
            (Some(true), Some(false), Some("server"))
        );
        assert_eq!(
            user["meta"]["location"],
            "https://h/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User"
        );
    }

    #[test]
    fn spc_is_truthful_and_lookups_work() {
        let spc =
            service_provider_config(&DiscoveryConfig { max_results: 100, ..Default::default() }, "https://h");
        assert_eq!(spc["patch"]["supported"], true);
        assert_eq!(spc["bulk"]["supported"], false);
        assert_eq!(spc["filter"]["maxResults"], 100);
        assert!(spc.get("Resources").is_none());
        assert_eq!(
            resource_type_by_name("user", "https://h").unwrap()["schemaExtensions"][0]["required"],
            false
        );
        assert!(resource_type_by_name("Nope", "https://h").is_none());
        assert!(schema_by_urn(crate::scim::schema::ENTERPRISE_URN, "https://h").is_some());
        assert!(schema_by_urn("urn:x", "https://h").is_none());
        assert_eq!(resource_types("https://h")["Resources"][1]["endpoint"], "/Groups");
    }
}
