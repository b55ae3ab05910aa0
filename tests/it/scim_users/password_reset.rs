//! Password resets through the proxy: a SCIM-managed user signs in through the IdP only, so no
//! reset mail is sent for them (resolved as Grafana resolves `userOrEmail`), and the reset
//! completion, whose code does not say whose password it sets, is refused while SCIM is active.

use http::Request;
use serde_json::json;

use super::{create, grafana_id};
use crate::support::client::body_string;
use crate::support::scim::Harness;

/// An anonymous `POST path` with `body`.
async fn post(h: &Harness, path: &str, body: &str) -> (u16, String) {
    let req = Request::post(format!("{}{path}", h.sidecar.url))
        .header("content-type", "application/json")
        .body(scim_sidecar::body::full(body.to_string()))
        .unwrap();
    let res = h.client.request(req).await.unwrap();
    let status = res.status().as_u16();
    (status, body_string(res).await)
}

/// Calls Grafana saw on any password route.
fn password_calls(h: &Harness) -> usize {
    h.grafana.calls().iter().filter(|c| c.path.to_ascii_lowercase().contains("password")).count()
}

#[tokio::test]
async fn no_reset_mail_is_requested_for_a_managed_user() {
    let h = Harness::start().await;
    create(&h, "reset.me", "Reset.Me@example.com").await;
    let gid = grafana_id(&h, "reset.me");
    let login = h.grafana.user(gid).unwrap().login;
    h.grafana.reset_calls();
    let send = "/api/user/password/send-reset-email";
    for (path, body) in [
        (send, json!({"userOrEmail": "reset.me@example.com"}).to_string()),
        (send, json!({"userOrEmail": "RESET.ME@EXAMPLE.COM"}).to_string()),
        (send, json!({"userOrEmail": login.to_uppercase()}).to_string()),
        // Go binds keys ignoring case, and the last duplicate wins.
        (send, r#"{"userOrEmail":"nobody@example.com","USEROREMAIL":"reset.me@example.com"}"#.to_string()),
        (send, r#"{"userOrEmail":"reset.me@example.com"} trailing"#.to_string()),
        ("/api/User/Password/Send-Reset-Email/", json!({"userOrEmail": "reset.me@example.com"}).to_string()),
        (
            "/api/%75ser/password/send-reset-%65mail",
            json!({"userOrEmail": "reset.me@example.com"}).to_string(),
        ),
    ] {
        let (status, answer) = post(&h, path, &body).await;
        // Grafana's own answer (it gives the same for unknown users): nothing to enumerate.
        assert_eq!(status, 200, "{path} {body}: {answer}");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&answer).unwrap(),
            json!({"message": "Email sent"})
        );
    }
    assert_eq!(password_calls(&h), 0, "grafana was never asked to send a reset mail");
    // A local user's request goes to Grafana.
    h.grafana.create_user("local", "local@example.com", "Local");
    post(&h, send, &json!({"userOrEmail": "local@example.com"}).to_string()).await;
    assert_eq!(password_calls(&h), 1, "forwarded for an unmanaged user");
}

#[tokio::test]
async fn reset_completion_is_refused_while_scim_is_active() {
    let h = Harness::start().await;
    h.grafana.reset_calls();
    let body = json!({"code": "abc", "newPassword": "n3w-Password!", "confirmPassword": "n3w-Password!"});
    for path in ["/api/user/password/reset", "/API/user/password/reset/", "/api/user/password/%72eset"] {
        let (status, answer) = post(&h, path, &body.to_string()).await;
        assert_eq!(status, 403, "{path}: {answer}");
        let v: serde_json::Value = serde_json::from_str(&answer).unwrap();
        assert_eq!(v["messageId"], "scim-sidecar.password-reset");
    }
    assert_eq!(password_calls(&h), 0, "grafana never saw a reset");
}
