//! Recognises the indexed lookups IdPs send so endpoints can serve them without a scan.
//!
//! Only shapes whose answer is fully determined by an index (plus an optional residual filter
//! evaluated on the few fetched resources) become lookups; anything else is a bounded scan.

use super::eval::resolve;
use super::{AttrExp, AttrPath, CompValue, CompareOp, Filter, ValFilter};
use crate::scim::schema::ResourceType;

/// A key the store can look up directly.
///
/// `UserName`, `Email` and `DisplayName` compare case-insensitively (`caseExact: false`);
/// `Id` and `ExternalId` compare exactly (see [`LookupKey::case_exact`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupKey {
    Id(String),
    UserName(String),
    ExternalId(String),
    Email(String),
    DisplayName(String),
}

impl LookupKey {
    pub fn case_exact(&self) -> bool {
        matches!(self, LookupKey::Id(_) | LookupKey::ExternalId(_))
    }
    pub fn value(&self) -> &str {
        match self {
            LookupKey::Id(v)
            | LookupKey::UserName(v)
            | LookupKey::ExternalId(v)
            | LookupKey::Email(v)
            | LookupKey::DisplayName(v) => v,
        }
    }
    fn rank(&self) -> u8 {
        match self {
            LookupKey::Id(_) => 0,
            LookupKey::UserName(_) => 1,
            LookupKey::ExternalId(_) => 2,
            LookupKey::DisplayName(_) => 3,
            LookupKey::Email(_) => 4,
        }
    }
}

/// How an endpoint should answer a filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Fetch by `key`; keep only resources matching `residual` (when present).
    Lookup { key: LookupKey, residual: Option<Filter> },
    /// Union of exact lookups (an `or` of indexed `eq`s); no residual is needed.
    LookupAny(Vec<LookupKey>),
    /// Evaluate the filter over a bounded scan.
    Scan,
}

/// Plans `f` (which should have passed [`super::validate`] for `rt`).
pub fn plan(rt: ResourceType, f: &Filter) -> Plan {
    if let Some((key, exact)) = indexed(rt, f) {
        return Plan::Lookup { key, residual: (!exact).then(|| f.clone()) };
    }
    match f {
        Filter::And(items) => items
            .iter()
            .filter_map(|i| indexed(rt, i).map(|(k, _)| k))
            .min_by_key(LookupKey::rank)
            .map_or(Plan::Scan, |key| Plan::Lookup { key, residual: Some(f.clone()) }),
        Filter::Or(items) => {
            let mut keys = Vec::with_capacity(items.len());
            for i in items.iter() {
                match indexed(rt, i) {
                    Some((k, true)) => keys.push(k),
                    _ => return Plan::Scan,
                }
            }
            Plan::LookupAny(keys)
        }
        _ => Plan::Scan,
    }
}

/// An indexed equality; `exact` is true when the key alone decides the match.
fn indexed(rt: ResourceType, f: &Filter) -> Option<(LookupKey, bool)> {
    match f {
        Filter::Attr(AttrExp::Comparison(path, CompareOp::Eq, CompValue::Str(v))) => key_for(rt, path, v),
        Filter::ValuePath(vp) => {
            let r = resolve(rt, &vp.attr).ok()?;
            if rt != ResourceType::User || r.attr.name != "emails" || r.sub.is_some() {
                return None;
            }
            match vp.filter.as_ref() {
                ValFilter::Attr(exp) => email_value(exp).map(|v| (LookupKey::Email(v), true)),
                ValFilter::And(items) => items.iter().find_map(|i| match i {
                    ValFilter::Attr(exp) => email_value(exp).map(|v| (LookupKey::Email(v), false)),
                    _ => None,
                }),
                _ => None,
            }
        }
        _ => None,
    }
}

fn email_value(exp: &AttrExp) -> Option<String> {
    match exp {
        AttrExp::Comparison(p, CompareOp::Eq, CompValue::Str(v))
            if p.uri.is_none() && p.sub_attr.is_none() && p.name.eq_ignore_ascii_case("value") =>
        {
            Some(v.clone())
        }
        _ => None,
    }
}

fn key_for(rt: ResourceType, path: &AttrPath, v: &str) -> Option<(LookupKey, bool)> {
    let r = resolve(rt, path).ok()?;
    if r.is_extension() {
        return None;
    }
    let v = v.to_string();
    let key = match (rt, r.attr.name, r.sub.map(|s| s.name)) {
        (_, "id", None) => LookupKey::Id(v),
        (_, "externalId", None) => LookupKey::ExternalId(v),
        (ResourceType::User, "userName", None) => LookupKey::UserName(v),
        (ResourceType::User, "emails", Some("value")) => LookupKey::Email(v),
        (ResourceType::Group, "displayName", None) => LookupKey::DisplayName(v),
        _ => return None,
    };
    Some((key, true))
}
