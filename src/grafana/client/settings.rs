//! Instance-level calls: health, settings, SSO settings, SAML metadata, and the token
//! validation helper that calls Grafana with the token being checked instead of basic auth.

use http::header::CONTENT_TYPE;
use http::StatusCode;

use super::{Auth, Call, GrafanaClient};
use crate::grafana::model::{
    AdminSettings, FrontendSettings, Health, Org, Permissions, SsoSettings, TokenIdentity,
};
use crate::grafana::GrafanaError;

impl GrafanaClient {
    /// `GET /api/health` (no credential sent). A 503 whose body parses is returned as a
    /// [`Health`] with `database: "failing"`.
    pub async fn health(&self) -> Result<Health, GrafanaError> {
        let answer = self.exchange(Call::get("/api/health".into()).auth(Auth::Anonymous)).await?;
        match answer.status {
            s if s.is_success() => answer.decode(),
            StatusCode::SERVICE_UNAVAILABLE => answer.decode::<Health>().map_err(|_| answer.into_error()),
            _ => Err(answer.into_error()),
        }
    }

    /// `GET /api/frontend/settings`.
    pub async fn frontend_settings(&self) -> Result<FrontendSettings, GrafanaError> {
        self.send_json(Call::get("/api/frontend/settings".into())).await
    }

    /// `GET /api/admin/settings`.
    pub async fn admin_settings(&self) -> Result<AdminSettings, GrafanaError> {
        self.send_json(Call::get("/api/admin/settings".into())).await
    }

    /// `GET /api/v1/sso-settings/:provider`.
    ///
    /// # Errors
    /// `is_not_found()` (`sso.notFound`) when the provider is not configurable, e.g. SAML on OSS.
    pub async fn sso_settings(&self, provider: &str) -> Result<SsoSettings, GrafanaError> {
        self.send_json(Call::get(format!("/api/v1/sso-settings/{}", super::seg(provider)))).await
    }

    /// `GET /api/v1/sso-settings`.
    pub async fn sso_settings_list(&self) -> Result<Vec<SsoSettings>, GrafanaError> {
        self.send_json(Call::get("/api/v1/sso-settings".into())).await
    }

    /// `GET /saml/metadata`: the SP metadata XML when Grafana answers 200 with XML, else `None`.
    ///
    /// # Errors
    /// Only transport failures and timeouts.
    pub async fn saml_metadata(&self) -> Result<Option<String>, GrafanaError> {
        let answer = self.exchange(Call::get("/saml/metadata".into()).auth(Auth::Anonymous)).await?;
        if answer.status != StatusCode::OK {
            return Ok(None);
        }
        let xml_type = answer
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().contains("xml"));
        let text = String::from_utf8_lossy(&answer.body);
        if xml_type && text.contains("EntityDescriptor") {
            return Ok(Some(text.into_owned()));
        }
        Ok(None)
    }

    /// Who `token` is: `GET /api/user`, `GET /api/org` and
    /// `GET /api/access-control/user/permissions`, each sent with `Authorization: Bearer <token>`.
    ///
    /// # Errors
    /// `is_unauthorized()` when Grafana rejects the token (invalid, expired, revoked).
    pub async fn token_identity(&self, token: &str) -> Result<TokenIdentity, GrafanaError> {
        let org: Org = self.send_json(Call::get("/api/org".into()).auth(Auth::Bearer(token))).await?;
        let permissions: Permissions = self
            .send_json(Call::get("/api/access-control/user/permissions".into()).auth(Auth::Bearer(token)))
            .await?;
        let user = match self.send_json(Call::get("/api/user".into()).auth(Auth::Bearer(token))).await {
            Ok(user) => Some(user),
            Err(e) if e.is_not_found() || e.is_forbidden() => None,
            Err(e) => return Err(e),
        };
        Ok(TokenIdentity { user, org, permissions })
    }
}
