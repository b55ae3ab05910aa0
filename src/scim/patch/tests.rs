//! PATCH tests.
