//! Groups at IdP scale, through the sidecar versus the equivalent direct Grafana calls (the
//! floor), in one run: G groups × M members, one B-member group pushed Okta-style (256 per
//! PATCH), a 256-member mixed PATCH, and listing at G teams. Prints wall time ratios and upstream
//! calls per operation. Not a timed test: numbers are for the report.
//!
//! Scale with `GROUPS_BENCH_GROUPS` (1000), `GROUPS_BENCH_MEMBERS` (50), `GROUPS_BENCH_BIG` (5000).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use grafana_emulator::{Emulator, EmulatorHandle, EmulatorOptions, VersionProfile};
use http_body_util::BodyExt;
use scim_sidecar::config::{Config, Secret};
use scim_sidecar::grafana::GrafanaClient;
use scim_sidecar::provision::identity::ensure_user_records;
use scim_sidecar::provision::translate::GrafanaUserView;
use serde_json::{json, Value};
use tokio::net::TcpListener;

const TOKEN: &str = "bench-scim-token-0123456789";
const PATCH_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

struct Scim {
    client: hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        scim_sidecar::body::Body,
    >,
    base: String,
}

impl Scim {
    async fn send(&self, method: http::Method, path: &str, body: Option<Value>) -> (u16, Option<Value>) {
        let req = http::Request::builder()
            .method(method)
            .uri(format!("{}/{path}", self.base))
            .header("authorization", format!("Bearer {TOKEN}"))
            .header("content-type", "application/scim+json")
            .body(body.map_or_else(scim_sidecar::body::empty, |b| scim_sidecar::body::full(b.to_string())))
            .unwrap();
        let res = self.client.request(req).await.unwrap();
        let status = res.status().as_u16();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).ok())
    }
}

fn report(label: &str, ops: usize, sidecar: Duration, sidecar_calls: u64, floor: Duration, floor_calls: u64) {
    let ratio = sidecar.as_secs_f64() / floor.as_secs_f64().max(1e-9);
    println!(
        "{label:<44} ops={ops:<5} sidecar={:>9.1}ms floor={:>9.1}ms ratio={ratio:>5.2} calls/op sidecar={:>6.2} floor={:>6.2}",
        sidecar.as_secs_f64() * 1e3,
        floor.as_secs_f64() * 1e3,
        sidecar_calls as f64 / ops.max(1) as f64,
        floor_calls as f64 / ops.max(1) as f64,
    );
}

async fn users(g: &EmulatorHandle, n: usize) -> Vec<(i64, String)> {
    (0..n)
        .map(|i| {
            let login = format!("bench{i}");
            let email = format!("{login}@example.com");
            (g.create_user(&login, &email, &login), email)
        })
        .collect()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let groups = env("GROUPS_BENCH_GROUPS", 1000);
    let per = env("GROUPS_BENCH_MEMBERS", 50);
    let big = env("GROUPS_BENCH_BIG", 5000).max(512);
    let grafana =
        Emulator::start(EmulatorOptions { version: VersionProfile::V12, ..EmulatorOptions::default() })
            .await
            .unwrap();
    // The pool has 256 users beyond the big group, for the mixed PATCH's adds.
    let pool = users(&grafana, big.max(per) + 256).await;
    let dir = tempfile::tempdir().unwrap();
    let store_url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let mut config = Config::default();
    config.server.listen = "127.0.0.1:0".into();
    config.admin.listen = "127.0.0.1:0".into();
    config.grafana.url = grafana.url();
    config.scim.tokens = vec![Secret::new(TOKEN).into()];
    config.store.url = Secret::new(store_url.clone());
    let direct = GrafanaClient::new(
        &config.grafana.url,
        &config.grafana.user,
        config.grafana.password.clone().unwrap_or_default(),
        scim_sidecar::upstream::build_client(&config.grafana).unwrap(),
        Duration::from_secs(60),
    )
    .unwrap();
    let public = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = public.local_addr().unwrap();
    let sidecar_cfg = config.clone();
    tokio::spawn(async move {
        scim_sidecar::run(sidecar_cfg, scim_sidecar::Listeners { public, admin }, std::future::pending())
            .await
            .unwrap();
    });
    let scim = Scim {
        client: hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build_http(),
        base: format!("http://{addr}/scim/v2"),
    };
    // SCIM ids for the pool (as if the IdP had provisioned the users).
    let store = scim_sidecar::store::open(&store_url, 2).await.unwrap();
    let views: Vec<GrafanaUserView> = pool
        .iter()
        .map(|(id, email)| GrafanaUserView {
            id: *id,
            uid: None,
            login: email.trim_end_matches("@example.com").into(),
            email: email.clone(),
            name: String::new(),
            disabled: false,
        })
        .collect();
    let recs = ensure_user_records(store.as_ref(), 1, &views).await.unwrap();
    let scim_ids: Vec<String> = pool.iter().map(|(id, _)| recs[id].scim_id.clone()).collect();
    let member_values = |from: usize, n: usize| -> Vec<Value> {
        (from..from + n).map(|i| json!({"value": scim_ids[i % scim_ids.len()]})).collect()
    };
    let emails = |from: usize, n: usize| -> Vec<String> {
        (from..from + n).map(|i| pool[i % pool.len()].1.clone()).collect()
    };
    println!(
        "groups bench: {groups} groups x {per} members, one {big}-member group (emulator 12.x, {} build)",
        if cfg!(debug_assertions) { "debug" } else { "optimised" }
    );

    // 1. G groups × M members: SCIM POST with members vs create_team + bulk PUT.
    grafana.reset_calls();
    let t = Instant::now();
    for i in 0..groups {
        let (s, _) = scim
            .send(
                http::Method::POST,
                "Groups",
                Some(json!({"displayName": format!("scim-{i:05}"), "members": member_values(i * 7, per)})),
            )
            .await;
        assert_eq!(s, 201);
    }
    let (sc_t, sc_c) = (t.elapsed(), grafana.call_count());
    grafana.reset_calls();
    let t = Instant::now();
    for i in 0..groups {
        let team = direct.create_team(1, &format!("floor-{i:05}"), "").await.unwrap();
        direct.set_team_members_bulk(1, team.team_id, &emails(i * 7, per), &[]).await.unwrap();
    }
    report("create group with members", groups, sc_t, sc_c, t.elapsed(), grafana.call_count());

    // 2. One big group pushed 256 members per PATCH.
    let (_, created) =
        scim.send(http::Method::POST, "Groups", Some(json!({"displayName":"big-scim","members":[]}))).await;
    let big_id = created.unwrap()["id"].as_str().unwrap().to_string();
    let floor_team = direct.create_team(1, "big-floor", "").await.unwrap().team_id;
    let batches = big.div_ceil(256);
    grafana.reset_calls();
    let t = Instant::now();
    for b in 0..batches {
        let n = 256.min(big - b * 256);
        let body = json!({"schemas":[PATCH_URN],"Operations":[{"op":"add","path":"members","value":member_values(b * 256, n)}]});
        let (s, _) = scim.send(http::Method::PATCH, &format!("Groups/{big_id}"), Some(body)).await;
        assert_eq!(s, 204);
    }
    let (sc_t, sc_c) = (t.elapsed(), grafana.call_count());
    grafana.reset_calls();
    let t = Instant::now();
    for b in 0..batches {
        let n = 256.min(big - b * 256);
        direct.team_members(1, floor_team).await.unwrap();
        direct.set_team_members_bulk(1, floor_team, &emails(0, b * 256 + n), &[]).await.unwrap();
    }
    report(
        &format!("{big}-member group, 256 per PATCH"),
        batches,
        sc_t,
        sc_c,
        t.elapsed(),
        grafana.call_count(),
    );

    // 3. A 256-member PATCH mixing removes and adds on the big group.
    let mut ops: Vec<Value> = (0..128)
        .map(|i| json!({"op":"remove","path":format!("members[value eq \"{}\"]", scim_ids[i])}))
        .collect();
    ops.push(json!({"op":"add","path":"members","value":member_values(big, 128)}));
    grafana.reset_calls();
    let t = Instant::now();
    let (s, _) = scim
        .send(
            http::Method::PATCH,
            &format!("Groups/{big_id}"),
            Some(json!({"schemas":[PATCH_URN],"Operations":ops})),
        )
        .await;
    assert_eq!(s, 204);
    let (sc_t, sc_c) = (t.elapsed(), grafana.call_count());
    grafana.reset_calls();
    let t = Instant::now();
    direct.team_members(1, floor_team).await.unwrap();
    direct.set_team_members_bulk(1, floor_team, &emails(128, big), &[]).await.unwrap();
    report("256-member mixed PATCH (big group)", 1, sc_t, sc_c, t.elapsed(), grafana.call_count());

    // 4. Listing at G teams (2G + 2 teams exist).
    for (label, q) in [
        ("GET /Groups?excludedAttributes=members&count=100", "Groups?excludedAttributes=members&count=100"),
        (
            "GET /Groups?excludedAttributes=members&startIndex=951&count=100",
            "Groups?excludedAttributes=members&startIndex=951&count=100",
        ),
        ("GET /Groups?count=100 (with members)", "Groups?count=100"),
    ] {
        grafana.reset_calls();
        let t = Instant::now();
        let (s, _) = scim.send(http::Method::GET, q, None).await;
        assert_eq!(s, 200);
        let (sc_t, sc_c) = (t.elapsed(), grafana.call_count());
        grafana.reset_calls();
        let t = Instant::now();
        let page = direct.search_teams(1, None, None, 1, 100).await.unwrap();
        if q == "Groups?count=100" {
            for team in &page.teams {
                direct.team_members(1, team.id).await.unwrap();
            }
        }
        report(label, 1, sc_t, sc_c, t.elapsed(), grafana.call_count());
    }
    let q = format!("Groups?excludedAttributes=members&filter=displayName+eq+%22SCIM-{:05}%22", groups / 2);
    let (s, body) = scim.send(http::Method::GET, &q, None).await;
    assert_eq!(s, 200);
    assert_eq!(body.unwrap()["totalResults"], 1);
}
