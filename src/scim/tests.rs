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

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        prop_oneof![Just("True".to_string()), Just("m1".to_string()), "[a-zA-Z@. ]{0,8}"]
            .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec(
                (
                    prop_oneof![
                        Just("value".to_string()),
                        Just("type".to_string()),
                        Just("primary".to_string()),
                        Just("name.givenName".to_string()),
                        "[a-zA-Z]{1,6}"
                    ],
                    inner
                ),
                0..4
            )
            .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn patch_op() -> impl Strategy<Value = Value> {
    let op = prop_oneof![Just("add"), Just("Replace"), Just("remove"), Just("REMOVE")];
    let path = prop_oneof![
        Just(None),
        Just(Some("members")),
        Just(Some("members[value eq \"m1\"]")),
        Just(Some("emails[type eq \"work\"].value")),
        Just(Some("emails[type eq \"work\"]")),
        Just(Some("name.familyName")),
        Just(Some("active")),
        Just(Some("displayName")),
        Just(Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager")),
        Just(Some("id")),
    ];
    (op, path, proptest::option::of(json_value())).prop_map(|(op, path, value)| {
        let mut m = serde_json::Map::new();
        m.insert("op".into(), Value::from(op));
        if let Some(p) = path {
            m.insert("path".into(), Value::from(p));
        }
        if let Some(v) = value {
            m.insert("value".into(), v);
        }
        Value::Object(m)
    })
}

proptest! {
    #[test]
    fn arbitrary_patches_never_panic_and_keep_resources_canonical(ops in proptest::collection::vec(patch_op(), 1..5)) {
        let body = json!({"Operations": ops});
        let user = json!({"id":"1","userName":"u","emails":[{"value":"a@b","type":"work"}],"active":true});
        let group = json!({"id":"g","displayName":"G","members":[{"value":"m1"},{"value":"m2"}]});
        if let Ok(req) = PatchRequest::parse(&body) {
            for (rt, res) in [(ResourceType::User, &user), (ResourceType::Group, &group)] {
                if let Ok(out) = req.apply(rt, res) {
                    // The result is itself a valid body: canonicalising it again changes nothing
                    // except dropping the read-only id.
                    let mut again = crate::scim::resource::canonicalize(rt, &out).unwrap();
                    again.as_object_mut().unwrap().insert("id".into(), out["id"].clone());
                    let same = again.as_object().unwrap().len() == out.as_object().unwrap().len();
                    prop_assert!(same, "{} -> {}", out, again);
                    prop_assert_eq!(&out["id"], &res["id"]);
                }
            }
        }
    }

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
        let out = p.apply(ResourceType::User, u.clone());
        prop_assert_eq!(&out["id"], &u["id"]);
        prop_assert_eq!(&out["schemas"], &u["schemas"]);
        prop_assert!(out.get("password").is_none());
    }
}

#[test]
fn projection_examples() {
    let u = json!({"schemas":["s"],"id":"1","userName":"u","displayName":"d","name":{"givenName":"g","familyName":"f"},
        "meta":{"resourceType":"User"},"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"x","costCenter":"c"}});
    let p = |a: Option<&str>, e: Option<&str>| {
        Projection::parse(a, e).unwrap().apply(ResourceType::User, u.clone())
    };
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
