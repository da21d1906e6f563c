//! Ring buffer sizes (`ethtool -g/-G`).

use crate::host::Host;
use crate::knobs::KnobError;
use crate::knobs::nic::NicRule;
use crate::plan::{Entry, Setting};
use crate::types::IfName;

/// Plans this knob for one interface. Placeholder until its issue lands.
pub fn plan(_: &NicRule, _: &IfName, _: &Host) -> Vec<Entry> {
    Vec::new()
}

/// Writes one setting of this knob.
pub fn write(_: &Host, _: &Setting) -> Result<(), KnobError> {
    Err(KnobError::NotWired("rings"))
}

/// Reads the live value at a setting's address.
pub fn read(_: &Host, _: &Setting) -> Result<Setting, KnobError> {
    Err(KnobError::NotWired("rings"))
}
