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
    /// `FILE:LINE:COLUMN: not a valid snapshot: settings[3] (file /etc/x): ...`.
    #[error("{}", corrupt(path, what, error))]
    Corrupt {
        path: PathBuf,
        what: &'static str,
        error: serde_json::Error,
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

/// A JSON error as `FILE:LINE:COLUMN: not a valid WHAT: MESSAGE`, the place first as for a
/// profile (serde_json puts it after the message).
fn corrupt(path: &Path, what: &str, e: &serde_json::Error) -> String {
    let text = e.to_string();
    let at = format!(" at line {} column {}", e.line(), e.column());
    match text.strip_suffix(&at) {
        Some(msg) if e.line() > 0 => format!(
            "{}:{}:{}: not a valid {what}: {msg}",
            path.display(),
            e.line(),
            e.column()
        ),
        _ => format!("{}: not a valid {what}: {text}", path.display()),
    }
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

/// How many snapshots beyond those the history needs [`Store::prune`] keeps for inspection
/// (failed transactions, superseded agent snapshots).
pub const KEEP_OTHERS: usize = 3;

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
    /// Checked entry by entry as it is read: one outside the tuning surface refuses the
    /// whole snapshot (see [`crate::knobs::SettingOps::validate`]).
    #[serde(deserialize_with = "crate::knobs::setting::checked_list")]
    pub settings: Vec<Setting>,
    /// Values the kernel may change on its own when `settings` are written (another
    /// interface's `forwarding`, `accept_redirects`, the addresses and routes `disable_ipv6`
    /// drops, LRO): put back after them, keys first, then addresses, routes and LRO. Absent in
    /// older snapshots.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::knobs::setting::checked_list"
    )]
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

/// A value the kernel kept in place of the one asked (a rounded ring size, a normalised sysctl).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeptValue {
    #[serde(deserialize_with = "crate::knobs::setting::checked_one")]
    pub asked: Setting,
    #[serde(deserialize_with = "crate::knobs::setting::checked_one")]
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

    /// The pid and profile that the agent lock's file names, whether or not a process still
    /// holds it (see [`Store::agent_running`]).
    pub fn agent_lock_owner(&self) -> Option<(u32, String)> {
        let t = fs::read_to_string(self.dir.join(AGENT_LOCK)).ok()?;
        let (pid, profile) = t.trim().split_once(' ')?;
        Some((pid.parse().ok()?, profile.to_string()))
    }

    /// Whether a process holds the agent lock now, without taking it even for a moment (a
    /// probe that took it would make an agent starting at that instant fail): `/proc/locks`
    /// lists every flock with its owner's pid and the file's inode. Where `/proc/locks`
    /// cannot be read, a non-blocking shared lock is tried and released at once.
    pub fn agent_running(&self) -> Option<u32> {
        use std::os::unix::fs::MetadataExt;
        let path = self.dir.join(AGENT_LOCK);
        let ino = fs::metadata(&path).ok()?.ino();
        let (pid, _) = self.agent_lock_owner().unwrap_or((0, String::new()));
        match fs::read_to_string("/proc/locks") {
            Ok(locks) => locks.lines().find_map(|l| {
                // "1: FLOCK  ADVISORY  WRITE 812 fd:01:1234 0 EOF"
                let f: Vec<&str> = l.split_whitespace().collect();
                let holder: u32 = f.get(4)?.parse().ok()?;
                let file_ino: u64 = f.get(5)?.rsplit(':').next()?.parse().ok()?;
                (f.get(1) == Some(&"FLOCK")
                    && f.get(3) == Some(&"WRITE")
                    && file_ino == ino
                    && (pid == 0 || holder == pid))
                    .then_some(holder)
            }),
            Err(_) => {
                let file = File::open(&path).ok()?;
                match Flock::lock(file, FlockArg::LockSharedNonblock) {
                    Err((_, nix::errno::Errno::EWOULDBLOCK)) => Some(pid),
                    _ => None,
                }
            }
        }
    }

    /// Values the kernel kept in place of what was asked.
    pub fn kept(&self) -> Result<Kept, StoreError> {
        let path = self.dir.join(KEPT);
        match self.read_file(&path)? {
            None => Ok(Kept::new()),
            Some(t) => serde_json::from_slice(&t).map_err(|source| StoreError::Corrupt {
                path,
                what: "kept-values file",
                error: source,
            }),
        }
    }

    /// Saves kept values.
    pub fn save_kept(&self, kept: &Kept) -> Result<(), StoreError> {
        let path = self.dir.join(KEPT);
        let body = serde_json::to_vec_pretty(kept).map_err(|source| StoreError::Corrupt {
            path: path.clone(),
            what: "kept-values file",
            error: source,
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
    rfc3339(now_unix())
}

/// A Unix timestamp as RFC 3339 UTC (`2026-11-21T02:04:05Z`).
pub fn rfc3339(secs: u64) -> String {
    let (d, t) = civil(secs);
    format!("{}-{}-{}T{t}Z", &d[..4], &d[4..6], &d[6..])
}

/// Seconds since the Unix epoch.
pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

#[cfg(test)]
mod tests {

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
        fs::write(store.dir().join(KEPT), kept.to_string()).unwrap();
        let err = store.kept().unwrap_err().to_string();
        assert!(err.contains("sshd.service"), "{err}");
    }
}
