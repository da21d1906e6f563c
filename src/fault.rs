//! The seam for fault injection around a transaction: a [`Faults`] wrapper, chosen where the
//! store is built (`snapshot::Store::new`; only builds with the `test-hooks` feature ever
//! have one, see `testing::hooks`), wraps the setting reads and writes of each transaction and
//! sees every write of the state dir that records its outcome. It sits below both the store
//! and the injector, so that neither imports the other's user (no cycle).

use std::fmt;
use std::io;

use crate::knobs::setting_io::SettingIo;
use crate::signals::Guard;

/// A write of the state dir that records a transaction's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// `kept.json`, the values the kernel kept.
    Kept,
    /// `history`, the rollback history.
    History,
    /// Removing `journal.json`: the transaction ends.
    End,
}

/// Whether a [`Stage`] is about to be written or was just written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Before,
    After,
}

/// A wrapper around a transaction's setting I/O and the store's writes.
pub trait Faults: Send + Sync + fmt::Debug {
    /// The setting I/O of one transaction: `io` wrapped. `signals` are what a pause waits
    /// for.
    fn wrap<'a>(
        &'a self,
        io: &'a dyn SettingIo,
        signals: Option<&'a Guard>,
    ) -> Box<dyn SettingIo + 'a>;
    /// Called before and after each write of `stage` to the state dir; an error fails that
    /// write (before: unwritten, after: written), and the store names its file.
    fn store(&self, stage: Stage, when: When) -> io::Result<()>;
}

impl Stage {
    /// The state file the stage writes.
    pub fn file(self) -> &'static str {
        match self {
            Stage::Kept => "kept.json",
            Stage::History => "history",
            Stage::End => "journal.json",
        }
    }
}
