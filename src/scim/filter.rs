//! SCIM filters (RFC 7644 §3.4.2.2): parsing with documented limits, printing, validation against
//! a resource type, evaluation over a resource, and planning of indexed lookups.
//!
//! The AST and grammar come from `scim_v2` (see `docs/deps-scim.md`); this module adds the input
//! caps, the Entra `emails[type eq "work"].value eq "x"` form, schema checks and semantics.

pub(crate) mod eval;
mod plan;
mod rewrite;

pub use eval::{matches, matches_element, validate};
pub use plan::{plan, LookupKey, Plan};
pub use scim_v2::filter::{
    AttrExp, AttrPath, CompValue, CompareOp, Filter, PatchPath, PatchValuePath, ValFilter, ValuePath,
    MAX_FILTER_DEPTH, MAX_FILTER_TERMS,
};

use super::error::ScimError;
use super::schema::ResourceType;

/// Longest filter accepted, in bytes (also the cap for PATCH paths).
pub const MAX_FILTER_LEN: usize = 8 * 1024;

/// Parses a filter. Malformed, empty, longer than [`MAX_FILTER_LEN`], nested deeper than
/// [`MAX_FILTER_DEPTH`] or with more than [`MAX_FILTER_TERMS`] terms → 400 `invalidFilter`.
///
/// The input must already be URL-decoded (`+` → space). Operators, `and`/`or`/`not` and
/// attribute names are case-insensitive. The non-RFC form `attr[filter].sub op value` (Entra
/// documents it for `emails[type eq "work"].value eq "x"`) is accepted and parsed as
/// `attr[(filter) and sub op value]`, its RFC equivalent; `not(` without a space is accepted.
pub fn parse_filter(input: &str) -> Result<Filter, ScimError> {
    if input.len() > MAX_FILTER_LEN {
        return Err(ScimError::invalid_filter(format!("filter longer than {MAX_FILTER_LEN} bytes")));
    }
    if input.trim().is_empty() {
        return Err(ScimError::invalid_filter("filter is empty"));
    }
    match input.parse::<Filter>() {
        Ok(f) => Ok(f),
        Err(first) => {
            if let Some(rewritten) = rewrite::lenient(input) {
                if let Ok(f) = rewritten.parse::<Filter>() {
                    return Ok(f);
                }
            }
            Err(ScimError::invalid_filter(format!("invalid filter: {}", short(&first.to_string()))))
        }
    }
}

/// [`parse_filter`] then [`validate`] against `rt`: what a list endpoint needs.
pub fn parse_filter_for(rt: ResourceType, input: &str) -> Result<Filter, ScimError> {
    let f = parse_filter(input)?;
    validate(rt, &f)?;
    Ok(f)
}

/// Parses a PATCH path (RFC 7644 §3.5.2 `PATH`); malformed → 400 `invalidPath`.
pub fn parse_patch_path(input: &str) -> Result<PatchPath, ScimError> {
    if input.len() > MAX_FILTER_LEN {
        return Err(ScimError::invalid_path(format!("path longer than {MAX_FILTER_LEN} bytes")));
    }
    input
        .parse::<PatchPath>()
        .map_err(|e| ScimError::invalid_path(format!("invalid path: {}", short(&e.to_string()))))
}

/// Parser messages can echo the whole input; keep error details short.
fn short(msg: &str) -> String {
    const MAX: usize = 200;
    if msg.len() <= MAX {
        return msg.to_string();
    }
    let mut end = MAX;
    while !msg.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &msg[..end])
}

#[cfg(test)]
mod tests;
