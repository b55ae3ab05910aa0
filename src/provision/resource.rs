//! [`Resource`]: what the SCIM edge's single dispatcher calls, implemented by [`Users`] and
//! [`Groups`].
//!
//! Each takes the policy permit its resource type needs (a capability: provisioning cannot be
//! called without it) and runs an [`Op`] to an [`Outcome`].

use std::future::Future;

use super::{Op, Outcome, ProvisionError, Scope};
use crate::policy::{GroupsPermit, UsersPermit};
use crate::scim::ResourceType;

/// A SCIM resource type provisioning serves.
pub trait Resource {
    /// The SCIM resource type.
    const TYPE: ResourceType;
    /// The permit the policy grants for it.
    type Permit;

    /// Runs `op` in `scope`.
    fn execute(
        &self,
        scope: &Scope<'_>,
        permit: &Self::Permit,
        op: Op,
    ) -> impl Future<Output = Result<Outcome, ProvisionError>> + Send;
}

/// SCIM Users ↔ Grafana users ([`super::users`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Users;

/// SCIM Groups ↔ Grafana teams ([`super::groups`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Groups;

impl Resource for Users {
    const TYPE: ResourceType = ResourceType::User;
    type Permit = UsersPermit;

    async fn execute(
        &self,
        scope: &Scope<'_>,
        _permit: &UsersPermit,
        op: Op,
    ) -> Result<Outcome, ProvisionError> {
        super::users::execute(scope, op).await
    }
}

impl Resource for Groups {
    const TYPE: ResourceType = ResourceType::Group;
    type Permit = GroupsPermit;

    async fn execute(
        &self,
        scope: &Scope<'_>,
        _permit: &GroupsPermit,
        op: Op,
    ) -> Result<Outcome, ProvisionError> {
        super::groups::execute(scope, op).await
    }
}
