//! The `[[nic]]` section: which interfaces a rule covers, and planning its knobs interface by
//! interface in registry order. Each knob's work lives in its own file (`ring.rs`,
//! `channels.rs`, ...), listed in `registry.rs`.

use std::collections::BTreeMap;

use toml::Spanned;

pub use super::channels::ChannelSpec;
pub use super::ifglob::IfGlob;
pub use super::irq::IrqCpus;
pub use super::nic_knob::{AnyNicKnob, Count, EvidenceHint, InRule, NicKnob};
pub use super::ring::RingSpec;
use crate::cpulist::CpuList;
use crate::host::{Host, paths};
use crate::knobs::cx::{Cache, PlanCx};
pub use crate::knobs::registry::NicRule;
use crate::knobs::registry::{NIC_KNOBS, nic_knob};
use crate::knobs::{Entry, Item, Kind, Status};
use crate::schema::{Locator, ProfileError};
use crate::types::{IfName, RawIfName};

impl NicRule {
    /// Checks what the types cannot, knob by knob (each knob's `validate`), and a rule that
    /// sets nothing.
    pub fn validate(r: Spanned<NicRule>, loc: &Locator, errs: &mut Vec<ProfileError>) -> NicRule {
        let at = loc.at(r.span());
        let r = r.into_inner();
        for k in NIC_KNOBS {
            k.validate(&r, &at, errs);
        }
        if r.kinds().is_empty() {
            errs.push(ProfileError::invalid(
                at,
                format!("[[nic]] rule sets nothing; give {}", knob_fields()),
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

/// The rule keys of every knob, for the "sets nothing" message: `a, b or c`.
fn knob_fields() -> String {
    let fields: Vec<&str> = NIC_KNOBS.iter().map(|k| k.field()).collect();
    match fields.split_last() {
        Some((last, [])) => (*last).to_string(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// A NIC knob to plan again on one interface in the middle of an apply, after a change that
/// makes its plan stale (see [`NicKnob::stale_after`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Replan {
    pub iface: IfName,
    /// The knob, by its kind.
    pub knob: Kind,
    pub rule: NicRule,
}

impl Replan {
    /// The knob's report kind.
    pub fn kind(&self) -> Kind {
        self.knob
    }

    /// The kinds whose change makes this plan stale.
    pub fn after(&self) -> &'static [Kind] {
        nic_knob(self.knob).map_or(&[], |k| k.stale_after())
    }

    /// Whether a change of `kind` on `iface` makes this plan stale.
    pub fn stale_after(&self, kind: Kind, iface: &IfName) -> bool {
        &self.iface == iface && self.after().contains(&kind)
    }

    /// Plans the knob again on a fresh context (the host changed since the plan).
    pub fn plan(&self, host: Host) -> Vec<Entry> {
        let cache = Cache::default();
        let cx = PlanCx::new(host, &cache);
        let Some(knob) = nic_knob(self.knob) else {
            return Vec::new();
        };
        let mut out = knob.plan(&self.rule, &self.iface, &cx);
        knob.review(Some(&self.rule), &self.iface, &[], &mut out, &cx);
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
        let setters = |k: &dyn AnyNicKnob<NicRule>| -> Vec<usize> {
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
        // This interface's entries so far, for each knob's review of the earlier ones.
        let start = out.len();
        for &k in NIC_KNOBS {
            let setter = setters(k).first().copied();
            let audited = || {
                k.audited_with()
                    .iter()
                    .any(|&a| nic_knob(a).is_some_and(|a| !setters(a).is_empty()))
            };
            if setter.is_none() && !audited() {
                continue;
            }
            let rule = setter.map(|n| &rules[n]);
            let mut entries = rule.map_or_else(Vec::new, |r| k.plan(r, &iface, cx));
            k.review(rule, &iface, &out[start..], &mut entries, cx);
            for e in &mut entries {
                e.iface = Some(iface.clone());
            }
            out.extend(entries);
            let Some(n) = setter else { continue };
            if !k.stale_after().is_empty() {
                replan.push(Replan {
                    iface: iface.clone(),
                    knob: k.kind(),
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

/// The CPUs every `[[nic]] irq_cpus` resolves to, on every interface its rule covers.
pub fn irq_cpus_in_use(rules: &[NicRule], cx: &PlanCx) -> Result<CpuList, String> {
    let mut all = Vec::new();
    for rule in rules {
        let Some(cpus) = &rule.irq_cpus else { continue };
        for iface in resolve(rule, cx) {
            all.extend_from_slice(super::irq::resolve_cpus(cpus, &iface, cx)?.cpus());
        }
    }
    if all.is_empty() {
        return Err(
            "mode = \"banned\" bans the CPUs of [[nic]] irq_cpus, and no rule gives \
                    irq_cpus for an interface on this host"
                .into(),
        );
    }
    Ok(CpuList::from_cpus(all))
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
