//! Pure SCIM 2.0 protocol core (RFC 7643 / RFC 7644): schemas, resource canonicalisation, filters
//! (parse, print, evaluate, plan), PATCH (normalise, apply), projection, list responses,
//! discovery documents, ETags and the §3.12 error model.
//!
//! This module must not import hyper, tokio, the store or the Grafana client: it takes `&str` and
//! `serde_json::Value` and returns typed values, so every rule here is testable without sockets.

pub mod discovery;
pub mod error;
pub mod etag;
pub mod filter;
pub mod list;
pub mod patch;
pub mod projection;
pub mod resource;
pub mod roles;
pub mod schema;

pub use error::{ScimError, ScimType, SCIM_CONTENT_TYPE};
pub use schema::ResourceType;

#[cfg(test)]
mod tests;
