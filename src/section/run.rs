//! Planning every section of a profile in apply order, with what they share: the plan
//! context, the interfaces that sections planned earlier create in the same apply, the
//! interfaces with names that are not UTF-8 that they cover, and the NIC knobs to plan again
//! mid-apply. Each section is planned through its [`Decl`]; the order itself is
//! [`super::order`]'s, which knows nothing of planning.

use std::collections::BTreeMap;

use super::order::{Deps, order};
use super::{List, Profile, Section, Visit};
use crate::knobs::Entry;
use crate::knobs::cx::PlanCx;
use crate::knobs::nic::Replan;
use crate::knobs::raw_ifaces::Covered;
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

/// What the planner needs of one section, without its types.
#[derive(Clone, Copy)]
pub struct Decl {
    pub table: &'static str,
    pub after: &'static [&'static str],
    pub before: &'static [&'static str],
    pub ifaces: bool,
    /// Plans the section if the profile has it (`plan_one`).
    pub plan: fn(&mut Run) -> Vec<Entry>,
}

impl Deps for Decl {
    fn table(&self) -> &'static str {
        self.table
    }
    fn after(&self) -> &'static [&'static str] {
        self.after
    }
    fn before(&self) -> &'static [&'static str] {
        self.before
    }
}

/// The declarations of a list, in list order.
pub fn decls<L: List>() -> Vec<Decl> {
    struct Collect(Vec<Decl>);
    impl Visit for Collect {
        fn visit<S: Section>(&mut self) {
            self.0.push(Decl {
                table: S::TABLE,
                after: S::AFTER,
                before: S::BEFORE,
                ifaces: S::IFACES,
                plan: plan_one::<S>,
            });
        }
    }
    let mut c = Collect(Vec::new());
    L::each(&mut c);
    c.0
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
fn plan_one<S: Section>(run: &mut Run) -> Vec<Entry> {
    let profile = run.profile;
    let Some(v) = S::get(profile) else {
        return Vec::new();
    };
    for iface in S::creates(v, &run.cx) {
        run.created.entry(iface).or_insert(S::TABLE);
    }
    S::plan(v, run)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_section_of_the_list_is_ordered_and_named_once() {
        let all = decls::<super::super::All>();
        let names: Vec<&str> = order(&all)
            .unwrap()
            .into_iter()
            .map(|i| all[i].table)
            .collect();
        assert_eq!(
            names,
            ["sysctl", "dsr", "nic", "cpu", "irqbalance", "conntrack"]
        );
        let mut tables: Vec<&str> = all.iter().map(|d| d.table).collect();
        tables.sort_unstable();
        tables.dedup();
        assert_eq!(tables.len(), all.len());
    }
}
