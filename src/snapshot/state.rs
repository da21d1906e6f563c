//! Small state files of other modules (the agent's status, a pause) and the record of how
//! the last apply ended (`last-apply.json`, for the metrics).

use std::fs::{self, File};
use std::io;
use std::time::{SystemTime, UNIX_EPOCH};

use super::error::io_err;
use super::{Store, StoreError};

const LAST_RESULT: &str = "last-apply.json";

impl Store {
    /// Records how an apply ended, for the metrics (`last-apply.json`: success, when).
    pub fn record_apply(&self, profile: &str, success: bool) -> Result<(), StoreError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let body = serde_json::json!({"profile": profile, "success": success, "finished": now});
        self.write_file(&self.dir.join(LAST_RESULT), body.to_string().as_bytes())
    }

    /// Whether the last apply recorded is one of `profile` that failed: an apply that finds
    /// the host in sync then records its success, so that the metric stops saying failed.
    pub fn failed_last(&self, profile: &str) -> bool {
        matches!(self.last_result(), Ok(Some((p, false, _))) if p == profile)
    }

    /// How the last apply ended: (profile, success, finished as Unix seconds).
    pub fn last_result(&self) -> Result<Option<(String, bool, u64)>, StoreError> {
        let path = self.dir.join(LAST_RESULT);
        let Some(b) = self.read_file(&path)? else {
            return Ok(None);
        };
        let v: serde_json::Value =
            serde_json::from_slice(&b).map_err(|source| StoreError::Corrupt {
                path: path.clone(),
                what: "last apply record",
                error: source,
            })?;
        Ok(Some((
            v["profile"].as_str().unwrap_or_default().to_string(),
            v["success"].as_bool().unwrap_or(false),
            v["finished"].as_u64().unwrap_or(0),
        )))
    }

    /// Writes a small state file of another module (the agent's status, a pause) atomically,
    /// mode 0600, creating the state dir 0700 if needed. `name` is a bare file name.
    pub fn write_state(&self, name: &str, body: &[u8]) -> Result<(), StoreError> {
        self.write_file(&self.dir.join(name), body)
    }

    /// Reads a small state file (checked as every state file is); `None` when it, or the state
    /// dir, does not exist. Never creates anything.
    pub fn read_state(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.read_file(&self.dir.join(name))
    }

    /// Removes a small state file; `Ok(false)` when there was none.
    pub fn remove_state(&self, name: &str) -> Result<bool, StoreError> {
        let path = self.dir.join(name);
        match fs::remove_file(&path) {
            Ok(()) => {
                File::open(&self.dir)
                    .and_then(|d| d.sync_all())
                    .map_err(io_err(&self.dir))?;
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(StoreError::Io { path, source: e }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_apply_record_says_which_profile_failed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        assert_eq!(store.last_result().unwrap(), None);
        store.record_apply("web", false).unwrap();
        assert!(store.failed_last("web"));
        assert!(!store.failed_last("db"));
        store.record_apply("web", true).unwrap();
        assert!(!store.failed_last("web"));
        assert_eq!(store.last_result().unwrap().unwrap().0, "web");
    }

    #[test]
    fn state_files_are_written_read_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("s"));
        assert_eq!(store.read_state("pause").unwrap(), None, "no state dir yet");
        assert!(!dir.path().join("s").exists(), "reading creates nothing");
        store.write_state("pause", b"x").unwrap();
        assert_eq!(
            store.read_state("pause").unwrap().as_deref(),
            Some(&b"x"[..])
        );
        assert!(store.remove_state("pause").unwrap());
        assert!(!store.remove_state("pause").unwrap());
    }
}
