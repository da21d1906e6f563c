//! The state directory: snapshots of replaced values, the apply/rollback lock, and the values
//! the kernel kept when it rounded what was asked.
//!
//! A snapshot is written atomically (temporary file, fsync, rename, fsync of the directory)
//! before the first change, so that a `kill -9` at any point of an apply leaves a complete
//! record that `hosttune rollback` restores.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use crate::plan::Setting;

/// Default state directory.
pub const DEFAULT_DIR: &str = "/var/lib/hosttune";

/// Errors of the state directory, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("state dir {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("snapshot {path}: not a valid snapshot: {source}")]
    Corrupt {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("snapshot {0:?} not found (see `hosttune snapshots list`)")]
    NotFound(String),
    #[error("snapshot id {0:?} is not valid (letters, digits, '.', '-' and '_' only)")]
    BadId(String),
    #[error(
        "another hosttune apply or rollback holds {0} (waited {1:?}); try again when it is done"
    )]
    Locked(PathBuf, Duration),
    #[error(
        "no snapshot to roll back to: no apply has taken one yet (see `hosttune snapshots list`)"
    )]
    NoLastApply,
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What took a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Taken by `apply` before its first change.
    Apply,
    /// Taken by `hosttune snapshot PROFILE`.
    Manual,
    /// Taken by `rollback` before it changed anything, so a rollback can be undone too.
    Rollback,
}

/// Recorded values, restorable by `hosttune rollback ID`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub id: String,
    pub profile: String,
    pub origin: Origin,
    /// UTC, RFC 3339.
    pub created: String,
    pub host: String,
    pub settings: Vec<Setting>,
}

/// A value the kernel kept in place of the one asked (a rounded ring size, a normalised sysctl).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeptValue {
    pub asked: Setting,
    pub kept: Setting,
}

/// Kept values by setting address.
pub type Kept = BTreeMap<String, KeptValue>;

/// The state directory.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

/// Holds the state directory's lock until dropped.
#[derive(Debug)]
pub struct Lock(#[allow(dead_code)] Flock<File>);

impl Store {
    /// A store at `dir`; nothing is created until something is written.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn snapshots_dir(&self) -> PathBuf {
        self.dir.join("snapshots")
    }

    /// Creates the directories with mode 0700: snapshots can hold site addresses.
    fn ensure(&self) -> Result<(), StoreError> {
        for d in [self.dir.clone(), self.snapshots_dir()] {
            fs::create_dir_all(&d).map_err(io_err(&d))?;
            fs::set_permissions(&d, fs::Permissions::from_mode(0o700)).map_err(io_err(&d))?;
        }
        Ok(())
    }

    /// Takes the apply/rollback lock, waiting up to `wait` for another holder.
    pub fn lock(&self, wait: Duration) -> Result<Lock, StoreError> {
        self.ensure()?;
        let path = self.dir.join("lock");
        let start = Instant::now();
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(io_err(&path))?;
        loop {
            match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                Ok(l) => return Ok(Lock(l)),
                Err((f, nix::errno::Errno::EWOULDBLOCK)) if start.elapsed() < wait => {
                    file = f;
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err((_, nix::errno::Errno::EWOULDBLOCK)) => {
                    return Err(StoreError::Locked(path, wait));
                }
                Err((_, e)) => {
                    return Err(StoreError::Io {
                        path,
                        source: e.into(),
                    });
                }
            }
        }
    }

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
        self.ensure()?;
        let path = self.snapshots_dir().join(format!("{}.json", snap.id));
        let body = serde_json::to_vec_pretty(snap).map_err(|e| StoreError::Corrupt {
            path: path.clone(),
            source: e,
        })?;
        write_atomic(&path, &body)?;
        Ok(path)
    }

    /// Reads one snapshot.
    pub fn load(&self, id: &str) -> Result<Snapshot, StoreError> {
        check_id(id)?;
        let path = self.snapshots_dir().join(format!("{id}.json"));
        let text = match fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(StoreError::NotFound(id.into()));
            }
            Err(e) => return Err(StoreError::Io { path, source: e }),
        };
        serde_json::from_slice(&text).map_err(|source| StoreError::Corrupt { path, source })
    }

    /// Every snapshot, oldest first.
    pub fn list(&self) -> Result<Vec<Snapshot>, StoreError> {
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
                    .map(str::to_string)
            })
            .collect();
        ids.sort();
        ids.iter().map(|id| self.load(id)).collect()
    }

    /// Removes one snapshot.
    pub fn delete(&self, id: &str) -> Result<(), StoreError> {
        check_id(id)?;
        let path = self.snapshots_dir().join(format!("{id}.json"));
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(StoreError::NotFound(id.into())),
            Err(e) => Err(StoreError::Io { path, source: e }),
        }
    }

    /// Records which snapshot the last apply took (the default for `rollback`).
    pub fn set_last_apply(&self, id: &str) -> Result<(), StoreError> {
        self.ensure()?;
        write_atomic(&self.dir.join("last-apply"), id.as_bytes())
    }

    /// The snapshot the last apply took.
    pub fn last_apply(&self) -> Result<String, StoreError> {
        let path = self.dir.join("last-apply");
        match fs::read_to_string(&path) {
            Ok(id) if !id.trim().is_empty() => Ok(id.trim().to_string()),
            Ok(_) => Err(StoreError::NoLastApply),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(StoreError::NoLastApply),
            Err(e) => Err(StoreError::Io { path, source: e }),
        }
    }

    /// Values the kernel kept in place of what was asked.
    pub fn kept(&self) -> Result<Kept, StoreError> {
        let path = self.dir.join("kept.json");
        match fs::read(&path) {
            Ok(t) => {
                serde_json::from_slice(&t).map_err(|source| StoreError::Corrupt { path, source })
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Kept::new()),
            Err(e) => Err(StoreError::Io { path, source: e }),
        }
    }

    /// Saves kept values.
    pub fn save_kept(&self, kept: &Kept) -> Result<(), StoreError> {
        self.ensure()?;
        let path = self.dir.join("kept.json");
        let body = serde_json::to_vec_pretty(kept).map_err(|source| StoreError::Corrupt {
            path: path.clone(),
            source,
        })?;
        write_atomic(&path, &body)
    }
}

fn check_id(id: &str) -> Result<(), StoreError> {
    let ok = !id.is_empty()
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::BadId(id.into()))
    }
}

/// Temporary file in the same directory, fsync, rename over, fsync the directory: after a
/// crash the file is either the old one or the new one, never a torn mix.
pub fn write_atomic(path: &Path, body: &[u8]) -> Result<(), StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .tempfile_in(dir)
        .map_err(io_err(dir))?;
    tmp.as_file()
        .set_permissions(fs::Permissions::from_mode(0o600))
        .map_err(io_err(path))?;
    tmp.write_all(body).map_err(io_err(path))?;
    tmp.as_file().sync_all().map_err(io_err(path))?;
    tmp.persist(path).map_err(|e| StoreError::Io {
        path: path.to_path_buf(),
        source: e.error,
    })?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))?;
    Ok(())
}

/// UTC date and time of a Unix timestamp (proleptic Gregorian calendar).
fn civil(secs: u64) -> (String, String) {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Days-from-civil inverse (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        format!("{y:04}{m:02}{d:02}"),
        format!("{:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60),
    )
}

/// The current time as RFC 3339 UTC.
pub fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let (d, t) = civil(secs);
    format!("{}-{}-{}T{t}Z", &d[..4], &d[4..6], &d[6..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_are_right() {
        assert_eq!(civil(0), ("19700101".into(), "00:00:00".into()));
        assert_eq!(civil(951_782_400), ("20000229".into(), "00:00:00".into()));
        assert_eq!(civil(1_795_226_645), ("20261121".into(), "02:04:05".into()));
    }

    #[test]
    fn snapshots_round_trip_with_private_modes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("state"));
        let snap = Snapshot {
            id: Store::new_id(),
            profile: "web".into(),
            origin: Origin::Apply,
            created: now_rfc3339(),
            host: "h".into(),
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
        store.delete(&snap.id).unwrap();
        assert!(matches!(store.load(&snap.id), Err(StoreError::NotFound(_))));
        assert!(matches!(store.load("../etc"), Err(StoreError::BadId(_))));
    }

    #[test]
    fn a_second_lock_waits_then_fails() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let _held = store.lock(Duration::from_millis(10)).unwrap();
        let err = store.lock(Duration::from_millis(200)).unwrap_err();
        assert!(
            err.to_string()
                .contains("another hosttune apply or rollback"),
            "{err}"
        );
    }
}
