//! The SAML login gate: intercepts `POST <acs_path>` before Grafana sees it.
//!
//! A login passes only when the SAML response verifies ([`verify`]: signatures against the IdP
//! metadata ([`metadata`]), the wrapping family screened out, audience, validity window,
//! recipient and destination) and the store allows the person ([`decide`]). A passing request is
//! forwarded to Grafana byte for byte (same head, same body); a refused one gets a page
//! ([`respond`]), a log line with the reason and a `saml_gate_decisions{kind}` count.
//!
//! The gate fails closed: without IdP metadata, with an encrypted assertion and no SP key, or with
//! the store unavailable, nobody logs in. Our SP entity id is `audience` (default
//! `<grafana.url>/saml/metadata`); our ACS URL is the audience with `/saml/metadata` replaced by
//! `acs_path` (or `<grafana.url><acs_path>` for any other audience).
//!
//! Who the assertion names is read as Grafana documents its `[auth.saml]` settings
//! (`saml-configuration-options`): `assertion_attribute_login` and `assertion_attribute_email`
//! (our `login_attribute` / `email_attribute`, both defaulting to `mail` like Grafana's) name an
//! attribute by its `Name` or its `FriendlyName`, and the first non-blank value counts;
//! `external_uid_attribute` (default `userUID`) likewise. As in Grafana's user model, a missing
//! login is taken from the email and a missing email from the login. The NameID is not read:
//! Grafana documents no NameID fallback and asks for transient NameIDs by default, so a NameID is
//! not an identity Grafana would resolve, and matching on it could clear a person as provisioned
//! whom Grafana then logs in as somebody else. An assertion with neither attribute is refused,
//! since the gate could not tell which account Grafana would pick.
//!
//! This module does not create, change or delete users; it only reads the store.

pub mod decide;
pub mod metadata;
pub mod respond;
pub mod verify;

use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use tracing::{info, warn};

use crate::body::{read_capped, Body, ReadError};
use crate::config::SamlGateConfig;
use crate::metrics::{KindLabels, Metrics};
use crate::proxy::{ClientInfo, Forwarder};
use crate::store::{MappingStore, UserRecord};

use decide::{Decision, Identity, Refusal};
use metadata::{MetadataError, Source};
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
    audience: String,
    acs_url: String,
    max_body_bytes: usize,
    sp_key: Option<SpKey>,
    metadata: Source,
    store: Arc<dyn MappingStore>,
    metrics: Metrics,
}

impl std::fmt::Debug for LoginGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginGate").field("audience", &self.audience).field("acs_url", &self.acs_url).finish()
    }
}

/// Our SP entity id and ACS URL (see the module docs).
pub fn sp_urls(cfg: &SamlGateConfig, grafana_url: &str) -> (String, String) {
    let base = grafana_url.trim_end_matches('/');
    let audience = cfg.audience.clone().unwrap_or_else(|| format!("{base}/saml/metadata"));
    let acs = match audience.strip_suffix("/saml/metadata") {
        Some(root) => format!("{root}{}", cfg.acs_path),
        None => format!("{base}{}", cfg.acs_path),
    };
    (audience, acs)
}

impl LoginGate {
    /// Builds the gate, or `None` when it is disabled. Missing or unusable IdP metadata does not
    /// fail start-up: the gate then refuses every login (and says so in its log).
    ///
    /// # Errors
    /// When `sp_private_key_file` is set but unreadable.
    pub fn from_config(
        cfg: &SamlGateConfig,
        grafana_url: &str,
        max_body_bytes: usize,
        store: Arc<dyn MappingStore>,
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
        let metadata = static_source(cfg).unwrap_or_else(|| Source::Url {
            url: cfg.idp_metadata_url.clone().unwrap_or_default(),
            client: None,
            cache: tokio::sync::Mutex::new(None),
        });
        if let Source::Static(Err(e)) = &metadata {
            warn!(error = %e, "saml gate has no usable idp metadata: every saml login will be refused");
        }
        let (audience, acs_url) = sp_urls(cfg, grafana_url);
        Ok(Some(Self {
            config: cfg.clone(),
            audience,
            acs_url,
            max_body_bytes,
            sp_key,
            metadata,
            store,
            metrics,
        }))
    }

    /// Gives the gate the outbound client it fetches `idp_metadata_url` with.
    #[must_use]
    pub fn with_http_client(mut self, http: crate::upstream::UpstreamClient) -> Self {
        if let Source::Url { client, .. } = &mut self.metadata {
            *client = Some(Box::new(http));
        }
        self
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
        let bytes = match read_capped(incoming, self.max_body_bytes).await {
            Ok(b) => b,
            Err(e) => {
                self.count("invalid");
                warn!(error = %e, "saml login refused: unreadable body");
                return respond::bad_request(matches!(e, ReadError::TooLarge { .. }));
            }
        };
        match self.check(&bytes).await {
            Ok(()) => {
                self.count("forwarded");
                forwarder.forward(Request::from_parts(parts, Full::new(bytes)), peer).await
            }
            Err(None) => {
                self.count("invalid");
                respond::bad_request(false)
            }
            Err(Some(refusal)) => {
                self.count(refusal.metric_kind());
                respond::refusal(refusal)
            }
        }
    }

    /// `Err(None)`: not a SAML post at all; `Err(Some(_))`: refused.
    async fn check(&self, body: &Bytes) -> Result<(), Option<Refusal>> {
        let Some(value) = form_urlencoded::parse(body).find(|(k, _)| k == "SAMLResponse").map(|(_, v)| v)
        else {
            warn!("saml login refused: no SAMLResponse field");
            return Err(None);
        };
        let keys = self.metadata.keys().await.map_err(|e| {
            warn!(error = %e, "saml login refused: no idp metadata");
            Some(Refusal::Unavailable)
        })?;
        let trust = Trust {
            certs: keys.certs.clone(),
            idp_entity_id: keys.entity_id.clone(),
            audience: self.audience.clone(),
            acs_url: self.acs_url.clone(),
            max_clock_skew: chrono::Duration::from_std(self.config.max_clock_skew)
                .unwrap_or(chrono::Duration::seconds(90)),
            sp_key: self.sp_key.clone(),
        };
        let value = value.into_owned();
        let verified = tokio::task::spawn_blocking(move || {
            let xml = verify::decode_saml_response(&value)?;
            verify::verify(&xml, &trust, chrono::Utc::now())
        })
        .await;
        let facts = match verified {
            Ok(Ok(facts)) => facts,
            Ok(Err(e)) => {
                warn!(reason = %e, "saml login refused: response invalid");
                return Err(Some(Refusal::Invalid));
            }
            Err(e) => {
                warn!(error = %e, "saml login refused: verification aborted");
                return Err(Some(Refusal::Invalid));
            }
        };
        let identity = read_identity(&facts, &self.config);
        if identity.login.is_none() && identity.email.is_none() {
            warn!("saml login refused: assertion has neither the login nor the email attribute");
            return Err(Some(Refusal::Invalid));
        }
        let candidates = self.candidates(&identity).await.map_err(|e| {
            warn!(error = %e, "saml login refused: store unavailable");
            Some(Refusal::Unavailable)
        })?;
        match decide::decide(&identity, &candidates, self.config.reject_non_provisioned_users) {
            Decision::Forward => {
                info!(login = ?identity.login, "saml login allowed");
                Ok(())
            }
            Decision::Refuse(r) => {
                warn!(reason = r.metric_kind(), login = ?identity.login, "saml login refused");
                Err(Some(r))
            }
        }
    }

    async fn candidates(&self, identity: &Identity) -> Result<Vec<UserRecord>, crate::store::StoreError> {
        let mut found = Vec::new();
        if let Some(login) = &identity.login {
            found.extend(self.store.users_by_user_name_any_org(login).await?);
        }
        if let Some(email) = &identity.email {
            found.extend(self.store.users_by_email(email).await?);
        }
        Ok(found)
    }

    fn count(&self, kind: &'static str) {
        self.metrics.gate_decisions.get_or_create(&KindLabels { kind }).inc();
    }
}

/// Reads who the assertion names, as Grafana reads it (see the module docs): each setting names an
/// attribute by `Name` or `FriendlyName`; a missing login is the email and a missing email is the
/// login. The NameID is never used.
pub fn read_identity(facts: &verify::Facts, cfg: &SamlGateConfig) -> Identity {
    let attr = |name: &str| facts.attribute(name).map(str::to_string);
    let login = attr(&cfg.login_attribute);
    let email = attr(&cfg.email_attribute);
    let (login, email) = (login.clone().or_else(|| email.clone()), email.or(login));
    Identity {
        external_uid: attr(&cfg.external_uid_attribute),
        login,
        email: email.map(|e| e.to_lowercase()),
    }
}

fn static_source(cfg: &SamlGateConfig) -> Option<Source> {
    let loaded = if let Some(xml) = &cfg.idp_metadata_xml {
        metadata::parse(xml)
    } else if let Some(path) = &cfg.idp_metadata_file {
        std::fs::read_to_string(path).map_err(MetadataError::from).and_then(|x| metadata::parse(&x))
    } else if cfg.idp_metadata_url.is_some() {
        return None;
    } else {
        Err(MetadataError::NotConfigured)
    };
    Some(Source::Static(loaded.map(Arc::new).map_err(Arc::new)))
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

    #[test]
    fn defaults_read_mail_for_login_and_email() {
        let cfg = SamlGateConfig::default();
        let f = facts(&[("mail", None, "Ann@Example.com"), ("userUID", None, "u-1")]);
        assert_eq!(
            read_identity(&f, &cfg),
            who(Some("Ann@Example.com"), Some("ann@example.com"), Some("u-1"))
        );
    }

    #[test]
    fn attributes_match_by_name_or_friendly_name() {
        let cfg = SamlGateConfig {
            login_attribute: "login".into(),
            email_attribute: "email".into(),
            ..SamlGateConfig::default()
        };
        let f = facts(&[
            ("urn:oid:0.9.2342.19200300.100.1.1", Some("login"), "ann"),
            ("email", None, "ann@example.com"),
        ]);
        assert_eq!(read_identity(&f, &cfg), who(Some("ann"), Some("ann@example.com"), None));
    }

    #[test]
    fn a_missing_login_or_email_is_taken_from_the_other() {
        let cfg = SamlGateConfig {
            login_attribute: "login".into(),
            email_attribute: "email".into(),
            ..SamlGateConfig::default()
        };
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
        let cfg = SamlGateConfig::default();
        assert_eq!(read_identity(&facts(&[("displayName", None, "Ann")]), &cfg), who(None, None, None));
    }
}
