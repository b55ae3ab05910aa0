//! Cross-module property tests for the SCIM core.

use proptest::prelude::*;
use serde_json::{json, Value};

use crate::scim::filter::parse_filter;
use crate::scim::patch::PatchRequest;
use crate::scim::projection::Projection;
use crate::scim::schema::ResourceType;

fn attr_path() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("userName".to_string()),
        Just("name.familyName".to_string()),
        Just("emails.value".to_string()),
        Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber".to_string()),
        "[a-zA-Z][a-zA-Z0-9_-]{0,8}",
    ]
}

fn comp_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>().prop_map(|s| serde_json::to_string(&s).unwrap()),
        Just("true".to_string()),
        Just("null".to_string()),
        any::<i32>().prop_map(|n| n.to_string()),
    ]
}

fn leaf() -> impl Strategy<Value = String> {
    let op = prop_oneof![Just("eq"), Just("NE"), Just("co"), Just("sw"), Just("ew"), Just("gt"), Just("Le")];
    prop_oneof![
        (attr_path(), op, comp_value()).prop_map(|(a, o, v)| format!("{a} {o} {v}")),
        attr_path().prop_map(|a| format!("{a} pr")),
        comp_value().prop_map(|v| format!("emails[type eq \"work\" and value eq {v}]")),
    ]
}

fn filter_text() -> impl Strategy<Value = String> {
    leaf().prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} and {b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} or {b})")),
            inner.prop_map(|a| format!("not ({a})")),
        ]
    })
}

proptest! {
    #[test]
    fn filter_parse_print_parse_is_identity(src in filter_text()) {
        let f = parse_filter(&src).unwrap();
        let printed = f.to_string();
        prop_assert_eq!(parse_filter(&printed).unwrap(), f);
    }

    #[test]
    fn filter_parser_never_panics(src in "\\PC{0,64}") {
        let _ = parse_filter(&src);
    }

    #[test]
    fn patch_is_atomic(n in 0usize..20, bad_at in 0usize..5) {
        let members: Vec<Value> = (0..n).map(|i| json!({"value": format!("m{i}")})).collect();
        let group = json!({"id":"g","displayName":"G","members": members});
        let mut ops: Vec<Value> = (0..5).map(|i| json!({"op":"add","path":"members","value":[{"value": format!("x{i}")}]})).collect();
        ops[bad_at] = json!({"op":"replace","path":"members[value eq \"absent\"]","value":{"value":"y"}});
        let req = PatchRequest::parse(&json!({"Operations": ops})).unwrap();
        let before = group.clone();
        prop_assert!(req.apply(ResourceType::Group, &group).is_err());
        prop_assert_eq!(group, before);
    }

    #[test]
    fn projection_keeps_id_and_schemas(
        attrs in proptest::option::of("[a-zA-Z.,]{0,30}"),
        excl in proptest::option::of("[a-zA-Z.,]{0,30}"),
    ) {
        let p = Projection::parse(attrs.as_deref(), excl.as_deref()).unwrap();
        let u = json!({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"1","userName":"u","password":"p","name":{"givenName":"g"}});
        let out = p.apply(ResourceType::User, &u);
        prop_assert_eq!(&out["id"], &u["id"]);
        prop_assert_eq!(&out["schemas"], &u["schemas"]);
        prop_assert!(out.get("password").is_none());
    }
}

#[test]
fn projection_examples() {
    let u = json!({"schemas":["s"],"id":"1","userName":"u","displayName":"d","name":{"givenName":"g","familyName":"f"},
        "meta":{"resourceType":"User"},"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"x","costCenter":"c"}});
    let p = |a: Option<&str>, e: Option<&str>| Projection::parse(a, e).unwrap().apply(ResourceType::User, &u);
    assert_eq!(
        p(Some("userName,NAME.givenName"), None),
        json!({"schemas":["s"],"id":"1","userName":"u","name":{"givenName":"g"}})
    );
    assert_eq!(
        p(Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"), None),
        json!({"schemas":["s"],"id":"1","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"x"}})
    );
    let out =
        p(None, Some("name,meta,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter,id"));
    assert_eq!(
        out,
        json!({"schemas":["s"],"id":"1","userName":"u","displayName":"d","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"x"}})
    );
    let g = Projection::parse(None, Some("members")).unwrap();
    assert!(!g.wants("members") && g.wants("displayName") && g.wants("id"));
    let g = Projection::parse(Some("displayName"), None).unwrap();
    assert!(!g.wants("members") && g.wants("displayName"));
    assert!(Projection::parse(None, None).unwrap().wants("members"));
}
