//! The `[[nic]]` section: which interfaces a rule covers and the queue settings it wants. The
//! per-knob work lives in `ring.rs`, `channels.rs`, `txqueuelen.rs` and `irq.rs`.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use toml::Spanned;

use crate::cpulist::CpuList;
use crate::host::{Host, paths};
use crate::plan::{Entry, Item, Kind, Status};
use crate::profile::{Locator, ProfileError};
use crate::types::IfName;

/// A glob on interface names: `*`, `?` and `[a-z]` classes, as the shell matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IfGlob(String);

impl FromStr for IfGlob {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.is_empty() || s.len() > 64 {
            return Err(format!(
                "match {s:?}: a glob of 1 to 64 characters is expected"
            ));
        }
        if s.chars()
            .any(|c| c == '/' || c == ':' || c.is_whitespace() || c.is_control())
        {
            return Err(format!(
                "match {s:?}: interface names cannot contain '/', ':' or whitespace"
            ));
        }
        if !s.contains(['*', '?', '[']) && s.len() > 15 {
            return Err(format!(
                "match {s:?}: an interface name is at most 15 bytes"
            ));
        }
        if s.matches('[').count() != s.matches(']').count() {
            return Err(format!("match {s:?}: unbalanced '[' in glob"));
        }
        Ok(Self(s.to_string()))
    }
}

impl TryFrom<String> for IfGlob {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<IfGlob> for String {
    fn from(g: IfGlob) -> String {
        g.0
    }
}

impl IfGlob {
    /// Whether `name` matches the glob.
    pub fn matches(&self, name: &str) -> bool {
        glob(self.0.as_bytes(), name.as_bytes())
    }
}

fn glob(p: &[u8], s: &[u8]) -> bool {
    match p.first() {
        None => s.is_empty(),
        Some(b'*') => (0..=s.len()).any(|i| glob(&p[1..], &s[i..])),
        Some(b'?') => !s.is_empty() && glob(&p[1..], &s[1..]),
        Some(b'[') => {
            let Some(end) = p.iter().position(|&c| c == b']') else {
                return false;
            };
            let Some(&c) = s.first() else { return false };
            let class = &p[1..end];
            let (neg, class) = match class.first() {
                Some(b'!') | Some(b'^') => (true, &class[1..]),
                _ => (false, class),
            };
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == b'-' {
                    hit |= class[i] <= c && c <= class[i + 2];
                    i += 3;
                } else {
                    hit |= class[i] == c;
                    i += 1;
                }
            }
            hit != neg && glob(&p[end + 1..], &s[1..])
        }
        Some(&c) => s.first() == Some(&c) && glob(&p[1..], &s[1..]),
    }
}

/// A queue count or size: a positive number or `"max"`, the driver's pre-set maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    Max,
    N(u32),
}

impl fmt::Display for Count {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Count::Max => f.write_str("max"),
            Count::N(n) => write!(f, "{n}"),
        }
    }
}

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Count;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a positive number or \"max\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Count, E> {
                match u32::try_from(v) {
                    Ok(n) if n > 0 => Ok(Count::N(n)),
                    _ => Err(E::custom(format!(
                        "{v} is not a positive 32-bit count; use a number from 1 or \"max\""
                    ))),
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Count, E> {
                if v == "max" {
                    Ok(Count::Max)
                } else {
                    Err(E::custom(format!(
                        "{v:?} is not a count; use a number or \"max\""
                    )))
                }
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for Count {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Count::Max => s.serialize_str("max"),
            Count::N(n) => s.serialize_u32(*n),
        }
    }
}

/// `rings = { rx = 2047, tx = "max" }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RingSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rx: Option<Count>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx: Option<Count>,
}

/// `channels = { combined = 4 }` or `{ rx = 4, tx = 4 }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub combined: Option<Count>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rx: Option<Count>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx: Option<Count>,
}

/// Where a NIC's queue IRQs go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum IrqCpus {
    /// `/sys/devices/system/cpu/isolated`.
    Isolated,
    /// The device's `local_cpulist` (all CPUs when its `numa_node` is -1).
    Local,
    /// An explicit list.
    List(CpuList),
}

impl TryFrom<String> for IrqCpus {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        match s.as_str() {
            "isolated" => Ok(Self::Isolated),
            "local" => Ok(Self::Local),
            other => match other.parse::<CpuList>() {
                Ok(l) if !l.is_empty() => Ok(Self::List(l)),
                Ok(_) => Err("irq_cpus must not be empty".into()),
                Err(e) => Err(format!(
                    "irq_cpus must be \"isolated\", \"local\" or a CPU list: {e}"
                )),
            },
        }
    }
}

impl From<IrqCpus> for String {
    fn from(c: IrqCpus) -> String {
        match c {
            IrqCpus::Isolated => "isolated".into(),
            IrqCpus::Local => "local".into(),
            IrqCpus::List(l) => l.to_string(),
        }
    }
}

/// One `[[nic]]` rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NicRule {
    /// Omitted: every physical NIC (one with `/sys/class/net/IFACE/device`).
    #[serde(rename = "match", default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<IfGlob>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rings: Option<RingSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<ChannelSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub txqueuelen: Option<Count>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub irq_cpus: Option<IrqCpus>,
}

impl NicRule {
    /// Checks combinations the types cannot: combined channels with separate rx/tx, and a
    /// `"max"` queue length (there is no maximum to take).
    pub fn validate(r: Spanned<NicRule>, loc: &Locator, errs: &mut Vec<ProfileError>) -> NicRule {
        let at = loc.at(r.span());
        let r = r.into_inner();
        if let Some(c) = &r.channels {
            if c.combined.is_some() && (c.rx.is_some() || c.tx.is_some()) {
                errs.push(ProfileError::invalid(
                    at.clone(),
                    "channels: give combined, or rx/tx, not both",
                ));
            }
            if c.combined.is_none() && c.rx.is_none() && c.tx.is_none() {
                errs.push(ProfileError::invalid(
                    at.clone(),
                    "channels: give combined or rx/tx",
                ));
            }
        }
        if r.rings
            .as_ref()
            .is_some_and(|g| g.rx.is_none() && g.tx.is_none())
        {
            errs.push(ProfileError::invalid(
                at.clone(),
                "rings: give rx, tx or both",
            ));
        }
        if r.txqueuelen == Some(Count::Max) {
            errs.push(ProfileError::invalid(
                at.clone(),
                "txqueuelen has no driver maximum; give a number",
            ));
        }
        // Never silently ignore a key: IRQ placement is planned by `irq.rs`, which may not be
        // part of this build.
        if r.irq_cpus.is_some() && !super::is_wired("irq") {
            errs.push(ProfileError::invalid(
                at.clone(),
                "irq_cpus is not supported by this version of hosttune",
            ));
        }
        if r.kinds().is_empty() {
            errs.push(ProfileError::invalid(
                at,
                "[[nic]] rule sets nothing; give rings, channels, txqueuelen or irq_cpus",
            ));
        }
        r
    }

    /// The item kinds this rule sets, in apply order.
    pub fn kinds(&self) -> Vec<Kind> {
        [
            (self.channels.is_some(), Kind::Channels),
            (self.rings.is_some(), Kind::Ring),
            (self.txqueuelen.is_some(), Kind::Txqueuelen),
            (self.irq_cpus.is_some(), Kind::IrqAffinity),
        ]
        .into_iter()
        .filter_map(|(set, k)| set.then_some(k))
        .collect()
    }

    /// What `match` covers, for messages: the glob, or every physical NIC.
    fn target(&self) -> String {
        match &self.pattern {
            Some(g) => g.0.clone(),
            None => "physical NICs".into(),
        }
    }
}

/// Plans every `[[nic]]` rule: per matching interface, in the order the kernel needs,
/// channels, then rings, then txqueuelen, then IRQ affinity (changing channels re-creates the
/// queues and their IRQs).
///
/// A rule that matches nothing is one `skipped` item, so a typo in `match` shows in the report.
/// Two rules setting the same knob on one interface is an error: apply would write it twice
/// (flapping the link) and the snapshot would hold two earlier values for one place.
pub fn plan(rules: &[NicRule], host: &Host) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut claimed: Vec<(IfName, Kind, usize)> = Vec::new();
    for (n, rule) in rules.iter().enumerate() {
        let ifaces = resolve(rule, host);
        if ifaces.is_empty() {
            out.push(no_match(rule));
        }
        for iface in ifaces {
            let clashes: Vec<Entry> = rule
                .kinds()
                .into_iter()
                .filter_map(|k| {
                    let (_, _, first) = claimed.iter().find(|(i, c, _)| *i == iface && *c == k)?;
                    let why = format!(
                        "{iface} is matched by [[nic]] rules {} and {}, which both set {k}",
                        first + 1,
                        n + 1
                    );
                    Some(Entry::new(
                        Item::new(k, iface.as_str(), "-", "-", Status::Error).note(why),
                        None,
                        None,
                    ))
                })
                .collect();
            if !clashes.is_empty() {
                out.extend(clashes);
                continue;
            }
            claimed.extend(rule.kinds().into_iter().map(|k| (iface.clone(), k, n)));
            out.extend(super::channels::plan(rule, &iface, host));
            out.extend(super::ring::plan(rule, &iface, host));
            out.extend(super::txqueuelen::plan(rule, &iface, host));
            out.extend(super::irq::plan(rule, &iface, host));
        }
    }
    out
}

/// The one item of a rule that covers no interface on this host.
fn no_match(rule: &NicRule) -> Entry {
    let kind = rule.kinds().first().copied().unwrap_or(Kind::Channels);
    let target = rule.target();
    let note = match &rule.pattern {
        Some(_) => format!("no interface matches {target}"),
        None => "no interface matches: no physical NIC (none has a sysfs device link)".into(),
    };
    Entry::new(
        Item::new(kind, target, "-", "-", Status::Skipped).note(note),
        None,
        None,
    )
}

/// The interfaces a rule covers, sorted by name: those whose name matches `match`, or, when it
/// is omitted, every physical NIC (one with a `device` link in sysfs). `lo` never matches.
pub fn resolve(rule: &NicRule, host: &Host) -> Vec<IfName> {
    let names = host.fs.read_dir(&paths::net_class()).unwrap_or_default();
    names
        .iter()
        .filter(|n| n.as_str() != "lo")
        .filter_map(|n| n.parse::<IfName>().ok())
        .filter(|n| match &rule.pattern {
            Some(g) => g.matches(n.as_str()),
            None => host.fs.exists(&paths::net(n, "device")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_like_the_shell() {
        let g: IfGlob = "eth*".parse().unwrap();
        assert!(g.matches("eth0") && g.matches("eth") && !g.matches("veth0"));
        let g: IfGlob = "enp?s0f[0-1]".parse().unwrap();
        assert!(g.matches("enp3s0f1") && !g.matches("enp3s0f2") && !g.matches("enp33s0f1"));
        let g: IfGlob = "p2p[!1]".parse().unwrap();
        assert!(g.matches("p2p2") && !g.matches("p2p1"));
        assert!("eth/0".parse::<IfGlob>().is_err());
        assert!("eth[0".parse::<IfGlob>().is_err());
    }

    #[test]
    fn irq_cpus_forms() {
        assert_eq!(
            IrqCpus::try_from("isolated".to_string()),
            Ok(IrqCpus::Isolated)
        );
        assert_eq!(
            IrqCpus::try_from("6-10".to_string()),
            Ok(IrqCpus::List("6-10".parse().unwrap()))
        );
        assert!(IrqCpus::try_from("isolatd".to_string()).is_err());
    }
}
