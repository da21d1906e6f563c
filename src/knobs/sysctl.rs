//! The `[sysctl]` knob: keys under `/proc/sys`, read, compared with whitespace folded, and
//! written in one write(2) only when they differ (kube-proxy's EnsureSysctl, for every key).

use std::fmt;
use std::io;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::host::{Files, paths};
use crate::knobs::{Entry, Item, Kind, Setting, Status};
use crate::schema::{Loc, Locator, ProfileError};
use crate::sysctl::{SysctlKey, check_value_text, normalize, numeric_fields, profile_key, same};

/// One wanted sysctl value, with where it was asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct SysctlEntry {
    pub key: SysctlKey,
    pub value: String,
    /// A leading `-` on the key, as in sysctl.d(5): a key missing on the host is skipped.
    pub optional: bool,
    pub at: Loc,
}

/// The `[sysctl]` table as written, in document order (the order writes happen in).
#[derive(Debug, Default)]
pub struct SysctlTable(pub Vec<(Spanned<String>, Spanned<SysctlValue>)>);

/// A sysctl value: a number, a string, or a list of numbers written space-separated
/// (`tcp_rmem = [4096, 16384, 4194304]`).
#[derive(Debug, Clone, PartialEq)]
pub struct SysctlValue(pub String);

impl<'de> Deserialize<'de> for SysctlValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SysctlValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number, a string or a list of numbers")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<SysctlValue, E> {
                Ok(SysctlValue(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<SysctlValue, E> {
                Ok(SysctlValue(v.to_string()))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SysctlValue, E> {
                if normalize(v).is_empty() {
                    return Err(E::custom("a sysctl value must not be empty"));
                }
                if v.contains(['\0', '\n']) {
                    return Err(E::custom("a sysctl value must be one line without NUL"));
                }
                Ok(SysctlValue(v.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<SysctlValue, A::Error> {
                let mut parts = Vec::new();
                while let Some(n) = seq.next_element::<i64>()? {
                    parts.push(n.to_string());
                }
                if parts.is_empty() {
                    return Err(de::Error::custom(
                        "a sysctl value must not be an empty list",
                    ));
                }
                Ok(SysctlValue(parts.join(" ")))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for SysctlTable {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SysctlTable;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a table of sysctl keys and values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SysctlTable, A::Error> {
                let mut out = Vec::new();
                while let Some(k) = map.next_key::<Spanned<String>>()? {
                    out.push((k, map.next_value()?));
                }
                Ok(SysctlTable(out))
            }
        }
        d.deserialize_map(V)
    }
}

impl SysctlTable {
    /// Parses every key (both forms, optional `-` prefix) and rejects a key given twice in
    /// one file, in either form. Reports every problem, not just the first.
    pub fn validate(self, loc: &Locator, errs: &mut Vec<ProfileError>) -> Vec<SysctlEntry> {
        let mut out: Vec<SysctlEntry> = Vec::with_capacity(self.0.len());
        let mut seen: std::collections::HashMap<SysctlKey, usize> =
            std::collections::HashMap::new();
        for (k, v) in self.0 {
            let at = loc.at(k.span());
            let raw = k.into_inner();
            if let Err(msg) = check_value_text(&v.get_ref().0) {
                errs.push(ProfileError::invalid(loc.at(v.span()), msg));
            }
            let (optional, key) = match profile_key(&raw) {
                Ok(parsed) => parsed,
                Err(e) => {
                    errs.push(ProfileError::invalid(at, e.to_string()));
                    continue;
                }
            };
            if let Some(&first) = seen.get(&key) {
                errs.push(ProfileError::invalid(
                    at,
                    format!(
                        "sysctl key {key} is given twice (first at {})",
                        out[first].at
                    ),
                ));
                continue;
            }
            seen.insert(key.clone(), out.len());
            out.push(SysctlEntry {
                key,
                value: v.into_inner().0,
                optional,
                at,
            });
        }
        out
    }
}

/// Serializes resolved entries back into a `[sysctl]` table for `hosttune show`.
pub fn serialize_entries<S: Serializer>(entries: &[SysctlEntry], s: S) -> Result<S::Ok, S::Error> {
    let mut m = s.serialize_map(Some(entries.len()))?;
    for e in entries {
        let name = if e.optional {
            format!("-{}", e.key)
        } else {
            e.key.to_string()
        };
        match e.value.parse::<i64>() {
            Ok(n) => m.serialize_entry(&name, &n)?,
            Err(_) => m.serialize_entry(&name, &e.value)?,
        }
    }
    m.end()
}

/// Reads every key's live value. A missing optional key is `skipped`; a missing required key
/// is an `error` item, which stops an apply before any write.
pub fn observe(fs: &dyn Files, entries: &[SysctlEntry]) -> Vec<(SysctlEntry, io::Result<String>)> {
    entries
        .iter()
        .map(|e| (e.clone(), fs.read(&paths::sysctl(&e.key))))
        .collect()
}

/// Compares desired and observed values (pure).
pub fn diff(observed: Vec<(SysctlEntry, io::Result<String>)>, kind: Kind) -> Vec<Entry> {
    observed
        .into_iter()
        .map(|(e, live)| {
            let object = e.key.to_string();
            let want = Setting::Sysctl {
                key: e.key.clone(),
                value: e.value.clone(),
            };
            match live {
                Ok(raw) => {
                    if let (Some(want_n), Some(live_n)) =
                        (numeric_fields(&e.value), numeric_fields(&raw))
                    {
                        if want_n != live_n {
                            let why = format!(
                                "this key holds {live_n} field(s) on this host, the profile \
                                 gives {want_n} ({})",
                                e.at
                            );
                            let item = Item::new(
                                kind,
                                object,
                                normalize(&e.value),
                                normalize(&raw),
                                Status::Error,
                            )
                            .note(why);
                            return Entry::new(item, None, None);
                        }
                    }
                    let status = Status::of(same(&raw, &e.value));
                    let item =
                        Item::new(kind, object, normalize(&e.value), normalize(&raw), status);
                    Entry::new(
                        item,
                        Some(want),
                        Some(Setting::Sysctl {
                            key: e.key,
                            value: raw,
                        }),
                    )
                }
                Err(err) if err.kind() == io::ErrorKind::NotFound && e.optional => {
                    let item = Item::new(kind, object, normalize(&e.value), "-", Status::Skipped)
                        .note("optional key not present on this host");
                    Entry::new(item, None, None)
                }
                Err(err) => {
                    let why = if err.kind() == io::ErrorKind::NotFound {
                        format!("no such key on this host ({})", e.at)
                    } else {
                        format!("cannot read: {err}")
                    };
                    let item =
                        Item::new(kind, object, normalize(&e.value), "-", Status::Error).note(why);
                    Entry::new(item, None, None)
                }
            }
        })
        .collect()
}

/// Writes one value in one write(2), newline-terminated as the kernel prints it, so that a
/// restored fixture file is byte for byte what it was. Equivalent to `sysctl -w KEY=VALUE`.
pub fn write(fs: &dyn Files, key: &SysctlKey, value: &str) -> io::Result<()> {
    let path = paths::sysctl(key);
    if value.ends_with('\n') {
        fs.write(&path, value)
    } else {
        fs.write(&path, &format!("{value}\n"))
    }
}

/// Reads one value as the kernel prints it.
pub fn read(fs: &dyn Files, key: &SysctlKey) -> io::Result<String> {
    fs.read(&paths::sysctl(key))
}

/// For `Serialize` of the `[sysctl]` section in `show`.
#[derive(Debug)]
pub struct Entries<'a>(pub &'a [SysctlEntry]);

impl Serialize for Entries<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_entries(self.0, s)
    }
}

/// `[sysctl]` values in snapshots. Equivalent to `sysctl KEY` and `sysctl -w KEY=VALUE`.
pub struct SysctlOps;

impl crate::knobs::SettingOps for SysctlOps {
    fn address(s: &Setting) -> String {
        let Setting::Sysctl { key, .. } = s else {
            unreachable!()
        };
        format!("sysctl {key}")
    }
    fn describe(s: &Setting) -> (Kind, String, String) {
        let Setting::Sysctl { key, value } = s else {
            unreachable!()
        };
        (Kind::Sysctl, key.to_string(), normalize(value))
    }
    /// Whitespace folded, numbers as numbers (`tcp_rmem` reads back with tabs).
    fn same(a: &Setting, b: &Setting) -> bool {
        match (a, b) {
            (Setting::Sysctl { key: k, value: x }, Setting::Sysctl { key: l, value: y }) => {
                k == l && same(x, y)
            }
            _ => false,
        }
    }
    /// Only the keys in [`crate::sysctl::rounds`]; every other key stores what it accepts.
    fn may_round(s: &Setting) -> bool {
        matches!(s, Setting::Sysctl { key, .. } if crate::sysctl::rounds(key))
    }
    fn read(host: &crate::host::Host, at: &Setting) -> Result<Setting, crate::knobs::KnobError> {
        let Setting::Sysctl { key, .. } = at else {
            unreachable!()
        };
        read(host.fs, key)
            .map(|value| Setting::Sysctl {
                key: key.clone(),
                value,
            })
            .map_err(|source| crate::knobs::KnobError::Sysctl {
                key: key.clone(),
                op: "read",
                source,
            })
    }
    fn write(host: &crate::host::Host, s: &Setting) -> Result<(), crate::knobs::KnobError> {
        let Setting::Sysctl { key, value } = s else {
            unreachable!()
        };
        write(host.fs, key, value).map_err(|source| crate::knobs::KnobError::Sysctl {
            key: key.clone(),
            op: "write",
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, value: &str, optional: bool) -> SysctlEntry {
        SysctlEntry {
            key: key.parse().unwrap(),
            value: value.into(),
            optional,
            at: Loc::default(),
        }
    }

    #[test]
    fn diff_folds_whitespace_and_classifies() {
        let obs = vec![
            (
                entry("net.ipv4.tcp_rmem", "4096 16384 4194304", false),
                Ok("4096\t16384\t4194304\n".into()),
            ),
            (
                entry("net.core.somaxconn", "500000", false),
                Ok("4096\n".into()),
            ),
            (
                entry("net.netfilter.nf_conntrack_max", "700000", true),
                Err(io::ErrorKind::NotFound.into()),
            ),
            (
                entry("net.core.bogus", "1", false),
                Err(io::ErrorKind::NotFound.into()),
            ),
        ];
        let st: Vec<Status> = diff(obs, Kind::Sysctl)
            .iter()
            .map(|e| e.item.status)
            .collect();
        assert_eq!(
            st,
            [Status::Ok, Status::Drift, Status::Skipped, Status::Error]
        );
    }

    #[test]
    fn a_value_with_another_field_count_is_a_plan_error() {
        let obs = vec![
            (
                entry("net.ipv4.tcp_syn_retries", "3 4", false),
                Ok("6\n".into()),
            ),
            (
                entry("net.ipv4.tcp_rmem", "8192 65536", false),
                Ok("4096\t131072\t6291456\n".into()),
            ),
            (
                entry("kernel.core_pattern", "core", false),
                Ok("|/usr/share/apport/apport -p%p -s%s\n".into()),
            ),
            (
                entry("net.ipv4.ip_local_reserved_ports", "8080", false),
                Ok("\n".into()),
            ),
        ];
        let d = diff(obs, Kind::Sysctl);
        let st: Vec<Status> = d.iter().map(|e| e.item.status).collect();
        assert_eq!(
            st,
            [Status::Error, Status::Error, Status::Drift, Status::Drift]
        );
        assert!(
            d[0].item
                .note
                .as_deref()
                .unwrap()
                .contains("holds 1 field(s) on this host, the profile gives 2"),
            "{:?}",
            d[0].item
        );
        assert!(d[0].change().is_none());
    }

    #[test]
    fn drift_carries_the_raw_live_value_for_the_snapshot() {
        let obs = vec![(
            entry("net.ipv4.tcp_wmem", "8192 16384 4194304", false),
            Ok("4096\t16384\t4194304\n".into()),
        )];
        let e = &diff(obs, Kind::Sysctl)[0];
        assert_eq!(e.item.live, "4096 16384 4194304");
        assert_eq!(
            e.live,
            Some(Setting::Sysctl {
                key: "net.ipv4.tcp_wmem".parse().unwrap(),
                value: "4096\t16384\t4194304\n".into()
            })
        );
    }
}
