//! Condition checks (issuer, audience, validity window with skew, recipient, destination,
//! status) over small hand-written assertions, plus the early refusals of [`verify`].

use super::*;

const IDP: &str = "https://idp.example.com/metadata";
const SP: &str = "https://grafana.example.com/saml/metadata";
const ACS: &str = "https://grafana.example.com/saml/acs";

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2030-01-01T12:00:00Z").unwrap().with_timezone(&Utc)
}

fn at(minutes: i64) -> String {
    (now() + Duration::minutes(minutes)).format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn trust() -> Trust {
    Trust {
        certs: Vec::new(),
        idp_entity_id: Some(IDP.into()),
        audience: SP.into(),
        acs_url: ACS.into(),
        max_clock_skew: Duration::seconds(90),
        sp_key: None,
    }
}

/// The parts of an assertion the checks read.
#[derive(Clone)]
struct A {
    issuer: String,
    method: String,
    recipient: String,
    scd_before: Option<String>,
    scd_after: Option<String>,
    /// `None`: no `Conditions` element at all.
    conditions: Option<(Option<String>, Option<String>)>,
    restrictions: Vec<Vec<String>>,
}

impl Default for A {
    fn default() -> Self {
        A {
            issuer: IDP.into(),
            method: BEARER.into(),
            recipient: ACS.into(),
            scd_before: None,
            scd_after: Some(at(5)),
            conditions: Some((Some(at(-1)), Some(at(5)))),
            restrictions: vec![vec![SP.into()]],
        }
    }
}

impl A {
    fn parse(&self) -> Assertion {
        let opt = |name: &str, v: &Option<String>| {
            v.as_ref().map(|v| format!(r#" {name}="{v}""#)).unwrap_or_default()
        };
        let restrictions: String = self
            .restrictions
            .iter()
            .map(|auds| {
                let auds: String =
                    auds.iter().map(|a| format!("<saml:Audience>{a}</saml:Audience>")).collect();
                format!("<saml:AudienceRestriction>{auds}</saml:AudienceRestriction>")
            })
            .collect();
        let conditions = self
            .conditions
            .as_ref()
            .map(|(nb, na)| {
                format!(
                    "<saml:Conditions{}{}>{restrictions}</saml:Conditions>",
                    opt("NotBefore", nb),
                    opt("NotOnOrAfter", na)
                )
            })
            .unwrap_or_default();
        let xml = format!(
            r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="a-1" Version="2.0" IssueInstant="{issued}"><saml:Issuer>{issuer}</saml:Issuer><saml:Subject><saml:NameID>a@example.com</saml:NameID><saml:SubjectConfirmation Method="{method}"><saml:SubjectConfirmationData Recipient="{recipient}"{scd_before}{scd_after}/></saml:SubjectConfirmation></saml:Subject>{conditions}<saml:AttributeStatement><saml:Attribute Name="mail" FriendlyName="email"><saml:AttributeValue> </saml:AttributeValue><saml:AttributeValue> a@example.com </saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion>"#,
            issued = at(0),
            issuer = self.issuer,
            method = self.method,
            recipient = self.recipient,
            scd_before = opt("NotBefore", &self.scd_before),
            scd_after = opt("NotOnOrAfter", &self.scd_after),
        );
        xml.parse().unwrap()
    }

    fn check(&self) -> Result<(), Invalid> {
        check_assertion(&self.parse(), &trust(), now())
    }
}

#[test]
fn a_plain_valid_assertion_passes() {
    assert_eq!(A::default().check(), Ok(()));
}

#[test]
fn issuer_must_be_the_metadata_entity() {
    let a = A { issuer: "https://evil.example.com".into(), ..A::default() };
    assert_eq!(a.check(), Err(Invalid::Issuer));
    let no_entity = Trust { idp_entity_id: None, ..trust() };
    assert_eq!(check_assertion(&a.parse(), &no_entity, now()), Ok(()));
}

#[test]
fn audience_is_required_in_every_restriction() {
    assert_eq!(A { conditions: None, ..A::default() }.check(), Err(Invalid::Audience));
    assert_eq!(A { restrictions: vec![], ..A::default() }.check(), Err(Invalid::Audience));
    let other = vec![vec!["https://other.example.com".to_string()]];
    assert_eq!(A { restrictions: other, ..A::default() }.check(), Err(Invalid::Audience));
    let one_without_us = vec![vec![SP.to_string()], vec!["https://other.example.com".to_string()]];
    assert_eq!(A { restrictions: one_without_us, ..A::default() }.check(), Err(Invalid::Audience));
    let among_others = vec![vec!["https://other.example.com".to_string(), format!("  {SP}\n")]];
    assert_eq!(A { restrictions: among_others, ..A::default() }.check(), Ok(()));
    let prefix = vec![vec![format!("{SP}/extra")]];
    assert_eq!(A { restrictions: prefix, ..A::default() }.check(), Err(Invalid::Audience));
}

#[test]
fn not_before_allows_the_clock_skew() {
    // 1 minute early is inside the 90 s skew; 2 minutes early is not.
    assert_eq!(A { conditions: Some((Some(at(1)), Some(at(5)))), ..A::default() }.check(), Ok(()));
    let early = A { conditions: Some((Some(at(2)), Some(at(5)))), ..A::default() };
    assert_eq!(early.check(), Err(Invalid::NotYetValid));
    assert_eq!(A { conditions: Some((None, Some(at(5)))), ..A::default() }.check(), Ok(()));
}

#[test]
fn not_on_or_after_allows_the_clock_skew() {
    let a = A { scd_after: Some(at(5)), ..A::default() };
    assert_eq!(A { conditions: Some((Some(at(-5)), Some(at(-1)))), ..a.clone() }.check(), Ok(()));
    let late = A { conditions: Some((Some(at(-5)), Some(at(-2)))), ..a.clone() };
    assert_eq!(late.check(), Err(Invalid::Expired));
    // Exactly at NotOnOrAfter + skew is already too late.
    let skew_edge = (now() - Duration::seconds(90)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let edge = A { conditions: Some((None, Some(skew_edge))), ..a };
    assert_eq!(edge.check(), Err(Invalid::Expired));
}

#[test]
fn zero_skew_is_strict() {
    let strict = Trust { max_clock_skew: Duration::zero(), ..trust() };
    let a = A { conditions: Some((Some(at(1)), Some(at(5)))), ..A::default() };
    assert_eq!(check_assertion(&a.parse(), &strict, now()), Err(Invalid::NotYetValid));
}

#[test]
fn bearer_confirmation_must_name_our_acs_and_be_current() {
    let sc = Err(Invalid::SubjectConfirmation);
    assert_eq!(A { recipient: "https://other.example.com/acs".into(), ..A::default() }.check(), sc);
    assert_eq!(A { recipient: format!("{ACS}/"), ..A::default() }.check(), sc);
    let holder = "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key";
    assert_eq!(A { method: holder.into(), ..A::default() }.check(), sc);
    assert_eq!(A { scd_after: None, ..A::default() }.check(), sc);
    assert_eq!(A { scd_after: Some(at(-2)), ..A::default() }.check(), sc);
    assert_eq!(A { scd_after: Some(at(-1)), ..A::default() }.check(), Ok(()));
    assert_eq!(A { scd_before: Some(at(2)), ..A::default() }.check(), sc);
    assert_eq!(A { scd_before: Some(at(1)), ..A::default() }.check(), Ok(()));
}

fn response(status: &str, destination: Option<&str>) -> Response {
    let dest = destination.map(|d| format!(r#" Destination="{d}""#)).unwrap_or_default();
    format!(
        r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="r-1" Version="2.0" IssueInstant="{}"{dest}><saml:Issuer>{IDP}</saml:Issuer><samlp:Status><samlp:StatusCode Value="{status}"/></samlp:Status></samlp:Response>"#,
        at(0)
    )
    .parse()
    .unwrap()
}

#[test]
fn status_must_be_success() {
    assert_eq!(check_response(&response(STATUS_SUCCESS, Some(ACS)), &trust()), Ok(()));
    let denied = "urn:oasis:names:tc:SAML:2.0:status:Requester";
    assert_eq!(check_response(&response(denied, Some(ACS)), &trust()), Err(Invalid::Status));
}

#[test]
fn destination_when_present_must_be_our_acs() {
    assert_eq!(check_response(&response(STATUS_SUCCESS, None), &trust()), Ok(()));
    let other = Some("https://other.example.com/acs");
    assert_eq!(check_response(&response(STATUS_SUCCESS, other), &trust()), Err(Invalid::Destination));
}

#[test]
fn facts_read_name_and_friendly_name_and_skip_blank_values() {
    let f = facts(A::default().parse());
    assert_eq!(f.assertion_id, "a-1");
    assert_eq!(f.name_id.as_deref(), Some("a@example.com"));
    assert_eq!(f.attribute("mail"), Some("a@example.com"));
    assert_eq!(f.attribute("email"), Some("a@example.com"));
    assert_eq!(f.attribute("userUID"), None);
}

#[test]
fn early_refusals_come_before_any_cryptography() {
    let t = trust();
    assert_eq!(verify("<not-saml/>", &t, now()), Err(Invalid::Shape(ShapeError::Root)));
    let doc = format!(
        r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="r-1">{}</samlp:Response>"#,
        r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="a-1"/>"#
    );
    // No IdP certificate: nothing can verify.
    assert_eq!(verify(&doc, &t, now()), Err(Invalid::Signature));
    let with_cert = Trust { certs: vec![CertificateDer::from(vec![0u8; 4])], ..trust() };
    assert_eq!(verify(&doc, &with_cert, now()), Err(Invalid::Unsigned));
}

#[test]
fn saml_response_decoding() {
    assert_eq!(decode_saml_response("PHgv\r\nPg==").unwrap(), "<x/>");
    assert_eq!(decode_saml_response("%%%"), Err(Invalid::Encoding));
    assert_eq!(decode_saml_response("/w=="), Err(Invalid::Encoding));
}

/// The key transport's `DigestMethod` is found where IdPs put it: prefixed or not, inside the
/// `EncryptedData`'s `KeyInfo` or beside it.
fn key_digest_of(enc: &samael::schema::EncryptedAssertion) -> Option<&str> {
    encrypted_key(enc).and_then(|(_, transport)| transport.digest)
}

#[test]
fn key_digest_is_read_from_the_encrypted_key_in_use() {
    let key = |digest: &str| {
        format!(
            r#"<xenc:EncryptedKey xmlns:xenc="http://www.w3.org/2001/04/xmlenc#"><xenc:EncryptionMethod Algorithm="{}">{digest}</xenc:EncryptionMethod><xenc:CipherData><xenc:CipherValue>AA==</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey>"#,
            xmlenc::KEY_TRANSPORT_OAEP
        )
    };
    let data = |inner: &str| {
        format!(
            r#"<xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#"><xenc:EncryptionMethod Algorithm="http://www.w3.org/2009/xmlenc11#aes128-gcm"/><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#">{inner}</ds:KeyInfo><xenc:CipherData><xenc:CipherValue>AA==</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData>"#
        )
    };
    let assertion = |body: String| -> samael::schema::EncryptedAssertion {
        let xml = format!(
            r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="r1" Version="2.0" IssueInstant="2030-01-01T12:00:00Z"><saml:EncryptedAssertion>{body}</saml:EncryptedAssertion></samlp:Response>"#
        );
        xml.parse::<Response>().unwrap().encrypted_assertion.unwrap()
    };
    let dsig = "http://www.w3.org/2000/09/xmldsig#";
    let prefixed = format!(r#"<ds:DigestMethod xmlns:ds="{dsig}" Algorithm="{}"/>"#, xmlenc::DIGEST_SHA256);
    let plain = format!(r#"<DigestMethod xmlns="{dsig}" Algorithm="{}"/>"#, xmlenc::DIGEST_SHA256);
    for digest in [&prefixed, &plain] {
        assert_eq!(key_digest_of(&assertion(data(&key(digest)))), Some(xmlenc::DIGEST_SHA256), "{digest}");
    }
    let beside = assertion(format!("{}{}", data(""), key(&prefixed)));
    assert_eq!(key_digest_of(&beside), Some(xmlenc::DIGEST_SHA256));
    assert_eq!(key_digest_of(&assertion(data(&key("")))), None);
}
