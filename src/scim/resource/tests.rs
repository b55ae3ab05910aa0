//! Canonicalisation tests: RFC 7643 §8 examples and the interop POST bodies.

use serde_json::{json, Value};

use super::*;
use crate::scim::schema::ResourceType::{Group, User};
use crate::scim::schema::ENTERPRISE_URN;
use crate::scim::ScimType;

fn fixture(s: &str) -> Value {
    serde_json::from_str(s).unwrap()
}

#[test]
fn rfc7643_section_8_examples() {
    let min = fixture(include_str!("../../../tests/fixtures/scim/rfc7643_8_1_minimal_user.json"));
    assert_eq!(canonicalize(User, &min).unwrap(), json!({"userName":"bjensen@example.com"}));

    let full = fixture(include_str!("../../../tests/fixtures/scim/rfc7643_8_2_full_user.json"));
    let c = canonicalize(User, &full).unwrap();
    let keys: Vec<&str> = c.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "externalId",
            "userName",
            "name",
            "displayName",
            "nickName",
            "emails",
            "addresses",
            "phoneNumbers",
            "userType",
            "title",
            "preferredLanguage",
            "locale",
            "timezone",
            "active",
            "password"
        ]
    );
    assert_eq!(c["name"]["honorificSuffix"], "III");

    let ent = fixture(include_str!("../../../tests/fixtures/scim/rfc7643_8_3_enterprise_user.json"));
    let c = canonicalize(User, &ent).unwrap();
    assert_eq!(c[ENTERPRISE_URN]["manager"]["value"], "26118915-6090-4610-87e4-49d8ca9f808d");
    assert_eq!(c[ENTERPRISE_URN]["costCenter"], "4130");
    let s = with_schemas(User, c.clone());
    assert_eq!(s["schemas"], json!([USER_URN, ENTERPRISE_URN]));
    assert_eq!(s.as_object().unwrap().keys().next().map(String::as_str), Some("schemas"));

    let g = fixture(include_str!("../../../tests/fixtures/scim/rfc7643_8_4_group.json"));
    let c = canonicalize(Group, &g).unwrap();
    assert_eq!(c["members"].as_array().unwrap().len(), 2);
    assert!(c.get("id").is_none() && c.get("meta").is_none());
    assert_eq!(with_schemas(Group, c.clone())["schemas"], json!([crate::scim::schema::GROUP_URN]));
}

use crate::scim::schema::USER_URN;

#[test]
fn interop_post_bodies() {
    // Entra group create: extra schema URN, meta, no members.
    let body = json!({"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group","http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],"externalId":"8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159","displayName":"displayName","meta":{"resourceType":"Group"}});
    assert_eq!(
        canonicalize(Group, &body).unwrap(),
        json!({"externalId":"8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159","displayName":"displayName"})
    );
    // Entra user create with nulls, roles: [], case-varied names, string boolean.
    let body = json!({"schemas":[USER_URN, ENTERPRISE_URN],"externalId":"e","UserName":"A@B","active":"True","roles":[],"addresses":null,
        "emails":[{"Primary":true,"type":"work","value":"a@b"}],"name":{"Formatted":"A B","familyName":"B","givenName":"A"},
        "meta":{"resourceType":"User"}, ENTERPRISE_URN: {"manager": null, "Department": "D"}});
    let c = canonicalize(User, &body).unwrap();
    assert_eq!(
        c,
        json!({"externalId":"e","userName":"A@B","active":true,"emails":[{"primary":true,"type":"work","value":"a@b"}],
        "name":{"formatted":"A B","familyName":"B","givenName":"A"}, ENTERPRISE_URN: {"department":"D"}})
    );
    // Okta create: groups (readOnly) and password.
    let c = canonicalize(User, &json!({"userName":"u","groups":[],"password":"p","id":"ignored"})).unwrap();
    assert_eq!(c, json!({"userName":"u","password":"p"}));
}

#[test]
fn wrong_types_and_missing_required() {
    let cases = [
        (User, json!({"displayName":"x"}), "userName is required"),
        (Group, json!({"members":[]}), "displayName is required"),
        (User, json!({"userName":"u","active":"yes"}), "active must be a boolean"),
        (User, json!({"userName":"u","name":"x"}), "name must be an object"),
        (User, json!({"userName":"u","emails":[{"value":3}]}), "emails.value must be a string"),
        (User, json!({"userName":7}), "userName must be a string"),
        (User, json!({"userName":"u", ENTERPRISE_URN: "x"}), "must be an object"),
    ];
    for (rt, body, msg) in cases {
        let e = canonicalize(rt, &body).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue), "{body}");
        assert!(e.detail.contains(msg), "{} vs {msg}", e.detail);
    }
    assert_eq!(canonicalize(User, &json!("x")).unwrap_err().scim_type, Some(ScimType::InvalidSyntax));
}

#[test]
fn meta_and_location() {
    let t = chrono::DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z").unwrap().with_timezone(&chrono::Utc);
    let m = Meta {
        resource_type: User,
        created: t,
        last_modified: t,
        location: location("https://h/scim/v2/", User, "abc"),
        version: Some("W/\"1\"".into()),
    };
    assert_eq!(
        m.to_value(),
        json!({"resourceType":"User","created":"2026-01-02T03:04:05.000Z","lastModified":"2026-01-02T03:04:05.000Z","location":"https://h/scim/v2/Users/abc","version":"W/\"1\""})
    );
}

#[test]
fn validator_post_string_booleans_roles_and_raw_manager() {
    // The Microsoft SCIM Validator's create: `primary` as the string "True" in roles (and
    // elsewhere), the enterprise manager as a bare id.
    let body = json!({"schemas":[USER_URN, ENTERPRISE_URN],"userName":"v@example.com",
        "roles":[{"primary":"True","display":"D","value":"V","type":"T"}],
        "phoneNumbers":[{"type":"work","value":"1-555","primary":"FALSE"}],
        "addresses":[{"type":"work","locality":"L","primary":"true"}],
        "emails":[{"type":"work","value":"v@example.com","primary":" True "}],
        ENTERPRISE_URN: {"department":"D1","manager":"BOSS"}});
    let c = canonicalize(User, &body).unwrap();
    assert_eq!(c["roles"], json!([{"primary":true,"display":"D","value":"V","type":"T"}]));
    assert_eq!(c["phoneNumbers"][0]["primary"], false);
    assert_eq!(c["addresses"][0]["primary"], true);
    assert_eq!(c["emails"][0]["primary"], true);
    assert_eq!(c[ENTERPRISE_URN], json!({"department":"D1","manager":{"value":"BOSS"}}));
    // `""` and null are no manager; a multi-valued attribute does not take a bare string.
    for empty in [json!(""), Value::Null, json!({"value": ""})] {
        let body = json!({"userName":"v", ENTERPRISE_URN: {"department":"D1","manager": empty}});
        assert_eq!(canonicalize(User, &body).unwrap()[ENTERPRISE_URN], json!({"department":"D1"}));
    }
    let e = canonicalize(User, &json!({"userName":"v","roles":[{"primary":"maybe"}]})).unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
    let e = canonicalize(User, &json!({"userName":"v","roles":"admin"})).unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
}
