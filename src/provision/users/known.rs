//! Which Grafana user a SCIM user is, remembered by SCIM id and by userName, so that a read can
//! ask the store and Grafana at the same time instead of one after the other.
//!
//! A read needs the store's record (it says which Grafana user to ask for) and Grafana's copy of
//! that user. Asked in turn, a read waits for two round trips; with a guess of the Grafana id it
//! asks both at once ([`alongside`]) and waits for the slower. A guess only ever saves time: the
//! store's record stays the truth and the guess is checked against it, so a wrong one (a user
//! revived onto another Grafana user, a userName now held by someone else, by this replica or
//! another) costs one more Grafana read, never a wrong answer. Nothing is cached but the id
//! pairing: attributes, `meta` and Grafana's copy are read every time.
//!
//! Bounded by entries, not by the directory: a read of a user not remembered is the sequential
//! read it always was.

use std::future::Future;
use std::hash::{Hash, Hasher};

use crate::store::{name_key, UserRecord};

/// Most pairings remembered (each a few dozen bytes and moka's bookkeeping).
const CAPACITY: u64 = 20_000;

/// What a pairing is remembered by: the SCIM id, or a hash of the userName's key (a collision
/// is a wrong guess, which the check catches).
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Key {
    Id(u128),
    Name(u64),
}

impl Key {
    /// `None` for a string that is not a SCIM id (no read of it reaches the store).
    pub fn id(scim_id: &str) -> Option<Self> {
        uuid::Uuid::parse_str(scim_id).ok().map(|u| Self::Id(u.as_u128()))
    }

    pub fn name(user_name: &str) -> Self {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        name_key(user_name).hash(&mut h);
        Self::Name(h.finish())
    }
}

/// Remembered pairings of (org, SCIM id or userName) to Grafana user id.
#[derive(Debug)]
pub struct Known {
    ids: moka::future::Cache<(i64, Key), i64>,
}

impl Default for Known {
    fn default() -> Self {
        Self { ids: moka::future::Cache::builder().max_capacity(CAPACITY).build() }
    }
}

impl Known {
    /// The Grafana user last seen behind `key` in `org`.
    pub async fn guess(&self, org: i64, key: Option<Key>) -> Option<i64> {
        self.ids.get(&(org, key?)).await
    }

    /// Remembers `rec`'s Grafana user by its SCIM id and, for a managed record (the only ones
    /// a userName read finds by their record), by its userName.
    pub async fn remember(&self, rec: &UserRecord) {
        if let Some(id) = Key::id(&rec.scim_id) {
            self.ids.insert((rec.org_id, id), rec.grafana_user_id).await;
        }
        if rec.managed {
            self.ids.insert((rec.org_id, Key::name(&rec.user_name)), rec.grafana_user_id).await;
        }
    }

    /// Forgets what `key` was paired with (the store has nothing behind it).
    pub async fn forget_key(&self, org: i64, key: Option<Key>) {
        if let Some(key) = key {
            self.ids.invalidate(&(org, key)).await;
        }
    }

    /// Forgets `rec`'s pairings (its record is gone or hidden).
    pub async fn forget(&self, rec: &UserRecord) {
        if let Some(id) = Key::id(&rec.scim_id) {
            self.ids.invalidate(&(rec.org_id, id)).await;
        }
        self.ids.invalidate(&(rec.org_id, Key::name(&rec.user_name))).await;
    }
}

/// What [`alongside`] asked Grafana on a guess: the guessed id and the answer.
pub type Early<T> = Option<(i64, T)>;

/// Runs `store` and, when there is a `guess`, `grafana(guess)` at the same time. The caller
/// takes the early answer only when the record names the guessed user.
pub async fn alongside<S, G, F>(
    store: S,
    guess: Option<i64>,
    grafana: impl FnOnce(i64) -> F,
) -> (S::Output, Early<G>)
where
    S: Future,
    F: Future<Output = G>,
{
    match guess {
        Some(g) => {
            let (rec, early) = tokio::join!(store, grafana(g));
            (rec, Some((g, early)))
        }
        None => (store.await, None),
    }
}

/// The early answer when it is about `grafana_user_id`.
pub fn take_if<G>(early: Early<G>, grafana_user_id: i64) -> Option<G> {
    early.and_then(|(g, answer)| (g == grafana_user_id).then_some(answer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_keyed_case_insensitively_and_ids_only_when_they_parse() {
        assert_eq!(Key::name("Jane.Doe@Example.com"), Key::name("jane.doe@example.com"));
        assert_ne!(Key::name("jane"), Key::name("john"));
        assert!(Key::id("not-an-id").is_none());
        assert!(Key::id("7d9f8a52-3b1c-4e8f-9a6d-2c4b5e6f7a80").is_some());
    }

    #[tokio::test]
    async fn the_early_answer_is_taken_only_for_the_guessed_user() {
        let (rec, early) = alongside(async { 7 }, Some(7), |g| async move { g * 10 }).await;
        assert_eq!(take_if(early, rec), Some(70));
        let (rec, early) = alongside(async { 8 }, Some(7), |g| async move { g * 10 }).await;
        assert_eq!(take_if(early, rec), None, "a wrong guess is asked again");
        let (_, early) = alongside(async { 8 }, None, |g: i64| async move { g * 10 }).await;
        assert!(early.is_none(), "no guess, no early read");
    }

    #[tokio::test]
    async fn remembered_pairings_are_per_org_and_forgotten() {
        let known = Known::default();
        let rec = UserRecord {
            scim_id: "7d9f8a52-3b1c-4e8f-9a6d-2c4b5e6f7a80".into(),
            org_id: 1,
            grafana_user_id: 42,
            grafana_uid: None,
            user_name: "Jane".into(),
            external_id: None,
            email: None,
            active: true,
            deleted: false,
            managed: true,
            attributes: serde_json::Value::Null,
            restore: None,
            created: chrono::Utc::now(),
            last_modified: chrono::Utc::now(),
            version: 1,
        };
        known.remember(&rec).await;
        assert_eq!(known.guess(1, Key::id(&rec.scim_id)).await, Some(42));
        assert_eq!(known.guess(1, Some(Key::name("JANE"))).await, Some(42));
        assert_eq!(known.guess(2, Some(Key::name("jane"))).await, None, "another org");
        known.forget(&rec).await;
        assert_eq!(known.guess(1, Key::id(&rec.scim_id)).await, None);
        assert_eq!(known.guess(1, Some(Key::name("jane"))).await, None);
    }
}
