//! Group scenario helpers: a harness whose store file the test can also open (to give SCIM ids to
//! users created directly in the emulator), and member-set assertions.

use std::collections::BTreeSet;
use std::sync::Arc;

use grafana_emulator::{EmulatorOptions, VersionProfile};
use scim_sidecar::config::Secret;
use scim_sidecar::provision::identity::ensure_user_records;
use scim_sidecar::provision::translate::GrafanaUserView;
use scim_sidecar::store::MappingStore;
use serde_json::{json, Value};

use crate::support::scim::Harness;

pub const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const PATCH_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

pub struct Groups {
    pub h: Harness,
    pub store: Arc<dyn MappingStore>,
    _dir: tempfile::TempDir,
}

impl Groups {
    pub async fn start(version: VersionProfile) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("map.db").display());
        let opts = EmulatorOptions { version, ..EmulatorOptions::default() };
        let u = url.clone();
        let h = Harness::start_with(opts, move |c| c.store.url = Secret::new(u)).await;
        let store = scim_sidecar::store::open(&url, 2).await.unwrap();
        Self { h, store, _dir: dir }
    }

    /// Creates `n` Grafana users (in org 1) and returns (grafana id, SCIM id) pairs.
    pub async fn users(&self, prefix: &str, n: usize) -> Vec<(i64, String)> {
        let mut views = Vec::with_capacity(n);
        for i in 0..n {
            let login = format!("{prefix}{i}");
            let id =
                self.h.grafana.create_user(&login, &format!("{login}@example.com"), &format!("User {login}"));
            views.push(GrafanaUserView {
                id,
                uid: None,
                login: login.clone(),
                email: format!("{login}@example.com"),
                name: format!("User {login}"),
                disabled: false,
            });
        }
        self.record(1, &views).await
    }

    pub async fn record(&self, org: i64, views: &[GrafanaUserView]) -> Vec<(i64, String)> {
        let recs = ensure_user_records(self.store.as_ref(), org, views).await.unwrap();
        views.iter().map(|v| (v.id, recs[&v.id].scim_id.clone())).collect()
    }

    /// The Grafana team behind group `scim_id` (via `externalId`-free lookup by name).
    pub fn team_id(&self, name: &str) -> i64 {
        self.h.grafana.team_by_name(1, name).unwrap_or_else(|| panic!("no team {name}")).id
    }

    /// Grafana's member ids of a team.
    pub fn member_ids(&self, team: i64) -> BTreeSet<i64> {
        self.h.grafana.team_members(team).into_iter().map(|(u, _)| u).collect()
    }

    pub async fn create(&self, body: Value) -> String {
        let a = self.h.post("Groups", body).await;
        assert_eq!(a.status, 201, "{a:?}");
        a.json()["id"].as_str().unwrap().to_string()
    }

    pub async fn patch_ok(&self, id: &str, ops: Value) {
        let a = self.h.patch(&format!("Groups/{id}"), json!({"schemas":[PATCH_URN],"Operations":ops})).await;
        assert_eq!(a.status, 204, "{a:?}");
    }
}

pub fn ids(pairs: &[(i64, String)]) -> BTreeSet<i64> {
    pairs.iter().map(|(g, _)| *g).collect()
}

pub fn values(pairs: &[(i64, String)]) -> Vec<Value> {
    pairs.iter().map(|(_, s)| json!({"value": s})).collect()
}
