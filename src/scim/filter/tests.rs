//! Filter tests: every RFC 7644 §3.4.2.2 example, interop forms, semantics and planning.

use serde_json::json;

use super::*;
use crate::scim::schema::ResourceType::{Group, User};
use crate::scim::ScimType;

const RFC_FILTERS: &[&str] = &[
    r#"userName eq "bjensen""#,
    r#"name.familyName co "O'Malley""#,
    r#"userName sw "J""#,
    r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
    r#"title pr"#,
    r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
    r#"meta.lastModified ge "2011-05-13T04:42:34Z""#,
    r#"meta.lastModified lt "2011-05-13T04:42:34Z""#,
    r#"meta.lastModified le "2011-05-13T04:42:34Z""#,
    r#"title pr and userType eq "Employee""#,
    r#"title pr or userType eq "Intern""#,
    r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
    r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
    r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
    r#"userType eq "Employee" and (emails.type eq "work")"#,
    r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
    r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
];

fn user() -> serde_json::Value {
    json!({
        "id": "2819c223", "userName": "Bjensen", "title": "Tour Guide", "userType": "Employee",
        "active": true, "name": {"familyName": "O'Malley", "givenName": "Barbara"},
        "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true},
                   {"value": "babs@jensen.org", "type": "home"}],
        "meta": {"lastModified": "2011-05-13T04:42:34Z", "created": "2010-01-23T04:56:22Z"},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "701984"}
    })
}

#[test]
fn every_rfc_example_parses_and_round_trips() {
    for src in RFC_FILTERS {
        let f = parse_filter(src).unwrap_or_else(|e| panic!("{src}: {e:?}"));
        let printed = f.to_string();
        assert_eq!(parse_filter(&printed).unwrap(), f, "{src} -> {printed}");
    }
}

#[test]
fn rfc_examples_evaluate_over_a_user() {
    let u = user();
    let expect = [
        (r#"userName eq "bjensen""#, true),
        (r#"name.familyName co "O'Malley""#, true),
        (r#"userName sw "J""#, false),
        (r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "b""#, true),
        ("title pr", true),
        (r#"meta.lastModified ge "2011-05-13T04:42:34Z""#, true),
        (r#"meta.lastModified gt "2011-05-13T06:42:34+02:00""#, false),
        (r#"meta.lastModified lt "2011-05-13T04:42:35.5Z""#, true),
        (r#"title pr and userType eq "Employee""#, true),
        (r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#, true),
        (
            r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
            false,
        ),
        (r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#, true),
        (r#"emails[type eq "home" and value co "@example.com"]"#, false),
        (r#"emails[type eq "work"].value eq "BJENSEN@example.com""#, true),
        (r#"emails.value eq "babs@jensen.org""#, true),
        ("active eq true", true),
        ("active eq false", false),
        ("nickName pr", false),
        ("nickName eq null", true),
        (r#"employeeNumber eq "701984""#, true),
        (r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#, true),
        (r#"id eq "2819C223""#, false),
    ];
    for (src, want) in expect {
        let f = parse_filter(src).unwrap();
        assert_eq!(matches(&f, User, &u).unwrap(), want, "{src}");
    }
}

#[test]
fn operators_and_names_are_case_insensitive() {
    let u = user();
    for src in
        [r#"USERNAME EQ "BJENSEN""#, r#"userName Eq "bjensen" AND Title PR"#, r#"NOT (userName eq "x")"#]
    {
        assert!(matches(&parse_filter(src).unwrap(), User, &u).unwrap(), "{src}");
    }
}

#[test]
fn string_literals_with_escapes_spaces_and_unicode() {
    let g = json!({"id": "g1", "displayName": "EDU All personal (ü) \"x\" a:b+c/d"});
    let f = parse_filter(r#"displayName eq "EDU All personal (\u00fc) \"x\" a:b+c/d""#).unwrap();
    assert!(matches(&f, Group, &g).unwrap());
    let f = parse_filter(r#"displayName eq "edu all PERSONAL (ü) \"x\" a:b+c/d""#).unwrap();
    assert!(matches(&f, Group, &g).unwrap());
}

#[test]
fn invalid_filters_are_invalid_filter() {
    let long = format!(r#"userName eq "{}""#, "a".repeat(MAX_FILTER_LEN));
    let deep = format!("{}userName pr{}", "(".repeat(200), ")".repeat(200));
    for src in [
        "",
        "userName",
        "userName eq",
        "userName xx \"a\"",
        "(userName pr",
        "userName eq bjensen",
        &long,
        &deep,
    ] {
        let e = parse_filter(src).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidFilter), "{src}");
        assert_eq!(e.status, 400);
    }
    let checks = [
        (User, "active gt true"),
        (User, "active co \"t\""),
        (User, "userName eq true"),
        (User, "entitlements pr"),
        (User, "active eq \"maybe\""),
        (User, "roles[primary gt \"True\"]"),
        (Group, "userName eq \"x\""),
        (User, "name eq \"x\""),
        (User, "emails[nope eq \"x\"]"),
    ];
    for (rt, src) in checks {
        let f = parse_filter(src).unwrap();
        let e = validate(rt, &f).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidFilter), "{src}");
        assert!(matches(&f, rt, &user()).is_err());
    }
}

#[test]
fn planner_recognises_idp_lookups() {
    let p = |rt, s: &str| plan(rt, &parse_filter_for(rt, s).unwrap());
    assert_eq!(
        p(User, r#"userName eq "a@b""#),
        Plan::Lookup { key: LookupKey::UserName("a@b".into()), residual: None }
    );
    assert_eq!(
        p(User, r#"externalId eq "g""#),
        Plan::Lookup { key: LookupKey::ExternalId("g".into()), residual: None }
    );
    assert_eq!(p(Group, r#"id eq "g""#), Plan::Lookup { key: LookupKey::Id("g".into()), residual: None });
    assert_eq!(
        p(Group, r#"displayName eq "EDU All personal""#),
        Plan::Lookup { key: LookupKey::DisplayName("EDU All personal".into()), residual: None }
    );
    assert_eq!(
        p(User, r#"emails.value eq "e""#),
        Plan::Lookup { key: LookupKey::Email("e".into()), residual: None }
    );
    assert_eq!(
        p(User, r#"emails[value eq "e"]"#),
        Plan::Lookup { key: LookupKey::Email("e".into()), residual: None }
    );
    let src = r#"emails[type eq "work"].value eq "e""#;
    assert_eq!(
        p(User, src),
        Plan::Lookup { key: LookupKey::Email("e".into()), residual: Some(parse_filter(src).unwrap()) }
    );
    let src = r#"id eq "1" and manager.value eq "2""#;
    assert_eq!(
        p(User, src),
        Plan::Lookup { key: LookupKey::Id("1".into()), residual: Some(parse_filter(src).unwrap()) }
    );
    assert_eq!(
        p(User, r#"userName eq "a" or externalId eq "b""#),
        Plan::LookupAny(vec![LookupKey::UserName("a".into()), LookupKey::ExternalId("b".into())])
    );
    assert_eq!(p(User, r#"userName co "a""#), Plan::Scan);
    assert_eq!(p(User, r#"userName eq "a" or title pr"#), Plan::Scan);
    assert_eq!(
        p(Group, r#"displayName eq "a" and members pr"#),
        Plan::Lookup {
            key: LookupKey::DisplayName("a".into()),
            residual: Some(parse_filter(r#"displayName eq "a" and members pr"#).unwrap())
        }
    );
    assert!(LookupKey::Id("x".into()).case_exact() && !LookupKey::UserName("x".into()).case_exact());
}

#[test]
fn wire_query_strings_decode_and_parse() {
    let wire = [
        "filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100",
        "filter=userName+eq+%22dale.mohr%40romaguera.uk%22",
        "excludedAttributes=members&filter=displayName+eq+%22EDU+All+personal%22",
    ];
    let want = ["test.user@okta.local", "dale.mohr@romaguera.uk", "EDU All personal"];
    for (q, w) in wire.iter().zip(want) {
        let pairs = form_urlencoded::parse(q.as_bytes());
        let lq = crate::scim::list::ListQuery::from_query_pairs(pairs, 100).unwrap();
        let f = lq.filter.unwrap();
        let Filter::Attr(AttrExp::Comparison(_, CompareOp::Eq, CompValue::Str(v))) = f else { panic!() };
        assert_eq!(v, w);
    }
    let f = parse_filter(r#"externalId eq "2a69c9a6-1708-45b7-acbe-a7b4c8fb102a""#).unwrap();
    assert!(matches!(plan(User, &f), Plan::Lookup { key: LookupKey::ExternalId(_), residual: None }));
}

#[test]
fn string_boolean_literals_compare_as_booleans() {
    // The Microsoft SCIM Validator writes `primary eq "True"`; Entra writes `"False"`.
    let u = user();
    for (src, want) in [
        (r#"active eq "True""#, true),
        (r#"active eq "FALSE""#, false),
        (r#"active ne "false""#, true),
        (r#"emails[primary eq "True"].value eq "bjensen@example.com""#, true),
        (r#"emails[type eq "home" and primary eq "true"]"#, false),
        // A string attribute keeps comparing strings.
        (r#"title eq "true""#, false),
    ] {
        let f = parse_filter(src).unwrap();
        assert_eq!(matches(&f, User, &u).unwrap(), want, "{src}");
    }
}
