//! Planning every section of a profile in apply order, with what they share: the plan
//! context, the interfaces that sections planned earlier create in the same apply, the
//! interfaces with names that are not UTF-8 that they cover, and the NIC knobs to plan again
//! mid-apply.

use std::collections::BTreeMap;

use super::{List, Section, decls, order};
use crate::knobs::Entry;
use crate::knobs::cx::PlanCx;
use crate::knobs::nic::Replan;
use crate::knobs::raw_ifaces::Covered;
use crate::profile::Profile;
use crate::types::IfName;

/// One plan in progress.
pub struct Run<'a> {
    pub cx: PlanCx<'a>,
    pub profile: &'a Profile,
    /// Interfaces that a section planned earlier creates in this apply, with its table name.
    pub created: BTreeMap<IfName, &'static str>,
    /// Interfaces with names that are not UTF-8 that the sections planned so far cover.
    pub raw: Covered,
    /// NIC knobs to plan again after a change that makes their plan stale.
    pub replan: Vec<Replan>,
}

impl<'a> Run<'a> {
    /// A plan of `profile` on the host of `cx`.
    pub fn new(cx: PlanCx<'a>, profile: &'a Profile) -> Self {
        Self {
            cx,
            profile,
            created: BTreeMap::new(),
            raw: Covered::default(),
            replan: Vec::new(),
        }
    }

    /// The section that creates `iface` earlier in this apply, if one does.
    pub fn creator(&self, iface: &str) -> Option<&'static str> {
        self.created
            .iter()
            .find(|(n, _)| n.as_str() == iface)
            .map(|(_, t)| *t)
    }
}

/// Plans every section of `L` the profile has, in [`order`]. The interfaces with names that
/// are not UTF-8 are reported right after the last section that covers interfaces.
pub fn plan<L: List>(run: &mut Run) -> Vec<Entry> {
    let decls = decls::<L>();
    let order = order(&decls).unwrap_or_else(|why| {
        // The list is fixed at build time and its order is checked by a unit test.
        debug_assert!(false, "{why}");
        (0..decls.len()).collect()
    });
    let last_ifaces = order.iter().rposition(|&i| decls[i].ifaces);
    let mut entries = Vec::new();
    for (n, &i) in order.iter().enumerate() {
        entries.extend((decls[i].plan)(run));
        if Some(n) == last_ifaces {
            entries.extend(std::mem::take(&mut run.raw).items());
        }
    }
    entries
}

/// Plans section `S` if the profile has it, first recording the interfaces it creates.
pub(super) fn plan_one<S: Section>(run: &mut Run) -> Vec<Entry> {
    let profile = run.profile;
    let Some(v) = S::get(profile) else {
        return Vec::new();
    };
    for iface in S::creates(v, &run.cx) {
        run.created.entry(iface).or_insert(S::TABLE);
    }
    S::plan(v, run)
}
