//! Entra token mode end to end: the real sidecar in front of the Grafana emulator, verifying
//! tokens signed with generated RSA keys against a key set served over real TLS on loopback.

use grafana_emulator::EmulatorOptions;
use http::Method;
use serde_json::{json, Value};

use crate::scim_users::user_body;
use crate::support::certs::TestCerts;
use crate::support::entra::{
    b64, claims, claims_with, sign_hs256, signing_input, JwksServer, SigningKey, APP_ID, OTHER_TENANT, TENANT,
};
use crate::support::scim::{assert_scim_error, Answer, Harness, TOKEN};

const ADMIN_TOKEN: &str = "admin-token-0123456789";

struct Setup {
    h: Harness,
    jwks: JwksServer,
    key: SigningKey,
    _certs: TestCerts,
}

/// The emulator, a key endpoint publishing one key, and a sidecar in Entra token mode (with the
/// static token too); `configure` adjusts `[scim.entra]`.
async fn setup(configure: impl FnOnce(&mut scim_sidecar::config::EntraConfig)) -> Setup {
    setup_with(configure, |_| {}).await
}

/// [`setup`], with `config` adjusting the rest of the configuration.
async fn setup_with(
    configure: impl FnOnce(&mut scim_sidecar::config::EntraConfig),
    config: impl FnOnce(&mut scim_sidecar::config::Config) + Send + 'static,
) -> Setup {
    let certs = TestCerts::generate();
    let key = SigningKey::generate("key-1");
    let jwks = JwksServer::start(&certs, &[&key]).await;
    let mut entra = jwks.config(&certs);
    configure(&mut entra);
    let h = Harness::start_with(EmulatorOptions::default(), move |c| {
        c.scim.entra = Some(entra);
        c.admin.token = Some(scim_sidecar::config::Secret::new(ADMIN_TOKEN));
        config(c);
    })
    .await;
    Setup { h, jwks, key, _certs: certs }
}

async fn as_token(h: &Harness, method: Method, path: &str, body: Option<Value>, token: &str) -> Answer {
    h.call_as(method, path, body, Some(token)).await
}

/// Asserts a 401 SCIM error whose detail contains `says` and does not echo the token.
fn assert_refused(a: &Answer, token: &str, says: &str) {
    assert_scim_error(a, 401, None);
    assert!(a.header("www-authenticate").is_some_and(|v| v.starts_with("Bearer")), "{a:?}");
    let detail = a.json()["detail"].as_str().unwrap_or_default().to_string();
    assert!(detail.contains(says), "detail {detail:?} should say {says:?}");
    let body = a.json().to_string();
    let tail = &token[token.len().saturating_sub(24)..];
    assert!(tail.len() < 8 || !body.contains(tail), "token echoed: {body}");
}

#[tokio::test]
async fn a_correctly_signed_token_provisions_users_and_is_audited_as_entra() {
    let s = setup(|_| {}).await;
    let token = s.key.token(&claims());
    let created =
        as_token(&s.h, Method::POST, "Users", Some(user_body("ada", "ada@example.com", None)), &token).await;
    assert_eq!(created.status, 201, "{created:?}");
    let id = created.json()["id"].as_str().unwrap().to_string();
    assert!(s.h.grafana.user_by_login("ada").is_some(), "the user reached Grafana");
    let listed = as_token(&s.h, Method::GET, "Users?filter=userName%20eq%20%22ada%22", None, &token).await;
    assert_eq!(listed.status, 200, "{listed:?}");
    assert_eq!(listed.json()["totalResults"], 1);
    // Static tokens keep working alongside, and the key set was fetched once for both requests.
    assert_eq!(s.h.get(&format!("Users/{id}")).await.status, 200);
    assert_eq!(s.jwks.hits(), 1);
    // The audit log names the Entra app.
    let records = audit(&s.h).await;
    let create = records.iter().find(|r| r["operation"] == "create");
    let create = create.unwrap_or_else(|| panic!("no create record: {records:?}"));
    assert_eq!(create["actor"]["name"], format!("entra:{APP_ID}"), "{create}");
}

/// The SCIM audit records, newest first, once there are any.
async fn audit(h: &Harness) -> Vec<Value> {
    use http_body_util::BodyExt;
    for _ in 0..200 {
        let req = http::Request::get(format!("{}/audit?kind=scim", h.sidecar.admin_url))
            .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
            .body(scim_sidecar::body::empty())
            .unwrap();
        let res = h.client.request(req).await.unwrap();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let records: Vec<Value> =
            String::from_utf8_lossy(&bytes).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        if !records.is_empty() {
            return records;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("no audit record")
}

#[tokio::test]
async fn tokens_failing_a_check_are_refused_with_the_check_named() {
    let s = setup(|_| {}).await;
    let stranger = SigningKey::generate("key-1"); // same kid, not the published key
    let header = s.key.header();
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "wrong issuer",
            s.key.token(&claims_with(json!({"iss": format!("https://sts.windows.net/{OTHER_TENANT}/")}))),
            "not issued by the configured tenant",
        ),
        (
            "v2 issuer",
            s.key.token(&claims_with(
                json!({"iss": format!("https://login.microsoftonline.com/{TENANT}/v2.0")}),
            )),
            "not issued by the configured tenant",
        ),
        (
            "wrong audience",
            s.key.token(&claims_with(json!({"aud": "00000003-0000-0000-c000-000000000000"}))),
            "audience",
        ),
        ("wrong tenant", s.key.token(&claims_with(json!({"tid": OTHER_TENANT}))), "another tenant"),
        ("expired", s.key.token(&claims_with(json!({"exp": crate::support::entra::now() - 300}))), "expired"),
        (
            "not yet valid",
            s.key.token(&claims_with(json!({"nbf": crate::support::entra::now() + 600}))),
            "not valid yet",
        ),
        (
            "nbf as a string",
            s.key.token(&claims_with(json!({"nbf": (crate::support::entra::now() + 600).to_string()}))),
            "claims are not well formed",
        ),
        ("wrong key", stranger.token(&claims()), "signature is not valid"),
        (
            "alg none",
            format!("{}.", signing_input(&json!({"alg": "none", "kid": "key-1"}), &claims())),
            "algorithm",
        ),
        (
            "HS256 keyed with the public key",
            sign_hs256(
                &json!({"alg": "HS256", "typ": "JWT", "kid": "key-1"}),
                &claims(),
                &s.key.public_pem(),
            ),
            "algorithm",
        ),
        ("no kid", s.key.sign(&json!({"alg": "RS256", "typ": "JWT"}), &claims()), "names no signing key"),
        ("three parts of bad base64", "eyJ!!!.@@@.###".to_string(), "not a well-formed JWT"),
        ("three empty parts", "..".to_string(), "not a well-formed JWT"),
        (
            "huge",
            format!("{}.{}.{}", b64(header.to_string().as_bytes()), "A".repeat(20_000), "B".repeat(342)),
            "not a well-formed JWT",
        ),
    ];
    for (what, token, says) in &cases {
        let a = as_token(&s.h, Method::GET, "Users", None, token).await;
        assert_refused(&a, token, says);
        eprintln!("{what}: refused as expected");
    }
    // Random bytes without a JWT's shape are an unknown static token.
    for token in ["x", "0123456789abcdef0123456789abcdef", "ey.J"] {
        let a = as_token(&s.h, Method::GET, "Users", None, token).await;
        assert_refused(&a, token, "not valid");
    }
    // Nothing reached Grafana's user API, and the key set was fetched once (the unknown-kid
    // case below is separate: every token here named the published kid or none).
    assert_eq!(s.h.grafana.count("GET", "/api/users/search"), 0);
    assert_eq!(s.h.grafana.count("GET", "/api/org/users/lookup"), 0);
    assert!(s.jwks.hits() <= 1, "hits {}", s.jwks.hits());
}

#[tokio::test]
async fn a_key_id_the_tenant_does_not_publish_is_refused_and_a_wrong_type_key_too() {
    let s = setup(|_| {}).await;
    let unknown = SigningKey::generate("unpublished");
    let token = unknown.token(&claims());
    assert_refused(&as_token(&s.h, Method::GET, "Users", None, &token).await, &token, "does not publish");
    // A key of another type published under the token's kid.
    let ec = json!({"keys": [s.key.jwk(), {"kty": "EC", "use": "sig", "kid": "ec-1", "crv": "P-256",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
        {"kty": "oct", "kid": "oct-1", "k": b64(&s.key.public_pem())}]});
    let s2 = setup(|c| c.jwks_min_refresh_interval = std::time::Duration::ZERO).await;
    s2.jwks.answer_with(200, &ec.to_string());
    for kid in ["ec-1", "oct-1"] {
        let h = json!({"alg": "RS256", "typ": "JWT", "kid": kid});
        let token = s2.key.sign(&h, &claims());
        let a = as_token(&s2.h, Method::GET, "Users", None, &token).await;
        assert_refused(&a, &token, "not an RS256 signing key");
    }
    let h256 = sign_hs256(&json!({"alg": "HS256", "kid": "oct-1"}), &claims(), &s.key.public_pem());
    assert_refused(&as_token(&s2.h, Method::GET, "Users", None, &h256).await, &h256, "algorithm");
}

#[tokio::test]
async fn a_rotated_key_is_accepted_after_the_unknown_kid_refresh() {
    let s = setup(|c| c.jwks_min_refresh_interval = std::time::Duration::ZERO).await;
    let old = s.key.token(&claims());
    assert_eq!(as_token(&s.h, Method::GET, "Users", None, &old).await.status, 200);
    assert_eq!(s.jwks.hits(), 1);
    let next = SigningKey::generate("key-2");
    let token = next.token(&claims());
    // Not published yet: one refetch, still unknown.
    assert_refused(&as_token(&s.h, Method::GET, "Users", None, &token).await, &token, "does not publish");
    assert_eq!(s.jwks.hits(), 2);
    // Entra publishes the new key (and retires the old one): the next token refetches and passes.
    s.jwks.publish(&[&next]);
    assert_eq!(as_token(&s.h, Method::GET, "Users", None, &token).await.status, 200);
    assert_eq!(s.jwks.hits(), 3);
    // The cached set now serves both calls without fetching; the retired key is refused.
    assert_eq!(as_token(&s.h, Method::GET, "Users", None, &token).await.status, 200);
    assert_refused(&as_token(&s.h, Method::GET, "Users", None, &old).await, &old, "does not publish");
    assert_eq!(s.jwks.hits(), 4, "the retired kid was looked for once more");
}

#[tokio::test]
async fn a_flood_of_random_key_ids_costs_one_fetch_per_interval() {
    // Default interval (5 minutes): after the first fetch, unknown kids fetch nothing.
    let s = setup(|_| {}).await;
    let valid = s.key.token(&claims());
    let mut calls = Vec::new();
    for i in 0..24 {
        let header =
            json!({"alg": "RS256", "typ": "JWT", "kid": format!("random-{i}-{}", uuid::Uuid::new_v4())});
        calls.push(s.key.sign(&header, &claims()));
    }
    calls.push(valid.clone());
    // All at once against a cold cache: one fetch serves every one of them (single flight).
    let answers =
        futures_util::future::join_all(calls.iter().map(|t| as_token(&s.h, Method::GET, "Users", None, t)))
            .await;
    for (answer, token) in answers.iter().zip(&calls) {
        if *token == valid {
            assert_eq!(answer.status, 200, "{answer:?}");
        } else {
            assert_refused(answer, token, "does not publish");
        }
    }
    assert_eq!(s.jwks.hits(), 1, "one fetch for the cold cache, none for the flood");
    // And one after another.
    for t in &calls[..10] {
        assert_eq!(as_token(&s.h, Method::GET, "Users", None, t).await.status, 401);
    }
    assert_eq!(s.jwks.hits(), 1);
}

#[tokio::test]
async fn namespaces_not_configured_refuse_an_entra_token_without_fetching_keys() {
    let s = setup(|c| c.namespaces = vec!["org-2".into()]).await;
    let org = s.h.grafana.create_org("Second");
    assert_eq!(org, 2);
    let token = s.key.token(&claims());
    for path in ["Users", "/apis/scim.grafana.app/v0alpha1/namespaces/default/Users", "Schemas"] {
        let a = as_token(&s.h, Method::GET, path, None, &token).await;
        assert_refused(&a, &token, "not accepted in this namespace");
    }
    assert_eq!(s.jwks.hits(), 0, "no key fetch for a namespace that does not take Entra tokens");
    let ns = "/apis/scim.grafana.app/v0alpha1/namespaces/org-2";
    let created = as_token(
        &s.h,
        Method::POST,
        &format!("{ns}/Users"),
        Some(user_body("grace", "grace@example.com", None)),
        &token,
    )
    .await;
    assert_eq!(created.status, 201, "{created:?}");
    let grace = s.h.grafana.user_by_login("grace").unwrap();
    assert!(s.h.grafana.org_users(2).iter().any(|(id, _)| *id == grace.id), "grace is in org 2");
    // The static token still works everywhere.
    assert_eq!(s.h.call_as(Method::GET, "Users", None, Some(TOKEN)).await.status, 200);
}

#[tokio::test]
async fn an_unreachable_key_endpoint_answers_503_and_recovers() {
    let s = setup(|c| c.jwks_min_refresh_interval = std::time::Duration::ZERO).await;
    let token = s.key.token(&claims());
    for (status, body) in [(500, "oops"), (200, "<html>not json</html>"), (200, "{\"keys\": []}"), (404, "")]
    {
        s.jwks.answer_with(status, body);
        let a = as_token(&s.h, Method::GET, "Users", None, &token).await;
        assert_scim_error(&a, 503, None);
        assert_eq!(a.header("retry-after"), Some("5"), "{a:?}");
        assert!(a.json()["detail"].as_str().unwrap().contains("signing keys cannot be fetched"), "{a:?}");
    }
    // The static token is unaffected, and a bad token is still refused outright.
    assert_eq!(s.h.get("Users").await.status, 200);
    assert_eq!(as_token(&s.h, Method::GET, "Users", None, "a.b.c").await.status, 401);
    s.jwks.publish(&[&s.key]);
    assert_eq!(as_token(&s.h, Method::GET, "Users", None, &token).await.status, 200);

    // Nothing listening at all (and a certificate the sidecar does not trust) is the same answer.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    for url in [format!("https://localhost:{closed}/keys"), s.jwks.url.clone()] {
        let certs = TestCerts::generate();
        let mut cfg = s.jwks.config(&certs);
        cfg.jwks_url = Some(url);
        let other = Harness::start_with(EmulatorOptions::default(), move |c| c.scim.entra = Some(cfg)).await;
        let a = as_token(&other, Method::GET, "Users", None, &token).await;
        assert_scim_error(&a, 503, None);
    }
}

/// Runs the binary with `args` and a config file holding `toml`; (exit code, stdout + stderr).
fn run_binary(args: &[&str], toml: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sidecar.toml");
    std::fs::write(&config, toml).unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_scim-sidecar"));
    cmd.args(args)
        .args(["--config", config.to_str().unwrap()])
        .env_remove("RUST_LOG")
        .current_dir(dir.path());
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("SIDECAR_")) {
        cmd.env_remove(k);
    }
    let out = cmd.output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap(), text)
}

#[tokio::test]
async fn check_config_shows_the_mode_and_check_says_whether_the_keys_are_reachable() {
    let certs = TestCerts::generate();
    let key = SigningKey::generate("key-1");
    let jwks = JwksServer::start(&certs, &[&key]).await;
    let grafana = grafana_emulator::Emulator::start(EmulatorOptions::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        "[grafana]\nurl = \"{}\"\n[store]\nurl = \"sqlite://{}\"\n[scim.entra]\ntenant_id = \"{}\"\n\
         namespaces = [\"default\", \"org-2\"]\njwks_url = \"{}\"\nca_file = {:?}\n",
        grafana.url(),
        dir.path().join("s.db").display(),
        TENANT.to_uppercase(),
        jwks.url,
        certs.ca_file,
    );
    let t = toml.clone();
    let (code, text) = tokio::task::spawn_blocking(move || run_binary(&["check-config"], &t)).await.unwrap();
    assert_eq!(code, 0, "{text}");
    let line = format!(
        "entra token mode: tenant {TENANT}, namespaces default, org-2, signing keys from {}",
        jwks.url
    );
    assert!(text.contains(&line), "{text}");
    assert!(text.contains("[scim.entra]"), "the effective configuration shows the section: {text}");
    assert!(!text.contains("no SCIM token configured"), "{text}");

    let t = toml.clone();
    let (code, text) = tokio::task::spawn_blocking(move || run_binary(&["check"], &t)).await.unwrap();
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains(&format!("Entra token mode: signing keys at {} reachable (1 usable)", jwks.url)),
        "{text}"
    );
    assert_eq!(jwks.hits(), 1);

    jwks.answer_with(503, "down");
    let t = toml.clone();
    let (code, text) =
        tokio::task::spawn_blocking(move || run_binary(&["check", "--json"], &t)).await.unwrap();
    assert_eq!(code, 0, "the policy decides the exit code: {text}");
    let v: Value = serde_json::from_str(
        text.lines().skip_while(|l| !l.starts_with('{')).collect::<Vec<_>>().join("\n").as_str(),
    )
    .unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(v["entra"]["reachable"], false, "{v}");
    assert_eq!(v["entra"]["tenant_id"], TENANT);
    assert!(v["entra"]["error"].as_str().unwrap().contains("503"), "{v}");

    // A bad tenant id is a configuration error listed by check-config.
    let bad = toml.replace(&TENANT.to_uppercase(), "contoso.onmicrosoft.com");
    let (code, text) =
        tokio::task::spawn_blocking(move || run_binary(&["check-config"], &bad)).await.unwrap();
    assert_eq!(code, 64, "{text}");
    assert!(text.contains("[scim.entra] tenant_id"), "{text}");
}

/// A token another SCIM app of the tenant could replay must not make anyone a Grafana server
/// admin: refused with nothing written, unless `allow_grafana_admin`; org roles and revoking
/// stay allowed, and a static token may still grant it.
#[tokio::test]
async fn an_entra_token_grants_server_admin_only_when_allowed() {
    use crate::scim_users::roles::roles_on;
    let s = setup_with(|_| {}, roles_on).await;
    let token = s.key.token(&claims());
    let mut body = user_body("eve", "eve@example.com", None);
    body["roles"] = json!([{"value": "grafana-server-admins"}]);
    let a = as_token(&s.h, Method::POST, "Users", Some(body.clone()), &token).await;
    assert_scim_error(&a, 403, None);
    assert!(a.json()["detail"].as_str().unwrap().contains("allow_grafana_admin"), "{a:?}");
    assert!(s.h.grafana.user_by_login("eve").is_none(), "nothing created");

    // Org roles are the Entra token's to write; the server-admin grant by PATCH is refused too.
    body["roles"] = json!([{"value": "grafana-editors"}]);
    let a = as_token(&s.h, Method::POST, "Users", Some(body), &token).await;
    assert_eq!(a.status, 201, "{a:?}");
    let id = a.json()["id"].as_str().unwrap().to_string();
    let eve = s.h.grafana.user_by_login("eve").unwrap().id;
    let grant = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
        {"op": "add", "path": "roles", "value": [{"value": "grafana-server-admins"}]}]});
    let a = as_token(&s.h, Method::PATCH, &format!("Users/{id}"), Some(grant.clone()), &token).await;
    assert_scim_error(&a, 403, None);
    assert!(!s.h.grafana.user(eve).unwrap().is_admin, "not granted");
    let shown = s.h.get(&format!("Users/{id}")).await;
    let shown = shown.json();
    assert_eq!(
        shown["roles"],
        json!([{"value": "grafana-editors"}]),
        "the refused PATCH left SCIM as it was"
    );

    // A static token may grant it; an Entra token may then revoke it.
    assert_eq!(s.h.patch(&format!("Users/{id}"), grant).await.status, 200);
    assert!(s.h.grafana.user(eve).unwrap().is_admin, "granted by the static token");
    let revoke = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
        {"op": "remove", "path": "roles[value eq \"grafana-server-admins\"]"}]});
    let a = as_token(&s.h, Method::PATCH, &format!("Users/{id}"), Some(revoke), &token).await;
    assert_eq!(a.status, 200, "{a:?}");
    assert!(!s.h.grafana.user(eve).unwrap().is_admin, "revoked by the Entra token");

    // With allow_grafana_admin the Entra token grants it.
    let s = setup_with(|e| e.allow_grafana_admin = true, roles_on).await;
    let token = s.key.token(&claims());
    let mut body = user_body("ivy", "ivy@example.com", None);
    body["roles"] = json!([{"value": "grafana-server-admins"}]);
    let a = as_token(&s.h, Method::POST, "Users", Some(body), &token).await;
    assert_eq!(a.status, 201, "{a:?}");
    assert!(s.h.grafana.user_by_login("ivy").unwrap().is_admin, "granted when allowed");
}
