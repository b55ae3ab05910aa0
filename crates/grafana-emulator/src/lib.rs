//! An in-memory emulator of the Grafana HTTP API subset scim-sidecar calls, faithful to the
//! paths, JSON keys, status codes and error bodies of `grafana-api.md` (§13 overrides earlier
//! sections). It owns the emulated Grafana; it must not grow UI, dashboards or datasources.
//!
//! Two uses: in-process (`Emulator::start` binds 127.0.0.1:0 and returns an [`EmulatorHandle`]
//! with typed set-up/read-back hooks, fault injection and a call log), and as the example
//! program `cargo run --example grafana-emulator`.
//!
//! # Fidelity decisions (where the reference is unsure)
//!
//! - Profiles: `V10` = 10.4.3, `V11` = 11.6.1, `V12` = 12.3.0. `V11` already has everything
//!   from ≤ 11.4 (user uid fields and uid paths, create-response uids, bulk members).
//! - Login/email are stored lowercased only on `V12` (§10 row); `V10`/`V11` keep the case sent and
//!   match case-insensitively. `V10` trims login/email on create.
//! - `PUT /api/users/:id` for an unknown id: `V10` 200 "User updated" (changes nothing), `V11`
//!   500 "Failed to update user", `V12` 404 "user not found". A body with neither login nor email
//!   is a 400 (Grafana copies email into an empty login, then validates).
//! - `V10` admin routes answer a non-server-admin with 403 `{"message":"Permission denied"}`
//!   (`reqGrafanaAdmin`); `V11`/`V12` answer with the RBAC body. `PUT …/permissions` always
//!   uses the legacy body. Service accounts never pass server-admin routes.
//! - RBAC is modelled coarsely: org `Admin` holds every org action (`org.users:*`, `teams:*`,
//!   `teams.permissions:*`, `orgs:read`); `Editor`/`Viewer` hold only `teams:read`; server admins
//!   additionally hold the global actions and `org.users:*` in every org. Service-account tokens
//!   may carry explicit `(action, scope)` grants instead of role-derived ones.
//! - `GET /api/access-control/user/permissions` answers `{action: [scopes]}`; unscoped actions
//!   list `""` as their scope (Grafana groups raw permission rows by action).
//! - The last-admin guard (§13.3) also fires for orgs that never had an admin; removing a user
//!   from an org removes their team memberships in that org (§13.2).
//! - Team delete of an unknown team: `V10`/`V11` 404 "Failed to delete Team. ID not found",
//!   `V12` 404 "Team not found" with `traceID`.
//! - The SSO settings API is absent on `V10` (it was behind a toggle in 10.4): 404 `Not found`.
//! - Team sync routes exist only on Enterprise with the `teamsync` licence; otherwise they are
//!   unregistered (404 `Not found`). Duplicate group: 400 "Group is already added to this
//!   team"; unknown group: 404 "Group not found" (Enterprise bodies are not public).
//! - `/saml/metadata` and `/saml/acs` answer only while SAML is active (Enterprise, licensed,
//!   enabled in ini or through the SSO settings API); otherwise the HTML 404 page. ACS trusts the
//!   assertion's `NameID` (no signature check), writes the `auth.saml` external link on the
//!   user's first SAML login like Grafana does, and redirects to `/` with a session cookie.
//! - Of the Kubernetes-style identity API (`/apis/iam.grafana.app/v0alpha1/namespaces/:ns/…`,
//!   not in `grafana-api.md`; shaped after Grafana's `pkg/registry/apis/iam`) only
//!   `GET teambindings/:name` exists, on `V12`, for the caller's own org's namespace (`default` or
//!   `org-<N>`). Binding names are `tm-<teamId>-<userId>`; Grafana's are generated UIDs.
//! - Avatar URLs use a stable 32-hex stand-in hash, not the md5 of the email.
//! - Unknown routes answer before authentication (Grafana registers auth per route).

#![forbid(unsafe_code)]

mod auth;
mod calls;
mod dto;
mod faults;
mod handle;
mod options;
pub mod profile;
mod reply;
mod request;
mod routes;
mod server;
pub mod state;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio::sync::watch;

pub use calls::CallRecord;
pub use handle::EmulatorHandle;
pub use options::EmulatorOptions;
pub use profile::{Edition, VersionProfile};
pub use state::orgs::Role;
pub use state::teams::{Team, ADMIN as TEAM_ADMIN, MEMBER as TEAM_MEMBER};
pub use state::users::User;
pub use state::{CreateUserError, RecordedRequest, RemoveOutcome};

/// Entry point.
pub struct Emulator;

impl Emulator {
    /// Starts on 127.0.0.1 with an ephemeral port.
    pub async fn start(opts: EmulatorOptions) -> std::io::Result<EmulatorHandle> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), opts).await
    }

    /// Starts on a given address.
    pub async fn start_on(addr: SocketAddr, opts: EmulatorOptions) -> std::io::Result<EmulatorHandle> {
        let listener = TcpListener::bind(addr).await?;
        let bound = listener.local_addr()?;
        let root = match &opts.root_url {
            Some(r) if r.ends_with('/') => r.clone(),
            Some(r) => format!("{r}/"),
            None => format!("http://{bound}/"),
        };
        let shared = Arc::new(Mutex::new(state::State::new(opts, root)));
        let (tx, rx) = watch::channel(false);
        let task = tokio::spawn(server::serve(listener, shared.clone(), rx));
        Ok(EmulatorHandle::new(bound, shared, tx, task))
    }
}
