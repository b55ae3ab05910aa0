//! Entry points for the fuzz targets (`fuzz/`) into parsers of untrusted bytes that the crate does
//! not otherwise export. Not an API: hidden from the docs, it may change at any time.

/// The SCIM request decoder ([`crate::scim_api`]'s `decode`): method, query, media type, body.
pub use crate::scim_api::decode::{base_url as scim_base_url, request as scim_request};
