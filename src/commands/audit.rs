//! `scim-sidecar audit`: reads the audit log from the mapping store, newest first, as text lines
//! or (`--json`) one JSON object per line.

use std::fmt::Write as _;
use std::process::ExitCode;

use crate::audit::{AuditQuery, AuditRecord};
use crate::config::load::Loaded;

/// The `audit` flags, as clap parsed them.
#[derive(Debug, Clone, Default)]
pub struct AuditArgs {
    pub since: Option<String>,
    pub until: Option<String>,
    pub namespace: Option<String>,
    pub user: Option<String>,
    pub group: Option<String>,
    pub kind: Option<String>,
    pub limit: Option<usize>,
    pub json: bool,
}

impl AuditArgs {
    /// The store query these flags ask for.
    ///
    /// # Errors
    /// A time that is neither a duration nor RFC 3339.
    pub fn query(&self) -> Result<AuditQuery, crate::audit::query::QueryError> {
        let now = chrono::Utc::now();
        let mut q = AuditQuery::default();
        let limit = self.limit.map(|n| n.to_string());
        let given = [
            ("since", &self.since),
            ("until", &self.until),
            ("namespace", &self.namespace),
            ("user", &self.user),
            ("group", &self.group),
            ("kind", &self.kind),
            ("limit", &limit),
        ];
        for (name, value) in given {
            if let Some(v) = value {
                q.set(name, v, now)?;
            }
        }
        Ok(q)
    }
}

/// Runs `audit`: exit 0 with the records printed, 64 for a bad filter, 1 when the store fails.
pub fn audit(loaded: &Loaded, args: &AuditArgs) -> ExitCode {
    let query = match args.query() {
        Ok(q) => q,
        Err(e) => {
            eprintln!("invalid filter: {e}");
            return ExitCode::from(64);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let records = runtime.block_on(async {
        let store = crate::store::open(loaded.config.store.url.expose(), 1).await?;
        store.query_audit(&query).await
    });
    match records {
        Ok(records) => {
            for r in &records {
                if args.json {
                    println!("{}", serde_json::to_string(r).unwrap_or_default());
                } else {
                    println!("{}", line(r));
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cannot read the audit log: {e}");
            ExitCode::FAILURE
        }
    }
}

/// One record as a text line.
pub fn line(r: &AuditRecord) -> String {
    let mut out = format!(
        "{} {} {} {} {}",
        r.time.format("%Y-%m-%dT%H:%M:%S%.3fZ"),
        r.outcome.label(),
        r.kind,
        r.operation,
        r.namespace
    );
    if !r.resource_type.is_empty() {
        let _ = write!(out, " {}", r.resource_type);
    }
    if let Some(name) = r.user_name.as_ref().or(r.group_name.as_ref()) {
        let _ = write!(out, " {name:?}");
    }
    if let Some(id) = &r.scim_id {
        let _ = write!(out, " id={id}");
    }
    if !r.actor.name.is_empty() {
        let _ = write!(out, " by={}", r.actor.name);
    }
    if !r.actor.client.is_empty() {
        let _ = write!(out, " from={}", r.actor.client);
    }
    if let Some(s) = &r.subject {
        if let Some(email) = &s.email {
            let _ = write!(out, " email={email:?}");
        }
        if let Some(ext) = &s.external_id {
            let _ = write!(out, " externalId={ext:?}");
        }
    }
    let _ = write!(out, " request={}", r.request_id);
    for c in &r.changes {
        let _ = write!(out, " {}: {} -> {}", c.field, c.before, c.after);
    }
    if let Some(reason) = &r.reason {
        let _ = write!(out, " reason={reason:?}");
    }
    out
}
