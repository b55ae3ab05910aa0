//! Organisations and org membership (`org_user` rows) with a user → orgs index for cascades.
//! Must not touch teams or users: `state.rs` composes the cascades.

use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A basic org role. Role strings are case-sensitive, as in Grafana.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// No basic role.
    None,
    /// Viewer.
    Viewer,
    /// Editor.
    Editor,
    /// Admin.
    Admin,
}

impl Role {
    /// Parses `None`, `Viewer`, `Editor`, `Admin` exactly.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "None" => Some(Role::None),
            "Viewer" => Some(Role::Viewer),
            "Editor" => Some(Role::Editor),
            "Admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// The wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::None => "None",
            Role::Viewer => "Viewer",
            Role::Editor => "Editor",
            Role::Admin => "Admin",
        }
    }
}

/// One organisation.
#[derive(Debug, Clone)]
pub struct Org {
    /// Id.
    pub id: i64,
    /// Name (unique).
    pub name: String,
    /// Members and their roles.
    pub members: BTreeMap<i64, Role>,
}

/// Org storage.
#[derive(Default)]
pub struct Orgs {
    by_id: BTreeMap<i64, Org>,
    by_name: HashMap<String, i64>,
    user_orgs: HashMap<i64, BTreeSet<i64>>,
    next_id: i64,
}

impl Orgs {
    /// Empty; ids start at 1.
    pub fn new() -> Self {
        Orgs { next_id: 1, ..Default::default() }
    }

    /// Creates an org; `None` when the name is taken (case-insensitive).
    pub fn create(&mut self, name: &str) -> Option<i64> {
        let key = name.to_lowercase();
        if self.by_name.contains_key(&key) {
            return None;
        }
        let id = self.next_id;
        self.next_id += 1;
        self.by_name.insert(key, id);
        self.by_id.insert(id, Org { id, name: name.to_string(), members: BTreeMap::new() });
        Some(id)
    }

    /// One org.
    pub fn get(&self, id: i64) -> Option<&Org> {
        self.by_id.get(&id)
    }

    /// Id by name.
    pub fn id_by_name(&self, name: &str) -> Option<i64> {
        self.by_name.get(&name.to_lowercase()).copied()
    }

    /// Every org.
    pub fn all(&self) -> impl Iterator<Item = &Org> {
        self.by_id.values()
    }

    /// Role of a user in an org.
    pub fn role(&self, org: i64, user: i64) -> Option<Role> {
        self.by_id.get(&org)?.members.get(&user).copied()
    }

    /// Adds or replaces a membership; false when the org is missing.
    pub fn set_member(&mut self, org: i64, user: i64, role: Role) -> bool {
        let Some(o) = self.by_id.get_mut(&org) else {
            return false;
        };
        o.members.insert(user, role);
        self.user_orgs.entry(user).or_default().insert(org);
        true
    }

    /// Removes a membership; true when there was one.
    pub fn remove_member(&mut self, org: i64, user: i64) -> bool {
        let removed = self.by_id.get_mut(&org).map(|o| o.members.remove(&user).is_some()).unwrap_or(false);
        if let Some(set) = self.user_orgs.get_mut(&user) {
            set.remove(&org);
            if set.is_empty() {
                self.user_orgs.remove(&user);
            }
        }
        removed
    }

    /// Orgs of a user.
    pub fn orgs_of(&self, user: i64) -> Vec<i64> {
        self.user_orgs.get(&user).map(|s| s.iter().copied().collect()).unwrap_or_default()
    }

    /// Number of admins in an org.
    pub fn admin_count(&self, org: i64) -> usize {
        self.by_id.get(&org).map(|o| o.members.values().filter(|r| **r == Role::Admin).count()).unwrap_or(0)
    }

    /// Drops every membership of a user.
    pub fn remove_user(&mut self, user: i64) {
        for org in self.orgs_of(user) {
            self.remove_member(org, user);
        }
    }
}
