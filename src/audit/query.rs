//! Which audit records to read: the filters `scim-sidecar audit` takes as flags and `GET /audit`
//! as query parameters, parsed the same way for both.

use chrono::{DateTime, Utc};

/// Records returned when no `limit` is given.
pub const DEFAULT_LIMIT: usize = 100;
/// Most records one query returns.
pub const MAX_LIMIT: usize = 10_000;

/// Filters over audit records; every given one must hold. Results are newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditQuery {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// `default` or `org-<N>`.
    pub namespace: Option<String>,
    /// `userName`, ignoring case.
    pub user: Option<String>,
    /// Group `displayName`, ignoring case.
    pub group: Option<String>,
    /// Record kind (`scim`, `policy`, `guard`, `login_gate`, `drift`).
    pub kind: Option<String>,
    pub limit: usize,
}

impl Default for AuditQuery {
    fn default() -> Self {
        Self {
            since: None,
            until: None,
            namespace: None,
            user: None,
            group: None,
            kind: None,
            limit: DEFAULT_LIMIT,
        }
    }
}

/// A filter value that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{param}: {message}")]
pub struct QueryError {
    pub param: String,
    pub message: String,
}

/// A point in time given as a duration back from `now` (`90m`, `7d`) or as RFC 3339.
///
/// # Errors
/// When `text` is neither.
pub fn parse_time(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    let d = humantime::parse_duration(text)
        .map_err(|_| format!("`{text}` is neither a duration such as 24h nor an RFC 3339 time"))?;
    let d = chrono::Duration::from_std(d).map_err(|_| format!("`{text}` is too long ago"))?;
    now.checked_sub_signed(d).ok_or_else(|| format!("`{text}` is too long ago"))
}

impl AuditQuery {
    /// Sets one filter by its name (`since`, `until`, `namespace`, `user`, `group`, `kind`,
    /// `limit`); unknown names are ignored.
    ///
    /// # Errors
    /// When the value of a known name does not parse.
    pub fn set(&mut self, name: &str, value: &str, now: DateTime<Utc>) -> Result<(), QueryError> {
        let fail = |message: String| QueryError { param: name.to_owned(), message };
        match name {
            "since" => self.since = Some(parse_time(value, now).map_err(fail)?),
            "until" => self.until = Some(parse_time(value, now).map_err(fail)?),
            "namespace" => self.namespace = Some(value.to_owned()),
            "user" => self.user = Some(value.to_owned()),
            "group" => self.group = Some(value.to_owned()),
            "kind" => self.kind = Some(value.to_owned()),
            "limit" => {
                let n: usize = value.parse().map_err(|_| fail(format!("`{value}` is not a count")))?;
                self.limit = n.clamp(1, MAX_LIMIT);
            }
            _ => {}
        }
        Ok(())
    }

    /// A query from URL query pairs (`GET /audit?since=24h&user=alice`).
    ///
    /// # Errors
    /// The first value that does not parse.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
        now: DateTime<Utc>,
    ) -> Result<Self, QueryError> {
        let mut q = Self::default();
        for (k, v) in pairs {
            q.set(k, v, now)?;
        }
        Ok(q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_durations_back_or_rfc3339() {
        let now = DateTime::parse_from_rfc3339("2026-01-02T00:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(parse_time("1d", now).unwrap().to_rfc3339(), "2026-01-01T00:00:00+00:00");
        assert_eq!(
            parse_time("2025-12-31T12:00:00Z", now).unwrap().to_rfc3339(),
            "2025-12-31T12:00:00+00:00"
        );
        assert!(parse_time("yesterday", now).is_err());
    }

    #[test]
    fn pairs_set_filters_and_limits_are_bounded() {
        let now = Utc::now();
        let q = AuditQuery::from_pairs([("user", "alice"), ("limit", "999999"), ("x", "y")], now).unwrap();
        assert_eq!(q.user.as_deref(), Some("alice"));
        assert_eq!(q.limit, MAX_LIMIT);
        assert_eq!(AuditQuery::from_pairs([("limit", "z")], now).unwrap_err().param, "limit");
    }
}
