//! `[cpu]` as a section: the isolated CPUs the host should have been booted with, field by
//! field the child wins; audit only, nothing to write.

use serde::{Serialize, Serializer};

use super::{Profile, Run, Section};
use crate::knobs::Entry;
use crate::knobs::cpu::{self, CpuSection};
use crate::schema::{Locator, ProfileError};

/// The `[cpu]` section.
pub struct Cpu;

impl Section for Cpu {
    const TABLE: &'static str = "cpu";
    type Raw = CpuSection;
    type Value = CpuSection;

    /// Its types check everything while parsing.
    fn validate(raw: CpuSection, _: &Locator, _: &mut Vec<ProfileError>) -> CpuSection {
        raw
    }

    fn merge(parent: CpuSection, child: CpuSection) -> CpuSection {
        parent.merge(child)
    }

    fn show<S: Serializer>(v: &CpuSection, s: S) -> Result<S::Ok, S::Error> {
        v.serialize(s)
    }

    fn plan(v: &CpuSection, run: &mut Run) -> Vec<Entry> {
        cpu::plan(v, &run.cx)
    }

    fn get(p: &Profile) -> Option<&CpuSection> {
        p.cpu.as_ref()
    }

    fn put(p: &mut Profile, v: Option<CpuSection>) {
        p.cpu = v;
    }

    fn take(p: &mut Profile) -> Option<CpuSection> {
        p.cpu.take()
    }
}
