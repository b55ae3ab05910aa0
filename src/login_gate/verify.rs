//! Verification of one SAML response: shape screening, signatures, decryption and conditions.
//!
//! Pure over its inputs (the decoded XML, the [`Trust`] material and `now`); blocking (xmlsec and
//! OpenSSL), so callers run it on a blocking thread. The signature library (samael over xmlsec)
//! checks the cryptography and prunes everything it did not verify; [`structure`] refuses the
//! wrapping family before that, and after it we require that the assertion we read is the very
//! element the screening saw signed. Conditions (issuer, audience, validity window, recipient,
//! destination, status) are checked here rather than in samael so that `now` is an input.
//! Encrypted assertions are decrypted by [`xmlenc`] (RSA-OAEP, AES-CBC or AES-GCM); since CBC
//! carries no integrity, the decrypted assertion must be signed itself unless the response
//! signature already covered the ciphertext.
//!
//! This module does not look at the store or decide who may log in.

pub mod structure;
pub mod xmlenc;

use chrono::{DateTime, Duration, Utc};
use samael::crypto::{AllowedSignatureAlgorithm, CertificateDer, Crypto, CryptoProvider, ReduceMode};
use samael::schema::{Assertion, Response};

use structure::{inspect, Root, Shape, ShapeError};

/// An SP private key able to decrypt assertions.
pub type SpKey = openssl::pkey::PKey<openssl::pkey::Private>;

const STATUS_SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
const ALLOWED: &[AllowedSignatureAlgorithm] = &[
    AllowedSignatureAlgorithm::RsaSha256,
    AllowedSignatureAlgorithm::RsaSha384,
    AllowedSignatureAlgorithm::RsaSha512,
    AllowedSignatureAlgorithm::EcdsaSha256,
    AllowedSignatureAlgorithm::EcdsaSha384,
    AllowedSignatureAlgorithm::EcdsaSha512,
];

/// What a response is checked against.
pub struct Trust {
    /// The IdP's signing certificates (DER).
    pub certs: Vec<CertificateDer>,
    /// The IdP entity id from its metadata; when set, assertion issuers must equal it.
    pub idp_entity_id: Option<String>,
    /// Our SP entity id, required in an `AudienceRestriction`.
    pub audience: String,
    /// Our ACS URL: the `Recipient` of the bearer confirmation and the response `Destination`.
    pub acs_url: String,
    pub max_clock_skew: Duration,
    /// Decrypts `EncryptedAssertion`s; without it they are refused.
    pub sp_key: Option<SpKey>,
}

/// Why a response was refused. The message is for logs; people see a generic text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    #[error("response is not valid base64 or UTF-8")]
    Encoding,
    #[error("response shape refused: {0}")]
    Shape(#[from] ShapeError),
    #[error("response carries no signature")]
    Unsigned,
    #[error("signature verification failed")]
    Signature,
    #[error("signed content does not match the assertion read")]
    SignedElementMismatch,
    #[error("response could not be parsed")]
    Parse,
    #[error("encrypted assertion but no SP private key is configured")]
    EncryptedWithoutKey,
    #[error("encrypted assertion could not be decrypted")]
    Decrypt,
    #[error("encrypted assertion could not be decrypted: {0}")]
    Xmlenc(#[from] xmlenc::DecryptError),
    #[error("response status is not Success")]
    Status,
    #[error("destination does not match this ACS")]
    Destination,
    #[error("assertion issuer is not the configured IdP")]
    Issuer,
    #[error("assertion audience does not include this SP")]
    Audience,
    #[error("assertion is not yet valid")]
    NotYetValid,
    #[error("assertion has expired")]
    Expired,
    #[error("no usable bearer subject confirmation for this ACS")]
    SubjectConfirmation,
}

/// What a verified assertion says about the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub assertion_id: String,
    pub name_id: Option<String>,
    /// `(Name, FriendlyName, values)` of every attribute.
    pub attributes: Vec<(Option<String>, Option<String>, Vec<String>)>,
}

impl Facts {
    /// The first non-empty value of the attribute whose `Name` or `FriendlyName` is `name`.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .filter(|(n, f, _)| n.as_deref() == Some(name) || f.as_deref() == Some(name))
            .flat_map(|(_, _, values)| values.iter())
            .map(|v| v.trim())
            .find(|v| !v.is_empty())
    }
}

/// Decodes the `SAMLResponse` form value (base64, whitespace tolerated) into XML text.
///
/// # Errors
/// [`Invalid::Encoding`].
pub fn decode_saml_response(value: &str) -> Result<String, Invalid> {
    use base64::Engine;
    let cleaned: String = value.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD.decode(cleaned).map_err(|_| Invalid::Encoding)?;
    String::from_utf8(bytes).map_err(|_| Invalid::Encoding)
}

/// Verifies a SAML `Response` document and returns the facts of its one assertion.
///
/// # Errors
/// [`Invalid`] naming the first check that failed.
pub fn verify(xml: &str, trust: &Trust, now: DateTime<Utc>) -> Result<Facts, Invalid> {
    let shape = inspect(xml, Root::Response)?;
    if trust.certs.is_empty() {
        return Err(Invalid::Signature);
    }
    let (response, assertion) =
        if shape.encrypted { encrypted(xml, &shape, trust)? } else { plaintext(xml, &shape, trust)? };
    check_response(&response, trust)?;
    check_assertion(&assertion, trust, now)?;
    Ok(facts(assertion))
}

/// A plaintext assertion: every signature must verify and the reduced (verified-only) document
/// must yield the assertion the screening saw, by ID.
fn plaintext(xml: &str, shape: &Shape, trust: &Trust) -> Result<(Response, Assertion), Invalid> {
    if !shape.response_signed && !shape.assertion_signed {
        return Err(Invalid::Unsigned);
    }
    let reduced = reduce(xml, trust)?;
    // The unsigned envelope is read from the original only for Destination and Status.
    let response: Response = xml.parse().map_err(|_| Invalid::Parse)?;
    let assertion = if shape.response_signed {
        let signed: Response = reduced.parse().map_err(|_| Invalid::Parse)?;
        if signed.encrypted_assertion.is_some() {
            return Err(Invalid::SignedElementMismatch);
        }
        signed.assertion.ok_or(Invalid::SignedElementMismatch)?
    } else {
        reduced.parse::<Assertion>().map_err(|_| Invalid::SignedElementMismatch)?
    };
    if Some(&assertion.id) != shape.assertion_id.as_ref() {
        return Err(Invalid::SignedElementMismatch);
    }
    let response =
        if shape.response_signed { reduced.parse().map_err(|_| Invalid::Parse)? } else { response };
    Ok((response, assertion))
}

/// An encrypted assertion: authenticated by a verified response signature, or by its own
/// signature once decrypted (screened again as a standalone assertion).
fn encrypted(xml: &str, shape: &Shape, trust: &Trust) -> Result<(Response, Assertion), Invalid> {
    let key = trust.sp_key.as_ref().ok_or(Invalid::EncryptedWithoutKey)?;
    let response: Response = if shape.response_signed {
        reduce(xml, trust)?.parse().map_err(|_| Invalid::Parse)?
    } else {
        xml.parse().map_err(|_| Invalid::Parse)?
    };
    if response.assertion.is_some() {
        return Err(Invalid::SignedElementMismatch);
    }
    let enc = response.encrypted_assertion.as_ref().ok_or(Invalid::SignedElementMismatch)?;
    let inner = decrypt(enc, key)?;
    let inner_shape = inspect(&inner, Root::Assertion)?;
    let assertion: Assertion = if inner_shape.assertion_signed {
        reduce(&inner, trust)?.parse().map_err(|_| Invalid::SignedElementMismatch)?
    } else if shape.response_signed {
        inner.parse().map_err(|_| Invalid::Parse)?
    } else {
        return Err(Invalid::Unsigned);
    };
    if Some(&assertion.id) != inner_shape.assertion_id.as_ref() {
        return Err(Invalid::SignedElementMismatch);
    }
    Ok((response, assertion))
}

fn reduce(xml: &str, trust: &Trust) -> Result<String, Invalid> {
    Crypto::reduce_xml_to_signed_with_allowed_algorithms(
        xml,
        &trust.certs,
        ReduceMode::ValidateAndMarkNoAncestors,
        Some(ALLOWED),
    )
    .map_err(|_| Invalid::Signature)
}

fn decrypt(enc: &samael::schema::EncryptedAssertion, key: &SpKey) -> Result<String, Invalid> {
    let (wrapped_key, transport) = encrypted_key(enc).ok_or(Invalid::Decrypt)?;
    let (value_cipher, value_method) = enc.encrypted_value_info().ok_or(Invalid::Decrypt)?;
    let wrapped = xmlenc::decode_cipher_value(&wrapped_key.value)?;
    let content_key = xmlenc::unwrap_key(transport.algorithm, transport.digest, &wrapped, key)?;
    let data = xmlenc::decode_cipher_value(&value_cipher.value)?;
    let plain = xmlenc::decrypt_content(value_method, &content_key, &data)?;
    String::from_utf8(plain).map_err(|_| Invalid::Decrypt)
}

/// A key transport's `EncryptionMethod`: its algorithm and, when it names one, its digest.
struct KeyTransport<'a> {
    algorithm: &'a str,
    digest: Option<&'a str>,
}

/// The wrapped content key and its key transport, from the `EncryptedKey` inside
/// `EncryptedData` when that one has both, else from the one beside it (the order samael's
/// `encrypted_key_info` follows).
fn encrypted_key(
    enc: &samael::schema::EncryptedAssertion,
) -> Option<(&samael::schema::CipherValue, KeyTransport<'_>)> {
    fn parts(k: &samael::schema::EncryptedKey) -> Option<(&samael::schema::CipherValue, KeyTransport<'_>)> {
        let value = k.cipher_data.as_ref()?.cipher_value.as_ref()?;
        let method = k.encryption_method.as_ref()?;
        let transport = KeyTransport {
            algorithm: method.algorithm.as_deref()?,
            digest: method.digest_method.as_ref().map(|d| d.algorithm.value()),
        };
        Some((value, transport))
    }
    let inner = enc.data.as_ref().and_then(|d| d.key_info.as_ref()).and_then(|k| k.encrypted_key.as_ref());
    inner.and_then(parts).or_else(|| enc.encrypted_key.as_ref().and_then(parts))
}

fn check_response(response: &Response, trust: &Trust) -> Result<(), Invalid> {
    if let Some(code) = response.status.as_ref().and_then(|s| s.status_code.value.as_deref()) {
        if code != STATUS_SUCCESS {
            return Err(Invalid::Status);
        }
    }
    if response.destination.as_deref().is_some_and(|d| d != trust.acs_url) {
        return Err(Invalid::Destination);
    }
    Ok(())
}

fn check_assertion(a: &Assertion, trust: &Trust, now: DateTime<Utc>) -> Result<(), Invalid> {
    let skew = trust.max_clock_skew;
    if let Some(idp) = &trust.idp_entity_id {
        if a.issuer.value.as_deref() != Some(idp.as_str()) {
            return Err(Invalid::Issuer);
        }
    }
    let conditions = a.conditions.as_ref().ok_or(Invalid::Audience)?;
    if conditions.not_before.is_some_and(|nb| now + skew < nb) {
        return Err(Invalid::NotYetValid);
    }
    if conditions.not_on_or_after.is_some_and(|na| na + skew <= now) {
        return Err(Invalid::Expired);
    }
    let restrictions = conditions.audience_restrictions.as_deref().unwrap_or_default();
    // Every restriction must admit us (SAML core §2.5.1.4).
    if restrictions.is_empty()
        || !restrictions.iter().all(|r| r.audience.iter().any(|aud| aud.trim() == trust.audience))
    {
        return Err(Invalid::Audience);
    }
    let confirmations =
        a.subject.as_ref().and_then(|s| s.subject_confirmations.as_deref()).unwrap_or_default();
    let usable = confirmations.iter().filter(|c| c.method.as_deref() == Some(BEARER)).any(|c| {
        c.subject_confirmation_data.as_ref().is_some_and(|d| {
            d.recipient.as_deref() == Some(trust.acs_url.as_str())
                && d.not_on_or_after.is_some_and(|na| now < na + skew)
                && d.not_before.is_none_or(|nb| now + skew >= nb)
        })
    });
    if !usable {
        return Err(Invalid::SubjectConfirmation);
    }
    Ok(())
}

fn facts(a: Assertion) -> Facts {
    let name_id = a.subject.as_ref().and_then(|s| s.name_id.as_ref()).map(|n| n.value.trim().to_string());
    let attributes = a
        .attribute_statements
        .unwrap_or_default()
        .into_iter()
        .flat_map(|s| s.attributes)
        .map(|attr| {
            let values = attr.values.into_iter().filter_map(|v| v.value).collect();
            (attr.name, attr.friendly_name, values)
        })
        .collect();
    Facts { assertion_id: a.id, name_id, attributes }
}

#[cfg(test)]
mod tests;
