//! SCIM Groups against the emulator: the exact Grafana member set is asserted after every step.

mod authority;
mod deactivated;
mod flows;
mod iam;
mod okta;
mod support;
