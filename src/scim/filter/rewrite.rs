//! Lenient rewrites applied only when a filter fails to parse: the non-RFC
//! `attr[filter].sub op value` form becomes `attr[(filter) and sub op value]`, and `not(` (valid
//! per the RFC 7644 ABNF, which puts no space after `not`) becomes `not (` for the grammar we use.
//!
//! Lexical passes (strings are skipped) so that brackets, dots or `not(` inside string literals
//! are never mistaken for structure. Return `None` when there is nothing to rewrite.

/// Applies every rewrite; `None` when the input is unchanged.
pub(super) fn lenient(input: &str) -> Option<String> {
    let spaced = not_paren(input);
    let base = spaced.as_deref().unwrap_or(input);
    value_path_sub(base).or(spaced)
}

/// `not(` → `not (` outside string literals.
fn not_paren(input: &str) -> Option<String> {
    let b = input.as_bytes();
    let mut out = String::with_capacity(input.len() + 4);
    let mut last = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'"' {
            i = skip_string(b, i).unwrap_or(b.len());
            continue;
        }
        let boundary = i == 0 || matches!(b[i - 1], b' ' | b'\t' | b'(' | b'[');
        if boundary && b.len() >= i + 4 && b[i..i + 3].eq_ignore_ascii_case(b"not") && b[i + 3] == b'(' {
            out.push_str(&input[last..i + 3]);
            out.push(' ');
            last = i + 3;
            i += 4;
            continue;
        }
        i += 1;
    }
    if last == 0 {
        return None;
    }
    out.push_str(&input[last..]);
    Some(out)
}

const MAX_REWRITES: usize = 16;
const OPS: [&str; 10] = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr"];

fn value_path_sub(input: &str) -> Option<String> {
    let mut s = input.to_string();
    let mut changed = false;
    for _ in 0..MAX_REWRITES {
        match rewrite_once(&s) {
            Some(next) => {
                s = next;
                changed = true;
            }
            None => break,
        }
    }
    changed.then_some(s)
}

fn rewrite_once(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut opens: Vec<usize> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => i = skip_string(b, i)?,
            b'[' => {
                opens.push(i);
                i += 1;
            }
            b']' => {
                let open = opens.pop()?;
                if let Some((sub, op, value, end)) = tail(s, i + 1) {
                    let mut out = String::with_capacity(s.len() + 16);
                    out.push_str(&s[..=open]);
                    out.push('(');
                    out.push_str(&s[open + 1..i]);
                    out.push_str(") and ");
                    out.push_str(sub);
                    out.push(' ');
                    out.push_str(op);
                    if let Some(v) = value {
                        out.push(' ');
                        out.push_str(v);
                    }
                    out.push(']');
                    out.push_str(&s[end..]);
                    return Some(out);
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    None
}

/// Index just past the closing quote of the string starting at `start`.
fn skip_string(b: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// Parses `.sub SP op [SP value]` at `at`; returns (sub, op, value, end).
fn tail(s: &str, at: usize) -> Option<(&str, &str, Option<&str>, usize)> {
    let b = s.as_bytes();
    if b.get(at) != Some(&b'.') {
        return None;
    }
    let sub_start = at + 1;
    let mut i = sub_start;
    if !b.get(i).is_some_and(u8::is_ascii_alphabetic) {
        return None;
    }
    while b.get(i).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-') {
        i += 1;
    }
    let sub = &s[sub_start..i];
    let ws = i;
    while b.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    if i == ws {
        return None;
    }
    let op_start = i;
    while b.get(i).is_some_and(u8::is_ascii_alphabetic) {
        i += 1;
    }
    let op = &s[op_start..i];
    if !OPS.iter().any(|o| o.eq_ignore_ascii_case(op)) {
        return None;
    }
    if op.eq_ignore_ascii_case("pr") {
        return Some((sub, op, None, i));
    }
    let ws = i;
    while b.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    if i == ws {
        return None;
    }
    let v_start = i;
    let end = if b.get(i) == Some(&b'"') {
        skip_string(b, i)?
    } else {
        while b.get(i).is_some_and(|c| !c.is_ascii_whitespace() && *c != b')' && *c != b']') {
            i += 1;
        }
        i
    };
    if end == v_start {
        return None;
    }
    Some((sub, op, Some(&s[v_start..end]), end))
}

#[cfg(test)]
mod tests {
    use super::value_path_sub;

    #[test]
    fn entra_email_form_is_rewritten() {
        assert_eq!(
            value_path_sub(r#"emails[type eq "work"].value eq "a@b.c""#).as_deref(),
            Some(r#"emails[(type eq "work") and value eq "a@b.c"]"#)
        );
        assert_eq!(
            value_path_sub(r#"emails[type eq "]."].value pr and x eq 1"#).as_deref(),
            Some(r#"emails[(type eq "].") and value pr] and x eq 1"#)
        );
        assert_eq!(value_path_sub(r#"emails[type eq "work"]"#), None);
        assert_eq!(value_path_sub(r#"userName eq "a[b].c eq 1""#), None);
        assert_eq!(
            super::lenient(r#"NOT(a pr) and b eq "not(x""#).as_deref(),
            Some(r#"NOT (a pr) and b eq "not(x""#)
        );
        assert_eq!(super::lenient("nothing(a pr)"), None);
    }
}
