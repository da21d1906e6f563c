//! The `[conntrack]` knob: what an L4 balancer's connection tracking costs. VIPs and ports
//! conntrack never sees (`notrack`, an nftables table), the hash table's size (`hashsize`,
//! a module parameter and a modprobe.d file), the table's limit (`max`) and per-protocol
//! timeouts (`timeouts`). `hashsize` and `max` are host-global.

pub mod hashsize;
pub mod notrack;
pub mod timeouts;

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::ser::{Serialize, SerializeMap, Serializer};
use toml::Spanned;

use crate::knobs::cx::PlanCx;
use crate::knobs::sysctl::{self, SysctlEntry, SysctlValue};
use crate::knobs::{Entry, Item, Kind, Status};
use crate::schema::{Loc, Locator, ProfileError};

pub use notrack::Target;

/// `[conntrack]` as one file writes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConntrack {
    #[serde(default)]
    notrack: Option<Vec<Spanned<String>>>,
    #[serde(default)]
    hashsize: Option<Spanned<i64>>,
    #[serde(default)]
    max: Option<Spanned<i64>>,
    #[serde(default)]
    timeouts: Option<BTreeMap<Spanned<String>, Spanned<i64>>>,
}

/// A number and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct At<T> {
    pub value: T,
    pub at: Loc,
}

/// `[conntrack]`, validated.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConntrackSection {
    /// `None`: not managed; empty: the table removed.
    pub notrack: Option<Vec<Target>>,
    pub hashsize: Option<At<u32>>,
    pub max: Option<At<u32>>,
    /// By profile name (`tcp_established`).
    pub timeouts: BTreeMap<String, At<u32>>,
}

/// The largest hash size the kernel allocates: `INT_MAX` bytes of 8-byte buckets
/// (nf_ct_alloc_hashtable).
const MAX_HASHSIZE: i64 = (i32::MAX / 8) as i64;

fn number(
    v: Spanned<i64>,
    what: &str,
    range: std::ops::RangeInclusive<i64>,
    loc: &Locator,
    errs: &mut Vec<ProfileError>,
) -> Option<At<u32>> {
    let at = loc.at(v.span());
    let n = v.into_inner();
    if !range.contains(&n) {
        errs.push(ProfileError::invalid(
            at,
            format!(
                "[conntrack] {what} = {n}: must be {} to {}",
                range.start(),
                range.end()
            ),
        ));
        return None;
    }
    Some(At {
        value: n as u32,
        at,
    })
}

impl RawConntrack {
    /// Checks every value, pushing each problem with its `file:line:column`.
    pub fn validate(self, loc: &Locator, errs: &mut Vec<ProfileError>) -> ConntrackSection {
        let notrack = self.notrack.map(|list| {
            let mut out: Vec<Target> = Vec::new();
            for s in list {
                let at = loc.at(s.span());
                match s.get_ref().parse::<Target>() {
                    Ok(t) if out.contains(&t) => errs.push(ProfileError::invalid(
                        at,
                        format!("[conntrack] notrack: {t} is given twice"),
                    )),
                    Ok(t) => out.push(t),
                    Err(why) => errs.push(ProfileError::invalid(
                        at,
                        format!("[conntrack] notrack: {why}"),
                    )),
                }
            }
            out
        });
        let hashsize = self
            .hashsize
            .and_then(|v| number(v, "hashsize", 1..=MAX_HASHSIZE, loc, errs));
        let max = self
            .max
            .and_then(|v| number(v, "max", 0..=i64::from(i32::MAX), loc, errs));
        let mut timeouts = BTreeMap::new();
        for (k, v) in self.timeouts.unwrap_or_default() {
            let at = loc.at(k.span());
            let name = k.into_inner();
            if let Err(why) = timeouts::key(&name) {
                errs.push(ProfileError::invalid(
                    at,
                    format!("[conntrack] timeouts: {why}"),
                ));
                continue;
            }
            let what = format!("timeouts.{name}");
            let max = i64::from(timeouts::MAX_SECONDS);
            if let Some(n) = number(v, &what, 1..=max, loc, errs) {
                timeouts.insert(name, n);
            }
        }
        ConntrackSection {
            notrack,
            hashsize,
            max,
            timeouts,
        }
    }
}

impl ConntrackSection {
    /// Field by field the child wins; timeouts by name.
    pub fn merge(self, child: ConntrackSection) -> ConntrackSection {
        let mut timeouts = self.timeouts;
        timeouts.extend(child.timeouts);
        ConntrackSection {
            notrack: child.notrack.or(self.notrack),
            hashsize: child.hashsize.or(self.hashsize),
            max: child.max.or(self.max),
            timeouts,
        }
    }

    /// The sysctls of `max` and `timeouts`, optional: they exist only while nf_conntrack is
    /// loaded.
    fn sysctls(&self) -> (Option<SysctlEntry>, Vec<SysctlEntry>) {
        let entry = |key, n: &At<u32>| SysctlEntry {
            key,
            value: SysctlValue::Exact(n.value.to_string()),
            optional: true,
            at: n.at.clone(),
        };
        let max = self.max.as_ref().map(|m| entry(max_key(), m));
        let t = self
            .timeouts
            .iter()
            .map(|(name, n)| entry(timeouts::key(name).expect("checked while loading"), n))
            .collect();
        (max, t)
    }
}

fn max_key() -> crate::sysctl::SysctlKey {
    "net.netfilter.nf_conntrack_max".parse().expect("valid key")
}

impl Serialize for ConntrackSection {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        if let Some(list) = &self.notrack {
            let l: Vec<String> = list.iter().map(Target::to_string).collect();
            m.serialize_entry("notrack", &l)?;
        }
        if let Some(h) = &self.hashsize {
            m.serialize_entry("hashsize", &h.value)?;
        }
        if let Some(x) = &self.max {
            m.serialize_entry("max", &x.value)?;
        }
        if !self.timeouts.is_empty() {
            let t: BTreeMap<&str, u32> = self
                .timeouts
                .iter()
                .map(|(k, v)| (k.as_str(), v.value))
                .collect();
            m.serialize_entry("timeouts", &t)?;
        }
        m.end()
    }
}

/// Plans the section: the notrack table, the hash size (live, then the modprobe.d file),
/// `max`, then the timeouts. Inside a non-initial network namespace the host-global items
/// (`hashsize`, `max`) are `skipped` with the host-global note.
pub fn plan(c: &ConntrackSection, cx: &PlanCx) -> Vec<Entry> {
    let host = &cx.host;
    let global_skipped = cx.netns().skips_host_global();
    let skipped = |kind, object: String, want: String| {
        Entry::new(
            Item::new(kind, object, want, "-", Status::Skipped)
                .note(crate::knobs::netns::HOST_GLOBAL),
            None,
            None,
        )
    };
    let mut out = Vec::new();
    if let Some(list) = &c.notrack {
        out.push(crate::knobs::nft::plan(
            host,
            &notrack::table(list),
            !list.is_empty(),
        ));
    }
    if let Some(h) = &c.hashsize {
        if global_skipped {
            out.push(skipped(
                Kind::Conntrack,
                "nf_conntrack hashsize".into(),
                h.value.to_string(),
            ));
        } else {
            out.extend(hashsize::plan(host, h.value));
        }
    }
    let (max, timeouts) = c.sysctls();
    let mut keys = Vec::new();
    if let Some(m) = max {
        if global_skipped {
            out.push(skipped(Kind::Sysctl, m.key.to_string(), m.value.shown()));
        } else {
            keys.push(m);
        }
    }
    keys.extend(timeouts);
    if !keys.is_empty() {
        let (observed, ctx) = sysctl::observe(cx, &keys);
        out.extend(sysctl::diff(observed, &ctx, Kind::Sysctl));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> (ConntrackSection, Vec<ProfileError>) {
        let raw: RawConntrack = toml::from_str(text).unwrap();
        let loc = Locator::new("lb.toml", text);
        let mut errs = Vec::new();
        (raw.validate(&loc, &mut errs), errs)
    }

    #[test]
    fn a_section_loads_and_shows_back_as_written() {
        let text = "notrack = [\"10.0.0.100\", \"udp:6080\"]\nhashsize = 262144\nmax = 1048576\n\
                    timeouts = { tcp_established = 600, udp = 30 }\n";
        let (c, errs) = load(text);
        assert!(errs.is_empty(), "{errs:?}");
        assert_eq!(c.notrack.as_ref().unwrap().len(), 2);
        assert_eq!(c.hashsize.as_ref().unwrap().value, 262144);
        assert_eq!(c.timeouts["udp"].at.line, 4);
        let shown = toml::to_string(&c).unwrap();
        let (again, _) = load(&shown);
        assert_eq!(toml::to_string(&again).unwrap(), shown);
    }

    #[test]
    fn bad_values_are_named_with_their_line() {
        let text = "notrack = [\"10.0.0.100\", \"udp:0\", \"10.0.0.100\"]\nhashsize = 0\n\
                    max = -1\ntimeouts = { tcp_establised = 600, udp = 0 }\n";
        let (_, errs) = load(text);
        let msgs: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        let has = |at: &str, what: &str| {
            assert!(
                msgs.iter().any(|m| m.contains(at) && m.contains(what)),
                "{at} {what}: {msgs:#?}"
            )
        };
        has("lb.toml:1:", "\"udp:0\"");
        has("lb.toml:1:", "10.0.0.100 is given twice");
        has("lb.toml:2:", "hashsize = 0");
        has("lb.toml:3:", "max = -1");
        has("lb.toml:4:", "tcp_establised");
        has("lb.toml:4:", "timeouts.udp = 0");
        assert_eq!(errs.len(), 6);
    }

    #[test]
    fn a_child_s_fields_and_timeouts_win() {
        let (parent, _) = load("hashsize = 1024\ntimeouts = { udp = 30, icmp = 10 }\n");
        let (child, _) = load("max = 10\ntimeouts = { udp = 60 }\n");
        let m = parent.merge(child);
        assert_eq!(m.hashsize.unwrap().value, 1024);
        assert_eq!(m.max.unwrap().value, 10);
        assert_eq!(m.timeouts["udp"].value, 60);
        assert_eq!(m.timeouts["icmp"].value, 10);
    }
}
