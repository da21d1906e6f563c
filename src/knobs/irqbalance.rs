//! The `[irqbalance]` knob: keep irqbalance from moving the IRQs hosttune pins.

use serde::{Deserialize, Serialize};

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
