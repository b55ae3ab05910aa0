//! Shared test helpers: a real upstream, TLS material, the sidecar data path and small clients.

pub mod certs;
pub mod client;
pub mod entra;
pub mod pg;
pub mod saml;
pub mod scim;
pub mod sidecar;
pub mod upstream;

use std::future::Future;
use std::time::Duration;

/// Polls `check` until it holds, failing the test after a generous bound (not a timing assertion).
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    for _ in 0..400 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("condition never held: {what}");
}

/// The deterministic byte at `offset` of every generated test stream.
pub fn pattern_byte(offset: u64) -> u8 {
    (offset % 251) as u8
}

/// `len` pattern bytes starting at `offset`.
pub fn pattern(offset: u64, len: usize) -> bytes::Bytes {
    (0..len as u64).map(|i| pattern_byte(offset + i)).collect::<Vec<u8>>().into()
}
