//! Proxy overhead: the same local hyper upstream, hit directly and through the sidecar data path.
//!
//! Run with `cargo bench --bench proxy_overhead` (optimised build). For each workload (a small JSON
//! GET answered at once, a 1 MiB download, and a small JSON GET the upstream answers after 5 ms,
//! as a Grafana doing real work would) it runs a warm-up and then a fixed-duration phase at 64 concurrent
//! keep-alive HTTP/1.1 connections, directly, through the sidecar and through nginx, and prints
//! requests/s, p50/p99 latency, the through/direct throughput ratio and the added p99.
//!
//! The sidecar is the real one (`scim_sidecar::run`: router, metrics, one `request completed` log
//! event per request at `info`, written to a file) in a child process (this binary re-executed with
//! `PROXY_OVERHEAD_CHILD` set), so its RSS is read from `/proc/<pid>/status` alone.
//!
//! CPU placement: with at least two cores and `taskset` available, the load generator and the
//! upstream are pinned to core 0 and the sidecar to core 1 (`PROXY_OVERHEAD_PIN=0` turns this off).
//! That models a deployment where the sidecar has CPU of its own: the direct and the through phases
//! then give the load generator and upstream the same single core. Unpinned, all three share every
//! core and the ratio mostly measures CPU contention (a proxy parses and copies everything again).
//!
//! `PROXY_OVERHEAD_LOG` sets the sidecar's log filter (default `info`, as in production).
//!
//! nginx (`support::nginx`: `worker_processes auto`, upstream keepalive) is the third side: the
//! proxy a user would otherwise put in front of Grafana. It gets the same placement as the sidecar
//! (core 1 when pinned) and the same upstream, and every workload prints sidecar/direct,
//! nginx/direct and sidecar/nginx. Without an nginx binary that side is skipped.
//!
//! Targets (issue 30): sidecar/nginx >= 1.0 requests per second, sidecar added p99 <= nginx's
//! added p99 + 0.5 ms, sidecar peak RSS <= 30 MiB.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use support::{cpu_ns, pinning};
use tokio::net::{TcpListener, TcpStream};

mod support;

const CONNECTIONS: usize = 64;
const WARMUP: Duration = Duration::from_millis(1500);
const PHASE: Duration = Duration::from_secs(6);
const CHILD_ENV: &str = "PROXY_OVERHEAD_CHILD";

const PIN_ENV: &str = "PROXY_OVERHEAD_PIN";
/// How long the upstream takes for `/slow`: a stand-in for Grafana's own work on a cheap API call
/// (a session lookup and a database read), which the instant `/small` answer leaves out.
const SLOW_UPSTREAM: Duration = Duration::from_millis(5);

fn main() {
    if let Ok(upstream) = std::env::var(CHILD_ENV) {
        run_sidecar_child(&upstream);
        return;
    }
    if pinning(PIN_ENV) {
        support::pin_self_to_core_0();
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(run());
}

/// The sidecar process: the real `run()` towards `upstream`, printing its address on stdout.
fn run_sidecar_child(upstream: &str) {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let dir = std::env::temp_dir().join(format!("proxy-overhead-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut config = scim_sidecar::config::Config::default();
        config.grafana.url = upstream.into();
        config.store.url =
            scim_sidecar::config::Secret::new(format!("sqlite://{}", dir.join("s.db").display()));
        // Production logging: one completion event per request through the same batching writer
        // `serve` uses, to a file rather than a terminal.
        let log = std::fs::File::create(dir.join("sidecar.log")).unwrap();
        let (writer, _guard) = scim_sidecar::telemetry::batch::batch(log).unwrap();
        let _ = tracing_subscriber::fmt()
            .with_env_filter(std::env::var("PROXY_OVERHEAD_LOG").unwrap_or_else(|_| "info".into()))
            .with_ansi(false)
            .with_writer(writer)
            .try_init();
        support::serve_sidecar(config).await;
    });
}

async fn run() {
    let upstream = start_upstream().await;
    let pin = pinning(PIN_ENV);
    let (mut child, sidecar) = support::spawn_child(pin, &[(CHILD_ENV, &format!("http://{upstream}"))]);
    let nginx = support::nginx::start(upstream, pin);
    let placement = if pin {
        "load generator + upstream pinned to core 0, sidecar and nginx to core 1"
    } else {
        "load generator, upstream, sidecar and nginx share every core"
    };
    println!("proxy_overhead: {CONNECTIONS} connections, {PHASE:?} per phase; {placement}");
    if nginx.is_none() {
        println!(
            "nginx: not installed (Debian: nginx-light; or set PROXY_OVERHEAD_NGINX); its side is skipped"
        );
    }
    println!("{:<22} {:>10} {:>10} {:>10}", "phase", "req/s", "p50 ms", "p99 ms");
    for (name, path) in [("small json", "/small"), ("1 MiB body", "/mib"), ("json after 5 ms", "/slow")] {
        let direct = phase(upstream, path).await;
        print_row(&format!("{name} direct"), &direct);
        let (through, cpu) = measured(sidecar, path, || cpu_ns(child.id())).await;
        print_row(&format!("{name} sidecar"), &through);
        let via_nginx = match &nginx {
            Some(n) => {
                let (stats, cpu) = measured(n.addr, path, || n.cpu_ns()).await;
                print_row(&format!("{name} nginx"), &stats);
                Some((stats, cpu))
            }
            None => None,
        };
        println!(
            "  -> sidecar/direct = {:.3} (added p50 {:.3} ms, p99 {:.3} ms), sidecar cpu {cpu:.1} us/request",
            through.rps / direct.rps,
            through.p50_ms - direct.p50_ms,
            through.p99_ms - direct.p99_ms
        );
        if let Some((n, n_cpu)) = via_nginx {
            println!(
                "  -> nginx/direct   = {:.3} (added p50 {:.3} ms, p99 {:.3} ms), nginx cpu {n_cpu:.1} us/request",
                n.rps / direct.rps,
                n.p50_ms - direct.p50_ms,
                n.p99_ms - direct.p99_ms
            );
            println!(
                "  -> sidecar/nginx  = {:.3}; sidecar added p99 - nginx added p99 = {:.3} ms",
                through.rps / n.rps,
                through.p99_ms - n.p99_ms
            );
        }
    }
    let (rss, peak) = support::rss_kib(child.id());
    println!("sidecar process VmRSS {rss} kB, VmHWM {peak} kB (peak {:.1} MiB)", peak as f64 / 1024.0);
    if let Some(n) = &nginx {
        let (rss, peak) = n.rss_kib();
        println!("nginx master + workers VmRSS {rss} kB, VmHWM (sum) {peak} kB");
    }
    drop(nginx);
    support::stop_child(&mut child);
}

/// One phase against `target`, with the CPU the proxy behind `cpu` spent per request (warm-up
/// included, since its requests are counted too).
async fn measured(target: SocketAddr, path: &'static str, cpu: impl Fn() -> u64) -> (Stats, f64) {
    let before = cpu();
    let stats = phase(target, path).await;
    let spent = cpu().saturating_sub(before);
    let requests = stats.rps * PHASE.as_secs_f64() * (1.0 + WARMUP.as_secs_f64() / PHASE.as_secs_f64());
    let per_request = spent as f64 / 1000.0 / requests.max(1.0);
    (stats, per_request)
}

struct Stats {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
}

fn print_row(name: &str, s: &Stats) {
    println!("{name:<22} {:>10.0} {:>10.3} {:>10.3}", s.rps, s.p50_ms, s.p99_ms);
}

async fn phase(target: SocketAddr, path: &'static str) -> Stats {
    let _ = load(target, path, WARMUP).await;
    let (count, mut lat) = load(target, path, PHASE).await;
    lat.sort_unstable();
    let pct = |p: f64| lat.get(((lat.len() as f64 - 1.0) * p) as usize).copied().unwrap_or(0) as f64 / 1000.0;
    Stats { rps: count as f64 / PHASE.as_secs_f64(), p50_ms: pct(0.50), p99_ms: pct(0.99) }
}

/// 64 keep-alive connections issuing sequential GETs for `dur`; latencies in microseconds.
async fn load(target: SocketAddr, path: &'static str, dur: Duration) -> (usize, Vec<u64>) {
    let deadline = Instant::now() + dur;
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        tasks.push(tokio::spawn(async move {
            let stream = TcpStream::connect(target).await.unwrap();
            stream.set_nodelay(true).unwrap();
            let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
            tokio::spawn(conn);
            let mut lat = Vec::new();
            while Instant::now() < deadline {
                let req = Request::get(path).header("host", "bench").body(Empty::<Bytes>::new()).unwrap();
                let start = Instant::now();
                let mut body = send.send_request(req).await.unwrap().into_body();
                while let Some(frame) = body.frame().await {
                    frame.unwrap();
                }
                lat.push(start.elapsed().as_micros() as u64);
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    (all.len(), all)
}

async fn start_upstream() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let small =
        Bytes::from_static(br#"{"id":1,"login":"admin","email":"admin@localhost","isGrafanaAdmin":true}"#);
    let mib = Bytes::from(vec![b'x'; 1 << 20]);
    let bodies = Arc::new((small, mib));
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let _ = stream.set_nodelay(true);
            let bodies = bodies.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let path = req.uri().path().to_owned();
                    let body = if path == "/mib" { bodies.1.clone() } else { bodies.0.clone() };
                    async move {
                        if path == "/slow" {
                            tokio::time::sleep(SLOW_UPSTREAM).await;
                        }
                        Ok::<_, Infallible>(Response::new(Full::new(body)))
                    }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    addr
}
