//! The one place a guard refusal becomes a response: [`respond`] counts it in
//! `scim_sidecar_guard_refusals_total{kind}`, logs it, and writes its [`Dialect`]'s body.

use http::header::CONTENT_TYPE;
use http::{HeaderValue, Response, StatusCode};
use serde_json::{json, Value};

use super::refusal::{Dialect, Refusal};
use crate::body::Body;
use crate::metrics::{KindLabels, Metrics};

/// The response for `refusal`, counted under its kind.
pub fn respond(metrics: &Metrics, refusal: &Refusal) -> Response<Body> {
    let kind = refusal.kind.as_str();
    metrics.guard_refusals.get_or_create(&KindLabels { kind }).inc();
    tracing::info!(kind, status = refusal.status.as_u16(), "passthrough request refused by a guard");
    let mut res = Response::new(crate::body::full(body(refusal).to_string()));
    *res.status_mut() = refusal.status;
    res.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}

/// The JSON body of `refusal` in its dialect.
fn body(refusal: &Refusal) -> Value {
    let (status, message) = (refusal.status, refusal.message.as_ref());
    match refusal.dialect {
        Dialect::Grafana { message_id } => {
            json!({"message": message, "messageId": message_id, "statusCode": status.as_u16()})
        }
        Dialect::GrafanaTeam => json!({"message": message, "traceID": ""}),
        Dialect::Message => json!({ "message": message }),
        Dialect::Kubernetes => json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": message,
            "reason": kubernetes_reason(status),
            "code": status.as_u16(),
        }),
    }
}

/// The Kubernetes `StatusReason` for `status` (`k8s.io/apimachinery/pkg/apis/meta/v1`).
fn kubernetes_reason(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "BadRequest",
        StatusCode::FORBIDDEN => "Forbidden",
        StatusCode::REQUEST_TIMEOUT => "Timeout",
        StatusCode::PAYLOAD_TOO_LARGE => "RequestEntityTooLarge",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "UnsupportedMediaType",
        StatusCode::SERVICE_UNAVAILABLE => "ServiceUnavailable",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guard::refusal::Kind;

    #[test]
    fn every_refusal_is_counted_and_shaped_by_its_dialect() {
        let metrics = Metrics::new();
        let k8s = Refusal::new(Kind::Team, StatusCode::FORBIDDEN, Dialect::Kubernetes, "no");
        let res = respond(&metrics, &k8s);
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert_eq!(body(&k8s)["reason"], "Forbidden");
        assert_eq!(body(&k8s)["code"], 403);
        let saml = Refusal::new(Kind::SamlDisable, StatusCode::FORBIDDEN, Dialect::Message, "off");
        respond(&metrics, &saml);
        assert_eq!(body(&saml), json!({"message": "off"}));
        let team = Refusal::new(Kind::Team, StatusCode::BAD_REQUEST, Dialect::GrafanaTeam, "x");
        assert_eq!(body(&team), json!({"message": "x", "traceID": ""}));
        let user = Refusal::new(Kind::User, StatusCode::FORBIDDEN, Dialect::Grafana { message_id: "m" }, "u");
        assert_eq!(body(&user), json!({"message": "u", "messageId": "m", "statusCode": 403}));
        let text = metrics.render();
        assert!(text.contains(r#"scim_sidecar_guard_refusals_total{kind="team"} 1"#), "{text}");
        assert!(text.contains(r#"scim_sidecar_guard_refusals_total{kind="saml_disable"} 1"#), "{text}");
    }
}
