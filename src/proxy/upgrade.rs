//! Splicing an upgraded client connection (WebSocket, Grafana Live) onto the upgraded Grafana one.
//!
//! Bytes are copied both ways until either side closes; nothing is parsed. This module does not
//! decide whether an upgrade happens; the forwarder does, from the handshake.

use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use tracing::debug;

/// Waits for both upgrades to complete, then copies bytes in both directions until one side ends.
pub async fn splice(client: OnUpgrade, upstream: OnUpgrade) {
    let (client, upstream) = match tokio::try_join!(client, upstream) {
        Ok(pair) => pair,
        Err(e) => {
            debug!(error = %e, "upgrade did not complete");
            return;
        }
    };
    let mut client: TokioIo<Upgraded> = TokioIo::new(client);
    let mut upstream: TokioIo<Upgraded> = TokioIo::new(upstream);
    match tokio::io::copy_bidirectional(&mut client, &mut upstream).await {
        Ok((up, down)) => debug!(bytes_up = up, bytes_down = down, "upgraded connection closed"),
        Err(e) => debug!(error = %e, "upgraded connection ended with an error"),
    }
}
