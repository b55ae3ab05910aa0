//! PATCH requests (RFC 7644 §3.5.2): parsing with an ingress normaliser for the shapes Entra ID
//! and Okta really send, and atomic application to a canonical resource.
//!
//! The normaliser accepts `op` in any case, string booleans (coerced at apply time against the
//! schema), Entra's `remove` + `members` + value array (removes only those values), path-less
//! `add`/`replace` with dotted or URN-qualified keys (split into path operations), and read-only
//! keys such as Okta's `id` inside a value (ignored). Each legacy shape seen is recorded so the
//! caller can count it. Must not know about HTTP, storage or Grafana.

mod apply;

use serde_json::{Map, Value};

use super::error::ScimError;
use super::filter::eval::get_ci;
use super::filter::{parse_patch_path, PatchPath};
use super::schema::{ENTERPRISE_URN, PATCH_OP_URN};

/// Most operations accepted in one request.
pub const MAX_OPERATIONS: usize = 1000;

/// A PATCH operation kind; parsed case-insensitively.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Add,
    Replace,
    Remove,
}

/// One normalised operation.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOp {
    pub op: OpKind,
    pub path: Option<PatchPath>,
    pub value: Option<Value>,
}

/// A non-RFC (or lax) request shape the normaliser accepted, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LegacyShape {
    /// `"op": "Replace"` (Entra without `aadOptscim062020`).
    CapitalisedOp,
    /// `"value": "False"` for a boolean.
    StringBoolean,
    /// `remove` with a path and a value array (Entra member removal).
    RemoveWithValue,
    /// Path-less `add`/`replace` whose value keys are dotted or URN-qualified paths.
    DottedKeys,
    /// `id`, `meta` or `schemas` inside a path-less value (Okta group rename).
    ReadOnlyInValue,
    /// No `schemas` or no PatchOp URN in it.
    MissingSchemas,
}

impl LegacyShape {
    /// Metric label.
    pub fn label(self) -> &'static str {
        match self {
            LegacyShape::CapitalisedOp => "capitalised_op",
            LegacyShape::StringBoolean => "string_boolean",
            LegacyShape::RemoveWithValue => "remove_with_value",
            LegacyShape::DottedKeys => "dotted_keys",
            LegacyShape::ReadOnlyInValue => "read_only_in_value",
            LegacyShape::MissingSchemas => "missing_schemas",
        }
    }
}

/// A parsed, normalised PATCH request.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchRequest {
    pub operations: Vec<PatchOp>,
    legacy: Vec<LegacyShape>,
}

impl PatchRequest {
    /// Parses and normalises a PatchOp body. Errors: `invalidSyntax` (shape), `invalidPath`
    /// (malformed path), `noTarget` (`remove` without path), `invalidValue` (missing value).
    pub fn parse(body: &Value) -> Result<PatchRequest, ScimError> {
        let obj =
            body.as_object().ok_or_else(|| ScimError::invalid_syntax("PATCH body must be a JSON object"))?;
        let mut req = PatchRequest { operations: Vec::new(), legacy: Vec::new() };
        let has_urn = get_ci(body, "schemas").and_then(Value::as_array).is_some_and(|a| {
            a.iter().any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(PATCH_OP_URN)))
        });
        if !has_urn {
            req.note(LegacyShape::MissingSchemas);
        }
        let ops = obj
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("Operations"))
            .and_then(|(_, v)| v.as_array())
            .ok_or_else(|| ScimError::invalid_syntax("Operations must be an array"))?;
        if ops.is_empty() {
            return Err(ScimError::invalid_syntax("Operations must not be empty"));
        }
        if ops.len() > MAX_OPERATIONS {
            return Err(ScimError::invalid_syntax(format!("more than {MAX_OPERATIONS} operations")));
        }
        for (i, op) in ops.iter().enumerate() {
            req.parse_op(i, op)?;
        }
        Ok(req)
    }

    fn note(&mut self, shape: LegacyShape) {
        if !self.legacy.contains(&shape) {
            self.legacy.push(shape);
        }
    }

    fn parse_op(&mut self, i: usize, op: &Value) -> Result<(), ScimError> {
        if !op.is_object() {
            return Err(ScimError::invalid_syntax(format!("operation {i} must be an object")));
        }
        let name = get_ci(op, "op")
            .and_then(Value::as_str)
            .ok_or_else(|| ScimError::invalid_syntax(format!("operation {i} has no op")))?;
        let kind = match name.to_ascii_lowercase().as_str() {
            "add" => OpKind::Add,
            "replace" => OpKind::Replace,
            "remove" => OpKind::Remove,
            _ => return Err(ScimError::invalid_syntax(format!("operation {i}: unknown op {name:?}"))),
        };
        if name.bytes().any(|b| b.is_ascii_uppercase()) {
            self.note(LegacyShape::CapitalisedOp);
        }
        let path = match get_ci(op, "path") {
            None | Some(Value::Null) => None,
            Some(Value::String(p)) if p.trim().is_empty() => None,
            Some(Value::String(p)) => Some(parse_patch_path(p)?),
            Some(_) => return Err(ScimError::invalid_path(format!("operation {i}: path must be a string"))),
        };
        let value = get_ci(op, "value").cloned();
        if value.as_ref().is_some_and(has_string_boolean) {
            self.note(LegacyShape::StringBoolean);
        }
        match (kind, path, value) {
            (OpKind::Remove, None, _) => {
                Err(ScimError::no_target(format!("operation {i}: remove requires a path")))
            }
            (OpKind::Remove, Some(path), value) => {
                let value = value.filter(|v| !v.is_null());
                if value.is_some() {
                    self.note(LegacyShape::RemoveWithValue);
                }
                self.operations.push(PatchOp { op: kind, path: Some(path), value });
                Ok(())
            }
            (_, _, None) => Err(ScimError::invalid_value(format!("operation {i}: {name} requires a value"))),
            (_, Some(path), Some(value)) => {
                self.operations.push(PatchOp { op: kind, path: Some(path), value: Some(value) });
                Ok(())
            }
            (_, None, Some(Value::Object(m))) => self.split_pathless(kind, m),
            (_, None, Some(_)) => Err(ScimError::invalid_value(format!(
                "operation {i}: {name} without a path requires an object value"
            ))),
        }
    }

    /// Splits dotted / URN-qualified keys of a path-less value into path operations.
    fn split_pathless(&mut self, kind: OpKind, m: Map<String, Value>) -> Result<(), ScimError> {
        let mut plain = Map::new();
        let mut pathed = Vec::new();
        for (k, v) in m {
            if ["id", "meta", "schemas"].iter().any(|r| k.eq_ignore_ascii_case(r)) {
                self.note(LegacyShape::ReadOnlyInValue);
                continue;
            }
            let is_ext = k.eq_ignore_ascii_case(ENTERPRISE_URN);
            if !is_ext && (k.contains('.') || k.contains(':')) {
                self.note(LegacyShape::DottedKeys);
                pathed.push(PatchOp { op: kind, path: Some(parse_patch_path(&k)?), value: Some(v) });
            } else {
                plain.insert(k, v);
            }
        }
        if !plain.is_empty() {
            self.operations.push(PatchOp { op: kind, path: None, value: Some(Value::Object(plain)) });
        }
        self.operations.extend(pathed);
        Ok(())
    }

    /// Legacy shapes seen while normalising (each once), for metrics.
    pub fn legacy_shapes(&self) -> &[LegacyShape] {
        &self.legacy
    }

    /// Whether any operation may change top-level attribute `attr` (case-insensitive), e.g.
    /// `touches("members")` is false for a rename, so the caller need not fetch members.
    pub fn touches(&self, attr: &str) -> bool {
        self.operations.iter().any(|op| match &op.path {
            Some(PatchPath::Attr(a)) => a.name.eq_ignore_ascii_case(attr),
            Some(PatchPath::Value(vp)) => vp.attr.name.eq_ignore_ascii_case(attr),
            None => op.value.as_ref().and_then(Value::as_object).is_some_and(|m| {
                m.iter().any(|(k, v)| {
                    k.eq_ignore_ascii_case(attr)
                        || (k.eq_ignore_ascii_case(ENTERPRISE_URN)
                            && v.as_object().is_some_and(|e| e.keys().any(|k| k.eq_ignore_ascii_case(attr))))
                })
            }),
        })
    }
}

fn has_string_boolean(v: &Value) -> bool {
    match v {
        Value::String(s) => s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("false"),
        Value::Object(m) => m.values().any(|v| matches!(v, Value::String(_)) && has_string_boolean(v)),
        _ => false,
    }
}

#[cfg(test)]
mod tests;
