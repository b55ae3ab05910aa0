//! Resource types and the attribute definitions the sidecar declares (RFC 7643 §2, §4, §7).
//!
//! Only attributes Grafana can hold or the sidecar stores are declared; everything else is
//! ignored on input. Owns case-insensitive name resolution; must not know about HTTP or storage.

mod defs;

pub use defs::{ENTERPRISE_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};

/// Core User schema URN.
pub const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// Core Group schema URN.
pub const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// Enterprise User extension URN.
pub const ENTERPRISE_URN: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// ListResponse message URN.
pub const LIST_RESPONSE_URN: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// PatchOp message URN.
pub const PATCH_OP_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// SearchRequest message URN.
pub const SEARCH_REQUEST_URN: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
/// ServiceProviderConfig schema URN.
pub const SPC_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
/// ResourceType schema URN.
pub const RESOURCE_TYPE_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
/// Schema schema URN.
pub const SCHEMA_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// The two resource types the sidecar serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceType {
    User,
    Group,
}

impl ResourceType {
    /// `User` / `Group` (the ResourceType `id` and `name`, and `meta.resourceType`).
    pub fn name(self) -> &'static str {
        match self {
            ResourceType::User => "User",
            ResourceType::Group => "Group",
        }
    }
    /// `/Users` / `/Groups`.
    pub fn endpoint(self) -> &'static str {
        match self {
            ResourceType::User => "/Users",
            ResourceType::Group => "/Groups",
        }
    }
    pub fn core_urn(self) -> &'static str {
        self.core_schema().id
    }
    pub fn core_schema(self) -> &'static SchemaDef {
        match self {
            ResourceType::User => &USER_SCHEMA,
            ResourceType::Group => &GROUP_SCHEMA,
        }
    }
    /// Extension schemas allowed on this type.
    pub fn extensions(self) -> &'static [&'static SchemaDef] {
        static USER_EXTENSIONS: [&SchemaDef; 1] = [&ENTERPRISE_SCHEMA];
        match self {
            ResourceType::User => &USER_EXTENSIONS,
            ResourceType::Group => &[],
        }
    }
    /// Case-insensitive lookup by name (`user`, `Groups` are accepted).
    pub fn from_name(name: &str) -> Option<ResourceType> {
        [ResourceType::User, ResourceType::Group]
            .into_iter()
            .find(|rt| name.eq_ignore_ascii_case(rt.name()) || name.eq_ignore_ascii_case(&rt.endpoint()[1..]))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Binary,
    Reference,
    Complex,
}

impl AttrType {
    pub fn as_str(self) -> &'static str {
        match self {
            AttrType::String => "string",
            AttrType::Boolean => "boolean",
            AttrType::Decimal => "decimal",
            AttrType::Integer => "integer",
            AttrType::DateTime => "dateTime",
            AttrType::Binary => "binary",
            AttrType::Reference => "reference",
            AttrType::Complex => "complex",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

impl Mutability {
    pub fn as_str(self) -> &'static str {
        match self {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
            Mutability::WriteOnly => "writeOnly",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returned {
    Always,
    Never,
    Default,
    Request,
}

impl Returned {
    pub fn as_str(self) -> &'static str {
        match self {
            Returned::Always => "always",
            Returned::Never => "never",
            Returned::Default => "default",
            Returned::Request => "request",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uniqueness {
    None,
    Server,
    Global,
}

impl Uniqueness {
    pub fn as_str(self) -> &'static str {
        match self {
            Uniqueness::None => "none",
            Uniqueness::Server => "server",
            Uniqueness::Global => "global",
        }
    }
}

/// One attribute definition (RFC 7643 §7 characteristics).
#[derive(Debug, PartialEq)]
pub struct AttributeDef {
    pub name: &'static str,
    pub attr_type: AttrType,
    pub multi_valued: bool,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    pub uniqueness: Uniqueness,
    pub description: &'static str,
    pub sub_attributes: &'static [AttributeDef],
    pub canonical_values: &'static [&'static str],
    pub reference_types: &'static [&'static str],
}

impl AttributeDef {
    /// Case-insensitive sub-attribute lookup.
    pub fn sub(&self, name: &str) -> Option<&'static AttributeDef> {
        self.sub_attributes.iter().find(|a| a.name.eq_ignore_ascii_case(name))
    }
    pub fn is_read_only(&self) -> bool {
        self.mutability == Mutability::ReadOnly
    }
}

/// A schema: URN, name and attributes.
#[derive(Debug, PartialEq)]
pub struct SchemaDef {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub attributes: &'static [AttributeDef],
}

impl SchemaDef {
    /// Case-insensitive attribute lookup.
    pub fn attr(&self, name: &str) -> Option<&'static AttributeDef> {
        self.attributes.iter().find(|a| a.name.eq_ignore_ascii_case(name))
    }
}

/// All schemas the sidecar declares, in discovery order.
pub fn all_schemas() -> [&'static SchemaDef; 3] {
    [&USER_SCHEMA, &ENTERPRISE_SCHEMA, &GROUP_SCHEMA]
}

/// A resolved attribute reference.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Resolved {
    /// Schema the attribute belongs to (core or extension).
    pub schema: &'static SchemaDef,
    pub attr: &'static AttributeDef,
    pub sub: Option<&'static AttributeDef>,
}

impl Resolved {
    /// Whether the attribute lives under an extension URN key.
    pub fn is_extension(&self) -> bool {
        self.schema.id != USER_URN && self.schema.id != GROUP_URN
    }
    /// The leaf definition (sub-attribute when present).
    pub fn leaf(&self) -> &'static AttributeDef {
        self.sub.unwrap_or(self.attr)
    }
}

/// Outcome of resolving a name that may be URN-qualified.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Lookup {
    /// A declared attribute.
    Attr(Resolved),
    /// The extension container itself (a key equal to an extension URN).
    Extension(&'static SchemaDef),
    /// Not declared: ignore on input.
    Unknown,
}

/// Splits `urn:...:Schema:attr.sub` into (schema urn, `attr.sub`) when the prefix is one of the
/// declared schemas of `rt` (case-insensitively). Unknown URN prefixes yield `None`.
pub fn split_urn(rt: ResourceType, name: &str) -> Option<(&'static SchemaDef, &str)> {
    let schemas = std::iter::once(rt.core_schema()).chain(rt.extensions().iter().copied());
    for schema in schemas {
        let n = schema.id.len();
        if name.len() > n && name.is_char_boundary(n) && name[..n].eq_ignore_ascii_case(schema.id) {
            if let Some(rest) = name[n..].strip_prefix(':') {
                return Some((schema, rest));
            }
        }
    }
    None
}

/// Case-insensitive resolution of `[uri:]name[.sub]` against `rt`'s schemas.
///
/// An unqualified name is searched in the core schema first, then in extensions.
pub fn resolve_path(rt: ResourceType, uri: Option<&str>, name: &str, sub: Option<&str>) -> Lookup {
    let schema = match uri {
        Some(u) => {
            let found = std::iter::once(rt.core_schema())
                .chain(rt.extensions().iter().copied())
                .find(|s| s.id.eq_ignore_ascii_case(u));
            match found {
                Some(s) => Some(s),
                None => {
                    // `urn:...:enterprise:2.0:User` parses as uri `...:2.0` + name `User`.
                    let full = format!("{u}:{name}");
                    if sub.is_none() {
                        if let Some(ext) = rt.extensions().iter().find(|s| s.id.eq_ignore_ascii_case(&full)) {
                            return Lookup::Extension(ext);
                        }
                    }
                    return Lookup::Unknown;
                }
            }
        }
        None => None,
    };
    let candidates: Vec<&'static SchemaDef> = match schema {
        Some(s) => vec![s],
        None => std::iter::once(rt.core_schema()).chain(rt.extensions().iter().copied()).collect(),
    };
    for schema in candidates {
        if let Some(attr) = schema.attr(name) {
            let sub_def = match sub {
                Some(sn) => match attr.sub(sn) {
                    Some(d) => Some(d),
                    None => return Lookup::Unknown,
                },
                None => None,
            };
            return Lookup::Attr(Resolved { schema, attr, sub: sub_def });
        }
    }
    Lookup::Unknown
}

/// Resolves a JSON key or dotted path such as `name.givenName`, `UserName` or
/// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber`.
pub fn resolve_key(rt: ResourceType, key: &str) -> Lookup {
    if let Some(ext) = rt.extensions().iter().find(|s| s.id.eq_ignore_ascii_case(key)) {
        return Lookup::Extension(ext);
    }
    let (uri, rest) = match split_urn(rt, key) {
        Some((schema, rest)) => (Some(schema.id), rest),
        None if key.contains(':') => return Lookup::Unknown,
        None => (None, key),
    };
    let (name, sub) = match rest.split_once('.') {
        Some((n, s)) => (n, Some(s)),
        None => (rest, None),
    };
    resolve_path(rt, uri, name, sub)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_case_insensitively() {
        let Lookup::Attr(r) = resolve_key(ResourceType::User, "USERNAME") else { panic!() };
        assert_eq!(r.attr.name, "userName");
        let Lookup::Attr(r) = resolve_key(ResourceType::User, "name.GIVENNAME") else { panic!() };
        assert_eq!(r.leaf().name, "givenName");
        let key = "URN:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber";
        let Lookup::Attr(r) = resolve_key(ResourceType::User, key) else { panic!() };
        assert!(r.is_extension());
        assert_eq!(resolve_key(ResourceType::User, ENTERPRISE_URN), Lookup::Extension(&ENTERPRISE_SCHEMA));
        assert_eq!(resolve_key(ResourceType::Group, "userName"), Lookup::Unknown);
        assert_eq!(resolve_key(ResourceType::User, "urn:x:y:roles"), Lookup::Unknown);
        let Lookup::Attr(r) = resolve_key(ResourceType::User, "manager.value") else { panic!() };
        assert!(r.is_extension());
    }

    #[test]
    fn user_schema_declares_exactly_the_supported_attributes() {
        let names: Vec<_> = USER_SCHEMA.attributes.iter().map(|a| a.name).collect();
        assert_eq!(names.len(), 18);
        for multi in ["emails", "phoneNumbers", "addresses", "roles"] {
            let attr = USER_SCHEMA.attr(multi).unwrap();
            assert!(attr.multi_valued);
            assert_eq!(attr.sub("PRIMARY").map(|p| p.attr_type), Some(AttrType::Boolean), "{multi}");
        }
        assert!(!names.contains(&""));
        assert_eq!(ResourceType::from_name("users"), Some(ResourceType::User));
    }
}
