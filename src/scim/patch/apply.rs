//! Atomic application of a normalised PATCH request to a canonical resource.
//!
//! Works on a copy: the first failing operation returns its error and the input is untouched.
//! Attributes the sidecar does not declare are ignored (as on POST/PUT); a path to a read-only
//! attribute is `mutability`; `remove` with a value filter that matches nothing is a no-op so
//! that repeated member removals stay idempotent; `replace` with a filter that matches nothing
//! is `noTarget`, except `attr[eq filter].sub`, which creates the element (Entra work email).

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::{OpKind, PatchOp, PatchRequest};
use crate::scim::error::ScimError;
use crate::scim::filter::eval::{boolean_literal, get_ci};
use crate::scim::filter::{matches_element, AttrExp, CompValue, CompareOp, PatchPath, ValFilter};
use crate::scim::resource::{check_required, coerce, container, drop_empty_extension};
use crate::scim::schema::{resolve_path, AttrType, AttributeDef, Lookup, ResourceType, SchemaDef};

impl PatchRequest {
    /// Applies every operation to a copy of `resource` and returns the new canonical resource.
    pub fn apply(&self, rt: ResourceType, resource: &Value) -> Result<Value, ScimError> {
        let mut work = resource
            .as_object()
            .cloned()
            .ok_or_else(|| ScimError::internal("stored resource is not an object"))?;
        for op in &self.operations {
            apply_op(rt, &mut work, op)?;
        }
        check_required(rt, &work)?;
        Ok(Value::Object(work))
    }
}

fn apply_op(rt: ResourceType, work: &mut Map<String, Value>, op: &PatchOp) -> Result<(), ScimError> {
    let null = Value::Null;
    let value = op.value.as_ref().unwrap_or(&null);
    match &op.path {
        None => {
            let Some(m) = value.as_object() else {
                return Err(ScimError::invalid_value("value must be an object"));
            };
            for (k, v) in m {
                match crate::scim::schema::resolve_key(rt, k) {
                    Lookup::Unknown => {}
                    Lookup::Extension(schema) => merge_extension(work, schema, op.op, v)?,
                    Lookup::Attr(r) if r.attr.is_read_only() => {}
                    Lookup::Attr(r) => {
                        let target = container(work, r.schema, r.is_extension())?;
                        set_attr(target, r.attr, r.sub, v, op.op)?;
                        drop_empty_extension(work, r.schema.id);
                    }
                }
            }
            Ok(())
        }
        Some(PatchPath::Attr(p)) => {
            match resolve_path(rt, p.uri.as_deref(), &p.name, p.sub_attr.as_deref()) {
                Lookup::Unknown => Ok(()),
                Lookup::Extension(schema) => match op.op {
                    OpKind::Remove => {
                        work.remove(schema.id);
                        Ok(())
                    }
                    _ => merge_extension(work, schema, op.op, value),
                },
                Lookup::Attr(r) => {
                    if r.attr.is_read_only() || r.sub.is_some_and(AttributeDef::is_read_only) {
                        return Err(ScimError::mutability(format!("{p} is readOnly")));
                    }
                    let target = container(work, r.schema, r.is_extension())?;
                    match (op.op, &op.value) {
                        (OpKind::Remove, Some(v)) if r.attr.multi_valued && r.sub.is_none() => {
                            remove_values(target, r.attr, v)?
                        }
                        (OpKind::Remove, _) => set_attr(target, r.attr, r.sub, &null, OpKind::Replace)?,
                        (kind, _) => set_attr(target, r.attr, r.sub, value, kind)?,
                    }
                    drop_empty_extension(work, r.schema.id);
                    Ok(())
                }
            }
        }
        Some(PatchPath::Value(vp)) => {
            let r = match resolve_path(rt, vp.attr.uri.as_deref(), &vp.attr.name, vp.attr.sub_attr.as_deref())
            {
                Lookup::Unknown => return Ok(()),
                Lookup::Extension(_) => {
                    return Err(ScimError::invalid_path(format!("{vp}: not a multi-valued attribute")))
                }
                Lookup::Attr(r) => r,
            };
            if r.sub.is_some() || !r.attr.multi_valued {
                return Err(ScimError::invalid_path(format!(
                    "{vp}: value filters need a multi-valued attribute"
                )));
            }
            if r.attr.is_read_only() {
                return Err(ScimError::mutability(format!("{vp} is readOnly")));
            }
            let sub = match &vp.sub_attr {
                Some(name) => match r.attr.sub(name) {
                    Some(d) if d.is_read_only() => {
                        return Err(ScimError::mutability(format!("{vp} is readOnly")))
                    }
                    Some(d) => Some(d),
                    None => return Ok(()),
                },
                None => None,
            };
            let target = container(work, r.schema, r.is_extension())?;
            filtered(target, r.attr, &vp.filter, sub, op.op, value, &vp.to_string())?;
            drop_empty_extension(work, r.schema.id);
            Ok(())
        }
    }
}

fn merge_extension(
    work: &mut Map<String, Value>,
    schema: &'static SchemaDef,
    kind: OpKind,
    value: &Value,
) -> Result<(), ScimError> {
    let Some(m) = value.as_object() else {
        return Err(ScimError::invalid_value(format!("{} must be an object", schema.id)));
    };
    let target = container(work, schema, true)?;
    for (k, v) in m {
        if let Some(attr) = schema.attr(k).filter(|a| !a.is_read_only()) {
            set_attr(target, attr, None, v, kind)?;
        }
    }
    drop_empty_extension(work, schema.id);
    Ok(())
}

/// add/replace (or clear, when `value` is unassigned) `attr[.sub]` in `target`.
fn set_attr(
    target: &mut Map<String, Value>,
    attr: &'static AttributeDef,
    sub: Option<&'static AttributeDef>,
    value: &Value,
    kind: OpKind,
) -> Result<(), ScimError> {
    if let Some(sd) = sub {
        let label = format!("{}.{}", attr.name, sd.name);
        let v = coerce(sd, value, &label)?;
        if attr.multi_valued {
            let mut items = take_array(target, attr.name);
            if items.is_empty() {
                if let Some(v) = v {
                    let mut el = Map::new();
                    el.insert(sd.name.to_string(), v);
                    items.push(Value::Object(el));
                }
            } else {
                for el in items.iter_mut() {
                    set_sub(el, sd.name, v.clone());
                }
            }
            put_array(target, attr, items);
        } else {
            let parent = target.entry(attr.name.to_string()).or_insert_with(|| Value::Object(Map::new()));
            set_sub(parent, sd.name, v);
            if parent.as_object().is_none_or(Map::is_empty) {
                target.remove(attr.name);
            }
        }
        return Ok(());
    }
    let Some(v) = coerce(attr, value, attr.name)? else {
        target.remove(attr.name);
        return Ok(());
    };
    match (attr.multi_valued, kind, v) {
        (true, OpKind::Add, Value::Array(new)) => {
            let mut items = take_array(target, attr.name);
            // A set keeps a 256-member add linear instead of quadratic.
            let mut seen: HashSet<String> = items.iter().map(|e| identity(attr, e)).collect();
            for n in new {
                if seen.insert(identity(attr, &n)) {
                    items.push(n);
                }
            }
            put_array(target, attr, items);
        }
        (false, _, Value::Object(new)) => {
            let slot = target.entry(attr.name.to_string()).or_insert_with(|| Value::Object(Map::new()));
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            if let Some(existing) = slot.as_object_mut() {
                existing.extend(new);
            }
        }
        (true, _, Value::Array(new)) => put_array(target, attr, new),
        (_, _, v) => {
            target.insert(attr.name.to_string(), v);
        }
    }
    Ok(())
}

fn set_sub(el: &mut Value, name: &str, v: Option<Value>) {
    if !el.is_object() {
        *el = Value::Object(Map::new());
    }
    if let Some(m) = el.as_object_mut() {
        match v {
            Some(v) => m.insert(name.to_string(), v),
            None => m.remove(name),
        };
    }
}

/// Entra's `remove` + value array: drop only the listed values.
fn remove_values(
    target: &mut Map<String, Value>,
    attr: &'static AttributeDef,
    value: &Value,
) -> Result<(), ScimError> {
    let Some(Value::Array(gone)) = coerce(attr, value, attr.name)? else { return Ok(()) };
    let mut items = take_array(target, attr.name);
    let gone: HashSet<String> = gone.iter().map(|g| identity(attr, g)).collect();
    items.retain(|e| !gone.contains(&identity(attr, e)));
    put_array(target, attr, items);
    Ok(())
}

fn filtered(
    target: &mut Map<String, Value>,
    attr: &'static AttributeDef,
    filter: &ValFilter,
    sub: Option<&'static AttributeDef>,
    kind: OpKind,
    value: &Value,
    label: &str,
) -> Result<(), ScimError> {
    let mut items = take_array(target, attr.name);
    let mut hits = Vec::new();
    for (i, el) in items.iter().enumerate() {
        if matches_element(attr, filter, el)? {
            hits.push(i);
        }
    }
    match (kind, sub) {
        (OpKind::Remove, None) => {
            let mut i = 0;
            items.retain(|_| {
                let keep = !hits.contains(&i);
                i += 1;
                keep
            });
        }
        (OpKind::Remove, Some(sd)) => hits.iter().for_each(|&i| set_sub(&mut items[i], sd.name, None)),
        (_, Some(sd)) => {
            let v = coerce(sd, value, label)?;
            if hits.is_empty() {
                if let Some(v) = v {
                    let mut el = seed(attr, filter)
                        .ok_or_else(|| ScimError::no_target(format!("{label} matches nothing")))?;
                    el.insert(sd.name.to_string(), v);
                    items.push(Value::Object(el));
                }
            } else {
                hits.iter().for_each(|&i| set_sub(&mut items[i], sd.name, v.clone()));
            }
        }
        (_, None) => {
            let new = match coerce(attr, value, label)? {
                Some(Value::Array(mut a)) if a.len() == 1 => match a.pop() {
                    Some(Value::Object(m)) => m,
                    _ => return Err(ScimError::invalid_value(format!("{label} needs an object value"))),
                },
                None => Map::new(),
                Some(_) => {
                    return Err(ScimError::invalid_value(format!("{label} needs a single object value")))
                }
            };
            if hits.is_empty() {
                if kind == OpKind::Replace {
                    return Err(ScimError::no_target(format!("{label} matches nothing")));
                }
                let mut el = seed(attr, filter)
                    .ok_or_else(|| ScimError::no_target(format!("{label} matches nothing")))?;
                el.extend(new);
                items.push(Value::Object(el));
            } else {
                for &i in &hits {
                    if let Some(m) = items[i].as_object_mut() {
                        m.extend(new.clone());
                    }
                }
            }
        }
    }
    put_array(target, attr, items);
    Ok(())
}

/// The element implied by an `eq`-only filter (`type eq "work"` → `{"type":"work"}`).
fn seed(attr: &AttributeDef, f: &ValFilter) -> Option<Map<String, Value>> {
    let mut out = Map::new();
    let mut add = |exp: &AttrExp| -> Option<()> {
        let AttrExp::Comparison(p, CompareOp::Eq, cv) = exp else { return None };
        let def = attr.sub(p.sub_attr.as_deref().unwrap_or(&p.name))?;
        let v = match cv {
            // `roles[primary eq "True"]` seeds a real boolean, as the filter compares it.
            _ if def.attr_type == AttrType::Boolean => Value::Bool(boolean_literal(cv)?),
            CompValue::Str(s) => Value::from(s.clone()),
            CompValue::True => Value::Bool(true),
            CompValue::False => Value::Bool(false),
            CompValue::Number(n) => Value::Number(n.clone()),
            CompValue::Null => return None,
        };
        out.insert(def.name.to_string(), v);
        Some(())
    };
    match f {
        ValFilter::Attr(e) => add(e)?,
        ValFilter::And(items) => {
            for i in items.iter() {
                let ValFilter::Attr(e) = i else { return None };
                add(e)?;
            }
        }
        _ => return None,
    }
    Some(out)
}

fn take_array(target: &mut Map<String, Value>, name: &str) -> Vec<Value> {
    // Taken in place (not removed) so the key keeps its position in the object.
    match target.get_mut(name).map(std::mem::take) {
        Some(Value::Array(a)) => a,
        Some(Value::Null) | None => Vec::new(),
        Some(other) => vec![other],
    }
}

/// Elements are the same value when their `value` sub-attributes match (members by id), per
/// the sub-attribute's `caseExact`; elements without a string `value` compare as whole JSON.
fn identity(attr: &AttributeDef, e: &Value) -> String {
    match (attr.sub("value"), get_ci(e, "value").and_then(Value::as_str)) {
        (Some(vd), Some(v)) if vd.case_exact => format!("v:{v}"),
        (Some(_), Some(v)) => format!("v:{}", v.to_lowercase()),
        _ => format!("j:{e}"),
    }
}

/// Stores a multi-valued attribute back (absent when empty), keeping at most one
/// `primary: true` (the last one).
fn put_array(target: &mut Map<String, Value>, attr: &AttributeDef, mut items: Vec<Value>) {
    if items.is_empty() {
        target.remove(attr.name);
        return;
    }
    if attr.sub("primary").is_some() {
        let last = items.iter().rposition(|e| get_ci(e, "primary") == Some(&Value::Bool(true)));
        if let Some(last) = last {
            for (i, e) in items.iter_mut().enumerate() {
                if i != last {
                    if let Some(m) = e.as_object_mut() {
                        if m.get("primary") == Some(&Value::Bool(true)) {
                            m.insert("primary".into(), Value::Bool(false));
                        }
                    }
                }
            }
        }
    }
    target.insert(attr.name.to_string(), Value::Array(items));
}
