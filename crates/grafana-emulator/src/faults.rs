//! Fault injection: forced statuses on chosen routes, dropped connections, added latency and a
//! failing database for `/api/health`. Must not change stored state.

use std::time::Duration;

/// What to do with a request instead of answering it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer this status with a Grafana-shaped body.
    Status(u16),
    /// Close the connection without a response.
    Drop,
}

#[derive(Debug, Clone)]
struct Rule {
    method: String,
    prefix: String,
    fault: Fault,
    remaining: u32,
}

/// Active fault rules.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Vec<Rule>,
    /// Latency added before every request.
    pub latency: Duration,
    /// `/api/health` reports the database failing (503).
    pub health_failing: bool,
}

impl Faults {
    /// Adds a rule for `times` matching requests. `method` `*` matches any method.
    pub fn add(&mut self, method: &str, prefix: &str, fault: Fault, times: u32) {
        self.rules.push(Rule {
            method: method.to_ascii_uppercase(),
            prefix: prefix.to_string(),
            fault,
            remaining: times,
        });
    }

    /// Consumes the first matching rule.
    pub fn take(&mut self, method: &str, path: &str) -> Option<Fault> {
        let idx = self
            .rules
            .iter()
            .position(|r| (r.method == "*" || r.method == method) && path.starts_with(&r.prefix))?;
        let rule = &mut self.rules[idx];
        let fault = rule.fault;
        rule.remaining = rule.remaining.saturating_sub(1);
        if rule.remaining == 0 {
            self.rules.remove(idx);
        }
        Some(fault)
    }

    /// Removes every rule and the latency.
    pub fn clear(&mut self) {
        self.rules.clear();
        self.latency = Duration::ZERO;
        self.health_failing = false;
    }
}
