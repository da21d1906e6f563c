//! Retention: which snapshots `prune` keeps (README, "Snapshots and rollback").

use std::fs;
use std::io;

use super::{Origin, Store, StoreError};

/// How many snapshots beyond those the history needs [`Store::prune`] keeps for inspection
/// (failed transactions, superseded agent snapshots).
pub const KEEP_OTHERS: usize = 3;

impl Store {
    /// Keeps `snapshots/` bounded (README, "Snapshots and rollback", retention): every
    /// snapshot the rollback history names, the one of a transaction in flight, every manual
    /// snapshot (`hosttune snapshot`), the newest rollback's own snapshot (so the last rollback
    /// can be undone), and the [`KEEP_OTHERS`] newest of the rest (applies that failed and were
    /// undone, superseded agent snapshots), for inspection. Everything else is removed. An
    /// unreadable file is kept (`snapshots list` shows it). Returns the ids removed.
    pub fn prune(&self) -> Result<Vec<String>, StoreError> {
        let mut keep: std::collections::HashSet<String> = self.history()?.into_iter().collect();
        if let Ok(Some(j)) = self.journal() {
            keep.insert(j.snapshot);
        }
        let listing = self.list()?;
        let mut others = Vec::new();
        let mut newest_rollback = None;
        for (id, snap) in &listing {
            match snap {
                Err(_) => {
                    keep.insert(id.clone());
                }
                Ok(s) if s.origin == Origin::Manual => {
                    keep.insert(id.clone());
                }
                Ok(s) if s.origin == Origin::Rollback => newest_rollback = Some(id.clone()),
                Ok(_) => {}
            }
        }
        keep.extend(newest_rollback);
        for (id, _) in &listing {
            if !keep.contains(id) {
                others.push(id.clone());
            }
        }
        // `list` is oldest first: the newest of the rest stay.
        let cut = others.len().saturating_sub(KEEP_OTHERS);
        let mut removed = Vec::new();
        for id in &others[..cut] {
            let path = self.snapshots_dir().join(format!("{id}.json"));
            match fs::remove_file(&path) {
                Ok(()) => removed.push(id.clone()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(StoreError::Io { path, source: e }),
            }
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{Journal, Snapshot, now_rfc3339};

    #[test]
    fn retention_keeps_what_the_history_needs_and_three_more() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("s"));
        let snap = |id: &str, origin: Origin| Snapshot {
            id: id.into(),
            profile: "web".into(),
            origin,
            created: now_rfc3339(),
            host: "h".into(),
            place: None,
            settings: Vec::new(),
            side: Vec::new(),
        };
        // Ids sort oldest first.
        for (id, o) in [
            ("a01", Origin::Apply),
            ("a02", Origin::Manual),
            ("a03", Origin::Apply),
            ("a04", Origin::Rollback),
            ("a05", Origin::Apply),
            ("a06", Origin::Apply),
            ("a07", Origin::Rollback),
            ("a08", Origin::Apply),
            ("a09", Origin::Apply),
            ("a10", Origin::Apply),
            ("a11", Origin::Apply),
        ] {
            store.save(&snap(id, o)).unwrap();
        }
        fs::write(store.snapshots_dir().join("a00.json"), "{").unwrap();
        store.set_history(&["a01".into(), "a05".into()]).unwrap();
        store
            .begin(&Journal {
                snapshot: "a11".into(),
                origin: Origin::Apply,
                profile: "web".into(),
                pid: 1,
                started: now_rfc3339(),
                target: None,
                replaces: None,
            })
            .unwrap();
        let removed = store.prune().unwrap();
        assert_eq!(removed, vec!["a03", "a04", "a06"]);
        let left: Vec<String> = store
            .list()
            .unwrap()
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        // history a01 a05, in flight a11, manual a02, newest rollback a07, unreadable a00,
        // and the three newest others a08 a09 a10.
        assert_eq!(
            left,
            [
                "a00", "a01", "a02", "a05", "a07", "a08", "a09", "a10", "a11"
            ]
        );
        // Nothing more to remove.
        assert!(store.prune().unwrap().is_empty());
    }
}
