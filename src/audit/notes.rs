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
    /// `METHOD route outcome`, in order.
    pub grafana_calls: Vec<String>,
    /// Grafana refused an update of a SAML user (applied at its next login).
    pub deferred: bool,
    /// Drift seen, one line each.
    pub drift: Vec<String>,
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

/// Most Grafana calls kept per operation (a large group PATCH makes one per member).
const MAX_CALLS: usize = 200;

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
}
