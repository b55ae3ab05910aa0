//! Typed provisioning operations ([`Op`]) and their domain outcomes ([`Outcome`]).
//!
//! The SCIM edge decodes a request into an `Op` (parsing bodies, list queries, PATCH documents
//! and `attributes`/`excludedAttributes` itself) and turns the `Outcome` into HTTP: it applies the
//! projection, answers `If-None-Match` with 304, picks 200, 201 or 204, and sets `Location` and
//! `ETag`. An operation reads `view` only to decide what to load (a group's members are read only
//! when the view keeps them; an unfiltered user page with the default view is encoded directly).

use serde_json::Value;

use crate::scim::list::ListQuery;
use crate::scim::patch::PatchRequest;
use crate::scim::projection::Projection;

/// One operation on a resource type (Users or Groups) within a [`super::Scope`].
#[derive(Debug)]
pub enum Op {
    /// One resource by SCIM id.
    Get { id: String, view: Projection },
    /// A page of resources (`GET /Users`, `POST /Users/.search`, same for Groups).
    List { query: ListQuery, view: Projection },
    /// A new resource from a SCIM document.
    Create { body: Value },
    /// The whole resource replaced (`PUT`). `expected` is the version the client holds
    /// (`If-Match`), checked against the current one under the resource's lock.
    Replace { id: String, body: Value, expected: Option<String>, view: Projection },
    /// A PATCH. `view` is `None` when the client wants no representation back.
    Patch { id: String, patch: PatchRequest, expected: Option<String>, view: Option<Projection> },
    /// Delete (or deactivate, per `[scim] on_delete`).
    Delete { id: String, expected: Option<String> },
}

/// One resource as it is now: its full representation (with `meta`) and its weak ETag.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown {
    pub id: String,
    pub body: Value,
    pub etag: String,
}

/// A page of a listing, before projection.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub total: usize,
    pub start_index: usize,
    pub resources: Vec<Value>,
}

/// What a successful operation produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The resource after a get, a replace or a patch.
    Current(Shown),
    /// The resource a create made.
    Created(Shown),
    /// A page of resources.
    Listed(Page),
    /// A ListResponse already encoded (an unfiltered user page with the default view, written
    /// straight to bytes by `users::encoded`).
    ListedEncoded(Vec<u8>),
    /// Done, with nothing to show (a delete, or a patch whose `view` was `None`).
    Done,
}

/// Passes when the client holds no version (`expected` is `None`) or holds `current` (RFC 7644
/// §3.14; `*` and lists of tags as RFC 9110 §13.1.1 allows).
pub(crate) fn expect_version(expected: Option<&str>, current: &str) -> Result<(), super::ProvisionError> {
    crate::scim::etag::if_match(expected, current)
        .map_err(|e| super::ProvisionError::VersionMismatch(e.detail))
}
