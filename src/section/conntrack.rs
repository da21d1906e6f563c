//! `[conntrack]` as a section: field by field the child wins (timeouts by name); see
//! [`crate::knobs::conntrack`].

use serde::{Serialize, Serializer};

use super::{Run, Section};
use crate::knobs::Entry;
use crate::knobs::conntrack::{self, Conntrack, RawConntrack};
use crate::schema::{Locator, ProfileError};

/// The `[conntrack]` section.
pub struct Conntracks;

impl Section for Conntracks {
    const TABLE: &'static str = "conntrack";
    type Raw = RawConntrack;
    type Value = Conntrack;

    fn validate(raw: RawConntrack, loc: &Locator, errs: &mut Vec<ProfileError>) -> Conntrack {
        raw.validate(loc, errs)
    }

    fn merge(parent: Conntrack, child: Conntrack) -> Conntrack {
        parent.merge(child)
    }

    fn show<S: Serializer>(v: &Conntrack, s: S) -> Result<S::Ok, S::Error> {
        v.serialize(s)
    }

    fn plan(v: &Conntrack, run: &mut Run) -> Vec<Entry> {
        conntrack::plan(v, &run.cx)
    }
}
