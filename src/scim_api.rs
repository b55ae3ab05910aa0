//! The SCIM HTTP edge: routing, authentication, request decoding and response encoding.
//!
//! It owns no business logic: requests are decoded here, handed to `provision`, and the result
//! (or a `ScimError`) is encoded as `application/scim+json`.

pub mod auth;
pub mod route;
