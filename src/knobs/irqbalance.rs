//! The `[irqbalance]` knob: keep irqbalance from moving the IRQs hosttune pins.

use serde::{Deserialize, Serialize};

use crate::host::Host;
use crate::knobs::KnobError;
use crate::plan::{Entry, Setting};
use crate::profile::Profile;

/// What to do with irqbalance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IrqbalanceMode {
    /// Stop and disable the service.
    Disabled,
    /// Ban the IRQ CPUs (`IRQBALANCE_BANNED_CPULIST`) and keep it running.
    Banned,
    /// Leave it alone.
    Unmanaged,
}

/// The `[irqbalance]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IrqbalanceSection {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<IrqbalanceMode>,
}

impl IrqbalanceSection {
    /// Field by field, the child wins.
    pub fn merge(self, child: IrqbalanceSection) -> IrqbalanceSection {
        IrqbalanceSection {
            mode: child.mode.or(self.mode),
        }
    }
}

/// Plans this knob. Placeholder until its issue lands; the section is rejected while loading
/// until then (see `WIRED` in `knobs/mod.rs`). It sees the whole profile because `banned`
/// bans the CPUs that `[[nic]] irq_cpus` uses.
pub fn plan(_: &IrqbalanceSection, _: &Profile, _: &Host) -> Vec<Entry> {
    Vec::new()
}

/// Writes one setting of this knob.
pub fn write(_: &Host, _: &Setting) -> Result<(), KnobError> {
    Err(KnobError::NotWired("irqbalance"))
}

/// Reads the live value at a setting's address.
pub fn read(_: &Host, _: &Setting) -> Result<Setting, KnobError> {
    Err(KnobError::NotWired("irqbalance"))
}
