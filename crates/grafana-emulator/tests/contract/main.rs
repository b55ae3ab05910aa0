//! Contract tests for the Grafana emulator: every status row of grafana-api.md §11.1 and the
//! error bodies of §4–§9 (with §13 corrections), per version profile, over real sockets.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod auth;
mod faults;
mod org_users;
mod scale;
mod sso_saml;
mod team_members;
mod teams;
mod users;
