//! A buffered request and Grafana's decoding rules for it: case-insensitive JSON keys (Go's
//! `encoding/json`), an empty body as `{}`, capped query and body sizes. Must not authenticate.

use bytes::Bytes;
use http::{HeaderMap, Method};
use serde_json::{Map, Value};

/// Largest body the emulator reads (Grafana's own limit is far larger; tests never need more).
pub const MAX_BODY: usize = 4 * 1024 * 1024;

/// One buffered request.
#[derive(Debug, Clone)]
pub struct Req {
    /// Method.
    pub method: Method,
    /// Path without query.
    pub path: String,
    /// Raw query.
    pub raw_query: String,
    /// Decoded query pairs.
    pub query: Vec<(String, String)>,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Bytes,
}

impl Req {
    /// Builds from parts.
    pub fn new(method: Method, path: String, raw_query: String, headers: HeaderMap, body: Bytes) -> Req {
        let query = form_urlencoded::parse(raw_query.as_bytes()).into_owned().take(256).collect();
        Req { method, path, raw_query, query, headers, body }
    }

    /// First value of a query parameter.
    pub fn q(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Every value of a query parameter.
    pub fn q_all(&self, name: &str) -> Vec<&str> {
        self.query.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }

    /// Integer query parameter (unparsable values read as absent).
    pub fn q_int(&self, name: &str) -> Option<i64> {
        self.q(name).and_then(|v| v.trim().parse().ok())
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as a JSON object with lowercased keys; `None` for malformed JSON or a non-object.
    pub fn json(&self) -> Option<Body> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Some(Body(Map::new()));
        }
        match serde_json::from_slice::<Value>(&self.body).ok()? {
            Value::Object(m) => Some(Body(m.into_iter().map(|(k, v)| (k.to_lowercase(), v)).collect())),
            Value::Null => Some(Body(Map::new())),
            _ => None,
        }
    }
}

/// A decoded JSON object with lowercased keys.
#[derive(Debug, Clone)]
pub struct Body(pub Map<String, Value>);

impl Body {
    /// String field; wrong types read as a decode failure (`Err`), absent as `Ok("")`.
    pub fn str(&self, key: &str) -> Result<String, ()> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(()),
        }
    }

    /// Integer field; absent as 0.
    pub fn int(&self, key: &str) -> Result<i64, ()> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(0),
            Some(Value::Number(n)) => n.as_i64().ok_or(()),
            Some(_) => Err(()),
        }
    }

    /// Bool field; absent as false.
    pub fn bool(&self, key: &str) -> Result<bool, ()> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(()),
        }
    }

    /// String-array field; absent as empty.
    pub fn str_list(&self, key: &str) -> Result<Vec<String>, ()> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(a)) => a.iter().map(|v| v.as_str().map(str::to_string).ok_or(())).collect(),
            Some(_) => Err(()),
        }
    }

    /// Raw value.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }
}
