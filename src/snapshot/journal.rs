//! The journal of the transaction in flight (`journal.json`): written durably after its
//! snapshot and before its first write, removed when it ends. Found by the next run, it means
//! the one before was killed or lost power midway.

use std::fs::{self, File};
use std::io;

use serde::{Deserialize, Serialize};

use super::error::io_err;
use super::{Origin, Store, StoreError};
use crate::fault::{Stage, When};

const JOURNAL: &str = "journal.json";

/// The transaction in flight: written durably after its snapshot and before its first write,
/// removed when it ends (completed, or undone). Found by the next apply or rollback, it means
/// the one before was killed or lost power midway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Journal {
    /// The snapshot holding the values before the transaction.
    pub snapshot: String,
    pub origin: Origin,
    pub profile: String,
    pub pid: u32,
    /// UTC, RFC 3339.
    pub started: String,
    /// A rollback's target snapshot: the next `rollback` finishes restoring it (rather than
    /// walking back one apply more). Absent for applies and in older journals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The snapshot in the history that an apply's would take the place of (the agent's
    /// snapshot so far, an interrupted apply's): an interrupted apply's snapshot holds its
    /// values too, so it replaces it there as well.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
}

impl Store {
    /// The journal of a transaction that did not end, if any.
    pub fn journal(&self) -> Result<Option<Journal>, StoreError> {
        let path = self.dir.join(JOURNAL);
        match self.read_file(&path)? {
            None => Ok(None),
            Some(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(|source| StoreError::Corrupt {
                    path,
                    what: "transaction journal",
                    error: source,
                }),
        }
    }

    /// Records a transaction as in flight, durably.
    pub fn begin(&self, j: &Journal) -> Result<(), StoreError> {
        let path = self.dir.join(JOURNAL);
        let body = serde_json::to_vec_pretty(j).map_err(|source| StoreError::Corrupt {
            path: path.clone(),
            what: "transaction journal",
            error: source,
        })?;
        self.write_file(&path, &body)
    }

    /// Records that no transaction is in flight, durably.
    pub fn end(&self) -> Result<(), StoreError> {
        self.tap(Stage::End, When::Before)?;
        let path = self.dir.join(JOURNAL);
        match fs::remove_file(&path) {
            Ok(()) => File::open(&self.dir)
                .and_then(|d| d.sync_all())
                .map_err(io_err(&self.dir)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::Io { path, source: e }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_journal_lives_from_begin_to_end() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        assert_eq!(store.journal().unwrap(), None);
        let j = Journal {
            snapshot: "a1".into(),
            origin: Origin::Apply,
            profile: "web".into(),
            pid: 7,
            started: "2026-01-01T00:00:00Z".into(),
            target: None,
            replaces: Some("a0".into()),
        };
        store.begin(&j).unwrap();
        assert_eq!(store.journal().unwrap(), Some(j));
        store.end().unwrap();
        assert_eq!(store.journal().unwrap(), None);
        store.end().unwrap();
        fs::write(dir.path().join(JOURNAL), "{").unwrap();
        let err = store.journal().unwrap_err().to_string();
        assert!(err.contains("not a valid transaction journal"), "{err}");
    }
}
