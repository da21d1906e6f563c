//! `[irqbalance]` as a section: field by field the child wins; `banned` bans the CPUs that
//! the profile's `[[nic]]` rules place IRQs on.

use serde::{Serialize, Serializer};

use super::{Profile, Run, Section};
use crate::knobs::Entry;
use crate::knobs::irqbalance::{self, IrqbalanceSection};
use crate::schema::{Locator, ProfileError};

/// The `[irqbalance]` section.
pub struct Irqbalance;

impl Section for Irqbalance {
    const TABLE: &'static str = "irqbalance";
    type Raw = IrqbalanceSection;
    type Value = IrqbalanceSection;

    /// Its types check everything while parsing.
    fn validate(raw: Self::Raw, _: &Locator, _: &mut Vec<ProfileError>) -> IrqbalanceSection {
        raw
    }

    fn merge(parent: IrqbalanceSection, child: IrqbalanceSection) -> IrqbalanceSection {
        parent.merge(child)
    }

    fn show<S: Serializer>(v: &IrqbalanceSection, s: S) -> Result<S::Ok, S::Error> {
        v.serialize(s)
    }

    fn plan(v: &IrqbalanceSection, run: &mut Run) -> Vec<Entry> {
        let rules = run.profile.nic.as_deref().unwrap_or_default();
        irqbalance::plan(
            v,
            &|cx| crate::knobs::nic::irq_cpus_in_use(rules, cx),
            &run.cx,
        )
    }

    fn get(p: &Profile) -> Option<&IrqbalanceSection> {
        p.irqbalance.as_ref()
    }

    fn put(p: &mut Profile, v: Option<IrqbalanceSection>) {
        p.irqbalance = v;
    }

    fn take(p: &mut Profile) -> Option<IrqbalanceSection> {
        p.irqbalance.take()
    }
}
