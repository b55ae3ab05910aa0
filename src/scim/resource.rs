//! Resource canonicalisation for POST/PUT bodies and PATCH values, `schemas` and `meta` helpers.
//!
//! Input is whatever an IdP sent; output is a JSON object with canonical attribute names, only
//! declared attributes, typed values, and enterprise attributes under the enterprise URN key.
//! Must not know about storage or Grafana.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};

use super::error::ScimError;
use super::schema::{AttrType, AttributeDef, Lookup, ResourceType, SchemaDef};

/// Canonicalises a POST/PUT body: canonical names, unknown attributes and schema URNs dropped,
/// read-only input (`id`, `meta`, `groups`) dropped, string booleans coerced, `null`/`[]` treated
/// as absent, required attributes checked. The result has no `schemas` (see [`with_schemas`]).
pub fn canonicalize(rt: ResourceType, body: &Value) -> Result<Value, ScimError> {
    let obj =
        body.as_object().ok_or_else(|| ScimError::invalid_syntax("request body must be a JSON object"))?;
    let mut out = Map::new();
    for (key, value) in obj {
        merge_key(rt, &mut out, key, value, true)?;
    }
    check_required(rt, &out)?;
    Ok(Value::Object(out))
}

/// Merges one input key into `out`, resolving dotted and URN-qualified keys. Read-only and
/// unknown attributes are skipped (`skip_read_only` false makes read-only targets an error).
pub(crate) fn merge_key(
    rt: ResourceType,
    out: &mut Map<String, Value>,
    key: &str,
    value: &Value,
    skip_read_only: bool,
) -> Result<(), ScimError> {
    match super::schema::resolve_key(rt, key) {
        Lookup::Unknown => Ok(()),
        Lookup::Extension(schema) => {
            let Some(inner) = value.as_object() else {
                return if value.is_null() {
                    Ok(())
                } else {
                    Err(ScimError::invalid_value(format!("{} must be an object", schema.id)))
                };
            };
            let mut ext = match out.remove(schema.id) {
                Some(Value::Object(m)) => m,
                _ => Map::new(),
            };
            for (k, v) in inner {
                if let Some(attr) = schema.attr(k) {
                    put_attr(&mut ext, attr, None, v, skip_read_only)?;
                }
            }
            if !ext.is_empty() {
                out.insert(schema.id.to_string(), Value::Object(ext));
            }
            Ok(())
        }
        Lookup::Attr(r) => {
            let target = container(out, r.schema, r.is_extension())?;
            put_attr(target, r.attr, r.sub, value, skip_read_only)?;
            if r.is_extension() {
                drop_empty_extension(out, r.schema.id);
            }
            Ok(())
        }
    }
}

/// The object that holds `schema`'s attributes: the resource itself or its extension object.
pub(crate) fn container<'a>(
    out: &'a mut Map<String, Value>,
    schema: &SchemaDef,
    extension: bool,
) -> Result<&'a mut Map<String, Value>, ScimError> {
    if !extension {
        return Ok(out);
    }
    let slot = out.entry(schema.id.to_string()).or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut().ok_or_else(|| ScimError::internal("extension container is not an object"))
}

pub(crate) fn drop_empty_extension(out: &mut Map<String, Value>, urn: &str) {
    if out.get(urn).and_then(Value::as_object).is_some_and(Map::is_empty) {
        out.remove(urn);
    }
}

fn put_attr(
    target: &mut Map<String, Value>,
    attr: &'static AttributeDef,
    sub: Option<&'static AttributeDef>,
    value: &Value,
    skip_read_only: bool,
) -> Result<(), ScimError> {
    if attr.is_read_only() || sub.is_some_and(|s| s.is_read_only()) {
        return if skip_read_only {
            Ok(())
        } else {
            Err(ScimError::mutability(format!("attribute {} is readOnly", attr.name)))
        };
    }
    match sub {
        None => {
            match coerce(attr, value, attr.name)? {
                Some(v) => target.insert(attr.name.to_string(), v),
                None => target.remove(attr.name),
            };
        }
        Some(sub_def) => {
            // `name.givenName` on a singular complex attribute; multi-valued targets need a
            // value filter, which only PATCH paths can express.
            if attr.multi_valued {
                return Ok(());
            }
            let label = format!("{}.{}", attr.name, sub_def.name);
            let coerced = coerce(sub_def, value, &label)?;
            let parent = target.entry(attr.name.to_string()).or_insert_with(|| Value::Object(Map::new()));
            if !parent.is_object() {
                *parent = Value::Object(Map::new());
            }
            if let Value::Object(m) = parent {
                match coerced {
                    Some(v) => m.insert(sub_def.name.to_string(), v),
                    None => m.remove(sub_def.name),
                };
                if m.is_empty() {
                    target.remove(attr.name);
                }
            }
        }
    }
    Ok(())
}

/// Coerces `value` to `attr`'s type. `Ok(None)` means unassigned (null, `[]`, `{}`, `""`).
pub fn coerce(attr: &AttributeDef, value: &Value, label: &str) -> Result<Option<Value>, ScimError> {
    if attr.multi_valued {
        let items: Vec<&Value> = match value {
            Value::Null => return Ok(None),
            Value::Array(a) => a.iter().collect(),
            other => vec![other],
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            if let Some(v) = coerce_single(attr, item, label)? {
                out.push(v);
            }
        }
        return Ok(if out.is_empty() { None } else { Some(Value::Array(out)) });
    }
    match value {
        // Entra sends singular `manager` as a one-element array.
        Value::Array(a) if a.is_empty() => Ok(None),
        Value::Array(a) if a.len() == 1 => coerce_single(attr, &a[0], label),
        Value::Array(_) => {
            Err(ScimError::invalid_value(format!("{label} is single-valued but got an array")))
        }
        other => coerce_single(attr, other, label),
    }
}

fn coerce_single(attr: &AttributeDef, value: &Value, label: &str) -> Result<Option<Value>, ScimError> {
    let wrong = |want: &str| ScimError::invalid_value(format!("{label} must be {want}"));
    match (attr.attr_type, value) {
        (_, Value::Null) => Ok(None),
        (AttrType::Complex, Value::Object(m)) => {
            let mut out = Map::new();
            for (k, v) in m {
                let Some(sub) = attr.sub(k) else { continue };
                let sub_label = format!("{label}.{}", sub.name);
                if let Some(v) = coerce_single(sub, v, &sub_label)? {
                    out.insert(sub.name.to_string(), v);
                }
            }
            Ok(if out.is_empty() { None } else { Some(Value::Object(out)) })
        }
        // Entra and the SCIM Validator send the enterprise `manager` as its bare id (`""` to
        // remove it): a singular complex attribute with a `value` takes a string as that value.
        (AttrType::Complex, Value::String(_)) if !attr.multi_valued => match attr.sub("value") {
            Some(value_def) => Ok(coerce_single(value_def, value, label)?.map(|v| {
                let mut out = Map::new();
                out.insert(value_def.name.to_string(), v);
                Value::Object(out)
            })),
            None => Err(wrong("an object")),
        },
        (AttrType::Complex, _) => Err(wrong("an object")),
        (AttrType::Boolean, Value::Bool(b)) => Ok(Some(Value::Bool(*b))),
        (AttrType::Boolean, Value::String(s)) => match s.trim() {
            t if t.eq_ignore_ascii_case("true") => Ok(Some(Value::Bool(true))),
            t if t.eq_ignore_ascii_case("false") => Ok(Some(Value::Bool(false))),
            _ => Err(wrong("a boolean")),
        },
        (AttrType::Boolean, _) => Err(wrong("a boolean")),
        (AttrType::DateTime, Value::String(s)) => {
            if s.is_empty() {
                Ok(None)
            } else if DateTime::parse_from_rfc3339(s).is_ok() {
                Ok(Some(value.clone()))
            } else {
                Err(wrong("an xsd:dateTime"))
            }
        }
        (AttrType::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(Some(value.clone())),
        (AttrType::Decimal, Value::Number(_)) => Ok(Some(value.clone())),
        (AttrType::String | AttrType::Reference | AttrType::Binary, Value::String(s)) => {
            Ok(if s.is_empty() { None } else { Some(value.clone()) })
        }
        (AttrType::Integer, _) => Err(wrong("an integer")),
        (AttrType::Decimal, _) => Err(wrong("a number")),
        _ => Err(wrong("a string")),
    }
}

/// Fails with `invalidValue` when a required attribute is missing.
pub fn check_required(rt: ResourceType, obj: &Map<String, Value>) -> Result<(), ScimError> {
    for attr in rt.core_schema().attributes.iter().filter(|a| a.required) {
        if obj.get(attr.name).is_none_or(Value::is_null) {
            return Err(ScimError::invalid_value(format!("{} is required", attr.name)));
        }
    }
    Ok(())
}

/// Returns `value` with `schemas` first: the core URN, plus each extension URN whose object is
/// present and non-empty.
pub fn with_schemas(rt: ResourceType, value: Value) -> Value {
    let mut schemas = vec![Value::from(rt.core_urn())];
    let Value::Object(mut obj) = value else {
        return json!({ "schemas": schemas });
    };
    for ext in rt.extensions() {
        if obj.get(ext.id).and_then(Value::as_object).is_some_and(|m| !m.is_empty()) {
            schemas.push(Value::from(ext.id));
        }
    }
    // In place: the other members keep their order and the map is not built again.
    obj.shift_insert(0, "schemas".into(), Value::Array(schemas));
    Value::Object(obj)
}

/// `meta` of a stored resource (RFC 7643 §3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    pub resource_type: ResourceType,
    pub created: DateTime<Utc>,
    pub last_modified: DateTime<Utc>,
    /// Absolute URL of the resource (see [`location`]).
    pub location: String,
    /// Weak ETag (`W/"…"`), when versioning is on.
    pub version: Option<String>,
}

impl Meta {
    pub fn to_value(&self) -> Value {
        let mut m = Map::with_capacity(5);
        m.insert("resourceType".into(), Value::from(self.resource_type.name()));
        m.insert("created".into(), Value::from(self.created.to_rfc3339_opts(SecondsFormat::Millis, true)));
        m.insert(
            "lastModified".into(),
            Value::from(self.last_modified.to_rfc3339_opts(SecondsFormat::Millis, true)),
        );
        m.insert("location".into(), Value::from(self.location.clone()));
        if let Some(v) = &self.version {
            m.insert("version".into(), Value::from(v.clone()));
        }
        Value::Object(m)
    }
}

/// Finishes a representation for the wire: `schemas` first (see [`with_schemas`]), a weak ETag
/// computed from the content (RFC 7644 §3.14), and `meta` carrying that ETag as its `version`.
/// Returns the resource and its ETag.
pub fn finish(
    rt: ResourceType,
    doc: Value,
    created: DateTime<Utc>,
    last_modified: DateTime<Utc>,
    location: String,
) -> (Value, String) {
    let out = with_schemas(rt, doc);
    let etag = super::etag::weak_etag(&out);
    attach_meta(out, Meta { resource_type: rt, created, last_modified, location, version: Some(etag) })
}

/// As [`finish`], for a resource whose tag its owner computed over a canonical form of its own
/// (`meta.version`; a group's tag leaves out how Grafana orders and names members).
pub fn finish_with_meta(doc: Value, meta: Meta) -> (Value, String) {
    attach_meta(with_schemas(meta.resource_type, doc), meta)
}

fn attach_meta(mut out: Value, meta: Meta) -> (Value, String) {
    let etag = meta.version.clone().unwrap_or_default();
    if let Some(map) = out.as_object_mut() {
        map.insert("meta".into(), meta.to_value());
    }
    (out, etag)
}

/// `<base>/Users/<id>`; `base` is the SCIM base URL with or without a trailing slash.
pub fn location(base_url: &str, rt: ResourceType, id: &str) -> String {
    format!("{}{}/{}", base_url.trim_end_matches('/'), rt.endpoint(), id)
}

#[cfg(test)]
mod tests;
