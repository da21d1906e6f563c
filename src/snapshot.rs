//! The state directory: snapshots of replaced values, the apply/rollback lock, and the values
//! the kernel kept when it rounded what was asked.
//!
//! A snapshot is written atomically (temporary file, fsync, rename, fsync of the directory)
//! before the first change, so that a `kill -9` at any point of an apply leaves a complete
//! record that `hosttune rollback` restores. Then a journal names the transaction in flight
//! until it ends, so that the next run knows an apply was interrupted. The history lists the
//! snapshots of completed applies, newest last: `rollback` walks back through it.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};

use crate::knobs::Setting;

/// Default state directory.
pub const DEFAULT_DIR: &str = "/var/lib/hosttune";

/// Errors of the state directory, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("state dir {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}: not a valid {what}: {source}")]
    Corrupt {
        path: PathBuf,
        what: &'static str,
        source: serde_json::Error,
    },
    /// The state dir or a file in it could be changed by someone else, or is a symlink:
    /// snapshots decide what rollback writes as root, so they are refused (as sshd's
    /// StrictModes refuses such key files).
    #[error("state dir: refusing {path}: {why}")]
    Unsafe { path: PathBuf, why: String },
    #[error("snapshot {0:?} not found (see `hosttune snapshots list`)")]
    NotFound(String),
    #[error("snapshot id {0:?} is not valid (letters, digits, '.', '-' and '_' only)")]
    BadId(String),
    #[error(
        "another hosttune apply or rollback holds {0} (waited {1:?}); try again when it is done"
    )]
    Locked(PathBuf, Duration),
    #[error(
        "no snapshot to roll back to: no apply has completed since the last rollback (see \
         `hosttune snapshots list`)"
    )]
    NoLastApply,
    #[error(
        "a hosttune agent holds {path} ({who}): it enforces its profile, so an apply, a \
         rollback or a second agent beside it would fight it; stop the agent first (systemctl \
         stop hosttune-agent)"
    )]
    AgentRunning { path: PathBuf, who: String },
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

impl Origin {
    /// `apply`, `manual`, `rollback`.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Apply => "apply",
            Origin::Manual => "manual",
            Origin::Rollback => "rollback",
        }
    }
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
    /// Where it was taken (`--root`, network namespace); absent in older snapshots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<Place>,
    pub settings: Vec<Setting>,
    /// Values the kernel may change on its own when `settings` are written (another
    /// interface's `forwarding`, `accept_redirects`, the addresses and routes `disable_ipv6`
    /// drops, LRO): put back after them, keys first, then addresses, routes and LRO. Absent in
    /// older snapshots.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub side: Vec<Setting>,
}

impl Snapshot {
    /// Every recorded value in the order a rollback or an undo restores them: the settings in
    /// reverse order of the apply that recorded them (a VIP is re-added to its NIC before it
    /// leaves `lo`), then what their writes changed on the side, then IRQ affinity and RPS
    /// masks, since restoring channels re-creates a NIC's queues and their IRQs.
    pub fn restore_order(&self) -> Vec<&Setting> {
        let mut out: Vec<&Setting> = self.settings.iter().rev().collect();
        let mut side: Vec<&Setting> = self
            .side
            .iter()
            .filter(|s| !self.settings.iter().any(|x| x.address() == s.address()))
            .collect();
        side.sort_by_key(|s| crate::side::restore_rank(s));
        out.extend(side);
        out.sort_by_key(|s| crate::plan::restores_late(s));
        out
    }
}

/// Where a snapshot was taken: its values belong to that tree and network namespace only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    /// `--root` (`/` for the live host).
    pub root: String,
    /// The network namespace (`net:[4026531833]`), when it could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netns: Option<String>,
    /// Whether the tree was the live kernel (`/`, or the host's `/proc` and `/sys` mounted
    /// elsewhere in the same network namespace, as `/host` in a DaemonSet pod).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub live: bool,
}

impl Place {
    /// Whether a snapshot taken at `self` may be restored at `here`: the same tree, or two
    /// live trees (the kernel seen through `/` on the host and through `/host` in a pod is one
    /// kernel); and not another network namespace, where both are known.
    pub fn same_as(&self, here: &Place) -> bool {
        let live = |p: &Place| p.live || p.root == "/";
        let netns_ok = self.netns.is_none() || here.netns.is_none() || self.netns == here.netns;
        netns_ok && (self.root == here.root || (live(self) && live(here)))
    }
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "--root {}", self.root)?;
        if let Some(n) = &self.netns {
            write!(f, " in network namespace {n}")?;
        }
        Ok(())
    }
}

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
}

/// A value the kernel kept in place of the one asked (a rounded ring size, a normalised sysctl).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeptValue {
    pub asked: Setting,
    pub kept: Setting,
}

/// Kept values by setting address.
pub type Kept = BTreeMap<String, KeptValue>;

/// Every snapshot id in the state dir with its contents, or why they cannot be read.
pub type Listing = Vec<(String, Result<Snapshot, StoreError>)>;

/// The state directory.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

/// Holds the state directory's lock until dropped.
#[derive(Debug)]
pub struct Lock(#[allow(dead_code)] Flock<File>);

const HISTORY: &str = "history";
/// The single-entry history of earlier versions, still read.
const LAST_APPLY: &str = "last-apply";
const JOURNAL: &str = "journal.json";
const KEPT: &str = "kept.json";
const LAST_RESULT: &str = "last-apply.json";
const AGENT_LOCK: &str = "agent.lock";

/// Refuses a symlink, anything writable by group or others, and anything owned by another
/// user than us or root.
fn check_meta(path: &Path, meta: &fs::Metadata, dir: bool) -> Result<(), StoreError> {
    use std::os::unix::fs::MetadataExt;
    let unsafe_ = |why: String| {
        Err(StoreError::Unsafe {
            path: path.to_path_buf(),
            why,
        })
    };
    if meta.file_type().is_symlink() {
        return unsafe_("it is a symlink; give the real path".into());
    }
    if dir && !meta.is_dir() {
        return unsafe_("not a directory".into());
    }
    if !dir && !meta.is_file() {
        return unsafe_("not a regular file".into());
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return unsafe_(format!(
            "writable by group or others (mode {mode:04o}); use a directory that only its \
             owner can write, e.g. chmod go-w"
        ));
    }
    let me = nix::unistd::Uid::effective().as_raw();
    if meta.uid() != me && meta.uid() != 0 {
        return unsafe_(format!(
            "owned by uid {}, not by uid {me} or root",
            meta.uid()
        ));
    }
    Ok(())
}

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

    /// Checks the state dir and its snapshots dir; `Ok(false)` when the state dir does not
    /// exist (nothing recorded yet).
    fn check_dirs(&self) -> Result<bool, StoreError> {
        for d in [self.dir.clone(), self.snapshots_dir()] {
            match fs::symlink_metadata(&d) {
                Ok(m) => check_meta(&d, &m, true)?,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(d != self.dir),
                Err(e) => return Err(StoreError::Io { path: d, source: e }),
            }
        }
        Ok(true)
    }

    /// Creates the directories 0700 where absent (snapshots can hold site addresses); an
    /// existing one is used as it is, never chmod-ed, once it passes [`check_meta`].
    fn ensure(&self) -> Result<(), StoreError> {
        use std::os::unix::fs::DirBuilderExt;
        for d in [self.dir.clone(), self.snapshots_dir()] {
            match fs::symlink_metadata(&d) {
                Ok(m) => check_meta(&d, &m, true)?,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    fs::DirBuilder::new()
                        .recursive(true)
                        .mode(0o700)
                        .create(&d)
                        .map_err(io_err(&d))?;
                }
                Err(e) => return Err(StoreError::Io { path: d, source: e }),
            }
        }
        Ok(())
    }

    /// Reads a state file without following a symlink, checking its owner and mode on the
    /// open descriptor; `None` when it does not exist.
    fn read_file(&self, path: &Path) -> Result<Option<Vec<u8>>, StoreError> {
        use std::io::Read;
        use std::os::unix::fs::OpenOptionsExt;
        if !self.check_dirs()? {
            return Ok(None);
        }
        // O_NONBLOCK: a FIFO put in the state dir must not hang open(2); it is refused below.
        let mut f = match OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                return Err(StoreError::Unsafe {
                    path: path.to_path_buf(),
                    why: "it is a symlink; state files must be regular files".into(),
                });
            }
            Err(e) => {
                return Err(StoreError::Io {
                    path: path.to_path_buf(),
                    source: e,
                });
            }
        };
        let meta = f.metadata().map_err(io_err(path))?;
        check_meta(path, &meta, false)?;
        let mut buf = Vec::new();
        f.read_to_end(&mut buf).map_err(io_err(path))?;
        Ok(Some(buf))
    }

    fn write_file(&self, path: &Path, body: &[u8]) -> Result<(), StoreError> {
        self.ensure()?;
        crate::atomic::write(path, body, crate::atomic::Mode::Always(0o600)).map_err(io_err(path))
    }

    /// Takes the apply/rollback lock, waiting up to `wait` for another holder.
    pub fn lock(&self, wait: Duration) -> Result<Lock, StoreError> {
        use std::os::unix::fs::OpenOptionsExt;
        self.ensure()?;
        let path = self.dir.join("lock");
        let start = Instant::now();
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .map_err(|e| {
                if e.raw_os_error() == Some(libc::ELOOP) {
                    StoreError::Unsafe {
                        path: path.clone(),
                        why: "it is a symlink; state files must be regular files".into(),
                    }
                } else {
                    StoreError::Io {
                        path: path.clone(),
                        source: e,
                    }
                }
            })?;
        check_meta(&path, &file.metadata().map_err(io_err(&path))?, false)?;
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

    /// Takes the agent's lock for the life of the agent: one agent per state dir. The file
    /// holds the agent's pid and profile, for the message others get.
    pub fn agent_lock(&self, profile: &str) -> Result<Lock, StoreError> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        self.ensure()?;
        let path = self.dir.join(AGENT_LOCK);
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .map_err(io_err(&path))?;
        check_meta(&path, &file.metadata().map_err(io_err(&path))?, false)?;
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(mut l) => {
                let _ = l.set_len(0);
                let _ = writeln!(l, "{} {profile}", std::process::id());
                Ok(Lock(l))
            }
            Err((_, nix::errno::Errno::EWOULDBLOCK)) => Err(StoreError::AgentRunning {
                path: path.clone(),
                who: self.agent_holder().unwrap_or_else(|| "unknown".into()),
            }),
            Err((_, e)) => Err(StoreError::Io {
                path,
                source: e.into(),
            }),
        }
    }

    /// Fails when an agent holds this state dir: an apply or rollback beside it would fight
    /// the agent's enforcement.
    pub fn check_no_agent(&self) -> Result<(), StoreError> {
        use std::os::unix::fs::OpenOptionsExt;
        let path = self.dir.join(AGENT_LOCK);
        // O_NONBLOCK: a FIFO at that name must not hang open(2).
        let Ok(file) = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&path)
        else {
            return Ok(());
        };
        if !file.metadata().is_ok_and(|m| m.is_file()) {
            return Ok(());
        }
        match Flock::lock(file, FlockArg::LockSharedNonblock) {
            Ok(_) => Ok(()),
            Err((_, nix::errno::Errno::EWOULDBLOCK)) => Err(StoreError::AgentRunning {
                path,
                who: self.agent_holder().unwrap_or_else(|| "unknown".into()),
            }),
            Err(_) => Ok(()),
        }
    }

    fn agent_holder(&self) -> Option<String> {
        let t = fs::read_to_string(self.dir.join(AGENT_LOCK)).ok()?;
        let (pid, profile) = t.trim().split_once(' ')?;
        Some(format!("pid {pid}, profile {profile}"))
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
        let path = self.snapshots_dir().join(format!("{}.json", snap.id));
        let body = serde_json::to_vec_pretty(snap).map_err(|e| StoreError::Corrupt {
            path: path.clone(),
            what: "snapshot",
            source: e,
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
            source,
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
        self.write_file(&self.dir.join(HISTORY), body.as_bytes())?;
        let old = self.dir.join(LAST_APPLY);
        match fs::remove_file(&old) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(StoreError::Io {
                path: old,
                source: e,
            }),
            _ => Ok(()),
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
                    source,
                }),
        }
    }

    /// Records a transaction as in flight, durably.
    pub fn begin(&self, j: &Journal) -> Result<(), StoreError> {
        let path = self.dir.join(JOURNAL);
        let body = serde_json::to_vec_pretty(j).map_err(|source| StoreError::Corrupt {
            path: path.clone(),
            what: "transaction journal",
            source,
        })?;
        self.write_file(&path, &body)
    }

    /// Records that no transaction is in flight, durably.
    pub fn end(&self) -> Result<(), StoreError> {
        let path = self.dir.join(JOURNAL);
        match fs::remove_file(&path) {
            Ok(()) => File::open(&self.dir)
                .and_then(|d| d.sync_all())
                .map_err(io_err(&self.dir)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::Io { path, source: e }),
        }
    }

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
                source,
            })?;
        Ok(Some((
            v["profile"].as_str().unwrap_or_default().to_string(),
            v["success"].as_bool().unwrap_or(false),
            v["finished"].as_u64().unwrap_or(0),
        )))
    }

    /// Values the kernel kept in place of what was asked.
    pub fn kept(&self) -> Result<Kept, StoreError> {
        let path = self.dir.join(KEPT);
        match self.read_file(&path)? {
            None => Ok(Kept::new()),
            Some(t) => serde_json::from_slice(&t).map_err(|source| StoreError::Corrupt {
                path,
                what: "kept-values file",
                source,
            }),
        }
    }

    /// Saves kept values.
    pub fn save_kept(&self, kept: &Kept) -> Result<(), StoreError> {
        let path = self.dir.join(KEPT);
        let body = serde_json::to_vec_pretty(kept).map_err(|source| StoreError::Corrupt {
            path: path.clone(),
            what: "kept-values file",
            source,
        })?;
        self.write_file(&path, &body)
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
    fn a_snapshot_belongs_to_its_tree_or_to_the_live_kernel() {
        let p = |root: &str, netns: Option<&str>, live: bool| Place {
            root: root.into(),
            netns: netns.map(Into::into),
            live,
        };
        let host = Some("net:[4026531833]");
        let other = Some("net:[4026532001]");
        // One kernel seen through / and through a pod's /host, in one namespace.
        assert!(p("/host", host, true).same_as(&p("/", host, true)));
        assert!(p("/", host, false).same_as(&p("/host", host, true)));
        // Not across namespaces, nor between a live tree and a capture, nor two captures.
        assert!(!p("/host", host, true).same_as(&p("/", other, true)));
        assert!(!p("/", host, true).same_as(&p("/tmp/capture", host, false)));
        assert!(!p("/tmp/a", None, false).same_as(&p("/tmp/b", None, false)));
        assert!(p("/tmp/a", None, false).same_as(&p("/tmp/a", host, false)));
    }

    #[test]
    fn civil_dates_are_right() {
        assert_eq!(civil(0), ("19700101".into(), "00:00:00".into()));
        assert_eq!(civil(951_782_400), ("20000229".into(), "00:00:00".into()));
        assert_eq!(civil(1_795_226_645), ("20261121".into(), "02:04:05".into()));
    }

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
    fn an_existing_dir_keeps_its_mode_and_unsafe_ones_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        fs::create_dir(&state).unwrap();
        fs::set_permissions(&state, fs::Permissions::from_mode(0o755)).unwrap();
        let store = Store::new(&state);
        store.save_kept(&Kept::new()).unwrap();
        assert_eq!(
            fs::metadata(&state).unwrap().permissions().mode() & 0o7777,
            0o755
        );
        let open = dir.path().join("open");
        fs::create_dir(&open).unwrap();
        fs::set_permissions(&open, fs::Permissions::from_mode(0o1777)).unwrap();
        let err = Store::new(&open).lock(Duration::ZERO).unwrap_err();
        assert!(
            err.to_string()
                .contains("writable by group or others (mode 1777)"),
            "{err}"
        );
        assert_eq!(
            fs::metadata(&open).unwrap().permissions().mode() & 0o7777,
            0o1777
        );
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&state, &link).unwrap();
        let err = Store::new(&link).kept().unwrap_err();
        assert!(err.to_string().contains("symlink"), "{err}");
        std::os::unix::fs::symlink("/etc/hostname", state.join("journal.json")).unwrap();
        let err = store.journal().unwrap_err();
        assert!(err.to_string().contains("symlink"), "{err}");
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
