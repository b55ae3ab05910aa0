//! Criterion benches for the SCIM core: filter parse, PATCH on a 256-member group, serialisation.

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion};
use serde_json::{json, Value};

use scim_sidecar::scim::filter::parse_filter;
use scim_sidecar::scim::patch::PatchRequest;
use scim_sidecar::scim::resource::{canonicalize, with_schemas};
use scim_sidecar::scim::ResourceType;

fn filters(c: &mut Criterion) {
    c.bench_function("filter_parse_username_eq", |b| {
        b.iter(|| parse_filter(black_box(r#"userName eq "test.user@okta.local""#)))
    });
    c.bench_function("filter_parse_complex", |b| {
        b.iter(|| {
            parse_filter(black_box(
                r#"userType eq "Employee" and (emails[type eq "work" and value co "@example.com"] or not (title pr))"#,
            ))
        })
    });
}

fn patch(c: &mut Criterion) {
    let members: Vec<Value> =
        (0..256).map(|i| json!({"value": format!("00000000-0000-4000-8000-{i:012}")})).collect();
    let group = json!({"id":"g","displayName":"Ops","members": members});
    let add: Vec<Value> =
        (0..256).map(|i| json!({"value": format!("10000000-0000-4000-8000-{i:012}")})).collect();
    let body = json!({"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
        {"op":"remove","path":"members[value eq \"00000000-0000-4000-8000-000000000007\"]"},
        {"op":"add","path":"members","value": add}]});
    c.bench_function("patch_apply_256_member_group", |b| {
        b.iter(|| {
            PatchRequest::parse(black_box(&body))
                .and_then(|r| r.apply(ResourceType::Group, black_box(&group)))
        })
    });
}

fn serialise(c: &mut Criterion) {
    let body = json!({"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"externalId":"e","userName":"bjensen@example.com",
        "name":{"formatted":"Ms. Barbara J Jensen, III","familyName":"Jensen","givenName":"Barbara"},"displayName":"Babs Jensen",
        "emails":[{"value":"bjensen@example.com","type":"work","primary":true}],"active":true,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"701984","department":"Tour Operations"}});
    let canonical = canonicalize(ResourceType::User, &body).unwrap_or_default();
    c.bench_function("user_canonicalize", |b| b.iter(|| canonicalize(ResourceType::User, black_box(&body))));
    c.bench_function("user_serialise", |b| {
        b.iter_batched(
            || canonical.clone(),
            |doc| serde_json::to_vec(&with_schemas(ResourceType::User, black_box(doc))),
            BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, filters, patch, serialise);
criterion_main!(benches);
