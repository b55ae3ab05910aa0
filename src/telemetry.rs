//! Logging: the `tracing` subscriber (text or JSON) and the filter it obeys.
//!
//! `RUST_LOG` wins over `[log] level` so an operator can turn on debug output without editing the
//! config. Nothing here decides *what* is logged; the rule that tokens, passwords, cookies and
//! bodies never appear above debug is kept by the code that emits events. Events reach stderr
//! through [`batch`], which gathers them into few writes.

pub mod batch;

use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat};

/// Installs the global subscriber. Calling it twice is harmless (the second call does nothing),
/// which keeps tests that start several sidecars in one process simple.
///
/// Keep the returned guard until the process ends: dropping it writes out the events still
/// waiting. `None` when a subscriber was already installed (or the writer thread could not start,
/// in which case events go straight to stderr).
#[must_use = "dropping the guard stops the log writer"]
pub fn init(config: &LogConfig) -> Option<batch::BatchGuard> {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| EnvFilter::try_new(v).ok())
        .or_else(|| EnvFilter::try_new(&config.level).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    // Colours only for a terminal: log files and collectors get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let (writer, guard) = match batch::batch(std::io::stderr()) {
        Ok((writer, guard)) => (writer, Some(guard)),
        Err(_) => (batch::BatchWriter::direct(), None),
    };
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(ansi).with_writer(writer);
    let installed = match config.format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(false).try_init(),
        LogFormat::Text => builder.try_init(),
    };
    installed.ok().and(guard)
}
