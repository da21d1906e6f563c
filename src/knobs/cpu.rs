//! The `[cpu]` knob: the isolated CPUs the host was booted with (`isolcpus=`). It cannot be
//! changed at run time: audit compares it and prints the kernel command line to add.

use serde::{Deserialize, Serialize};

use crate::cpulist::CpuList;
use crate::host::Host;
use crate::plan::Entry;

/// The `[cpu]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CpuSection {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isolated: Option<CpuList>,
}

impl CpuSection {
    /// Field by field, the child wins.
    pub fn merge(self, child: CpuSection) -> CpuSection {
        CpuSection {
            isolated: child.isolated.or(self.isolated),
        }
    }
}

/// Plans this knob. Placeholder until its issue lands; the section is rejected while loading
/// until then (see `WIRED` in `knobs/mod.rs`).
pub fn plan(_: &CpuSection, _: &Host) -> Vec<Entry> {
    Vec::new()
}
