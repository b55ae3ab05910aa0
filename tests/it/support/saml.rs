//! An independent SAML IdP for tests: keys from the `openssl` CLI, responses signed and encrypted
//! by Debian's `xmlsec1` (not by samael, which the gate uses), so the gate is tested against a
//! SAML implementation that is not ours. Missing tools fail the test with a clear message.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use chrono::{Duration, Utc};

pub const AUDIENCE: &str = "https://grafana.example.com/saml/metadata";
pub const ACS_URL: &str = "https://grafana.example.com/saml/acs";
pub const IDP_ENTITY: &str = "https://idp.example.com/metadata";

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| {
        panic!(
            "cannot run {:?} ({e}); install it (CI installs xmlsec1 and openssl in .ci/run)",
            cmd.get_program()
        )
    });
    assert!(out.status.success(), "{:?} failed: {}", cmd, String::from_utf8_lossy(&out.stderr));
}

/// An RSA key and self-signed certificate made by `openssl req`.
pub struct KeyPair {
    pub key: PathBuf,
    pub cert: PathBuf,
}

impl KeyPair {
    pub fn generate(dir: &Path, name: &str) -> Self {
        let key = dir.join(format!("{name}.key.pem"));
        let cert = dir.join(format!("{name}.cert.pem"));
        run(Command::new("openssl")
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"])
            .args([
                "-subj",
                &format!("/CN={name}"),
                "-keyout",
                key.to_str().unwrap(),
                "-out",
                cert.to_str().unwrap(),
            ]));
        Self { key, cert }
    }

    /// The certificate's base64 DER (the PEM body).
    pub fn cert_b64(&self) -> String {
        let pem = std::fs::read_to_string(&self.cert).unwrap();
        pem.lines().filter(|l| !l.starts_with("-----")).collect()
    }
}

/// IdP metadata naming `idp`'s certificate as the signing key.
pub fn idp_metadata(idp: &KeyPair) -> String {
    format!(
        r#"<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{IDP_ENTITY}">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"#,
        idp.cert_b64()
    )
}

/// What one generated assertion says.
#[derive(Clone)]
pub struct Claims {
    pub name_id: String,
    pub uid: Option<String>,
    pub email: String,
    pub audience: String,
    pub recipient: String,
    /// Offset of `NotOnOrAfter` from now (negative: expired).
    pub valid_for: Duration,
}

impl Claims {
    pub fn new(email: &str, uid: Option<&str>) -> Self {
        Self {
            name_id: email.into(),
            uid: uid.map(str::to_string),
            email: email.into(),
            audience: AUDIENCE.into(),
            recipient: ACS_URL.into(),
            valid_for: Duration::minutes(5),
        }
    }
}

const SIG_TEMPLATE: &str = r##"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference URI="#REF"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference></ds:SignedInfo><ds:SignatureValue/><ds:KeyInfo><ds:X509Data/></ds:KeyInfo></ds:Signature>"##;

fn ts(d: chrono::DateTime<Utc>) -> String {
    d.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// One assertion element (namespaces declared on itself), with a signature template when `signed`.
pub fn assertion(c: &Claims, id: &str, signed: bool) -> String {
    let now = Utc::now();
    let (issued, before, after) = (ts(now), ts(now - Duration::minutes(1)), ts(now + c.valid_for));
    let sig = if signed { SIG_TEMPLATE.replace("REF", id) } else { String::new() };
    let uid = c
        .uid
        .as_ref()
        .map(|u| format!(r#"<saml:Attribute Name="userUID"><saml:AttributeValue>{u}</saml:AttributeValue></saml:Attribute>"#))
        .unwrap_or_default();
    format!(
        r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" IssueInstant="{issued}"><saml:Issuer>{IDP_ENTITY}</saml:Issuer>{sig}<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">{name}</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="{after}" Recipient="{rcpt}"/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="{before}" NotOnOrAfter="{after}"><saml:AudienceRestriction><saml:Audience>{aud}</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AuthnStatement AuthnInstant="{issued}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:Password</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement><saml:AttributeStatement>{uid}<saml:Attribute Name="mail"><saml:AttributeValue>{email}</saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion>"#,
        name = c.name_id,
        rcpt = c.recipient,
        aud = c.audience,
        email = c.email,
    )
}

/// A `Response` around `inner` (assertions, extensions ...), with a signature template when `signed`.
pub fn response(inner: &str, signed: bool) -> String {
    let issued = ts(Utc::now());
    let sig = if signed { SIG_TEMPLATE.replace("REF", "resp-1") } else { String::new() };
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="resp-1" Version="2.0" IssueInstant="{issued}" Destination="{ACS_URL}"><saml:Issuer>{IDP_ENTITY}</saml:Issuer>{sig}<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>{inner}</samlp:Response>"#
    )
}

/// Signs the first signature template of `xml` with `xmlsec1 --sign`.
pub fn sign(dir: &Path, xml: &str, key: &KeyPair) -> String {
    let input = dir.join("to-sign.xml");
    let output = dir.join("signed.xml");
    std::fs::write(&input, xml).unwrap();
    run(Command::new("xmlsec1").args([
        "--sign",
        "--privkey-pem",
        &format!("{},{}", key.key.display(), key.cert.display()),
        "--id-attr:ID",
        "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
        "--id-attr:ID",
        "urn:oasis:names:tc:SAML:2.0:protocol:Response",
        "--output",
        output.to_str().unwrap(),
        input.to_str().unwrap(),
    ]));
    std::fs::read_to_string(&output).unwrap()
}

const ENC_TEMPLATE: &str = r#"<xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" Type="http://www.w3.org/2001/04/xmlenc#Element"><xenc:EncryptionMethod Algorithm="CONTENT_ALG"/><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><xenc:EncryptedKey><xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"/><xenc:CipherData><xenc:CipherValue/></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo><xenc:CipherData><xenc:CipherValue/></xenc:CipherData></xenc:EncryptedData>"#;

/// A content-encryption algorithm for [`encrypt_assertion_with`].
#[derive(Clone, Copy, Debug)]
pub enum Content {
    Aes128Gcm,
    Aes128Cbc,
    Aes256Cbc,
}

impl Content {
    fn uri_and_session_key(self) -> (&'static str, &'static str) {
        match self {
            Content::Aes128Gcm => ("http://www.w3.org/2009/xmlenc11#aes128-gcm", "aes-128"),
            Content::Aes128Cbc => ("http://www.w3.org/2001/04/xmlenc#aes128-cbc", "aes-128"),
            Content::Aes256Cbc => ("http://www.w3.org/2001/04/xmlenc#aes256-cbc", "aes-256"),
        }
    }
}

/// Replaces the `Assertion` element of `xml` (inside `EncryptedAssertion`) by its AES-128-GCM
/// encryption for `sp`.
pub fn encrypt_assertion(dir: &Path, xml: &str, sp: &KeyPair) -> String {
    encrypt_assertion_with(dir, xml, sp, Content::Aes128Gcm)
}

/// Like [`encrypt_assertion`], with `content` as the content encryption (`xmlsec1 --encrypt`, RSA-OAEP
/// key transport).
pub fn encrypt_assertion_with(dir: &Path, xml: &str, sp: &KeyPair, content: Content) -> String {
    let (uri, session_key) = content.uri_and_session_key();
    let data = dir.join("to-encrypt.xml");
    let tmpl = dir.join("enc-template.xml");
    let output = dir.join("encrypted.xml");
    std::fs::write(&data, xml).unwrap();
    std::fs::write(&tmpl, ENC_TEMPLATE.replace("CONTENT_ALG", uri)).unwrap();
    run(Command::new("xmlsec1").args([
        "--encrypt",
        "--pubkey-cert-pem",
        sp.cert.to_str().unwrap(),
        "--session-key",
        session_key,
        "--xml-data",
        data.to_str().unwrap(),
        "--node-name",
        "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
        "--output",
        output.to_str().unwrap(),
        tmpl.to_str().unwrap(),
    ]));
    std::fs::read_to_string(&output).unwrap()
}

/// Flips one bit of the content ciphertext (the last `CipherValue`) at `pos` bytes from its end.
pub fn flip_content_cipher_byte(xml: &str, pos_from_end: usize) -> String {
    let open = "<xenc:CipherValue>";
    let start = xml.rfind(open).expect("a CipherValue") + open.len();
    let end = start + xml[start..].find("</xenc:CipherValue>").unwrap();
    let b64: String = xml[start..end].chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let mut raw = base64::engine::general_purpose::STANDARD.decode(b64).unwrap();
    let i = raw.len() - 1 - pos_from_end;
    raw[i] ^= 0x01;
    let flipped = base64::engine::general_purpose::STANDARD.encode(raw);
    format!("{}{flipped}{}", &xml[..start], &xml[end..])
}

/// The `application/x-www-form-urlencoded` body an IdP's auto-post form sends.
pub fn form_body(xml: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(xml);
    form_urlencoded::Serializer::new(String::new())
        .append_pair("SAMLResponse", &b64)
        .append_pair("RelayState", "state-123")
        .finish()
}
