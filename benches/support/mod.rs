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
/// it prints on its first stdout line.
pub fn spawn_child(pin: bool, envs: &[(&str, &str)]) -> (Child, SocketAddr) {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = if pin {
        let mut c = Command::new("taskset");
        c.args(["-c", "1"]).arg(exe);
        c
    } else {
        Command::new(exe)
    };
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
