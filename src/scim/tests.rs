//! Cross-module golden and property tests for the SCIM core.
