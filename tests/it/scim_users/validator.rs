//! The Microsoft SCIM Validator's user payloads (issue 29), replayed against the sidecar and the
//! emulator: string booleans in `roles[].primary` on every POST, the enterprise `manager` as a
//! raw id and removed with `""`, and the verbose PATCHes (36 operations, value-filtered paths on
//! `roles`, `emails`, `phoneNumbers` and `addresses`, several operations on one attribute). Shapes
//! from `idp-field-notes.md` §1 and the validator result files it cites.

use serde_json::{json, Value};

use super::{filter, grafana_id, patch_op};
use crate::support::scim::{assert_scim_error, Harness};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// The validator's "Create a new User" body (its values are random strings).
fn validator_user(user_name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "userName": user_name,
        "active": true,
        "displayName": "QFRWJBXDSGHI",
        "title": "WTSOXNQDLKUO",
        "emails": [{"type": "work", "value": user_name, "primary": true}],
        "preferredLanguage": "ss-ZA",
        "name": {"givenName": "Arnoldo", "familyName": "Hammes", "formatted": "Olen", "middleName": "Talia",
                 "honorificPrefix": "Mr", "honorificSuffix": "III"},
        "addresses": [{"type": "work", "formatted": "FTMLLIQMZCVW", "streetAddress": "6735 Ollie Summit",
                       "locality": "WGZPBBFPXXDW", "region": "BHHTTSUWGNWS", "postalCode": "hi89 7ws",
                       "primary": "True", "country": "Canada"}],
        "phoneNumbers": [{"type": "work", "value": "1-236-318-8436", "primary": "true"},
                         {"type": "mobile", "value": "1-406-870-1217"},
                         {"type": "fax", "value": "1-342-570-2187"}],
        "roles": [{"primary": "True", "display": "LGCNQETBDPEY", "value": "SQKBMGSEXYEC", "type": "LBQSUBJHRZKC"}],
        ENTERPRISE: {"employeeNumber": "WYYUAHHUFPYG", "department": "JGMXEOSNXLOA", "costCenter": "WXQCGJKWUPJN",
                     "organization": "SOHCJQKXDIUE", "division": "QJEXQOGDUCGA"},
        "externalId": format!("ext-{user_name}")
    })
}

async fn post_user(h: &Harness, user_name: &str) -> String {
    let a = h.post("Users", validator_user(user_name)).await;
    assert_eq!(a.status, 201, "{a:?}");
    a.json()["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn validator_create_with_string_booleans_round_trips_roles_and_is_unique() {
    let h = Harness::start().await;
    let a = h.post("Users", validator_user("kiara@okon.ca")).await;
    assert_eq!(a.status, 201, "{a:?}");
    let id = a.json()["id"].as_str().unwrap().to_string();
    let gid = grafana_id(&h, "kiara@okon.ca");
    assert_eq!(h.grafana.user(gid).unwrap().name, "QFRWJBXDSGHI");
    for body in [a.json().clone(), h.get(&format!("Users/{id}")).await.json().clone()] {
        assert_eq!(
            body["roles"],
            json!([{"primary": true, "display": "LGCNQETBDPEY", "value": "SQKBMGSEXYEC", "type": "LBQSUBJHRZKC"}])
        );
        assert_eq!(body["phoneNumbers"][0]["primary"], true);
        assert_eq!(body["phoneNumbers"][2], json!({"type": "fax", "value": "1-342-570-2187"}));
        assert_eq!(body["addresses"][0]["primary"], true);
        assert_eq!(body["addresses"][0]["postalCode"], "hi89 7ws");
        assert_eq!(body[ENTERPRISE]["division"], "QJEXQOGDUCGA");
    }
    // Filters with string-boolean literals, and on roles.
    for f in [
        r#"userName eq "KIARA@OKON.CA" and active eq "True""#,
        r#"roles[primary eq "TRUE"].value eq "SQKBMGSEXYEC""#,
        r#"emails[type eq "work" and primary eq "true"] and externalId eq "ext-kiara@okon.ca""#,
    ] {
        let a = filter(&h, f).await;
        assert_eq!((a.status, a.json()["totalResults"].as_u64()), (200, Some(1)), "{f}: {a:?}");
    }
    assert_eq!(filter(&h, r#"active eq "False""#).await.json()["totalResults"], 0);
    // "Create a duplicate User".
    assert_scim_error(&h.post("Users", validator_user("kiara@okon.ca")).await, 409, Some("uniqueness"));
}

#[tokio::test]
async fn validator_manager_as_a_raw_id_is_wrapped_replaced_and_removed() {
    let h = Harness::start().await;
    let id = post_user(&h, "manager.test@example.com").await;
    let path = format!("{ENTERPRISE}:manager");
    let url = format!("Users/{id}");
    // "Patch User - Add Manager".
    let a = h.patch(&url, patch_op(json!([{"op": "add", "path": path, "value": "BOSS-ID-1"}]))).await;
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(a.json()[ENTERPRISE]["manager"], json!({"value": "BOSS-ID-1"}));
    assert_eq!(h.get(&url).await.json()[ENTERPRISE]["manager"], json!({"value": "BOSS-ID-1"}));
    // "Patch User - Replace Manager", raw and as an object.
    let a = h.patch(&url, patch_op(json!([{"op": "replace", "path": path, "value": "BOSS-ID-2"}]))).await;
    assert_eq!(a.json()[ENTERPRISE]["manager"], json!({"value": "BOSS-ID-2"}));
    let a = h
        .patch(&url, patch_op(json!([{"op": "Replace", "path": path, "value": {"value": "BOSS-ID-3"}}])))
        .await;
    assert_eq!(a.json()[ENTERPRISE]["manager"], json!({"value": "BOSS-ID-3"}));
    // "Patch User - Remove Manager": `{"value": ""}`, `""`, `null` and a plain remove all clear it.
    for removal in [
        json!({"op": "replace", "path": path, "value": {"value": ""}}),
        json!({"op": "add", "path": path, "value": ""}),
        json!({"op": "replace", "path": path, "value": null}),
        json!({"op": "remove", "path": path, "value": ""}),
        json!({"op": "remove", "path": path}),
    ] {
        let set = json!({"op": "add", "path": path, "value": "BOSS-ID-4"});
        assert_eq!(h.patch(&url, patch_op(json!([set]))).await.status, 200);
        let a = h.patch(&url, patch_op(json!([removal.clone()]))).await;
        assert_eq!(a.status, 200, "{removal}: {a:?}");
        assert!(a.json()[ENTERPRISE].get("manager").is_none(), "{removal}: {a:?}");
        let got = h.get(&url).await;
        assert!(got.json()[ENTERPRISE].get("manager").is_none(), "{removal}: {got:?}");
        assert_eq!(
            got.json()[ENTERPRISE]["employeeNumber"],
            "WYYUAHHUFPYG",
            "the rest of the extension kept"
        );
    }
    // A POST carrying a raw manager id.
    let mut body = validator_user("second@example.com");
    body[ENTERPRISE]["manager"] = json!("BOSS-ID-9");
    let a = h.post("Users", body).await;
    assert_eq!(a.status, 201, "{a:?}");
    assert_eq!(a.json()[ENTERPRISE]["manager"], json!({"value": "BOSS-ID-9"}));
}

/// "Patch User - Add Attributes Verbose": 36 `add` operations, one per attribute.
fn add_attributes_verbose(user_name: &str) -> Value {
    let e = |attr: &str| format!("{ENTERPRISE}:{attr}");
    patch_op(json!([
        {"op": "add", "path": "userName", "value": user_name},
        {"op": "add", "path": "displayName", "value": "OLGVZMWKRJXQ"},
        {"op": "add", "path": "nickName", "value": "Kory"},
        {"op": "add", "path": "title", "value": "NPFKXCYMBZUA"},
        {"op": "add", "path": "userType", "value": "Employee"},
        {"op": "add", "path": "preferredLanguage", "value": "de-CH"},
        {"op": "add", "path": "locale", "value": "de-CH"},
        {"op": "add", "path": "timezone", "value": "Europe/Zurich"},
        {"op": "add", "path": "active", "value": "True"},
        {"op": "add", "path": "externalId", "value": "ext-verbose-2"},
        {"op": "add", "path": "name.givenName", "value": "Marlen"},
        {"op": "add", "path": "name.familyName", "value": "Stehr"},
        {"op": "add", "path": "name.formatted", "value": "Marlen Stehr"},
        {"op": "add", "path": "name.middleName", "value": "Q"},
        {"op": "add", "path": "name.honorificPrefix", "value": "Dr"},
        {"op": "add", "path": "name.honorificSuffix", "value": "Jr"},
        {"op": "add", "path": "emails[type eq \"work\"].value", "value": user_name},
        {"op": "add", "path": "emails[type eq \"work\"].primary", "value": "True"},
        {"op": "add", "path": "addresses[type eq \"work\"].formatted", "value": "ZHDOXNVVWMXK"},
        {"op": "add", "path": "addresses[type eq \"work\"].streetAddress", "value": "2092 Lowe Villages"},
        {"op": "add", "path": "addresses[type eq \"work\"].locality", "value": "RKRTZXQOMYSR"},
        {"op": "add", "path": "addresses[type eq \"work\"].region", "value": "XQQSZHLIFHWE"},
        {"op": "add", "path": "addresses[type eq \"work\"].postalCode", "value": "wg6 1ag"},
        {"op": "add", "path": "addresses[type eq \"work\"].country", "value": "Switzerland"},
        {"op": "add", "path": "phoneNumbers[type eq \"work\"].value", "value": "1-820-555-0100"},
        {"op": "add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "1-820-555-0101"},
        {"op": "add", "path": "phoneNumbers[type eq \"fax\"].value", "value": "1-820-555-0102"},
        {"op": "add", "path": "roles[primary eq \"True\"].display", "value": "XNZQCVRSGFSO"},
        {"op": "add", "path": "roles[primary eq \"True\"].value", "value": "YUDTHMCKRLPE"},
        {"op": "add", "path": "roles[primary eq \"True\"].type", "value": "WindowsAzureActiveDirectoryRole"},
        {"op": "add", "path": e("employeeNumber"), "value": "EMP-2"},
        {"op": "add", "path": e("department"), "value": "DEPT-2"},
        {"op": "add", "path": e("costCenter"), "value": "CC-2"},
        {"op": "add", "path": e("organization"), "value": "ORG-2"},
        {"op": "add", "path": e("division"), "value": "DIV-2"},
        {"op": "add", "path": e("manager"), "value": "MGR-2"}
    ]))
}

#[tokio::test]
async fn validator_add_attributes_verbose_applies_all_36_operations() {
    let h = Harness::start().await;
    // The validator adds to a user created without the optional attributes.
    let a = h
        .post(
            "Users",
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "verbose@example.com",
                   "emails": [{"type": "work", "value": "verbose@example.com", "primary": "True"}],
                   "roles": [{"primary": "True", "display": "OLD", "value": "OLD", "type": "OLD"}], "active": true}),
        )
        .await;
    assert_eq!(a.status, 201, "{a:?}");
    let id = a.json()["id"].as_str().unwrap().to_string();
    let gid = grafana_id(&h, "verbose@example.com");
    let body = add_attributes_verbose("verbose.two@example.com");
    assert_eq!(body["Operations"].as_array().unwrap().len(), 36);
    let a = h.patch(&format!("Users/{id}"), body).await;
    assert_eq!(a.status, 200, "{a:?}");
    let got = h.get(&format!("Users/{id}")).await;
    assert_eq!(got.json(), a.json(), "GET shows what the PATCH answered");
    let u = got.json();
    let expected = json!({
        "userName": "verbose.two@example.com", "displayName": "OLGVZMWKRJXQ", "nickName": "Kory",
        "title": "NPFKXCYMBZUA", "userType": "Employee", "preferredLanguage": "de-CH", "locale": "de-CH",
        "timezone": "Europe/Zurich", "active": true, "externalId": "ext-verbose-2",
        "name": {"givenName": "Marlen", "familyName": "Stehr", "formatted": "Marlen Stehr", "middleName": "Q",
                 "honorificPrefix": "Dr", "honorificSuffix": "Jr"},
        "emails": [{"type": "work", "value": "verbose.two@example.com", "primary": true}],
        "addresses": [{"type": "work", "formatted": "ZHDOXNVVWMXK", "streetAddress": "2092 Lowe Villages",
                       "locality": "RKRTZXQOMYSR", "region": "XQQSZHLIFHWE", "postalCode": "wg6 1ag",
                       "country": "Switzerland"}],
        "phoneNumbers": [{"type": "work", "value": "1-820-555-0100"}, {"type": "mobile", "value": "1-820-555-0101"},
                         {"type": "fax", "value": "1-820-555-0102"}],
        "roles": [{"primary": true, "display": "XNZQCVRSGFSO", "value": "YUDTHMCKRLPE",
                   "type": "WindowsAzureActiveDirectoryRole"}],
        ENTERPRISE: {"employeeNumber": "EMP-2", "department": "DEPT-2", "costCenter": "CC-2",
                     "organization": "ORG-2", "division": "DIV-2", "manager": {"value": "MGR-2"}}
    });
    for (k, v) in expected.as_object().unwrap() {
        assert_eq!(&u[k], v, "{k}: {u}");
    }
    let gu = h.grafana.user(gid).unwrap();
    assert_eq!(
        (gu.login.as_str(), gu.email.as_str(), gu.name.as_str()),
        ("verbose.two@example.com", "verbose.two@example.com", "OLGVZMWKRJXQ")
    );
    // The same 36 operations again change nothing: still 200, same document.
    let again = h.patch(&format!("Users/{id}"), add_attributes_verbose("verbose.two@example.com")).await;
    assert_eq!(again.status, 200);
    for (k, v) in expected.as_object().unwrap() {
        assert_eq!(&again.json()[k], v, "{k}");
    }
}

#[tokio::test]
async fn validator_multiple_operations_apply_in_order_and_atomically() {
    let h = Harness::start().await;
    let id = post_user(&h, "multi.ops@example.com").await;
    let gid = grafana_id(&h, "multi.ops@example.com");
    let url = format!("Users/{id}");
    // "Patch User - Replace Attributes Verbose" / "Multiple Ops different attrs".
    let a = h
        .patch(
            &url,
            patch_op(json!([
                {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "multi.new@example.com"},
                {"op": "replace", "path": "phoneNumbers[type eq \"work\"].value", "value": "07-272-0828"},
                {"op": "replace", "path": "addresses[type eq \"work\"].streetAddress", "value": "2809 Johns Walk"},
                {"op": "replace", "path": "addresses[type eq \"work\"].locality", "value": "KMYVNUJVVZWC"},
                {"op": "replace", "path": "roles[primary eq \"True\"].display", "value": "NEWROLE"},
                {"op": "replace", "path": "displayName", "value": "Multi Renamed"}
            ])),
        )
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    let u = h.get(&url).await.json().clone();
    assert_eq!(u["emails"], json!([{"type": "work", "value": "multi.new@example.com", "primary": true}]));
    assert_eq!(u["phoneNumbers"][0]["value"], "07-272-0828");
    assert_eq!(u["phoneNumbers"].as_array().unwrap().len(), 3);
    assert_eq!(u["addresses"][0]["streetAddress"], "2809 Johns Walk");
    assert_eq!(u["addresses"][0]["locality"], "KMYVNUJVVZWC");
    assert_eq!(u["addresses"][0]["country"], "Canada", "untouched sub-attributes kept");
    assert_eq!(u["roles"][0]["display"], "NEWROLE");
    assert_eq!(u["roles"][0]["value"], "SQKBMGSEXYEC");
    let gu = h.grafana.user(gid).unwrap();
    assert_eq!((gu.email.as_str(), gu.name.as_str()), ("multi.new@example.com", "Multi Renamed"));

    // "Multiple Ops same attr": the last one wins.
    let a = h
        .patch(
            &url,
            patch_op(json!([
                {"op": "replace", "path": "displayName", "value": "First"},
                {"op": "add", "path": "displayName", "value": "Second"},
                {"op": "replace", "value": {"displayName": "Third", "name.givenName": "G3"}},
                {"op": "remove", "path": "phoneNumbers[type eq \"fax\"]"},
                {"op": "add", "path": "phoneNumbers", "value": [{"type": "pager", "value": "1-555", "primary": "False"}]}
            ])),
        )
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    let u = h.get(&url).await.json().clone();
    assert_eq!((u["displayName"].as_str(), u["name"]["givenName"].as_str()), (Some("Third"), Some("G3")));
    let types: Vec<&str> =
        u["phoneNumbers"].as_array().unwrap().iter().map(|p| p["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["work", "mobile", "pager"]);
    assert_eq!(u["phoneNumbers"][2]["primary"], false);
    assert_eq!(h.grafana.user(gid).unwrap().name, "Third");

    // Atomic: a failing last operation leaves the user and Grafana as they were.
    let before = h.get(&url).await.json().clone();
    let a = h
        .patch(
            &url,
            patch_op(json!([
                {"op": "replace", "path": "displayName", "value": "Never"},
                {"op": "add", "path": "roles[primary eq \"True\"].display", "value": "NEVER"},
                {"op": "replace", "path": "roles[primary eq \"True\"].primary", "value": "maybe"}
            ])),
        )
        .await;
    assert_scim_error(&a, 400, Some("invalidValue"));
    assert_eq!(h.get(&url).await.json(), &before);
    assert_eq!(h.grafana.user(gid).unwrap().name, "Third");
}
