//! Session cookies (`grafana_session`, i.e. Grafana's user auth tokens) and service-account
//! tokens. Must not decide authorisation: `auth.rs` does.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};

use super::orgs::Role;

/// One user auth token (a browser session).
#[derive(Debug, Clone)]
pub struct Session {
    /// Auth token id (`authTokenId`).
    pub id: i64,
    /// Owner.
    pub user_id: i64,
    /// Created.
    pub created: DateTime<Utc>,
}

/// A service-account token.
#[derive(Debug, Clone)]
pub struct SaToken {
    /// Synthetic service-account id.
    pub sa_id: i64,
    /// The one org the service account belongs to.
    pub org_id: i64,
    /// Its org role.
    pub role: Role,
    /// Explicit `(action, scope)` grants; `None` means "derive from the role".
    pub permissions: Option<Vec<(String, String)>>,
    /// Revoked tokens answer `api-key.revoked`.
    pub revoked: bool,
    /// Expired tokens answer `api-key.expired`.
    pub expired: bool,
}

/// Sessions and tokens.
#[derive(Default)]
pub struct Sessions {
    sessions: HashMap<String, Session>,
    by_user: HashMap<i64, BTreeSet<String>>,
    tokens: HashMap<String, SaToken>,
    login_failures: HashMap<String, Vec<DateTime<Utc>>>,
    next_session: i64,
    next_sa: i64,
}

impl Sessions {
    /// Empty store.
    pub fn new() -> Self {
        Sessions { next_session: 1, next_sa: 1_000_000_000, ..Default::default() }
    }

    /// Creates a session for a user and returns the cookie value.
    pub fn create(&mut self, user_id: i64, cookie: String) -> String {
        let id = self.next_session;
        self.next_session += 1;
        self.sessions.insert(cookie.clone(), Session { id, user_id, created: Utc::now() });
        self.by_user.entry(user_id).or_default().insert(cookie.clone());
        cookie
    }

    /// The session behind a cookie value.
    pub fn get(&self, cookie: &str) -> Option<&Session> {
        self.sessions.get(cookie)
    }

    /// Sessions of one user.
    pub fn of_user(&self, user_id: i64) -> Vec<&Session> {
        let mut v: Vec<&Session> = self
            .by_user
            .get(&user_id)
            .map(|s| s.iter().filter_map(|c| self.sessions.get(c)).collect())
            .unwrap_or_default();
        v.sort_by_key(|s| s.id);
        v
    }

    /// Revokes every session of a user; returns how many.
    pub fn revoke_user(&mut self, user_id: i64) -> usize {
        let cookies = self.by_user.remove(&user_id).unwrap_or_default();
        for c in &cookies {
            self.sessions.remove(c);
        }
        cookies.len()
    }

    /// Revokes one session by auth token id; false when not the user's.
    pub fn revoke_one(&mut self, user_id: i64, token_id: i64) -> bool {
        let found = self
            .sessions
            .iter()
            .find(|(_, s)| s.user_id == user_id && s.id == token_id)
            .map(|(c, _)| c.clone());
        let Some(cookie) = found else {
            return false;
        };
        self.sessions.remove(&cookie);
        if let Some(set) = self.by_user.get_mut(&user_id) {
            set.remove(&cookie);
        }
        true
    }

    /// Registers a service-account token.
    pub fn add_token(
        &mut self,
        token: String,
        org_id: i64,
        role: Role,
        permissions: Option<Vec<(String, String)>>,
    ) -> String {
        let sa_id = self.next_sa;
        self.next_sa += 1;
        self.tokens.insert(
            token.clone(),
            SaToken { sa_id, org_id, role, permissions, revoked: false, expired: false },
        );
        token
    }

    /// A token.
    pub fn token(&self, token: &str) -> Option<&SaToken> {
        self.tokens.get(token)
    }

    /// A token, mutable (revoke / expire hooks).
    pub fn token_mut(&mut self, token: &str) -> Option<&mut SaToken> {
        self.tokens.get_mut(token)
    }

    /// Brute-force lock: five failures for a username within five minutes (Grafana's defaults).
    pub fn login_blocked(&self, username: &str) -> bool {
        let since = Utc::now() - chrono::Duration::minutes(5);
        self.login_failures
            .get(&username.to_lowercase())
            .map(|v| v.iter().filter(|t| **t > since).count() >= 5)
            .unwrap_or(false)
    }

    /// Records a failed password login.
    pub fn record_login_failure(&mut self, username: &str) {
        let list = self.login_failures.entry(username.to_lowercase()).or_default();
        list.push(Utc::now());
        // only the recent window matters; keep the list short
        if list.len() > 16 {
            list.remove(0);
        }
    }

    /// Clears failed logins (successful login, password reset, test hook).
    pub fn reset_login_failures(&mut self, username: &str) {
        self.login_failures.remove(&username.to_lowercase());
    }
}
