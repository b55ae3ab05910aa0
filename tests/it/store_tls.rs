//! The PostgreSQL store over TLS against the machine's real PostgreSQL, with libpq's `sslmode`
//! semantics: `verify-full` checks the chain and the host name, `verify-ca` the chain,
//! `require` encrypts without checking (unless given a root), `disable` stays plain.
//!
//! The server's TLS is set up by the tests themselves, once per machine and idempotently
//! ([`server_ca`]), so a fresh CI machine needs nothing beyond `scripts/setup.sh`: a CA and a
//! server certificate for `localhost` only are written into the server's data directory through
//! `COPY … TO PROGRAM` (the server's own user owns them, the key readable by it alone), then
//! `ALTER SYSTEM` points `ssl_cert_file`/`ssl_key_file` at them and a reload turns TLS on. An
//! advisory lock serialises concurrent set-ups; files already there are reused, so test runs in
//! parallel or in other checkouts agree on one CA. Plain sessions (`sslmode=disable`, every
//! other test's) are unaffected by TLS being on. For the client-certificate test, a database
//! and role of its own get a `hostssl … cert` line in `pg_hba.conf`, which no other test's
//! connections match.

use std::path::PathBuf;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};
use scim_sidecar::store::open;

use crate::support::pg::Schema;

const ADMIN: &str = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable";
/// Under the server's data directory.
const CA_FILE: &str = "scim-sidecar-test-tls/ca.pem";
const CERT_FILE: &str = "scim-sidecar-test-tls/server.crt";
const KEY_FILE: &str = "scim-sidecar-test-tls/server.key";
/// The CA's key, so that later runs can sign client certificates.
const CA_KEY_FILE: &str = "scim-sidecar-test-tls/ca.key";

async fn admin() -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(ADMIN, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    client
}

/// Makes sure the server speaks TLS with the test CA's certificate for `localhost` and asks
/// clients for certificates of that CA (`ssl_ca_file`; a client without one still connects
/// unless `pg_hba.conf` says `cert`); returns the CA and its key (PEM).
async fn server_ca() -> (String, String) {
    let db = admin().await;
    db.execute("SELECT pg_advisory_lock(hashtext('scim-sidecar/test-server-tls'))", &[]).await.unwrap();
    let dir: String = db.query_one("SHOW data_directory", &[]).await.unwrap().get(0);
    let read = |f: &str| format!("SELECT pg_read_file('{f}', 0, 1000000, true)");
    let mut files = Vec::new();
    for f in [CA_FILE, CA_KEY_FILE, KEY_FILE] {
        files.push(db.query_one(&read(f), &[]).await.unwrap().get::<_, Option<String>>(0));
    }
    let (ca, ca_key, fresh) = match (&files[0], &files[1], &files[2]) {
        (Some(ca), Some(ca_key), Some(_)) => (ca.clone(), ca_key.clone(), false),
        _ => {
            let ca_key = KeyPair::generate().unwrap();
            let ca = ca_params(CA_NAME).self_signed(&ca_key).unwrap();
            let (cert_pem, key_pem) = leaf(&ca, &ca_key, "localhost", ExtendedKeyUsagePurpose::ServerAuth);
            // The CA file last: when it is there, the set is complete.
            for (file, pem) in [
                (KEY_FILE, &key_pem),
                (CERT_FILE, &cert_pem),
                (CA_KEY_FILE, &ca_key.serialize_pem()),
                (CA_FILE, &ca.pem()),
            ] {
                write_server_file(&db, &format!("{dir}/{file}"), pem).await;
            }
            (ca.pem(), ca_key.serialize_pem(), true)
        }
    };
    let cert_path = format!("{dir}/{CERT_FILE}");
    let ca_path = format!("{dir}/{CA_FILE}");
    let show = |what: &'static str| {
        let db = &db;
        async move { db.query_one(&format!("SHOW {what}"), &[]).await.unwrap().get::<_, String>(0) }
    };
    if fresh
        || show("ssl_cert_file").await != cert_path
        || show("ssl_ca_file").await != ca_path
        || show("ssl").await != "on"
    {
        // ALTER SYSTEM cannot run in a transaction block: one statement at a time.
        db.batch_execute(&format!("ALTER SYSTEM SET ssl_cert_file = '{cert_path}'")).await.unwrap();
        db.batch_execute(&format!("ALTER SYSTEM SET ssl_key_file = '{dir}/{KEY_FILE}'")).await.unwrap();
        db.batch_execute(&format!("ALTER SYSTEM SET ssl_ca_file = '{ca_path}'")).await.unwrap();
        db.batch_execute("ALTER SYSTEM SET ssl = on").await.unwrap();
        db.batch_execute("SELECT pg_reload_conf()").await.unwrap();
        // New sessions see the reloaded configuration once the postmaster has read it.
        for _ in 0..200 {
            let fresh = admin().await;
            let seen: String = fresh.query_one("SHOW ssl_ca_file", &[]).await.unwrap().get(0);
            if seen == ca_path {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    db.execute("SELECT pg_advisory_unlock(hashtext('scim-sidecar/test-server-tls'))", &[]).await.unwrap();
    (ca, ca_key)
}

/// Writes `pem` to `path` as the server's user, readable by it alone (PostgreSQL refuses a key
/// file others may read). PEM lines hold nothing COPY's text format escapes, so one row per
/// line reproduces the file.
async fn write_server_file(db: &tokio_postgres::Client, path: &str, pem: &str) {
    let sql = format!(
        "COPY (SELECT unnest(string_to_array($pem${pem}$pem$, E'\\n'))) \
         TO PROGRAM 'umask 077 && mkdir -p \"$(dirname {path})\" && cat > {path}'"
    );
    db.batch_execute(&sql).await.unwrap();
}

const CA_NAME: &str = "scim-sidecar test PostgreSQL CA";

fn ca_params(name: &str) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.distinguished_name.push(DnType::CommonName, name);
    params
}

/// A certificate (and key) for `name` signed by `ca`, as PEM.
fn leaf(
    ca: &rcgen::Certificate,
    ca_key: &KeyPair,
    name: &str,
    usage: ExtendedKeyUsagePurpose,
) -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec![name.to_owned()]).unwrap();
    params.extended_key_usages = vec![usage];
    params.distinguished_name.push(DnType::CommonName, name);
    (params.signed_by(&key, ca, ca_key).unwrap().pem(), key.serialize_pem())
}

/// A CA of its own and a server certificate for `localhost` it signed: (CA, certificate, key).
fn generate_server_certs(ca_name: &str) -> (String, String, String) {
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params(ca_name).self_signed(&ca_key).unwrap();
    let (cert, key) = leaf(&ca, &ca_key, "localhost", ExtendedKeyUsagePurpose::ServerAuth);
    (ca.pem(), cert, key)
}

/// Client-side files: the server's CA and an unrelated one.
struct Cas {
    _dir: tempfile::TempDir,
    right: PathBuf,
    wrong: PathBuf,
}

async fn cas() -> Cas {
    let (ca, _) = server_ca().await;
    let dir = tempfile::tempdir().unwrap();
    let right = dir.path().join("ca.pem");
    std::fs::write(&right, ca).unwrap();
    let wrong = dir.path().join("other-ca.pem");
    std::fs::write(&wrong, generate_server_certs("another CA").0).unwrap();
    Cas { _dir: dir, right, wrong }
}

/// A store URL for `host` in `schema`'s search path with the given TLS parameters, tagged with
/// an application name so the server can say whether its sessions are encrypted.
fn url(host: &str, schema: &Schema, tls: &str) -> (String, String) {
    let app = format!("tls_{}", uuid::Uuid::new_v4().simple());
    let base = schema.url().expose().replace("127.0.0.1", host);
    (format!("{base}&application_name={app}&{tls}"), app)
}

/// Whether the server's sessions named `app` use TLS (the store keeps pooled sessions open).
async fn encrypted(app: &str) -> bool {
    let db = admin().await;
    let rows = db
        .query(
            "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.application_name = $1",
            &[&app],
        )
        .await
        .unwrap();
    assert!(!rows.is_empty(), "no session of {app}");
    rows.iter().all(|r| r.get::<_, bool>(0))
}

async fn opens(url: &str) -> Result<(), String> {
    match open(url, 1).await {
        Ok(store) => store.ping().await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    }
}

#[tokio::test]
async fn verify_full_checks_the_chain_and_the_host_name() {
    let cas = cas().await;
    let schema = Schema::create().await;
    let right = format!("sslmode=verify-full&sslrootcert={}", cas.right.display());
    let (good, app) = url("localhost", &schema, &right);
    let store = open(&good, 1).await.unwrap();
    store.ping().await.unwrap();
    assert!(encrypted(&app).await);
    drop(store);

    let wrong = format!("sslmode=verify-full&sslrootcert={}", cas.wrong.display());
    let e = opens(&url("localhost", &schema, &wrong).0).await.unwrap_err();
    assert!(e.contains("UnknownIssuer"), "wrong CA: {e}");
    // The certificate names `localhost`, not the address.
    let e = opens(&url("127.0.0.1", &schema, &right).0).await.unwrap_err();
    assert!(e.contains("not valid for name"), "wrong host name: {e}");
}

#[tokio::test]
async fn verify_ca_checks_the_chain_but_not_the_host_name() {
    let cas = cas().await;
    let schema = Schema::create().await;
    let (good, app) =
        url("127.0.0.1", &schema, &format!("sslmode=verify-ca&sslrootcert={}", cas.right.display()));
    let store = open(&good, 1).await.unwrap();
    assert!(encrypted(&app).await);
    drop(store);
    let wrong = format!("sslmode=verify-ca&sslrootcert={}", cas.wrong.display());
    assert!(opens(&url("127.0.0.1", &schema, &wrong).0).await.is_err());
}

#[tokio::test]
async fn require_encrypts_without_verifying_unless_given_a_root() {
    let cas = cas().await;
    let schema = Schema::create().await;
    let (any, app) = url("127.0.0.1", &schema, "sslmode=require");
    let store = open(&any, 1).await.unwrap();
    assert!(encrypted(&app).await, "require must encrypt");
    drop(store);
    // libpq: with a root certificate, require behaves as verify-ca.
    let wrong = format!("sslmode=require&sslrootcert={}", cas.wrong.display());
    assert!(opens(&url("127.0.0.1", &schema, &wrong).0).await.is_err());
    let right = format!("sslmode=require&sslrootcert={}", cas.right.display());
    opens(&url("127.0.0.1", &schema, &right).0).await.unwrap();
}

#[tokio::test]
async fn disable_stays_plain_and_prefer_takes_tls_when_offered() {
    let _cas = cas().await;
    let schema = Schema::create().await;
    let (plain, app) = url("127.0.0.1", &schema, "sslmode=disable");
    let store = open(&plain, 1).await.unwrap();
    assert!(!encrypted(&app).await, "disable must stay plain");
    drop(store);
    let (prefer, app) = url("127.0.0.1", &schema, "sslmode=prefer");
    let store = open(&prefer, 1).await.unwrap();
    assert!(encrypted(&app).await, "prefer takes the TLS the server offers");
    drop(store);
}

#[tokio::test]
async fn an_unreadable_root_or_a_half_client_certificate_is_a_clear_error() {
    let schema = Schema::create().await;
    let (missing, _) = url("localhost", &schema, "sslmode=verify-full&sslrootcert=/nonexistent/ca.pem");
    let e = opens(&missing).await.unwrap_err();
    assert!(e.contains("sslrootcert /nonexistent/ca.pem"), "{e}");
    let (half, _) = url("localhost", &schema, "sslmode=require&sslcert=/c.pem");
    assert!(opens(&half).await.unwrap_err().contains("together"));
}

#[test]
fn check_config_prints_the_tls_mode_and_refuses_a_bad_one_without_the_password() {
    let bin = env!("CARGO_BIN_EXE_scim-sidecar");
    let run = |url: &str| {
        let mut cmd = std::process::Command::new(bin);
        cmd.args(["check-config", "--quiet", "--store-url", url]).env_remove("RUST_LOG");
        for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("SIDECAR_")) {
            cmd.env_remove(k);
        }
        let out = cmd.output().unwrap();
        let text =
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(!text.contains("Pa55wordNotShown"), "{text}");
        (out.status.code(), text)
    };
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, generate_server_certs("a CA").0).unwrap();
    let base = "postgres://scim:Pa55wordNotShown@db.example:5432/scim";
    let (code, text) = run(&format!("{base}?sslmode=verify-full&sslrootcert={}", ca.display()));
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains(&format!(
            "store: postgres, sslmode=verify-full: TLS required, chain and host name checked against {}",
            ca.display()
        )),
        "{text}"
    );
    let (code, text) = run(base);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("sslmode=prefer: TLS when the server offers it, certificate not verified"),
        "{text}"
    );
    for (bad, why) in [
        ("?sslmode=verify-full", "needs sslrootcert"),
        ("?sslmode=verify_full", "sslmode must be"),
        ("?sslmode=require&sslrootcert=/nonexistent/ca.pem", "sslrootcert /nonexistent/ca.pem"),
    ] {
        let (code, text) = run(&format!("{base}{bad}"));
        assert_eq!(code, Some(64), "{bad}: {text}");
        assert!(text.contains(why), "{bad}: {text}");
    }
}

const CERT_USER: &str = "scim_cert_user";
const CERT_DB: &str = "scim_cert_test";

/// A database only `CERT_USER` may enter, and only with a client certificate (a `hostssl … cert`
/// line at the top of `pg_hba.conf`, added once; it names nothing other tests use), created empty
/// for each run.
async fn cert_only_database() {
    let db = admin().await;
    db.execute("SELECT pg_advisory_lock(hashtext('scim-sidecar/test-server-tls'))", &[]).await.unwrap();
    if db.query_opt("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&CERT_USER]).await.unwrap().is_none() {
        db.batch_execute(&format!("CREATE ROLE {CERT_USER} LOGIN")).await.unwrap();
    }
    // A fresh database every run: a schema another build of the sidecar migrated (a newer one
    // on this shared server) must not decide this test.
    db.batch_execute(&format!("DROP DATABASE IF EXISTS {CERT_DB} WITH (FORCE)")).await.unwrap();
    db.batch_execute(&format!("CREATE DATABASE {CERT_DB} OWNER {CERT_USER}")).await.unwrap();
    let hba: String = db.query_one("SHOW hba_file", &[]).await.unwrap().get(0);
    let line = format!("hostssl {CERT_DB} {CERT_USER} 127.0.0.1/32 cert");
    db.batch_execute(&format!(
        "COPY (SELECT 1) TO PROGRAM 'grep -q \"^{line}\" {hba} || sed -i \"1i {line}\" {hba}'"
    ))
    .await
    .unwrap();
    db.batch_execute("SELECT pg_reload_conf()").await.unwrap();
    db.execute("SELECT pg_advisory_unlock(hashtext('scim-sidecar/test-server-tls'))", &[]).await.unwrap();
}

#[tokio::test]
async fn a_client_certificate_gets_in_where_the_server_requires_one() {
    let (ca_pem, ca_key_pem) = server_ca().await;
    cert_only_database().await;
    let ca_key = KeyPair::from_pem(&ca_key_pem).unwrap();
    // The same name and key make the same issuer: signing needs nothing else of the CA.
    let ca = ca_params(CA_NAME).self_signed(&ca_key).unwrap();
    let (cert, key) = leaf(&ca, &ca_key, CERT_USER, ExtendedKeyUsagePurpose::ClientAuth);
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str, pem: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, pem).unwrap();
        p.display().to_string()
    };
    let (root, cert, key) = (path("ca.pem", &ca_pem), path("client.crt", &cert), path("client.key", &key));
    let base =
        format!("postgres://{CERT_USER}@127.0.0.1:5432/{CERT_DB}?sslmode=verify-ca&sslrootcert={root}");
    let with_cert = format!("{base}&sslcert={cert}&sslkey={key}");
    // pg_hba.conf is re-read by the reload just asked for.
    let mut outcome = Err(String::new());
    for _ in 0..100 {
        outcome = opens(&with_cert).await;
        if outcome.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    outcome.unwrap();
    let e = opens(&base).await.unwrap_err();
    assert!(e.contains("certificate"), "without a client certificate: {e}");
}
