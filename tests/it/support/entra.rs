//! Entra token mode test kit: RSA signing keys (openssl), tokens signed as Entra signs its
//! provisioning tokens (or deliberately not), and a key-set endpoint served over real TLS on
//! 127.0.0.1:0 whose answer a test changes and whose fetches it counts.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::sign::Signer;
use scim_sidecar::body::{self, Body};
use scim_sidecar::config::EntraConfig;
use serde_json::{json, Value};
use tokio::net::TcpListener;

use super::certs::TestCerts;

pub const TENANT: &str = "3f2a9c71-5b0e-4d8a-9e61-2c7b4f0d8a15";
pub const OTHER_TENANT: &str = "c0ffee00-1111-4222-8333-944455556666";
pub const AUDIENCE: &str = "8adf8e6e-67b2-4cf2-a259-e3dc5476c621";
/// The `appid` the tokens carry (the audit log's actor).
pub const APP_ID: &str = "1b5c6d2e-aaaa-4bbb-8ccc-0d1e2f3a4b5c";

/// An RSA signing key with its key id.
pub struct SigningKey {
    pub kid: String,
    pub key: PKey<Private>,
}

impl SigningKey {
    pub fn generate(kid: &str) -> Self {
        Self::generate_bits(kid, 2048)
    }

    pub fn generate_bits(kid: &str, bits: u32) -> Self {
        let rsa = Rsa::generate(bits).unwrap();
        Self { kid: kid.to_owned(), key: PKey::from_rsa(rsa).unwrap() }
    }

    /// The public key as a JWK, as Entra publishes it.
    pub fn jwk(&self) -> Value {
        let rsa = self.key.rsa().unwrap();
        json!({
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "x5t": self.kid,
            "n": b64(&rsa.n().to_vec()),
            "e": b64(&rsa.e().to_vec()),
            "issuer": format!("https://login.microsoftonline.com/{TENANT}/v2.0"),
        })
    }

    /// The public key in PEM (SubjectPublicKeyInfo), the bytes an HS256 confusion attack uses.
    pub fn public_pem(&self) -> Vec<u8> {
        self.key.public_key_to_pem().unwrap()
    }

    /// `header.claims` signed with RS256.
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = signing_input(header, claims);
        let mut signer = Signer::new(MessageDigest::sha256(), &self.key).unwrap();
        signer.update(input.as_bytes()).unwrap();
        format!("{input}.{}", b64(&signer.sign_to_vec().unwrap()))
    }

    /// A token as Entra issues it: RS256, this key's `kid`, `claims`.
    pub fn token(&self, claims: &Value) -> String {
        self.sign(&self.header(), claims)
    }

    pub fn header(&self) -> Value {
        json!({"typ": "JWT", "alg": "RS256", "x5t": self.kid, "kid": self.kid})
    }
}

/// `header.claims` MACed with HS256 under `secret`.
pub fn sign_hs256(header: &Value, claims: &Value, secret: &[u8]) -> String {
    let input = signing_input(header, claims);
    let key = PKey::hmac(secret).unwrap();
    let mut signer = Signer::new(MessageDigest::sha256(), &key).unwrap();
    signer.update(input.as_bytes()).unwrap();
    format!("{input}.{}", b64(&signer.sign_to_vec().unwrap()))
}

pub fn signing_input(header: &Value, claims: &Value) -> String {
    format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()))
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// The claims of a valid provisioning token of [`TENANT`], issued a minute ago for an hour.
pub fn claims() -> Value {
    let now = now();
    json!({
        "aud": AUDIENCE,
        "iss": format!("https://sts.windows.net/{TENANT}/"),
        "iat": now - 60,
        "nbf": now - 60,
        "exp": now + 3600,
        "aio": "E2ZgYDg0",
        "appid": APP_ID,
        "appidacr": "2",
        "idp": format!("https://sts.windows.net/{TENANT}/"),
        "idtyp": "app",
        "oid": "9d8e7f6a-0000-4111-8222-333344445555",
        "rh": "0.AAAA",
        "sub": "9d8e7f6a-0000-4111-8222-333344445555",
        "tid": TENANT,
        "uti": "abc",
        "ver": "1.0",
    })
}

/// `claims()` with `changes` merged in (a `null` removes the claim).
pub fn claims_with(changes: Value) -> Value {
    let mut c = claims();
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v.clone();
        }
    }
    c
}

/// What the key endpoint answers.
struct Answer {
    status: u16,
    body: String,
}

/// A key-set endpoint over TLS (certificate of `certs`' CA), counting its fetches.
pub struct JwksServer {
    pub url: String,
    answer: Arc<Mutex<Answer>>,
    hits: Arc<AtomicUsize>,
}

impl JwksServer {
    pub async fn start(certs: &TestCerts, keys: &[&SigningKey]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let answer = Arc::new(Mutex::new(Answer { status: 200, body: String::new() }));
        let hits = Arc::new(AtomicUsize::new(0));
        let acceptor = certs.acceptor();
        let (a, h) = (answer.clone(), hits.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let (acceptor, a, h) = (acceptor.clone(), a.clone(), h.clone());
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(stream).await else { return };
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let (a, h) = (a.clone(), h.clone());
                        async move {
                            if req.uri().path().ends_with("/discovery/keys") {
                                h.fetch_add(1, Ordering::SeqCst);
                            }
                            let (status, text) = {
                                let answer = a.lock().unwrap();
                                (answer.status, answer.body.clone())
                            };
                            let res: Response<Body> = Response::builder()
                                .status(status)
                                .header("content-type", "application/json")
                                .body(body::full(text))
                                .unwrap();
                            Ok::<_, Infallible>(res)
                        }
                    });
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        let server = Self { url: format!("https://localhost:{port}/{TENANT}/discovery/keys"), answer, hits };
        server.publish(keys);
        server
    }

    /// Publishes exactly `keys`, answering 200.
    pub fn publish(&self, keys: &[&SigningKey]) {
        let doc = json!({"keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>()});
        self.answer_with(200, &doc.to_string());
    }

    /// Answers every fetch with `status` and `body`.
    pub fn answer_with(&self, status: u16, body: &str) {
        *self.answer.lock().unwrap() = Answer { status, body: body.to_owned() };
    }

    /// Fetches of the key set so far.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    /// `[scim.entra]` for [`TENANT`] with this endpoint, trusting `certs`' CA.
    pub fn config(&self, certs: &TestCerts) -> EntraConfig {
        EntraConfig {
            tenant_id: TENANT.into(),
            jwks_url: Some(self.url.clone()),
            ca_file: Some(certs.ca_file.clone()),
            ..EntraConfig::default()
        }
    }
}
