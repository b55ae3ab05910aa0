//! The plan as people read it (like a Terraform plan) and as machines do (`--json`). Pure.
//!
//! JSON (one document):
//! ```text
//! { "apply": bool,                 // --apply was given
//!   "total": N,                    // changes over every namespace
//!   "failed": N,                   // with --apply: changes that failed
//!   "counts": { "user": N, "org_membership": N, "team": N, "team_member": N, "team_sync_link": N },
//!   "namespaces": [ { "namespace": "default", "org_id": 1, "notes": ["…"],
//!       "changes": [ { "kind": "user", "resource_type": "User", "scim_id": "…", "name": "alice",
//!                      "grafana_id": 5,            // absent when the object is to be created
//!                      "member": "bob",            // membership changes: the user concerned
//!                      "fields": [ { "field": "login", "grafana": "alice2", "scim": "alice" } ],
//!                      "action": "update_user", "call": "PUT /api/users/5",
//!                      "outcome": "applied",       // with --apply: applied | failed
//!                      "error": "…" } ] } ] }     // with --apply, when failed
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{json, Value};

use super::apply::Applied;
use super::plan::{Change, Kind, Plan};

/// One namespace's plan and, after `--apply`, how each change ended (same order).
pub struct Report<'a> {
    pub plan: &'a Plan,
    pub applied: Option<&'a [Applied]>,
}

fn counts(reports: &[Report<'_>]) -> BTreeMap<Kind, usize> {
    let mut all: BTreeMap<Kind, usize> = Kind::ALL.iter().map(|k| (*k, 0)).collect();
    for r in reports {
        for (k, n) in r.plan.counts() {
            *all.entry(k).or_default() += n;
        }
    }
    all
}

fn failures(reports: &[Report<'_>]) -> usize {
    reports.iter().flat_map(|r| r.applied.unwrap_or_default()).filter(|a| a.error.is_some()).count()
}

fn header(c: &Change) -> String {
    let mut out = format!("{} {} {:?}", c.action.symbol(), c.kind.label(), c.name);
    if let Some(m) = &c.member {
        let _ = write!(out, " member {m:?}");
    }
    let _ = write!(out, " ({} {}", c.resource_type, c.scim_id);
    if let Some(id) = c.grafana_id {
        let _ = write!(out, ", grafana id {id}");
    }
    out.push(')');
    out
}

/// The text report.
pub fn text(reports: &[Report<'_>], apply: bool) -> String {
    let mut out = String::new();
    for r in reports {
        let p = r.plan;
        let _ = writeln!(out, "namespace {} (org {}): {} change(s)", p.namespace, p.org_id, p.changes.len());
        for (i, c) in p.changes.iter().enumerate() {
            let _ = writeln!(out, "  {}", header(c));
            for f in &c.fields {
                let _ = writeln!(out, "      {}: {} -> {}", f.field, f.grafana, f.scim);
            }
            let _ = writeln!(out, "      call: {}", c.call);
            if let Some(a) = r.applied.and_then(|a| a.get(i)) {
                match &a.error {
                    None => out.push_str("      applied\n"),
                    Some(e) => {
                        let _ = writeln!(out, "      FAILED: {e}");
                    }
                }
            }
        }
        for n in &p.notes {
            let _ = writeln!(out, "  note: {n}");
        }
    }
    let counts = counts(reports);
    let total: usize = counts.values().sum();
    let by_kind: Vec<String> = counts.iter().map(|(k, n)| format!("{} {n}", k.label())).collect();
    if total == 0 {
        out.push_str("No changes: Grafana matches SCIM.\n");
    } else if apply {
        let failed = failures(reports);
        let _ = writeln!(
            out,
            "Applied {} of {total} change(s) ({}); {failed} failed.",
            total - failed,
            by_kind.join(", ")
        );
    } else {
        let _ =
            writeln!(out, "Plan: {total} change(s) ({}). Run with --apply to make them.", by_kind.join(", "));
    }
    out
}

/// The JSON report (schema in the module docs).
pub fn json(reports: &[Report<'_>], apply: bool) -> Value {
    let counts = counts(reports);
    let namespaces: Vec<Value> = reports
        .iter()
        .map(|r| {
            let changes: Vec<Value> = match r.applied {
                Some(applied) => applied.iter().map(super::apply::to_json).collect(),
                None => {
                    r.plan.changes.iter().map(|c| serde_json::to_value(c).unwrap_or(Value::Null)).collect()
                }
            };
            json!({
                "namespace": r.plan.namespace,
                "org_id": r.plan.org_id,
                "changes": changes,
                "notes": r.plan.notes,
            })
        })
        .collect();
    let mut doc = json!({
        "apply": apply,
        "total": counts.values().sum::<usize>(),
        "counts": counts.iter().map(|(k, n)| (k.label().to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
        "namespaces": namespaces,
    });
    if apply {
        doc["failed"] = json!(failures(reports));
    }
    doc
}
