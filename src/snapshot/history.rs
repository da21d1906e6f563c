//! The rollback history (`history`): the snapshots of completed (or interrupted) applies,
//! oldest first, one id a line; `rollback` walks back through it. Earlier versions kept a
//! single `last-apply` file, still read.

use std::fs;
use std::io;

use super::format::check_id;
use super::{Store, StoreError};
use crate::fault::{Stage, When};

const HISTORY: &str = "history";
/// The single-entry history of earlier versions, still read.
const LAST_APPLY: &str = "last-apply";

impl Store {
    /// The snapshots of applies that completed (or were interrupted), oldest first: what
    /// `rollback` without an ID walks back through, newest first.
    pub fn history(&self) -> Result<Vec<String>, StoreError> {
        let path = self.dir.join(HISTORY);
        let body = match self.read_file(&path)? {
            Some(b) => b,
            None => match self.read_file(&self.dir.join(LAST_APPLY))? {
                Some(b) => b,
                None => return Ok(Vec::new()),
            },
        };
        Ok(String::from_utf8_lossy(&body)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && check_id(l).is_ok())
            .map(str::to_string)
            .collect())
    }

    /// Replaces the history.
    pub fn set_history(&self, ids: &[String]) -> Result<(), StoreError> {
        let mut body = ids.join("\n");
        if !body.is_empty() {
            body.push('\n');
        }
        self.tap(Stage::History, When::Before)?;
        self.write_file(&self.dir.join(HISTORY), body.as_bytes())?;
        let old = self.dir.join(LAST_APPLY);
        match fs::remove_file(&old) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(StoreError::Io {
                path: old,
                source: e,
            }),
            _ => self.tap(Stage::History, When::After),
        }
    }

    /// Adds an apply's snapshot on top of the history (or replaces `instead`, the snapshot
    /// of an interrupted apply that this one took over).
    pub fn push_history(&self, id: &str, instead: Option<&str>) -> Result<(), StoreError> {
        let mut h = self.history()?;
        h.retain(|x| x != id && Some(x.as_str()) != instead);
        h.push(id.to_string());
        self.set_history(&h)
    }

    /// The default rollback target: the newest apply in the history.
    pub fn last_apply(&self) -> Result<String, StoreError> {
        self.history()?.pop().ok_or(StoreError::NoLastApply)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_history_replaces_what_an_apply_took_over_and_reads_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        assert!(store.history().unwrap().is_empty());
        assert!(matches!(store.last_apply(), Err(StoreError::NoLastApply)));
        fs::write(dir.path().join(LAST_APPLY), "a1\n").unwrap();
        assert_eq!(store.history().unwrap(), ["a1"]);
        store.push_history("a2", None).unwrap();
        store.push_history("a3", Some("a2")).unwrap();
        assert_eq!(store.history().unwrap(), ["a1", "a3"]);
        assert!(!dir.path().join(LAST_APPLY).exists(), "the old file goes");
        assert_eq!(store.last_apply().unwrap(), "a3");
        fs::write(dir.path().join(HISTORY), "a1\n../x\n\na3\n").unwrap();
        assert_eq!(
            store.history().unwrap(),
            ["a1", "a3"],
            "bad ids are skipped"
        );
    }
}
