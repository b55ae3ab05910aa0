//! nginx as a reverse proxy beside the sidecar: the proxy a user would otherwise put in front of
//! Grafana, started by the bench from the system's `nginx` binary (Debian's `nginx-light`, which
//! `scripts/setup.sh` installs) with a configuration written to a temporary directory.
//!
//! The configuration is the one a careful operator writes for Grafana: `worker_processes auto`,
//! an upstream block with `keepalive` (HTTP/1.1 and an empty `Connection` header towards the
//! upstream, so upstream connections are reused), `Host` and `X-Forwarded-For` passed on, and an
//! access log buffered in memory (`buffer=64k`), as the sidecar batches its own request log, and
//! connections kept for any number of requests on both sides (`keepalive_requests`), as the
//! sidecar keeps them.
//! Everything else stays at nginx's defaults (response buffering included).

#![allow(dead_code, clippy::unwrap_used)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running nginx; killed (with its workers) when dropped.
pub struct Nginx {
    master: Child,
    pub addr: SocketAddr,
    dir: PathBuf,
}

impl Nginx {
    /// The master's pid; its workers are its children.
    pub fn pid(&self) -> u32 {
        self.master.id()
    }

    /// CPU time of the master and every worker so far.
    pub fn cpu_ns(&self) -> u64 {
        self.pids().into_iter().map(super::cpu_ns).sum()
    }

    /// Resident set of the master and every worker, in KiB: (current, peak).
    pub fn rss_kib(&self) -> (u64, u64) {
        self.pids().into_iter().map(super::rss_kib).fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    }

    fn pids(&self) -> Vec<u32> {
        let master = self.master.id();
        let mut pids = vec![master];
        let children =
            std::fs::read_to_string(format!("/proc/{master}/task/{master}/children")).unwrap_or_default();
        pids.extend(children.split_whitespace().filter_map(|p| p.parse::<u32>().ok()));
        pids
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM is nginx's fast shutdown; the workers follow their master.
        let _ = Command::new("kill").arg(self.master.id().to_string()).status();
        let _ = self.master.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The nginx binary: `PROXY_OVERHEAD_NGINX`, else `/usr/sbin/nginx`, else `nginx` on `PATH`.
fn binary() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("PROXY_OVERHEAD_NGINX").map(PathBuf::from),
        Some(PathBuf::from("/usr/sbin/nginx")),
        Some(PathBuf::from("nginx")),
    ];
    candidates.into_iter().flatten().find(|p| {
        Command::new(p)
            .arg("-v")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// Starts nginx in front of `upstream` (on core 1 when `pin`); `None` when no nginx is installed.
pub fn start(upstream: SocketAddr, pin: bool) -> Option<Nginx> {
    let bin = binary()?;
    let dir = std::env::temp_dir().join(format!("proxy-overhead-nginx-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A free port: bound and released; nothing else on this machine races for it within a second.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let conf = dir.join("nginx.conf");
    std::fs::write(&conf, config(&dir, addr, upstream)).unwrap();
    let mut cmd = if pin {
        let mut c = Command::new("taskset");
        c.args(["-c", "1"]).arg(&bin);
        c
    } else {
        Command::new(&bin)
    };
    let master = cmd
        .arg("-p")
        .arg(&dir)
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let nginx = Nginx { master, addr, dir };
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "nginx did not start listening on {addr}");
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(nginx)
}

fn config(dir: &Path, listen: SocketAddr, upstream: SocketAddr) -> String {
    let d = dir.display();
    format!(
        "daemon off;
master_process on;
worker_processes auto;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log {d}/access.log combined buffer=64k flush=1s;
    # The load generator keeps its connections for a whole phase; nginx would close each after
    # 1,000 requests (its default), the sidecar never does.
    keepalive_requests 100000000;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    upstream grafana {{
        server {upstream};
        keepalive 64;
        keepalive_requests 100000000;
    }}
    server {{
        listen {listen};
        location / {{
            proxy_pass http://grafana;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }}
    }}
}}
"
    )
}
