//! The SAML login gate against the real sidecar, the Grafana emulator and responses signed and
//! encrypted by `xmlsec1` (an independent SAML implementation).

use std::sync::Arc;

use chrono::{Duration, Utc};
use grafana_emulator::{Emulator, EmulatorHandle, EmulatorOptions};
use http::Request;
use scim_sidecar::config::{Config, SamlGateConfig, Secret};
use scim_sidecar::store::{self, MappingStore, UserRecord};
use tempfile::TempDir;

use crate::support::client::{body_string, get, http1};
use crate::support::saml::{self, Claims, Content, KeyPair};
use crate::support::sidecar::{grafana_config, server_config, spawn_sidecar, ProxyHandle};

pub(crate) struct Env {
    pub(crate) dir: TempDir,
    pub(crate) idp: KeyPair,
    pub(crate) emu: EmulatorHandle,
    pub(crate) sidecar: ProxyHandle,
    pub(crate) store: Arc<dyn MappingStore>,
}

async fn env(reject_non_provisioned: bool, with_sp_key: bool) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let idp = KeyPair::generate(dir.path(), "idp");
    let sp = KeyPair::generate(dir.path(), "sp");
    let emu = Emulator::start(EmulatorOptions::default()).await.unwrap();
    let url = format!("sqlite://{}", dir.path().join("sidecar.db").display());
    let store = store::open(&url, 2).await.unwrap();
    let saml_gate = SamlGateConfig {
        enabled: true,
        reject_non_provisioned_users: reject_non_provisioned,
        idp_metadata_xml: Some(saml::idp_metadata(&idp)),
        audience: Some(saml::AUDIENCE.into()),
        sp_private_key_file: with_sp_key.then(|| sp.key.clone()),
        // Everything configured: these tests never depend on what Grafana says.
        external_uid_attribute: Some("userUID".into()),
        login_attribute: Some("mail".into()),
        email_attribute: Some("mail".into()),
        ..SamlGateConfig::default()
    };
    start_env(dir, idp, emu, store, url, saml_gate).await
}

/// Starts the sidecar in front of `emu` with `saml_gate` and the store at `url`.
pub(crate) async fn start_env(
    dir: TempDir,
    idp: KeyPair,
    emu: EmulatorHandle,
    store: Arc<dyn MappingStore>,
    url: String,
    saml_gate: SamlGateConfig,
) -> Env {
    let mut config = Config {
        server: server_config(),
        grafana: grafana_config(&emu.url()),
        saml_gate,
        ..Config::default()
    };
    config.store.url = Secret::new(url);
    let sidecar = spawn_sidecar(config).await;
    Env { dir, idp, emu, sidecar, store }
}

impl Env {
    fn sp(&self) -> KeyPair {
        KeyPair { key: self.dir.path().join("sp.key.pem"), cert: self.dir.path().join("sp.cert.pem") }
    }

    pub(crate) async fn add_user(&self, email: &str, external_id: Option<&str>, active: bool, deleted: bool) {
        let now = Utc::now();
        let n = self.store.count_users(1).await.unwrap() + 100;
        let rec = UserRecord {
            scim_id: uuid::Uuid::new_v4().to_string(),
            org_id: 1,
            grafana_user_id: n,
            grafana_uid: None,
            user_name: email.into(),
            external_id: external_id.map(str::to_string),
            email: Some(email.into()),
            active,
            deleted,
            managed: true,
            attributes: serde_json::json!({}),
            restore: None,
            created: now,
            last_modified: now,
            version: 1,
        };
        self.store.insert_user(&rec).await.unwrap();
    }

    /// An assertion for `claims` signed by the IdP, in a Response.
    pub(crate) fn signed_response(&self, claims: &Claims) -> String {
        let xml = saml::response(&saml::assertion(claims, "a-1", true), false);
        saml::sign(self.dir.path(), &xml, &self.idp)
    }

    /// Posts `xml` to the ACS; returns the status, the body and the exact bytes sent.
    pub(crate) async fn post(&self, xml: &str) -> (u16, String, String) {
        self.post_to("/saml/acs", xml).await
    }

    /// [`Self::post`] to `path`, another spelling of the ACS path.
    async fn post_to(&self, path: &str, xml: &str) -> (u16, String, String) {
        let form = saml::form_body(xml);
        let (status, body) = self.post_raw(path, Some("application/x-www-form-urlencoded"), &form).await;
        (status, body, form)
    }

    /// Posts `body` to `path_and_query` with `content_type`; returns the status and the body.
    pub(crate) async fn post_raw(
        &self,
        path_and_query: &str,
        content_type: Option<&str>,
        body: &str,
    ) -> (u16, String) {
        let mut req = Request::post(format!("{}{path_and_query}", self.sidecar.url));
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let res =
            http1().request(req.body(scim_sidecar::body::full(body.to_string())).unwrap()).await.unwrap();
        let status = res.status().as_u16();
        (status, body_string(res).await)
    }

    pub(crate) async fn metric(&self, kind: &str) -> bool {
        let res = get(&http1(), &format!("{}/metrics", self.sidecar.admin_url)).await;
        body_string(res)
            .await
            .contains(&format!("scim_sidecar_saml_gate_decisions_total{{kind=\"{kind}\"}} 1"))
    }

    pub(crate) async fn assert_forwarded(&self, xml: &str) {
        let (status, _, sent) = self.post(xml).await;
        assert_eq!(status, 302, "grafana's redirect comes back");
        let posts = self.emu.acs_posts();
        assert_eq!(posts.len(), 1);
        assert_eq!(&posts[0].body[..], sent.as_bytes(), "forwarded byte for byte");
        assert!(posts[0]
            .headers
            .iter()
            .any(|(k, v)| k == "content-type" && v == "application/x-www-form-urlencoded"));
    }

    /// Asserts the refusal and returns its audit record.
    pub(crate) async fn assert_refused(&self, xml: &str, kind: &str) -> serde_json::Value {
        let (status, body, _) = self.post(xml).await;
        assert_eq!(status, 403, "{body}");
        assert!(body.contains("Sign-in refused"), "{body}");
        assert!(self.emu.acs_posts().is_empty(), "grafana never saw the login");
        assert!(self.metric(kind).await, "counted as {kind}");
        // One audit record, the newest, names the refusal.
        let res = get(&http1(), &format!("{}/audit?kind=login_gate", self.sidecar.admin_url)).await;
        let lines = body_string(res).await;
        let newest: serde_json::Value = serde_json::from_str(lines.lines().next().unwrap_or("null")).unwrap();
        assert_eq!(newest["outcome"], "refused", "{lines}");
        assert_eq!(newest["reason"], kind, "{lines}");
        assert_eq!(newest["actor"]["client"], "127.0.0.1", "{lines}");
        assert!(!lines.contains("SAMLResponse") && !lines.contains("Assertion"), "{lines}");
        newest
    }
}

#[tokio::test]
async fn provisioned_user_with_matching_uid_is_forwarded_unchanged() {
    let e = env(true, false).await;
    e.add_user("alice@example.com", Some("uid-alice"), true, false).await;
    let xml = e.signed_response(&Claims::new("alice@example.com", Some("uid-alice")));
    e.assert_forwarded(&xml).await;
    assert!(e.metric("forwarded").await);
}

#[tokio::test]
async fn signed_response_envelope_is_accepted() {
    let e = env(false, false).await;
    let c = Claims::new("bob@example.com", Some("uid-bob"));
    let xml = saml::response(&saml::assertion(&c, "a-1", false), true);
    e.assert_forwarded(&saml::sign(e.dir.path(), &xml, &e.idp)).await;
}

#[tokio::test]
async fn external_id_mismatch_is_refused_without_leaking_the_other_account() {
    let e = env(false, false).await;
    e.add_user("alice@example.com", Some("uid-alice"), true, false).await;
    let xml = e.signed_response(&Claims::new("alice@example.com", Some("uid-mallory")));
    let record = e.assert_refused(&xml, "externalid_mismatch").await;
    // The record names whom the verified assertion named.
    assert_eq!(record["subject"]["login"], "alice@example.com", "{record}");
    assert_eq!(record["subject"]["email"], "alice@example.com", "{record}");
    assert_eq!(record["subject"]["external_id"], "uid-mallory", "{record}");
    assert_eq!(record["user_name"], "alice@example.com", "{record}");
    let (_, body, _) = e.post(&xml).await;
    assert!(!body.contains("uid-alice") && !body.contains("alice@example.com"), "{body}");
}

#[tokio::test]
async fn deactivated_user_is_refused() {
    let e = env(false, false).await;
    e.add_user("carol@example.com", Some("uid-carol"), false, false).await;
    let xml = e.signed_response(&Claims::new("carol@example.com", Some("uid-carol")));
    let record = e.assert_refused(&xml, "deactivated").await;
    assert_eq!(record["subject"]["login"], "carol@example.com", "{record}");
    assert_eq!(record["subject"]["external_id"], "uid-carol", "{record}");
}

/// Grafana's router sends these spellings to its ACS handler too (each segment percent-decoded,
/// one trailing slash dropped): the gate sees them all.
#[tokio::test]
async fn deactivated_user_is_refused_at_every_spelling_of_the_acs_path() {
    let e = env(false, false).await;
    e.add_user("carol@example.com", Some("uid-carol"), false, false).await;
    let xml = e.signed_response(&Claims::new("carol@example.com", Some("uid-carol")));
    for path in ["/saml/acs/", "/saml/%61cs", "/%73aml/acs"] {
        let (status, body, _) = e.post_to(path, &xml).await;
        assert_eq!(status, 403, "{path}: {body}");
        assert!(body.contains("Sign-in refused"), "{path}: {body}");
    }
    assert!(e.emu.acs_posts().is_empty(), "grafana never saw the login");
}

/// Grafana reads a multipart body's parts, a query string when the body is not a form, and a
/// `SAMLart` artifact before any response: none of these may carry a refused person's login past
/// an allowed person's response that the gate verified. Only plain form posts are read.
#[tokio::test]
async fn only_plain_form_posts_reach_grafana() {
    let e = env(false, false).await;
    e.add_user("alice@example.com", Some("uid-alice"), true, false).await;
    e.add_user("carol@example.com", Some("uid-carol"), false, false).await;
    let allowed = saml::form_body(&e.signed_response(&Claims::new("alice@example.com", Some("uid-alice"))));
    let refused = saml::form_body(&e.signed_response(&Claims::new("carol@example.com", Some("uid-carol"))));
    let refused_value = refused.trim_start_matches("SAMLResponse=");
    let multipart = format!(
        "{allowed}&\r\n--b\r\nContent-Disposition: form-data; name=\"SAMLResponse\"\r\n\r\n{refused_value}\r\n--b--\r\n"
    );
    for (path, ct, body) in [
        ("/saml/acs", Some("multipart/form-data; boundary=b"), multipart.as_str()),
        (&*format!("/saml/acs?{refused}"), Some("text/plain"), allowed.as_str()),
        ("/saml/acs", None, allowed.as_str()),
        (
            "/saml/acs?SAMLart=AAQAAMFbLinkedArtifact",
            Some("application/x-www-form-urlencoded"),
            allowed.as_str(),
        ),
        ("/saml/acs", Some("application/x-www-form-urlencoded"), &*format!("{allowed}&SAMLart=AAQ")),
    ] {
        let (status, page) = e.post_raw(path, ct, body).await;
        assert_eq!(status, 400, "{ct:?} {path}: {page}");
        assert!(page.contains("Sign-in refused"), "{page}");
    }
    assert!(e.emu.acs_posts().is_empty(), "grafana saw none of them");
    // The plain form post of the allowed person still goes through.
    e.assert_forwarded(&e.signed_response(&Claims::new("alice@example.com", Some("uid-alice")))).await;
}

/// Found by the external UID: a deactivated person whom the IdP has renamed since is still
/// deactivated, whatever login and email the assertion now carries.
#[tokio::test]
async fn deactivated_user_renamed_at_the_idp_is_refused_by_external_uid() {
    let e = env(false, false).await;
    e.add_user("dan@example.com", Some("uid-dan"), false, false).await;
    let xml = e.signed_response(&Claims::new("daniel@example.com", Some("uid-dan")));
    e.assert_refused(&xml, "deactivated").await;
}

#[tokio::test]
async fn deleted_user_is_refused() {
    let e = env(false, false).await;
    e.add_user("dave@example.com", Some("uid-dave"), true, true).await;
    let xml = e.signed_response(&Claims::new("dave@example.com", Some("uid-dave")));
    e.assert_refused(&xml, "deactivated").await;
}

#[tokio::test]
async fn non_provisioned_user_is_refused_only_when_configured() {
    let strict = env(true, false).await;
    let xml = strict.signed_response(&Claims::new("eve@example.com", Some("uid-eve")));
    strict.assert_refused(&xml, "not_provisioned").await;

    let lax = env(false, false).await;
    let xml = lax.signed_response(&Claims::new("eve@example.com", Some("uid-eve")));
    lax.assert_forwarded(&xml).await;
}

#[tokio::test]
async fn assertion_without_login_or_email_attribute_is_refused_even_with_an_email_name_id() {
    let e = env(false, false).await;
    e.add_user("tom@example.com", Some("uid-tom"), true, false).await;
    let c = Claims::new("tom@example.com", Some("uid-tom"));
    let assertion = saml::assertion(&c, "a-1", true).replace(r#"Name="mail""#, r#"Name="nickname""#);
    let xml = saml::sign(e.dir.path(), &saml::response(&assertion, false), &e.idp);
    e.assert_refused(&xml, "invalid").await;
}

#[tokio::test]
async fn unsigned_response_is_refused() {
    let e = env(false, false).await;
    let xml = saml::response(&saml::assertion(&Claims::new("f@example.com", None), "a-1", false), false);
    let record = e.assert_refused(&xml, "invalid").await;
    // What an unverified assertion claims is not recorded as who tried.
    assert!(record.get("subject").is_none() && record.get("user_name").is_none(), "{record}");
}

#[tokio::test]
async fn response_signed_by_another_key_is_refused() {
    let e = env(false, false).await;
    let rogue = KeyPair::generate(e.dir.path(), "rogue");
    let xml = saml::response(&saml::assertion(&Claims::new("g@example.com", None), "a-1", true), false);
    e.assert_refused(&saml::sign(e.dir.path(), &xml, &rogue), "invalid").await;
}

#[tokio::test]
async fn tampered_signed_assertion_is_refused() {
    let e = env(false, false).await;
    let xml = e.signed_response(&Claims::new("h@example.com", Some("uid-h")));
    e.assert_refused(&xml.replace("uid-h", "uid-admin"), "invalid").await;
}

#[tokio::test]
async fn expired_assertion_is_refused() {
    let e = env(false, false).await;
    let c = Claims { valid_for: Duration::minutes(-10), ..Claims::new("i@example.com", None) };
    e.assert_refused(&e.signed_response(&c), "invalid").await;
}

#[tokio::test]
async fn wrong_audience_is_refused() {
    let e = env(false, false).await;
    let c = Claims { audience: "https://other-sp.example.com".into(), ..Claims::new("j@example.com", None) };
    e.assert_refused(&e.signed_response(&c), "invalid").await;
}

#[tokio::test]
async fn wrong_recipient_is_refused() {
    let e = env(false, false).await;
    let c =
        Claims { recipient: "https://other-sp.example.com/acs".into(), ..Claims::new("k@example.com", None) };
    e.assert_refused(&e.signed_response(&c), "invalid").await;
}

/// The signed assertion of a legitimate login, and an unsigned forgery for the victim.
fn wrapping_parts(e: &Env) -> (String, String) {
    let signed_doc = e.signed_response(&Claims::new("attacker@example.com", Some("uid-attacker")));
    let start = signed_doc.find("<saml:Assertion").unwrap();
    let end = signed_doc.find("</saml:Assertion>").unwrap() + "</saml:Assertion>".len();
    let signed = signed_doc[start..end].to_string();
    let forged = saml::assertion(&Claims::new("victim@example.com", Some("uid-victim")), "a-forged", false);
    (signed, forged)
}

#[tokio::test]
async fn wrapping_second_unsigned_assertion_before_the_signed_one_is_refused() {
    let e = env(false, false).await;
    let (signed, forged) = wrapping_parts(&e);
    e.assert_refused(&saml::response(&format!("{forged}{signed}"), false), "invalid").await;
}

#[tokio::test]
async fn wrapping_second_unsigned_assertion_after_the_signed_one_is_refused() {
    let e = env(false, false).await;
    let (signed, forged) = wrapping_parts(&e);
    e.assert_refused(&saml::response(&format!("{signed}{forged}"), false), "invalid").await;
}

#[tokio::test]
async fn wrapping_signed_assertion_moved_under_extensions_is_refused() {
    let e = env(false, false).await;
    let (signed, forged) = wrapping_parts(&e);
    let inner = format!("<samlp:Extensions>{signed}</samlp:Extensions>{forged}");
    let xml = saml::response(&inner, false).replace("<samlp:Status>", "").replace(
        "<samlp:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:Success\"/></samlp:Status>",
        "",
    );
    // Extensions must precede Status in the schema; put Status back after it.
    let xml = xml.replace(
        "</samlp:Extensions>",
        "</samlp:Extensions><samlp:Status><samlp:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:Success\"/></samlp:Status>",
    );
    e.assert_refused(&xml, "invalid").await;
}

#[tokio::test]
async fn wrapping_forged_assertion_reusing_the_signed_id_is_refused() {
    let e = env(false, false).await;
    let (signed, _) = wrapping_parts(&e);
    let forged = saml::assertion(&Claims::new("victim@example.com", Some("uid-victim")), "a-1", false);
    let inner = format!("<samlp:Extensions>{signed}</samlp:Extensions>{forged}");
    e.assert_refused(&saml::response(&inner, false), "invalid").await;
}

fn encrypted_response(e: &Env, claims: &Claims) -> String {
    encrypted_response_with(e, claims, Content::Aes128Gcm)
}

/// A response whose assertion is signed by the IdP, then encrypted for the SP with `content`.
fn encrypted_response_with(e: &Env, claims: &Claims, content: Content) -> String {
    let inner = format!(
        "<saml:EncryptedAssertion>{}</saml:EncryptedAssertion>",
        saml::assertion(claims, "a-1", true)
    );
    let signed = saml::sign(e.dir.path(), &saml::response(&inner, false), &e.idp);
    saml::encrypt_assertion_with(e.dir.path(), &signed, &e.sp(), content)
}

#[tokio::test]
async fn encrypted_assertion_is_decrypted_with_the_sp_key() {
    let e = env(true, true).await;
    e.add_user("lena@example.com", Some("uid-lena"), true, false).await;
    let xml = encrypted_response(&e, &Claims::new("lena@example.com", Some("uid-lena")));
    assert!(xml.contains("EncryptedData") && !xml.contains("uid-lena"));
    e.assert_forwarded(&xml).await;
}

#[tokio::test]
async fn aes128_cbc_encrypted_assertion_is_decrypted_with_the_sp_key() {
    let e = env(true, true).await;
    e.add_user("olga@example.com", Some("uid-olga"), true, false).await;
    let xml =
        encrypted_response_with(&e, &Claims::new("olga@example.com", Some("uid-olga")), Content::Aes128Cbc);
    assert!(xml.contains("xmlenc#aes128-cbc") && !xml.contains("uid-olga"));
    e.assert_forwarded(&xml).await;
}

#[tokio::test]
async fn aes256_cbc_encrypted_assertion_is_decrypted_with_the_sp_key() {
    let e = env(true, true).await;
    e.add_user("paul@example.com", Some("uid-paul"), true, false).await;
    let xml =
        encrypted_response_with(&e, &Claims::new("paul@example.com", Some("uid-paul")), Content::Aes256Cbc);
    assert!(xml.contains("xmlenc#aes256-cbc") && !xml.contains("uid-paul"));
    e.assert_forwarded(&xml).await;
}

#[tokio::test]
async fn aes256_cbc_encrypted_assertion_of_a_deactivated_user_is_refused() {
    let e = env(false, true).await;
    e.add_user("quinn@example.com", Some("uid-quinn"), false, false).await;
    let xml =
        encrypted_response_with(&e, &Claims::new("quinn@example.com", Some("uid-quinn")), Content::Aes256Cbc);
    e.assert_refused(&xml, "deactivated").await;
}

#[tokio::test]
async fn tampered_cbc_ciphertext_is_refused_cleanly() {
    // 40: inside the body (garbles a block); 0: the last byte (breaks the padding length).
    for (content, pos) in [(Content::Aes128Cbc, 40), (Content::Aes256Cbc, 40), (Content::Aes256Cbc, 0)] {
        let e = env(false, true).await;
        let xml = encrypted_response_with(&e, &Claims::new("rob@example.com", Some("uid-rob")), content);
        e.assert_refused(&saml::flip_content_cipher_byte(&xml, pos), "invalid").await;
    }
}

/// `xml` with the key transport's `EncryptionMethod` declaring `digest` as its OAEP digest
/// (`xmlsec1` wraps the key with SHA-1 and, in this version, writes no `DigestMethod`).
fn with_key_digest(xml: &str, digest: &str) -> String {
    let empty = r#"<xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"/>"#;
    assert!(xml.contains(empty), "xmlsec1 wrote the key transport without children");
    let declared = format!(
        r#"<xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"><ds:DigestMethod xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Algorithm="{digest}"/></xenc:EncryptionMethod>"#
    );
    xml.replacen(empty, &declared, 1)
}

#[tokio::test]
async fn key_transport_digest_method_is_honoured() {
    // Naming SHA-1, the default, changes nothing. SHA-256 is accepted, but this key was wrapped
    // with SHA-1, so it does not unwrap. Any other digest is refused by name.
    for (digest, passes) in [
        ("http://www.w3.org/2000/09/xmldsig#sha1", true),
        ("http://www.w3.org/2001/04/xmlenc#sha256", false),
        ("http://www.w3.org/2001/04/xmldsig-more#md5", false),
    ] {
        let e = env(true, true).await;
        e.add_user("tess@example.com", Some("uid-tess"), true, false).await;
        let xml = with_key_digest(
            &encrypted_response(&e, &Claims::new("tess@example.com", Some("uid-tess"))),
            digest,
        );
        if passes {
            e.assert_forwarded(&xml).await;
        } else {
            e.assert_refused(&xml, "invalid").await;
        }
    }
}

#[tokio::test]
async fn tampered_gcm_ciphertext_is_refused_cleanly() {
    let e = env(false, true).await;
    let xml = encrypted_response(&e, &Claims::new("sam@example.com", Some("uid-sam")));
    e.assert_refused(&saml::flip_content_cipher_byte(&xml, 40), "invalid").await;
}

#[tokio::test]
async fn encrypted_assertion_with_a_mismatched_uid_is_refused() {
    let e = env(false, true).await;
    e.add_user("lena@example.com", Some("uid-lena"), true, false).await;
    let xml = encrypted_response(&e, &Claims::new("lena@example.com", Some("uid-other")));
    e.assert_refused(&xml, "externalid_mismatch").await;
}

#[tokio::test]
async fn encrypted_assertion_without_an_sp_key_fails_closed() {
    let e = env(false, false).await;
    let xml = encrypted_response(&e, &Claims::new("mia@example.com", Some("uid-mia")));
    e.assert_refused(&xml, "invalid").await;
}

#[tokio::test]
async fn unsigned_encrypted_assertion_is_refused() {
    let e = env(false, true).await;
    let c = Claims::new("ned@example.com", None);
    let inner =
        format!("<saml:EncryptedAssertion>{}</saml:EncryptedAssertion>", saml::assertion(&c, "a-1", false));
    let xml = saml::encrypt_assertion(e.dir.path(), &saml::response(&inner, false), &e.sp());
    e.assert_refused(&xml, "invalid").await;
}

#[tokio::test]
async fn gate_without_idp_metadata_fails_closed() {
    let emu = Emulator::start(EmulatorOptions::default()).await.unwrap();
    // Grafana's inline metadata is redacted and its URL unreachable: nothing is readable.
    save_grafana_saml(
        &emu,
        serde_json::json!({"idpMetadata": "*********", "idpMetadataUrl": "http://127.0.0.1:1/metadata"}),
    );
    let saml_gate = SamlGateConfig { enabled: true, ..SamlGateConfig::default() };
    let sidecar = spawn_sidecar(Config {
        server: server_config(),
        grafana: grafana_config(&emu.url()),
        saml_gate,
        ..Config::default()
    })
    .await;
    let req = Request::post(format!("{}/saml/acs", sidecar.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(scim_sidecar::body::full(saml::form_body("<x/>")))
        .unwrap();
    let res = http1().request(req).await.unwrap();
    assert_eq!(res.status(), 503);
    assert!(emu.acs_posts().is_empty());
}

/// Saves Grafana's SAML SSO settings (as a PUT to `/api/v1/sso-settings/saml` would): enabled,
/// plus `extra`.
pub(crate) fn save_grafana_saml(emu: &EmulatorHandle, extra: serde_json::Value) {
    let mut settings = serde_json::json!({"enabled": true, "name": "SAML", "allowSignUp": true});
    for (k, v) in extra.as_object().unwrap() {
        settings[k] = v.clone();
    }
    let map = settings.as_object().unwrap().clone();
    emu.with_state(|s| s.sso.save("saml", map, "saml-1".into()));
}
