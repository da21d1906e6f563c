//! `extends`: the profiles a profile builds on, as written, and the chain of files being
//! followed, which is how a cycle is found and reported.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Unexpected, Visitor};

use crate::schema::Loc;

/// `extends = "base"` or `extends = ["a", "b"]`.
#[derive(Debug, Clone)]
pub(super) enum Extends {
    One(String),
    Many(Vec<String>),
}

impl Extends {
    /// The parents, in the order they are merged.
    pub(super) fn names(&self) -> Vec<String> {
        match self {
            Extends::One(s) => vec![s.clone()],
            Extends::Many(v) => v.clone(),
        }
    }
}

fn wrong<E: de::Error>(what: Unexpected) -> E {
    E::custom(format!(
        "extends must be a profile name or a list of names, not {what}"
    ))
}

/// By hand rather than `#[serde(untagged)]`, whose error ("data did not match any variant of
/// untagged enum") says nothing about what to write.
impl<'de> Deserialize<'de> for Extends {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Extends;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a profile name or a list of names")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Extends, E> {
                Ok(Extends::One(v.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Extends, A::Error> {
                let mut names = Vec::new();
                while let Some(e) = seq.next_element::<Extends>()? {
                    match e {
                        Extends::One(s) => names.push(s),
                        Extends::Many(_) => return Err(wrong(Unexpected::Seq)),
                    }
                }
                Ok(Extends::Many(names))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Extends, E> {
                Err(wrong(Unexpected::Bool(v)))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Extends, E> {
                Err(wrong(Unexpected::Signed(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Extends, E> {
                Err(wrong(Unexpected::Unsigned(v)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Extends, E> {
                Err(wrong(Unexpected::Float(v)))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, _: A) -> Result<Extends, A::Error> {
                Err(wrong(Unexpected::Other("a table or a date")))
            }
        }
        d.deserialize_any(V)
    }
}

/// One file on the chain being followed: who it is (its canonical path, or `builtin:NAME`),
/// how it is shown, and where its `extends` is.
pub(super) struct Frame {
    pub id: String,
    pub file: String,
    pub at: Loc,
}

/// The cycle that reaching `id` again closes, as `a.toml -> b.toml -> a.toml`, with the
/// position of every `extends` on it; `None` when `id` is not on the chain.
pub(super) fn cycle(stack: &[Frame], id: &str) -> Option<String> {
    let pos = stack.iter().position(|f| f.id == id)?;
    let on = &stack[pos..];
    let files: Vec<&str> = on
        .iter()
        .chain(std::iter::once(&on[0]))
        .map(|f| f.file.as_str())
        .collect();
    let places: Vec<String> = on.iter().map(|f| f.at.to_string()).collect();
    Some(format!(
        "{}; remove one of these extends ({})",
        files.join(" -> "),
        places.join(", ")
    ))
}

/// The chain being followed down to `last`, as `a.toml -> b.toml -> last`, for the depth
/// limit's message.
pub(super) fn chain(stack: &[Frame], last: &str) -> String {
    stack
        .iter()
        .map(|f| f.file.as_str())
        .chain(std::iter::once(last))
        .collect::<Vec<_>>()
        .join(" -> ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct T {
        #[allow(dead_code)]
        extends: Extends,
    }

    #[test]
    fn a_name_or_a_list_of_names() {
        let one: T = toml::from_str("extends = \"a\"").unwrap();
        assert_eq!(one.extends.names(), ["a"]);
        let many: T = toml::from_str("extends = [\"a\", \"b\"]").unwrap();
        assert_eq!(many.extends.names(), ["a", "b"]);
        for (bad, what) in [
            ("5", "integer `5`"),
            ("true", "boolean `true`"),
            ("[\"a\", 5]", "integer `5`"),
            ("[[\"a\"]]", "sequence"),
            ("{ name = \"a\" }", "a table"),
        ] {
            let e = toml::from_str::<T>(&format!("extends = {bad}")).unwrap_err();
            let want = format!("extends must be a profile name or a list of names, not {what}");
            assert!(e.message().contains(&want), "{bad}: {e}");
        }
    }

    #[test]
    fn a_cycle_names_every_extends_on_it() {
        let f = |id: &str, line| Frame {
            id: id.into(),
            file: format!("{id}.toml"),
            at: Loc {
                file: format!("{id}.toml"),
                line,
                col: 11,
            },
        };
        let stack = [f("top", 1), f("a", 2), f("b", 3)];
        assert_eq!(cycle(&stack, "c"), None);
        assert_eq!(
            cycle(&stack, "a").unwrap(),
            "a.toml -> b.toml -> a.toml; remove one of these extends (a.toml:2:11, b.toml:3:11)"
        );
    }
}
