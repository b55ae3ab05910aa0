//! The audit record: a pure value describing one change the sidecar made, or one refusal.
//!
//! It knows nothing of HTTP, the store or Grafana's client; the recorder ([`super::Auditor`])
//! stores and logs it, the store persists it, and the `audit` command and `GET /audit` read it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How an audited action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The change was made.
    Applied,
    /// The request changed nothing (a replace or PATCH to the current state).
    NoChange,
    /// Grafana refused an update of a SAML user; the sidecar kept it and retries on login.
    Deferred,
    /// Shadow mode: the change was planned, not made.
    Planned,
    /// The policy, a guard or the login gate refused the request.
    Refused,
    /// The change failed; `reason` says why.
    Failed,
    /// Seen in passing: a known Grafana object gone, or changed outside SCIM.
    Drift,
}

impl Outcome {
    /// The stored and printed label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::NoChange => "no_change",
            Self::Deferred => "deferred",
            Self::Planned => "planned",
            Self::Refused => "refused",
            Self::Failed => "failed",
            Self::Drift => "drift",
        }
    }

    /// The outcome a label names.
    pub fn parse(label: &str) -> Option<Self> {
        [
            Self::Applied,
            Self::NoChange,
            Self::Deferred,
            Self::Planned,
            Self::Refused,
            Self::Failed,
            Self::Drift,
        ]
        .into_iter()
        .find(|o| o.label() == label)
    }
}

/// One changed field, named by its SCIM attribute path (`userName`, `name.givenName`,
/// `emails[primary]`, `members`). For `members`, `before` holds the removed member ids and
/// `after` the added ones, not the whole lists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub field: String,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub before: Value,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub after: Value,
}

/// Who asked: the token's name (or the Grafana service account), and the client address.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Actor {
    /// `[scim] tokens` entry name, `static-token` for an unnamed one, `service-account:<name>` for
    /// a Grafana token; empty when nobody authenticated (a passthrough or login refusal).
    pub name: String,
    /// The client's address as the edge saw it.
    pub client: String,
}

/// One audit record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    #[serde(serialize_with = "rfc3339")]
    pub time: DateTime<Utc>,
    pub request_id: String,
    pub actor: Actor,
    /// `default` or `org-<N>`.
    pub namespace: String,
    pub org_id: i64,
    /// What kind of record: `scim` (a SCIM write), `policy`, `guard`, `login_gate` (refusals),
    /// `drift`.
    pub kind: String,
    /// `User`, `Group`, or what a refusal concerned (may be empty).
    pub resource_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scim_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grafana_id: Option<i64>,
    /// `userName` of the user concerned (for `--user`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// `displayName` of the group concerned (for `--group`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_name: Option<String>,
    /// `create`, `replace`, `patch`, `delete`, or the refused request (`POST /api/admin/users`).
    pub operation: String,
    pub outcome: Outcome,
    /// Why it was refused or failed, or what drifted; on an applied write, what it noted
    /// (role values mapped to no Grafana role).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Change>,
    /// The Grafana calls made, as `METHOD route (status)`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grafana_calls: Vec<String>,
    /// Whom a refused login named: the verified assertion's subject as the gate read it (never
    /// the assertion itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Subject>,
}

/// The person a SAML login named.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Subject {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
}

/// `record` as the JSON text the store keeps and the log event carries: encoded once per record,
/// into a buffer sized for a typical record (a user create's is about 700 bytes).
///
/// # Errors
/// Never in practice: every field is a string, a number or a JSON value.
pub fn encode(record: &AuditRecord) -> serde_json::Result<String> {
    let mut out = Vec::with_capacity(1024);
    serde_json::to_writer(&mut out, record)?;
    // serde_json writes UTF-8 only.
    String::from_utf8(out).map_err(|e| serde_json::Error::io(std::io::Error::other(e)))
}

/// `time` as chrono writes it (RFC 3339, UTC as `Z`, 0, 3, 6 or 9 fraction digits as needed),
/// without chrono's formatting machinery: the record's one timestamp cost about a sixth of its
/// encoding.
fn rfc3339<S: serde::Serializer>(time: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    use chrono::{Datelike, Timelike};
    let year = time.year();
    if !(0..=9999).contains(&year) {
        return time.serialize(s);
    }
    // A leap second shows as second 60, as chrono writes it.
    let nanos = time.nanosecond();
    let (second, nanos) =
        if nanos >= 1_000_000_000 { (60, nanos - 1_000_000_000) } else { (time.second(), nanos) };
    let mut out = Digits::default();
    out.number(year.unsigned_abs(), 4);
    out.byte(b'-');
    out.number(time.month(), 2);
    out.byte(b'-');
    out.number(time.day(), 2);
    out.byte(b'T');
    out.number(time.hour(), 2);
    out.byte(b':');
    out.number(time.minute(), 2);
    out.byte(b':');
    out.number(second, 2);
    if nanos != 0 {
        out.byte(b'.');
        if nanos % 1_000_000 == 0 {
            out.number(nanos / 1_000_000, 3);
        } else if nanos % 1_000 == 0 {
            out.number(nanos / 1_000, 6);
        } else {
            out.number(nanos, 9);
        }
    }
    out.byte(b'Z');
    s.serialize_str(out.as_str())
}

/// A fixed buffer for [`rfc3339`] (its longest text is 30 bytes).
#[derive(Default)]
struct Digits {
    buf: [u8; 32],
    len: usize,
}

impl Digits {
    fn byte(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    /// `n` in `width` decimal digits, zero-padded (higher digits are cut).
    fn number(&mut self, n: u32, width: u32) {
        for place in (0..width).rev() {
            self.byte(b'0' + (n / 10u32.pow(place) % 10) as u8);
        }
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }
}

impl AuditRecord {
    /// A record of `kind` stamped now, with everything else empty.
    pub fn new(kind: &str, operation: impl Into<String>, outcome: Outcome) -> Self {
        Self {
            time: Utc::now(),
            request_id: String::new(),
            actor: Actor::default(),
            namespace: String::new(),
            org_id: 0,
            kind: kind.to_owned(),
            resource_type: String::new(),
            scim_id: None,
            grafana_id: None,
            user_name: None,
            group_name: None,
            operation: operation.into(),
            outcome,
            reason: None,
            changes: Vec::new(),
            grafana_calls: Vec::new(),
            subject: None,
        }
    }

    /// The namespace label of a Grafana org.
    pub fn namespace_of(org_id: i64) -> String {
        crate::namespace::name_of(org_id)
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn times_encode_as_chrono_writes_them() {
        let base = Utc.with_ymd_and_hms(2026, 12, 6, 9, 52, 31).single().unwrap();
        let mut times = vec![base, Utc.with_ymd_and_hms(7, 1, 2, 3, 4, 5).single().unwrap(), Utc::now()];
        for nanos in [1, 999, 1_000, 534_909_056, 534_000_000, 534_909_000, 999_999_999] {
            times.push(base + chrono::Duration::nanoseconds(nanos));
        }
        // A leap second.
        times.push(
            chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
                .and_then(|d| d.and_hms_nano_opt(23, 59, 59, 1_500_000_000))
                .unwrap()
                .and_utc(),
        );
        times.push(Utc.with_ymd_and_hms(10_000, 1, 1, 0, 0, 0).single().unwrap());
        for time in times {
            let mut r = AuditRecord::new("scim", "create", Outcome::Applied);
            r.time = time;
            let ours: serde_json::Value = serde_json::from_str(&encode(&r).unwrap()).unwrap();
            assert_eq!(ours["time"], serde_json::to_value(time).unwrap(), "{time:?}");
            let back: AuditRecord = serde_json::from_value(ours).unwrap();
            assert_eq!(back.time, time);
        }
    }

    #[test]
    fn encoding_matches_serde_json() {
        let mut r = AuditRecord::new("scim", "create", Outcome::Applied);
        r.changes = vec![Change { field: "userName".into(), before: Value::Null, after: "a\"b".into() }];
        r.grafana_calls = vec!["POST /api/admin/users 200".into()];
        let expected = serde_json::to_value(&r).unwrap();
        let ours: Value = serde_json::from_str(&encode(&r).unwrap()).unwrap();
        assert_eq!(ours, expected);
    }
}
