//! Filter validation and evaluation over one canonical resource.
//!
//! Semantics (documented in `docs/deps-scim.md`): attribute names resolve case-insensitively;
//! an attribute the sidecar does not declare is a 400 `invalidFilter` (never "matches nothing",
//! so a typo cannot silently hide or duplicate users); strings compare per `caseExact`;
//! dateTimes chronologically; multi-valued attributes match when any value matches; `pr` is
//! present and non-empty; ordering operators on booleans → `invalidFilter`; a boolean attribute
//! compares with `true`/`false` or a string spelling one in any case (`primary eq "True"`).

use std::cmp::Ordering;

use chrono::DateTime;
use serde_json::Value;

use super::{AttrExp, AttrPath, CompValue, CompareOp, Filter, ValFilter};
use crate::scim::error::ScimError;
use crate::scim::schema::{resolve_path, AttrType, AttributeDef, Lookup, Resolved, ResourceType};

/// Checks every attribute path and operator/value combination of `f` against `rt`.
pub fn validate(rt: ResourceType, f: &Filter) -> Result<(), ScimError> {
    match f {
        Filter::Attr(exp) => {
            let r = resolve(rt, exp_path(exp))?;
            check_exp(leaf_for_compare(&r, exp)?, exp)
        }
        Filter::ValuePath(vp) => {
            let r = resolve(rt, &vp.attr)?;
            if r.sub.is_some() || r.attr.attr_type != AttrType::Complex {
                return Err(ScimError::invalid_filter(format!(
                    "{} has no sub-attributes to filter",
                    vp.attr
                )));
            }
            validate_val(r.attr, &vp.filter)
        }
        Filter::Not(inner) => validate(rt, inner),
        Filter::And(items) | Filter::Or(items) => items.iter().try_for_each(|i| validate(rt, i)),
    }
}

fn validate_val(parent: &AttributeDef, f: &ValFilter) -> Result<(), ScimError> {
    match f {
        ValFilter::Attr(exp) => check_exp(sub_def(parent, exp_path(exp))?, exp),
        ValFilter::Not(inner) => validate_val(parent, inner),
        ValFilter::And(items) | ValFilter::Or(items) => {
            items.iter().try_for_each(|i| validate_val(parent, i))
        }
    }
}

/// Evaluates `f` against `resource` (a canonical resource object).
pub fn matches(f: &Filter, rt: ResourceType, resource: &Value) -> Result<bool, ScimError> {
    validate(rt, f)?;
    eval(f, rt, resource)
}

fn eval(f: &Filter, rt: ResourceType, res: &Value) -> Result<bool, ScimError> {
    Ok(match f {
        Filter::Attr(exp) => {
            let r = resolve(rt, exp_path(exp))?;
            let raw = attr_value(res, &r);
            match exp {
                AttrExp::Present(_) => leaves(raw, r.sub.map(|s| s.name)).iter().any(|v| non_empty(v)),
                AttrExp::Comparison(_, op, cv) => {
                    let leaf = leaf_for_compare(&r, exp)?;
                    let sub = r.sub.map(|s| s.name).or((leaf.name != r.attr.name).then_some(leaf.name));
                    compare_all(leaf, &leaves(raw, sub), op, cv)
                }
            }
        }
        Filter::ValuePath(vp) => {
            let r = resolve(rt, &vp.attr)?;
            let mut hit = false;
            for el in elements(attr_value(res, &r)) {
                if matches_element(r.attr, &vp.filter, el)? {
                    hit = true;
                    break;
                }
            }
            hit
        }
        Filter::Not(inner) => !eval(inner, rt, res)?,
        Filter::And(items) => {
            for i in items.iter() {
                if !eval(i, rt, res)? {
                    return Ok(false);
                }
            }
            true
        }
        Filter::Or(items) => {
            for i in items.iter() {
                if eval(i, rt, res)? {
                    return Ok(true);
                }
            }
            false
        }
    })
}

/// Evaluates a value filter (`[...]` content) against one element of the complex attribute
/// `parent`; paths inside are sub-attribute names.
pub fn matches_element(parent: &AttributeDef, f: &ValFilter, element: &Value) -> Result<bool, ScimError> {
    Ok(match f {
        ValFilter::Attr(exp) => {
            let def = sub_def(parent, exp_path(exp))?;
            check_exp(def, exp)?;
            let raw = get_ci(element, def.name);
            let vals = leaves(raw, None);
            match exp {
                AttrExp::Present(_) => vals.iter().any(|v| non_empty(v)),
                AttrExp::Comparison(_, op, cv) => compare_all(def, &vals, op, cv),
            }
        }
        ValFilter::Not(inner) => !matches_element(parent, inner, element)?,
        ValFilter::And(items) => {
            for i in items.iter() {
                if !matches_element(parent, i, element)? {
                    return Ok(false);
                }
            }
            true
        }
        ValFilter::Or(items) => {
            for i in items.iter() {
                if matches_element(parent, i, element)? {
                    return Ok(true);
                }
            }
            false
        }
    })
}

fn exp_path(exp: &AttrExp) -> &AttrPath {
    match exp {
        AttrExp::Present(p) | AttrExp::Comparison(p, _, _) => p,
    }
}

pub(crate) fn resolve(rt: ResourceType, p: &AttrPath) -> Result<Resolved, ScimError> {
    match resolve_path(rt, p.uri.as_deref(), &p.name, p.sub_attr.as_deref()) {
        Lookup::Attr(r) => Ok(r),
        _ => Err(ScimError::invalid_filter(format!("unsupported attribute {p} for {}", rt.name()))),
    }
}

/// A path inside `[...]`: `type` or `emails.type` (qualified by its parent).
fn sub_def(parent: &AttributeDef, p: &AttrPath) -> Result<&'static AttributeDef, ScimError> {
    let name = match &p.sub_attr {
        Some(sub) if p.name.eq_ignore_ascii_case(parent.name) => sub.as_str(),
        None => p.name.as_str(),
        Some(_) => "",
    };
    parent
        .sub(name)
        .ok_or_else(|| ScimError::invalid_filter(format!("{} has no sub-attribute {p}", parent.name)))
}

/// For a comparison on a complex attribute without sub-attribute, RFC 7644 compares its `value`.
fn leaf_for_compare(r: &Resolved, exp: &AttrExp) -> Result<&'static AttributeDef, ScimError> {
    let leaf = r.leaf();
    if leaf.attr_type == AttrType::Complex {
        if let AttrExp::Comparison(..) = exp {
            return leaf.sub("value").ok_or_else(|| {
                ScimError::invalid_filter(format!("cannot compare complex attribute {}", leaf.name))
            });
        }
    }
    Ok(leaf)
}

fn check_exp(def: &AttributeDef, exp: &AttrExp) -> Result<(), ScimError> {
    let AttrExp::Comparison(_, op, cv) = exp else { return Ok(()) };
    let bad = |why: &str| Err(ScimError::invalid_filter(format!("{} {op} {cv}: {why}", def.name)));
    let ordering = matches!(op, CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le);
    let substring = matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew);
    if matches!(cv, CompValue::Null) {
        return if matches!(op, CompareOp::Eq | CompareOp::Ne) {
            Ok(())
        } else {
            bad("null only with eq or ne")
        };
    }
    match def.attr_type {
        AttrType::Boolean if ordering || substring => bad("booleans support only eq and ne"),
        AttrType::Boolean if boolean_literal(cv).is_none() => bad("expected true or false"),
        AttrType::Binary if ordering => bad("binary values cannot be ordered"),
        AttrType::Complex => bad("complex attributes cannot be compared"),
        AttrType::Integer | AttrType::Decimal if !matches!(cv, CompValue::Number(_)) => {
            bad("expected a number")
        }
        AttrType::String | AttrType::Reference | AttrType::Binary | AttrType::DateTime
            if !matches!(cv, CompValue::Str(_)) =>
        {
            bad("expected a string")
        }
        _ => Ok(()),
    }
}

pub(crate) fn get_ci<'a>(obj: &'a Value, key: &str) -> Option<&'a Value> {
    let m = obj.as_object()?;
    m.get(key).or_else(|| m.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
}

fn attr_value<'a>(res: &'a Value, r: &Resolved) -> Option<&'a Value> {
    let holder = if r.is_extension() { get_ci(res, r.schema.id)? } else { res };
    get_ci(holder, r.attr.name)
}

fn elements(v: Option<&Value>) -> Vec<&Value> {
    match v {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(Value::Null) | None => Vec::new(),
        Some(other) => vec![other],
    }
}

/// Leaf values: the attribute's values, or each element's `sub` value; arrays are flattened.
fn leaves<'a>(raw: Option<&'a Value>, sub: Option<&str>) -> Vec<&'a Value> {
    elements(raw)
        .into_iter()
        .filter_map(|el| match sub {
            Some(s) => get_ci(el, s),
            None => Some(el),
        })
        .filter(|v| !v.is_null())
        .collect()
}

fn non_empty(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
        _ => true,
    }
}

fn compare_all(def: &AttributeDef, vals: &[&Value], op: &CompareOp, cv: &CompValue) -> bool {
    match (op, cv) {
        (CompareOp::Eq, CompValue::Null) => vals.is_empty(),
        (CompareOp::Ne, CompValue::Null) => !vals.is_empty(),
        (CompareOp::Ne, _) => !vals.iter().any(|v| compare_one(def, v, &CompareOp::Eq, cv)),
        _ => vals.iter().any(|v| compare_one(def, v, op, cv)),
    }
}

fn compare_one(def: &AttributeDef, v: &Value, op: &CompareOp, cv: &CompValue) -> bool {
    match (v, cv) {
        (Value::Bool(b), cv) => boolean_literal(cv) == Some(*b),
        (Value::Number(n), CompValue::Number(m)) => match (n.as_f64(), m.as_f64()) {
            (Some(a), Some(b)) => ordered(a.partial_cmp(&b), op),
            _ => false,
        },
        (Value::String(s), CompValue::Str(t)) => {
            if def.attr_type == AttrType::DateTime {
                if let (Ok(a), Ok(b)) = (DateTime::parse_from_rfc3339(s), DateTime::parse_from_rfc3339(t)) {
                    if !matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew) {
                        return ordered(Some(a.cmp(&b)), op);
                    }
                }
            }
            if def.case_exact {
                str_op(s, t, op)
            } else {
                str_op(&s.to_lowercase(), &t.to_lowercase(), op)
            }
        }
        _ => false,
    }
}

/// The boolean a literal stands for: `true`/`false`, or a string spelling one in any case
/// (`"True"`, as the Microsoft SCIM Validator writes `roles[primary eq "True"]`). Only a boolean
/// attribute's comparison reads it, so `displayName eq "true"` stays a string comparison.
pub(crate) fn boolean_literal(cv: &CompValue) -> Option<bool> {
    match cv {
        CompValue::True => Some(true),
        CompValue::False => Some(false),
        CompValue::Str(s) if s.trim().eq_ignore_ascii_case("true") => Some(true),
        CompValue::Str(s) if s.trim().eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

fn str_op(a: &str, b: &str, op: &CompareOp) -> bool {
    match op {
        CompareOp::Co => a.contains(b),
        CompareOp::Sw => a.starts_with(b),
        CompareOp::Ew => a.ends_with(b),
        _ => ordered(Some(a.cmp(b)), op),
    }
}

fn ordered(o: Option<Ordering>, op: &CompareOp) -> bool {
    let Some(o) = o else { return false };
    match op {
        CompareOp::Eq => o == Ordering::Equal,
        CompareOp::Ne => o != Ordering::Equal,
        CompareOp::Gt => o == Ordering::Greater,
        CompareOp::Ge => o != Ordering::Less,
        CompareOp::Lt => o == Ordering::Less,
        CompareOp::Le => o != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}
