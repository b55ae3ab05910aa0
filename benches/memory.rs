//! Memory against the size of the directory (issue 30): the sidecar's resident set while an IdP
//! provisions and imports an org of N users, for several N in one run.
//!
//! Run with `cargo bench --bench memory` (optimised build). For each size (default 4,000, 40,000
//! and 100,000; `MEMORY_BENCH_SIZES=4000,40000` to change) a fresh emulator holds N/2 users made
//! directly in Grafana, and a fresh sidecar (the real `run()`, this binary re-executed, with an
//! SQLite file store unless `MEMORY_BENCH_STORE_URL` names another, empty, store) then:
//! 1. creates the other N/2 through SCIM (16 clients at once),
//! 2. imports the whole org as Okta and Entra do (one client, `startIndex += 100`, `count=100`),
//!    which gives the N/2 direct users their first SCIM records,
//! 3. reads 2,000 users by id and 2,000 by `userName eq`.
//!
//! It prints the sidecar's `VmRSS` after each step and its peak (`VmHWM`), and the growth per
//! user between sizes. Target: peak ≤ 50 MiB at 100,000 users and flat beyond (caches bounded by
//! size, not by the org). Nothing here is timed: resident memory is not what a noisy neighbour
//! changes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use grafana_emulator::{Emulator, EmulatorOptions};
use http::Method;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use scim_sidecar::config::{Config, Secret};
use serde_json::Value;
use support::target::{user, Http, Target};

mod support;

const TOKEN: &str = "bench-token-0123456789abcdef";
const CHILD_ENV: &str = "MEMORY_BENCH_CHILD";
const STORE_ENV: &str = "MEMORY_BENCH_STORE_URL";
const CLIENTS: usize = 16;
const SAMPLE: usize = 2000;

fn main() {
    if let Ok(grafana_url) = std::env::var(CHILD_ENV) {
        run_sidecar_child(grafana_url);
        return;
    }
    let sizes: Vec<usize> = std::env::var("MEMORY_BENCH_SIZES")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .filter(|v: &Vec<usize>| !v.is_empty())
        .unwrap_or_else(|| vec![4_000, 40_000, 100_000]);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        println!("memory benchmark: sizes {sizes:?}; the sidecar's VmRSS after each step, MiB");
        println!(
            "{:>8} {:>10} {:>10} {:>10} {:>10} {:>10}",
            "users", "started", "created", "imported", "read", "peak"
        );
        let mut peaks = Vec::new();
        for &n in &sizes {
            let row = one_size(n).await;
            println!(
                "{n:>8} {:>10.1} {:>10.1} {:>10.1} {:>10.1} {:>10.1}",
                row[0], row[1], row[2], row[3], row[4]
            );
            peaks.push((n, row[4]));
        }
        for pair in peaks.windows(2) {
            let ((n0, p0), (n1, p1)) = (pair[0], pair[1]);
            println!(
                "peak growth {n0} -> {n1} users: {:.1} MiB, {:.3} KiB per user",
                p1 - p0,
                (p1 - p0) * 1024.0 / (n1 - n0) as f64
            );
        }
    });
}

fn run_sidecar_child(grafana_url: String) {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let mut config = Config::default();
        config.grafana.url = grafana_url;
        config.scim.tokens = vec![Secret::new(TOKEN).into()];
        config.store.url = Secret::new(std::env::var(STORE_ENV).unwrap());
        config.log.level = "warn".into();
        support::serve_sidecar(config).await;
    });
}

fn mib(pid: u32) -> f64 {
    support::rss_kib(pid).0 as f64 / 1024.0
}

/// RSS after start, create, import, reads, and the peak, in MiB.
async fn one_size(n: usize) -> [f64; 5] {
    let grafana =
        Emulator::start(EmulatorOptions { brute_force_protection: false, ..EmulatorOptions::default() })
            .await
            .unwrap();
    let half = n / 2;
    for i in 0..half {
        let login = format!("d{i:07}@bench.example");
        grafana.try_create_user(&login, &login, &format!("d{i:07}"), Some(1)).unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let store = std::env::var(STORE_ENV)
        .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("memory.db").display()));
    let (mut child, addr) = support::spawn_child(false, &[(CHILD_ENV, &grafana.url()), (STORE_ENV, &store)]);
    let pid = child.id();
    let http: Http = Client::builder(TokioExecutor::new()).pool_max_idle_per_host(64).build_http();
    let scim =
        Arc::new(Target { http, base: format!("http://{addr}/scim/v2"), auth: format!("Bearer {TOKEN}") });
    let mut row = [0.0; 5];
    // Settle: the first request reads Grafana's settings and the policy.
    assert_eq!(scim.send(Method::GET, "/Users?count=1", None).await.0, 200);
    row[0] = mib(pid);

    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let (scim, next) = (scim.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n - half {
                    break;
                }
                let (s, _) = scim.send(Method::POST, "/Users", Some(&user(&format!("s{i:07}")))).await;
                assert_eq!(s, 201);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    row[1] = mib(pid);

    let mut start = 1;
    let mut ids = Vec::with_capacity(SAMPLE);
    loop {
        let (s, body) = scim.send(Method::GET, &format!("/Users?startIndex={start}&count=100"), None).await;
        assert_eq!(s, 200);
        let page: Value = serde_json::from_slice(&body).unwrap();
        let resources = page["Resources"].as_array().cloned().unwrap_or_default();
        for r in &resources {
            if ids.len() < SAMPLE && r["userName"].as_str().is_some_and(|u| u.starts_with('s')) {
                ids.push((r["id"].as_str().unwrap().to_owned(), r["userName"].as_str().unwrap().to_owned()));
            }
        }
        if resources.is_empty() || start + 100 > page["totalResults"].as_u64().unwrap_or(0) as usize {
            break;
        }
        start += 100;
    }
    row[2] = mib(pid);

    for (id, user_name) in &ids {
        assert_eq!(scim.send(Method::GET, &format!("/Users/{id}"), None).await.0, 200);
        let filter = format!("/Users?filter=userName%20eq%20%22{user_name}%22");
        assert_eq!(scim.send(Method::GET, &filter, None).await.0, 200);
    }
    row[3] = mib(pid);
    row[4] = support::rss_kib(pid).1 as f64 / 1024.0;
    support::stop_child(&mut child);
    row
}
