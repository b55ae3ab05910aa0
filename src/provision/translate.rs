//! Pure SCIM ↔ Grafana user mapping (no I/O).
//!
//! | SCIM | Grafana |
//! |---|---|
//! | `userName` | `login` (Grafana stores it lowercased; SCIM keeps the original case) |
//! | work (else primary, else first) `emails[].value` | `email` |
//! | `displayName`, else `name.formatted`, else `givenName familyName` | `name` |
//! | `active` | disabled flag, or org membership (see `provision::users`) |
//!
//! Everything else (`externalId`, `name.givenName`, email `type`/`primary`, enterprise attributes)
//! lives only in the mapping store.

use serde_json::{Map, Value};

/// Grafana's view of one user, from `GET /api/users/:id` or an org-user search hit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrafanaUserView {
    pub id: i64,
    pub uid: Option<String>,
    pub login: String,
    pub email: String,
    pub name: String,
    pub disabled: bool,
}

/// The user fields Grafana holds, as the SCIM resource wants them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrafanaUserFields {
    pub login: String,
    pub email: String,
    pub name: String,
}

/// The email Grafana should hold: the `work` one (primary first), else the primary, else the first.
pub fn grafana_email(doc: &Value) -> Option<String> {
    let emails = doc.get("emails")?.as_array()?;
    fn value(e: &Value) -> Option<&str> {
        e.get("value").and_then(Value::as_str).map(str::trim).filter(|v| !v.is_empty())
    }
    let is_work =
        |e: &Value| e.get("type").and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case("work"));
    let is_primary = |e: &Value| e.get("primary").and_then(Value::as_bool).unwrap_or(false);
    let pick = |pred: &dyn Fn(&Value) -> bool| emails.iter().filter(|e| pred(e)).find_map(value);
    pick(&|e| is_work(e) && is_primary(e))
        .or_else(|| pick(&is_work))
        .or_else(|| pick(&is_primary))
        .or_else(|| emails.iter().find_map(value))
        .map(str::to_string)
}

/// The display name Grafana should hold (may be empty: Grafana then keeps its current name).
pub fn grafana_name(doc: &Value) -> String {
    let text = |v: Option<&Value>| {
        v.and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
    };
    text(doc.get("displayName"))
        .or_else(|| text(doc.pointer("/name/formatted")))
        .or_else(|| {
            let given = text(doc.pointer("/name/givenName"));
            let family = text(doc.pointer("/name/familyName"));
            match (given, family) {
                (Some(g), Some(f)) => Some(format!("{g} {f}")),
                (g, f) => g.or(f),
            }
        })
        .unwrap_or_default()
}

/// The Grafana fields for a canonical SCIM user document. Without an email, Grafana uses the
/// login as the email (grafana-api.md §3.2), so the sidecar does the same explicitly.
pub fn grafana_fields(doc: &Value) -> GrafanaUserFields {
    let login = doc.get("userName").and_then(Value::as_str).map(str::trim).unwrap_or_default().to_string();
    let email = grafana_email(doc).unwrap_or_else(|| login.clone());
    GrafanaUserFields { login, email, name: grafana_name(doc) }
}

/// True when Grafana's copy differs from what SCIM wants. Login and email compare
/// case-insensitively (Grafana lowercases them); an empty wanted name cannot be written.
pub fn differs(current: &GrafanaUserView, wanted: &GrafanaUserFields) -> bool {
    !current.login.eq_ignore_ascii_case(&wanted.login)
        || !current.email.eq_ignore_ascii_case(&wanted.email)
        || (!wanted.name.is_empty() && current.name != wanted.name)
}

/// The names SCIM shows for a Grafana user it never wrote. Grafana holds one name string: it is
/// `displayName` and `name.formatted` (trimmed; the login when empty), split on the first space
/// into `givenName`/`familyName` (a one-word name fills both) so IdP import checks that expect
/// both find them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DerivedNames<'a> {
    pub display: &'a str,
    pub given: &'a str,
    pub family: &'a str,
}

pub fn derived_names(view: &GrafanaUserView) -> DerivedNames<'_> {
    let display = match view.name.trim() {
        "" => view.login.as_str(),
        name => name,
    };
    let (given, family) = match display.split_once(' ') {
        Some((g, f)) => (g, f.trim()),
        None => (display, display),
    };
    DerivedNames { display, given, family }
}

/// The SCIM document of a Grafana user that SCIM never wrote (so nothing is stored about it);
/// names per [`derived_names`]. `provision::users::encoded` writes the same document as bytes.
pub fn derived_user_doc(view: &GrafanaUserView) -> Value {
    let DerivedNames { display, given, family } = derived_names(view);
    let mut name = Map::with_capacity(3);
    name.insert("formatted".into(), Value::from(display));
    name.insert("givenName".into(), Value::from(given));
    name.insert("familyName".into(), Value::from(family));
    // Sized for what presenting adds too (`schemas`, `id`, `meta`): a map that grows rehashes.
    let mut doc = Map::with_capacity(9);
    doc.insert("userName".into(), Value::from(view.login.as_str()));
    doc.insert("name".into(), Value::Object(name));
    doc.insert("displayName".into(), Value::from(display));
    if !view.email.is_empty() {
        let mut email = Map::with_capacity(3);
        email.insert("value".into(), Value::from(view.email.as_str()));
        email.insert("type".into(), Value::from("work"));
        email.insert("primary".into(), Value::Bool(true));
        doc.insert("emails".into(), Value::Array(vec![Value::Object(email)]));
    }
    doc.insert("active".into(), Value::Bool(!view.disabled));
    Value::Object(doc)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn view() -> GrafanaUserView {
        GrafanaUserView {
            id: 5,
            uid: Some("u1".into()),
            login: "jane".into(),
            email: "jane@example.com".into(),
            name: "Jane Doe".into(),
            disabled: false,
        }
    }

    #[test]
    fn email_preference_order() {
        let doc = json!({"emails": [
            {"value": "home@x", "type": "home", "primary": true},
            {"value": "work2@x", "type": "Work"},
            {"value": "work1@x", "type": "work", "primary": true}
        ]});
        assert_eq!(grafana_email(&doc).as_deref(), Some("work1@x"));
        let doc = json!({"emails": [{"value": "home@x", "type": "home"}, {"value": "p@x", "primary": true}]});
        assert_eq!(grafana_email(&doc).as_deref(), Some("p@x"));
        assert_eq!(grafana_email(&json!({"emails": [{"value": " a@x "}]})).as_deref(), Some("a@x"));
        assert_eq!(grafana_email(&json!({})), None);
    }

    #[test]
    fn name_fallbacks() {
        assert_eq!(grafana_name(&json!({"displayName": "D", "name": {"formatted": "F"}})), "D");
        assert_eq!(grafana_name(&json!({"name": {"formatted": "F", "givenName": "G"}})), "F");
        assert_eq!(grafana_name(&json!({"name": {"givenName": "G", "familyName": "H"}})), "G H");
        assert_eq!(grafana_name(&json!({"name": {"familyName": "H"}})), "H");
        assert_eq!(grafana_name(&json!({"displayName": "  "})), "");
    }

    #[test]
    fn fields_default_email_to_login() {
        let f = grafana_fields(&json!({"userName": " Bob "}));
        assert_eq!(f, GrafanaUserFields { login: "Bob".into(), email: "Bob".into(), name: String::new() });
    }

    #[test]
    fn differs_ignores_case_and_empty_names() {
        let wanted =
            GrafanaUserFields { login: "JANE".into(), email: "Jane@Example.com".into(), name: String::new() };
        assert!(!differs(&view(), &wanted));
        let wanted = GrafanaUserFields { name: "Jane Q".into(), ..wanted };
        assert!(differs(&view(), &wanted));
    }

    #[test]
    fn derived_document() {
        let doc = derived_user_doc(&view());
        assert_eq!(doc["name"]["givenName"], "Jane");
        assert_eq!(doc["name"]["familyName"], "Doe");
        assert_eq!(doc["emails"][0]["value"], "jane@example.com");
        assert_eq!(doc["active"], true);
        let admin = GrafanaUserView { login: "admin".into(), name: String::new(), ..view() };
        let doc = derived_user_doc(&admin);
        assert_eq!(doc["name"]["givenName"], "admin");
        assert_eq!(doc["name"]["familyName"], "admin");
    }
}
