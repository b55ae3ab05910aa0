//! Users created in shadow mode (`[scim] mode = "shadow"`): records whose Grafana id is a
//! placeholder (`grafana::shadow`), which Grafana's org listing cannot show.
//!
//! Listings add them after Grafana's org users and the detached users, from the store alone.
//! Only a shadowing sidecar looks for them (one pass over the org's managed records per listing,
//! a cost a rehearsal accepts); after the switch to enforce, `reconcile --apply` creates them.

use crate::grafana::shadow::is_placeholder;
use crate::provision::{store_error, ProvisionError, Scope};
use crate::store::{name_key, UserRecord};

/// Store rows read per page.
const PAGE: i64 = 500;

/// The org's live users that exist only in the store, by userName ignoring case, then SCIM id;
/// none unless the sidecar is in shadow mode.
pub async fn placeholders(ctx: &Scope<'_>) -> Result<Vec<UserRecord>, ProvisionError> {
    if !ctx.prov.grafana.is_shadow() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    let mut after = String::new();
    loop {
        let page =
            ctx.prov.store.managed_users_page(ctx.org_id, &after, PAGE).await.map_err(|e| store_error(&e))?;
        let Some(last) = page.last() else { break };
        after = last.scim_id.clone();
        let full = page.len() as i64 >= PAGE;
        out.extend(page.into_iter().filter(|r| is_placeholder(r.grafana_user_id) && !r.deleted));
        if !full {
            break;
        }
    }
    out.sort_by(|a, b| name_key(&a.user_name).cmp(&name_key(&b.user_name)).then(a.scim_id.cmp(&b.scim_id)));
    Ok(out)
}
