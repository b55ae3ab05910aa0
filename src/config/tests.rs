//! Layering and validation tests: precedence of every layer and "report every problem".

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use super::load::{load, Overrides, Sources};
use super::OnDelete;

fn file_with(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

fn sources(file: Option<PathBuf>, env: &[(&str, &str)], overrides: Overrides) -> Sources {
    Sources {
        file,
        env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        overrides,
        default_file: None,
    }
}

const TOKEN: &str = "0123456789abcdef-token";

#[test]
fn defaults_serve_a_newcomer() {
    let loaded = load(&sources(None, &[], Overrides::default())).unwrap();
    let c = loaded.config;
    assert_eq!(c.grafana.url, "http://localhost:3000");
    assert_eq!(c.grafana.user, "admin");
    assert_eq!(c.grafana.password.unwrap().expose(), "admin");
    assert_eq!(c.store.url.expose(), "sqlite://sidecar.db");
    assert_eq!(c.server.listen, "127.0.0.1:8080");
    assert!(loaded.file.is_none());
    assert!(loaded.warnings.iter().any(|w| w.contains("no SCIM token")));
}

#[test]
fn precedence_is_defaults_then_toml_then_env_then_flags() {
    let f = file_with(
        "[server]\nlisten = \"127.0.0.1:1001\"\n[admin]\nlisten = \"127.0.0.1:2001\"\n\
         [grafana]\nurl = \"http://toml:3000\"\nuser = \"toml-user\"\n[scim]\nmax_results = 7\ndefault_page_size = 5\n",
    );
    let env = [
        ("SIDECAR_ADMIN_LISTEN", "127.0.0.1:2002"),
        ("SIDECAR_GRAFANA_URL", "http://env:3000"),
        ("SIDECAR_GRAFANA_USER", "env-user"),
        ("SIDECAR_SCIM_ON_DELETE", "delete"),
        ("SIDECAR_SAML_GATE_ENABLED", "TRUE"),
    ];
    let mut flags = Overrides::default();
    flags.set("--grafana-url", "grafana", "url", "http://flag:3000".into());
    let c = load(&sources(Some(f.path().into()), &env, flags)).unwrap().config;
    assert_eq!(c.server.listen, "127.0.0.1:1001", "toml beats default");
    assert_eq!(c.admin.listen, "127.0.0.1:2002", "env beats toml");
    assert_eq!(c.grafana.user, "env-user", "env beats toml");
    assert_eq!(c.grafana.url, "http://flag:3000", "flag beats env");
    assert_eq!(c.scim.max_results, 7);
    assert_eq!(c.scim.on_delete, OnDelete::Delete);
    assert!(c.saml_gate.enabled);
    assert_eq!(c.server.header_read_timeout, Duration::from_secs(10), "untouched default");
}

#[test]
fn contract_env_names_work() {
    let env = [
        ("SIDECAR_SERVER_LISTEN", "127.0.0.1:18080"),
        ("SIDECAR_ADMIN_LISTEN", "127.0.0.1:19090"),
        ("SIDECAR_GRAFANA_URL", "https://grafana.example:3000/sub"),
        ("SIDECAR_GRAFANA_USER", "root"),
        ("SIDECAR_GRAFANA_PASSWORD", "s3cret-pass"),
        ("SIDECAR_STORE_URL", "postgres://postgres@127.0.0.1:5432/test"),
        ("SIDECAR_SCIM_TOKEN", TOKEN),
    ];
    let c = load(&sources(None, &env, Overrides::default())).unwrap().config;
    assert_eq!(c.server.listen, "127.0.0.1:18080");
    assert_eq!(c.admin.listen, "127.0.0.1:19090");
    assert_eq!(c.grafana.url, "https://grafana.example:3000/sub");
    assert_eq!(c.grafana.user, "root");
    assert_eq!(c.grafana.password.unwrap().expose(), "s3cret-pass");
    assert_eq!(c.store.url.expose(), "postgres://postgres@127.0.0.1:5432/test");
    assert_eq!(c.scim.tokens.len(), 1);
    assert_eq!(c.scim.tokens[0].expose(), TOKEN);
}

#[test]
fn scim_token_env_adds_to_file_tokens() {
    let f = file_with(&format!("[scim]\ntokens = [\"sha256:{}\"]\n", "ab".repeat(32)));
    let c = load(&sources(Some(f.path().into()), &[("SIDECAR_SCIM_TOKEN", TOKEN)], Overrides::default()))
        .unwrap()
        .config;
    assert_eq!(c.scim.tokens.len(), 2);
}

#[test]
fn secrets_come_from_files() {
    let pw = file_with("from-file-password\n");
    let tokens = file_with(&format!("# comment\n{TOKEN}\n\nsha256:{}\n", "cd".repeat(32)));
    let f = file_with(&format!(
        "[grafana]\npassword_file = {:?}\n[scim]\ntoken_file = {:?}\n",
        pw.path(),
        tokens.path()
    ));
    let c = load(&sources(Some(f.path().into()), &[], Overrides::default())).unwrap().config;
    assert_eq!(c.grafana.password.unwrap().expose(), "from-file-password");
    assert_eq!(c.scim.tokens.len(), 2);
}

#[test]
fn every_problem_is_reported_at_once() {
    let f = file_with(
        "[server]\nlisten = \"not-an-address\"\nbogus = 1\n[nosuch]\nx = 1\n[grafana]\ninsecure_skip_verify = \"yes\"\n",
    );
    let env = [("SIDECAR_GRAFANA_TYPO", "x"), ("SIDECAR_POLICY_GROUP_SYNC", "maybe")];
    let errors = load(&sources(Some(f.path().into()), &env, Overrides::default())).unwrap_err();
    let text = errors.to_string();
    // Layer problems (unknown names, wrong types) and value problems are listed together.
    for needle in [
        "[server] listen",
        "[server] bogus: unknown key",
        "unknown section [nosuch]",
        "insecure_skip_verify: expected a boolean",
        "SIDECAR_GRAFANA_TYPO",
        "group_sync: expected a boolean",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    assert_eq!(errors.0.len(), 6, "{text}");
}

#[test]
fn undecodable_values_unknown_keys_and_semantic_problems_are_reported_together() {
    let f = file_with(
        "[server]\nshutdown_grace = \"soon\"\ntypo_key = 1\nlisten = \"nope\"\n[scim]\non_delete = \"shred\"\n\
         default_role = \"Boss\"\n[policy]\ncache_ttl = \"0s\"\n",
    );
    let env = [("SIDECAR_SERVER_IDLE_TIMEOUT", "a while")];
    let errors = load(&sources(Some(f.path().into()), &env, Overrides::default())).unwrap_err();
    let text = errors.to_string();
    let file = f.path().display().to_string();
    for needle in [
        format!("{file}: [server] shutdown_grace"),
        format!("{file}: [server] typo_key: unknown key"),
        format!("{file}: [scim] on_delete"),
        "environment SIDECAR_SERVER_IDLE_TIMEOUT: [server] idle_timeout".to_string(),
        "[server] listen".to_string(),
        "[scim] default_role".to_string(),
        "[policy] cache_ttl".to_string(),
    ] {
        assert!(text.contains(&needle), "missing {needle:?} in:\n{text}");
    }
    assert_eq!(errors.0.len(), 7, "{text}");
}

#[test]
fn the_default_drain_fits_kubernetes_default_grace_period_with_a_pre_stop_sleep() {
    let c = load(&sources(None, &[], Overrides::default())).unwrap().config;
    assert!(c.server.shutdown_grace + Duration::from_secs(5) < Duration::from_secs(30));
}

#[test]
fn every_semantic_problem_is_reported_at_once() {
    let f = file_with(
        "[server]\nlisten = \"nope\"\ntls_cert_file = \"/no/such/cert.pem\"\n[grafana]\nurl = \"ftp://x\"\n\
         [store]\nurl = \"mysql://u:hunter2@db/x\"\n[scim]\ndefault_role = \"Boss\"\ntokens = [\"short\"]\n\
         [policy]\ncache_ttl = \"0s\"\n[log]\nlevel = \"[[[\"\n",
    );
    let errors = load(&sources(Some(f.path().into()), &[], Overrides::default())).unwrap_err();
    let text = errors.to_string();
    for needle in [
        "[server] listen",
        "[server] tls_key_file: is required",
        "[server] tls_cert_file: /no/such/cert.pem does not exist",
        "[grafana] url",
        "[store] url",
        "[scim] default_role",
        "[scim] tokens: token #1",
        "[policy] cache_ttl",
        "[log] level",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    assert!(!text.contains("hunter2"), "secret leaked:\n{text}");
    assert!(!text.contains("short\""), "token leaked:\n{text}");
}

#[test]
fn toml_syntax_errors_do_not_echo_the_line() {
    let f = file_with("[grafana]\npassword = \"hunter2\" oops\n");
    let text = load(&sources(Some(f.path().into()), &[], Overrides::default())).unwrap_err().to_string();
    assert!(text.contains("line 2"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
}

#[test]
fn a_named_missing_file_is_an_error_but_a_missing_default_is_not() {
    let errors = load(&sources(Some("/no/such.toml".into()), &[], Overrides::default())).unwrap_err();
    assert!(errors.to_string().contains("does not exist"));
    let env_named =
        load(&sources(None, &[("SIDECAR_CONFIG", "/no/such.toml")], Overrides::default())).unwrap_err();
    assert!(env_named.to_string().contains("SIDECAR_CONFIG"));
    let mut s = sources(None, &[], Overrides::default());
    s.default_file = Some("/no/such/sidecar.toml".into());
    assert!(load(&s).is_ok());
}

#[test]
fn the_shipped_sidecar_toml_is_valid_and_matches_the_defaults() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("sidecar.toml");
    let loaded = load(&sources(Some(path), &[], Overrides::default())).unwrap();
    assert_eq!(loaded.config, super::Config::default());
}

#[test]
fn adoptable_admins_load_from_toml_and_env_and_must_not_be_empty() {
    let f = file_with("[scim]\nadoptable_admins = [\"ops\"]\n");
    let c = load(&sources(Some(f.path().into()), &[], Overrides::default())).unwrap().config;
    assert_eq!(c.scim.adoptable_admins, vec!["ops".to_string()]);
    let env = [("SIDECAR_SCIM_ADOPTABLE_ADMINS", "ops,Root@example.com")];
    let c = load(&sources(None, &env, Overrides::default())).unwrap().config;
    assert_eq!(c.scim.adoptable_admins, vec!["ops".to_string(), "Root@example.com".to_string()]);
    assert!(super::Config::default().scim.adoptable_admins.is_empty(), "nobody by default");
    let f = file_with("[scim]\nadoptable_admins = [\" \"]\n");
    let text = load(&sources(Some(f.path().into()), &[], Overrides::default())).unwrap_err().to_string();
    assert!(text.contains("[scim] adoptable_admins"), "{text}");
}

#[test]
fn edge_keys_load_from_file_and_env_and_are_validated() {
    let env = [("SIDECAR_SERVER_TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.1"), ("SIDECAR_SCIM_TOKEN", TOKEN)];
    let c = load(&sources(None, &env, Overrides::default())).unwrap().config;
    assert_eq!(c.server.trusted_proxies, ["10.0.0.0/8", "192.0.2.1"]);
    assert_eq!(c.server.strip_headers, ["X-WEBAUTH-USER", "X-WEBAUTH-*"]);
    let f = file_with("[server]\nstrip_headers = [\"X-Remote-*\"]\n");
    let c = load(&sources(Some(f.path().into()), &env, Overrides::default())).unwrap().config;
    assert_eq!(c.server.strip_headers, ["X-Remote-*"]);
    let f = file_with(
        "[server]\ntrusted_proxies = [\"10.0.0.0/33\", \"proxy.example\"]\n\
         strip_headers = [\"Authorization\", \"bad name\", \"co*\"]\n",
    );
    let env = [("SIDECAR_SCIM_TOKEN", TOKEN)];
    let text = load(&sources(Some(f.path().into()), &env, Overrides::default())).unwrap_err().to_string();
    for needle in ["`10.0.0.0/33`", "`proxy.example`", "`Authorization`", "`bad name`", "`co*`"] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

#[test]
fn the_login_gate_is_on_by_default_and_turning_it_off_under_scim_warns() {
    let loaded = load(&sources(None, &[], Overrides::default())).unwrap();
    assert!(loaded.config.saml_gate.enabled, "on by default");
    assert_eq!(loaded.config.saml_gate.max_post_bytes, 256 * 1024);
    assert!(!loaded.warnings.iter().any(|w| w.contains("enabled = false")));
    let env =
        [("SIDECAR_SAML_GATE_ENABLED", "false"), ("SIDECAR_SCIM_TOKEN", "a-long-enough-scim-token-0123")];
    let loaded = load(&sources(None, &env, Overrides::default())).unwrap();
    assert!(!loaded.config.saml_gate.enabled);
    assert!(
        loaded.warnings.iter().any(|w| w.contains("[saml_gate] enabled = false while SCIM is configured")),
        "{:?}",
        loaded.warnings
    );
    // Off without SCIM: nothing is provisioned, nothing to warn about.
    let loaded =
        load(&sources(None, &[("SIDECAR_SAML_GATE_ENABLED", "false")], Overrides::default())).unwrap();
    assert!(!loaded.warnings.iter().any(|w| w.contains("enabled = false")));
    let env = [
        ("SIDECAR_SAML_GATE_MAX_POST_BYTES", "1000"),
        ("SIDECAR_SAML_GATE_MAX_CONCURRENT_VERIFICATIONS", "0"),
    ];
    let errors = load(&sources(None, &env, Overrides::default())).unwrap_err();
    let text = format!("{errors:?}");
    assert!(text.contains("max_post_bytes") && text.contains("max_concurrent_verifications"), "{text}");
}

#[test]
fn kubernetes_service_link_variables_are_ignored_but_typos_are_not() {
    let env = [
        ("SIDECAR_ADMIN_SERVICE_HOST", "10.0.0.7"),
        ("SIDECAR_ADMIN_SERVICE_PORT", "9090"),
        ("SIDECAR_ADMIN_PORT", "tcp://10.0.0.7:9090"),
        ("SIDECAR_ADMIN_PORT_9090_TCP_ADDR", "10.0.0.7"),
    ];
    let loaded = load(&sources(None, &env, Overrides::default())).unwrap();
    assert_eq!(loaded.config, super::Config::default());
    let env = [("SIDECAR_SERVER_PORT", "8080")];
    let text = load(&sources(None, &env, Overrides::default())).unwrap_err().to_string();
    assert!(text.contains("SIDECAR_SERVER_PORT") && text.contains("unknown SIDECAR_ variable"), "{text}");
}

#[test]
fn an_open_admin_listener_serving_the_audit_log_without_a_token_warns() {
    let warns = |env: &[(&str, &str)]| load(&sources(None, env, Overrides::default())).unwrap().warnings;
    let open = |w: &Vec<String>| w.iter().any(|w| w.contains("can read /audit"));
    assert!(!open(&warns(&[])), "loopback by default");
    assert!(open(&warns(&[("SIDECAR_ADMIN_LISTEN", "0.0.0.0:9090")])));
    assert!(!open(&warns(&[
        ("SIDECAR_ADMIN_LISTEN", "0.0.0.0:9090"),
        ("SIDECAR_ADMIN_TOKEN", "a-long-admin-token-0123")
    ])));
    assert!(!open(&warns(&[("SIDECAR_ADMIN_LISTEN", "0.0.0.0:9090"), ("SIDECAR_AUDIT_ENABLED", "false")])));
}

#[test]
fn scim_roles_load_from_the_file_and_every_bad_entry_is_listed() {
    let f = file_with(
        "[scim.roles]\nenabled = true\ngrafana_admin_values = [\"root\"]\n[scim.roles.map]\n\
         \"grafana-admins\" = \"Admin\"\n[scim.roles.namespaces.\"org-3\".map]\n\"grafana-admins\" = \"Editor\"\n",
    );
    let c = load(&sources(Some(f.path().into()), &[], Overrides::default())).unwrap().config;
    assert!(c.scim.roles.enabled);
    assert_eq!(c.scim.roles.map_for(3).get("grafana-admins").map(String::as_str), Some("Editor"));
    assert_eq!(c.scim.roles.grafana_admin_values, ["root"]);

    let f = file_with(
        "[scim.roles]\nenabled = true\n[scim.roles.map]\n\"a\" = \"Owner\"\n\"b\" = \"admin\"\n\
         [scim.roles.namespaces.\"stack-9\".map]\n\"c\" = \"Viewer\"\n",
    );
    let errors = load(&sources(Some(f.path().into()), &[], Overrides::default())).unwrap_err();
    let text = errors.to_string();
    assert_eq!(errors.0.len(), 3, "{text}");
    for needle in ["`a` = `Owner`", "`b` = `admin`", "`stack-9` is not a namespace"] {
        assert!(text.contains(needle), "missing {needle:?}: {text}");
    }
    // Unknown keys inside the table and an environment variable are reported, not ignored.
    let f = file_with("[scim.roles]\nenable = true\n");
    let text = load(&sources(Some(f.path().into()), &[], Overrides::default())).unwrap_err().to_string();
    assert!(text.contains("[scim] roles") && text.contains("enable"), "{text}");
    let text =
        load(&sources(None, &[("SIDECAR_SCIM_ROLES", "x")], Overrides::default())).unwrap_err().to_string();
    assert!(text.contains("expected a table"), "{text}");
}

#[test]
fn the_scim_entra_sub_table_loads_from_file_and_environment() {
    let tenant = "3F2A9C71-5B0E-4D8A-9E61-2C7B4F0D8A15";
    let f = file_with(&format!(
        "[scim]\nmax_results = 9\ndefault_page_size = 9\n[scim.entra]\ntenant_id = \"{tenant}\"\n\
         namespaces = [\"default\", \"org-3\"]\njwks_min_refresh_interval = \"1m\"\n"
    ));
    let env = [("SIDECAR_SCIM_ENTRA_MAX_CLOCK_SKEW", "30s")];
    let loaded = load(&sources(Some(f.path().into()), &env, Overrides::default())).unwrap();
    let c = loaded.config.scim;
    assert_eq!(c.max_results, 9, "the parent table still loads");
    let e = c.entra.unwrap();
    assert_eq!(e.tenant(), tenant.to_lowercase());
    assert_eq!(e.namespaces, ["default", "org-3"]);
    assert_eq!(e.max_clock_skew, Duration::from_secs(30));
    assert_eq!(e.jwks_min_refresh_interval, Duration::from_secs(60));
    assert_eq!(e.jwks_cache_ttl, Duration::from_secs(3600));
    assert!(!loaded.warnings.iter().any(|w| w.contains("no SCIM token")), "{:?}", loaded.warnings);
    // The environment alone turns the mode on.
    let env = [("SIDECAR_SCIM_ENTRA_TENANT_ID", tenant)];
    let c = load(&sources(None, &env, Overrides::default())).unwrap().config;
    assert_eq!(c.scim.entra.unwrap().namespaces, ["default"]);
    assert!(load(&sources(None, &[], Overrides::default())).unwrap().config.scim.entra.is_none());
}

#[test]
fn every_scim_entra_problem_is_reported_with_its_key() {
    let f = file_with(
        "[scim.entra]\ntenant_id = \"contoso.onmicrosoft.com\"\nnamespaces = [\"stacks-1\"]\n\
         jwks_url = \"http://keys.example/keys\"\nmax_clock_skew = \"soon\"\ntypo = 1\n",
    );
    let env = [("SIDECAR_SCIM_ENTRA_JWKS_CACHE_TTL", "1s")];
    let errors = load(&sources(Some(f.path().into()), &env, Overrides::default())).unwrap_err().0;
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    for want in [
        "[scim.entra] typo: unknown key",
        "[scim.entra] max_clock_skew",
        "[scim.entra] tenant_id: must be the Entra tenant",
        "[scim.entra] namespaces: `stacks-1` is not a namespace",
        "[scim.entra] jwks_url: must be an https:// URL",
        "[scim.entra] jwks_cache_ttl: must be at least 1m",
    ] {
        assert!(text.iter().any(|t| t.contains(want)), "{want} missing from {text:#?}");
    }
    let f = file_with("[scim]\nentra = 5\n");
    let errors = load(&sources(Some(f.path().into()), &[], Overrides::default())).unwrap_err().0;
    assert!(
        errors.iter().any(|e| e.to_string().contains("[scim] entra: must be a [scim.entra] table")),
        "{errors:?}"
    );
}

#[test]
fn the_drift_check_is_off_by_default_and_never_runs_more_than_once_a_minute() {
    let c = load(&sources(None, &[], Overrides::default())).unwrap().config;
    assert!(c.reconcile.interval.is_zero());
    let env = [("SIDECAR_RECONCILE_INTERVAL", "15m")];
    let c = load(&sources(None, &env, Overrides::default())).unwrap().config;
    assert_eq!(c.reconcile.interval, Duration::from_secs(900));
    let f = file_with("[reconcile]\ninterval = \"10s\"\n");
    let errors = load(&sources(Some(f.path().into()), &[], Overrides::default())).unwrap_err();
    assert!(errors.to_string().contains("[reconcile] interval"), "{errors}");
}

#[test]
fn scim_mode_is_enforce_unless_shadow_is_asked_for() {
    let loaded = load(&sources(None, &[], Overrides::default())).unwrap();
    assert_eq!(loaded.config.scim.mode, super::ScimMode::Enforce);
    let f = file_with("[scim]\nmode = \"shadow\"\n");
    let loaded = load(&sources(Some(f.path().into()), &[], Overrides::default())).unwrap();
    assert!(loaded.config.scim.mode.is_shadow());
    assert!(loaded.config.scim.mode.describe().contains("SHADOW"));
    let env = [("SIDECAR_SCIM_MODE", "shadow")];
    assert!(load(&sources(None, &env, Overrides::default())).unwrap().config.scim.mode.is_shadow());
    let f = file_with("[scim]\nmode = \"dry-run\"\n");
    let errors = load(&sources(Some(f.path().into()), &[], Overrides::default())).unwrap_err();
    assert!(errors.to_string().contains("[scim] mode"), "{errors}");
}
