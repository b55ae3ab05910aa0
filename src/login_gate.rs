//! The SAML login gate: intercepts `POST <acs_path>` before Grafana sees it.
//!
//! A login passes only when the SAML response verifies ([`verify`]: signatures against the IdP
//! metadata ([`metadata`]), the wrapping family screened out, audience, validity window,
//! recipient and destination) and the store allows the person ([`decide`]). Only URL-encoded
//! posts without an artifact are read, so that Grafana reads the very response the gate verified
//! ([`form`]). A passing request is forwarded to Grafana byte for byte (same head, same body); a
//! refused one gets a page ([`respond`]), a log line with the reason and a
//! `saml_gate_decisions{kind}` count.
//!
//! The gate fails closed: without IdP metadata, with an encrypted assertion and no SP key, with
//! Grafana's SAML settings needed but unreadable, or with the store unavailable, nobody logs in.
//!
//! Every value the gate checks against ([`settings`]) is `[saml_gate]`'s when set, else
//! Grafana's own, else Grafana's default, read from the cached policy report (so a login waits on
//! a slow Grafana at most `[policy] check_timeout`): the audience is the `entityID` of Grafana's
//! `/saml/metadata` and the ACS URL its HTTP-POST ACS (default `<grafana.url>/saml/metadata` and
//! `<grafana.url><acs_path>`; a configured audience implies the ACS URL with `/saml/metadata`
//! replaced by `acs_path`), the IdP metadata is what Grafana's SAML settings carry.
//!
//! Who the assertion names is read as Grafana documents its `[auth.saml]` settings
//! (`saml-configuration-options`): `assertion_attribute_login` and `assertion_attribute_email`
//! (default `mail`) name an attribute by its `Name` or its `FriendlyName`, and the first
//! non-blank value counts; `assertion_attribute_external_uid` (default `userUID`) likewise. As in Grafana's user model, a missing
//! login is taken from the email and a missing email from the login. The NameID is not read:
//! Grafana documents no NameID fallback and asks for transient NameIDs by default, so a NameID is
//! not an identity Grafana would resolve, and matching on it could clear a person as provisioned
//! whom Grafana then logs in as somebody else. An assertion with neither attribute is refused,
//! since the gate could not tell which account Grafana would pick.
//!
//! This module does not create, change or delete users; it only reads the store.

mod audit;
pub mod decide;
pub mod form;
pub mod metadata;
pub mod resolve;
pub mod respond;
pub mod settings;
pub mod verify;

use std::sync::Arc;

use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use tracing::{info, warn};

use crate::body::{read_capped, Body, ReadError};
use crate::config::SamlGateConfig;
use crate::metrics::{KindLabels, Metrics};
use crate::policy::PolicyEngine;
use crate::proxy::{ClientInfo, Forwarder};
use crate::store::MappingStore;

use decide::{Decision, Identity, Refusal};
use metadata::{MetadataError, Source};
use settings::{AttributeNames, GateSettings};
use verify::{SpKey, Trust};

/// Why the gate could not be built.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    #[error("cannot read sp_private_key_file: {0}")]
    KeyFile(#[source] std::io::Error),
    #[error("sp_private_key_file is not a PEM private key")]
    KeyParse,
}

/// The gate, built once per process when `[saml_gate] enabled`.
pub struct LoginGate {
    config: SamlGateConfig,
    grafana_url: String,
    policy: PolicyEngine,
    max_body_bytes: usize,
    sp_key: Option<SpKey>,
    metadata: Source,
    store: Arc<dyn MappingStore>,
    grafana: crate::grafana::GrafanaClient,
    metrics: Metrics,
    /// Bounds logins being checked at once (metadata fetch, blocking verification, lookups).
    verifying: Arc<tokio::sync::Semaphore>,
    /// Where refused logins are recorded (disabled until [`LoginGate::with_auditor`]).
    auditor: crate::audit::Auditor,
}

impl std::fmt::Debug for LoginGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginGate").field("config", &self.config).finish_non_exhaustive()
    }
}

impl LoginGate {
    /// Builds the gate, or `None` when it is disabled. Missing or unusable IdP metadata does not
    /// fail start-up: the gate then refuses every login (and says so in its log). `policy`
    /// supplies what Grafana says for every value `cfg` leaves unset.
    ///
    /// # Errors
    /// When `sp_private_key_file` is set but unreadable.
    pub fn from_config(
        cfg: &SamlGateConfig,
        grafana_url: &str,
        max_body_bytes: usize,
        store: Arc<dyn MappingStore>,
        grafana: crate::grafana::GrafanaClient,
        policy: PolicyEngine,
        metrics: Metrics,
    ) -> Result<Option<Self>, GateError> {
        if !cfg.enabled {
            return Ok(None);
        }
        let sp_key = match &cfg.sp_private_key_file {
            Some(path) => {
                let pem = std::fs::read(path).map_err(GateError::KeyFile)?;
                Some(SpKey::private_key_from_pem(&pem).map_err(|_| GateError::KeyParse)?)
            }
            None => None,
        };
        let metadata = static_source(cfg);
        if let Source::Static(Err(e)) = &metadata {
            warn!(error = %e, "saml gate has no usable idp metadata: every saml login will be refused");
        }
        Ok(Some(Self {
            config: cfg.clone(),
            grafana_url: grafana_url.to_string(),
            policy,
            max_body_bytes: max_body_bytes.min(cfg.max_post_bytes),
            sp_key,
            metadata,
            store,
            grafana,
            metrics,
            verifying: Arc::new(tokio::sync::Semaphore::new(cfg.max_concurrent_verifications.max(1))),
            auditor: crate::audit::Auditor::disabled(),
        }))
    }

    /// Gives the gate the outbound client it fetches IdP metadata URLs with.
    #[must_use]
    pub fn with_http_client(mut self, http: crate::upstream::UpstreamClient) -> Self {
        self.metadata.set_client(http);
        self
    }

    /// The same gate, recording refused logins through `auditor`.
    #[must_use]
    pub fn with_auditor(mut self, auditor: crate::audit::Auditor) -> Self {
        self.auditor = auditor;
        self
    }

    /// The settings in force now: `[saml_gate]`, then the cached policy report's view of
    /// Grafana (asked for only when some value is unset), then Grafana's defaults.
    pub async fn settings(&self) -> (GateSettings, Option<Arc<crate::policy::PolicyReport>>) {
        let report =
            if settings::needs_grafana(&self.config) { Some(self.policy.report().await) } else { None };
        let resolved = settings::resolve(&self.config, &self.grafana_url, report.as_ref().map(|r| &r.saml));
        (resolved, report)
    }

    /// The configured ACS path (the router sends `POST` there to [`LoginGate::handle`]).
    pub fn acs_path(&self) -> &str {
        &self.config.acs_path
    }

    /// Checks one ACS post and forwards it unchanged, or answers with a refusal page.
    pub async fn handle(
        &self,
        req: Request<Incoming>,
        peer: ClientInfo,
        forwarder: &Forwarder,
    ) -> Response<Body> {
        let (parts, incoming) = req.into_parts();
        if let Err(e) = form::check_head(&parts) {
            return self.not_a_form_post(e);
        }
        let bytes = match read_capped(incoming, self.max_body_bytes).await {
            Ok(b) => b,
            Err(e) => {
                self.count("invalid");
                warn!(error = %e, "saml login refused: unreadable body");
                return match e {
                    ReadError::TimedOut { .. } => respond::too_slow(),
                    e => respond::bad_request(matches!(e, ReadError::TooLarge { .. })),
                };
            }
        };
        let value = match form::saml_response(&bytes) {
            Ok(v) => v.into_owned(),
            Err(e) => return self.not_a_form_post(e),
        };
        // Never an unbounded queue: past the limit the login is turned away at once.
        let Ok(_permit) = self.verifying.clone().try_acquire_owned() else {
            self.count("busy");
            warn!("saml login refused: too many logins being verified");
            audit::record(&self.auditor, &parts, peer, Refusal::Unavailable, None);
            return respond::refusal(Refusal::Unavailable);
        };
        match self.check(value).await {
            Ok(()) => {
                self.count("forwarded");
                forwarder.forward(Request::from_parts(parts, Full::new(bytes)), peer).await
            }
            Err((refusal, who)) => {
                self.count(refusal.metric_kind());
                audit::record(&self.auditor, &parts, peer, refusal, who.as_ref());
                respond::refusal(refusal)
            }
        }
    }

    /// The answer to a post that is not a SAML response form post the gate reads ([`form`]).
    fn not_a_form_post(&self, e: form::FormError) -> Response<Body> {
        self.count("invalid");
        warn!(reason = ?e, "saml login refused: not a saml response form post");
        match e {
            form::FormError::NoResponse => respond::bad_request(false),
            form::FormError::NotUrlEncoded | form::FormError::Artifact => respond::unsupported_post(),
        }
    }

    /// Verifies the SAML response `value` and decides whether its person may sign in. A refusal
    /// comes with the person the verified assertion named, once known.
    async fn check(&self, value: String) -> Result<(), (Refusal, Option<Identity>)> {
        let mut who = None;
        self.check_as(value, &mut who).await.map_err(|r| (r, who))
    }

    async fn check_as(&self, value: String, who: &mut Option<Identity>) -> Result<(), Refusal> {
        let (settings, report) = self.settings().await;
        if settings.grafana_unreadable {
            warn!("saml login refused: grafana's saml settings cannot be read and [saml_gate] does not set them all");
            return Err(Refusal::Unavailable);
        }
        let from_grafana = report.as_ref().and_then(|r| r.saml.idp_metadata.as_ref());
        let keys = self.metadata.keys(from_grafana).await.map_err(|e| {
            warn!(error = %e, "saml login refused: no idp metadata");
            Refusal::Unavailable
        })?;
        let trust = Trust {
            certs: keys.certs.clone(),
            idp_entity_id: keys.entity_id.clone(),
            audience: settings.audience.value.clone(),
            acs_url: settings.acs_url.value.clone(),
            max_clock_skew: chrono::Duration::from_std(self.config.max_clock_skew)
                .unwrap_or(chrono::Duration::seconds(90)),
            sp_key: self.sp_key.clone(),
        };
        let verified = tokio::task::spawn_blocking(move || {
            let xml = verify::decode_saml_response(&value)?;
            verify::verify(&xml, &trust, chrono::Utc::now())
        })
        .await;
        let facts = match verified {
            Ok(Ok(facts)) => facts,
            Ok(Err(e)) => {
                warn!(reason = %e, "saml login refused: response invalid");
                return Err(Refusal::Invalid);
            }
            Err(e) => {
                warn!(error = %e, "saml login refused: verification aborted");
                return Err(Refusal::Invalid);
            }
        };
        let identity = read_identity(&facts, &settings.attributes);
        *who = Some(identity.clone());
        if identity.login.is_none() && identity.email.is_none() {
            warn!("saml login refused: assertion has neither the login nor the email attribute");
            return Err(Refusal::Invalid);
        }
        let candidates =
            resolve::candidates(self.store.as_ref(), &self.grafana, &identity).await.map_err(|e| {
                warn!(error = %e, "saml login refused: cannot resolve the account");
                Refusal::Unavailable
            })?;
        match decide::decide(&identity, &candidates, self.config.reject_non_provisioned_users) {
            Decision::Forward => {
                info!(login = ?identity.login, "saml login allowed");
                Ok(())
            }
            Decision::Refuse(r) => {
                warn!(reason = r.metric_kind(), login = ?identity.login, "saml login refused");
                Err(r)
            }
        }
    }

    fn count(&self, kind: &'static str) {
        self.metrics.gate_decisions.get_or_create(&KindLabels { kind }).inc();
    }
}

/// Reads who the assertion names, as Grafana reads it (see the module docs): each setting names an
/// attribute by `Name` or `FriendlyName`; a missing login is the email and a missing email is the
/// login. The NameID is never used.
pub fn read_identity(facts: &verify::Facts, names: &AttributeNames) -> Identity {
    let attr = |name: &str| facts.attribute(name).map(str::to_string);
    let login = attr(&names.login.value);
    let email = attr(&names.email.value);
    let (login, email) = (login.clone().or_else(|| email.clone()), email.or(login));
    Identity { external_uid: attr(&names.external_uid.value), login, email: email.map(|e| e.to_lowercase()) }
}

/// The configured metadata source, or Grafana's settings when none is configured.
fn static_source(cfg: &SamlGateConfig) -> Source {
    let loaded = if let Some(xml) = &cfg.idp_metadata_xml {
        metadata::parse(xml)
    } else if let Some(path) = &cfg.idp_metadata_file {
        std::fs::read_to_string(path).map_err(MetadataError::from).and_then(|x| metadata::parse(&x))
    } else if let Some(url) = &cfg.idp_metadata_url {
        return Source::Url { url: url.clone(), fetcher: metadata::UrlCache::default() };
    } else {
        return Source::grafana();
    };
    Source::Static(loaded.map(Arc::new).map_err(Arc::new))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(attrs: &[(&str, Option<&str>, &str)]) -> verify::Facts {
        verify::Facts {
            assertion_id: "a-1".into(),
            name_id: Some("nameid@example.com".into()),
            attributes: attrs
                .iter()
                .map(|(n, f, v)| (Some(n.to_string()), f.map(str::to_string), vec![v.to_string()]))
                .collect(),
        }
    }

    fn who(login: Option<&str>, email: Option<&str>, uid: Option<&str>) -> Identity {
        Identity {
            external_uid: uid.map(str::to_string),
            login: login.map(str::to_string),
            email: email.map(str::to_string),
        }
    }

    fn names(login: &str, email: &str) -> AttributeNames {
        let cfg = SamlGateConfig {
            login_attribute: Some(login.into()),
            email_attribute: Some(email.into()),
            ..SamlGateConfig::default()
        };
        settings::resolve(&cfg, "http://g", None).attributes
    }

    #[test]
    fn defaults_read_mail_for_login_and_email() {
        let cfg = settings::resolve(&SamlGateConfig::default(), "http://g", None).attributes;
        let f = facts(&[("mail", None, "Ann@Example.com"), ("userUID", None, "u-1")]);
        assert_eq!(
            read_identity(&f, &cfg),
            who(Some("Ann@Example.com"), Some("ann@example.com"), Some("u-1"))
        );
    }

    #[test]
    fn attributes_match_by_name_or_friendly_name() {
        let cfg = names("login", "email");
        let f = facts(&[
            ("urn:oid:0.9.2342.19200300.100.1.1", Some("login"), "ann"),
            ("email", None, "ann@example.com"),
        ]);
        assert_eq!(read_identity(&f, &cfg), who(Some("ann"), Some("ann@example.com"), None));
    }

    #[test]
    fn a_missing_login_or_email_is_taken_from_the_other() {
        let cfg = names("login", "email");
        assert_eq!(
            read_identity(&facts(&[("email", None, "Ann@x.org")]), &cfg),
            who(Some("Ann@x.org"), Some("ann@x.org"), None)
        );
        assert_eq!(
            read_identity(&facts(&[("login", None, "Ann")]), &cfg),
            who(Some("Ann"), Some("ann"), None)
        );
    }

    #[test]
    fn the_name_id_is_never_used() {
        let cfg = names("mail", "mail");
        assert_eq!(read_identity(&facts(&[("displayName", None, "Ann")]), &cfg), who(None, None, None));
    }
}
