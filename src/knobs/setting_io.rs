//! [`SettingIo`]: reading and writing single settings, as apply does them, so that a unit
//! test's stand-in for a knob that needs hardware, or a test build's fault wrapper, can take
//! the place of the real knobs ([`Knobs`]).

use super::{Item, KnobError, Setting};
use crate::host::Host;

/// Reads and writes single settings.
pub trait SettingIo {
    fn write(&self, host: &Host, s: &Setting) -> Result<(), KnobError>;
    fn read(&self, host: &Host, at: &Setting) -> Result<Setting, KnobError>;
    /// A forward write of an apply or rollback, for `item`: a plain write, unless a wrapper
    /// treats it otherwise (undo writes go through [`SettingIo::write`]).
    fn write_item(&self, host: &Host, _item: &Item, s: &Setting) -> Result<(), KnobError> {
        self.write(host, s)
    }
}

/// The real knobs: [`super::read`] and [`super::write`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Knobs;

impl SettingIo for Knobs {
    fn write(&self, host: &Host, s: &Setting) -> Result<(), KnobError> {
        super::write(host, s)
    }
    fn read(&self, host: &Host, at: &Setting) -> Result<Setting, KnobError> {
        super::read(host, at)
    }
}
