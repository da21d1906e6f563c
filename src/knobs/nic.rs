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
use crate::knobs::cx::{Cache, PlanCx};
use crate::knobs::registry::NIC_KNOBS;
pub use crate::knobs::registry::NicRule;
use crate::knobs::{Entry, Item, Kind, Status};
use crate::schema::{Loc, Locator, ProfileError};
use crate::types::{IfName, RawIfName};

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
        for k in NIC_KNOBS {
            k.validate(&r, &at, errs);
        }
        if r.kinds().is_empty() {
            errs.push(ProfileError::invalid(
                at,
                "[[nic]] rule sets nothing; give channels, rings, txqueuelen, rps_cpus, \
                 rx_flow_hash or irq_cpus",
            ));
        }
        r
    }

    /// The item kinds this rule sets, in apply order.
    pub fn kinds(&self) -> Vec<Kind> {
        NIC_KNOBS
            .iter()
            .filter(|k| k.set_by(self))
            .map(|k| k.kind())
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

/// One per-interface knob of `[[nic]]`. Each lives in its own file, is listed once in
/// [`NIC_KNOBS`] (apply order), and splits its work into `observe` (reads the host) and a
/// pure `diff` (desired × observed → entries), which tests check with tables.
pub trait NicKnob: Sync {
    /// What `observe` found.
    type Observed;
    /// The report kind of its items.
    const KIND: Kind;
    /// Whether `rule` sets this knob.
    fn set_by(rule: &NicRule) -> bool;
    /// Checks of its part of a rule that the types cannot make, while loading.
    fn validate(_rule: &NicRule, _at: &Loc, _errs: &mut Vec<ProfileError>) {}
    /// Kinds whose change on an interface makes this knob's plan for it stale (changing
    /// channels re-creates the queues, their IRQs and their RPS masks): apply plans it again
    /// for that interface once those are written.
    fn stale_after() -> &'static [Kind] {
        &[]
    }
    /// Reads what the knob needs for one interface.
    fn observe(rule: &NicRule, iface: &IfName, cx: &PlanCx) -> Self::Observed;
    /// Desired against observed (pure).
    fn diff(rule: &NicRule, iface: &IfName, observed: Self::Observed) -> Vec<Entry>;
}

/// The object-safe face of a [`NicKnob`], for the registry.
pub trait AnyNicKnob: Sync {
    fn kind(&self) -> Kind;
    fn set_by(&self, rule: &NicRule) -> bool;
    fn validate(&self, rule: &NicRule, at: &Loc, errs: &mut Vec<ProfileError>);
    fn stale_after(&self) -> &'static [Kind];
    /// observe, then diff.
    fn plan(&self, rule: &NicRule, iface: &IfName, cx: &PlanCx) -> Vec<Entry>;
}

impl<K: NicKnob> AnyNicKnob for K {
    fn kind(&self) -> Kind {
        K::KIND
    }
    fn set_by(&self, rule: &NicRule) -> bool {
        K::set_by(rule)
    }
    fn validate(&self, rule: &NicRule, at: &Loc, errs: &mut Vec<ProfileError>) {
        K::validate(rule, at, errs)
    }
    fn stale_after(&self) -> &'static [Kind] {
        K::stale_after()
    }
    fn plan(&self, rule: &NicRule, iface: &IfName, cx: &PlanCx) -> Vec<Entry> {
        K::diff(rule, iface, K::observe(rule, iface, cx))
    }
}

/// A NIC knob to plan again on one interface in the middle of an apply, after a change that
/// makes its plan stale (see [`NicKnob::stale_after`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Replan {
    pub iface: IfName,
    /// Index into [`NIC_KNOBS`].
    pub knob: usize,
    pub rule: NicRule,
}

impl Replan {
    /// The knob's report kind.
    pub fn kind(&self) -> Kind {
        NIC_KNOBS[self.knob].kind()
    }

    /// Whether a change of `kind` on `iface` makes this plan stale.
    pub fn stale_after(&self, kind: Kind, iface: &IfName) -> bool {
        &self.iface == iface && NIC_KNOBS[self.knob].stale_after().contains(&kind)
    }

    /// Plans the knob again on a fresh context (the host changed since the plan).
    pub fn plan(&self, host: Host) -> Vec<Entry> {
        let cache = Cache::default();
        let cx = PlanCx::new(host, &cache);
        let mut out = NIC_KNOBS[self.knob].plan(&self.rule, &self.iface, &cx);
        for e in &mut out {
            e.iface = Some(self.iface.clone());
        }
        out
    }
}

/// Plans every `[[nic]]` rule, interface by interface in name order, and per interface the
/// knobs in registry order, each from whichever rule sets it. Also returns what apply must
/// plan again after a change that makes a knob's plan stale.
///
/// A rule that matches nothing is one `skipped` item, so a typo in `match` shows in the report.
/// Two rules setting the same knob on one interface is an error: apply would write it twice
/// (flapping the link) and the snapshot would hold two earlier values for one place.
pub fn plan(rules: &[NicRule], cx: &PlanCx) -> (Vec<Entry>, Vec<Replan>) {
    let mut out = Vec::new();
    let mut replan = Vec::new();
    let mut covered: BTreeMap<IfName, Vec<usize>> = BTreeMap::new();
    for (n, rule) in rules.iter().enumerate() {
        let ifaces = resolve(rule, cx);
        // An interface it covers whose name is not UTF-8 is reported on its own
        // (knobs::raw_ifaces): the rule matched something.
        if ifaces.is_empty() && resolve_raw(rule, cx).is_empty() {
            out.push(no_match(rule));
        }
        for iface in ifaces {
            covered.entry(iface).or_default().push(n);
        }
    }
    for (iface, ns) in covered {
        let setters = |k: &dyn AnyNicKnob| -> Vec<usize> {
            ns.iter()
                .copied()
                .filter(|&n| k.set_by(&rules[n]))
                .collect()
        };
        let clashes: Vec<Entry> = NIC_KNOBS
            .iter()
            .filter_map(|&k| match setters(k)[..] {
                [first, second, ..] => Some(clash(&iface, k.kind(), first, second)),
                _ => None,
            })
            .collect();
        if !clashes.is_empty() {
            out.extend(clashes);
            continue;
        }
        for (i, &k) in NIC_KNOBS.iter().enumerate() {
            let Some(&n) = setters(k).first() else {
                continue;
            };
            let mut entries = k.plan(&rules[n], &iface, cx);
            for e in &mut entries {
                e.iface = Some(iface.clone());
            }
            out.extend(entries);
            if !k.stale_after().is_empty() {
                replan.push(Replan {
                    iface: iface.clone(),
                    knob: i,
                    rule: rules[n].clone(),
                });
            }
        }
    }
    (out, replan)
}

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
pub fn resolve(rule: &NicRule, cx: &PlanCx) -> Vec<IfName> {
    cx.ifaces()
        .iter()
        .filter(|n| n.as_str() != "lo")
        .filter(|n| match &rule.pattern {
            Some(g) => g.matches(n.as_str()),
            None => cx.host.fs.exists(&paths::net(n, "device")),
        })
        .cloned()
        .collect()
}

/// The interfaces whose names are not UTF-8 that a rule covers, by the same test as
/// [`resolve`] (the glob matched byte by byte): never tuned, only reported.
pub fn resolve_raw<'c>(rule: &NicRule, cx: &PlanCx<'c>) -> Vec<&'c RawIfName> {
    cx.raw_ifaces()
        .iter()
        .filter(|n| match &rule.pattern {
            Some(g) => crate::knobs::ifglob::glob_matches_bytes(g.as_str(), n.as_bytes()),
            None => cx
                .host
                .fs
                .exists(&paths::net_class().join(n.as_os_str()).join("device")),
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
