//! What a per-NIC knob is: [`NicKnob`], which each knob file implements, and the object-safe
//! [`AnyNicKnob`] the registry lists. A knob owns everything about itself: the part of a
//! `[[nic]]` rule it reads (its `Spec`), validation, scope, what makes its plan stale, the
//! counters that are its evidence, and observe/diff. Nothing here knows the list of knobs.

use std::fmt;

use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::knobs::cx::PlanCx;
use crate::knobs::{Entry, Kind, Status};
use crate::schema::{Loc, ProfileError};
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

/// The counters that show whether a knob's change helps, named by the evidence module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvidenceHint {
    /// None known.
    None,
    /// The interface's own counters of these names (`/sys/class/net/IFACE/statistics`).
    NicStats(&'static [&'static str]),
    /// Interrupts of the planned IRQ counted on CPUs outside the knob's set.
    IrqOutside,
    /// The driver's counters of these names (`ethtool -S IFACE`, ETHTOOL_GSTATS). Names vary
    /// by driver, so the list holds each driver's and those the driver has are used; read
    /// only through a live NIC seam (none on an offline `--root` tree).
    EthtoolStats(&'static [&'static str]),
}

/// One per-interface knob of `[[nic]]`. Each lives in its own file, is listed once in the
/// registry (`nic_knobs!`, apply order), and splits its work into `observe` (reads the host)
/// and a pure `diff` (desired × observed → entries), which tests check with tables.
pub trait NicKnob: Sync {
    /// Its part of a `[[nic]]` rule, as written in the profile.
    type Spec: fmt::Debug + Clone + PartialEq + Serialize + DeserializeOwned;
    /// What `observe` found.
    type Observed;
    /// The report kind of its items.
    const KIND: Kind;
    /// Whether its settings belong to the whole host (`/proc/irq`) rather than to the
    /// network namespace: inside a namespace they are `skipped`, never written.
    const HOST_GLOBAL: bool = false;
    /// Whether a rule that has the knob's key sets anything (an empty table sets nothing).
    fn set_by(_spec: &Self::Spec) -> bool {
        true
    }
    /// Checks of its spec that the types cannot make, while loading.
    fn validate(_spec: &Self::Spec, _at: &Loc, _errs: &mut Vec<ProfileError>) {}
    /// Kinds whose change on an interface makes this knob's plan for it stale (changing
    /// channels re-creates the queues, their IRQs and their RPS masks): apply plans it again
    /// for that interface once those are written, and a rollback restores it after them.
    fn stale_after() -> &'static [Kind] {
        &[]
    }
    /// The counters that are evidence for its items.
    fn evidence() -> EvidenceHint {
        EvidenceHint::None
    }
    /// Kinds whose being set on an interface makes this knob look at it even when no rule
    /// sets it: [`NicKnob::review`] runs with no spec (an audit of what those changes leave).
    fn audited_with() -> &'static [Kind] {
        &[]
    }
    /// Checks the knob's items for one interface (`mine`, empty when no rule sets it)
    /// against what the knobs before it plan there (`earlier`, in apply order; empty when
    /// planned again mid-apply, where the host already shows those changes): checks across
    /// knobs, which may turn an item into an error or add one.
    fn review(
        _spec: Option<&Self::Spec>,
        _iface: &IfName,
        _earlier: &[Entry],
        _mine: &mut Vec<Entry>,
        _cx: &PlanCx,
    ) {
    }
    /// Reads what the knob needs for one interface.
    fn observe(spec: &Self::Spec, iface: &IfName, cx: &PlanCx) -> Self::Observed;
    /// Desired against observed (pure).
    fn diff(spec: &Self::Spec, iface: &IfName, observed: Self::Observed) -> Vec<Entry>;
}

/// Where a knob's spec sits in a rule: implemented for each knob by the registry's
/// `nic_knobs!` line, which also makes the rule's field.
pub trait InRule<Rule>: NicKnob {
    /// The rule's key (`rings`, `irq_cpus`).
    const FIELD: &'static str;
    fn spec(rule: &Rule) -> Option<&Self::Spec>;
}

/// The object-safe face of a [`NicKnob`], for the registry.
pub trait AnyNicKnob<Rule>: Sync {
    fn kind(&self) -> Kind;
    fn field(&self) -> &'static str;
    fn host_global(&self) -> bool;
    fn set_by(&self, rule: &Rule) -> bool;
    fn validate(&self, rule: &Rule, at: &Loc, errs: &mut Vec<ProfileError>);
    fn stale_after(&self) -> &'static [Kind];
    fn evidence(&self) -> EvidenceHint;
    /// observe, then diff; a host-global knob inside a network namespace is `skipped`.
    fn plan(&self, rule: &Rule, iface: &IfName, cx: &PlanCx) -> Vec<Entry>;
    fn audited_with(&self) -> &'static [Kind];
    /// [`NicKnob::review`] with the spec of `rule`, the rule that sets the knob if any.
    fn review(
        &self,
        rule: Option<&Rule>,
        iface: &IfName,
        earlier: &[Entry],
        mine: &mut Vec<Entry>,
        cx: &PlanCx,
    );
}

impl<Rule, K: InRule<Rule>> AnyNicKnob<Rule> for K {
    fn kind(&self) -> Kind {
        K::KIND
    }
    fn field(&self) -> &'static str {
        K::FIELD
    }
    fn host_global(&self) -> bool {
        K::HOST_GLOBAL
    }
    fn set_by(&self, rule: &Rule) -> bool {
        K::spec(rule).is_some_and(K::set_by)
    }
    fn validate(&self, rule: &Rule, at: &Loc, errs: &mut Vec<ProfileError>) {
        if let Some(spec) = K::spec(rule) {
            K::validate(spec, at, errs);
        }
    }
    fn stale_after(&self) -> &'static [Kind] {
        K::stale_after()
    }
    fn evidence(&self) -> EvidenceHint {
        K::evidence()
    }
    fn plan(&self, rule: &Rule, iface: &IfName, cx: &PlanCx) -> Vec<Entry> {
        let Some(spec) = K::spec(rule) else {
            return Vec::new();
        };
        let mut out = K::diff(spec, iface, K::observe(spec, iface, cx));
        if K::HOST_GLOBAL && cx.netns().skips_host_global() {
            for e in &mut out {
                if e.item.status != Status::Skipped {
                    e.item.status = Status::Skipped;
                    e.item.note = Some(crate::knobs::netns::HOST_GLOBAL.into());
                    e.desired = None;
                }
            }
        }
        out
    }
    fn audited_with(&self) -> &'static [Kind] {
        K::audited_with()
    }
    fn review(
        &self,
        rule: Option<&Rule>,
        iface: &IfName,
        earlier: &[Entry],
        mine: &mut Vec<Entry>,
        cx: &PlanCx,
    ) {
        K::review(rule.and_then(K::spec), iface, earlier, mine, cx);
    }
}
