use std::sync::atomic::{AtomicUsize, Ordering};

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

use super::*;

struct CountWarnings(Arc<AtomicUsize>);

impl<S: Subscriber> Layer<S> for CountWarnings {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if *event.metadata().level() == Level::WARN {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

fn engine_for_down_grafana() -> PolicyEngine {
    let mut config = Config::default();
    // Nothing listens on port 1: every call is refused at once.
    config.grafana.url = "http://127.0.0.1:1".into();
    config.policy.cache_ttl = Duration::from_millis(1);
    let http = crate::upstream::build_client(&config.grafana).unwrap();
    let client = GrafanaClient::new(
        &config.grafana.url,
        &config.grafana.user,
        crate::config::Secret::new("pw"),
        http,
        Duration::from_secs(5),
    )
    .unwrap();
    PolicyEngine::new(client, &config, Metrics::new())
}

#[tokio::test(flavor = "current_thread")]
async fn a_state_change_is_logged_once_not_per_request() {
    let warnings = Arc::new(AtomicUsize::new(0));
    let _guard = tracing::subscriber::set_default(
        tracing_subscriber::registry().with(CountWarnings(warnings.clone())),
    );
    let engine = engine_for_down_grafana();
    for _ in 0..5 {
        let refusal = engine.permit_users().await.unwrap_err();
        assert_eq!(refusal.check, check::SAML);
    }
    // `saml` and `team_sync` went undetermined: one warning each.
    assert_eq!(warnings.load(Ordering::SeqCst), 2);
    let text = engine.metrics().render();
    assert!(text.contains(r#"scim_sidecar_policy_refusals_total{check="saml"} 5"#), "{text}");
    assert!(text.contains(r#"scim_sidecar_policy_state{check="strict_saml_only"} 1"#), "{text}");
}

#[tokio::test]
async fn group_sync_off_refuses_groups_without_asking_grafana() {
    let mut engine = engine_for_down_grafana();
    let mut config = engine.inner.config.clone();
    config.group_sync = false;
    if let Some(inner) = Arc::get_mut(&mut engine.inner) {
        inner.config = config;
    }
    let refusal = engine.permit_groups().await.unwrap_err();
    assert_eq!(refusal.check, check::GROUP_SYNC);
    assert!(engine.inner.last.read().unwrap().is_none());
}
