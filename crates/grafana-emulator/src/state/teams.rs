//! Teams, team members and team-sync groups, indexed by id, uid, `(org, name)` and user for
//! cascades. Must not know about users' fields or HTTP; rendering lives in `dto`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};

use super::like::LikePattern;

/// Team permission: Member.
pub const MEMBER: i64 = 0;
/// Team permission: Admin.
pub const ADMIN: i64 = 4;

/// A snapshot of one team.
#[derive(Debug, Clone)]
pub struct Team {
    /// Id.
    pub id: i64,
    /// Uid.
    pub uid: String,
    /// Org.
    pub org_id: i64,
    /// Name (unique per org, case-sensitive like SQLite/PostgreSQL).
    pub name: String,
    /// Email, `""` if unset.
    pub email: String,
    /// Set by Grafana's SCIM only.
    pub external_uid: String,
    /// Created by Grafana's SCIM.
    pub is_provisioned: bool,
    /// Created.
    pub created: DateTime<Utc>,
    /// Updated.
    pub updated: DateTime<Utc>,
}

/// One membership row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Membership {
    /// 0 Member, 4 Admin.
    pub permission: i64,
    /// Written by team sync.
    pub external: bool,
}

/// Team sort keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TeamSort {
    /// `name-*`.
    Name(bool),
    /// `email-*`.
    Email(bool),
    /// `memberCount-*`.
    MemberCount(bool),
}

/// Team storage.
#[derive(Default)]
pub struct Teams {
    by_id: HashMap<i64, Team>,
    by_uid: HashMap<String, i64>,
    by_name: BTreeSet<(i64, String, i64)>,
    exact: HashMap<(i64, String), i64>,
    members: HashMap<i64, BTreeMap<i64, Membership>>,
    user_teams: HashMap<i64, BTreeSet<i64>>,
    groups: HashMap<i64, Vec<String>>,
    next_id: i64,
}

impl Teams {
    /// Empty; ids start at 1.
    pub fn new() -> Self {
        Teams { next_id: 1, ..Default::default() }
    }

    /// Number of teams.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Id of the team with exactly this name in the org.
    pub fn id_by_name(&self, org: i64, name: &str) -> Option<i64> {
        self.exact.get(&(org, name.to_string())).copied()
    }

    /// Creates a team; `None` when the name is taken in the org.
    pub fn create(&mut self, org: i64, name: &str, email: &str, uid: String) -> Option<i64> {
        if self.id_by_name(org, name).is_some() {
            return None;
        }
        let id = self.next_id;
        self.next_id += 1;
        let now = Utc::now();
        self.exact.insert((org, name.to_string()), id);
        self.by_name.insert((org, name.to_string(), id));
        self.by_uid.insert(uid.clone(), id);
        self.by_id.insert(
            id,
            Team {
                id,
                uid,
                org_id: org,
                name: name.to_string(),
                email: email.to_string(),
                external_uid: String::new(),
                is_provisioned: false,
                created: now,
                updated: now,
            },
        );
        Some(id)
    }

    /// One team.
    pub fn get(&self, id: i64) -> Option<&Team> {
        self.by_id.get(&id)
    }

    /// Mutable team (not for renames).
    pub fn get_mut(&mut self, id: i64) -> Option<&mut Team> {
        self.by_id.get_mut(&id)
    }

    /// Id for a uid.
    pub fn id_by_uid(&self, uid: &str) -> Option<i64> {
        self.by_uid.get(uid).copied()
    }

    /// Renames; false when the new name is taken by another team of the org.
    pub fn update(&mut self, id: i64, name: &str, email: &str) -> bool {
        let Some(t) = self.by_id.get(&id) else {
            return false;
        };
        let org = t.org_id;
        if matches!(self.id_by_name(org, name), Some(other) if other != id) {
            return false;
        }
        let old = t.name.clone();
        self.exact.remove(&(org, old.clone()));
        self.by_name.remove(&(org, old, id));
        self.exact.insert((org, name.to_string()), id);
        self.by_name.insert((org, name.to_string(), id));
        if let Some(t) = self.by_id.get_mut(&id) {
            t.name = name.to_string();
            t.email = email.to_string();
            t.updated = Utc::now();
        }
        true
    }

    /// Deletes a team with its memberships and groups.
    pub fn delete(&mut self, id: i64) -> Option<Team> {
        let t = self.by_id.remove(&id)?;
        self.exact.remove(&(t.org_id, t.name.clone()));
        self.by_name.remove(&(t.org_id, t.name.clone(), id));
        self.by_uid.remove(&t.uid);
        self.groups.remove(&id);
        for user in self.members.remove(&id).unwrap_or_default().into_keys() {
            self.unindex(user, id);
        }
        Some(t)
    }

    fn unindex(&mut self, user: i64, team: i64) {
        if let Some(set) = self.user_teams.get_mut(&user) {
            set.remove(&team);
            if set.is_empty() {
                self.user_teams.remove(&user);
            }
        }
    }

    /// Members of a team.
    pub fn members(&self, team: i64) -> Vec<(i64, Membership)> {
        self.members.get(&team).map(|m| m.iter().map(|(u, p)| (*u, *p)).collect()).unwrap_or_default()
    }

    /// Member count.
    pub fn member_count(&self, team: i64) -> usize {
        self.members.get(&team).map(|m| m.len()).unwrap_or(0)
    }

    /// The name of the `iam.grafana.app` team binding for one membership. Grafana names a
    /// binding by the membership row's generated UID; the emulator derives one it can parse back.
    pub fn binding_name(team: i64, user: i64) -> String {
        format!("tm-{team}-{user}")
    }

    /// The team and user of a binding name from [`Teams::binding_name`], when that membership exists.
    pub fn binding(&self, name: &str) -> Option<(i64, i64)> {
        let (team, user) = name.strip_prefix("tm-")?.split_once('-')?;
        let (team, user) = (team.parse().ok()?, user.parse().ok()?);
        self.membership(team, user).map(|_| (team, user))
    }

    /// One membership.
    pub fn membership(&self, team: i64, user: i64) -> Option<Membership> {
        self.members.get(&team)?.get(&user).copied()
    }

    /// Adds or replaces a membership.
    pub fn set_member(&mut self, team: i64, user: i64, m: Membership) {
        self.members.entry(team).or_default().insert(user, m);
        self.user_teams.entry(user).or_default().insert(team);
    }

    /// Removes a membership; true when it existed.
    pub fn remove_member(&mut self, team: i64, user: i64) -> bool {
        let removed = self.members.get_mut(&team).map(|m| m.remove(&user).is_some()).unwrap_or(false);
        self.unindex(user, team);
        removed
    }

    /// Teams of a user (all orgs).
    pub fn teams_of(&self, user: i64) -> Vec<i64> {
        self.user_teams.get(&user).map(|s| s.iter().copied().collect()).unwrap_or_default()
    }

    /// Drops a user from every team, or only from the teams of one org.
    pub fn remove_user(&mut self, user: i64, org: Option<i64>) {
        for team in self.teams_of(user) {
            let in_org = self.by_id.get(&team).map(|t| Some(t.org_id) == org).unwrap_or(false);
            if org.is_none() || in_org {
                self.remove_member(team, user);
            }
        }
    }

    /// Team-sync groups of a team.
    pub fn groups(&self, team: i64) -> Vec<String> {
        self.groups.get(&team).cloned().unwrap_or_default()
    }

    /// Adds a group; false when already present.
    pub fn add_group(&mut self, team: i64, group: &str) -> bool {
        let g = self.groups.entry(team).or_default();
        if g.iter().any(|x| x == group) {
            return false;
        }
        g.push(group.to_string());
        true
    }

    /// Removes a group; false when absent.
    pub fn remove_group(&mut self, team: i64, group: &str) -> bool {
        let Some(g) = self.groups.get_mut(&team) else {
            return false;
        };
        let before = g.len();
        g.retain(|x| x != group);
        before != g.len()
    }

    /// Team search within an org. `name` filters exactly (case-insensitive when `name_ci`).
    #[allow(clippy::too_many_arguments)]
    pub fn search(
        &self,
        org: i64,
        query: &str,
        name: Option<&str>,
        name_ci: bool,
        ids: &[i64],
        sort: &[TeamSort],
        page: usize,
        per_page: usize,
    ) -> (usize, Vec<&Team>) {
        let pat = LikePattern::contains(query);
        let name_lc = name.map(str::to_lowercase);
        let keep = |t: &&Team| {
            pat.matches(&t.name)
                && match (name, &name_lc) {
                    (Some(n), Some(lc)) => {
                        if name_ci {
                            t.name.to_lowercase() == *lc
                        } else {
                            t.name == n
                        }
                    }
                    _ => true,
                }
                && (ids.is_empty() || ids.contains(&t.id))
        };
        let range = (org, String::new(), i64::MIN)..(org + 1, String::new(), i64::MIN);
        let mut hits: Vec<&Team> =
            self.by_name.range(range).filter_map(|(_, _, id)| self.by_id.get(id)).filter(keep).collect();
        if !sort.is_empty() {
            hits.sort_by(|a, b| {
                let mut ord = std::cmp::Ordering::Equal;
                for key in sort {
                    let (o, asc) = match key {
                        TeamSort::Name(asc) => (a.name.to_lowercase().cmp(&b.name.to_lowercase()), *asc),
                        TeamSort::Email(asc) => (a.email.to_lowercase().cmp(&b.email.to_lowercase()), *asc),
                        TeamSort::MemberCount(asc) => {
                            (self.member_count(a.id).cmp(&self.member_count(b.id)), *asc)
                        }
                    };
                    ord = ord.then(if asc { o } else { o.reverse() });
                }
                ord.then(a.id.cmp(&b.id))
            });
        }
        let total = hits.len();
        let skip = page.saturating_sub(1).saturating_mul(per_page);
        (total, hits.into_iter().skip(skip).take(per_page).collect())
    }
}
