//! Query parameters, `.search` bodies and ListResponse documents (RFC 7644 §3.4.2, §3.4.3).
//!
//! `startIndex` is 1-based (values < 1 mean 1), `count` is clamped to `0..=max_results`, unknown
//! parameters (Entra's `aadOptscim062020`) are ignored. Query pairs must already be URL-decoded.

use std::cmp::Ordering;

use serde_json::{json, Map, Value};

use super::error::ScimError;
use super::filter::eval::get_ci;
use super::filter::{parse_filter, Filter};
use super::projection::Projection;
use super::schema::{resolve_key, Lookup, ResourceType, LIST_RESPONSE_URN};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    #[default]
    Ascending,
    Descending,
}

/// A list or search request, normalised.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ListQuery {
    pub filter: Option<Filter>,
    /// 1-based.
    pub start_index: usize,
    /// Already clamped to `0..=max_results`; `None` means "server default" (max_results).
    pub count: Option<usize>,
    pub sort_by: Option<String>,
    pub sort_order: SortOrder,
    pub attributes: Option<String>,
    pub excluded_attributes: Option<String>,
}

impl ListQuery {
    /// From decoded query pairs; parameter names are case-insensitive.
    pub fn from_query_pairs<I, K, V>(pairs: I, max_results: usize) -> Result<ListQuery, ScimError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut q = ListQuery { start_index: 1, ..ListQuery::default() };
        for (k, v) in pairs {
            let (k, v) = (k.as_ref(), v.as_ref());
            match k.to_ascii_lowercase().as_str() {
                "filter" => q.filter = Some(parse_filter(v)?),
                "startindex" => q.start_index = start_index(parse_int(k, v)?),
                "count" => q.count = Some(clamp_count(parse_int(k, v)?, max_results)),
                "sortby" => q.sort_by = Some(v.to_string()).filter(|s| !s.is_empty()),
                "sortorder" => q.sort_order = sort_order(v)?,
                "attributes" => q.attributes = Some(v.to_string()),
                "excludedattributes" => q.excluded_attributes = Some(v.to_string()),
                _ => {}
            }
        }
        Ok(q)
    }

    /// The effective page size.
    pub fn count_or(&self, max_results: usize) -> usize {
        self.count.unwrap_or(max_results)
    }

    pub fn projection(&self) -> Result<Projection, ScimError> {
        Projection::parse(self.attributes.as_deref(), self.excluded_attributes.as_deref())
    }
}

/// `POST .search` bodies (RFC 7644 §3.4.3).
pub struct SearchRequest;

impl SearchRequest {
    pub fn parse(body: &Value, max_results: usize) -> Result<ListQuery, ScimError> {
        if !body.is_object() {
            return Err(ScimError::invalid_syntax("SearchRequest must be a JSON object"));
        }
        let mut q = ListQuery { start_index: 1, ..ListQuery::default() };
        let text = |k: &str| -> Result<Option<String>, ScimError> {
            match get_ci(body, k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|v| v.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()
                    .map(|v| Some(v.join(",")))
                    .ok_or_else(|| ScimError::invalid_syntax(format!("{k} must be strings"))),
                Some(_) => Err(ScimError::invalid_syntax(format!("{k} has the wrong type"))),
            }
        };
        if let Some(f) = text("filter")? {
            q.filter = Some(parse_filter(&f)?);
        }
        let int = |k: &str| -> Result<Option<i64>, ScimError> {
            match get_ci(body, k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Number(n)) => n
                    .as_i64()
                    .map(Some)
                    .ok_or_else(|| ScimError::invalid_syntax(format!("{k} must be an integer"))),
                Some(Value::String(s)) => parse_int(k, s).map(Some),
                Some(_) => Err(ScimError::invalid_syntax(format!("{k} must be an integer"))),
            }
        };
        if let Some(s) = int("startIndex")? {
            q.start_index = start_index(s);
        }
        if let Some(c) = int("count")? {
            q.count = Some(clamp_count(c, max_results));
        }
        q.sort_by = text("sortBy")?;
        if let Some(o) = text("sortOrder")? {
            q.sort_order = sort_order(&o)?;
        }
        q.attributes = text("attributes")?;
        q.excluded_attributes = text("excludedAttributes")?;
        Ok(q)
    }
}

fn parse_int(k: &str, v: &str) -> Result<i64, ScimError> {
    v.trim().parse::<i64>().map_err(|_| ScimError::invalid_value(format!("{k} must be an integer")))
}

fn start_index(v: i64) -> usize {
    usize::try_from(v.max(1)).unwrap_or(usize::MAX)
}

fn clamp_count(v: i64, max: usize) -> usize {
    usize::try_from(v.max(0)).unwrap_or(usize::MAX).min(max)
}

fn sort_order(v: &str) -> Result<SortOrder, ScimError> {
    match v.to_ascii_lowercase().as_str() {
        "" | "ascending" => Ok(SortOrder::Ascending),
        "descending" => Ok(SortOrder::Descending),
        _ => Err(ScimError::invalid_value("sortOrder must be ascending or descending")),
    }
}

/// A ListResponse document; `Resources` is always present.
pub struct ListResponse;

impl ListResponse {
    /// The endpoints only ever need the JSON document, so `new` builds it directly, moving
    /// `resources` in (`json!` would serialise a copy of every one).
    #[allow(clippy::new_ret_no_self)]
    pub fn new(total: usize, start_index: usize, resources: Vec<Value>) -> Value {
        let mut m = Map::with_capacity(5);
        m.insert("schemas".into(), json!([LIST_RESPONSE_URN]));
        m.insert("totalResults".into(), json!(total));
        m.insert("startIndex".into(), json!(start_index.max(1)));
        m.insert("itemsPerPage".into(), json!(resources.len()));
        m.insert("Resources".into(), Value::Array(resources));
        Value::Object(m)
    }

    /// [`ListResponse::new`]'s document as bytes, around `n` resources already encoded and
    /// joined with commas in `resources` (the same bytes `new` then `serde_json` would give).
    pub fn encode(total: usize, start_index: usize, n: usize, resources: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(resources.len() + 160);
        out.extend_from_slice(b"{\"schemas\":[\"");
        out.extend_from_slice(LIST_RESPONSE_URN.as_bytes());
        out.extend_from_slice(
            format!(
                "\"],\"totalResults\":{total},\"startIndex\":{},\"itemsPerPage\":{n},\"Resources\":[",
                start_index.max(1)
            )
            .as_bytes(),
        );
        out.extend_from_slice(resources);
        out.extend_from_slice(b"]}");
        out
    }
}

/// The `[start_index, start_index + count)` window (1-based) of `items`.
pub fn page<T>(items: &[T], start_index: usize, count: usize) -> &[T] {
    let from = start_index.max(1) - 1;
    if from >= items.len() {
        return &[];
    }
    let to = from.saturating_add(count).min(items.len());
    &items[from..to]
}

/// Sorts resources by `sort_by` (RFC 7644 §3.4.2.3): strings compare per `caseExact`, missing
/// values sort last in ascending order. Unknown attributes → `invalidValue`.
pub fn sort_resources(
    rt: ResourceType,
    items: &mut [Value],
    sort_by: &str,
    order: SortOrder,
) -> Result<(), ScimError> {
    let Lookup::Attr(r) = resolve_key(rt, sort_by) else {
        return Err(ScimError::invalid_value(format!("cannot sort by {sort_by}")));
    };
    let key = |v: &Value| -> Option<String> {
        let holder = if r.is_extension() { get_ci(v, r.schema.id)? } else { v };
        let mut x = get_ci(holder, r.attr.name)?;
        if let Value::Array(a) = x {
            // Multi-valued: the primary value, else the first (RFC 7644 §3.4.2.3).
            x = a.iter().find(|e| get_ci(e, "primary") == Some(&Value::Bool(true))).or(a.first())?;
        }
        let leaf = match r.sub.or_else(|| r.attr.sub("value")) {
            Some(sd) if x.is_object() => get_ci(x, sd.name)?,
            _ => x,
        };
        let s = match leaf {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        Some(if r.leaf().case_exact { s } else { s.to_lowercase() })
    };
    items.sort_by(|a, b| {
        let o = match (key(a), key(b)) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
        if order == SortOrder::Descending {
            o.reverse()
        } else {
            o
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_list_responses_equal_the_value_documents() {
        let items = [json!({"id": "a", "n": 1}), json!({"id": "b\"", "x": [true, null]})];
        for (start, resources) in [(0, &items[..0]), (1, &items[..1]), (7, &items[..])] {
            let joined: Vec<String> = resources.iter().map(Value::to_string).collect();
            let bytes = ListResponse::encode(1234, start, resources.len(), joined.join(",").as_bytes());
            let want = serde_json::to_vec(&ListResponse::new(1234, start, resources.to_vec())).unwrap();
            assert_eq!(String::from_utf8(bytes).unwrap(), String::from_utf8(want).unwrap());
        }
    }

    #[test]
    fn query_pairs_clamp_and_ignore_unknown() {
        let q = ListQuery::from_query_pairs(
            [
                ("startIndex", "0"),
                ("COUNT", "-5"),
                ("aadOptscim062020", ""),
                ("filter", "userName eq \"a b\""),
            ],
            100,
        )
        .unwrap();
        assert_eq!(q.start_index, 1);
        assert_eq!(q.count, Some(0));
        assert!(q.filter.is_some());
        let q = ListQuery::from_query_pairs([("count", "5000")], 100).unwrap();
        assert_eq!(q.count, Some(100));
        assert_eq!(q.count_or(100), 100);
        let e = ListQuery::from_query_pairs([("filter", "userName eq")], 100).unwrap_err();
        assert_eq!(e.scim_type, Some(crate::scim::ScimType::InvalidFilter));
        assert!(ListQuery::from_query_pairs([("count", "ten")], 100).is_err());
    }

    #[test]
    fn list_response_always_has_resources_and_integers() {
        let r = ListResponse::new(0, 1, vec![]);
        assert_eq!(r["totalResults"], 0);
        assert_eq!(r["Resources"], json!([]));
        assert_eq!(r["itemsPerPage"], 0);
        assert_eq!(r["startIndex"], 1);
    }

    #[test]
    fn paging_is_one_based_and_clamped() {
        let v: Vec<u32> = (1..=11).collect();
        assert_eq!(page(&v, 1, 5), &[1, 2, 3, 4, 5]);
        assert_eq!(page(&v, 11, 5), &[11]);
        assert_eq!(page(&v, 12, 5), &[] as &[u32]);
        assert_eq!(page(&v, 0, 2), &[1, 2]);
        assert_eq!(page(&v, 3, 0), &[] as &[u32]);
        assert_eq!(page(&v, 3, usize::MAX), &v[2..]);
    }

    #[test]
    fn search_request_and_sorting() {
        let q = SearchRequest::parse(
            &json!({"schemas":[crate::scim::schema::SEARCH_REQUEST_URN],"attributes":["displayName","userName"],
                    "filter":"displayName sw \"smith\"","startIndex":1,"count":10}),
            100,
        )
        .unwrap();
        assert_eq!(q.attributes.as_deref(), Some("displayName,userName"));
        assert_eq!(q.count, Some(10));
        let mut items = vec![json!({"userName":"b"}), json!({}), json!({"userName":"A"})];
        sort_resources(ResourceType::User, &mut items, "username", SortOrder::Ascending).unwrap();
        assert_eq!(items, vec![json!({"userName":"A"}), json!({"userName":"b"}), json!({})]);
        assert!(sort_resources(ResourceType::User, &mut items, "nope", SortOrder::Ascending).is_err());
    }
}
