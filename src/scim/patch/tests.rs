//! PATCH tests: every scim-interop.md Appendix A body, RFC 7644 §3.5.2 examples, errors.

use serde_json::{json, Value};

use super::*;
use crate::scim::schema::ResourceType::{Group, User};
use crate::scim::schema::ENTERPRISE_URN;
use crate::scim::ScimType;

fn user() -> Value {
    json!({"id":"u1","userName":"bjensen","active":true,"displayName":"Babs",
           "name":{"givenName":"Barbara","familyName":"Jensen"},
           "emails":[{"value":"b@home.org","type":"home"}]})
}

fn group(n: usize) -> Value {
    let members: Vec<Value> = (0..n).map(|i| json!({"value": format!("m{i}")})).collect();
    json!({"id":"g1","displayName":"Ops","members":members})
}

fn run(rt: crate::scim::ResourceType, body: Value, res: &Value) -> Result<Value, ScimError> {
    PatchRequest::parse(&body)?.apply(rt, res)
}

fn ids(g: &Value) -> Vec<String> {
    g["members"]
        .as_array()
        .map(|a| a.iter().map(|m| m["value"].as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

#[test]
fn entra_legacy_bodies() {
    let out = run(
        User,
        json!({"schemas":[PATCH_OP_URN],"Operations":[{"op":"Replace","path":"active","value":"False"}]}),
        &user(),
    )
    .unwrap();
    assert_eq!(out["active"], false);
    let req = PatchRequest::parse(
        &json!({"schemas":[PATCH_OP_URN],"Operations":[{"op":"Replace","path":"active","value":"False"}]}),
    )
    .unwrap();
    assert_eq!(req.legacy_shapes(), &[LegacyShape::CapitalisedOp, LegacyShape::StringBoolean]);

    let out = run(
        User,
        json!({"schemas":[PATCH_OP_URN],"Operations":[{"op":"Add","path":"nickName","value":"Babs"}]}),
        &user(),
    )
    .unwrap();
    assert_eq!(out["nickName"], "Babs");

    let body = json!({"schemas":[PATCH_OP_URN],"Operations":[{"op":"Replace","path":"displayName","value":"Pvlo"},{"op":"Replace","path":"emails[type eq \"work\"].value","value":"TestBcwqnm@test.microsoft.com"},{"op":"Replace","path":"name.givenName","value":"Gtfd"},{"op":"Replace","path":"name.familyName","value":"Pkqf"},{"op":"Replace","path":"externalId","value":"Eqpj"},{"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber","value":"Eqpj"}]});
    let out = run(User, body, &user()).unwrap();
    assert_eq!(out["displayName"], "Pvlo");
    assert_eq!(
        out["emails"],
        json!([{"value":"b@home.org","type":"home"},{"type":"work","value":"TestBcwqnm@test.microsoft.com"}])
    );
    assert_eq!(out["name"], json!({"givenName":"Gtfd","familyName":"Pkqf"}));
    assert_eq!(out["externalId"], "Eqpj");
    assert_eq!(out[ENTERPRISE_URN]["employeeNumber"], "Eqpj");

    let out = run(Group, json!({"schemas":[PATCH_OP_URN],"Operations":[{"op":"Add","path":"members","value":[{"$ref":null,"value":"f648f8d5ea4e4cd38e9c"}]}]}), &group(1)).unwrap();
    assert_eq!(ids(&out), ["m0", "f648f8d5ea4e4cd38e9c"]);
    assert_eq!(out["members"][1], json!({"value":"f648f8d5ea4e4cd38e9c"}));

    let g = json!({"id":"g1","displayName":"Ops","members":[{"value":"u1091"},{"value":"keep"}]});
    let body = json!({"schemas":[PATCH_OP_URN],"Operations":[{"op":"Remove","path":"members","value":[{"value":"u1091"}]}]});
    assert_eq!(
        PatchRequest::parse(&body).unwrap().legacy_shapes(),
        &[LegacyShape::CapitalisedOp, LegacyShape::RemoveWithValue]
    );
    assert_eq!(ids(&run(Group, body, &g).unwrap()), ["keep"]);

    let out = run(User, json!({"schemas":[PATCH_OP_URN],"Operations":[{"op":"Add","path":"manager","value":[{"$ref":"https://host/scim/Users/ID","value":"ID"}]}]}), &user()).unwrap();
    assert_eq!(out[ENTERPRISE_URN]["manager"], json!({"$ref":"https://host/scim/Users/ID","value":"ID"}));
}

#[test]
fn entra_flagged_bodies() {
    let out = run(
        User,
        json!({"schemas":[PATCH_OP_URN],"Operations":[{"op":"replace","path":"active","value":false}]}),
        &user(),
    )
    .unwrap();
    assert_eq!(out["active"], false);
    let body = json!({"schemas":[PATCH_OP_URN],"Operations":[{"op":"replace","path":"emails[type eq \"work\"].value","value":"TestMhvaes@test.microsoft.com"},{"op":"replace","value":{"displayName":"Bjfe","name.givenName":"Kkom","name.familyName":"Unua","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"Aklq"}}]});
    let req = PatchRequest::parse(&body).unwrap();
    assert_eq!(req.legacy_shapes(), &[LegacyShape::DottedKeys]);
    let out = req.apply(User, &user()).unwrap();
    assert_eq!(out["displayName"], "Bjfe");
    assert_eq!(out["name"], json!({"givenName":"Kkom","familyName":"Unua"}));
    assert_eq!(out[ENTERPRISE_URN]["employeeNumber"], "Aklq");
    assert_eq!(out["emails"][1], json!({"type":"work","value":"TestMhvaes@test.microsoft.com"}));
    // A second replace updates the work email in place instead of adding another.
    let again = run(
        User,
        json!({"Operations":[{"op":"replace","path":"emails[type eq \"work\"].value","value":"n@x"}]}),
        &out,
    )
    .unwrap();
    assert_eq!(again["emails"].as_array().unwrap().len(), 2);
    assert_eq!(again["emails"][1]["value"], "n@x");

    let g = json!({"id":"g","displayName":"d","members":[{"value":"7f4bc1a3-285e-48ae-8202-5accb43efb0e"},{"value":"x"}]});
    let out = run(Group, json!({"schemas":[PATCH_OP_URN],"Operations":[{"op":"remove","path":"members[value eq \"7f4bc1a3-285e-48ae-8202-5accb43efb0e\"]"}]}), &g).unwrap();
    assert_eq!(ids(&out), ["x"]);
}

#[test]
fn okta_bodies() {
    let out = run(
        User,
        json!({"schemas":[PATCH_OP_URN],"Operations":[{"op":"replace","value":{"active":false}}]}),
        &user(),
    )
    .unwrap();
    assert_eq!(out["active"], false);

    let body = json!({"schemas":[PATCH_OP_URN],"Operations":[{"op":"replace","value":{"id":"abf4dd94-a4c0-4f67-89c9-76b03340cb9b","displayName":"Test SCIMv2"}}]});
    let req = PatchRequest::parse(&body).unwrap();
    assert!(!req.touches("members") && req.touches("displayName"));
    assert_eq!(req.legacy_shapes(), &[LegacyShape::ReadOnlyInValue]);
    let out = req.apply(Group, &group(2)).unwrap();
    assert_eq!((out["id"].as_str(), out["displayName"].as_str()), (Some("g1"), Some("Test SCIMv2")));

    let g = json!({"id":"g","displayName":"d","members":[{"value":"89bb1940-b905-4575-9e7f-6f887cfb368e"}]});
    let body = json!({"schemas":[PATCH_OP_URN],"Operations":[{"op":"remove","path":"members[value eq \"89bb1940-b905-4575-9e7f-6f887cfb368e\"]"},{"op":"add","path":"members","value":[{"value":"23a35c27-23d3-4c03-b4c5-6443c09e7173","display":"test.user@okta.local"}]}]});
    let req = PatchRequest::parse(&body).unwrap();
    assert!(req.touches("members") && req.touches("MEMBERS"));
    let out = req.apply(Group, &g).unwrap();
    assert_eq!(
        out["members"],
        json!([{"value":"23a35c27-23d3-4c03-b4c5-6443c09e7173","display":"test.user@okta.local"}])
    );

    let body = json!({"schemas":[PATCH_OP_URN],"Operations":[{"op":"replace","path":"members","value":[{"value":"23a35c27-23d3-4c03-b4c5-6443c09e7173"},{"value":"89bb1940-b905-4575-9e7f-6f887cfb368e"}]}]});
    assert_eq!(
        ids(&run(Group, body, &group(3)).unwrap()),
        ["23a35c27-23d3-4c03-b4c5-6443c09e7173", "89bb1940-b905-4575-9e7f-6f887cfb368e"]
    );
}

#[test]
fn rfc7644_section_3_5_2_examples() {
    // §3.5.2.1 add member; adding it again does not duplicate.
    let add = json!({"schemas":[PATCH_OP_URN],"Operations":[{"op":"add","path":"members","value":[{"display":"Babs Jensen","$ref":"https://example.com/v2/Users/2819c223","value":"2819c223"}]}]});
    let once = run(Group, add.clone(), &group(0)).unwrap();
    let twice = run(Group, add, &once).unwrap();
    assert_eq!(once, twice);
    // §3.5.2.1 path-less add of attributes.
    let out = run(User, json!({"Operations":[{"op":"add","value":{"emails":[{"value":"babs@jensen.org","type":"home"}],"nickname":"Babs"}}]}), &json!({"id":"u","userName":"b"})).unwrap();
    assert_eq!(
        out,
        json!({"id":"u","userName":"b","emails":[{"value":"babs@jensen.org","type":"home"}],"nickName":"Babs"})
    );
    // §3.5.2.2 remove all members / one member by filter / remove-then-add.
    assert!(run(Group, json!({"Operations":[{"op":"remove","path":"members"}]}), &group(3))
        .unwrap()
        .get("members")
        .is_none());
    assert_eq!(
        ids(&run(
            Group,
            json!({"Operations":[{"op":"remove","path":"members[value eq \"m1\"]"}]}),
            &group(3)
        )
        .unwrap()),
        ["m0", "m2"]
    );
    let out = run(Group, json!({"Operations":[{"op":"remove","path":"members[value eq \"m0\"]"},{"op":"add","path":"members","value":[{"value":"n"}]}]}), &group(1)).unwrap();
    assert_eq!(ids(&out), ["n"]);
    // §3.5.2.2 remove a complex attribute (enterprise manager via URN path).
    let u = json!({"id":"u","userName":"b",ENTERPRISE_URN:{"manager":{"value":"m"},"department":"d"}});
    let out = run(User, json!({"Operations":[{"op":"remove","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"}]}), &u).unwrap();
    assert_eq!(out[ENTERPRISE_URN], json!({"department":"d"}));
    // §3.5.2.2 remove by a complex filter; unknown attributes (x509Certificates) are ignored.
    let u = json!({"id":"u","userName":"b","emails":[{"value":"a@example.com","type":"work"},{"value":"h@example.com","type":"home"}]});
    let body = json!({"Operations":[{"op":"remove","path":"emails[type eq \"work\" and value ew \"example.com\"]"},
        {"op":"remove","path":"x509certificates[value eq \"MyOldCert\"]"}]});
    assert_eq!(run(User, body, &u).unwrap()["emails"], json!([{"value":"h@example.com","type":"home"}]));
    // §3.5.2.3 replace all members; replace with filter; replace several attributes.
    assert_eq!(
        ids(&run(
            Group,
            json!({"Operations":[{"op":"replace","path":"members","value":[{"value":"a"},{"value":"b"}]}]}),
            &group(3)
        )
        .unwrap()),
        ["a", "b"]
    );
    let out = run(User, json!({"Operations":[{"op":"replace","path":"emails[type eq \"home\"]","value":{"value":"new@home.org","primary":true}}]}), &user()).unwrap();
    assert_eq!(out["emails"], json!([{"value":"new@home.org","type":"home","primary":true}]));
    let out = run(User, json!({"Operations":[{"op":"replace","value":{"emails":[{"value":"bjensen@example.com","type":"work","primary":true}],"nickName":"Babs"}}]}), &user()).unwrap();
    assert_eq!(out["emails"], json!([{"value":"bjensen@example.com","type":"work","primary":true}]));
}

#[test]
fn errors_and_atomicity() {
    let u = user();
    let cases: Vec<(Value, ScimType)> = vec![
        (json!({"Operations":[{"op":"remove"}]}), ScimType::NoTarget),
        (
            json!({"Operations":[{"op":"replace","path":"emails[type eq \"x\"]","value":{"value":"a"}}]}),
            ScimType::NoTarget,
        ),
        (
            json!({"Operations":[{"op":"replace","path":"emails[type eq ","value":"a"}]}),
            ScimType::InvalidPath,
        ),
        (json!({"Operations":[{"op":"replace","path":"id","value":"x"}]}), ScimType::Mutability),
        (json!({"Operations":[{"op":"replace","path":"active","value":"maybe"}]}), ScimType::InvalidValue),
        (json!({"Operations":[{"op":"add","path":"nickName"}]}), ScimType::InvalidValue),
        (json!({"Operations":[{"op":"remove","path":"userName"}]}), ScimType::InvalidValue),
        (json!({"Operations":[{"op":"move","path":"x","value":1}]}), ScimType::InvalidSyntax),
        (json!({"Operations":[]}), ScimType::InvalidSyntax),
        (json!([]), ScimType::InvalidSyntax),
    ];
    for (body, want) in cases {
        let got = PatchRequest::parse(&body).and_then(|r| r.apply(User, &u)).unwrap_err();
        assert_eq!(got.scim_type, Some(want), "{body}");
        assert!(!got.detail.is_empty());
    }
    // A failing second op leaves nothing applied (the input is returned untouched by construction).
    let body = json!({"Operations":[{"op":"replace","path":"displayName","value":"X"},{"op":"replace","path":"active","value":7}]});
    assert!(run(User, body, &u).is_err());
    assert_eq!(u, user());
}

#[test]
fn lax_inputs_are_tolerated() {
    let u = user();
    // Unknown attributes (ims, entitlements…) are ignored like on POST.
    let out = run(User, json!({"Operations":[{"op":"Add","path":"ims[type eq \"work\"].value","value":"555"},{"op":"replace","path":"title","value":""}]}), &u).unwrap();
    assert_eq!(out, u);
    // Empty string and null clear optional attributes (Entra SCIM_Null_Update).
    let out = run(User, json!({"Operations":[{"op":"replace","path":"displayName","value":null},{"op":"replace","path":"name.givenName","value":""}]}), &u).unwrap();
    assert!(out.get("displayName").is_none());
    assert_eq!(out["name"], json!({"familyName":"Jensen"}));
    // Removing an absent member is a no-op, not noTarget.
    assert_eq!(
        run(Group, json!({"Operations":[{"op":"remove","path":"members[value eq \"nobody\"]"}]}), &group(2))
            .unwrap(),
        group(2)
    );
    // Setting a second primary email demotes the first.
    let out = run(User, json!({"Operations":[{"op":"add","path":"emails","value":[{"value":"w@x","type":"work","primary":true}]},{"op":"add","path":"emails","value":{"value":"o@x","type":"other","primary":"True"}}]}), &u).unwrap();
    let prim: Vec<_> = out["emails"].as_array().unwrap().iter().filter(|e| e["primary"] == true).collect();
    assert_eq!(prim.len(), 1);
    assert_eq!(prim[0]["value"], "o@x");
}

#[test]
fn many_members_in_one_request() {
    let values: Vec<Value> = (0..256).map(|i| json!({"value": format!("n{i}")})).collect();
    let out = run(Group, json!({"Operations":[{"op":"add","path":"members","value":values}]}), &group(256))
        .unwrap();
    assert_eq!(out["members"].as_array().unwrap().len(), 512);
}

#[test]
fn validator_value_filters_and_raw_manager() {
    // "Add Attributes Verbose": `roles[primary eq "True"].x` seeds one element with a real
    // boolean, and the next operations on the same filter land on it.
    let body = json!({"Operations":[
        {"op":"add","path":"roles[primary eq \"True\"].display","value":"D"},
        {"op":"add","path":"roles[primary eq \"True\"].value","value":"V"},
        {"op":"add","path":"roles[primary eq \"True\"].type","value":"T"},
        {"op":"add","path":"phoneNumbers[type eq \"work\"].value","value":"1-555"},
        {"op":"add","path":"phoneNumbers[type eq \"mobile\"].value","value":"1-556"},
        {"op":"add","path":"addresses[type eq \"work\"].locality","value":"L"},
        {"op":"add","path":"addresses[type eq \"work\"].country","value":"C"},
        {"op":"add","path":"emails[type eq \"home\"].primary","value":"True"},
        {"op":"add","path":format!("{ENTERPRISE_URN}:manager"),"value":"BOSS"}]});
    let out = run(User, body, &user()).unwrap();
    assert_eq!(out["roles"], json!([{"primary":true,"display":"D","value":"V","type":"T"}]));
    assert_eq!(
        out["phoneNumbers"],
        json!([{"type":"work","value":"1-555"},{"type":"mobile","value":"1-556"}])
    );
    assert_eq!(out["addresses"], json!([{"type":"work","locality":"L","country":"C"}]));
    assert_eq!(out["emails"][0]["primary"], true);
    assert_eq!(out[ENTERPRISE_URN]["manager"], json!({"value":"BOSS"}));
    // Removing the manager the validator's way, or any other, clears it and the empty extension.
    let path = format!("{ENTERPRISE_URN}:manager");
    for op in [
        json!({"op":"replace","path":path,"value":{"value":""}}),
        json!({"op":"add","path":path,"value":""}),
        json!({"op":"remove","path":path,"value":""}),
    ] {
        let cleared = run(User, json!({"Operations":[op]}), &out).unwrap();
        assert!(cleared.get(ENTERPRISE_URN).is_none(), "{cleared}");
    }
    // Replace on a string-boolean filter that matches: in place.
    let body =
        json!({"Operations":[{"op":"replace","path":"roles[primary eq \"TRUE\"].display","value":"D2"}]});
    assert_eq!(run(User, body, &out).unwrap()["roles"][0]["display"], "D2");
}
