//! The `[cpu]` knob: the isolated CPUs the host was booted with (`isolcpus=`). It cannot be
//! changed at run time: audit compares it and prints the kernel command line to add.

use serde::{Deserialize, Serialize};

use crate::cpulist::CpuList;

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
