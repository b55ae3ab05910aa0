//! Rewrites the non-RFC `attr[filter].sub op value` filter form into `attr[(filter) and sub op value]`.
//!
//! A lexical pass (strings are skipped) so that brackets or dots inside string literals are
//! never mistaken for structure. Returns `None` when there is nothing to rewrite.

const MAX_REWRITES: usize = 16;
const OPS: [&str; 10] = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr"];

pub(super) fn value_path_sub(input: &str) -> Option<String> {
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
    }
}
