//! `[scim] tokens` entries: a plain string (`"sha256:…"` or the token itself), or a table that
//! also names the token for the audit log (`{ name = "entra-prod", token = "sha256:…" }`).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::Secret;

/// One accepted static SCIM token and, optionally, its name (the audit log's actor).
#[derive(Debug, Clone, PartialEq)]
pub struct ScimToken {
    pub name: Option<String>,
    pub token: Secret,
}

impl From<Secret> for ScimToken {
    fn from(token: Secret) -> Self {
        Self { name: None, token }
    }
}

impl ScimToken {
    /// The token value (plain or `sha256:<hex>`). Callers must not log it.
    pub fn expose(&self) -> &str {
        self.token.expose()
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Repr {
    Plain(Secret),
    Named { name: String, token: Secret },
}

/// Accepts either form.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct NamedRepr {
    name: String,
    token: Secret,
}

impl<'de> Deserialize<'de> for ScimToken {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Repr::deserialize(d)? {
            Repr::Plain(token) => Self { name: None, token },
            Repr::Named { name, token } => Self { name: Some(name), token },
        })
    }
}

impl Serialize for ScimToken {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.name {
            None => self.token.serialize(s),
            Some(name) => NamedRepr { name: name.clone(), token: self.token.clone() }.serialize(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Holder {
        tokens: Vec<ScimToken>,
    }

    #[test]
    fn plain_strings_and_named_tables_both_parse() {
        let h: Holder =
            toml::from_str(r#"tokens = ["plain-token", { name = "entra-prod", token = "sha256:ab" }]"#)
                .unwrap();
        assert_eq!(h.tokens[0].name, None);
        assert_eq!(h.tokens[0].expose(), "plain-token");
        assert_eq!(h.tokens[1].name.as_deref(), Some("entra-prod"));
        assert_eq!(h.tokens[1].expose(), "sha256:ab");
    }
}
