//! Verifying one Entra provisioning token (a JWS in compact form, RFC 7515/7519): pure, no I/O.
//!
//! [`parse`] splits and decodes the token and checks its header: the algorithm must be `RS256`
//! (`none`, `HS*`, any other is refused before a key is looked at) and a key id (`kid`) must name
//! the signing key; a `crit` header is refused (no extension is understood). [`Parsed::verify`]
//! then checks the RSA PKCS#1 v1.5 SHA-256 signature with `ring` against the key the caller found
//! for the `kid`, and only then reads the claims, which must have their registered JSON types (an
//! `exp` or `nbf` that is not a number is refused, not ignored): issuer, tenant (`tid`), audience,
//! expiry and not-before, each with the configured clock skew.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;
use serde_json::Value;

use super::jwks::RsaKey;

/// The only signing algorithm accepted: Entra signs its tokens with RS256.
pub const ALGORITHM: &str = "RS256";
/// Longest token considered; Entra's are about 1.5 KB.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// Longest key id considered.
const MAX_KID_BYTES: usize = 256;

/// Why a token is refused. The `Display` text is what the IdP is told: it names the check that
/// failed and never quotes the token or a claim.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is not a well-formed JWT")]
    Malformed,
    #[error("the token is signed with an algorithm that is not accepted (only RS256 is)")]
    Algorithm,
    #[error("the token names no signing key (kid)")]
    NoKeyId,
    #[error("the token is signed by a key the tenant does not publish")]
    UnknownKey,
    #[error("the token names a signing key that is not an RS256 signing key")]
    KeyType,
    #[error("the token's signature is not valid")]
    Signature,
    #[error("the token's claims are not well formed")]
    Claims,
    #[error("the token was not issued by the configured tenant")]
    Issuer,
    #[error("the token was issued for another tenant")]
    Tenant,
    #[error("the token is not meant for the Entra provisioning service (audience)")]
    Audience,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
}

impl TokenError {
    /// A short label for logs and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            TokenError::Malformed => "malformed",
            TokenError::Algorithm => "algorithm",
            TokenError::NoKeyId => "no_kid",
            TokenError::UnknownKey => "unknown_key",
            TokenError::KeyType => "key_type",
            TokenError::Signature => "signature",
            TokenError::Claims => "claims",
            TokenError::Issuer => "issuer",
            TokenError::Tenant => "tenant",
            TokenError::Audience => "audience",
            TokenError::Expired => "expired",
            TokenError::NotYetValid => "not_yet_valid",
        }
    }
}

/// What a token must say.
#[derive(Debug, Clone)]
pub struct Expected {
    /// `https://sts.windows.net/<tenant>/`, compared exactly.
    pub issuer: String,
    /// The tenant id (lower case), compared with `tid` exactly.
    pub tenant: String,
    /// The provisioning service's audience.
    pub audience: String,
    /// Tolerated clock difference, in seconds.
    pub skew_secs: u64,
}

/// A token whose form and header passed; its signature is not checked yet.
#[derive(Debug)]
pub struct Parsed<'t> {
    /// The key id the header names.
    pub kid: String,
    /// `header.payload`, the signed bytes.
    signing_input: &'t str,
    payload: Vec<u8>,
    signature: Vec<u8>,
}

#[derive(Deserialize)]
struct Header {
    alg: Option<Value>,
    kid: Option<Value>,
    crit: Option<Value>,
}

/// Splits and decodes `token`, and checks its header.
///
/// # Errors
/// [`TokenError::Malformed`], [`TokenError::Algorithm`] or [`TokenError::NoKeyId`].
pub fn parse(token: &str) -> Result<Parsed<'_>, TokenError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(TokenError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    let fields: Header = object(&decode(header)?).ok_or(TokenError::Malformed)?;
    match fields.alg {
        Some(Value::String(alg)) if alg == ALGORITHM => {}
        Some(_) => return Err(TokenError::Algorithm),
        None => return Err(TokenError::Malformed),
    }
    if fields.crit.is_some() {
        return Err(TokenError::Malformed);
    }
    let kid = match fields.kid {
        Some(Value::String(kid)) if !kid.is_empty() && kid.len() <= MAX_KID_BYTES => kid,
        Some(Value::String(_)) | None => return Err(TokenError::NoKeyId),
        Some(_) => return Err(TokenError::Malformed),
    };
    let signature = decode(signature)?;
    if signature.is_empty() {
        return Err(TokenError::Signature);
    }
    let signing_input = token.get(..header.len() + 1 + payload.len()).ok_or(TokenError::Malformed)?;
    Ok(Parsed { kid, signing_input, payload: decode(payload)?, signature })
}

/// A JSON object (not an array, which serde would also bind to a struct) into `T`; a member
/// named twice is refused.
fn object<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace())?;
    (*first == b'{').then(|| serde_json::from_slice(bytes).ok()).flatten()
}

fn decode(part: &str) -> Result<Vec<u8>, TokenError> {
    URL_SAFE_NO_PAD.decode(part).map_err(|_| TokenError::Malformed)
}

/// The claims a verified token is judged on (types as RFC 7519 registers them).
#[derive(Debug, Deserialize)]
struct Claims {
    iss: String,
    aud: Audience,
    tid: String,
    exp: serde_json::Number,
    nbf: Option<serde_json::Number>,
    appid: Option<String>,
    azp: Option<String>,
    oid: Option<String>,
    sub: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

/// Who a verified token stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The audit log's actor: `entra:<appid>` (else `azp`, `oid`, `sub`, or the tenant).
    pub actor: String,
}

impl Parsed<'_> {
    /// Checks the signature with `key`, then the claims against `expected` at `now` (seconds
    /// since the Unix epoch).
    ///
    /// # Errors
    /// The first check that fails.
    pub fn verify(&self, key: &RsaKey, expected: &Expected, now: u64) -> Result<Verified, TokenError> {
        let public = ring::signature::RsaPublicKeyComponents { n: &key.n, e: &key.e };
        public
            .verify(
                &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                self.signing_input.as_bytes(),
                &self.signature,
            )
            .map_err(|_| TokenError::Signature)?;
        let claims: Claims = object(&self.payload).ok_or(TokenError::Claims)?;
        if claims.iss != expected.issuer {
            return Err(TokenError::Issuer);
        }
        if claims.tid != expected.tenant {
            return Err(TokenError::Tenant);
        }
        let audience_ok = match &claims.aud {
            Audience::One(a) => *a == expected.audience,
            Audience::Many(all) => all.contains(&expected.audience),
        };
        if !audience_ok {
            return Err(TokenError::Audience);
        }
        let skew = expected.skew_secs as f64;
        let now = now as f64;
        let exp = seconds(&claims.exp)?;
        if now >= exp + skew {
            return Err(TokenError::Expired);
        }
        if let Some(nbf) = &claims.nbf {
            if now + skew < seconds(nbf)? {
                return Err(TokenError::NotYetValid);
            }
        }
        let who = [&claims.appid, &claims.azp, &claims.oid, &claims.sub]
            .into_iter()
            .flatten()
            .find_map(|v| actor_part(v))
            .unwrap_or_else(|| expected.tenant.clone());
        Ok(Verified { actor: format!("entra:{who}") })
    }
}

/// A NumericDate (seconds, possibly fractional); not a finite number → malformed claims.
fn seconds(n: &serde_json::Number) -> Result<f64, TokenError> {
    n.as_f64().filter(|f| f.is_finite()).ok_or(TokenError::Claims)
}

/// A claim fit for the audit log: GUID-like characters only, at most 64 of them.
fn actor_part(value: &str) -> Option<String> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    ok.then(|| value.to_owned())
}
