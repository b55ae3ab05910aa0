//! `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9) on read and write responses.
//!
//! `id` and `schemas` (returned `always`) are always kept; `returned: never` (`password`) is
//! always dropped; names are case-insensitive and may be URN-qualified. Unknown names are ignored.

use serde_json::{Map, Value};

use super::error::ScimError;
use super::schema::{resolve_key, AttributeDef, Lookup, ResourceType, Returned};

/// Longest `attributes` / `excludedAttributes` value accepted, in bytes.
pub const MAX_PROJECTION_LEN: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
enum Mode {
    #[default]
    All,
    Include,
    Exclude,
}

/// A parsed projection; names are kept as given and resolved per resource type on use.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Projection {
    mode: Mode,
    names: Vec<String>,
}

impl Projection {
    /// Parses the query parameters. When both are given, `attributes` wins (RFC 7644 lets a
    /// client send one or the other; preferring the positive list returns the least data).
    pub fn parse(attributes: Option<&str>, excluded: Option<&str>) -> Result<Projection, ScimError> {
        let (mode, raw) = match (attributes.filter(|s| !s.trim().is_empty()), excluded) {
            (Some(a), _) => (Mode::Include, a),
            (None, Some(e)) if !e.trim().is_empty() => (Mode::Exclude, e),
            _ => return Ok(Projection::default()),
        };
        if raw.len() > MAX_PROJECTION_LEN {
            return Err(ScimError::invalid_value(format!(
                "attribute list longer than {MAX_PROJECTION_LEN} bytes"
            )));
        }
        let names = raw.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect();
        Ok(Projection { mode, names })
    }

    /// Neither `attributes` nor `excludedAttributes`: every attribute returned by default.
    pub fn is_default(&self) -> bool {
        self.mode == Mode::All
    }

    /// Whether top-level attribute `attr` (e.g. `members`) would appear in the output.
    pub fn wants(&self, attr: &str) -> bool {
        // (top-level name, names the whole attribute rather than one sub-attribute)
        let parts = |n: &String| {
            let local = n.rsplit_once(':').map_or(n.as_str(), |(_, l)| l);
            let top = local.split('.').next().unwrap_or(local);
            (top.eq_ignore_ascii_case(attr), !local.contains('.'))
        };
        match self.mode {
            Mode::All => true,
            Mode::Include => attr.eq_ignore_ascii_case("id") || self.names.iter().any(|n| parts(n).0),
            Mode::Exclude => {
                attr.eq_ignore_ascii_case("id") || !self.names.iter().any(|n| parts(n) == (true, true))
            }
        }
    }

    /// Projects a full representation (with `schemas`, `meta`).
    /// Takes the resource by value: kept attributes move into the output, none is copied.
    pub fn apply(&self, rt: ResourceType, resource: Value) -> Value {
        let Value::Object(mut obj) = resource else { return resource };
        if self.mode == Mode::All {
            // No names to match: the default set is kept where it is, without a new map.
            obj.retain(|k, v| keeps_by_default(rt, k, v));
            return Value::Object(obj);
        }
        // (schema id or "" for core, attribute, optional sub-attribute)
        let selected: Vec<(&str, &'static AttributeDef, Option<&'static AttributeDef>)> = self
            .names
            .iter()
            .filter_map(|n| match resolve_key(rt, n) {
                Lookup::Attr(r) => Some((if r.is_extension() { r.schema.id } else { "" }, r.attr, r.sub)),
                _ => None,
            })
            .collect();
        let whole_ext: Vec<&str> = self
            .names
            .iter()
            .filter_map(|n| match resolve_key(rt, n) {
                Lookup::Extension(s) => Some(s.id),
                _ => None,
            })
            .collect();
        let mut out = Map::with_capacity(obj.len());
        for (k, v) in obj {
            if k == "schemas" || k == "id" {
                out.insert(k, v);
                continue;
            }
            if let Some(ext) = rt.extensions().iter().find(|s| s.id == k.as_str()) {
                let Value::Object(inner) = v else { continue };
                let keep_all = whole_ext.contains(&ext.id);
                let mut m = Map::new();
                for (ik, iv) in inner {
                    let Some(attr) = ext.attr(&ik) else { continue };
                    if let Some(pv) = self.project_attr(ext.id, attr, iv, &selected, keep_all) {
                        m.insert(ik, pv);
                    }
                }
                if !m.is_empty() {
                    out.insert(k, Value::Object(m));
                }
                continue;
            }
            let Some(attr) = rt.core_schema().attr(&k) else { continue };
            if let Some(pv) = self.project_attr("", attr, v, &selected, false) {
                out.insert(k, pv);
            }
        }
        Value::Object(out)
    }

    fn project_attr(
        &self,
        schema: &str,
        attr: &'static AttributeDef,
        v: Value,
        selected: &[(&str, &'static AttributeDef, Option<&'static AttributeDef>)],
        keep_all: bool,
    ) -> Option<Value> {
        if attr.returned == Returned::Never {
            return None;
        }
        if attr.returned == Returned::Always || keep_all {
            return Some(v);
        }
        let mine: Vec<_> =
            selected.iter().filter(|(s, a, _)| *s == schema && std::ptr::eq(*a, attr)).collect();
        let whole = mine.iter().any(|(_, _, sub)| sub.is_none());
        let subs: Vec<&str> = mine.iter().filter_map(|(_, _, sub)| sub.map(|d| d.name)).collect();
        match self.mode {
            // (`apply` keeps `All` in place, by the same rule; this arm is for completeness.)
            Mode::All => shown_by_default(attr).then_some(v),
            Mode::Include if whole => Some(v),
            Mode::Include if subs.is_empty() => None,
            Mode::Include => map_subs(v, |k| subs.iter().any(|s| s.eq_ignore_ascii_case(k))),
            Mode::Exclude if whole => None,
            Mode::Exclude if attr.returned == Returned::Request => None,
            Mode::Exclude if subs.is_empty() => Some(v),
            Mode::Exclude => map_subs(v, |k| !subs.iter().any(|s| s.eq_ignore_ascii_case(k))),
        }
    }
}

/// What [`Projection::apply`] keeps of member `k` without `attributes` or `excludedAttributes`:
/// `schemas`, `id` and declared attributes not returned `never` or only on `request`; of an
/// extension object, those of its attributes (trimmed in place), when any is left.
fn keeps_by_default(rt: ResourceType, k: &str, v: &mut Value) -> bool {
    if k == "schemas" || k == "id" {
        return true;
    }
    if let Some(ext) = rt.extensions().iter().find(|s| s.id == k) {
        let Value::Object(inner) = v else { return false };
        inner.retain(|ik, _| ext.attr(ik).is_some_and(shown_by_default));
        return !inner.is_empty();
    }
    rt.core_schema().attr(k).is_some_and(shown_by_default)
}

/// Whether `attr` appears when no attributes are asked for: not returned `never` or only on
/// `request`.
fn shown_by_default(attr: &AttributeDef) -> bool {
    !matches!(attr.returned, Returned::Never | Returned::Request)
}

/// Keeps the sub-attributes accepted by `keep` in an object or in each element of an array.
fn map_subs(v: Value, keep: impl Fn(&str) -> bool) -> Option<Value> {
    let one = |o: Value| -> Option<Value> {
        let Value::Object(o) = o else { return None };
        let m: Map<String, Value> = o.into_iter().filter(|(k, _)| keep(k)).collect();
        (!m.is_empty()).then_some(Value::Object(m))
    };
    match v {
        Value::Array(a) => {
            let items: Vec<Value> = a.into_iter().filter_map(one).collect();
            (!items.is_empty()).then_some(Value::Array(items))
        }
        other => one(other),
    }
}
