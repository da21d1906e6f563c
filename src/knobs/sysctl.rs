//! The `[sysctl]` knob: keys under `/proc/sys`, read, compared with whitespace folded, and
//! written in one write(2) only when they differ (kube-proxy's EnsureSysctl, for every key).

use std::fmt;
use std::io;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::host::{Files, paths};
use crate::knobs::bound::{Bound, Within};
use crate::knobs::cx::PlanCx;
use crate::knobs::portset::{self, PortSet};
use crate::knobs::ram::{self, Ram, RamShare};
use crate::knobs::{Entry, Item, Kind, Setting, Status};
use crate::schema::{Loc, Locator, ProfileError};
use crate::sysctl::{SysctlKey, check_value_text, normalize, numeric_fields, profile_key, same};
use crate::types::RawIfName;

/// One wanted sysctl value, with where it was asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct SysctlEntry {
    /// A key, or a glob over keys (`net.ipv4.conf.*.rp_filter`).
    pub key: SysctlKey,
    pub value: SysctlValue,
    /// A leading `-` on the key, as in sysctl.d(5): a key missing on the host is skipped.
    pub optional: bool,
    pub at: Loc,
}

/// The `[sysctl]` table as written, in document order (the order writes happen in).
#[derive(Debug, Default)]
pub struct SysctlTable(pub Vec<(Spanned<String>, Spanned<SysctlValue>)>);

/// A sysctl value: a number, a string, or a list of numbers written space-separated
/// (`tcp_rmem = [4096, 16384, 4194304]`); a bound (`{ min = N }`, `{ max = N }`, a list per
/// field); a share of RAM (`{ ram_fraction = [0.03, 0.04, 0.06] }`, computed at plan time);
/// ports a list must include (`{ include = [80, 443, 9100] }`); or `{ exclude = true }`, which
/// keeps a key out of every glob, as a `-KEY` line does in sysctl.d(5).
#[derive(Debug, Clone, PartialEq)]
pub enum SysctlValue {
    Exact(String),
    Bound(Bound),
    RamShare(RamShare),
    Include(PortSet),
    Exclude,
}

impl SysctlValue {
    /// The exact value, if this is one.
    pub fn exact(&self) -> Option<&str> {
        match self {
            SysctlValue::Exact(v) => Some(v),
            _ => None,
        }
    }

    /// How the report shows what is wanted: the value, `≥ N`, `3% 4% 6% of RAM` (before the
    /// host's RAM is known), `⊇ 80,443,9100`, or `excluded`.
    pub fn shown(&self) -> String {
        match self {
            SysctlValue::Exact(v) => normalize(v),
            SysctlValue::Bound(b) => b.to_string(),
            SysctlValue::RamShare(r) => r.to_string(),
            SysctlValue::Include(p) => format!("⊇ {p}"),
            SysctlValue::Exclude => "excluded".into(),
        }
    }
}

/// One field or a list of fields of a bound: whole numbers only.
enum Fields {
    One(i64),
    Many(Vec<i64>),
}

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Fields;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a whole number, or a list of whole numbers (one per field)")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Fields, E> {
                Ok(Fields::One(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Fields, E> {
                i64::try_from(v)
                    .map(Fields::One)
                    .map_err(|_| E::custom(format!("{v} is too large for a bound")))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Fields, A::Error> {
                let mut v = Vec::new();
                while let Some(n) = seq.next_element::<i64>()? {
                    v.push(n);
                }
                if v.is_empty() {
                    return Err(de::Error::custom(
                        "a bound's list of fields must not be empty",
                    ));
                }
                Ok(Fields::Many(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// One share of RAM or a list of them (one per field).
struct Fractions(Vec<f64>);

impl<'de> Deserialize<'de> for Fractions {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Fractions;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a share of RAM such as 0.04, or a list of them (one per field)")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Fractions, E> {
                Ok(Fractions(vec![v]))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Fractions, E> {
                Ok(Fractions(vec![v as f64]))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Fractions, E> {
                Ok(Fractions(vec![v as f64]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Fractions, A::Error> {
                let mut v = Vec::new();
                while let Some(n) = seq.next_element::<f64>()? {
                    v.push(n);
                }
                if v.is_empty() {
                    return Err(de::Error::custom("ram_fraction's list must not be empty"));
                }
                Ok(Fractions(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// One port (`9100`), a range (`"8000-8010"`), or a list of them.
struct Ports(PortSet);

impl<'de> Deserialize<'de> for Ports {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum One {
            Port(i64),
            Range(String),
        }
        fn range<E: de::Error>(o: One) -> Result<(u16, u16), E> {
            match o {
                One::Port(n) => u16::try_from(n)
                    .map(|p| (p, p))
                    .map_err(|_| E::custom(format!("{n} is not a port (0-65535)"))),
                One::Range(s) => portset::parse_range(&s).map_err(E::custom),
            }
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Many {
            One(One),
            List(Vec<One>),
        }
        let list = match Many::deserialize(d).map_err(|_| {
            de::Error::custom(
                "include takes ports: a number, a range \"8000-8010\", or a list of them",
            )
        })? {
            Many::One(o) => vec![o],
            Many::List(l) => l,
        };
        if list.is_empty() {
            return Err(de::Error::custom(
                "include's list of ports must not be empty",
            ));
        }
        let ranges = list.into_iter().map(range).collect::<Result<Vec<_>, _>>()?;
        Ok(Ports(PortSet::from_ranges(ranges)))
    }
}

impl From<Fields> for Vec<i128> {
    fn from(f: Fields) -> Vec<i128> {
        match f {
            Fields::One(n) => vec![i128::from(n)],
            Fields::Many(v) => v.into_iter().map(i128::from).collect(),
        }
    }
}

impl<'de> Deserialize<'de> for SysctlValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SysctlValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a number, a string, a list of numbers, a bound { min = N } / { max = N }, \
                     { ram_fraction = F }, { include = [PORTS] }, or { exclude = true }",
                )
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<SysctlValue, E> {
                Ok(SysctlValue::Exact(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<SysctlValue, E> {
                Ok(SysctlValue::Exact(v.to_string()))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SysctlValue, E> {
                if normalize(v).is_empty() {
                    return Err(E::custom("a sysctl value must not be empty"));
                }
                if v.contains(['\0', '\n']) {
                    return Err(E::custom("a sysctl value must be one line without NUL"));
                }
                Ok(SysctlValue::Exact(v.to_string()))
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
                Ok(SysctlValue::Exact(parts.join(" ")))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SysctlValue, A::Error> {
                let (mut min, mut max, mut exclude) = (None, None, None);
                let (mut share, mut include) = (None, None);
                while let Some(k) = map.next_key::<String>()? {
                    match k.as_str() {
                        "min" => min = Some(Vec::from(map.next_value::<Fields>()?)),
                        "max" => max = Some(Vec::from(map.next_value::<Fields>()?)),
                        "exclude" => exclude = Some(map.next_value::<bool>()?),
                        "ram_fraction" => share = Some(map.next_value::<Fractions>()?.0),
                        "include" => include = Some(map.next_value::<Ports>()?.0),
                        other => {
                            return Err(de::Error::custom(format!(
                                "unknown field {other:?} in a sysctl value: a bound is \
                                 {{ min = N }}, {{ max = N }} or both (a number, or a list \
                                 per field); {{ ram_fraction = F }} is a share of RAM; \
                                 {{ include = [PORTS] }} ports a list must hold; \
                                 {{ exclude = true }} keeps a key out of globs"
                            )));
                        }
                    }
                }
                let given = [min.is_some() || max.is_some(), exclude.is_some()]
                    .into_iter()
                    .chain([share.is_some(), include.is_some()])
                    .filter(|g| *g)
                    .count();
                if given > 1 {
                    return Err(de::Error::custom(
                        "a sysctl value is one form: a bound (min/max), ram_fraction, include \
                         or exclude, not several",
                    ));
                }
                if let Some(f) = share {
                    return Ok(SysctlValue::RamShare(RamShare(f)));
                }
                if let Some(p) = include {
                    return Ok(SysctlValue::Include(p));
                }
                match (exclude, min, max) {
                    (Some(true), None, None) => Ok(SysctlValue::Exclude),
                    (Some(_), _, _) => Err(de::Error::custom(
                        "exclude takes only `true`, and no bound beside it",
                    )),
                    (None, min, max) => {
                        let b = Bound { min, max };
                        b.check().map_err(de::Error::custom)?;
                        Ok(SysctlValue::Bound(b))
                    }
                }
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
            if let SysctlValue::Exact(text) = v.get_ref() {
                if let Err(msg) = check_value_text(text) {
                    errs.push(ProfileError::invalid(loc.at(v.span()), msg));
                }
            }
            let (optional, key) = match profile_key(&raw) {
                Ok(parsed) => parsed,
                Err(e) => {
                    errs.push(ProfileError::invalid(at, e.to_string()));
                    continue;
                }
            };
            if let SysctlValue::RamShare(share) = v.get_ref() {
                if let Err(msg) = share.check() {
                    errs.push(ProfileError::invalid(
                        loc.at(v.span()),
                        format!("sysctl key {key}: {msg}"),
                    ));
                    continue;
                }
            }
            if let Some(seg) = key
                .segments()
                .iter()
                .find(|g| g.matches('[').count() != g.matches(']').count())
            {
                errs.push(ProfileError::invalid(
                    at,
                    format!(
                        "sysctl key {key}: unbalanced '[' in the glob segment {seg:?}; a class \
                         is written [a-z] and closes with ']'"
                    ),
                ));
                continue;
            }
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
                value: v.into_inner(),
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
        match &e.value {
            SysctlValue::Exact(v) => match v.parse::<i64>() {
                Ok(n) => m.serialize_entry(&name, &n)?,
                Err(_) => m.serialize_entry(&name, v)?,
            },
            SysctlValue::Bound(b) => m.serialize_entry(&name, &BoundShown(b))?,
            SysctlValue::RamShare(r) => {
                let mut t = std::collections::BTreeMap::new();
                match r.0.as_slice() {
                    [one] => t.insert("ram_fraction", toml::Value::Float(*one)),
                    many => t.insert(
                        "ram_fraction",
                        toml::Value::Array(many.iter().map(|f| toml::Value::Float(*f)).collect()),
                    ),
                };
                m.serialize_entry(&name, &t)?
            }
            SysctlValue::Include(p) => {
                let ports: Vec<toml::Value> = p
                    .ranges()
                    .iter()
                    .map(|&(a, b)| match a == b {
                        true => toml::Value::Integer(i64::from(a)),
                        false => toml::Value::String(format!("{a}-{b}")),
                    })
                    .collect();
                let mut t = std::collections::BTreeMap::new();
                t.insert("include", ports);
                m.serialize_entry(&name, &t)?
            }
            SysctlValue::Exclude => {
                let mut t = std::collections::BTreeMap::new();
                t.insert("exclude", true);
                m.serialize_entry(&name, &t)?
            }
        }
    }
    m.end()
}

/// What observing one concrete key found.
#[derive(Debug)]
pub enum Found {
    /// The value as the kernel prints it.
    Value(String),
    /// Reading failed (a missing key: `NotFound`).
    Failed(io::Error),
    /// Not to be written here, and why (host-global or read-only inside a network namespace,
    /// or present only in the initial namespace).
    NotHere(String),
    /// Under an interface that does not exist yet.
    Pending(String),
}

/// One key to plan: the profile line it comes from, the concrete key (a glob's match, or the
/// key itself), and what observing it found.
#[derive(Debug)]
pub struct Observed {
    pub entry: SysctlEntry,
    pub key: SysctlKey,
    pub found: Found,
}

/// What the sysctl diff needs beyond each key: the glob lines that matched nothing, the
/// conf/all `rp_filter` the kernel combines with every interface's (wanted, else live), and
/// the host's RAM when a value is a share of it (read only then).
#[derive(Debug, Default)]
pub struct Context {
    pub unmatched: Vec<SysctlEntry>,
    pub rp_filter_all: Option<i64>,
    /// Interfaces a glob key matched whose names are not UTF-8, with that key: left alone,
    /// reported once by the plan (`knobs::raw_ifaces`).
    pub raw: Vec<(RawIfName, SysctlKey)>,
    pub ram: Option<Result<Ram, String>>,
}

/// `MemTotal` from `/proc/meminfo` under the root, and this machine's page size.
fn read_ram(fs: &dyn Files) -> Result<Ram, String> {
    let path = paths::meminfo();
    let shown = || fs.display(&path).display().to_string();
    let text = fs.read(&path).map_err(|e| format!("{}: {e}", shown()))?;
    let total = ram::mem_total(&text).map_err(|e| format!("{}: {e}", shown()))?;
    Ok(Ram {
        total,
        page: ram::page_size(),
    })
}

/// Whether a key segment is a glob (`*`, `?`, `[...]`).
fn is_glob(seg: &str) -> bool {
    seg.contains(['*', '?', '['])
}

/// The keys under `/proc/sys` a glob key matches, sorted (each glob segment is matched
/// against the directory's entries as the shell would; equivalent to `sysctl -a --pattern`),
/// and the entries it matched whose names are not UTF-8 (interfaces under `conf/` and
/// `neigh/`), which name no key hosttune can hold.
fn expand(fs: &dyn Files, glob: &SysctlKey) -> (Vec<SysctlKey>, Vec<RawIfName>) {
    let mut raw = Vec::new();
    let mut found: Vec<Vec<String>> = vec![Vec::new()];
    for seg in glob.segments() {
        let mut next = Vec::new();
        for prefix in &found {
            if is_glob(seg) {
                let dir = paths::sysctl_dir(prefix);
                let Ok(names) = fs.read_dir(&dir) else {
                    continue;
                };
                let (names, odd) = RawIfName::split(names);
                raw.extend(
                    odd.into_iter()
                        .filter(|n| crate::knobs::ifglob::glob_matches_bytes(seg, n.as_bytes())),
                );
                for n in names
                    .into_iter()
                    .filter(|n| crate::knobs::ifglob::glob_matches(seg, n))
                {
                    let mut p = prefix.clone();
                    p.push(n);
                    next.push(p);
                }
            } else {
                let mut p = prefix.clone();
                p.push(seg.clone());
                next.push(p);
            }
        }
        found = next;
    }
    let mut keys: Vec<SysctlKey> = found
        .into_iter()
        .filter_map(|segs| SysctlKey::from_segments(segs).ok())
        // Keys are files: a glob over a segment that also names directories skips those.
        .filter(|k| fs.exists(&paths::sysctl(k)) && fs.read_dir(&paths::sysctl(k)).is_err())
        .collect();
    keys.sort();
    raw.sort();
    raw.dedup();
    (keys, raw)
}

/// The interface a per-interface key names (`net.ipv4.conf.IFACE.x`, `net.ipv6.neigh.IFACE.x`),
/// other than `all` and `default`.
pub fn key_iface(key: &SysctlKey) -> Option<&str> {
    match key.segments() {
        [net, fam, table, iface, _, ..]
            if net == "net"
                && (fam == "ipv4" || fam == "ipv6")
                && (table == "conf" || table == "neigh")
                && iface != "all"
                && iface != "default" =>
        {
            Some(iface)
        }
        _ => None,
    }
}

/// Resolves globs and reads every key. Glob matches follow sysctl.d(5): a key given explicitly
/// (or excluded with `{ exclude = true }`) is left out of every glob, and of two globs matching
/// one key the later wins. Inside a non-initial network namespace, host-global keys and keys
/// that are read-only or absent there are not read as targets.
pub fn observe(cx: &PlanCx, entries: &[SysctlEntry]) -> (Vec<Observed>, Context) {
    let fs = cx.host.fs;
    let netns = cx.netns();
    let explicit: std::collections::HashSet<&SysctlKey> = entries
        .iter()
        .filter(|e| !e.key.segments().iter().any(|s| is_glob(s)))
        .map(|e| &e.key)
        .collect();
    let mut ctx = Context::default();
    let mut planned: Vec<(SysctlEntry, SysctlKey)> = Vec::new();
    for e in entries {
        if e.value == SysctlValue::Exclude {
            continue;
        }
        if !e.key.segments().iter().any(|s| is_glob(s)) {
            planned.push((e.clone(), e.key.clone()));
            continue;
        }
        let (matches, raw) = expand(fs, &e.key);
        ctx.raw.extend(raw.into_iter().map(|n| (n, e.key.clone())));
        let matches: Vec<SysctlKey> = matches
            .into_iter()
            .filter(|k| !explicit.contains(k))
            .collect();
        if matches.is_empty() {
            ctx.unmatched.push(e.clone());
        }
        for k in matches {
            // A later glob over the same key wins, as a later line does at boot.
            planned.retain(|(_, p)| p != &k);
            planned.push((e.clone(), k));
        }
    }
    let out = planned
        .into_iter()
        .map(|(entry, key)| {
            // Read first, then look at the mode: a key that reads as a file is no directory,
            // so the directory probe of `why_not_here` is not needed (one open less per key).
            let found = match netns.host_global(&key) {
                Some(why) => Found::NotHere(why),
                None => match read(fs, &key) {
                    Ok(v) => match netns.read_only_here(fs, &key) {
                        Some(why) => Found::NotHere(why),
                        None => Found::Value(v),
                    },
                    Err(e) if e.kind() == io::ErrorKind::NotFound => match key_iface(&key) {
                        Some(i) if !cx.ifaces().iter().any(|n| n.as_str() == i) => {
                            Found::Pending(i.to_string())
                        }
                        _ => match netns.absent_here(&key) {
                            Some(why) => Found::NotHere(why),
                            None => Found::Failed(e),
                        },
                    },
                    Err(e) if e.raw_os_error() == Some(libc::EISDIR) => Found::Failed(e),
                    Err(e) => match netns.read_only_here(fs, &key) {
                        Some(why) => Found::NotHere(why),
                        None => Found::Failed(e),
                    },
                },
            };
            Observed { entry, key, found }
        })
        .collect::<Vec<_>>();
    if out
        .iter()
        .any(|o| matches!(o.entry.value, SysctlValue::RamShare(_)))
    {
        ctx.ram = Some(read_ram(fs));
    }
    let all = SysctlKey::conf("ipv4", "all", "rp_filter");
    if out.iter().any(|o| is_rp_filter(&o.key)) {
        ctx.rp_filter_all = entries
            .iter()
            .find(|e| e.key == all)
            .and_then(|e| e.value.exact().and_then(|v| normalize(v).parse().ok()))
            .or_else(|| read(fs, &all).ok().and_then(|v| normalize(&v).parse().ok()));
    }
    (out, ctx)
}

fn is_rp_filter(key: &SysctlKey) -> bool {
    key_iface(key).is_some() && key.segments()[1] == "ipv4" && key.segments()[4] == "rp_filter"
}

/// Compares desired and observed values (pure). A bound keeps a live value within it and
/// moves only the fields outside it; the note shows the bound's direction (↑/↓).
pub fn diff(observed: Vec<Observed>, ctx: &Context, kind: Kind) -> Vec<Entry> {
    let mut out: Vec<Entry> = observed
        .into_iter()
        .map(|o| diff_one(o, ctx, kind))
        .collect();
    for e in &ctx.unmatched {
        out.push(Entry::new(
            Item::new(
                kind,
                e.key.to_string(),
                e.value.shown(),
                "-",
                Status::Skipped,
            )
            .note(format!("the glob matches no key on this host ({})", e.at)),
            None,
            None,
        ));
    }
    out
}

fn diff_one(o: Observed, ctx: &Context, kind: Kind) -> Entry {
    let Observed {
        entry: e,
        key,
        found,
    } = o;
    let object = key.to_string();
    // A share of RAM shows the number it comes to on this host, and the share.
    let share = match &e.value {
        SysctlValue::RamShare(r) => match &ctx.ram {
            Some(Ok(ram)) => Some(Ok(r.resolve(&key, *ram))),
            Some(Err(why)) => Some(Err(format!("cannot compute {r}: {why}"))),
            None => Some(Err(format!("cannot compute {r}: RAM not read"))),
        },
        _ => None,
    };
    let shown = match (&share, &e.value) {
        (Some(Ok(v)), SysctlValue::RamShare(r)) => format!("{v} ({r})"),
        _ => e.value.shown(),
    };
    let plain = |status: Status, live: &str, note: String| {
        Entry::new(
            Item::new(kind, object.clone(), shown.clone(), live, status).note(note),
            None,
            None,
        )
    };
    let raw = match found {
        Found::Value(raw) => raw,
        Found::NotHere(why) => return plain(Status::Skipped, "-", why),
        Found::Pending(iface) => {
            return plain(
                Status::Pending,
                "-",
                format!("interface {iface} does not exist yet; applied when it appears"),
            );
        }
        Found::Failed(err) if err.kind() == io::ErrorKind::NotFound && e.optional => {
            return plain(Status::Skipped, "-", absent_note(&key));
        }
        Found::Failed(err) => {
            let why = if err.kind() == io::ErrorKind::NotFound {
                format!("no such key on this host ({})", e.at)
            } else {
                format!("cannot read: {err}")
            };
            return plain(Status::Error, "-", why);
        }
    };
    let live_setting = Setting::Sysctl {
        key: key.clone(),
        value: raw.clone(),
    };
    let exact = match (&e.value, share) {
        (SysctlValue::RamShare(_), Some(Ok(v))) => Some(v),
        (SysctlValue::RamShare(_), Some(Err(why))) => {
            return plain(Status::Error, &normalize(&raw), format!("{why} ({})", e.at));
        }
        (SysctlValue::Exact(v), _) => Some(v.clone()),
        _ => None,
    };
    let (want, note) = match &e.value {
        SysctlValue::Exact(_) | SysctlValue::RamShare(_) => {
            let v = exact.expect("an exact value or a computed share");
            if let (Some(want_n), Some(live_n)) = (numeric_fields(&v), numeric_fields(&raw)) {
                if want_n != live_n {
                    let why = format!(
                        "this key holds {live_n} field(s) on this host, the profile gives \
                         {want_n} ({})",
                        e.at
                    );
                    return plain(Status::Error, &normalize(&raw), why);
                }
            }
            (v, None)
        }
        SysctlValue::Bound(b) => match b.resolve(&raw) {
            Ok(r) => {
                let fields = r.value.split(' ').count();
                let note = (!r.moves.is_empty()).then(|| r.note(fields));
                (r.value, note)
            }
            Err(why) => return plain(Status::Error, &normalize(&raw), format!("{why} ({})", e.at)),
        },
        SysctlValue::Include(ports) => match portset::include(ports, &raw) {
            Ok(r) => {
                let note = (!r.added.ranges().is_empty()).then(|| format!("+ {}", r.added));
                (r.value, note)
            }
            Err(why) => return plain(Status::Error, &normalize(&raw), format!("{why} ({})", e.at)),
        },
        SysctlValue::Exclude => unreachable!("excluded keys are not observed"),
    };
    let status = Status::of(same(&raw, &want));
    let mut item = Item::new(kind, object, shown, normalize(&raw), status);
    let mut notes: Vec<String> = note.into_iter().collect();
    if is_rp_filter(&key) {
        if let (Some(all), Ok(own)) = (ctx.rp_filter_all, normalize(&want).parse::<i64>()) {
            notes.push(format!(
                "effective rp_filter {} = max(conf/all {all}, {} {own})",
                all.max(own),
                key.segments()[3]
            ));
        }
    }
    if !notes.is_empty() {
        item = item.note(notes.join("; "));
    }
    let mut entry = Entry::new(
        item,
        Some(Setting::Sysctl { key, value: want }),
        Some(live_setting),
    );
    entry.bound = match &e.value {
        SysctlValue::Bound(b) => Some(Within::Bound(b.clone())),
        SysctlValue::Include(p) => Some(Within::Include(p.clone())),
        _ => None,
    };
    entry
}

/// Why an optional key is missing: the keys of `ip_vs` and `nf_conntrack` exist only while
/// their module is loaded, which is the usual reason.
fn absent_note(key: &SysctlKey) -> String {
    let k = key.to_string();
    let module = if k.starts_with("net.ipv4.vs.") {
        Some("ip_vs")
    } else if k.starts_with("net.netfilter.nf_conntrack_") {
        Some("nf_conntrack")
    } else {
        None
    };
    match module {
        Some(m) => format!(
            "optional key not present on this host: {m} is not loaded (its keys appear when \
             the module loads)"
        ),
        None => "optional key not present on this host".into(),
    }
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

/// A bound as `show` prints it: `{ min = N }` (a list for several fields).
struct BoundShown<'a>(&'a Bound);

impl Serialize for BoundShown<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        for (name, v) in [("min", &self.0.min), ("max", &self.0.max)] {
            match v.as_deref() {
                Some([one]) => m.serialize_entry(name, &(*one as i64))?,
                Some(many) => {
                    let l: Vec<i64> = many.iter().map(|n| *n as i64).collect();
                    m.serialize_entry(name, &l)?
                }
                None => {}
            }
        }
        m.end()
    }
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
    /// A key under `/proc/sys` (every segment a plain name: not empty, `.` or `..`, no `/`
    /// or NUL) and a value without a NUL.
    fn validate(s: &Setting) -> Result<(), String> {
        let Setting::Sysctl { key, value } = s else {
            unreachable!()
        };
        crate::sysctl::SysctlKey::from_segments(key.segments().iter().cloned())
            .map_err(|e| e.to_string())?;
        if value.contains('\0') {
            return Err(format!("sysctl {key}: the value contains a NUL"));
        }
        Ok(())
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

    /// The pure diff of (entry, read result) rows, each key planned as itself.
    fn run(obs: Vec<(SysctlEntry, io::Result<String>)>) -> Vec<Entry> {
        let obs = obs
            .into_iter()
            .map(|(e, r)| Observed {
                key: e.key.clone(),
                entry: e,
                found: match r {
                    Ok(v) => Found::Value(v),
                    Err(err) => Found::Failed(err),
                },
            })
            .collect();
        diff(obs, &Context::default(), Kind::Sysctl)
    }

    fn entry(key: &str, value: &str, optional: bool) -> SysctlEntry {
        SysctlEntry {
            key: key.parse().unwrap(),
            value: SysctlValue::Exact(value.into()),
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
        let st: Vec<Status> = run(obs).iter().map(|e| e.item.status).collect();
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
        let d = run(obs);
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

    fn valued(key: &str, value: SysctlValue) -> SysctlEntry {
        SysctlEntry {
            key: key.parse().unwrap(),
            value,
            optional: false,
            at: Loc::default(),
        }
    }

    fn diff_with(obs: Vec<(SysctlEntry, &str)>, ctx: &Context) -> Vec<Entry> {
        let obs = obs
            .into_iter()
            .map(|(e, live)| Observed {
                key: e.key.clone(),
                entry: e,
                found: Found::Value(live.into()),
            })
            .collect();
        diff(obs, ctx, Kind::Sysctl)
    }

    #[test]
    fn a_share_of_ram_is_computed_shown_and_compared_exactly() {
        let ctx = Context {
            ram: Some(Ok(Ram {
                total: 16 << 30,
                page: 4096,
            })),
            ..Context::default()
        };
        let share = || SysctlValue::RamShare(RamShare(vec![0.03, 0.04, 0.06]));
        // (live, status, desired shown)
        let d = diff_with(
            vec![
                (
                    valued("net.ipv4.tcp_mem", share()),
                    "125829\t167772\t251658\n",
                ),
                (
                    valued("net.ipv4.tcp_mem", share()),
                    "185688 247584 6291456\n",
                ),
                (valued("net.ipv4.tcp_mem", share()), "1 2\n"),
            ],
            &ctx,
        );
        let want = "125829 167772 251658 (3% 4% 6% of RAM)";
        assert_eq!(
            (d[0].item.status, d[0].item.desired.as_str()),
            (Status::Ok, want)
        );
        assert_eq!(
            (d[1].item.status, d[1].item.desired.as_str()),
            (Status::Drift, want)
        );
        assert_eq!(
            d[1].change().unwrap().0,
            &Setting::Sysctl {
                key: "net.ipv4.tcp_mem".parse().unwrap(),
                value: "125829 167772 251658".into()
            }
        );
        assert_eq!(d[2].item.status, Status::Error);
        // Without MemTotal the item is an error naming why, never a guess.
        let no_ram = Context {
            ram: Some(Err("/proc/meminfo: No such file".into())),
            ..Context::default()
        };
        let d = diff_with(
            vec![(valued("net.ipv4.tcp_mem", share()), "1 2 3\n")],
            &no_ram,
        );
        assert_eq!(d[0].item.status, Status::Error);
        assert!(
            d[0].item.note.as_deref().unwrap().contains("/proc/meminfo"),
            "{:?}",
            d[0].item
        );
        assert!(d[0].change().is_none());
    }

    #[test]
    fn include_keeps_reservations_and_adds_missing_ports() {
        let ports = || SysctlValue::Include("80,443,9100".parse().unwrap());
        let key = "net.ipv4.ip_local_reserved_ports";
        // (live, status, value written, note)
        for (live, status, write, note) in [
            ("80,443,9100\n", Status::Ok, None, None),
            ("1-1024,9100\n", Status::Ok, None, None),
            (
                "\n",
                Status::Drift,
                Some("80,443,9100"),
                Some("+ 80,443,9100"),
            ),
            (
                "8000-8010\n",
                Status::Drift,
                Some("80,443,8000-8010,9100"),
                Some("+ 80,443,9100"),
            ),
            ("tcp\n", Status::Error, None, None),
        ] {
            let d = diff_with(vec![(valued(key, ports()), live)], &Context::default());
            let e = &d[0];
            assert_eq!(e.item.status, status, "{live:?}");
            assert_eq!(e.item.desired, "⊇ 80,443,9100");
            let written = e.change().map(|(d, _)| match d {
                Setting::Sysctl { value, .. } => value.clone(),
                _ => unreachable!(),
            });
            assert_eq!(written.as_deref(), write, "{live:?}");
            if status != Status::Error {
                assert_eq!(e.item.note.as_deref(), note, "{live:?}");
            }
        }
    }

    #[test]
    fn drift_carries_the_raw_live_value_for_the_snapshot() {
        let obs = vec![(
            entry("net.ipv4.tcp_wmem", "8192 16384 4194304", false),
            Ok("4096\t16384\t4194304\n".into()),
        )];
        let e = &run(obs)[0];
        assert_eq!(e.item.live, "4096 16384 4194304");
        assert_eq!(
            e.live,
            Some(Setting::Sysctl {
                key: "net.ipv4.tcp_wmem".parse().unwrap(),
                value: "4096\t16384\t4194304\n".into()
            })
        );
    }

    #[test]
    fn a_missing_optional_key_of_a_module_says_the_module_is_not_loaded() {
        let note = |k: &str| absent_note(&k.parse().unwrap());
        assert!(note("net.ipv4.vs.conntrack").contains("ip_vs is not loaded"));
        assert!(note("net.netfilter.nf_conntrack_max").contains("nf_conntrack is not loaded"));
        assert_eq!(note("net.core.x"), "optional key not present on this host");
    }
}
