//! The write seam of shadow mode: a Grafana client marked [`GrafanaClient::shadowing`] sends no
//! write (POST, PUT, PATCH, DELETE with the admin credential) to Grafana.
//!
//! Instead the call is noted as planned (`METHOD route planned` among the audit notes of the
//! operation) and answered here with a synthesized success: a created user or team gets a
//! [`placeholder_id`], negative and random, so it never collides with a real Grafana id (the
//! store keeps one record per org and Grafana id) and `reconcile` sees it as missing. Reads
//! (GET) and calls made with another credential (token checks, passthrough guards) go out as
//! usual. This module decides nothing about SCIM: provisioning shows placeholder objects from the
//! store (see [`is_placeholder`]).

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use rand::Rng;
use serde_json::json;

/// Placeholder ids are drawn from `-(1..=2^52)`: exact in JSON numbers and never a Grafana id.
const PLACEHOLDER_SPAN: i64 = 1 << 52;

/// A fresh placeholder Grafana id for an object created in shadow mode.
pub fn placeholder_id() -> i64 {
    -rand::rng().random_range(1..=PLACEHOLDER_SPAN)
}

/// Whether `id` names an object that exists only in the sidecar's store (created in shadow
/// mode and not yet made in Grafana by `reconcile --apply`).
pub fn is_placeholder(id: i64) -> bool {
    id < 0
}

/// Whether a call with this method is a write shadow mode holds back.
pub fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Notes `label` (the call's route label, `POST /api/teams`) as a planned call of the current
/// audited operation.
pub fn note_planned(label: &str) {
    crate::audit::notes::grafana_call(|| format!("{label} planned"));
}

/// The status and body shadow mode answers a held-back write with: what Grafana answers on
/// success, with placeholder ids for what a create would have made.
pub fn answer(method: &Method, path: &str) -> (StatusCode, HeaderMap, Bytes) {
    let body = match (method, path.trim_end_matches('/')) {
        (&Method::POST, "/api/admin/users") => {
            json!({"id": placeholder_id(), "uid": "", "message": "User created (shadow mode: planned)"})
        }
        (&Method::POST, "/api/teams") => {
            json!({"teamId": placeholder_id(), "uid": "", "message": "Team created (shadow mode: planned)"})
        }
        _ => json!({"message": "shadow mode: planned, not sent"}),
    };
    (StatusCode::OK, HeaderMap::new(), Bytes::from(body.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_negative_and_distinct() {
        let ids: std::collections::HashSet<i64> = (0..1000).map(|_| placeholder_id()).collect();
        assert_eq!(ids.len(), 1000);
        assert!(ids.iter().all(|&id| is_placeholder(id) && id >= -PLACEHOLDER_SPAN));
        assert!(!is_placeholder(1) && !is_placeholder(0));
    }

    #[test]
    fn creates_answer_with_placeholder_ids_and_other_writes_with_a_message() {
        let (status, _, body) = answer(&Method::POST, "/api/admin/users");
        assert_eq!(status, StatusCode::OK);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert!(is_placeholder(v["id"].as_i64().unwrap()));
        let (_, _, body) = answer(&Method::POST, "/api/teams");
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert!(is_placeholder(v["teamId"].as_i64().unwrap()));
        let (status, _, body) = answer(&Method::DELETE, "/api/teams/4");
        assert_eq!(status, StatusCode::OK);
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert!(v.get("id").is_none() && v["message"].is_string());
        assert!(is_write(&Method::PATCH) && is_write(&Method::PUT) && !is_write(&Method::GET));
    }
}
