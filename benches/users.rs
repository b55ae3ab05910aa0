//! Provisioning benchmark (not a timed test): N users (default 10,000, `USERS_BENCH_N`) created
//! through the sidecar's SCIM API and, in the same run, the equivalent Grafana API calls made
//! directly (the floor: one `POST /api/admin/users` per user, one `GET /api/users/:id` per read,
//! one org-user search per lookup or page). Pages are listed twice: first while the listed users
//! (made directly in Grafana) have no SCIM records yet, so each page records 100 ids, then again;
//! once 10 pages at a time (a load test: pages queue behind one another in the emulator), once by
//! one importer that asks for the next page when it has read the last (how Okta and Entra import,
//! so the added p99 is the sidecar's own time), over a second org holding as many users.
//!
//! Run with `cargo bench --bench users`. Prints the wall-time ratio (target ≤ 1.3×), upstream
//! calls per operation from the emulator's call log (create ≤ 3, GET by id 1, userName eq filter
//! ≤ 2, a page of 100 ≤ 3) and the sidecar's added p99 per operation (target ≤ 5 ms). Emulator,
//! sidecar and load generator share the machine, so ratios include CPU contention. Each
//! operation runs in alternating rounds (sidecar, direct, direct, sidecar, …) whose times are
//! summed, so that noise from neighbours on a shared machine falls on both sides alike.
//!
//! The emulator answers in microseconds, which no real Grafana does (it hashes a password on
//! create and talks to its database on every call). `USERS_BENCH_GRAFANA_LATENCY_MS` (default 0)
//! adds that much latency to every emulator answer, for the floor and the sidecar alike, to model
//! a real Grafana; the header line says which model a run used. `USERS_BENCH_STORE_URL` points the
//! sidecar at another store (e.g. `postgres://postgres@127.0.0.1:5432/test`; use an empty database)
//! and `USERS_BENCH_STORE_CONNECTIONS` sizes its pool (default: the configuration's default).
//! `USERS_BENCH_CLIENTS` (default 16) sets how many clients create and read at once.
//! `USERS_BENCH_AUDIT=off` turns the audit log off (`[audit] enabled = false`; on by default, as
//! in the configuration), to measure what recording every create costs. With the audit log on,
//! the run ends with the same comparison made within the run (`create, audit on / off`): two fresh
//! sidecar processes, audit log on and off, N creates each in alternating rounds, the wall-time and
//! CPU ratios printed, so that machine noise falls on both sides. `USERS_BENCH_AUDIT_ONLY=1` runs that
//! comparison alone.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use grafana_emulator::{Emulator, EmulatorHandle, EmulatorOptions};
use http::Method;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use scim_sidecar::config::{Config, Secret};
use serde_json::{json, Value};
use support::target::{user, Http, Target};
use support::{cpu_ns, pinning};

mod support;

const TOKEN: &str = "bench-token-0123456789abcdef";
/// Concurrent clients for creates and reads, unless `USERS_BENCH_CLIENTS` says otherwise.
const CONCURRENCY: usize = 16;
/// Pages asked for at once in the concurrent page passes.
const PAGES_AT_ONCE: usize = 10;

/// Runs `op(i)` for every `i` in `range` with `clients` workers; returns wall time and per-op
/// latencies.
async fn run<F, Fut>(range: std::ops::Range<usize>, clients: usize, op: F) -> (Duration, Vec<Duration>)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    let end = range.end;
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(range.start));
    let started = Instant::now();
    let workers: Vec<_> = (0..clients.max(1))
        .map(|_| {
            let (op, next) = (op.clone(), next.clone());
            tokio::spawn(async move {
                let mut lat = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= end {
                        break lat;
                    }
                    let t = Instant::now();
                    op(i).await;
                    lat.push(t.elapsed());
                }
            })
        })
        .collect();
    let mut all = Vec::with_capacity(range.len());
    for w in workers {
        all.extend(w.await.unwrap());
    }
    (started.elapsed(), all)
}

/// Wall time summed over a phase's rounds, and every op's latency.
type Phase = (Duration, Vec<Duration>);

/// Runs `sidecar(i)` and `direct(i)` for `0..n` in alternating rounds of `round` ops, `clients`
/// at a time (which side goes first alternates too), so that a burst of noise from a neighbour on
/// this shared machine lands on both sides alike instead of on whichever phase it happens to hit.
/// Returns both phases and the Grafana calls made during the sidecar's rounds.
async fn interleaved<S, SF, D, DF>(
    n: usize,
    round: usize,
    clients: usize,
    g: &EmulatorHandle,
    child: u32,
    sidecar: S,
    direct: D,
) -> (Phase, Phase, Calls)
where
    S: Fn(usize) -> SF + Send + Sync + 'static,
    SF: std::future::Future<Output = ()> + Send,
    D: Fn(usize) -> DF + Send + Sync + 'static,
    DF: std::future::Future<Output = ()> + Send,
{
    let (sidecar, direct) = (Arc::new(sidecar), Arc::new(direct));
    let (mut s, mut d) = ((Duration::ZERO, Vec::new()), (Duration::ZERO, Vec::new()));
    let mut calls = Calls {
        ops: n,
        by_route: BTreeMap::new(),
        cpu_ns: 0,
        bench_cpu_ns: [0; 2],
        steal: [Steal::default(); 2],
        pairs: 0,
        calm_pairs: 0,
        calm: Default::default(),
    };
    for (k, start) in (0..n).step_by(round.max(1)).enumerate() {
        let range = start..(start + round).min(n);
        let mut pair: [Phase; 2] = Default::default();
        let mut calm = true;
        for side in [k % 2, 1 - k % 2] {
            let (bench_cpu, steal) = (cpu_ns(std::process::id()), Steal::now());
            pair[side] = if side == 0 {
                g.reset_calls();
                let f = sidecar.clone();
                let cpu = cpu_ns(child);
                let phase = run(range.clone(), clients, move |i| f(i)).await;
                calls.cpu_ns += cpu_ns(child).saturating_sub(cpu);
                for c in g.calls() {
                    *calls.by_route.entry(route(&c.method, &c.path)).or_default() += 1;
                }
                phase
            } else {
                let f = direct.clone();
                run(range.clone(), clients, move |i| f(i)).await
            };
            let stolen = Steal::now().since(&steal);
            calm &= stolen.percent() < CALM_STEAL_PERCENT;
            calls.bench_cpu_ns[side] += cpu_ns(std::process::id()).saturating_sub(bench_cpu);
            calls.steal[side].add(&stolen);
        }
        calls.pairs += 1;
        for (side, (w, l)) in pair.into_iter().enumerate() {
            if calm {
                let kept = &mut calls.calm[side];
                kept.0 += w;
                kept.1.extend(l.iter().copied());
            }
            let all = if side == 0 { &mut s } else { &mut d };
            all.0 += w;
            all.1.extend(l);
        }
        calls.calm_pairs += usize::from(calm);
    }
    (s, d, calls)
}

/// Grafana calls the sidecar made during a phase, by route, and the CPU time it used; the CPU
/// time this process (load generator and emulator) used and the hypervisor's steal during each
/// side's rounds (`[sidecar, direct]`).
struct Calls {
    ops: usize,
    by_route: BTreeMap<String, u64>,
    cpu_ns: u64,
    bench_cpu_ns: [u64; 2],
    steal: [Steal; 2],
    /// Pairs of rounds run, and those where neither side lost [`CALM_STEAL_PERCENT`] or more
    /// of the machine's CPU to the hypervisor, with their phases (`[sidecar, direct]`).
    pairs: usize,
    calm_pairs: usize,
    calm: [Phase; 2],
}

/// Steal below which a round counts as calm. On this kind of shared host the steal is not
/// spread evenly: it rises when both of the machine's cores are busy at once, which the
/// sidecar's rounds do (its process on one core, the load generator and emulator on the other)
/// and the direct rounds mostly do not, so interleaving cannot cancel it.
const CALM_STEAL_PERCENT: f64 = 5.0;

/// CPU time the hypervisor took from this machine (`steal` in `/proc/stat`) against all CPU
/// time, in clock ticks: noise no interleaving can cancel, since it falls where it falls.
#[derive(Clone, Copy, Default)]
struct Steal {
    stolen: u64,
    total: u64,
}

impl Steal {
    /// The counters so far; zero where `/proc/stat` cannot be read.
    fn now() -> Self {
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let fields: Vec<u64> = stat
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .skip(1)
            .filter_map(|v| v.parse().ok())
            .collect();
        Self { stolen: fields.get(7).copied().unwrap_or(0), total: fields.iter().sum() }
    }

    fn since(&self, earlier: &Self) -> Self {
        Self {
            stolen: self.stolen.saturating_sub(earlier.stolen),
            total: self.total.saturating_sub(earlier.total),
        }
    }

    fn add(&mut self, other: &Self) {
        self.stolen += other.stolen;
        self.total += other.total;
    }

    fn percent(&self) -> f64 {
        100.0 * self.stolen as f64 / self.total.max(1) as f64
    }
}

impl Calls {
    fn per_op(&self) -> f64 {
        self.by_route.values().sum::<u64>() as f64 / self.ops.max(1) as f64
    }

    /// `METHOD /route 0.93, …` for every route called.
    fn breakdown(&self) -> String {
        let per = |n: u64| n as f64 / self.ops.max(1) as f64;
        self.by_route.iter().map(|(r, n)| format!("{r} {:.2}", per(*n))).collect::<Vec<_>>().join(", ")
    }
}

/// `METHOD path` with numeric path segments shown as `:id`.
fn route(method: &str, path: &str) -> String {
    let path: Vec<&str> =
        path.split('/').map(|seg| if seg.parse::<u64>().is_ok() { ":id" } else { seg }).collect();
    format!("{method} {}", path.join("/"))
}

/// What the page check reads of a ListResponse: how many resources it holds. Their contents are
/// skipped over, not built: a whole parse of a page of 100 SCIM users cost core 0, where the
/// emulator serves every page one after another, time the direct rounds never spent.
#[derive(serde::Deserialize)]
struct PageCount {
    #[serde(rename = "Resources")]
    resources: Vec<serde::de::IgnoredAny>,
}

/// Lists `pages` pages of 100 of org `org` through SCIM (`scim` is that org's namespace) and, as
/// the floor, Grafana's org-user search, `clients` pages at a time.
async fn page_pass(
    org: i64,
    pages: usize,
    clients: usize,
    grafana: &EmulatorHandle,
    sidecar: u32,
    scim: &Arc<Target>,
    direct: &Arc<Target>,
) -> (Phase, Phase, Calls) {
    let (t, d) = (scim.clone(), direct.clone());
    interleaved(
        pages,
        10,
        clients,
        grafana,
        sidecar,
        move |i| {
            let t = t.clone();
            async move {
                let (_, b) =
                    t.send(Method::GET, &format!("/Users?startIndex={}&count=100", i * 100 + 1), None).await;
                let page: PageCount = serde_json::from_slice(&b).unwrap();
                assert_eq!(page.resources.len(), 100);
            }
        },
        move |i| {
            let d = d.clone();
            async move {
                let p = format!("/api/orgs/{org}/users/search?perpage=100&page={}", i + 1);
                assert_eq!(d.send(Method::GET, &p, None).await.0, 200);
            }
        },
    )
    .await
}

/// The nearest-rank 99th percentile: the value at rank ⌈0.99·n⌉. (The index used to be ⌊0.99·n⌋,
/// one rank too high: for the 100 pages of a page pass that was their maximum.)
fn p99(lat: &mut [Duration]) -> Duration {
    lat.sort();
    let rank = (lat.len() * 99).div_ceil(100).max(1);
    lat.get(rank - 1).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The sidecar's phase against the direct one: wall times, their ratio and both p99s, in ms.
struct Comparison {
    sidecar_ms: f64,
    direct_ms: f64,
    ratio: f64,
    sidecar_p99_ms: f64,
    direct_p99_ms: f64,
}

impl Comparison {
    fn of((sw, mut sl): Phase, (dw, mut dl): Phase) -> Self {
        Self {
            sidecar_ms: ms(sw),
            direct_ms: ms(dw),
            ratio: sw.as_secs_f64() / dw.as_secs_f64().max(1e-9),
            sidecar_p99_ms: ms(p99(&mut sl)),
            direct_p99_ms: ms(p99(&mut dl)),
        }
    }

    fn added_p99_ms(&self) -> f64 {
        self.sidecar_p99_ms - self.direct_p99_ms
    }
}

fn report(name: &str, sidecar: Phase, direct: Phase, calls: Calls) {
    let all = Comparison::of(sidecar, direct);
    println!(
        "{name:<27} sidecar {:>9.1} ms  direct {:>9.1} ms  ratio {:>5.2}x  p99 {:>7.2} / {:>7.2} ms  added p99 {:>6.2} ms  grafana calls/op {:.2}",
        all.sidecar_ms,
        all.direct_ms,
        all.ratio,
        all.sidecar_p99_ms,
        all.direct_p99_ms,
        all.added_p99_ms(),
        calls.per_op(),
    );
    let us_per_op = |ns: u64| ns as f64 / 1000.0 / calls.ops.max(1) as f64;
    println!(
        "{:<27} sidecar cpu {:.0} us/op; calls per op by route: {}",
        "",
        us_per_op(calls.cpu_ns),
        calls.breakdown()
    );
    println!(
        "{:<27} load generator + emulator cpu {:.0} / {:.0} us/op; cpu stolen by the hypervisor {:.1}% / {:.1}% (sidecar / direct rounds)",
        "",
        us_per_op(calls.bench_cpu_ns[0]),
        us_per_op(calls.bench_cpu_ns[1]),
        calls.steal[0].percent(),
        calls.steal[1].percent(),
    );
    if calls.calm_pairs == 0 {
        println!(
            "{:<27} calm rounds (steal < {CALM_STEAL_PERCENT}% on both sides): none of {}",
            "", calls.pairs
        );
    } else {
        let [sidecar, direct] = calls.calm;
        let calm = Comparison::of(sidecar, direct);
        println!(
            "{:<27} calm rounds (steal < {CALM_STEAL_PERCENT}% on both sides): {} of {} pairs, ratio {:.2}x, added p99 {:.2} ms",
            "",
            calls.calm_pairs,
            calls.pairs,
            calm.ratio,
            calm.added_p99_ms(),
        );
    }
}

/// Set in the re-executed child: the emulator's URL for the sidecar to front.
const CHILD_ENV: &str = "USERS_BENCH_CHILD";
/// `0` turns CPU pinning off.
const PIN_ENV: &str = "USERS_BENCH_PIN";

fn main() {
    if let Ok(grafana_url) = std::env::var(CHILD_ENV) {
        run_sidecar_child(grafana_url);
        return;
    }
    if pinning(PIN_ENV) {
        support::pin_self_to_core_0();
    }
    let n: usize = std::env::var("USERS_BENCH_N").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let latency_ms: u64 =
        std::env::var("USERS_BENCH_GRAFANA_LATENCY_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(bench(n, Duration::from_millis(latency_ms)));
}

/// The sidecar process: the real `run()` in front of `grafana_url` with the store named by
/// `USERS_BENCH_STORE_URL`, printing its public address on stdout.
fn run_sidecar_child(grafana_url: String) {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let mut config = Config::default();
        config.grafana.url = grafana_url;
        config.scim.tokens = vec![Secret::new(TOKEN).into()];
        config.store.url = Secret::new(std::env::var("USERS_BENCH_STORE_URL").unwrap());
        if let Some(n) = std::env::var("USERS_BENCH_STORE_CONNECTIONS").ok().and_then(|v| v.parse().ok()) {
            config.store.max_connections = n;
        }
        config.log.level = "warn".into();
        config.audit.enabled = std::env::var("USERS_BENCH_AUDIT").map_or(true, |v| v != "off");
        support::serve_sidecar(config).await;
    });
}

async fn bench(n: usize, latency: Duration) {
    let clients: usize = std::env::var("USERS_BENCH_CLIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&c| c > 0)
        .unwrap_or(CONCURRENCY);
    let grafana =
        Emulator::start(EmulatorOptions { brute_force_protection: false, ..EmulatorOptions::default() })
            .await
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    // `USERS_BENCH_STORE_URL` (e.g. a PostgreSQL URL) replaces the default SQLite file.
    let store_url = std::env::var("USERS_BENCH_STORE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let backend = store_url.split(':').next().unwrap_or("sqlite").to_string();
    if std::env::var("USERS_BENCH_AUDIT_ONLY").is_ok_and(|v| v == "1") {
        println!("users benchmark: audit comparison only, N = {n}, {clients} concurrent clients, {backend} store, emulator latency {latency:?} per call");
        grafana.set_latency(latency);
        audit_ab(n, clients, &grafana, &dir, &store_url).await;
        return;
    }
    let (mut child, addr) = support::spawn_child(
        pinning(PIN_ENV),
        &[(CHILD_ENV, &grafana.url()), ("USERS_BENCH_STORE_URL", &store_url)],
    );
    let sidecar = child.id();
    let http: Http = Client::builder(TokioExecutor::new()).pool_max_idle_per_host(64).build_http();
    let scim = Arc::new(Target {
        http: http.clone(),
        base: format!("http://{addr}/scim/v2"),
        auth: format!("Bearer {TOKEN}"),
    });
    let direct = Arc::new(Target { http, base: grafana.url(), auth: grafana.admin_basic_auth() });
    let placement = if pinning(PIN_ENV) {
        "load generator + emulator pinned to core 0, sidecar process to core 1"
    } else {
        "load generator, emulator and sidecar process share every core"
    };
    let audit = if std::env::var("USERS_BENCH_AUDIT").is_ok_and(|v| v == "off") { "off" } else { "on" };
    println!(
        "users benchmark: N = {n}, {clients} concurrent clients, {backend} store, audit log {audit}, \
         emulator latency {latency:?} per call; {placement}"
    );

    // Warm-up (connections, the sidecar's one-time settings read), then the measured phases.
    let (s, _) = scim.send(Method::POST, "/Users", Some(&user("warm.scim"))).await;
    assert_eq!(s, 201);
    let (s, _) = direct.send(Method::POST, "/api/admin/users", Some(&grafana_user("warm.direct"))).await;
    assert_eq!(s, 200);

    grafana.set_latency(latency);
    let (t, d) = (scim.clone(), direct.clone());
    let (sidecar_create, direct_create, create_calls) = interleaved(
        n,
        500,
        clients,
        &grafana,
        sidecar,
        move |i| {
            let t = t.clone();
            async move {
                let (s, _) = t.send(Method::POST, "/Users", Some(&user(&format!("s{i:06}")))).await;
                assert_eq!(s, 201);
            }
        },
        move |i| {
            let d = d.clone();
            async move {
                let (s, _) =
                    d.send(Method::POST, "/api/admin/users", Some(&grafana_user(&format!("d{i:06}")))).await;
                assert_eq!(s, 200);
            }
        },
    )
    .await;
    report("create", sidecar_create, direct_create, create_calls);

    // Reads on a sample of the created users.
    let sample = n.clamp(1, 2000);
    let mut ids = Vec::with_capacity(sample);
    for i in 0..sample {
        let (_, b) = scim
            .send_json(
                Method::GET,
                &format!("/Users?filter=userName%20eq%20%22s{i:06}%40bench.example%22"),
                None,
            )
            .await;
        ids.push(b["Resources"][0]["id"].as_str().unwrap().to_string());
    }
    let ids = Arc::new(ids);
    let (t, d) = (scim.clone(), direct.clone());
    let (sidecar_get, direct_get, get_calls) = interleaved(
        sample,
        250,
        clients,
        &grafana,
        sidecar,
        move |i| {
            let (t, ids) = (t.clone(), ids.clone());
            async move {
                assert_eq!(t.send(Method::GET, &format!("/Users/{}", ids[i]), None).await.0, 200);
            }
        },
        move |i| {
            let d = d.clone();
            async move {
                assert_eq!(d.send(Method::GET, &format!("/api/users/{}", i + 3), None).await.0, 200);
            }
        },
    )
    .await;
    report("get by id", sidecar_get, direct_get, get_calls);

    let (t, d) = (scim.clone(), direct.clone());
    let (sidecar_filter, direct_filter, filter_calls) = interleaved(
        sample,
        250,
        clients,
        &grafana,
        sidecar,
        move |i| {
            let t = t.clone();
            async move {
                let (_, b) = t
                    .send_json(
                        Method::GET,
                        &format!("/Users?filter=userName%20eq%20%22S{i:06}%40bench.example%22"),
                        None,
                    )
                    .await;
                assert_eq!(b["totalResults"], 1);
            }
        },
        move |i| {
            let d = d.clone();
            async move {
                let p = format!("/api/users/lookup?loginOrEmail=d{i:06}%40bench.example");
                assert_eq!(d.send(Method::GET, &p, None).await.0, 200);
            }
        },
    )
    .await;
    report("userName eq filter", sidecar_filter, direct_filter, filter_calls);

    // The org's first pages hold the users made directly (`d…` sorts before `s…`), which SCIM has
    // never seen: the first pass records their ids (an IdP's first import of existing users),
    // the second reads pages whose users all have records (every later import).
    let pages = (n / 100).clamp(1, 200);
    // The emulator's first org-user search runs cold (its first sort of the whole org): with
    // instrumented sidecar builds the first page's Grafana call took 22 ms where the first of
    // every later round took 10-11 ms, and the first page measured is the sidecar's. One
    // unmeasured search warms it for both sides.
    let warm = "/api/orgs/1/users/search?perpage=1&page=1";
    assert_eq!(direct.send(Method::GET, warm, None).await.0, 200);
    for name in ["page, 10 at once (first)", "page, 10 at once (again)"] {
        let (sidecar_pages, direct_pages, page_calls) =
            page_pass(1, pages, PAGES_AT_ONCE, &grafana, sidecar, &scim, &direct).await;
        report(name, sidecar_pages, direct_pages, page_calls);
    }

    // An IdP's import, as Okta and Entra run it: one client asks for a page, reads it, then asks
    // for the next (`startIndex += 100`). The pages above come 10 at a time, so each waits behind
    // the emulator's answers to the others (on its one core a page of the org takes it several
    // ms), and their p99s are mostly that queue. Here nothing queues, and the added p99 is the
    // sidecar's own time. The users are a second org holding as many users as the passes above
    // list, made in the emulator's state directly, so that the first pass sees them for the
    // first time too.
    let org = grafana.create_org("bench import");
    for i in 0..pages * 100 {
        let login = format!("i{i:06}@bench.example");
        grafana.try_create_user(&login, &login, &format!("i{i:06}"), Some(org)).unwrap();
    }
    let import = Arc::new(Target {
        http: scim.http.clone(),
        base: format!("http://{addr}/apis/scim.grafana.app/v0alpha1/namespaces/org-{org}"),
        auth: scim.auth.clone(),
    });
    let warm = format!("/api/orgs/{org}/users/search?perpage=1&page=1");
    assert_eq!(direct.send(Method::GET, &warm, None).await.0, 200);
    for name in ["page, one importer (first)", "page, one importer (again)"] {
        let (sidecar_pages, direct_pages, page_calls) =
            page_pass(org, pages, 1, &grafana, sidecar, &import, &direct).await;
        report(name, sidecar_pages, direct_pages, page_calls);
    }

    // Memory against the directory (issue 30): `cargo bench --bench memory` follows it over
    // several sizes; this is the peak of this run's mix (concurrent pages included).
    let (rss, peak) = support::rss_kib(sidecar);
    println!(
        "sidecar process: VmRSS {:.1} MiB, peak (VmHWM) {:.1} MiB, with {} users in Grafana",
        rss as f64 / 1024.0,
        peak as f64 / 1024.0,
        grafana.user_count()
    );
    if audit == "on" {
        audit_ab(n, clients, &grafana, &dir, &store_url).await;
    }

    support::stop_child(&mut child);
}

/// The audit log's cost per create, measured in one run: two fresh sidecar processes, one with
/// the audit log on and one with `[audit] enabled = false`, each with a new store of its own (the
/// same PostgreSQL database when the store is PostgreSQL), create users in alternating rounds
/// against the same emulator, so noise from neighbours on this shared machine falls on both alike.
/// Both start empty: the sidecar of the phases above holds everything they made (its store, its
/// caches and a heap shaped by reads and pages), which a fresh process would not, and which made
/// earlier runs of this comparison charge the audit log for that history (issue 27). Prints the
/// wall-time ratio and each process's CPU per create, on / off.
async fn audit_ab(
    n: usize,
    clients: usize,
    grafana: &EmulatorHandle,
    dir: &tempfile::TempDir,
    store_url: &str,
) {
    let store = |name: &str| {
        if store_url.starts_with("sqlite") {
            format!("sqlite://{}", dir.path().join(name).display())
        } else {
            store_url.to_string()
        }
    };
    let (on_store, off_store) = (store("bench-audit-on.db"), store("bench-audit-off.db"));
    let url = grafana.url();
    let spawn = |store: &str, audit: &str| {
        support::spawn_child(
            pinning(PIN_ENV),
            &[(CHILD_ENV, &url), ("USERS_BENCH_STORE_URL", store), ("USERS_BENCH_AUDIT", audit)],
        )
    };
    let (mut on_child, on_addr) = spawn(&on_store, "on");
    let (mut off_child, off_addr) = spawn(&off_store, "off");
    let (on_pid, off_pid) = (on_child.id(), off_child.id());
    let http: Http = Client::builder(TokioExecutor::new()).pool_max_idle_per_host(64).build_http();
    let target = |addr: SocketAddr| {
        Arc::new(Target {
            http: http.clone(),
            base: format!("http://{addr}/scim/v2"),
            auth: format!("Bearer {TOKEN}"),
        })
    };
    let (on, off) = (target(on_addr), target(off_addr));
    for (t, name) in [(&on, "warm.on"), (&off, "warm.off")] {
        let (s, _) = t.send(Method::POST, "/Users", Some(&user(name))).await;
        assert_eq!(s, 201);
    }
    let (cpu_on, cpu_off) = (cpu_ns(on_pid), cpu_ns(off_pid));
    let (a, b) = (on.clone(), off.clone());
    let (with, without, _) = interleaved(
        n,
        500,
        clients,
        grafana,
        on_pid,
        move |i| {
            let a = a.clone();
            async move {
                let (s, _) = a.send(Method::POST, "/Users", Some(&user(&format!("a{i:06}")))).await;
                assert_eq!(s, 201);
            }
        },
        move |i| {
            let b = b.clone();
            async move {
                let (s, _) = b.send(Method::POST, "/Users", Some(&user(&format!("o{i:06}")))).await;
                assert_eq!(s, 201);
            }
        },
    )
    .await;
    let per_op = |ns: u64| ns as f64 / 1000.0 / n.max(1) as f64;
    let (cpu_on, cpu_off) =
        (per_op(cpu_ns(on_pid).saturating_sub(cpu_on)), per_op(cpu_ns(off_pid).saturating_sub(cpu_off)));
    let (wall_on, wall_off) = (with.0.as_secs_f64() * 1e3, without.0.as_secs_f64() * 1e3);
    println!(
        "{:<27} audit on {:>9.1} ms  off {:>9.1} ms  ratio {:>5.3}x  sidecar cpu {:.0} / {:.0} us/op (ratio {:.3}x)",
        "create, audit on / off",
        wall_on,
        wall_off,
        wall_on / wall_off.max(f64::MIN_POSITIVE),
        cpu_on,
        cpu_off,
        cpu_on / cpu_off.max(f64::MIN_POSITIVE),
    );
    for child in [&mut on_child, &mut off_child] {
        support::stop_child(child);
    }
}

fn grafana_user(name: &str) -> Value {
    json!({"login": format!("{name}@bench.example"), "email": format!("{name}@bench.example"), "name": name, "password": "Bench-password-1!", "orgId": 1})
}
