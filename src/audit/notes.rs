//! What an audited operation noticed on its way, gathered per task: the Grafana calls it made,
//! whether Grafana deferred an update, drift it saw (a known Grafana object gone, or changed
//! outside SCIM), and the resource's SCIM representation before (and, where the answer does not
//! carry it, after) the write, as provisioning had them anyway: the audit costs no extra Grafana
//! call.
//!
//! The SCIM dispatcher runs the operation inside [`collect`]; the Grafana client and provisioning
//! call [`grafana_call`], [`deferred`] and [`drift`] wherever they already notice these things.
//! Outside [`collect`] (policy refreshes, guards, work on other tasks) the calls do nothing, so
//! lower layers need no audit handle of their own.

use std::cell::RefCell;
use std::future::Future;

use serde_json::Value;

/// What one operation noticed.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Notes {
    /// `METHOD route outcome`, in order: the first [`MAX_CALLS`]; see [`Notes::calls`].
    pub grafana_calls: Vec<String>,
    /// Calls made beyond the first [`MAX_CALLS`], counted, not listed.
    pub more_calls: usize,
    /// Grafana refused an update of a SAML user (applied at its next login).
    pub deferred: bool,
    /// Drift seen and repaired (a stale record dropped), one line each.
    pub drift: Vec<String>,
    /// Drift seen and left for `reconcile` or the operator: a managed object changed or gone
    /// outside SCIM.
    pub seen: Vec<DriftSeen>,
    /// The resource before the write, as the write loaded it.
    pub before: Option<Value>,
    /// The resource after the write, when the write decided it without showing it (a group
    /// PATCH answering 204).
    pub after: Option<Value>,
    /// The Grafana user or team the write concerned.
    pub grafana_id: Option<i64>,
    /// SCIM role values mapped to no Grafana role (role sync), as sent.
    pub unmapped_roles: Vec<String>,
}

/// A managed Grafana object seen changed or gone outside SCIM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriftSeen {
    /// The SCIM id of the user or group.
    pub scim_id: String,
    /// The Grafana user or team id.
    pub grafana_id: i64,
    /// The userName or displayName SCIM holds.
    pub name: String,
    /// What changed, one line.
    pub what: String,
}

/// Most Grafana calls listed per operation (a large group PATCH on a Grafana without the bulk
/// members route makes one per member); the rest are counted and named by one closing line.
pub const MAX_CALLS: usize = 200;

impl Notes {
    /// The calls as the audit record lists them: the first [`MAX_CALLS`], then, when there were
    /// more, one line `… and N more Grafana calls (T in all)`. Leaves none behind.
    pub fn take_calls(&mut self) -> Vec<String> {
        let mut out = std::mem::take(&mut self.grafana_calls);
        if self.more_calls > 0 {
            let all = out.len() + self.more_calls;
            out.push(format!("… and {} more Grafana calls ({all} in all)", self.more_calls));
            self.more_calls = 0;
        }
        out
    }
}

tokio::task_local! {
    static NOTES: RefCell<Notes>;
}

/// Runs `work`, gathering what it notices.
pub async fn collect<F: Future>(work: F) -> (F::Output, Notes) {
    NOTES
        .scope(RefCell::new(Notes::default()), async move {
            let out = work.await;
            let notes = NOTES.with(|n| std::mem::take(&mut *n.borrow_mut()));
            (out, notes)
        })
        .await
}

fn note(f: impl FnOnce(&mut Notes)) {
    let _ = NOTES.try_with(|n| f(&mut n.borrow_mut()));
}

/// A Grafana call was made; `describe` runs only inside [`collect`].
pub fn grafana_call(describe: impl FnOnce() -> String) {
    note(|n| {
        if n.grafana_calls.len() < MAX_CALLS {
            n.grafana_calls.push(describe());
        } else {
            n.more_calls += 1;
        }
    });
}

/// Whether an operation is being audited here: callers build what they note only then.
pub fn wanted() -> bool {
    NOTES.try_with(|_| ()).is_ok()
}

/// The resource before the write; `state` runs only inside [`collect`].
pub fn before(state: impl FnOnce() -> Value) {
    note(|n| n.before = Some(state()));
}

/// The resource after the write; `state` runs only inside [`collect`].
pub fn after(state: impl FnOnce() -> Value) {
    note(|n| n.after = Some(state()));
}

/// The Grafana user or team id the write concerned.
pub fn grafana_id(id: i64) {
    note(|n| n.grafana_id = Some(id));
}

/// Grafana refused an update of a SAML user.
pub fn deferred() {
    note(|n| n.deferred = true);
}

/// Role values the write kept in SCIM without a Grafana role (`[scim.roles]`).
pub fn unmapped_roles(values: &[String]) {
    note(|n| {
        for v in values {
            if !n.unmapped_roles.contains(v) {
                n.unmapped_roles.push(v.clone());
            }
        }
    });
}

/// Drift was seen (and repaired, or reported).
pub fn drift(what: impl Into<String>) {
    let what = what.into();
    note(|n| n.drift.push(what));
}

/// Drift was seen and is not repaired here; `seen` runs only inside [`collect`].
pub fn drift_seen(seen: impl FnOnce() -> DriftSeen) {
    note(|n| n.seen.push(seen()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn notes_are_gathered_inside_collect_only() {
        deferred();
        let ((), notes) = collect(async {
            grafana_call(|| "GET /api/users/:id ok".into());
            drift("team 7 gone");
            deferred();
        })
        .await;
        assert_eq!(notes.grafana_calls, ["GET /api/users/:id ok"]);
        assert!(notes.deferred);
        assert_eq!(notes.drift, ["team 7 gone"]);
    }

    #[tokio::test]
    async fn calls_past_the_limit_are_counted_and_named_in_one_line() {
        let ((), notes) = collect(async {
            for i in 0..MAX_CALLS + 25 {
                grafana_call(|| format!("POST /api/teams/:id/members {i}"));
            }
        })
        .await;
        let calls = notes.clone().take_calls();
        assert_eq!(calls.len(), MAX_CALLS + 1);
        assert_eq!(calls[MAX_CALLS - 1], format!("POST /api/teams/:id/members {}", MAX_CALLS - 1));
        assert_eq!(calls[MAX_CALLS], format!("… and 25 more Grafana calls ({} in all)", MAX_CALLS + 25));
        let ((), few) = collect(async { grafana_call(|| "GET /api/teams/:id 200".into()) }).await;
        assert_eq!(few.clone().take_calls(), ["GET /api/teams/:id 200"]);
    }
}
