//! A JSON Web Key Set (RFC 7517) as the tenant publishes it, read into the keys a token may be
//! verified with: pure, no I/O.
//!
//! Only RSA keys for signing with RS256 are usable: `kty` `RSA`, `use` absent or `sig`, `alg`
//! absent or `RS256`, a modulus of 2048 to 8192 bits. Any other key is kept as unusable under its
//! `kid`, so a token naming it is refused for the key's type at once (it does not count as an
//! unknown key, which would make the sidecar fetch the set again). Keys without a `kid` are
//! skipped; of two keys with one `kid` the first is kept.

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;
use serde_json::Value;

/// Most keys read from one set (Entra publishes a handful).
pub const MAX_KEYS: usize = 64;
const MIN_MODULUS_BITS: usize = 2048;
const MAX_MODULUS_BITS: usize = 8192;

/// An RSA public key: big-endian modulus and exponent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsaKey {
    pub n: Vec<u8>,
    pub e: Vec<u8>,
}

/// One entry of the set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    Rsa(RsaKey),
    /// Not an RS256 signing key; the reason, for logs.
    Unusable(&'static str),
}

/// The usable and unusable keys of a set, by `kid`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeySet {
    keys: HashMap<String, Key>,
}

/// Why a key set document is unusable as a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwksError {
    #[error("the key set is not a JSON object with a `keys` array")]
    NotAKeySet,
    #[error("the key set holds no RS256 signing key")]
    NoUsableKey,
}

#[derive(Deserialize)]
struct Document {
    keys: Vec<Value>,
}

impl KeySet {
    /// Reads a JWKS document.
    ///
    /// # Errors
    /// When it is not a key set, or holds no usable key.
    pub fn parse(bytes: &[u8]) -> Result<Self, JwksError> {
        let doc: Document = serde_json::from_slice(bytes).map_err(|_| JwksError::NotAKeySet)?;
        let mut keys = HashMap::new();
        for entry in doc.keys.iter().take(MAX_KEYS) {
            let Some(kid) = entry.get("kid").and_then(Value::as_str).filter(|k| !k.is_empty()) else {
                continue;
            };
            keys.entry(kid.to_owned()).or_insert_with(|| read_key(entry));
        }
        if !keys.values().any(|k| matches!(k, Key::Rsa(_))) {
            return Err(JwksError::NoUsableKey);
        }
        Ok(Self { keys })
    }

    /// The key named `kid`.
    pub fn get(&self, kid: &str) -> Option<&Key> {
        self.keys.get(kid)
    }

    /// How many usable keys the set holds.
    pub fn usable(&self) -> usize {
        self.keys.values().filter(|k| matches!(k, Key::Rsa(_))).count()
    }
}

fn read_key(entry: &Value) -> Key {
    let text = |name: &str| entry.get(name).map(|v| v.as_str());
    if text("kty") != Some(Some("RSA")) {
        return Key::Unusable("not an RSA key");
    }
    if !matches!(text("use"), None | Some(Some("sig"))) {
        return Key::Unusable("not a signing key");
    }
    if !matches!(text("alg"), None | Some(Some("RS256"))) {
        return Key::Unusable("not an RS256 key");
    }
    let number = |name: &str| {
        let bytes = URL_SAFE_NO_PAD.decode(text(name)??).ok()?;
        // Big-endian, without leading zero bytes.
        let start = bytes.iter().position(|b| *b != 0)?;
        Some(bytes[start..].to_vec())
    };
    let (Some(n), Some(e)) = (number("n"), number("e")) else {
        return Key::Unusable("malformed RSA key");
    };
    let bits = n.len() * 8 - n.first().map_or(8, |b| b.leading_zeros() as usize);
    if !(MIN_MODULUS_BITS..=MAX_MODULUS_BITS).contains(&bits) {
        return Key::Unusable("RSA modulus size out of range");
    }
    if e.len() > 4 {
        return Key::Unusable("RSA exponent too large");
    }
    Key::Rsa(RsaKey { n, e })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn b64(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn rsa(kid: &str, bits: usize) -> Value {
        let mut n = vec![0xC5u8; bits / 8];
        n.insert(0, 0); // a leading zero, as some encoders write
        json!({"kty": "RSA", "use": "sig", "kid": kid, "n": b64(&n), "e": "AQAB", "x5c": ["…"]})
    }

    #[test]
    fn reads_usable_and_unusable_keys() {
        let doc = json!({"keys": [
            rsa("good", 2048),
            {"kty": "EC", "kid": "ec", "crv": "P-256", "x": "AA", "y": "AA"},
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            {"kty": "RSA", "kid": "enc", "use": "enc", "n": "AQAB", "e": "AQAB"},
            {"kty": "RSA", "kid": "ps", "alg": "PS256", "n": "AQAB", "e": "AQAB"},
            rsa("small", 1024),
            {"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"},
            {"kty": "RSA", "n": "AQAB", "e": "AQAB"},
            rsa("good", 4096),
        ]});
        let set = KeySet::parse(doc.to_string().as_bytes()).unwrap();
        assert_eq!(set.usable(), 1);
        let Some(Key::Rsa(k)) = set.get("good") else { panic!("{set:?}") };
        assert_eq!(k.n.len(), 256, "leading zero stripped, first key of a kid kept");
        assert_eq!(k.e, [1, 0, 1]);
        for kid in ["ec", "hmac", "enc", "ps", "small", "broken"] {
            assert!(matches!(set.get(kid), Some(Key::Unusable(_))), "{kid}: {:?}", set.get(kid));
        }
        assert!(set.get("missing").is_none());
    }

    #[test]
    fn refuses_documents_without_usable_keys() {
        for doc in
            ["", "[]", "{}", "{\"keys\": {}}", "{\"keys\": [{\"kty\": \"EC\", \"kid\": \"a\"}]}", "null"]
        {
            assert!(KeySet::parse(doc.as_bytes()).is_err(), "{doc}");
        }
    }
}
