//! `[[nic]]` as a section: a child file's rules replace its parent's, each rule is checked by
//! `NicRule::validate`, and planning is `knobs::nic::plan` (per interface, each knob of the
//! registry in order), whose re-planning mid-apply the run keeps.

use serde::{Serialize, Serializer};
use toml::Spanned;

use super::{Profile, Run, Section};
use crate::knobs::Entry;
use crate::knobs::lint;
use crate::knobs::nic::{self, NicRule};
use crate::schema::{Locator, ProfileError};

/// The `[[nic]]` rules.
pub struct Nic;

impl Section for Nic {
    const TABLE: &'static str = "nic";
    const IFACES: bool = true;
    type Raw = Vec<Spanned<NicRule>>;
    type Value = Vec<NicRule>;

    fn validate(raw: Self::Raw, loc: &Locator, errs: &mut Vec<ProfileError>) -> Vec<NicRule> {
        raw.into_iter()
            .map(|r| NicRule::validate(r, loc, errs))
            .collect()
    }

    fn show<S: Serializer>(v: &Vec<NicRule>, s: S) -> Result<S::Ok, S::Error> {
        v.serialize(s)
    }

    fn plan(v: &Vec<NicRule>, run: &mut Run) -> Vec<Entry> {
        let (mut entries, replan) = nic::plan(v, &run.cx);
        // The lints look at `features` only: nothing to read on the host without them.
        if v.iter().any(|r| r.features.is_some()) {
            // What makes the host forward: a forwarding key this profile sets to 1, or a live one.
            let set_here = run.profile.sysctl.iter().find_map(|s| {
                let key = s.key.segments().join(".");
                let on = s.value.exact().is_some_and(|v| v.trim() == "1");
                lint::FORWARDING.into_iter().find(|k| on && *k == key)
            });
            let forwarding = set_here.or_else(|| lint::live_forwarding(&run.cx));
            lint::forwarding(v, forwarding, &run.cx, &mut entries);
        }
        run.replan.extend(replan);
        run.raw.nic(v, &run.cx);
        entries
    }

    fn get(p: &Profile) -> Option<&Vec<NicRule>> {
        p.nic.as_ref()
    }

    fn put(p: &mut Profile, v: Option<Vec<NicRule>>) {
        p.nic = v;
    }

    fn take(p: &mut Profile) -> Option<Vec<NicRule>> {
        p.nic.take()
    }
}
