//! Shared by the benches that run the sidecar in a child process (this bench binary re-executed):
//! CPU pinning with `taskset`, the child's start-up, and per-process CPU time.

#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

pub mod nginx;
pub mod target;

/// Whether to pin: `pin_env` is not `0`, there are two cores or more, and `taskset` runs.
/// Decided on the first call, before this process pins itself (after which it would see a
/// single core).
pub fn pinning(pin_env: &str) -> bool {
    static PIN: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *PIN.get_or_init(|| {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        std::env::var(pin_env).map_or(true, |v| v != "0")
            && cores >= 2
            && Command::new("taskset").arg("-V").output().is_ok_and(|o| o.status.success())
    })
}

/// Pins this process to core 0. Call before the runtime starts: its threads inherit the main
/// thread's affinity.
pub fn pin_self_to_core_0() {
    let pid = std::process::id().to_string();
    let _ = Command::new("taskset").args(["-cp", "0", &pid]).stdout(Stdio::null()).status();
}

/// Starts this binary again with `envs` (on core 1 when `pin`), and returns it with the address
/// it prints on its first stdout line. `BENCH_CHILD_WRAPPER` (a command and its arguments,
/// split on spaces) runs the child under a profiler, e.g.
/// `BENCH_CHILD_WRAPPER="valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.%p"`.
pub fn spawn_child(pin: bool, envs: &[(&str, &str)]) -> (Child, SocketAddr) {
    let exe = std::env::current_exe().unwrap();
    let mut argv: Vec<std::ffi::OsString> = Vec::new();
    if pin {
        argv.extend(["taskset", "-c", "1"].map(Into::into));
    }
    if let Ok(wrapper) = std::env::var("BENCH_CHILD_WRAPPER") {
        argv.extend(wrapper.split_whitespace().map(Into::into));
    }
    argv.push(exe.into());
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]);
    let mut child =
        cmd.envs(envs.iter().copied()).stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
    (child, line.trim().parse().unwrap())
}

/// CPU time consumed so far by every thread of process `pid` (`/proc/<pid>/task/*/schedstat`).
pub fn cpu_ns(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return 0 };
    tasks
        .filter_map(Result::ok)
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next().and_then(|v| v.parse::<u64>().ok()))
        .sum()
}

/// Resident set of process `pid` in KiB: (current `VmRSS`, peak `VmHWM`); zeros when unknown.
pub fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Resolves when this process gets SIGTERM: a sidecar child's shutdown signal, so that it ends
/// through `run`'s graceful shutdown and a profiler wrapping it (`BENCH_CHILD_WRAPPER`) writes
/// its output.
pub async fn terminated() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).unwrap();
    term.recv().await;
}

/// Stops a child started by [`spawn_child`]: SIGTERM, up to 60 s to finish (a profiler writes its
/// output then), SIGKILL after that.
pub fn stop_child(child: &mut Child) {
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The child's side of [`spawn_child`]: serves `config` with the real `scim_sidecar::run` on
/// loopback listeners, prints the public address as the first stdout line, and runs until
/// SIGTERM ([`terminated`]).
pub async fn serve_sidecar(config: scim_sidecar::config::Config) {
    let public = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!("{}", public.local_addr().unwrap());
    let listeners = scim_sidecar::Listeners { public, admin };
    scim_sidecar::run(config, listeners, terminated()).await.unwrap();
}
