//! The user table: rows plus the secondary indexes Grafana's unique keys imply (login, email,
//! uid), and the search used by `/api/users/search`. Must not know about orgs, teams or sessions:
//! cascades live in `state.rs`.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};

use super::like::LikePattern;

/// A snapshot of one stored user.
#[derive(Clone)]
pub struct User {
    /// Numeric id.
    pub id: i64,
    /// Opaque uid.
    pub uid: String,
    /// Login, as stored.
    pub login: String,
    /// Email, as stored.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Password used by basic auth and `/login`; empty means "cannot log in with a password".
    pub password: String,
    /// Server admin flag.
    pub is_admin: bool,
    /// Disabled flag.
    pub is_disabled: bool,
    /// Active org (0 when the user has none).
    pub org_id: i64,
    /// External auth link (`user_auth.auth_module`), e.g. `auth.saml`.
    pub auth_module: Option<String>,
    /// Created by Grafana's own SCIM.
    pub is_provisioned: bool,
    /// Creation time.
    pub created: DateTime<Utc>,
    /// Last update time.
    pub updated: DateTime<Utc>,
    /// Last seen; creation minus ten years until a login.
    pub last_seen_at: DateTime<Utc>,
}

impl std::fmt::Debug for User {
    // The password stays out of debug output on purpose.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("uid", &self.uid)
            .field("login", &self.login)
            .field("email", &self.email)
            .field("name", &self.name)
            .field("is_admin", &self.is_admin)
            .field("is_disabled", &self.is_disabled)
            .field("org_id", &self.org_id)
            .field("auth_module", &self.auth_module)
            .finish()
    }
}

/// Sort keys of user search, applied in Grafana's fixed order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserSort {
    /// `login-asc` / `login-desc`.
    Login(bool),
    /// `email-*`.
    Email(bool),
    /// `name-*`.
    Name(bool),
    /// `lastSeenAtAge-*` (ascending age means most recent first).
    LastSeen(bool),
}

/// One sort column's value for one user, ordered the way that column sorts (lowercased text;
/// a descending column compares reversed).
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SortCell {
    /// Ascending text.
    Up(String),
    /// Descending text.
    Down(std::cmp::Reverse<String>),
    /// A time, oldest-last when ascending by age.
    Seen(std::cmp::Reverse<DateTime<Utc>>),
    /// A time, oldest-first.
    SeenReversed(DateTime<Utc>),
}

impl UserSort {
    /// This column's cell for `u`: computed once per user, so a sort of n users lowercases
    /// n strings instead of two per comparison.
    pub fn cell(self, u: &User) -> SortCell {
        let text = |s: &str, asc: bool| {
            let lower = s.to_lowercase();
            if asc {
                SortCell::Up(lower)
            } else {
                SortCell::Down(std::cmp::Reverse(lower))
            }
        };
        match self {
            UserSort::Login(asc) => text(&u.login, asc),
            UserSort::Email(asc) => text(&u.email, asc),
            UserSort::Name(asc) => text(&u.name, asc),
            UserSort::LastSeen(true) => SortCell::Seen(std::cmp::Reverse(u.last_seen_at)),
            UserSort::LastSeen(false) => SortCell::SeenReversed(u.last_seen_at),
        }
    }

    /// Every column's cell for `u`, in order.
    pub fn cells(keys: &[UserSort], u: &User) -> Vec<SortCell> {
        keys.iter().map(|k| k.cell(u)).collect()
    }
}

/// Indexed user storage.
#[derive(Default)]
pub struct Users {
    by_id: HashMap<i64, User>,
    by_login: BTreeMap<String, i64>,
    by_email: HashMap<String, i64>,
    by_uid: HashMap<String, i64>,
    next_id: i64,
}

/// Field values for a new user.
pub struct NewUser {
    /// Login (already defaulted).
    pub login: String,
    /// Email (already defaulted).
    pub email: String,
    /// Name.
    pub name: String,
    /// Password.
    pub password: String,
    /// Server admin.
    pub is_admin: bool,
    /// Active org.
    pub org_id: i64,
}

impl Users {
    /// Empty table; ids start at 1.
    pub fn new() -> Self {
        Users { next_id: 1, ..Default::default() }
    }

    /// Number of users.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Grafana's `LoginConflict`: email OR login already used (case-insensitive, no cross-check).
    pub fn conflicts(&self, login: &str, email: &str, except: Option<i64>) -> bool {
        let hit = |id: Option<&i64>| matches!(id, Some(id) if Some(*id) != except);
        hit(self.by_login.get(&login.to_lowercase())) || hit(self.by_email.get(&email.to_lowercase()))
    }

    /// Inserts a row; the caller has checked conflicts.
    pub fn insert(&mut self, n: NewUser, uid: String) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        let now = Utc::now();
        self.by_login.insert(n.login.to_lowercase(), id);
        self.by_email.insert(n.email.to_lowercase(), id);
        self.by_uid.insert(uid.clone(), id);
        self.by_id.insert(
            id,
            User {
                id,
                uid,
                login: n.login,
                email: n.email,
                name: n.name,
                password: n.password,
                is_admin: n.is_admin,
                is_disabled: false,
                org_id: n.org_id,
                auth_module: None,
                is_provisioned: false,
                created: now,
                updated: now,
                last_seen_at: now - Duration::days(3652),
            },
        );
        id
    }

    /// One user.
    pub fn get(&self, id: i64) -> Option<&User> {
        self.by_id.get(&id)
    }

    /// One user, mutable. Callers must not change login/email/uid through this (use `rename`).
    pub fn get_mut(&mut self, id: i64) -> Option<&mut User> {
        self.by_id.get_mut(&id)
    }

    /// Id for a uid.
    pub fn id_by_uid(&self, uid: &str) -> Option<i64> {
        self.by_uid.get(uid).copied()
    }

    /// Gives a user another uid (false when it is taken or the user is unknown).
    pub fn set_uid(&mut self, id: i64, uid: &str) -> bool {
        if self.by_uid.contains_key(uid) {
            return false;
        }
        let Some(user) = self.by_id.get_mut(&id) else { return false };
        self.by_uid.remove(&user.uid);
        user.uid = uid.to_string();
        self.by_uid.insert(uid.to_string(), id);
        true
    }

    /// Id for a login (case-insensitive).
    pub fn id_by_login(&self, login: &str) -> Option<i64> {
        self.by_login.get(&login.to_lowercase()).copied()
    }

    /// Id for an email (case-insensitive).
    pub fn id_by_email(&self, email: &str) -> Option<i64> {
        self.by_email.get(&email.to_lowercase()).copied()
    }

    /// `/api/users/lookup` matching: email first when the value has `@`, then login.
    pub fn lookup(&self, login_or_email: &str) -> Option<i64> {
        if login_or_email.is_empty() {
            return None;
        }
        if login_or_email.contains('@') {
            if let Some(id) = self.id_by_email(login_or_email) {
                return Some(id);
            }
        }
        self.id_by_login(login_or_email)
    }

    /// Changes login and email, keeping the indexes right.
    pub fn rename(&mut self, id: i64, login: String, email: String) {
        let Some(u) = self.by_id.get_mut(&id) else {
            return;
        };
        self.by_login.remove(&u.login.to_lowercase());
        self.by_email.remove(&u.email.to_lowercase());
        self.by_login.insert(login.to_lowercase(), id);
        self.by_email.insert(email.to_lowercase(), id);
        u.login = login;
        u.email = email;
        u.updated = Utc::now();
    }

    /// Removes a row and its index entries.
    pub fn remove(&mut self, id: i64) -> Option<User> {
        let u = self.by_id.remove(&id)?;
        self.by_login.remove(&u.login.to_lowercase());
        self.by_email.remove(&u.email.to_lowercase());
        self.by_uid.remove(&u.uid);
        Some(u)
    }

    /// Every user ordered by login.
    pub fn iter_by_login(&self) -> impl Iterator<Item = &User> {
        self.by_login.values().filter_map(|id| self.by_id.get(id))
    }

    /// Search: substring (`LIKE %q%`, so `%` and `_` are wildcards) on login, email or name;
    /// returns the total match count and the requested page. Linear in the table, never quadratic.
    pub fn search(
        &self,
        query: &str,
        sort: &[UserSort],
        page: usize,
        per_page: usize,
    ) -> (usize, Vec<&User>) {
        let pat = LikePattern::contains(query);
        let matches = |u: &&User| pat.matches(&u.login) || pat.matches(&u.email) || pat.matches(&u.name);
        let skip = page.saturating_sub(1).saturating_mul(per_page);
        if sort.is_empty() || sort == [UserSort::Login(true)] {
            // login index order is the default sort; tie on email cannot happen (logins unique)
            let mut total = 0;
            let mut out = Vec::new();
            for u in self.iter_by_login().filter(matches) {
                if total >= skip && out.len() < per_page {
                    out.push(u);
                }
                total += 1;
            }
            return (total, out);
        }
        let mut all: Vec<&User> = self.by_id.values().filter(matches).collect();
        all.sort_by_cached_key(|u| (UserSort::cells(sort, u), u.id));
        let total = all.len();
        let page: Vec<&User> = all.into_iter().skip(skip).take(per_page).collect();
        (total, page)
    }
}
