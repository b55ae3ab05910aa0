//! The login gate judges the account Grafana will sign into: Grafana's users found for the
//! assertion's email and login (as Grafana resolves them: lowercased, a login with `@` matching
//! emails too), then every store record of those users, whatever the store thinks their email is.

use grafana_emulator::{Emulator, EmulatorOptions};
use scim_sidecar::config::SamlGateConfig;
use scim_sidecar::store::{self, UserRecord};

use crate::login_gate::{start_env, Env};
use crate::support::saml::{self, Claims, KeyPair};

/// The gate reads the login from `login` and the email from `mail`.
async fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let idp = KeyPair::generate(dir.path(), "idp");
    let emu = Emulator::start(EmulatorOptions::default()).await.unwrap();
    let url = format!("sqlite://{}", dir.path().join("sidecar.db").display());
    let store = store::open(&url, 2).await.unwrap();
    let saml_gate = SamlGateConfig {
        enabled: true,
        idp_metadata_xml: Some(saml::idp_metadata(&idp)),
        audience: Some(saml::AUDIENCE.into()),
        external_uid_attribute: Some("userUID".into()),
        login_attribute: Some("login".into()),
        email_attribute: Some("mail".into()),
        ..SamlGateConfig::default()
    };
    start_env(dir, idp, emu, store, url, saml_gate).await
}

/// A managed record in org 1 for Grafana user `grafana_id`, with the store's idea of the email.
async fn record(e: &Env, grafana_id: i64, user_name: &str, email: &str, ext: &str, active: bool) {
    let now = chrono::Utc::now();
    let rec = UserRecord {
        scim_id: uuid::Uuid::new_v4().to_string(),
        org_id: 1,
        grafana_user_id: grafana_id,
        grafana_uid: None,
        user_name: user_name.into(),
        external_id: Some(ext.into()),
        email: Some(email.into()),
        active,
        deleted: false,
        managed: true,
        attributes: serde_json::json!({}),
        restore: None,
        created: now,
        last_modified: now,
        version: 1,
    };
    e.store.insert_user(&rec).await.unwrap();
}

/// A signed response with `mail` = `email`, `login` = `login` (when given) and the UID.
fn response(e: &Env, email: &str, login: Option<&str>, uid: Option<&str>) -> String {
    let mut assertion = saml::assertion(&Claims::new(email, uid), "a-1", true);
    if let Some(login) = login {
        let attr = format!(
            r#"<saml:Attribute Name="login"><saml:AttributeValue>{login}</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>"#
        );
        assertion = assertion.replace("</saml:AttributeStatement>", &attr);
    }
    saml::sign(e.dir.path(), &saml::response(&assertion, false), &e.idp)
}

/// SCIM changed Ann's email while Grafana kept the old one (SAML users cannot be updated through
/// the API): an assertion naming the old email lands in Ann's account, so her record decides.
#[tokio::test]
async fn stale_store_email_still_finds_the_grafana_account() {
    let e = env().await;
    let ann = e.emu.create_user("ann", "ann@old.example", "Ann");
    record(&e, ann, "ann", "ann@new.example", "uid-ann", true).await;
    // Somebody else's IdP account with Ann's old email, in any letter case, with and without a UID.
    for (email, uid) in [
        ("ann@old.example", Some("uid-mallory")),
        ("Ann@OLD.example", Some("uid-mallory")),
        ("ANN@old.example", None),
    ] {
        let (status, body, _) = e.post(&response(&e, email, None, uid)).await;
        assert_eq!(status, 403, "{email}: {body}");
    }
    assert!(e.emu.acs_posts().is_empty(), "grafana never saw a login");
    // Ann herself (her UID) is still let in under her old email.
    e.assert_forwarded(&response(&e, "ann@old.example", None, Some("uid-ann"))).await;
}

/// Grafana's login step matches a login containing `@` against emails too: an assertion whose
/// login is Bob's email (any case) lands in Bob's account even though its email is another.
#[tokio::test]
async fn login_with_at_matching_another_users_email_is_judged_as_that_user() {
    let e = env().await;
    let bob = e.emu.create_user("bob", "bob@example.com", "Bob");
    record(&e, bob, "bob", "bob@example.com", "uid-bob", false).await;
    for login in ["bob@example.com", "BOB@Example.COM"] {
        let (status, body, _) =
            e.post(&response(&e, "fresh@elsewhere.example", Some(login), Some("uid-eve"))).await;
        assert_eq!(status, 403, "{login}: {body}");
    }
    // A plain login equal to Bob's login, in another case, lands in Bob's account too.
    let (status, body, _) =
        e.post(&response(&e, "fresh@elsewhere.example", Some("BOB"), Some("uid-eve"))).await;
    assert_eq!(status, 403, "{body}");
    assert!(e.emu.acs_posts().is_empty(), "grafana never saw a login");
}
