//! Layering: built-in defaults → TOML file → `SIDECAR_*` environment → command-line flags.
//!
//! Values are merged as a TOML table first and deserialised once at the end, so that every
//! problem in every layer (unknown key, wrong type, bad value) is collected into one
//! [`ConfigErrors`] rather than failing on the first.

use std::fmt;
use std::path::{Path, PathBuf};

use toml::{Table, Value};

use super::keys::{self, Key, Kind};
use super::{validate, Config, Secret};

/// Where configuration comes from.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// `--config PATH`; wins over `SIDECAR_CONFIG`.
    pub file: Option<PathBuf>,
    /// The environment (only `SIDECAR_*` variables are read).
    pub env: Vec<(String, String)>,
    /// Values given as command-line flags.
    pub overrides: Overrides,
    /// Used when neither `--config` nor `SIDECAR_CONFIG` names a file: read it if it exists.
    pub default_file: Option<PathBuf>,
}

/// Command-line flag values, each naming the key it sets.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    values: Vec<(&'static str, &'static str, &'static str, String)>,
}

impl Overrides {
    /// Records `--flag value` for `[section] key`. Unknown keys are a programming error and are
    /// reported by [`load`] like any other bad key.
    pub fn set(&mut self, flag: &'static str, section: &'static str, key: &'static str, value: String) {
        self.values.push((flag, section, key, value));
    }
}

impl Sources {
    /// The process's own environment and `./sidecar.toml` as the fallback file.
    pub fn from_process(file: Option<PathBuf>, overrides: Overrides) -> Self {
        Self {
            file,
            env: std::env::vars().filter(|(k, _)| k.starts_with(keys::ENV_PREFIX)).collect(),
            overrides,
            default_file: Some(PathBuf::from("sidecar.toml")),
        }
    }

    fn env_var(&self, name: &str) -> Option<&str> {
        self.env.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// Where a problem was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    File(PathBuf),
    Env(String),
    Flag(&'static str),
    Value,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File(p) => write!(f, "{}", p.display()),
            Origin::Env(var) => write!(f, "environment {var}"),
            Origin::Flag(flag) => write!(f, "flag {flag}"),
            Origin::Value => f.write_str("configuration"),
        }
    }
}

/// One configuration problem. Its text never contains a secret value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub origin: Origin,
    /// `[section] key`, when the problem is about one key.
    pub key: Option<String>,
    pub message: String,
}

impl ConfigError {
    pub(super) fn new(origin: Origin, key: Option<String>, message: impl Into<String>) -> Self {
        Self { origin, key, message: message.into() }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.key {
            Some(key) => write!(f, "{}: {key}: {}", self.origin, self.message),
            None => write!(f, "{}: {}", self.origin, self.message),
        }
    }
}

/// Every problem found; never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// A loaded, validated configuration.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    /// The file that was read, if any.
    pub file: Option<PathBuf>,
    /// Things that are allowed but probably wrong (logged at start, printed by `check-config`).
    pub warnings: Vec<String>,
}

/// Loads and validates configuration from `sources`.
///
/// # Errors
/// Every problem in every layer, at once.
pub fn load(sources: &Sources) -> Result<Loaded, ConfigErrors> {
    let mut errors = Vec::new();
    let mut layers = Layers::default();

    let file = choose_file(sources, &mut errors);
    if let Some(path) = &file {
        if let Some(parsed) = read_toml(path, &mut errors) {
            merge_checked(&mut layers, parsed, &Origin::File(path.clone()), &mut errors);
        }
    }
    apply_env(&mut layers, sources, &mut errors);
    for (flag, section, name, value) in &sources.overrides.values {
        let origin = Origin::Flag(flag);
        match keys::find(section, name) {
            Some(key) => set_from_text(&mut layers, key, value, &origin, &mut errors),
            None => errors.push(ConfigError::new(origin, None, format!("no key [{section}] {name}"))),
        }
    }
    // Values of the right TOML type may still be bad (a duration that does not parse): each is
    // tried on its own and dropped with an error, so the rest still loads and is validated, and
    // every problem of every kind is reported in one go.
    drop_undecodable(&mut layers, &mut errors);
    let mut config: Config = match Value::Table(layers.table).try_into() {
        Ok(config) => config,
        Err(e) => {
            let origin = file.clone().map_or(Origin::Value, Origin::File);
            errors.push(ConfigError::new(origin, None, e.message().to_string()));
            return Err(ConfigErrors(errors));
        }
    };
    read_secret_files(&mut config, &mut errors);
    let warnings = validate::validate(&config, &mut errors);
    if errors.is_empty() {
        Ok(Loaded { config, file, warnings })
    } else {
        Err(ConfigErrors(errors))
    }
}

/// The merged layers as one TOML table, with where each key's value came from.
#[derive(Default)]
struct Layers {
    table: Table,
    /// `(section, key)` → the layer that set the value last.
    origins: std::collections::BTreeMap<(String, String), Origin>,
}

/// Removes every value that does not deserialise into its key's type, reporting each.
fn drop_undecodable(layers: &mut Layers, errors: &mut Vec<ConfigError>) {
    let mut bad = Vec::new();
    for (section, name, value) in entries(&layers.table) {
        let mut alone = Table::new();
        in_section(&mut alone, &section, |t| {
            t.insert(name.clone(), value.clone());
        });
        if let Err(e) = Value::Table(alone).try_into::<Config>() {
            bad.push((section, name, e.message().to_string()));
        }
    }
    for (section, name, message) in bad {
        in_section(&mut layers.table, &section, |t| {
            t.remove(&name);
        });
        let origin = layers.origins.get(&(section.clone(), name.clone())).cloned().unwrap_or(Origin::Value);
        errors.push(ConfigError::new(origin, Some(format!("[{section}] {name}")), message));
    }
}

/// Every `(section, key, value)` of the merged table; a sub-table section (`scim.entra`) is
/// listed under its dotted name, not as one value of its parent.
fn entries(table: &Table) -> Vec<(String, String, Value)> {
    fn walk(section: &str, body: &Table, out: &mut Vec<(String, String, Value)>) {
        for (name, value) in body {
            let sub = format!("{section}.{name}");
            match value {
                Value::Table(inner) if keys::sections().any(|s| s == sub) => walk(&sub, inner, out),
                _ => out.push((section.to_string(), name.clone(), value.clone())),
            }
        }
    }
    let mut out = Vec::new();
    for (section, body) in table {
        if let Value::Table(body) = body {
            walk(section, body, &mut out);
        }
    }
    out
}

/// Runs `f` on the table of `section` (dotted for a sub-table) inside `table`, creating it when
/// absent.
fn in_section(table: &mut Table, section: &str, f: impl FnOnce(&mut Table)) {
    let (head, rest) = section.split_once('.').map_or((section, None), |(h, r)| (h, Some(r)));
    let entry = table.entry(head).or_insert_with(|| Value::Table(Table::new()));
    if !entry.is_table() {
        *entry = Value::Table(Table::new());
    }
    if let Value::Table(inner) = entry {
        match rest {
            Some(rest) => in_section(inner, rest, f),
            None => f(inner),
        }
    }
}

fn choose_file(sources: &Sources, errors: &mut Vec<ConfigError>) -> Option<PathBuf> {
    let named = sources.file.clone().map(|p| (p, Origin::Flag("--config"))).or_else(|| {
        sources.env_var(keys::ENV_CONFIG).map(|p| (PathBuf::from(p), Origin::Env(keys::ENV_CONFIG.into())))
    });
    match named {
        Some((path, origin)) => {
            if path.is_file() {
                Some(path)
            } else {
                errors.push(ConfigError::new(
                    origin,
                    None,
                    format!("config file {} does not exist", path.display()),
                ));
                None
            }
        }
        None => sources.default_file.clone().filter(|p| p.is_file()),
    }
}

fn read_toml(path: &Path, errors: &mut Vec<ConfigError>) -> Option<Table> {
    let origin = Origin::File(path.to_path_buf());
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            errors.push(ConfigError::new(origin, None, format!("cannot read: {e}")));
            return None;
        }
    };
    match text.parse::<Table>() {
        Ok(table) => Some(table),
        Err(e) => {
            // toml's message quotes the offending line, which may hold a secret: keep only the
            // position and the reason.
            let position =
                e.span().map(|s| line_of(&text, s.start)).map(|l| format!("line {l}: ")).unwrap_or_default();
            errors.push(ConfigError::new(origin, None, format!("{position}invalid TOML: {}", e.message())));
            None
        }
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).map_or(0, |head| head.matches('\n').count()) + 1
}

/// Copies a parsed file into `table`, reporting unknown sections, unknown keys and wrong types.
fn merge_checked(layers: &mut Layers, parsed: Table, origin: &Origin, errors: &mut Vec<ConfigError>) {
    for (section, body) in parsed {
        let Value::Table(body) = body else {
            errors.push(ConfigError::new(origin.clone(), None, format!("`{section}` must be a [section]")));
            continue;
        };
        if keys::sections().all(|s| s != section) {
            errors.push(ConfigError::new(origin.clone(), None, format!("unknown section [{section}]")));
            continue;
        }
        merge_section(layers, &section, body, origin, errors);
    }
}

/// Copies one section's keys; a sub-table that is a known section (`[scim.entra]`) is merged as
/// that section.
fn merge_section(
    layers: &mut Layers,
    section: &str,
    body: Table,
    origin: &Origin,
    errors: &mut Vec<ConfigError>,
) {
    for (name, value) in body {
        let label = format!("[{section}] {name}");
        let sub = keys::subsections(section).find(|(n, _)| *n == name).map(|(_, full)| full);
        match (sub, value) {
            (Some(full), Value::Table(inner)) => merge_section(layers, full, inner, origin, errors),
            (Some(full), _) => errors.push(ConfigError::new(
                origin.clone(),
                Some(label),
                format!("must be a [{full}] table"),
            )),
            (None, value) => match keys::find(section, &name) {
                None => errors.push(ConfigError::new(origin.clone(), Some(label), "unknown key")),
                Some(key) if !kind_matches(key.kind, &value) => errors.push(ConfigError::new(
                    origin.clone(),
                    Some(label),
                    format!("expected {}", kind_name(key.kind)),
                )),
                Some(key) => set(layers, key, value, origin),
            },
        }
    }
}

fn apply_env(layers: &mut Layers, sources: &Sources, errors: &mut Vec<ConfigError>) {
    for (var, value) in &sources.env {
        if var == keys::ENV_CONFIG {
            continue;
        }
        let origin = Origin::Env(var.clone());
        if var == keys::ENV_SCIM_TOKEN {
            if value.is_empty() {
                errors.push(ConfigError::new(origin, Some("[scim] tokens".into()), "empty token"));
            } else {
                push_list(&mut layers.table, "scim", "tokens", value.clone());
            }
            continue;
        }
        match keys::from_env_name(var) {
            Some(key) => set_from_text(layers, key, value, &origin, errors),
            // Kubernetes' variables for a Service named `sidecar…`: not settings, not errors.
            None if super::service_links::is_service_link(var, value) => {}
            None => errors.push(ConfigError::new(origin, None, "unknown SIDECAR_ variable")),
        }
    }
}

/// Parses a flag or environment value into the key's kind.
fn set_from_text(layers: &mut Layers, key: &Key, text: &str, origin: &Origin, errors: &mut Vec<ConfigError>) {
    let value = match key.kind {
        Kind::Str => Some(Value::String(text.to_string())),
        Kind::Bool => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Some(Value::Boolean(true)),
            "false" | "0" | "no" | "off" => Some(Value::Boolean(false)),
            _ => None,
        },
        Kind::Int => text.trim().parse::<i64>().ok().filter(|n| *n >= 0).map(Value::Integer),
        Kind::StrList | Kind::TokenList => Some(Value::Array(
            text.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.into()))
                .collect(),
        )),
        // Tables are written in the configuration file only.
        Kind::Table => None,
    };
    match value {
        Some(value) => set(layers, key, value, origin),
        None => errors.push(ConfigError::new(
            origin.clone(),
            Some(format!("[{}] {}", key.section, key.name)),
            format!("expected {}", kind_name(key.kind)),
        )),
    }
}

fn set(layers: &mut Layers, key: &Key, value: Value, origin: &Origin) {
    in_section(&mut layers.table, key.section, |t| {
        t.insert(key.name.to_string(), value);
    });
    layers.origins.insert((key.section.to_string(), key.name.to_string()), origin.clone());
}

fn push_list(table: &mut Table, section: &str, name: &str, item: String) {
    if let Value::Table(body) = table.entry(section).or_insert_with(|| Value::Table(Table::new())) {
        match body.entry(name).or_insert_with(|| Value::Array(Vec::new())) {
            Value::Array(items) => items.push(Value::String(item)),
            other => *other = Value::Array(vec![Value::String(item)]),
        }
    }
}

fn kind_matches(kind: Kind, value: &Value) -> bool {
    match (kind, value) {
        (Kind::Str, Value::String(_)) | (Kind::Bool, Value::Boolean(_)) => true,
        (Kind::Int, Value::Integer(n)) => *n >= 0,
        (Kind::StrList, Value::Array(items)) => items.iter().all(Value::is_str),
        (Kind::Table, Value::Table(_)) => true,
        (Kind::TokenList, Value::Array(items)) => items.iter().all(|i| {
            i.is_str()
                || i.as_table().is_some_and(|t| {
                    t.get("token").is_some_and(Value::is_str)
                        && t.get("name").is_some_and(Value::is_str)
                        && t.len() == 2
                })
        }),
        _ => false,
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Str => "a string",
        Kind::Bool => "a boolean (true or false)",
        Kind::Int => "a non-negative integer",
        Kind::StrList => "a list of strings",
        Kind::TokenList => "a list of tokens (strings or { name, token } tables)",
        Kind::Table => "a table, written in the configuration file",
    }
}

/// `password_file` and `token_file`: secrets kept out of the config file itself.
fn read_secret_files(config: &mut Config, errors: &mut Vec<ConfigError>) {
    if let Some(path) = config.grafana.password_file.clone() {
        match read_secret_lines(&path) {
            Ok(lines) if !lines.is_empty() => config.grafana.password = lines.into_iter().next(),
            Ok(_) => errors.push(file_error("[grafana] password_file", &path, "is empty")),
            Err(e) => errors.push(file_error("[grafana] password_file", &path, &format!("cannot read: {e}"))),
        }
    }
    if let Some(path) = config.admin.token_file.clone() {
        match read_secret_lines(&path) {
            Ok(lines) if !lines.is_empty() => config.admin.token = lines.into_iter().next(),
            Ok(_) => errors.push(file_error("[admin] token_file", &path, "is empty")),
            Err(e) => errors.push(file_error("[admin] token_file", &path, &format!("cannot read: {e}"))),
        }
    }
    if let Some(path) = config.scim.token_file.clone() {
        match read_secret_lines(&path) {
            Ok(lines) if !lines.is_empty() => config.scim.tokens.extend(lines.into_iter().map(Into::into)),
            Ok(_) => errors.push(file_error("[scim] token_file", &path, "holds no token")),
            Err(e) => errors.push(file_error("[scim] token_file", &path, &format!("cannot read: {e}"))),
        }
    }
}

fn read_secret_lines(path: &Path) -> std::io::Result<Vec<Secret>> {
    let text = std::fs::read_to_string(path)?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(Secret::new)
        .collect())
}

fn file_error(key: &str, path: &Path, message: &str) -> ConfigError {
    ConfigError::new(Origin::Value, Some(key.into()), format!("{}: {message}", path.display()))
}
