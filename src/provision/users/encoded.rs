//! Users written straight to JSON bytes, for the answer IdPs import with: an unfiltered page
//! with the default projection (Okta's `GET /Users?startIndex=…&count=100`).
//!
//! A user SCIM never wrote is shown from Grafana's copy. Built as a `serde_json::Value`, then
//! hashed for its ETag, encoded and dropped, such a user cost some forty allocations, and
//! allocating was a third of a page's CPU. Here the same bytes and the same ETag are written
//! from the record and Grafana's view directly. The tests hold this path to byte equality with
//! the `Value` path ([`super::view::presented`] and the default projection), which every other
//! answer (managed users, projections, filters) still takes.

use chrono::{DateTime, SecondsFormat, Utc};

use crate::provision::translate::{derived_names, DerivedNames, GrafanaUserView};
use crate::scim::etag::tag_of_canonical;
use crate::scim::resource::location;
use crate::scim::ResourceType;
use crate::store::UserRecord;

/// Appends to `out` the resource `presented(base_url, rec, Some(view))` would show under the
/// default projection, for a record SCIM never wrote (`!rec.managed`). `scratch` holds the
/// ETag's canonical text; a caller writing many users passes the same one.
pub fn write_unmanaged(
    out: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
    base_url: &str,
    rec: &UserRecord,
    view: &GrafanaUserView,
) {
    let names = derived_names(view);
    let active = !view.disabled;
    let urn = ResourceType::User.core_urn();
    scratch.clear();
    canonical(scratch, rec, view, &names, urn);
    let tag = tag_of_canonical(scratch);

    out.extend_from_slice(b"{\"schemas\":[");
    string(out, urn);
    out.extend_from_slice(b"],\"userName\":");
    string(out, &view.login);
    out.extend_from_slice(b",\"name\":{\"formatted\":");
    string(out, names.display);
    out.extend_from_slice(b",\"givenName\":");
    string(out, names.given);
    out.extend_from_slice(b",\"familyName\":");
    string(out, names.family);
    out.extend_from_slice(b"},\"displayName\":");
    string(out, names.display);
    if !view.email.is_empty() {
        out.extend_from_slice(b",\"emails\":[{\"value\":");
        string(out, &view.email);
        out.extend_from_slice(b",\"type\":\"work\",\"primary\":true}]");
    }
    out.extend_from_slice(if active { b",\"active\":true,\"id\":" } else { b",\"active\":false,\"id\":" });
    string(out, &rec.scim_id);
    out.extend_from_slice(b",\"meta\":{\"resourceType\":");
    string(out, ResourceType::User.name());
    out.extend_from_slice(b",\"created\":");
    timestamp(out, &rec.created);
    out.extend_from_slice(b",\"lastModified\":");
    timestamp(out, &rec.last_modified);
    out.extend_from_slice(b",\"location\":");
    string(out, &location(base_url, ResourceType::User, &rec.scim_id));
    out.extend_from_slice(b",\"version\":");
    string(out, &tag);
    out.extend_from_slice(b"}}");
}

/// The text `etag::weak_etag` hashes for this user: members in byte order of their keys, a
/// comma after each, `meta` left out.
fn canonical(
    out: &mut Vec<u8>,
    rec: &UserRecord,
    view: &GrafanaUserView,
    names: &DerivedNames<'_>,
    urn: &str,
) {
    out.extend_from_slice(if view.disabled { b"{\"active\":false," } else { b"{\"active\":true," });
    out.extend_from_slice(b"\"displayName\":");
    string(out, names.display);
    if !view.email.is_empty() {
        out.extend_from_slice(b",\"emails\":[{\"primary\":true,\"type\":\"work\",\"value\":");
        string(out, &view.email);
        out.extend_from_slice(b",},]");
    }
    out.extend_from_slice(b",\"id\":");
    string(out, &rec.scim_id);
    out.extend_from_slice(b",\"name\":{\"familyName\":");
    string(out, names.family);
    out.extend_from_slice(b",\"formatted\":");
    string(out, names.display);
    out.extend_from_slice(b",\"givenName\":");
    string(out, names.given);
    out.extend_from_slice(b",},\"schemas\":[");
    string(out, urn);
    out.extend_from_slice(b",],\"userName\":");
    string(out, &view.login);
    out.extend_from_slice(b",}");
}

/// `s` as a JSON string, escaped exactly as `serde_json` escapes it.
fn string(out: &mut Vec<u8>, s: &str) {
    // Writing a `str` into a `Vec` cannot fail.
    let _ = serde_json::to_writer(out, s);
}

/// As `meta` spells times: RFC 3339 in UTC with milliseconds (no character needs escaping).
fn timestamp(out: &mut Vec<u8>, t: &DateTime<Utc>) {
    out.push(b'"');
    out.extend_from_slice(t.to_rfc3339_opts(SecondsFormat::Millis, true).as_bytes());
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::provision::identity::unmanaged_user_record;
    use crate::provision::users::view::presented;
    use crate::scim::projection::Projection;

    const BASE: &str = "https://grafana.example/apis/scim.grafana.app/v0alpha1/namespaces/default";

    fn view(login: &str, email: &str, name: &str, disabled: bool) -> GrafanaUserView {
        GrafanaUserView {
            id: 42,
            uid: Some("ad1".into()),
            login: login.into(),
            email: email.into(),
            name: name.into(),
            disabled,
        }
    }

    /// The `Value` path's bytes and tag for the same user.
    fn by_value(rec: &UserRecord, v: &GrafanaUserView) -> (Vec<u8>, String) {
        let shown = presented(BASE, rec, Some(v));
        let body = Projection::default().apply(ResourceType::User, shown.body);
        (serde_json::to_vec(&body).unwrap(), shown.etag)
    }

    #[test]
    fn bytes_and_tags_equal_the_value_path() {
        let odd = "Zo\u{eb} \"q\" \\ tab\t nl\n \u{1}\u{7f} \u{2028} 😀 </script>";
        let cases = [
            view("jane", "jane@example.com", "Jane Doe", false),
            view("jane", "jane@example.com", "Jane Doe", true),
            view("solo", "solo@example.com", "Cher", false),
            view("noname", "noname@example.com", "", false),
            view("blank", "blank@example.com", "   ", false),
            view("spaced", "s@example.com", "  Mary   Ann  Smith ", false),
            view("noemail", "", "No Email", false),
            view("Mixed.Case", "MiXed@Example.COM", "Ünïcödé Ñame", false),
            view(odd, odd, odd, false),
            view("x", "y", &format!("{odd} {odd}"), true),
        ];
        let mut scratch = Vec::new();
        for (i, v) in cases.iter().enumerate() {
            let mut rec = unmanaged_user_record(1, v);
            rec.created = Utc.timestamp_opt(1_700_000_000 + i as i64, 123_456_789).unwrap();
            let (want, tag) = by_value(&rec, v);
            let mut got = Vec::new();
            write_unmanaged(&mut got, &mut scratch, BASE, &rec, v);
            assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&want), "case {i}");
            let parsed: serde_json::Value = serde_json::from_slice(&got).unwrap();
            assert_eq!(parsed["meta"]["version"], serde_json::Value::from(tag), "case {i}");
        }
    }

    #[test]
    fn appends_after_what_the_buffer_holds() {
        let v = view("jane", "jane@example.com", "Jane Doe", false);
        let rec = unmanaged_user_record(1, &v);
        let mut out = b"[".to_vec();
        let mut scratch = b"left over".to_vec();
        write_unmanaged(&mut out, &mut scratch, BASE, &rec, &v);
        assert_eq!(out[1..], by_value(&rec, &v).0[..]);
    }
}
