//! Resource tests.
