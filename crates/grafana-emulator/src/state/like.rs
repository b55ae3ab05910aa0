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
        like_match(&self.lower, &chars)
    }
}

// `%pat%` against `s` by dynamic programming: O(|pat|·|s|), so adversarial patterns such as
// `%a%a%a…` cannot blow up the way naive backtracking would.
fn like_match(pat: &[char], s: &[char]) -> bool {
    // row[j]: the pattern prefix processed so far matches s[..j]; the leading `%` makes every j valid
    let mut row = vec![true; s.len() + 1];
    for &p in pat {
        let mut next = vec![false; s.len() + 1];
        match p {
            '%' => {
                let mut any = false;
                for j in 0..=s.len() {
                    any |= row[j];
                    next[j] = any;
                }
            }
            _ => {
                for j in 1..=s.len() {
                    next[j] = row[j - 1] && (p == '_' || s[j - 1] == p);
                }
            }
        }
        row = next;
    }
    // the trailing `%` accepts any suffix
    row.iter().any(|m| *m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adversarial_pattern_stays_cheap() {
        let q = "%a".repeat(50);
        let v = "a".repeat(49) + "b";
        assert!(!LikePattern::contains(&q).matches(&v));
        assert!(LikePattern::contains(&q).matches(&"a".repeat(60)));
    }

    #[test]
    fn plain_and_wildcards() {
        assert!(LikePattern::contains("Doe").matches("john.doe@x"));
        assert!(!LikePattern::contains("doe").matches("jane"));
        assert!(LikePattern::contains("j_ne").matches("JANE"));
        assert!(LikePattern::contains("a%z").matches("abcz"));
        assert!(LikePattern::contains("").matches("anything"));
    }
}
