//! Grafana version strings (`11.5.0-pre`, `12.0.0-12345pre`, `11.2.2+security-01`).

use std::fmt;

/// The leading `major.minor.patch` of a Grafana version; suffixes are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl Version {
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        Self { major, minor, patch }
    }

    /// Parses `[v]MAJOR.MINOR[.PATCH][suffix]`; `None` when no leading numbers are found.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let s = s.strip_prefix('v').unwrap_or(s);
        if s.len() > 128 {
            return None;
        }
        let mut parts = s.splitn(3, '.');
        let major = leading_number(parts.next()?)?;
        let minor = leading_number(parts.next()?)?;
        let patch = parts.next().and_then(leading_number).unwrap_or(0);
        Some(Self { major, minor, patch })
    }

    pub fn at_least(&self, major: u32, minor: u32) -> bool {
        (self.major, self.minor) >= (major, minor)
    }
}

fn leading_number(s: &str) -> Option<u32> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    s[..end].parse().ok()
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_release_and_suffixed_versions() {
        assert_eq!(Version::parse("11.3.0"), Some(Version::new(11, 3, 0)));
        assert_eq!(Version::parse("11.5.0-pre"), Some(Version::new(11, 5, 0)));
        assert_eq!(Version::parse("12.0.0-12345pre"), Some(Version::new(12, 0, 0)));
        assert_eq!(Version::parse("11.2.2+security-01"), Some(Version::new(11, 2, 2)));
        assert_eq!(Version::parse("v10.4"), Some(Version::new(10, 4, 0)));
        assert_eq!(Version::parse("main"), None);
        assert_eq!(Version::parse(""), None);
        assert_eq!(Version::parse("99999999999.1.1"), None);
        assert!(Version::new(11, 1, 0).at_least(11, 1));
        assert!(!Version::new(11, 0, 9).at_least(11, 1));
    }
}
