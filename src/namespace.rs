//! SCIM namespaces and Grafana orgs: `default` (and `org-1`) is org 1, `org-<N>` is org N. The
//! one place that reads a namespace name and writes one, for the SCIM routes, the configuration
//! (`[scim.roles.namespaces]`, `[scim.entra] namespaces`), the commands' `--namespace`, metric
//! labels and audit records. Pure.

/// The org `ns` names: `default` → 1, `org-<N>` → N (decimal digits only, N ≥ 1); `None` for
/// anything else.
pub fn org_of(ns: &str) -> Option<i64> {
    if ns == "default" {
        return Some(1);
    }
    let digits =
        ns.strip_prefix("org-").filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))?;
    digits.parse::<i64>().ok().filter(|n| *n >= 1)
}

/// The namespace name of `org_id`: `default` for org 1, else `org-<N>`.
pub fn name_of(org_id: i64) -> String {
    if org_id == 1 {
        "default".into()
    } else {
        format!("org-{org_id}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_name_orgs() {
        assert_eq!(org_of("default"), Some(1));
        assert_eq!(org_of("org-1"), Some(1));
        assert_eq!(org_of("org-7"), Some(7));
        assert_eq!(org_of("org-12"), Some(12));
        assert_eq!(org_of("org-42"), Some(42));
        for bad in [
            "",
            "org-",
            "org-0",
            "org--1",
            "org-+2",
            "org-x",
            "Default",
            "stacks-1",
            "org-99999999999999999999",
        ] {
            assert_eq!(org_of(bad), None, "{bad:?}");
        }
        assert_eq!(name_of(1), "default");
        assert_eq!(name_of(12), "org-12");
        for n in [1, 2, 42] {
            assert_eq!(org_of(&name_of(n)), Some(n));
        }
    }
}
