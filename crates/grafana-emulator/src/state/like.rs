//! SQL `LIKE '%q%'` matching, case-insensitive, with `%` and `_` left as wildcards the way
//! Grafana's unescaped search query leaves them (§13.7). Must not allocate per candidate beyond
//! one lowercase copy.

/// A compiled `%query%` pattern.
pub struct LikePattern {
    lower: Vec<char>,
    wild: bool,
    plain: String,
}

impl LikePattern {
    /// Pattern matching values that contain `query` (with SQL wildcards inside it).
    pub fn contains(query: &str) -> Self {
        let plain = query.to_lowercase();
        LikePattern { wild: plain.contains(['%', '_']), lower: plain.chars().collect(), plain }
    }

    /// True when `value` matches.
    pub fn matches(&self, value: &str) -> bool {
        if self.plain.is_empty() {
            return true;
        }
        let v = value.to_lowercase();
        if !self.wild {
            return v.contains(&self.plain);
        }
        let chars: Vec<char> = v.chars().collect();
        (0..=chars.len()).any(|start| match_at(&self.lower, &chars[start..]))
    }
}

// Matches `pat` as a prefix of `s` (the trailing `%` of `%q%` makes any suffix acceptable).
fn match_at(pat: &[char], s: &[char]) -> bool {
    match pat.split_first() {
        None => true,
        Some(('%', rest)) => (0..=s.len()).any(|i| match_at(rest, &s[i..])),
        Some(('_', rest)) => !s.is_empty() && match_at(rest, &s[1..]),
        Some((c, rest)) => s.first() == Some(c) && match_at(rest, &s[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_wildcards() {
        assert!(LikePattern::contains("Doe").matches("john.doe@x"));
        assert!(!LikePattern::contains("doe").matches("jane"));
        assert!(LikePattern::contains("j_ne").matches("JANE"));
        assert!(LikePattern::contains("a%z").matches("abcz"));
        assert!(LikePattern::contains("").matches("anything"));
    }
}
