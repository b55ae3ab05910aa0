//! libpq's TLS parameters in a `postgres://` URL, read the way libpq reads them.
//!
//! tokio-postgres knows only `sslmode=disable|prefer|require` and none of the certificate
//! parameters, so this module takes `sslmode`, `sslrootcert`, `sslcert`, `sslkey` and `sslsni`
//! out of the query string, hands the rest of the URL to tokio-postgres, and decides what the
//! TLS connector ([`super::tls`]) must check. The semantics follow libpq's
//! (<https://www.postgresql.org/docs/current/libpq-ssl.html#LIBPQ-SSL-PROTECTION>, table 34.1):
//!
//! | `sslmode` | TLS | certificate checked |
//! |---|---|---|
//! | `disable` | never | – |
//! | `prefer` (default) | when the server offers it, else plain | chain only when `sslrootcert` is given |
//! | `require` | always | chain only when `sslrootcert` is given (libpq: "behaves like verify-ca") |
//! | `verify-ca` | always | chain against `sslrootcert` |
//! | `verify-full` | always | chain and host name against `sslrootcert` |
//!
//! Where libpq falls back to files in `~/.postgresql/`, the sidecar reads nothing implicitly:
//! `verify-ca` and `verify-full` need an explicit `sslrootcert`, and a client certificate is
//! used only when `sslcert` and `sslkey` name one. `sslrootcert=system` (libpq 16) trusts the
//! web PKI roots the sidecar ships (Mozilla's, as for Grafana) and, as in libpq, implies and
//! requires `verify-full`. `allow`, `sslpassword` and certificate revocation lists are refused
//! with a clear message rather than silently ignored.
//!
//! Nothing here echoes the URL: it may carry a password.

use std::path::PathBuf;

use percent_encoding::percent_decode_str;

use crate::store::StoreError;

/// libpq's `sslmode` values the sidecar supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Result<Self, StoreError> {
        Ok(match value {
            "disable" => Self::Disable,
            "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            "allow" => {
                return Err(invalid(
                    "sslmode=allow is not supported (it tries a plain connection first); \
                     use disable, prefer, require, verify-ca or verify-full",
                ))
            }
            other => {
                let shown: String = other.chars().take(24).collect();
                return Err(invalid(format!(
                    "sslmode must be disable, prefer, require, verify-ca or verify-full, not {shown:?}"
                )));
            }
        })
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        }
    }
}

/// Where trusted CA certificates come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Roots {
    /// `sslrootcert=PATH`: a PEM file of one or more CA certificates.
    File(PathBuf),
    /// `sslrootcert=system`: the web PKI roots the sidecar ships.
    System,
}

/// What the server's certificate is checked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Verify {
    /// Encrypt, but accept any certificate (handshake signatures are still checked).
    Nothing,
    /// The chain must lead to one of `roots`; the host name is not compared.
    Chain(Roots),
    /// The chain must lead to one of `roots` and the certificate must name the host.
    ChainAndHost(Roots),
}

/// The TLS half of a PostgreSQL URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TlsParams {
    pub mode: SslMode,
    pub verify: Verify,
    /// `sslcert` and `sslkey`: a client certificate chain and its key (PEM, unencrypted).
    pub client: Option<(PathBuf, PathBuf)>,
    /// `sslsni=0` turns the server-name indication off (libpq sends it by default).
    pub sni: bool,
}

/// A PostgreSQL URL split into what tokio-postgres reads and what the TLS connector needs.
pub(crate) struct ConnInfo {
    pub config: tokio_postgres::Config,
    pub tls: TlsParams,
}

fn invalid(message: impl Into<String>) -> StoreError {
    StoreError::InvalidUrl(message.into())
}

/// Splits `url` (`postgres://…` or `postgresql://…`) into tokio-postgres' configuration and the
/// TLS parameters.
///
/// # Errors
/// `InvalidUrl` naming the bad parameter (never the URL), for a value libpq would refuse too,
/// for a combination libpq refuses (`sslrootcert=system` below `verify-full`), and for what the
/// sidecar does not read implicitly (`verify-ca` without `sslrootcert`).
pub(crate) fn parse(url: &str) -> Result<ConnInfo, StoreError> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut kept = Vec::new();
    let (mut mode, mut root, mut cert, mut key, mut sni) = (None, None, None, None, true);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let name = decode(k, "parameter name")?;
        match name.as_str() {
            "sslmode" => mode = Some(SslMode::parse(&decode(v, "sslmode")?)?),
            "sslrootcert" => root = Some(decode(v, "sslrootcert")?).filter(|s| !s.is_empty()),
            "sslcert" => cert = Some(decode(v, "sslcert")?).filter(|s| !s.is_empty()),
            "sslkey" => key = Some(decode(v, "sslkey")?).filter(|s| !s.is_empty()),
            "sslsni" => {
                sni = match decode(v, "sslsni")?.as_str() {
                    "1" => true,
                    "0" => false,
                    _ => return Err(invalid("sslsni must be 0 or 1")),
                }
            }
            "sslpassword" => {
                return Err(invalid(
                    "sslpassword is not supported: give sslkey an unencrypted key file (readable by the sidecar only)",
                ))
            }
            "sslcrl" | "sslcrldir" => {
                return Err(invalid(format!("{name} is not supported (no certificate revocation lists)")))
            }
            _ => kept.push(pair),
        }
    }
    let roots = root.map(|r| if r == "system" { Roots::System } else { Roots::File(PathBuf::from(r)) });
    // libpq 16: `sslrootcert=system` makes `verify-full` the default and refuses anything weaker.
    let mode = match (mode, &roots) {
        (None, Some(Roots::System)) => SslMode::VerifyFull,
        (Some(m), Some(Roots::System)) if m != SslMode::VerifyFull => {
            return Err(invalid(format!(
                "sslrootcert=system needs sslmode=verify-full (libpq refuses sslmode={} with it)",
                m.as_str()
            )))
        }
        (m, _) => m.unwrap_or(SslMode::Prefer),
    };
    let verify = match (mode, roots) {
        (SslMode::VerifyFull, Some(r)) => Verify::ChainAndHost(r),
        (SslMode::VerifyCa | SslMode::Require | SslMode::Prefer, Some(r)) => Verify::Chain(r),
        (SslMode::VerifyCa | SslMode::VerifyFull, None) => {
            return Err(invalid(format!(
                "sslmode={} needs sslrootcert=PATH (the CA certificate that signed the server's) \
                 or sslrootcert=system",
                mode.as_str()
            )))
        }
        (SslMode::Disable, _) | (SslMode::Require | SslMode::Prefer, None) => Verify::Nothing,
    };
    let client = match (cert, key) {
        (Some(c), Some(k)) => Some((PathBuf::from(c), PathBuf::from(k))),
        (None, None) => None,
        _ => return Err(invalid("sslcert and sslkey must be given together")),
    };
    let rest = if kept.is_empty() { base.to_owned() } else { format!("{base}?{}", kept.join("&")) };
    let mut config: tokio_postgres::Config =
        rest.parse().map_err(|e| invalid(format!("postgres url: {e}")))?;
    config.ssl_mode(match mode {
        SslMode::Disable => tokio_postgres::config::SslMode::Disable,
        SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
        _ => tokio_postgres::config::SslMode::Require,
    });
    if matches!(verify, Verify::ChainAndHost(_)) && !has_tcp_host(&config) {
        return Err(invalid("sslmode=verify-full needs a host name to check the certificate against"));
    }
    Ok(ConnInfo { config, tls: TlsParams { mode, verify, client, sni } })
}

/// The TLS line `check-config` and `check` print for a PostgreSQL URL; reads the certificate
/// files, so a bad one is reported before the sidecar starts.
///
/// # Errors
/// `InvalidUrl` for a bad URL, TLS parameter or certificate file.
pub(crate) fn describe_tls(url: &str) -> Result<String, StoreError> {
    let info = parse(url)?;
    super::tls::connector(&info.tls)?;
    Ok(info.tls.describe())
}

fn has_tcp_host(config: &tokio_postgres::Config) -> bool {
    config.get_hosts().iter().any(|h| matches!(h, tokio_postgres::config::Host::Tcp(_)))
}

fn decode(raw: &str, what: &str) -> Result<String, StoreError> {
    percent_decode_str(raw)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| invalid(format!("postgres url: {what} is not valid UTF-8")))
}

impl TlsParams {
    /// One line for `check-config` and `check`: the mode and what it checks.
    pub(crate) fn describe(&self) -> String {
        let mode = self.mode.as_str();
        let roots = |r: &Roots| match r {
            Roots::File(p) => p.display().to_string(),
            Roots::System => "the web PKI roots".to_owned(),
        };
        let mut line = match (&self.mode, &self.verify) {
            (SslMode::Disable, _) => "sslmode=disable: TLS off".to_owned(),
            (SslMode::Prefer, Verify::Nothing) => {
                "sslmode=prefer: TLS when the server offers it, certificate not verified".to_owned()
            }
            (_, Verify::Nothing) => format!("sslmode={mode}: TLS required, certificate not verified"),
            (SslMode::Prefer, Verify::Chain(r)) => {
                format!("sslmode=prefer: TLS when the server offers it, chain checked against {}", roots(r))
            }
            (_, Verify::Chain(r)) => {
                format!("sslmode={mode}: TLS required, chain checked against {}, host name not", roots(r))
            }
            (_, Verify::ChainAndHost(r)) => {
                format!("sslmode={mode}: TLS required, chain and host name checked against {}", roots(r))
            }
        };
        if let (Some((cert, _)), false) = (&self.client, self.mode == SslMode::Disable) {
            line.push_str(&format!("; client certificate {}", cert.display()));
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tls(url: &str) -> TlsParams {
        parse(url).unwrap().tls
    }

    fn error(url: &str) -> String {
        match parse(url) {
            Ok(_) => panic!("{url} must be refused"),
            Err(e) => e.to_string(),
        }
    }

    const BASE: &str = "postgres://u:secretpw@db.example/sidecar";

    #[test]
    fn modes_follow_libpq() {
        assert_eq!(tls(BASE).mode, SslMode::Prefer, "libpq's default");
        assert_eq!(tls(BASE).verify, Verify::Nothing);
        assert_eq!(tls(&format!("{BASE}?sslmode=disable")).verify, Verify::Nothing);
        assert_eq!(tls(&format!("{BASE}?sslmode=require")).verify, Verify::Nothing);
        let ca = Roots::File("/ca.pem".into());
        assert_eq!(
            tls(&format!("{BASE}?sslmode=require&sslrootcert=/ca.pem")).verify,
            Verify::Chain(ca.clone())
        );
        assert_eq!(
            tls(&format!("{BASE}?sslmode=verify-ca&sslrootcert=/ca.pem")).verify,
            Verify::Chain(ca.clone())
        );
        assert_eq!(
            tls(&format!("{BASE}?sslrootcert=%2Fca.pem&sslmode=verify-full")).verify,
            Verify::ChainAndHost(ca)
        );
        let system = tls(&format!("{BASE}?sslrootcert=system"));
        assert_eq!((system.mode, system.verify), (SslMode::VerifyFull, Verify::ChainAndHost(Roots::System)));
    }

    #[test]
    fn tls_parameters_leave_the_rest_of_the_url_to_tokio_postgres() {
        let info = parse(&format!(
            "{BASE}?options=-c%20search_path%3Dx&sslmode=verify-full&sslrootcert=/ca.pem&sslcert=/c.pem&sslkey=/k.pem&application_name=s"
        ))
        .unwrap();
        assert_eq!(info.config.get_options(), Some("-c search_path=x"));
        assert_eq!(info.config.get_application_name(), Some("s"));
        assert_eq!(info.config.get_ssl_mode(), tokio_postgres::config::SslMode::Require);
        assert_eq!(info.tls.client, Some(("/c.pem".into(), "/k.pem".into())));
        assert_eq!(
            parse(&format!("{BASE}?sslmode=prefer")).unwrap().config.get_ssl_mode(),
            tokio_postgres::config::SslMode::Prefer
        );
        assert!(!tls(&format!("{BASE}?sslsni=0")).sni);
    }

    #[test]
    fn bad_values_are_clear_errors_that_never_echo_the_url() {
        for (url, expect) in [
            ("?sslmode=verify_full", "sslmode must be"),
            ("?sslmode=allow", "allow is not supported"),
            ("?sslmode=verify-full", "needs sslrootcert"),
            ("?sslmode=verify-ca", "needs sslrootcert"),
            ("?sslmode=require&sslrootcert=system", "needs sslmode=verify-full"),
            ("?sslcert=/c.pem", "together"),
            ("?sslpassword=x", "sslpassword is not supported"),
            ("?sslcrl=/crl.pem", "not supported"),
            ("?sslsni=yes", "sslsni"),
            ("?nonsense=1", "invalid connection string"),
        ] {
            let e = error(&format!("{BASE}{url}"));
            assert!(e.contains(expect), "{url}: {e}");
            assert!(!e.contains("secretpw") && !e.contains("db.example"), "{e}");
        }
        assert!(error("postgres://u@/db?host=/run/postgresql&sslmode=verify-full&sslrootcert=/ca")
            .contains("needs a host name"));
    }

    #[test]
    fn descriptions_name_the_mode_and_what_is_checked() {
        assert!(tls(BASE).describe().starts_with("sslmode=prefer: TLS when the server offers it"));
        let full =
            tls(&format!("{BASE}?sslmode=verify-full&sslrootcert=/ca.pem&sslcert=/c&sslkey=/k")).describe();
        assert_eq!(full, "sslmode=verify-full: TLS required, chain and host name checked against /ca.pem; client certificate /c");
        assert!(!full.contains("/k"));
    }
}
