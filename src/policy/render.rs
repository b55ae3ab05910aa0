//! The human-readable `scim-sidecar check` report. Pure formatting of a [`PolicyReport`]; must
//! not contact Grafana or decide exit codes.

use std::fmt::Write;

use super::report::{check, PolicyReport};
use super::Verdict;

fn yes_no(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "yes",
        Some(false) => "no",
        None => "unknown",
    }
}

fn verdict_line(out: &mut String, title: &str, enforced: bool, verdict: &Verdict) {
    let scope = if enforced { "" } else { " (not enforced by the configuration)" };
    let _ = writeln!(out, "{title}: {}{scope}", verdict.label().to_uppercase());
    if let Some(reason) = verdict.reason() {
        let _ = writeln!(out, "  {reason}");
    }
}

/// Renders the report; `store` is one line describing the mapping store.
pub fn human(report: &PolicyReport, store: &str) -> String {
    human_with(report, store, "")
}

/// Like [`human`], with `extra` (whole lines, such as the login gate's section) before the result.
pub fn human_with(report: &PolicyReport, store: &str, extra: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Grafana: {} ({})",
        report.grafana_version.as_deref().unwrap_or("version unknown"),
        report.grafana_edition.as_deref().unwrap_or("edition unknown")
    );
    let _ = writeln!(
        out,
        "Configured credential is a server admin: {}",
        yes_no(report.credential_is_server_admin)
    );
    for c in &report.checks {
        match c.check {
            check::SAML => {
                verdict_line(&mut out, "SAML authentication", c.enforced, &c.verdict);
                let s = &report.saml;
                let _ = writeln!(
                    out,
                    "  source: {}",
                    serde_json::to_value(s.source)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default()
                );
                if let Some(acs) = &s.acs_url {
                    let _ = writeln!(out, "  SP metadata ACS: {acs}");
                }
                let _ = writeln!(out, "  external UID attribute: {}", s.external_uid_attribute);
                let _ = writeln!(out, "  sign-up allowed: {}", yes_no(s.allow_sign_up));
            }
            check::TEAM_SYNC => {
                verdict_line(&mut out, "Team Sync not in use", c.enforced, &c.verdict);
                let t = &report.team_sync;
                let _ = writeln!(out, "  licensed: {}", yes_no(t.licensed));
                if t.linked_teams.is_empty() {
                    let _ = writeln!(out, "  teams with group links: none");
                }
                for team in &t.linked_teams {
                    let _ = writeln!(
                        out,
                        "  team \"{}\" (org {}, id {}): groups {}",
                        team.team_name,
                        team.org_id,
                        team.team_id,
                        team.groups.join(", ")
                    );
                }
                if let Some(w) = &t.warning {
                    let _ = writeln!(out, "  warning: {w}");
                }
            }
            check::AUTH_PROXY => {
                verdict_line(&mut out, "Grafana's auth proxy is off", c.enforced, &c.verdict);
                let names = &report.header_logins.header_names;
                if !names.is_empty() {
                    let _ = writeln!(
                        out,
                        "  identity headers removed from client requests: {}",
                        names.join(", ")
                    );
                }
            }
            check::ROLE_SYNC => {
                verdict_line(
                    &mut out,
                    "Grafana's SAML role sync is off (SCIM role sync)",
                    c.enforced,
                    &c.verdict,
                );
                let r = &report.saml.role_sync;
                let _ = writeln!(
                    out,
                    "  assertion_attribute_role: {}; org mapping: {}; skip_org_role_sync: {}",
                    r.role_attribute.as_deref().unwrap_or("unset"),
                    if r.org_mapping || r.org_attribute.is_some() { "set" } else { "unset" },
                    yes_no(r.skip_org_role_sync)
                );
            }
            _ => {
                verdict_line(&mut out, "SAML is the only login method", c.enforced, &c.verdict);
                match &report.other_logins {
                    Some(o) if o.is_empty() => {
                        let _ = writeln!(out, "  other login methods: none");
                    }
                    Some(o) => {
                        let _ = writeln!(out, "  other login methods: {}", o.join(", "));
                    }
                    None => {
                        let _ = writeln!(out, "  other login methods: unknown");
                    }
                }
            }
        }
    }
    let _ = writeln!(out, "Store: {store}");
    out.push_str(extra);
    let overall = report.overall();
    let _ = writeln!(
        out,
        "Result: {}",
        match overall {
            Verdict::Satisfied => "COMPLIANT",
            Verdict::Violated(_) => "VIOLATED",
            Verdict::Undetermined(_) => "UNDETERMINED",
        }
    );
    out
}
