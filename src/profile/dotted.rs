//! Unquoted dotted keys under `[sysctl]`. TOML reads `net.core.somaxconn = 1` as
//! `net = { core = { somaxconn = 1 } }`, and the typed parse then fails on a table where a
//! value belongs ("invalid type: map"). This module looks at the document again, untyped, to
//! name each such key and show it quoted.

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::schema::{Locator, ProfileError};
use crate::sysctl::SysctlKey;

/// One error per key written unquoted under `[sysctl]` (or under `[sysctl.net.core]`-style
/// headers), at the key; empty when there is none or the text is not TOML. Called only after
/// the typed parse failed, so a good profile is parsed once.
pub(super) fn unquoted_keys(loc: &Locator) -> Vec<ProfileError> {
    let Ok(doc) = DeTable::parse(loc.text) else {
        return Vec::new();
    };
    let Some(DeValue::Table(sysctl)) = doc.get_ref().get("sysctl").map(Spanned::get_ref) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for (k, v) in sysctl.iter() {
        if nested(loc.text, v) {
            leaves(loc.text, &mut vec![k.get_ref().to_string()], v, &mut found);
        }
    }
    found
        .into_iter()
        .map(|(segs, at, value)| {
            let key = SysctlKey::from_segments(segs.clone())
                .map_or_else(|_| segs.join("."), |k| k.to_string());
            ProfileError::invalid(
                loc.at(at..at),
                format!(
                    "[sysctl] key {key} is not quoted, so TOML reads it as nested tables; \
                     write dotted sysctl keys in quotes: \"{key}\" = {value}"
                ),
            )
        })
        .collect()
}

/// A table that stands for unquoted key segments: not an inline table (`{ min = N }` is how
/// a bound is written) and not a table of only `min` and `max` (the same bound written as
/// `"key".min = N`).
fn nested(text: &str, v: &Spanned<DeValue>) -> bool {
    let DeValue::Table(t) = v.get_ref() else {
        return false;
    };
    let inline = text.get(v.span()).is_some_and(|s| s.starts_with('{'));
    let bound = !t.is_empty()
        && t.keys()
            .all(|k| matches!(k.get_ref().as_ref(), "min" | "max"));
    !inline && !bound
}

/// A key found under an unquoted prefix: its segments, the byte it starts at, its value's text.
type Leaf = (Vec<String>, usize, String);

/// Every key-value line under an unquoted prefix. Such a line starts with its whole key (the
/// spans TOML gives the shared segments point at their first use, or at a `[sysctl.net]`
/// header), so the key is reported where its line's text begins.
fn leaves(text: &str, path: &mut Vec<String>, v: &Spanned<DeValue>, out: &mut Vec<Leaf>) {
    let DeValue::Table(t) = v.get_ref() else {
        return;
    };
    for (k, sub) in t.iter() {
        path.push(k.get_ref().to_string());
        if nested(text, sub) {
            leaves(text, path, sub, out);
        } else {
            let leaf = k.span().start;
            let line = text[..leaf].rfind('\n').map_or(0, |i| i + 1);
            let indent = text[line..leaf].len() - text[line..leaf].trim_start().len();
            let value = text.get(sub.span()).unwrap_or("...").trim().to_string();
            out.push((path.clone(), line + indent, value));
        }
        path.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msgs(text: &str) -> Vec<String> {
        unquoted_keys(&Locator::new("p.toml", text))
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn each_unquoted_key_is_named_on_its_line() {
        let text = "[sysctl]\n\"a\" = 1\nnet.core.somaxconn = 1\n  net.ipv4.tcp_rmem = [1, 2]\n\
                    -net.core.x = 2\n[sysctl.vm]\nswappiness = \"10\"\n";
        assert_eq!(
            msgs(text),
            [
                "p.toml:3:1: [sysctl] key net.core.somaxconn is not quoted, so TOML reads it as \
                 nested tables; write dotted sysctl keys in quotes: \"net.core.somaxconn\" = 1",
                "p.toml:4:3: [sysctl] key net.ipv4.tcp_rmem is not quoted, so TOML reads it as \
                 nested tables; write dotted sysctl keys in quotes: \"net.ipv4.tcp_rmem\" = [1, 2]",
                "p.toml:5:1: [sysctl] key -net.core.x is not quoted, so TOML reads it as \
                 nested tables; write dotted sysctl keys in quotes: \"-net.core.x\" = 2",
                "p.toml:7:1: [sysctl] key vm.swappiness is not quoted, so TOML reads it as \
                 nested tables; write dotted sysctl keys in quotes: \"vm.swappiness\" = \"10\"",
            ]
        );
    }

    #[test]
    fn bounds_and_inline_tables_are_left_to_the_value_parser() {
        for text in [
            "[sysctl]\n\"vm.x\" = { min = 1 }\n",
            "[sysctl]\n\"vm.x\".min = 1\n\"vm.x\".max = 2\n",
            "[sysctl]\n\"vm.x\" = { mni = 1 }\n",
            "[sysctl]\n\"vm.x\" = true\n",
            "[dsr]\nvm.x = 1\n",
            "not toml = = 1",
        ] {
            assert_eq!(msgs(text), Vec::<String>::new(), "{text}");
        }
    }
}
