//! `[dsr]` as a section: field by field the child wins, per-interface ARP keys in `[sysctl]`
//! are checked against it once parents are merged, and it applies after `[sysctl]`, whose
//! values (`disable_ipv6`) it judges its VIPs by.

use serde::{Serialize, Serializer};
use toml::Spanned;

use super::{Profile, Run, Section};
use crate::knobs::Entry;
use crate::knobs::cx::PlanCx;
use crate::types::IfName;
use crate::knobs::dsr::{self, DsrSection, iface_conflicts};
use crate::schema::{Locator, ProfileError};

/// The `[dsr]` section.
pub struct Dsr;

impl Section for Dsr {
    const TABLE: &'static str = "dsr";
    const AFTER: &'static [&'static str] = &["sysctl"];
    const IFACES: bool = true;
    type Raw = Spanned<DsrSection>;
    type Value = DsrSection;

    fn validate(raw: Self::Raw, loc: &Locator, errs: &mut Vec<ProfileError>) -> DsrSection {
        DsrSection::validate(raw, loc, errs)
    }

    fn merge(parent: DsrSection, child: DsrSection) -> DsrSection {
        parent.merge(child)
    }

    /// A per-interface ARP key in `[sysctl]`, which may come from another file.
    fn check(v: &DsrSection, p: &Profile, errs: &mut Vec<ProfileError>) {
        errs.extend(iface_conflicts(v, &p.sysctl));
        errs.extend(v.check_encap());
    }

    fn show<S: Serializer>(v: &DsrSection, s: S) -> Result<S::Ok, S::Error> {
        v.serialize(s)
    }

    /// The decapsulation device, which L3 DSR creates (or its module brings) in this apply.
    fn creates(v: &DsrSection, _: &PlanCx) -> Vec<IfName> {
        v.decap().map(|d| d.iface).into_iter().collect()
    }

    fn plan(v: &DsrSection, run: &mut Run) -> Vec<Entry> {
        let entries = dsr::plan(v, &run.profile.sysctl, &run.cx.host);
        run.raw.arp(&run.cx);
        entries
    }

    fn get(p: &Profile) -> Option<&DsrSection> {
        p.dsr.as_ref()
    }

    fn put(p: &mut Profile, v: Option<DsrSection>) {
        p.dsr = v;
    }

    fn take(p: &mut Profile) -> Option<DsrSection> {
        p.dsr.take()
    }
}
