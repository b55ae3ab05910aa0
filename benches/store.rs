//! The store's cost of a page of first sightings: a hundred Grafana users an IdP's import lists
//! for the first time, recorded in one `insert_users` batch (one transaction) in an SQLite file
//! that already holds 20,000 such rows. And the cost of creates: a hundred managed users, as
//! `POST /Users` records them, one `insert_user` (one commit) after another.
//!
//! Two stores are measured in the same run: one at the current schema, and one whose
//! `externalId` and email indexes are put back as schema step 4 had them (over every row, where
//! step 5 keeps only rows with an `externalId` and managed rows). Criterion prints each; their
//! ratio is what step 5 saves per page. The WAL is checkpointed by the store's own thread, beside
//! the measured batches, as in the sidecar.
//!
//! `cargo bench --bench store`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};

use scim_sidecar::provision::identity::unmanaged_user_record;
use scim_sidecar::provision::translate::GrafanaUserView;
use scim_sidecar::store::{self, MappingStore, UserRecord};
use serde_json::json;

const PAGE: usize = 100;
const PREFILL: usize = 20_000;

/// Step 4's indexes on `externalId` and email, over every row.
const STEP_4_INDEXES: &str = "
DROP INDEX scim_users_external_id_uq;
CREATE UNIQUE INDEX scim_users_external_id_uq ON scim_users (external_id, org_id);
DROP INDEX scim_users_email_idx;
CREATE INDEX scim_users_email_idx ON scim_users (email);";

/// Grafana's view of user `id`, as an org-users search lists it.
fn view(id: i64) -> GrafanaUserView {
    GrafanaUserView {
        id,
        uid: Some(format!("u{id:07}")),
        login: format!("user{id:07}"),
        email: format!("user{id:07}@example.com"),
        name: format!("User {id}"),
        disabled: false,
    }
}

struct Bench {
    store: std::sync::Arc<dyn MappingStore>,
    next_id: i64,
    _dir: tempfile::TempDir,
}

impl Bench {
    fn open(rt: &tokio::runtime::Runtime, step_4: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let url = format!("sqlite://{}", path.display());
        // Migrate, then (for the step-4 store) put the old indexes back before any row exists.
        drop(rt.block_on(store::open(&url, 4)).unwrap());
        if step_4 {
            rusqlite::Connection::open(&path).unwrap().execute_batch(STEP_4_INDEXES).unwrap();
        }
        let store = rt.block_on(store::open(&url, 4)).unwrap();
        let mut bench = Self { store, next_id: 1, _dir: dir };
        for _ in 0..PREFILL / PAGE {
            rt.block_on(bench.page());
        }
        bench
    }

    /// Records 100 managed users one at a time, as 100 creates do.
    async fn creates(&mut self) {
        for _ in 0..PAGE {
            let record = managed(self.next_id);
            self.next_id += 1;
            self.store.insert_user(&record).await.unwrap();
        }
    }

    /// Records one page of first sightings.
    async fn page(&mut self) {
        let records: Vec<_> =
            (0..PAGE as i64).map(|i| unmanaged_user_record(1, &view(self.next_id + i))).collect();
        self.next_id += PAGE as i64;
        let outcomes = self.store.insert_users(&records).await.unwrap();
        assert!(outcomes.iter().all(Result::is_ok));
    }
}

fn first_sightings(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let mut group = c.benchmark_group("first_sightings_page_of_100");
    for (name, step_4) in [("schema_now", false), ("step_4_indexes", true)] {
        let mut bench = Bench::open(&rt, step_4);
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    let start = Instant::now();
                    rt.block_on(bench.page());
                    spent += start.elapsed();
                }
                spent
            })
        });
    }
    group.finish();
}

/// The record `POST /Users` writes for a new user `id`.
fn managed(id: i64) -> UserRecord {
    let mut record = unmanaged_user_record(1, &view(id));
    let user_name = format!("user{id:07}@example.com");
    record.managed = true;
    record.external_id = Some(format!("ext-{id:07}"));
    record.email = Some(user_name.clone());
    record.attributes = json!({
        "userName": user_name,
        "externalId": format!("ext-{id:07}"),
        "name": {"givenName": "Bench", "familyName": format!("User {id}")},
        "emails": [{"value": user_name, "type": "work", "primary": true}],
        "active": true
    });
    record.user_name = user_name;
    record
}

fn managed_creates(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let mut bench = Bench::open(&rt, false);
    c.bench_function("managed_creates_x100", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                rt.block_on(bench.creates());
            }
            start.elapsed()
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(Duration::from_secs(8));
    targets = first_sightings, managed_creates
}
criterion_main!(benches);
