//! The wrapping screen over small hand-written documents (no real signatures: shape only).

use super::*;

const DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";

/// A signature template: the parts that the screen reads are parameters.
struct Sig<'a> {
    uri: &'a str,
    c14n: &'a str,
    method: &'a str,
    transforms: &'a [&'a str],
    digest: &'a str,
    extra: &'a str,
}

impl<'a> Sig<'a> {
    fn to(uri: &'a str) -> Self {
        Sig {
            uri,
            c14n: EXC_C14N,
            method: RSA_SHA256,
            transforms: &[ENVELOPED, EXC_C14N],
            digest: SHA256,
            extra: "",
        }
    }

    fn xml(&self) -> String {
        let transforms: String =
            self.transforms.iter().map(|t| format!(r#"<ds:Transform Algorithm="{t}"/>"#)).collect();
        format!(
            r#"<ds:Signature xmlns:ds="{DSIG}"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="{c14n}"/><ds:SignatureMethod Algorithm="{method}"/><ds:Reference URI="{uri}"><ds:Transforms>{transforms}</ds:Transforms><ds:DigestMethod Algorithm="{digest}"/><ds:DigestValue>AA==</ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue>AA==</ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509Certificate>AA==</ds:X509Certificate></ds:X509Data></ds:KeyInfo>{extra}</ds:Signature>"#,
            c14n = self.c14n,
            method = self.method,
            uri = self.uri,
            digest = self.digest,
            extra = self.extra,
        )
    }
}

fn assertion(id: &str, sig: &str) -> String {
    format!(
        r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0"><saml:Issuer>idp</saml:Issuer>{sig}<saml:Subject><saml:NameID>a@example.com</saml:NameID></saml:Subject></saml:Assertion>"#
    )
}

fn response(sig: &str, inner: &str) -> String {
    format!(
        r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="r-1" Version="2.0"><saml:Issuer>idp</saml:Issuer>{sig}<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>{inner}</samlp:Response>"#
    )
}

fn signed_assertion_response() -> String {
    response("", &assertion("a-1", &Sig::to("#a-1").xml()))
}

fn encrypted() -> &'static str {
    r#"<saml:EncryptedAssertion><xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><xenc:EncryptedKey><xenc:CipherData><xenc:CipherValue>AA==</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo><xenc:CipherData><xenc:CipherValue>AA==</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData></saml:EncryptedAssertion>"#
}

fn shape_of(xml: &str) -> Result<Shape, ShapeError> {
    inspect(xml, Root::Response)
}

#[test]
fn signed_assertion_in_a_response_is_accepted() {
    let shape = shape_of(&signed_assertion_response()).unwrap();
    let want = Shape {
        response_signed: false,
        assertion_signed: true,
        assertion_id: Some("a-1".into()),
        encrypted: false,
    };
    assert_eq!(shape, want);
}

#[test]
fn signed_response_and_signed_assertion_are_both_seen() {
    let xml = response(&Sig::to("#r-1").xml(), &assertion("a-1", &Sig::to("#a-1").xml()));
    let shape = shape_of(&xml).unwrap();
    assert!(shape.response_signed && shape.assertion_signed);
}

#[test]
fn xml_declaration_is_fine() {
    let xml = format!(r#"<?xml version="1.0" encoding="UTF-8"?>{}"#, signed_assertion_response());
    assert!(shape_of(&xml).is_ok());
}

#[test]
fn encrypted_assertion_is_seen_without_an_id() {
    let shape = shape_of(&response(&Sig::to("#r-1").xml(), encrypted())).unwrap();
    assert!(shape.encrypted && shape.response_signed && !shape.assertion_signed);
    assert_eq!(shape.assertion_id, None);
}

#[test]
fn standalone_assertion_root() {
    let xml = assertion("a-1", &Sig::to("#a-1").xml());
    let shape = inspect(&xml, Root::Assertion).unwrap();
    assert!(shape.assertion_signed && !shape.response_signed);
    assert_eq!(inspect(&xml, Root::Response), Err(ShapeError::Root));
    assert_eq!(inspect(&signed_assertion_response(), Root::Assertion), Err(ShapeError::Root));
}

#[test]
fn doctype_and_processing_instructions_are_refused() {
    let dtd = format!(r#"<!DOCTYPE r [<!ENTITY x "y">]>{}"#, signed_assertion_response());
    assert_eq!(shape_of(&dtd), Err(ShapeError::Dtd));
    let pi = format!("<?xml-stylesheet href=\"x\"?>{}", signed_assertion_response());
    assert_eq!(shape_of(&pi), Err(ShapeError::Dtd));
    let inner_pi = signed_assertion_response().replace("<saml:Subject>", "<?evil?><saml:Subject>");
    assert_eq!(shape_of(&inner_pi), Err(ShapeError::Dtd));
}

#[test]
fn exactly_one_assertion() {
    assert_eq!(shape_of(&response("", "")), Err(ShapeError::AssertionCount(0)));
    let forged = assertion("a-2", "");
    let signed = assertion("a-1", &Sig::to("#a-1").xml());
    assert_eq!(shape_of(&response("", &format!("{forged}{signed}"))), Err(ShapeError::AssertionCount(2)));
    assert_eq!(shape_of(&response("", &format!("{signed}{forged}"))), Err(ShapeError::AssertionCount(2)));
    assert_eq!(
        shape_of(&response("", &format!("{signed}{}", encrypted()))),
        Err(ShapeError::AssertionCount(2))
    );
}

#[test]
fn assertion_moved_under_extensions_is_refused() {
    let signed = assertion("a-1", &Sig::to("#a-1").xml());
    let inner = format!("<samlp:Extensions>{signed}</samlp:Extensions>{}", assertion("a-2", ""));
    assert_eq!(shape_of(&response("", &inner)), Err(ShapeError::AssertionPlacement));
    // Even alone, an assertion that is not a direct child of the Response is refused.
    let inner = format!("<samlp:Extensions>{signed}</samlp:Extensions>");
    assert_eq!(shape_of(&response("", &inner)), Err(ShapeError::AssertionPlacement));
}

#[test]
fn assertion_nested_in_another_assertion_is_refused() {
    let inner = assertion("a-1", &Sig::to("#a-1").xml()).replace(
        "<saml:Subject>",
        &format!("<saml:Advice>{}</saml:Advice><saml:Subject>", assertion("a-2", "")),
    );
    assert_eq!(shape_of(&response("", &inner)), Err(ShapeError::AssertionPlacement));
}

#[test]
fn duplicate_ids_are_refused() {
    // The forged assertion reuses the signed one's ID, wherever it sits.
    let signed = assertion("a-1", &Sig::to("#a-1").xml());
    let inner = format!("<samlp:Extensions><x ID=\"a-1\"/></samlp:Extensions>{signed}");
    assert_eq!(shape_of(&response("", &inner)), Err(ShapeError::DuplicateId));
    // `Id` and `id` count too (xmlsec resolves them as IDs).
    let xml = signed_assertion_response()
        .replace("<saml:Issuer>idp</saml:Issuer><ds", "<saml:Issuer Id=\"a-1\">idp</saml:Issuer><ds");
    assert_eq!(shape_of(&xml), Err(ShapeError::DuplicateId));
    let xml = signed_assertion_response().replace("<samlp:Status>", "<samlp:Status id=\"r-1\">");
    assert_eq!(shape_of(&xml), Err(ShapeError::DuplicateId));
}

#[test]
fn assertion_without_id_is_refused() {
    let xml = response(&Sig::to("#r-1").xml(), &assertion("a-1", "").replace(" ID=\"a-1\"", ""));
    assert_eq!(shape_of(&xml), Err(ShapeError::Reference));
}

#[test]
fn signature_outside_response_or_assertion_is_refused() {
    let sig = Sig::to("#a-1").xml();
    let xml = response("", &assertion("a-1", "").replace("<saml:Subject>", &format!("<saml:Subject>{sig}")));
    assert_eq!(shape_of(&xml), Err(ShapeError::SignaturePlacement));
    let xml = response(
        "",
        &format!("<samlp:Extensions>{}</samlp:Extensions>{}", Sig::to("#r-1").xml(), assertion("a-1", &sig)),
    );
    assert_eq!(shape_of(&xml), Err(ShapeError::SignaturePlacement));
}

#[test]
fn second_signature_on_one_parent_is_refused() {
    let sig = Sig::to("#a-1").xml();
    let xml = response("", &assertion("a-1", &format!("{sig}{sig}")));
    assert_eq!(shape_of(&xml), Err(ShapeError::SignaturePlacement));
}

#[test]
fn signature_with_object_or_nested_signature_is_refused() {
    let object = format!("<ds:Object>{}</ds:Object>", assertion("a-2", ""));
    let sig = Sig { extra: &object, ..Sig::to("#a-1") }.xml();
    // The Object carries a second assertion, which also breaks placement; either refusal is fine,
    // so check an Object without one separately.
    assert!(shape_of(&response("", &assertion("a-1", &sig))).is_err());
    let sig = Sig { extra: "<ds:Object><x/></ds:Object>", ..Sig::to("#a-1") }.xml();
    assert_eq!(shape_of(&response("", &assertion("a-1", &sig))), Err(ShapeError::SignaturePlacement));
    let nested = Sig::to("#a-1").xml();
    let sig = Sig { extra: &nested, ..Sig::to("#a-1") }.xml();
    assert_eq!(shape_of(&response("", &assertion("a-1", &sig))), Err(ShapeError::SignaturePlacement));
}

#[test]
fn reference_must_name_the_signature_parent() {
    for uri in ["#r-1", "#a-2", "", "a-1", "#"] {
        let xml = response("", &assertion("a-1", &Sig::to(uri).xml()));
        assert_eq!(shape_of(&xml), Err(ShapeError::Reference), "{uri:?}");
    }
    // A response signature pointing at the assertion is no response signature.
    let xml = response(&Sig::to("#a-1").xml(), &assertion("a-1", ""));
    assert_eq!(shape_of(&xml), Err(ShapeError::Reference));
}

#[test]
fn exactly_one_reference() {
    let sig = Sig::to("#a-1").xml();
    let two = sig.replace("</ds:SignedInfo>", r##"<ds:Reference URI="#a-1"><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/></ds:Reference></ds:SignedInfo>"##);
    assert_eq!(shape_of(&response("", &assertion("a-1", &two))), Err(ShapeError::Reference));
    let none = Sig::to("#a-1").xml();
    let start = none.find("<ds:Reference").unwrap();
    let end = none.find("</ds:Reference>").unwrap() + "</ds:Reference>".len();
    let none = format!("{}{}", &none[..start], &none[end..]);
    assert_eq!(shape_of(&response("", &assertion("a-1", &none))), Err(ShapeError::Reference));
}

#[test]
fn only_enveloped_and_exclusive_c14n_transforms() {
    let xpath = "http://www.w3.org/TR/1999/REC-xpath-19991116";
    let xslt = "http://www.w3.org/TR/1999/REC-xslt-19991116";
    let c14n_comments = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments";
    for t in [xpath, xslt, c14n_comments] {
        let sig = Sig { transforms: &[ENVELOPED, t], ..Sig::to("#a-1") }.xml();
        assert_eq!(shape_of(&response("", &assertion("a-1", &sig))), Err(ShapeError::Transform), "{t}");
    }
    let sig = Sig { transforms: &[ENVELOPED], ..Sig::to("#a-1") }.xml();
    assert!(shape_of(&response("", &assertion("a-1", &sig))).is_ok());
}

#[test]
fn canonicalisation_must_be_exclusive_without_comments() {
    for c in [
        "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
        "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
        "",
    ] {
        let sig = Sig { c14n: c, ..Sig::to("#a-1") }.xml();
        assert_eq!(shape_of(&response("", &assertion("a-1", &sig))), Err(ShapeError::Transform), "{c}");
    }
}

#[test]
fn weak_algorithms_are_refused() {
    let sig = Sig { method: "http://www.w3.org/2000/09/xmldsig#rsa-sha1", ..Sig::to("#a-1") }.xml();
    assert_eq!(shape_of(&response("", &assertion("a-1", &sig))), Err(ShapeError::Algorithm));
    let sig = Sig { digest: "http://www.w3.org/2000/09/xmldsig#sha1", ..Sig::to("#a-1") }.xml();
    assert_eq!(shape_of(&response("", &assertion("a-1", &sig))), Err(ShapeError::Algorithm));
    let sig = Sig { method: "http://www.w3.org/2000/09/xmldsig#hmac-sha1", ..Sig::to("#a-1") }.xml();
    assert_eq!(shape_of(&response("", &assertion("a-1", &sig))), Err(ShapeError::Algorithm));
}

#[test]
fn malformed_documents_are_refused() {
    let good = signed_assertion_response();
    assert_eq!(shape_of(&good[..good.len() - 5]), Err(ShapeError::Malformed));
    assert_eq!(shape_of(""), Err(ShapeError::Malformed));
    assert_eq!(shape_of(&format!("{good}<other/>")), Err(ShapeError::Malformed));
    let unbound = good.replace("<saml:Subject>", "<nope:x/><saml:Subject>");
    assert_eq!(shape_of(&unbound), Err(ShapeError::Malformed));
}

#[test]
fn deep_nesting_is_refused() {
    let deep = format!("{}{}", "<x>".repeat(MAX_DEPTH + 1), "</x>".repeat(MAX_DEPTH + 1));
    let xml = response(
        "",
        &format!("<samlp:Extensions>{deep}</samlp:Extensions>{}", assertion("a-1", &Sig::to("#a-1").xml())),
    );
    assert_eq!(shape_of(&xml), Err(ShapeError::TooDeep));
}
