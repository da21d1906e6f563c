//! The `snapshots/` directory: saving a snapshot durably before the first change, reading
//! one or all of them (one unreadable file never hides the others), deleting one, and new ids.

use std::fs;
use std::io;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use super::format::check_id;
use super::time::civil;
use super::{Snapshot, Store, StoreError};

/// Every snapshot id in the state dir with its contents, or why they cannot be read.
pub type Listing = Vec<(String, Result<Snapshot, StoreError>)>;

impl Store {
    /// A new snapshot id: UTC time plus the process id, sortable by time.
    pub fn new_id() -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let (date, time) = civil(now.as_secs());
        format!(
            "{date}T{time}Z-{:03}-{}",
            now.subsec_millis(),
            std::process::id()
        )
        .replace(':', "")
    }

    /// Writes a snapshot atomically and durably (mode 0600).
    pub fn save(&self, snap: &Snapshot) -> Result<PathBuf, StoreError> {
        check_id(&snap.id)?;
        let path = self.snapshots_dir().join(format!("{}.json", snap.id));
        let body = serde_json::to_vec_pretty(snap).map_err(|e| StoreError::Corrupt {
            path: path.clone(),
            what: "snapshot",
            error: e,
        })?;
        self.write_file(&path, &body)?;
        Ok(path)
    }

    /// Reads one snapshot.
    pub fn load(&self, id: &str) -> Result<Snapshot, StoreError> {
        check_id(id)?;
        let path = self.snapshots_dir().join(format!("{id}.json"));
        let text = self
            .read_file(&path)?
            .ok_or_else(|| StoreError::NotFound(id.into()))?;
        serde_json::from_slice(&text).map_err(|source| StoreError::Corrupt {
            path,
            what: "snapshot",
            error: source,
        })
    }

    /// Every snapshot, oldest first, each read on its own: one unreadable file is reported
    /// in its place and does not hide the others.
    pub fn list(&self) -> Result<Listing, StoreError> {
        if !self.check_dirs()? {
            return Ok(Vec::new());
        }
        let dir = self.snapshots_dir();
        let rd = match fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(StoreError::Io {
                    path: dir,
                    source: e,
                });
            }
        };
        let mut ids: Vec<String> = rd
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                e.file_name()
                    .to_str()?
                    .strip_suffix(".json")
                    .filter(|id| check_id(id).is_ok())
                    .map(str::to_string)
            })
            .collect();
        ids.sort();
        Ok(ids
            .into_iter()
            .map(|id| {
                let s = self.load(&id);
                (id, s)
            })
            .collect())
    }

    /// Removes one snapshot (and its place in the rollback history).
    pub fn delete(&self, id: &str) -> Result<(), StoreError> {
        check_id(id)?;
        self.check_dirs()?;
        let path = self.snapshots_dir().join(format!("{id}.json"));
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(StoreError::NotFound(id.into()));
            }
            Err(e) => return Err(StoreError::Io { path, source: e }),
        }
        let mut h = self.history()?;
        if h.iter().any(|x| x == id) {
            h.retain(|x| x != id);
            self.set_history(&h)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knobs::Setting;
    use crate::snapshot::{Origin, now_rfc3339};

    #[test]
    fn snapshots_round_trip_with_private_modes() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("state"));
        let snap = Snapshot {
            id: Store::new_id(),
            profile: "web".into(),
            origin: Origin::Apply,
            created: now_rfc3339(),
            host: "h".into(),
            place: None,
            side: Vec::new(),
            settings: vec![Setting::Sysctl {
                key: "vm.swappiness".parse().unwrap(),
                value: "60\n".into(),
            }],
        };
        let path = store.save(&snap).unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            fs::metadata(store.dir()).unwrap().permissions().mode() & 0o777,
            0o700
        );
        assert_eq!(store.load(&snap.id).unwrap(), snap);
        assert_eq!(store.list().unwrap().len(), 1);
        store.push_history(&snap.id, None).unwrap();
        assert_eq!(store.last_apply().unwrap(), snap.id);
        store.delete(&snap.id).unwrap();
        assert!(matches!(store.load(&snap.id), Err(StoreError::NotFound(_))));
        assert!(matches!(store.load("../etc"), Err(StoreError::BadId(_))));
        assert!(matches!(store.last_apply(), Err(StoreError::NoLastApply)));
    }

    #[test]
    fn one_unreadable_snapshot_does_not_hide_the_others() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("s"));
        let snap = Snapshot {
            id: "a1".into(),
            profile: "web".into(),
            origin: Origin::Apply,
            created: now_rfc3339(),
            host: "h".into(),
            place: None,
            settings: Vec::new(),
            side: Vec::new(),
        };
        store.save(&snap).unwrap();
        fs::write(store.snapshots_dir().join("a0.json"), "{\"id\": \"a0\", ").unwrap();
        let l = store.list().unwrap();
        assert_eq!(l.len(), 2);
        assert!(matches!(l[0].1, Err(StoreError::Corrupt { .. })));
        assert_eq!(l[1].1.as_ref().unwrap(), &snap);
    }

    #[test]
    fn a_snapshot_outside_the_tuning_surface_is_refused_whole_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("s"));
        let good = Snapshot {
            id: "a1".into(),
            profile: "web".into(),
            origin: Origin::Apply,
            created: now_rfc3339(),
            host: "h".into(),
            place: None,
            settings: vec![Setting::IrqbalanceFile {
                path: "/etc/sysconfig/irqbalance".into(),
                contents: None,
            }],
            side: Vec::new(),
        };
        store.save(&good).unwrap();
        let sysctl = serde_json::json!({"kind": "sysctl", "key": "vm.swappiness", "value": "1"});
        let cases = [
            (
                serde_json::json!({"kind": "file", "path": "/etc/passwd", "contents": "x"}),
                "settings[1] (file /etc/passwd)",
            ),
            (
                serde_json::json!({"kind": "service", "unit": "sshd.service",
                                   "active": false, "enabled": false}),
                "settings[1] (service sshd.service)",
            ),
            (
                serde_json::json!({"kind": "sysctl", "key": "net/../../etc/x", "value": "1"}),
                "settings[1] (sysctl \"net/../../etc/x\")",
            ),
            (
                serde_json::json!({"kind": "rings", "iface": "../eth0", "rx": 1, "tx": 1}),
                "settings[1] (rings \"../eth0\")",
            ),
            (
                serde_json::json!({"kind": "vip", "iface": "lo", "addr": "10.0.0.1",
                                   "prefix": 33, "present": true}),
                "settings[1] (vip 10.0.0.1/33 on lo)",
            ),
            (
                serde_json::json!({"kind": "vip", "iface": "lo", "addr": "::1",
                                   "prefix": 129, "present": true}),
                "a prefix length above 128 bits",
            ),
        ];
        for (n, (entry, want)) in cases.iter().enumerate() {
            let id = format!("b{n}");
            let bad = serde_json::json!({"id": id, "profile": "web", "origin": "apply",
                "created": "x", "host": "h", "settings": [sysctl, entry]});
            let path = store.snapshots_dir().join(format!("{id}.json"));
            fs::write(&path, bad.to_string()).unwrap();
            let err = store.load(&id).unwrap_err().to_string();
            assert!(err.contains(&path.display().to_string()), "{err}");
            assert!(err.contains(want), "{want}: {err}");
            assert_eq!(err.lines().count(), 1, "{err}");
        }
        let l = store.list().unwrap();
        assert_eq!(l.len(), 1 + cases.len());
        assert_eq!(l[0].1.as_ref().unwrap(), &good);
        assert!(l[1..].iter().all(|(_, s)| s.is_err()));
        // The kept-values file is checked the same way.
        let kept = serde_json::json!({"x": {"asked": cases[1].0, "kept": cases[1].0}});
        fs::write(store.dir().join("kept.json"), kept.to_string()).unwrap();
        let err = store.kept().unwrap_err().to_string();
        assert!(err.contains("sshd.service"), "{err}");
    }
}
