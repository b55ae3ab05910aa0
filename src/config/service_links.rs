//! Kubernetes service-link variables, which the sidecar ignores instead of refusing.
//!
//! Kubernetes gives every container variables for each Service in its namespace (unless the pod
//! sets `enableServiceLinks: false`): for a Service `sidecar-admin`, `SIDECAR_ADMIN_SERVICE_HOST`,
//! `SIDECAR_ADMIN_PORT=tcp://10.0.0.7:9090`, `SIDECAR_ADMIN_PORT_9090_TCP_ADDR`, and so on. Those
//! share the `SIDECAR_` prefix of the sidecar's own settings, and an unknown `SIDECAR_*` variable
//! is an error, so a Service named `sidecar…` would stop the sidecar from starting. A variable is
//! taken for a service link only when both its name and its value have the shape Kubernetes
//! gives them, so a mistyped setting (`SIDECAR_SERVER_PORT=8080`) is still reported.

use std::net::IpAddr;

/// True when `name=value` is a variable Kubernetes sets for a Service.
pub fn is_service_link(name: &str, value: &str) -> bool {
    let value = value.trim();
    if name.ends_with("_SERVICE_HOST") {
        return value.parse::<IpAddr>().is_ok();
    }
    if name.strip_suffix("_SERVICE_PORT").is_some() || name.contains("_SERVICE_PORT_") {
        return is_port(value);
    }
    if name.ends_with("_PORT") && !name.contains("_PORT_") {
        return is_endpoint_url(value);
    }
    // `<S>_PORT_<n>_<PROTO>` and its `_PROTO`, `_PORT`, `_ADDR` companions.
    let Some((_, tail)) = name.rsplit_once("_PORT_").filter(|(s, _)| !s.is_empty()) else {
        return false;
    };
    let (port, rest) = tail.split_once('_').unwrap_or((tail, ""));
    if !is_port(port) {
        return false;
    }
    match rest {
        "TCP" | "UDP" | "SCTP" => is_endpoint_url(value),
        "TCP_PROTO" | "UDP_PROTO" | "SCTP_PROTO" => matches!(value, "tcp" | "udp" | "sctp"),
        "TCP_PORT" | "UDP_PORT" | "SCTP_PORT" => is_port(value),
        "TCP_ADDR" | "UDP_ADDR" | "SCTP_ADDR" => value.parse::<IpAddr>().is_ok(),
        _ => false,
    }
}

fn is_port(text: &str) -> bool {
    text.parse::<u16>().is_ok_and(|p| p > 0)
}

/// `tcp://10.0.0.7:9090` (or `udp://`, `sctp://`; IPv6 in brackets).
fn is_endpoint_url(value: &str) -> bool {
    let Some((scheme, rest)) = value.split_once("://") else { return false };
    let Some((host, port)) = rest.rsplit_once(':') else { return false };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    matches!(scheme, "tcp" | "udp" | "sctp") && host.parse::<IpAddr>().is_ok() && is_port(port)
}

#[cfg(test)]
mod tests {
    use super::is_service_link;

    #[test]
    fn kubernetes_service_links_are_recognised() {
        for (name, value) in [
            ("SIDECAR_ADMIN_SERVICE_HOST", "10.0.0.7"),
            ("SIDECAR_ADMIN_SERVICE_PORT", "9090"),
            ("SIDECAR_ADMIN_SERVICE_PORT_METRICS", "9090"),
            ("SIDECAR_ADMIN_PORT", "tcp://10.0.0.7:9090"),
            ("SIDECAR_ADMIN_PORT_9090_TCP", "tcp://10.0.0.7:9090"),
            ("SIDECAR_ADMIN_PORT_9090_TCP_PROTO", "tcp"),
            ("SIDECAR_ADMIN_PORT_9090_TCP_PORT", "9090"),
            ("SIDECAR_ADMIN_PORT_9090_TCP_ADDR", "10.0.0.7"),
            ("SIDECAR_V6_PORT", "tcp://[fd00::7]:80"),
        ] {
            assert!(is_service_link(name, value), "{name}={value}");
        }
    }

    #[test]
    fn mistyped_settings_are_not_service_links() {
        for (name, value) in [
            ("SIDECAR_SERVER_PORT", "8080"),
            ("SIDECAR_SERVER_SERVICE_HOST", "grafana.local"),
            ("SIDECAR_ADMIN_PORT_9090_TCP_ADDR", "host"),
            ("SIDECAR_ADMIN_PORT_X_TCP", "tcp://10.0.0.7:9090"),
            ("SIDECAR_ADMIN_PORT_9090_TCP_PROTO", "http"),
            ("SIDECAR_GRAFANA_URLS", "tcp://10.0.0.7:9090"),
            ("SIDECAR_PORT_", ""),
        ] {
            assert!(!is_service_link(name, value), "{name}={value}");
        }
    }
}
