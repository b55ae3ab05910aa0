//! The outcome of one policy check and the state report built from all of them.

use serde::Serialize;

/// Whether a condition holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", content = "reason", rename_all = "lowercase")]
pub enum Verdict {
    /// The condition holds.
    Satisfied,
    /// The condition does not hold; the reason names it and the fix.
    Violated(String),
    /// Grafana could not be asked or did not answer clearly. SCIM writes fail closed.
    Undetermined(String),
}

impl Verdict {
    pub fn is_satisfied(&self) -> bool {
        matches!(self, Verdict::Satisfied)
    }

    /// The gauge value: 1 satisfied, 0 violated, -1 undetermined.
    pub fn gauge(&self) -> i64 {
        match self {
            Verdict::Satisfied => 1,
            Verdict::Violated(_) => 0,
            Verdict::Undetermined(_) => -1,
        }
    }

    /// The reason, when the condition does not hold.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Verdict::Satisfied => None,
            Verdict::Violated(r) | Verdict::Undetermined(r) => Some(r),
        }
    }

    /// A short label for logs and reports.
    pub fn label(&self) -> &'static str {
        match self {
            Verdict::Satisfied => "satisfied",
            Verdict::Violated(_) => "violated",
            Verdict::Undetermined(_) => "undetermined",
        }
    }
}
