//! The `[[nic]]` section: which interfaces a rule covers and the queue settings it wants. The
//! per-knob work lives in `ring.rs`, `channels.rs`, `txqueuelen.rs` and `irq.rs`.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use toml::Spanned;

pub use super::ifglob::IfGlob;
use crate::cpulist::CpuList;
use crate::host::{Host, paths};
use crate::plan::{Entry, Item, Kind, Status};
use crate::profile::{Locator, ProfileError};
use crate::types::IfName;

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
    /// Checks what the types cannot: combined channels with separate rx/tx, empty `rings` or
    /// `channels`, a `"max"` queue length (there is no maximum to take), `irq_cpus` while IRQ
    /// placement is not part of the build, and a rule that sets nothing.
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
        let set = [
            self.channels.is_some(),
            self.rings.is_some(),
            self.txqueuelen.is_some(),
            self.irq_cpus.is_some(),
        ];
        KNOBS
            .into_iter()
            .zip(set)
            .filter_map(|(k, set)| set.then_some(k))
            .collect()
    }

    /// What `match` covers, for messages: the glob, or every physical NIC.
    fn target(&self) -> String {
        match &self.pattern {
            Some(g) => g.as_str().to_string(),
            None => "physical NICs".into(),
        }
    }
}

/// Plans every `[[nic]]` rule, interface by interface in name order, and per interface in the
/// order the kernel needs whichever rule sets each knob: channels, then rings, then
/// txqueuelen, then IRQ affinity (changing channels re-creates the queues and their IRQs).
///
/// A rule that matches nothing is one `skipped` item, so a typo in `match` shows in the report.
/// Two rules setting the same knob on one interface is an error: apply would write it twice
/// (flapping the link) and the snapshot would hold two earlier values for one place.
pub fn plan(rules: &[NicRule], host: &Host) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut covered: BTreeMap<IfName, Vec<usize>> = BTreeMap::new();
    for (n, rule) in rules.iter().enumerate() {
        let ifaces = resolve(rule, host);
        if ifaces.is_empty() {
            out.push(no_match(rule));
        }
        for iface in ifaces {
            covered.entry(iface).or_default().push(n);
        }
    }
    for (iface, ns) in covered {
        let setters = |k: Kind| -> Vec<usize> {
            ns.iter()
                .copied()
                .filter(|&n| rules[n].kinds().contains(&k))
                .collect()
        };
        let clashes: Vec<Entry> = KNOBS
            .iter()
            .filter_map(|&k| match setters(k)[..] {
                [first, second, ..] => Some(clash(&iface, k, first, second)),
                _ => None,
            })
            .collect();
        if !clashes.is_empty() {
            out.extend(clashes);
            continue;
        }
        for k in KNOBS {
            let Some(&n) = setters(k).first() else {
                continue;
            };
            let (rule, iface) = (&rules[n], &iface);
            out.extend(match k {
                Kind::Channels => super::channels::plan(rule, iface, host),
                Kind::Ring => super::ring::plan(rule, iface, host),
                Kind::Txqueuelen => super::txqueuelen::plan(rule, iface, host),
                _ => super::irq::plan(rule, iface, host),
            });
        }
    }
    out
}

/// The per-NIC knobs in apply order.
const KNOBS: [Kind; 4] = [
    Kind::Channels,
    Kind::Ring,
    Kind::Txqueuelen,
    Kind::IrqAffinity,
];

/// The error item of two rules (0-based) setting one knob on one interface.
fn clash(iface: &IfName, k: Kind, first: usize, second: usize) -> Entry {
    let why = format!(
        "{iface} is matched by [[nic]] rules {} and {}, which both set {k}",
        first + 1,
        second + 1
    );
    Entry::new(
        Item::new(k, iface.as_str(), "-", "-", Status::Error).note(why),
        None,
        None,
    )
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
