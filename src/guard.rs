//! Passthrough guards: Grafana API calls that would undo what SCIM manages are refused before
//! they reach Grafana, with Grafana's own messages. [`teams`] protects SCIM-managed teams.

pub mod teams;
