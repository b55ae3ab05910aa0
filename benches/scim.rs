//! Criterion benches for the SCIM core: filter parse, PATCH on a 256-member group, serialisation,
//! and the pure part of a Users page (presenting 100 users and encoding the ListResponse, through
//! `serde_json::Value`s and written directly).

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion};
use serde_json::{json, Value};

use scim_sidecar::provision::identity::unmanaged_user_record;
use scim_sidecar::provision::translate::GrafanaUserView;
use scim_sidecar::provision::users::{presented, write_unmanaged};
use scim_sidecar::scim::filter::parse_filter;
use scim_sidecar::scim::list::ListResponse;
use scim_sidecar::scim::patch::PatchRequest;
use scim_sidecar::scim::projection::Projection;
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

/// What a page of 100 users Grafana lists costs the sidecar between reading its records and
/// writing the answer: each user presented from Grafana's copy (document, ETag, `meta`), the
/// default projection, and the ListResponse encoded.
fn users_page(c: &mut Criterion) {
    let views: Vec<GrafanaUserView> = (0..100)
        .map(|i| GrafanaUserView {
            id: i + 2,
            uid: Some(format!("ad{i:011x}")),
            login: format!("bench.user{i:05}"),
            email: format!("bench.user{i:05}@example.com"),
            name: format!("Bench User{i:05}"),
            disabled: false,
        })
        .collect();
    let records: Vec<_> = views.iter().map(|v| unmanaged_user_record(1, v)).collect();
    let projection = Projection::parse(None, None).unwrap_or_default();
    let base = "https://grafana.example.com/apis/scim.grafana.app/v0alpha1/namespaces/default";
    c.bench_function("users_page_of_100_presented_and_encoded", |b| {
        b.iter(|| {
            let resources = records
                .iter()
                .zip(&views)
                .map(|(r, v)| projection.apply(ResourceType::User, presented(base, r, Some(v)).body))
                .collect();
            let doc = ListResponse::new(10_000, 1, resources);
            let mut buf = Vec::with_capacity(100 * 1024);
            serde_json::to_writer(&mut buf, &doc).map(|()| buf.len())
        })
    });
    // The same page as the sidecar writes it for users SCIM never wrote (same bytes).
    c.bench_function("users_page_of_100_written_directly", |b| {
        b.iter(|| {
            let mut items = Vec::with_capacity(100 * 800);
            let mut scratch = Vec::with_capacity(512);
            for (i, (r, v)) in records.iter().zip(&views).enumerate() {
                if i > 0 {
                    items.push(b',');
                }
                write_unmanaged(&mut items, &mut scratch, base, r, v);
            }
            ListResponse::encode(10_000, 1, records.len(), &items).len()
        })
    });
}

/// A page of first sightings mints a hundred SCIM ids.
fn ids(c: &mut Criterion) {
    c.bench_function("new_scim_id_x100", |b| {
        b.iter(|| (0..100).map(|_| scim_sidecar::provision::identity::new_scim_id()).collect::<Vec<_>>())
    });
}

criterion_group!(benches, filters, patch, serialise, users_page, ids);
criterion_main!(benches);
