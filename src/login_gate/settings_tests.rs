use super::*;
use crate::policy::Verdict;

const GRAFANA: &str = "http://grafana:3000/";

fn grafana_state() -> SamlState {
    SamlState {
        verdict: Verdict::Satisfied,
        source: SamlSource::SsoSettings,
        external_uid_attribute: "objectId".into(),
        login_attribute: Some("login".into()),
        email_attribute: Some("email".into()),
        allow_sign_up: Some(false),
        groups_attribute: None,
        acs_url: Some("https://grafana.example.com/saml/acs".into()),
        external_uid_attribute_named: true,
        sp_entity_id: Some("https://grafana.example.com/saml/metadata".into()),
        idp_metadata: Some(IdpMetadataSetting::Url {
            setting: "sso_settings.idpMetadataUrl",
            url: "https://idp.example.com/md".into(),
        }),
        idp_metadata_path: None,
        role_sync: Default::default(),
    }
}

fn sourced(value: &str, origin: Origin) -> Sourced {
    Sourced { value: value.into(), origin }
}

fn gate() -> SamlGateConfig {
    SamlGateConfig { enabled: true, ..SamlGateConfig::default() }
}

#[test]
fn grafana_fills_every_unset_value() {
    let s = resolve(&gate(), GRAFANA, Some(&grafana_state()));
    assert_eq!(s.attributes.external_uid, sourced("objectId", Origin::Grafana));
    assert_eq!(s.attributes.login, sourced("login", Origin::Grafana));
    assert_eq!(s.attributes.email, sourced("email", Origin::Grafana));
    assert_eq!(s.audience, sourced("https://grafana.example.com/saml/metadata", Origin::Grafana));
    assert_eq!(s.acs_url, sourced("https://grafana.example.com/saml/acs", Origin::Grafana));
    assert!(matches!(s.idp_metadata, IdpPlan::Grafana(IdpMetadataSetting::Url { .. })));
    assert!(!s.grafana_unreadable);
}

#[test]
fn configured_values_win_over_grafana() {
    let cfg = SamlGateConfig {
        external_uid_attribute: Some("uid".into()),
        login_attribute: Some("user".into()),
        email_attribute: Some("mailAddress".into()),
        audience: Some("https://sso.example.com/saml/metadata".into()),
        idp_metadata_xml: Some("<x/>".into()),
        ..gate()
    };
    let s = resolve(&cfg, GRAFANA, Some(&grafana_state()));
    assert_eq!(s.attributes.external_uid, sourced("uid", Origin::Config));
    assert_eq!(s.attributes.login, sourced("user", Origin::Config));
    assert_eq!(s.attributes.email, sourced("mailAddress", Origin::Config));
    assert_eq!(s.audience, sourced("https://sso.example.com/saml/metadata", Origin::Config));
    assert_eq!(s.acs_url, sourced("https://sso.example.com/saml/acs", Origin::Config));
    assert_eq!(s.idp_metadata, IdpPlan::ConfigXml);
    // Nothing needed Grafana, so an unreadable Grafana does not matter.
    assert!(!needs_grafana(&cfg));
    assert!(!resolve(&cfg, GRAFANA, None).grafana_unreadable);
}

#[test]
fn defaults_when_grafana_names_nothing() {
    let state = SamlState {
        external_uid_attribute: "userUID".into(),
        external_uid_attribute_named: false,
        login_attribute: None,
        email_attribute: None,
        acs_url: None,
        sp_entity_id: None,
        idp_metadata: None,
        source: SamlSource::FrontendSettings,
        ..grafana_state()
    };
    let s = resolve(&gate(), GRAFANA, Some(&state));
    assert_eq!(s.attributes.external_uid, sourced("userUID", Origin::Default));
    assert_eq!(s.attributes.login, sourced("mail", Origin::Default));
    assert_eq!(s.attributes.email, sourced("mail", Origin::Default));
    assert_eq!(s.audience, sourced("http://grafana:3000/saml/metadata", Origin::Default));
    assert_eq!(s.acs_url, sourced("http://grafana:3000/saml/acs", Origin::Default));
    assert_eq!(s.idp_metadata, IdpPlan::None);
    assert!(!s.grafana_unreadable, "grafana answered, it just names nothing");
}

#[test]
fn unreadable_grafana_is_flagged_when_something_depends_on_it() {
    let state = SamlState { source: SamlSource::None, ..grafana_state() };
    assert!(resolve(&gate(), GRAFANA, Some(&state)).grafana_unreadable);
    assert!(resolve(&gate(), GRAFANA, None).grafana_unreadable);
}

#[test]
fn a_configured_audience_keeps_its_own_acs_even_when_grafana_knows_one() {
    let cfg = SamlGateConfig { audience: Some("urn:example:sp".into()), ..gate() };
    let s = resolve(&cfg, GRAFANA, Some(&grafana_state()));
    assert_eq!(s.audience, sourced("urn:example:sp", Origin::Config));
    assert_eq!(s.acs_url, sourced("http://grafana:3000/saml/acs", Origin::Config));
}

#[test]
fn blank_configured_values_do_not_count() {
    let cfg = SamlGateConfig { login_attribute: Some("  ".into()), ..gate() };
    assert_eq!(resolve(&cfg, GRAFANA, Some(&grafana_state())).attributes.login.origin, Origin::Grafana);
}

#[test]
fn report_warns_without_idp_metadata_or_audience_and_renders_sources() {
    let state = SamlState { sp_entity_id: None, acs_url: None, idp_metadata: None, ..grafana_state() };
    let r = GateReport::new(&gate(), GRAFANA, &state);
    assert_eq!(r.warnings.len(), 2, "{:?}", r.warnings);
    let text = r.human();
    assert!(text.contains("external uid attribute: objectId (from grafana)"), "{text}");
    assert!(text.contains("audience: http://grafana:3000/saml/metadata (from default)"), "{text}");
    assert!(text.contains("idp metadata: none"), "{text}");
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["attributes"]["login"]["origin"], "grafana");
    assert_eq!(json["idp_metadata"]["source"], "none");

    let ok = GateReport::new(&gate(), GRAFANA, &grafana_state());
    assert!(ok.warnings.is_empty(), "{:?}", ok.warnings);
    let json = serde_json::to_value(&ok).unwrap();
    assert_eq!(json["idp_metadata"]["setting"], "sso_settings.idpMetadataUrl");

    let disabled = SamlGateConfig { enabled: false, ..SamlGateConfig::default() };
    let off = GateReport::new(&disabled, GRAFANA, &state);
    assert!(off.warnings.is_empty() && off.human().contains("disabled"));
    // Off while SCIM is configured: the report says so.
    let off = GateReport::new(&disabled, GRAFANA, &state).with_scim_active(true);
    assert_eq!(off.warnings, vec![super::GATE_OFF_WARNING.to_string()]);
    assert!(off.human().contains("enabled = false while SCIM is configured"), "{}", off.human());
}

#[test]
fn unusable_inline_metadata_from_grafana_is_a_warning() {
    let state = SamlState {
        idp_metadata: Some(IdpMetadataSetting::Xml {
            setting: "sso_settings.idpMetadata",
            xml: "junk".into(),
        }),
        ..grafana_state()
    };
    let r = GateReport::new(&gate(), GRAFANA, &state);
    assert!(r.warnings.iter().any(|w| w.contains("unusable")), "{:?}", r.warnings);
}
