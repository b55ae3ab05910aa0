//! The one dispatcher behind `/Users` and `/Groups`: a decoded request becomes a typed
//! [`Op`], runs through the [`Resource`] trait, and its [`Outcome`] becomes the SCIM answer.
//!
//! Everything HTTP about a resource operation happens here and nowhere in provisioning:
//! `attributes`/`excludedAttributes` are parsed and applied, PATCH documents parsed (and the IdP
//! shapes the normaliser rewrote counted in `scim_normalised_shapes_total{kind}`), `If-None-Match`
//! answered with 304, 200, 201 or 204 chosen, `Location` and `ETag` set, and every operation
//! counted in `scim_operations_total{resource,operation,outcome}` with labels from enums.
//!
//! The one difference between the resource types is what a write answers: a user's create and
//! PATCH always show the user; a group's create shows it projected only when the client asked
//! for a projection, and a group's PATCH answers 204 unless it did (Okta and Entra send large
//! membership PATCHes and never read the body).

use std::time::Instant;

use http::Method;
use serde_json::Value;
use tracing::debug;

use super::audit::AuditScope;
use super::context::{ScimRequest, ScimResponse, Target};
use super::failure::Failure;
use crate::metrics::{KindLabels, Metrics, ScimOpLabels, ScimOperation, ScimOutcome, ScimResource};
use crate::provision::{Op, Outcome, Resource, Scope};
use crate::scim::error::ScimError;
use crate::scim::etag::if_none_match;
use crate::scim::list::{ListQuery, ListResponse, SearchRequest};
use crate::scim::patch::PatchRequest;
use crate::scim::projection::Projection;
use crate::scim::resource::location;
use crate::scim::ResourceType;

/// What the dispatcher needs besides the resource.
pub(super) struct Dispatch<'a> {
    pub metrics: &'a Metrics,
    /// Who and what this request's audit records carry.
    pub audit: &'a AuditScope,
    /// `[scim] max_results`: the most a list query may ask for.
    pub max_results: usize,
}

/// The operation label of a method on a target; `None` for pairs the decoder already refused.
fn operation(method: &Method, target: &Target) -> Option<ScimOperation> {
    match (method, target) {
        (&Method::GET, Target::Collection) => Some(ScimOperation::List),
        (&Method::POST, Target::Collection) => Some(ScimOperation::Create),
        (&Method::POST, Target::Search) => Some(ScimOperation::Search),
        (&Method::GET, Target::Resource(_)) => Some(ScimOperation::Get),
        (&Method::PUT, Target::Resource(_)) => Some(ScimOperation::Replace),
        (&Method::PATCH, Target::Resource(_)) => Some(ScimOperation::Patch),
        (&Method::DELETE, Target::Resource(_)) => Some(ScimOperation::Delete),
        _ => None,
    }
}

fn resource_label(t: ResourceType) -> ScimResource {
    match t {
        ResourceType::User => ScimResource::User,
        ResourceType::Group => ScimResource::Group,
    }
}

impl Dispatch<'_> {
    /// Runs `req` on `resource` and counts it.
    pub(super) async fn run<R: Resource>(
        &self,
        resource: &R,
        permit: &R::Permit,
        scope: &Scope<'_>,
        req: ScimRequest,
    ) -> Result<ScimResponse, Failure> {
        let started = Instant::now();
        let Some(operation) = operation(&req.method, &req.target) else {
            return Err(ScimError::method_not_allowed(format!("{} is not allowed here", req.method)).into());
        };
        let result = self.serve(resource, permit, scope, operation, req).await;
        let outcome = match &result {
            Ok(_) => ScimOutcome::Ok,
            Err(f) if f.error.status >= 500 => ScimOutcome::Error,
            Err(_) => ScimOutcome::Refused,
        };
        let labels = ScimOpLabels::new(resource_label(R::TYPE), operation, outcome);
        self.metrics.scim_operations.get_or_create(&labels).inc();
        debug!(
            resource = labels.resource,
            operation = labels.operation,
            outcome = labels.outcome,
            elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
            "scim operation"
        );
        result
    }

    async fn serve<R: Resource>(
        &self,
        resource: &R,
        permit: &R::Permit,
        scope: &Scope<'_>,
        operation: ScimOperation,
        mut req: ScimRequest,
    ) -> Result<ScimResponse, Failure> {
        let if_none_match_header = req.if_none_match.take();
        let (op, view) = self.op(R::TYPE, operation, &mut req)?;
        let outcome = super::audit::run(self.audit, resource, permit, scope, operation, op).await?;
        let apply = |doc: Value| match &view {
            Some(v) => v.apply(R::TYPE, doc),
            None => doc,
        };
        Ok(match outcome {
            Outcome::Current(shown) => {
                if operation == ScimOperation::Get
                    && if_none_match(if_none_match_header.as_deref(), &shown.etag)
                {
                    return Ok(ScimResponse::not_modified(shown.etag));
                }
                ScimResponse::ok(apply(shown.body)).with_etag(shown.etag)
            }
            Outcome::Created(shown) => {
                let at = location(&scope.base_url, R::TYPE, &shown.id);
                ScimResponse::created(apply(shown.body), at).with_etag(shown.etag)
            }
            Outcome::Listed(page) => {
                let resources = page.resources.into_iter().map(apply).collect();
                ScimResponse::ok(ListResponse::new(page.total, page.start_index, resources))
            }
            Outcome::ListedEncoded(bytes) => ScimResponse::ok_encoded(bytes),
            Outcome::Done => ScimResponse::no_content(),
        })
    }

    /// The typed operation, and the projection the answer gets (`None`: shown as it is).
    fn op(
        &self,
        kind: ResourceType,
        operation: ScimOperation,
        req: &mut ScimRequest,
    ) -> Result<(Op, Option<Projection>), ScimError> {
        let max = self.max_results.max(1);
        let id = match &req.target {
            Target::Resource(id) => id.clone(),
            Target::Collection | Target::Search => String::new(),
        };
        let expected = req.if_match.take();
        Ok(match operation {
            ScimOperation::Get => {
                let view = projection(req)?;
                (Op::Get { id, view: view.clone() }, Some(view))
            }
            ScimOperation::List => {
                let pairs = req.query.iter().map(|(k, v)| (k.as_str(), v.as_str()));
                list(ListQuery::from_query_pairs(pairs, max)?)?
            }
            ScimOperation::Search => {
                let body = body(req, "a SearchRequest body is required")?;
                list(SearchRequest::parse(&body, max)?)?
            }
            ScimOperation::Create => {
                let view = write_view(kind, req)?;
                (Op::Create { body: body(req, "a JSON body is required")? }, view)
            }
            ScimOperation::Replace => {
                let view = projection(req)?;
                let body = body(req, "a JSON body is required")?;
                (Op::Replace { id, body, expected, view: view.clone() }, Some(view))
            }
            ScimOperation::Patch => {
                let view = write_view(kind, req)?;
                let patch = PatchRequest::parse(&body(req, "a JSON body is required")?)?;
                for shape in patch.legacy_shapes() {
                    self.metrics.normalised_shapes.get_or_create(&KindLabels { kind: shape.label() }).inc();
                }
                (Op::Patch { id, patch, expected, view: view.clone() }, view)
            }
            ScimOperation::Delete => (Op::Delete { id, expected }, None),
            ScimOperation::Deactivate => return Err(ScimError::method_not_allowed("not an endpoint")),
        })
    }
}

fn list(query: ListQuery) -> Result<(Op, Option<Projection>), ScimError> {
    let view = query.projection()?;
    Ok((Op::List { query, view: view.clone() }, Some(view)))
}

fn body(req: &mut ScimRequest, missing: &str) -> Result<Value, ScimError> {
    req.body.take().ok_or_else(|| ScimError::invalid_syntax(missing))
}

/// `attributes` / `excludedAttributes` of the request.
fn projection(req: &ScimRequest) -> Result<Projection, ScimError> {
    Projection::parse(req.query_param("attributes"), req.query_param("excludedAttributes"))
}

/// The projection a create or PATCH answers with: always for users; for groups only when the
/// client asked for one (`None`: a group PATCH answers 204, a group create shows the group whole).
fn write_view(kind: ResourceType, req: &ScimRequest) -> Result<Option<Projection>, ScimError> {
    match kind {
        ResourceType::User => projection(req).map(Some),
        ResourceType::Group => {
            if req.query_param("attributes").is_none() && req.query_param("excludedAttributes").is_none() {
                return Ok(None);
            }
            projection(req).map(Some)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: Method, target: Target, query: &[(&str, &str)]) -> ScimRequest {
        ScimRequest {
            method,
            target,
            query: query.iter().map(|(k, v)| ((*k).to_string(), (*v).to_string())).collect(),
            body: None,
            if_match: None,
            if_none_match: None,
        }
    }

    #[test]
    fn every_served_method_has_one_operation_label() {
        let id = || Target::Resource("x".into());
        assert_eq!(operation(&Method::GET, &Target::Collection), Some(ScimOperation::List));
        assert_eq!(operation(&Method::POST, &Target::Search), Some(ScimOperation::Search));
        assert_eq!(operation(&Method::POST, &Target::Collection), Some(ScimOperation::Create));
        assert_eq!(operation(&Method::GET, &id()), Some(ScimOperation::Get));
        assert_eq!(operation(&Method::PUT, &id()), Some(ScimOperation::Replace));
        assert_eq!(operation(&Method::PATCH, &id()), Some(ScimOperation::Patch));
        assert_eq!(operation(&Method::DELETE, &id()), Some(ScimOperation::Delete));
        assert_eq!(operation(&Method::DELETE, &Target::Collection), None);
    }

    #[test]
    fn writes_show_users_always_and_groups_only_when_a_projection_is_asked() {
        let plain = request(Method::PATCH, Target::Resource("x".into()), &[]);
        assert_eq!(write_view(ResourceType::User, &plain).unwrap(), Some(Projection::default()));
        assert_eq!(write_view(ResourceType::Group, &plain).unwrap(), None);
        let asked = request(Method::PATCH, Target::Resource("x".into()), &[("attributes", "displayName")]);
        assert!(write_view(ResourceType::Group, &asked).unwrap().is_some());
    }
}
