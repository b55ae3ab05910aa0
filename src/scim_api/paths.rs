//! [`ScimPaths`]: where SCIM is served (directly, or under Grafana's sub-path) and how Grafana's
//! router resolves a request path, which guards and the login gate decide on.

/// Path state of the SCIM edge, from Grafana's URL.
#[derive(Debug, Clone)]
pub struct ScimPaths {
    /// Grafana's sub-path (`serve_from_sub_path`), e.g. `/grafana`, or empty. SCIM is also served
    /// under it, so IdP URLs built from Grafana's public URL keep working.
    sub_path: String,
    /// [`Self::sub_path`] percent-decoded, as Grafana trims it ([`crate::route_path`]).
    decoded_sub_path: String,
}

impl ScimPaths {
    pub fn new(grafana_url: &str) -> Self {
        let sub_path = url::Url::parse(grafana_url)
            .map(|u| u.path().trim_end_matches('/').to_string())
            .unwrap_or_default();
        let decoded_sub_path = crate::route_path::route_path(&sub_path, "").into_owned();
        Self { sub_path, decoded_sub_path }
    }

    /// The request path `raw` as Grafana's router resolves it: percent-decoded, without Grafana's
    /// sub-path ([`crate::route_path`]). Guards and the login gate decide on this.
    pub fn route_path<'a>(&self, raw: &'a str) -> std::borrow::Cow<'a, str> {
        crate::route_path::route_path(raw, &self.decoded_sub_path)
    }

    /// Whether the request path `raw` reaches the Grafana route `route` (a path as configured,
    /// e.g. the SAML ACS path, with or without Grafana's sub-path).
    pub fn reaches(&self, raw: &str, route: &str) -> bool {
        crate::route_path::same_route(&self.route_path(raw), &self.route_path(route))
    }

    /// The path relative to the SCIM-serving root when `path` is a SCIM path (directly, or under
    /// Grafana's sub-path), with the prefix that was stripped.
    pub fn scim_path<'a>(&self, path: &'a str) -> Option<(&'a str, &'a str)> {
        if super::route::is_scim_path(path) {
            return Some(("", path));
        }
        if self.sub_path.is_empty() {
            return None;
        }
        let rest = path.strip_prefix(self.sub_path.as_str())?;
        super::route::is_scim_path(rest).then(|| (&path[..self.sub_path.len()], rest))
    }
}
