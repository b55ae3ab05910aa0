//! The object names a Kubernetes-style write body refers to under one field (a team binding's
//! `spec.teamRef`, an auth info's `spec.userRef`), whatever the body's JSON flavour: a whole
//! object (create, `PUT`), a merge or strategic-merge patch, or a JSON patch (RFC 6902).
//!
//! The reading is deliberately broader than the API server's: every string anywhere under a key
//! equal to the field in any case counts (Kubernetes matches keys exactly), duplicate keys all
//! count (Kubernetes keeps the last), and in a JSON patch every string in the `value` of an
//! operation whose `path` mentions the field counts. So a name the API server would act on is always among those
//! returned; a patch that would copy a value into the field from elsewhere reads as `None`, as does
//! a body that is not JSON, and the guard refuses it.

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::go_json::folds_equal;

/// A JSON value with object members kept in order, duplicates included; scalars other than
/// strings are dropped.
#[derive(Debug)]
enum Node {
    Str(String),
    Obj(Vec<(String, Node)>),
    Arr(Vec<Node>),
    Other,
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Str(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::Str(v))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Node, E> {
        Ok(Node::Other)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Node, E> {
        Ok(Node::Other)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Node, E> {
        Ok(Node::Other)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Node, E> {
        Ok(Node::Other)
    }

    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Arr(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut members = Vec::new();
        while let Some(member) = map.next_entry::<String, Node>()? {
            members.push(member);
        }
        Ok(Node::Obj(members))
    }
}

/// Every string `body` (JSON) holds under `field`, as described in the module docs, deduplicated;
/// `None` when the body is not JSON or a JSON patch moves or copies a value into the field.
pub fn names_under(body: &[u8], field: &str) -> Option<Vec<String>> {
    let node: Node = serde_json::Deserializer::from_slice(body).into_iter().next()?.ok()?;
    let mut out = Vec::new();
    walk(&node, field, false, &mut out)?;
    out.sort();
    out.dedup();
    Some(out)
}

fn walk(node: &Node, field: &str, under: bool, out: &mut Vec<String>) -> Option<()> {
    match node {
        Node::Str(s) if under => out.push(s.clone()),
        Node::Str(_) | Node::Other => {}
        Node::Arr(items) => {
            for item in items {
                walk(item, field, under, out)?;
            }
        }
        Node::Obj(members) => {
            let patch_op = patch_op_on(members, field)?;
            for (key, value) in members {
                let holds = folds_equal(key, field) || (patch_op && folds_equal(key, "value"));
                walk(value, field, under || holds, out)?;
            }
        }
    }
    Some(())
}

/// Whether `members` is a JSON patch operation whose `path` mentions `field`; `None` when it
/// moves or copies a value there, or takes one from there (`from`), since the value it would
/// write is not in the body.
fn patch_op_on(members: &[(String, Node)], field: &str) -> Option<bool> {
    let mentions = |key: &str| {
        members.iter().any(|(k, v)| {
            folds_equal(k, key)
                && matches!(v, Node::Str(p) if p.to_ascii_lowercase().contains(&field.to_ascii_lowercase()))
        })
    };
    let copies = members.iter().any(|(k, v)| {
        folds_equal(k, "op") && matches!(v, Node::Str(op) if !matches!(op.to_ascii_lowercase().as_str(), "add" | "replace" | "remove" | "test"))
    });
    match (mentions("path"), mentions("from")) {
        (_, true) => None,
        (true, _) if copies => None,
        (on, _) => Some(on),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(body: &str) -> Option<Vec<String>> {
        names_under(body.as_bytes(), "teamRef")
    }

    #[test]
    fn whole_objects_and_merge_patches() {
        let binding = r#"{"apiVersion":"iam.grafana.app/v0alpha1","kind":"TeamBinding",
            "metadata":{"name":"b1"},"spec":{"teamRef":{"name":"t1"},"subject":{"kind":"User","name":"u1"},
            "permission":"member"}}"#;
        assert_eq!(names(binding), Some(vec!["t1".to_string()]));
        assert_eq!(names(r#"{"spec":{"permission":"admin"}}"#), Some(vec![]));
        // Any case, every duplicate, anything nested under the field.
        assert_eq!(
            names(r#"{"spec":{"teamRef":{"name":"a"},"TEAMREF":{"name":"b"},"teamRef":{"x":["c"]}}}"#),
            Some(vec!["a".into(), "b".into(), "c".into()])
        );
        // Trailing bytes are ignored, as the first value is what a decoder reads.
        assert_eq!(names(r#"{"spec":{"teamRef":{"name":"a"}}} junk"#), Some(vec!["a".into()]));
    }

    #[test]
    fn json_patches() {
        let replace = r#"[{"op":"replace","path":"/spec/teamRef/name","value":"t2"},
            {"op":"replace","path":"/spec/permission","value":"admin"}]"#;
        assert_eq!(names(replace), Some(vec!["t2".to_string()]));
        let whole = r#"[{"op":"add","path":"/spec/teamref","value":{"name":"t3"}}]"#;
        assert_eq!(names(whole), Some(vec!["t3".to_string()]));
        // A value taken from elsewhere cannot be judged from the body.
        assert_eq!(names(r#"[{"op":"copy","from":"/metadata/name","path":"/spec/teamRef/name"}]"#), None);
        assert_eq!(names(r#"[{"op":"move","from":"/spec/teamRef","path":"/x"}]"#), None);
    }

    #[test]
    fn unreadable_bodies() {
        assert_eq!(names(""), None);
        assert_eq!(names("spec: {teamRef: {name: t1}}"), None);
        assert_eq!(names(r#"{"spec":"#), None);
    }
}
