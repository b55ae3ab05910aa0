//! Process metrics, read from `/proc/self` at each scrape, under the names every Prometheus client
//! library uses (`process_resident_memory_bytes`, `process_cpu_seconds_total`, `process_open_fds`,
//! …), so dashboards and alerts written for any exporter work unchanged.
//!
//! Linux only: elsewhere, or when `/proc` cannot be read (a sandbox hiding it), the families that
//! could not be read are left out of the scrape rather than reported as zero.

use std::time::{SystemTime, UNIX_EPOCH};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

/// `/proc` reports CPU times in clock ticks of `USER_HZ`, which Linux fixes at 100 on every
/// architecture for user-visible interfaces.
const USER_HZ: f64 = 100.0;

/// The collector registered on the root registry; `started` is when the metrics were created,
/// which is the process's start within milliseconds (the registry is built at start-up).
#[derive(Debug)]
pub struct ProcessCollector {
    started: f64,
}

impl ProcessCollector {
    pub fn new() -> Self {
        let started = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
        Self { started }
    }
}

impl Default for ProcessCollector {
    fn default() -> Self {
        Self::new()
    }
}

/// One reading of `/proc/self`. Every field is optional: what could not be read is not reported.
#[derive(Debug, Default, PartialEq)]
pub struct Reading {
    pub cpu_seconds: Option<f64>,
    pub resident_bytes: Option<i64>,
    pub virtual_bytes: Option<i64>,
    pub open_fds: Option<i64>,
    pub max_fds: Option<i64>,
}

impl Reading {
    /// Reads the current process's figures.
    pub fn now() -> Self {
        let read = |p: &str| std::fs::read_to_string(p).ok();
        Self {
            cpu_seconds: read("/proc/self/stat").as_deref().and_then(cpu_seconds),
            resident_bytes: read("/proc/self/status").as_deref().and_then(|s| status_kib(s, "VmRSS:")),
            virtual_bytes: read("/proc/self/status").as_deref().and_then(|s| status_kib(s, "VmSize:")),
            open_fds: std::fs::read_dir("/proc/self/fd").ok().map(|d| d.count() as i64),
            max_fds: read("/proc/self/limits").as_deref().and_then(max_open_files),
        }
    }
}

/// User plus system CPU time from `/proc/self/stat` (fields 14 and 15, after the `)` that ends the
/// command name, which may itself contain spaces and parentheses).
pub fn cpu_seconds(stat: &str) -> Option<f64> {
    let after = &stat[stat.rfind(')')? + 1..];
    // After ")": field 3 (state) is the first; utime is field 14, stime field 15.
    let mut fields = after.split_whitespace().skip(11);
    let utime: f64 = fields.next()?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    Some((utime + stime) / USER_HZ)
}

/// A `kB` line of `/proc/self/status` in bytes.
pub fn status_kib(status: &str, key: &str) -> Option<i64> {
    let line = status.lines().find(|l| l.starts_with(key))?;
    let kib: i64 = line[key.len()..].split_whitespace().next()?.parse().ok()?;
    kib.checked_mul(1024)
}

/// The soft limit on open files from `/proc/self/limits`; `unlimited` is not reported.
pub fn max_open_files(limits: &str) -> Option<i64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..].split_whitespace().next()?.parse().ok()
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let r = Reading::now();
        if let Some(v) = r.cpu_seconds {
            let c = ConstCounter::new(v);
            c.encode(encoder.encode_descriptor(
                "process_cpu_seconds",
                "Total user and system CPU time spent in seconds",
                None,
                c.metric_type(),
            )?)?;
        }
        let gauges: [(&str, &str, Option<i64>); 4] = [
            ("process_resident_memory_bytes", "Resident memory size in bytes", r.resident_bytes),
            ("process_virtual_memory_bytes", "Virtual memory size in bytes", r.virtual_bytes),
            ("process_open_fds", "Number of open file descriptors", r.open_fds),
            ("process_max_fds", "Maximum number of open file descriptors", r.max_fds),
        ];
        for (name, help, value) in gauges {
            if let Some(v) = value {
                let g = ConstGauge::new(v);
                g.encode(encoder.encode_descriptor(name, help, None, g.metric_type())?)?;
            }
        }
        let g = ConstGauge::new(self.started);
        g.encode(encoder.encode_descriptor(
            "process_start_time_seconds",
            "Start time of the process since the Unix epoch in seconds",
            None,
            g.metric_type(),
        )?)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_files() {
        let stat = "4242 (scim (side) car) S 1 4242 4242 0 -1 4194560 2710 0 0 0 250 50 0 0 20 0 9 0 \
                    123 456 789";
        assert_eq!(cpu_seconds(stat), Some(3.0));
        assert_eq!(cpu_seconds("garbage"), None);
        let status = "Name:\tscim-sidecar\nVmSize:\t  123456 kB\nVmRSS:\t   20480 kB\n";
        assert_eq!(status_kib(status, "VmRSS:"), Some(20480 * 1024));
        assert_eq!(status_kib(status, "VmSize:"), Some(123456 * 1024));
        assert_eq!(status_kib(status, "VmSwap:"), None);
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max open files            1024                 524288               files\n";
        assert_eq!(max_open_files(limits), Some(1024));
        assert_eq!(max_open_files("Max open files            unlimited            unlimited  files"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn reads_this_process() {
        let r = Reading::now();
        assert!(r.resident_bytes.is_some_and(|b| b > 0), "{r:?}");
        assert!(r.open_fds.is_some_and(|n| n > 0), "{r:?}");
        assert!(r.cpu_seconds.is_some(), "{r:?}");
    }
}
