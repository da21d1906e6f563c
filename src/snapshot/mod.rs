//! The state directory: snapshots of replaced values, the apply/rollback lock, and the values
//! the kernel kept when it rounded what was asked.
//!
//! A snapshot is written atomically (temporary file, fsync, rename, fsync of the directory)
//! before the first change, so that a `kill -9` at any point of an apply leaves a complete
//! record that `hosttune rollback` restores. Then a journal names the transaction in flight
//! until it ends, so that the next run knows an apply was interrupted. The history lists the
//! snapshots of completed applies, newest last: `rollback` walks back through it.
//!
//! [`Store`] is one type with its methods spread by responsibility: the file format
//! (`format`), the `snapshots/` directory (`snapshots`), the history, the journal, retention,
//! the kept values, the locks, small state files, and the safety checks every file passes
//! (`safety`).

pub mod error;
mod faults;
pub mod format;
pub mod history;
pub mod journal;
pub mod kept;
pub mod locks;
pub mod retention;
pub mod safety;
pub mod snapshots;
pub mod state;
pub mod time;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use crate::fault::{Faults, Stage, When};
pub use error::StoreError;
pub use format::{Origin, Place, Snapshot};
pub use journal::Journal;
pub use kept::{Kept, KeptValue};
pub use locks::Lock;
pub use retention::KEEP_OTHERS;
pub use snapshots::Listing;
pub use time::{now_rfc3339, now_unix, rfc3339};

/// Default state directory.
pub const DEFAULT_DIR: &str = "/var/lib/hosttune";

/// The state directory.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
    /// The fault wrapper of a test build, if `HOSTTUNE_FAULT` asks for one.
    faults: Option<Arc<dyn Faults>>,
}

impl Store {
    /// A store at `dir`; nothing is created until something is written. In builds with the
    /// `test-hooks` feature, `HOSTTUNE_FAULT` wraps it in the fault injector.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            faults: faults_from_env(),
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// The fault injector `HOSTTUNE_FAULT` asks for (test builds only).
#[cfg(feature = "test-hooks")]
fn faults_from_env() -> Option<Arc<dyn Faults>> {
    crate::testing::hooks::from_env()
}

/// Release builds carry no fault injection.
#[cfg(not(feature = "test-hooks"))]
fn faults_from_env() -> Option<Arc<dyn Faults>> {
    None
}
