//! `[conntrack]` as a section: field by field the child wins (timeouts by name); see
//! [`crate::knobs::conntrack`].

use serde::{Serialize, Serializer};

use super::{Run, Section};
use crate::knobs::Entry;
use crate::knobs::conntrack::{self, ConntrackSection, RawConntrack};
use crate::schema::{Locator, ProfileError};

/// The `[conntrack]` section.
pub struct Conntrack;

impl Section for Conntrack {
    const TABLE: &'static str = "conntrack";
    type Raw = RawConntrack;
    type Value = ConntrackSection;

    fn validate(raw: RawConntrack, loc: &Locator, errs: &mut Vec<ProfileError>) -> ConntrackSection {
        raw.validate(loc, errs)
    }

    fn merge(parent: ConntrackSection, child: ConntrackSection) -> ConntrackSection {
        parent.merge(child)
    }

    fn show<S: Serializer>(v: &ConntrackSection, s: S) -> Result<S::Ok, S::Error> {
        v.serialize(s)
    }

    fn plan(v: &ConntrackSection, run: &mut Run) -> Vec<Entry> {
        conntrack::plan(v, &run.cx)
    }
}
