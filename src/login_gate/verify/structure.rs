//! Structural screening of a SAML document before any cryptography: the XML signature wrapping
//! family is refused here on shape alone, whatever the signature library would have accepted.
//!
//! Rules (each one closes a known wrapping or canonicalisation trick):
//! - no DTD, no processing instructions (entity expansion, XXE);
//! - the root is the expected element (`samlp:Response`, or `saml:Assertion` once decrypted);
//! - exactly one `Assertion` or one `EncryptedAssertion` in the whole document, as a direct child
//!   of the `Response` (a second assertion anywhere, or one moved under `Extensions`, is refused);
//! - every `ID`/`Id`/`id` value is unique, so a reference resolves to exactly one element;
//! - `ds:Signature` only as a direct child of the `Response` or of the `Assertion`, at most one
//!   per parent, without `ds:Object`;
//! - each signature has exactly one `Reference` whose URI is `#<ID of its parent>`, only the
//!   enveloped-signature and exclusive-c14n transforms, and exclusive c14n (no comments) as its
//!   canonicalisation; signature and digest algorithms come from a short allow-list.
//!
//! This module only reads; it verifies nothing cryptographically.

use std::collections::HashSet;

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

pub const NS_PROTOCOL: &[u8] = b"urn:oasis:names:tc:SAML:2.0:protocol";
pub const NS_ASSERTION: &[u8] = b"urn:oasis:names:tc:SAML:2.0:assertion";
pub const NS_DSIG: &[u8] = b"http://www.w3.org/2000/09/xmldsig#";

const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
pub const SIGNATURE_ALGORITHMS: &[&str] = &[
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
];
const DIGEST_ALGORITHMS: &[&str] = &[
    "http://www.w3.org/2001/04/xmlenc#sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512",
];
/// Deepest element nesting accepted (real responses stay under 15).
const MAX_DEPTH: usize = 64;

/// Which root the document must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Root {
    Response,
    Assertion,
}

/// What the screening learned about an acceptable document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shape {
    /// The root `Response` carries a signature (always false for an `Assertion` root).
    pub response_signed: bool,
    /// The assertion carries its own signature.
    pub assertion_signed: bool,
    /// `ID` of the one plaintext assertion; `None` when the assertion is encrypted.
    pub assertion_id: Option<String>,
    pub encrypted: bool,
}

/// Why a document's shape was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShapeError {
    #[error("document is not well-formed XML")]
    Malformed,
    #[error("document type declarations and processing instructions are not accepted")]
    Dtd,
    #[error("unexpected root element")]
    Root,
    #[error("expected exactly one assertion, found {0}")]
    AssertionCount(usize),
    #[error("the assertion is not a direct child of the response")]
    AssertionPlacement,
    #[error("duplicate ID attribute")]
    DuplicateId,
    #[error("signature in an unexpected place")]
    SignaturePlacement,
    #[error("signature references something other than its parent element")]
    Reference,
    #[error("signature uses a transform or canonicalisation that is not accepted")]
    Transform,
    #[error("signature or digest algorithm not accepted")]
    Algorithm,
    #[error("document nests too deeply")]
    TooDeep,
}

#[derive(Debug, Default)]
struct SigInfo {
    c14n: Option<String>,
    method: Option<String>,
    references: Vec<RefInfo>,
    has_object: bool,
}

#[derive(Debug, Default)]
struct RefInfo {
    uri: Option<String>,
    transforms: Vec<String>,
    digest: Option<String>,
}

/// One open element: namespace, local name, `ID` value.
struct Open {
    ns: Vec<u8>,
    local: Vec<u8>,
    id: Option<String>,
}

/// Screens `xml` (see the module rules). `root` says which document kind is expected.
///
/// # Errors
/// [`ShapeError`] naming the first rule broken.
pub fn inspect(xml: &str, root: Root) -> Result<Shape, ShapeError> {
    let mut reader = NsReader::from_str(xml);
    let mut stack: Vec<Open> = Vec::new();
    let mut ids = HashSet::new();
    let mut shape = Shape::default();
    let mut assertions = 0usize;
    // Per signature: the ID of its parent and what its SignedInfo says.
    let mut signatures: Vec<(Option<String>, SigInfo)> = Vec::new();
    let mut signed_parents: HashSet<usize> = HashSet::new();
    let mut sig_depth: Option<usize> = None;
    let mut seen_root = false;
    loop {
        let (ns, event) = reader.read_resolved_event().map_err(|_| ShapeError::Malformed)?;
        let ns = match ns {
            ResolveResult::Bound(n) => n.0.to_vec(),
            ResolveResult::Unbound => Vec::new(),
            ResolveResult::Unknown(_) => return Err(ShapeError::Malformed),
        };
        let (start, empty) = match event {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(_) => {
                let closed = stack.len();
                stack.pop();
                if sig_depth == Some(closed) {
                    sig_depth = None;
                }
                continue;
            }
            Event::DocType(_) | Event::PI(_) => return Err(ShapeError::Dtd),
            Event::Eof => break,
            _ => continue,
        };
        if stack.len() >= MAX_DEPTH {
            return Err(ShapeError::TooDeep);
        }
        let local = start.local_name().as_ref().to_vec();
        let id = element_id(&start, &mut ids)?;
        let depth = stack.len();
        if depth == 0 {
            if seen_root {
                return Err(ShapeError::Malformed);
            }
            seen_root = true;
            let ok = match root {
                Root::Response => ns == NS_PROTOCOL && local == b"Response",
                Root::Assertion => ns == NS_ASSERTION && local == b"Assertion",
            };
            if !ok {
                return Err(ShapeError::Root);
            }
        }
        if ns == NS_ASSERTION && (local == b"Assertion" || local == b"EncryptedAssertion") {
            assertions += 1;
            let direct = match root {
                Root::Response => depth == 1,
                Root::Assertion => depth == 0,
            };
            if !direct {
                return Err(ShapeError::AssertionPlacement);
            }
            if local == b"EncryptedAssertion" {
                shape.encrypted = true;
            } else {
                shape.assertion_id = Some(id.clone().ok_or(ShapeError::Reference)?);
            }
        }
        if let Some(sd) = sig_depth {
            record_signed_info(&ns, &local, &start, depth - sd, signatures.last_mut())?;
        } else if ns == NS_DSIG && local == b"Signature" {
            // Other dsig elements (KeyInfo in EncryptedData, SubjectConfirmationData) sign nothing.
            let parent =
                depth.checked_sub(1).and_then(|p| stack.get(p)).ok_or(ShapeError::SignaturePlacement)?;
            let parent_is_root = depth == 1;
            let parent_is_assertion = parent.ns == NS_ASSERTION && parent.local == b"Assertion";
            let allowed = match root {
                Root::Response => parent_is_root || (depth == 2 && parent_is_assertion),
                Root::Assertion => parent_is_root,
            };
            if !allowed || !signed_parents.insert(depth - 1) {
                return Err(ShapeError::SignaturePlacement);
            }
            if parent_is_root && root == Root::Response {
                shape.response_signed = true;
            } else {
                shape.assertion_signed = true;
            }
            signatures.push((parent.id.clone(), SigInfo::default()));
            if !empty {
                sig_depth = Some(depth + 1);
            }
        }
        if !empty {
            stack.push(Open { ns, local, id });
        }
    }
    if !seen_root || !stack.is_empty() {
        return Err(ShapeError::Malformed);
    }
    if assertions != 1 {
        return Err(ShapeError::AssertionCount(assertions));
    }
    for (parent_id, info) in &signatures {
        check_signature(parent_id.as_deref(), info)?;
    }
    Ok(shape)
}

/// Reads the `ID`-like attribute of an element, refusing a value seen before.
fn element_id(start: &BytesStart<'_>, ids: &mut HashSet<String>) -> Result<Option<String>, ShapeError> {
    let mut found = None;
    for attr in start.attributes() {
        let attr = attr.map_err(|_| ShapeError::Malformed)?;
        let key = attr.key.as_ref();
        if key == b"ID" || key == b"Id" || key == b"id" {
            let value = std::str::from_utf8(&attr.value).map_err(|_| ShapeError::Malformed)?.to_string();
            if !ids.insert(value.clone()) {
                return Err(ShapeError::DuplicateId);
            }
            if key == b"ID" {
                found = Some(value);
            }
        }
    }
    Ok(found)
}

fn attr(start: &BytesStart<'_>, name: &[u8]) -> Option<String> {
    start
        .attributes()
        .flatten()
        .find(|a| a.key.as_ref() == name)
        .and_then(|a| std::str::from_utf8(&a.value).ok().map(str::to_string))
}

/// Records one element inside a `ds:Signature` (`rel` = depth below the signature element).
fn record_signed_info(
    ns: &[u8],
    local: &[u8],
    start: &BytesStart<'_>,
    rel: usize,
    current: Option<&mut (Option<String>, SigInfo)>,
) -> Result<(), ShapeError> {
    let Some((_, info)) = current else {
        return Err(ShapeError::SignaturePlacement);
    };
    if ns != NS_DSIG {
        // Foreign content is only acceptable inside KeyInfo (X509 data and the like).
        return Ok(());
    }
    match (rel, local) {
        (0, b"Object") => info.has_object = true,
        (1, b"CanonicalizationMethod") => info.c14n = attr(start, b"Algorithm"),
        (1, b"SignatureMethod") => info.method = attr(start, b"Algorithm"),
        (1, b"Reference") => info.references.push(RefInfo { uri: attr(start, b"URI"), ..RefInfo::default() }),
        (3, b"Transform") => {
            let t = attr(start, b"Algorithm").unwrap_or_default();
            info.references.last_mut().ok_or(ShapeError::Reference)?.transforms.push(t);
        }
        (2, b"DigestMethod") => {
            info.references.last_mut().ok_or(ShapeError::Reference)?.digest = attr(start, b"Algorithm");
        }
        (_, b"Signature") => return Err(ShapeError::SignaturePlacement),
        _ => {}
    }
    Ok(())
}

fn check_signature(parent_id: Option<&str>, info: &SigInfo) -> Result<(), ShapeError> {
    if info.has_object {
        return Err(ShapeError::SignaturePlacement);
    }
    if info.c14n.as_deref() != Some(EXC_C14N) {
        return Err(ShapeError::Transform);
    }
    if !info.method.as_deref().is_some_and(|m| SIGNATURE_ALGORITHMS.contains(&m)) {
        return Err(ShapeError::Algorithm);
    }
    let [reference] = info.references.as_slice() else {
        return Err(ShapeError::Reference);
    };
    let parent_id = parent_id.filter(|id| !id.is_empty()).ok_or(ShapeError::Reference)?;
    if reference.uri.as_deref().and_then(|u| u.strip_prefix('#')) != Some(parent_id) {
        return Err(ShapeError::Reference);
    }
    if reference.transforms.iter().any(|t| t != ENVELOPED && t != EXC_C14N) {
        return Err(ShapeError::Transform);
    }
    if !reference.digest.as_deref().is_some_and(|d| DIGEST_ALGORITHMS.contains(&d)) {
        return Err(ShapeError::Algorithm);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
