//! The attribute tables the sidecar declares (RFC 7643 §4, §8.7.1, trimmed to what Grafana or the
//! store can hold). Discovery and canonicalisation are both generated from these, so they agree.

use super::{
    AttrType, AttributeDef, Mutability, Returned, SchemaDef, Uniqueness, ENTERPRISE_URN, GROUP_URN, USER_URN,
};

const fn base(name: &'static str, t: AttrType, description: &'static str) -> AttributeDef {
    AttributeDef {
        name,
        attr_type: t,
        multi_valued: false,
        required: false,
        case_exact: false,
        mutability: Mutability::ReadWrite,
        returned: Returned::Default,
        uniqueness: Uniqueness::None,
        description,
        sub_attributes: &[],
        canonical_values: &[],
        reference_types: &[],
    }
}

const fn s(name: &'static str, description: &'static str) -> AttributeDef {
    base(name, AttrType::String, description)
}

const ID: AttributeDef = AttributeDef {
    case_exact: true,
    mutability: Mutability::ReadOnly,
    returned: Returned::Always,
    uniqueness: Uniqueness::Server,
    ..s("id", "Unique, stable identifier assigned by the service provider.")
};
const EXTERNAL_ID: AttributeDef =
    AttributeDef { case_exact: true, ..s("externalId", "Identifier assigned by the provisioning client.") };
const META_SUBS: [AttributeDef; 5] = [
    AttributeDef {
        case_exact: true,
        mutability: Mutability::ReadOnly,
        ..s("resourceType", "Resource type name.")
    },
    AttributeDef {
        mutability: Mutability::ReadOnly,
        ..base("created", AttrType::DateTime, "Creation time.")
    },
    AttributeDef {
        mutability: Mutability::ReadOnly,
        ..base("lastModified", AttrType::DateTime, "Last modification time.")
    },
    AttributeDef {
        case_exact: true,
        mutability: Mutability::ReadOnly,
        reference_types: &["uri"],
        ..base("location", AttrType::Reference, "URI of the resource.")
    },
    AttributeDef {
        case_exact: true,
        mutability: Mutability::ReadOnly,
        ..s("version", "Weak entity tag of the resource.")
    },
];
const META: AttributeDef = AttributeDef {
    mutability: Mutability::ReadOnly,
    sub_attributes: &META_SUBS,
    ..base("meta", AttrType::Complex, "Resource metadata.")
};

const NAME_SUBS: [AttributeDef; 6] = [
    s("formatted", "Full name, formatted for display."),
    s("familyName", "Family name."),
    s("givenName", "Given name."),
    s("middleName", "Middle name."),
    s("honorificPrefix", "Honorific prefix."),
    s("honorificSuffix", "Honorific suffix."),
];
const EMAIL_SUBS: [AttributeDef; 4] = [
    s("value", "Email address."),
    s("display", "Display value."),
    AttributeDef { canonical_values: &["work", "home", "other"], ..s("type", "Label: work, home or other.") },
    base("primary", AttrType::Boolean, "Whether this is the primary email."),
];

const PHONE_SUBS: [AttributeDef; 4] = [
    s("value", "Phone number."),
    s("display", "Display value."),
    AttributeDef {
        canonical_values: &["work", "home", "mobile", "fax", "pager", "other"],
        ..s("type", "Label: work, home, mobile, fax, pager or other.")
    },
    base("primary", AttrType::Boolean, "Whether this is the primary phone number."),
];
const ADDRESS_SUBS: [AttributeDef; 8] = [
    s("formatted", "Full mailing address, formatted for display."),
    s("streetAddress", "Street address."),
    s("locality", "City or locality."),
    s("region", "State or region."),
    s("postalCode", "Postal code."),
    s("country", "Country."),
    AttributeDef { canonical_values: &["work", "home", "other"], ..s("type", "Label: work, home or other.") },
    base("primary", AttrType::Boolean, "Whether this is the primary address."),
];
/// Stored and returned as sent; `value` maps to a Grafana org role with `[scim.roles]` on. Entra
/// also sends `displayName` (create) and `id` (PATCH): kept so they round-trip.
const ROLE_SUBS: [AttributeDef; 6] = [
    s("value", "Role value."),
    s("display", "Display value."),
    s("type", "Label of the role."),
    base("primary", AttrType::Boolean, "Whether this is the primary role."),
    s("displayName", "Display name (as Entra sends it)."),
    s("id", "Identifier of the role assignment (as Entra sends it)."),
];

static USER_ATTRS: [AttributeDef; 18] = [
    ID,
    EXTERNAL_ID,
    AttributeDef { required: true, uniqueness: Uniqueness::Server, ..s("userName", "Unique login name.") },
    AttributeDef {
        sub_attributes: &NAME_SUBS,
        ..base("name", AttrType::Complex, "Components of the user's name.")
    },
    s("displayName", "Name displayed to end users."),
    s("nickName", "Casual name."),
    s("title", "Job title."),
    s("userType", "Relationship to the organisation."),
    s("preferredLanguage", "Preferred language."),
    s("locale", "Default location for localisation."),
    s("timezone", "Time zone (IANA name)."),
    base("active", AttrType::Boolean, "Administrative status."),
    AttributeDef {
        case_exact: true,
        mutability: Mutability::WriteOnly,
        returned: Returned::Never,
        ..s("password", "Cleartext password, write only.")
    },
    AttributeDef {
        multi_valued: true,
        sub_attributes: &EMAIL_SUBS,
        ..base("emails", AttrType::Complex, "Email addresses.")
    },
    AttributeDef {
        multi_valued: true,
        sub_attributes: &PHONE_SUBS,
        ..base("phoneNumbers", AttrType::Complex, "Phone numbers (stored, not sent to Grafana).")
    },
    AttributeDef {
        multi_valued: true,
        sub_attributes: &ADDRESS_SUBS,
        ..base("addresses", AttrType::Complex, "Physical mailing addresses (stored, not sent to Grafana).")
    },
    AttributeDef {
        multi_valued: true,
        sub_attributes: &ROLE_SUBS,
        ..base(
            "roles",
            AttrType::Complex,
            "Roles (stored and returned; mapped to Grafana org roles when [scim.roles] is on).",
        )
    },
    META,
];

const MEMBER_SUBS: [AttributeDef; 4] = [
    AttributeDef { case_exact: true, mutability: Mutability::Immutable, ..s("value", "Member id.") },
    AttributeDef {
        case_exact: true,
        mutability: Mutability::Immutable,
        reference_types: &["User", "Group"],
        ..base("$ref", AttrType::Reference, "URI of the member.")
    },
    AttributeDef { mutability: Mutability::ReadOnly, ..s("display", "Member display name.") },
    AttributeDef {
        mutability: Mutability::Immutable,
        canonical_values: &["User", "Group"],
        ..s("type", "Member resource type.")
    },
];

static GROUP_ATTRS: [AttributeDef; 5] = [
    ID,
    EXTERNAL_ID,
    AttributeDef { required: true, ..s("displayName", "Human-readable group name.") },
    AttributeDef {
        multi_valued: true,
        sub_attributes: &MEMBER_SUBS,
        ..base("members", AttrType::Complex, "Members of the group.")
    },
    META,
];

const MANAGER_SUBS: [AttributeDef; 3] = [
    AttributeDef { case_exact: true, ..s("value", "Manager's user id.") },
    AttributeDef {
        case_exact: true,
        reference_types: &["User"],
        ..base("$ref", AttrType::Reference, "URI of the manager.")
    },
    AttributeDef { mutability: Mutability::ReadOnly, ..s("displayName", "Manager's display name.") },
];

static ENTERPRISE_ATTRS: [AttributeDef; 6] = [
    s("employeeNumber", "Employee number."),
    s("costCenter", "Cost center."),
    s("organization", "Organisation."),
    s("division", "Division."),
    s("department", "Department."),
    AttributeDef {
        sub_attributes: &MANAGER_SUBS,
        ..base("manager", AttrType::Complex, "The user's manager.")
    },
];

pub static USER_SCHEMA: SchemaDef =
    SchemaDef { id: USER_URN, name: "User", description: "User account", attributes: &USER_ATTRS };
pub static GROUP_SCHEMA: SchemaDef =
    SchemaDef { id: GROUP_URN, name: "Group", description: "Group", attributes: &GROUP_ATTRS };
pub static ENTERPRISE_SCHEMA: SchemaDef = SchemaDef {
    id: ENTERPRISE_URN,
    name: "EnterpriseUser",
    description: "Enterprise User",
    attributes: &ENTERPRISE_ATTRS,
};
