//! The locks of the state dir: one apply or rollback at a time (`lock`), one agent per state
//! dir (`agent.lock`, holding its pid and profile), and the probes that tell whether an agent
//! holds it.

use std::fs::{self, File, OpenOptions};
use std::time::{Duration, Instant};

use nix::fcntl::{Flock, FlockArg};

use super::error::io_err;
use super::safety::check_meta;
use super::{Store, StoreError};

const AGENT_LOCK: &str = "agent.lock";

/// Holds the state directory's lock until dropped.
#[derive(Debug)]
pub struct Lock(#[allow(dead_code)] Flock<File>);

impl Store {
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn the_agent_lock_is_exclusive_and_names_its_holder() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        assert!(store.check_no_agent().is_ok());
        let _held = store.agent_lock("web").unwrap();
        let me = std::process::id();
        assert_eq!(store.agent_lock_owner(), Some((me, "web".into())));
        let err = store.check_no_agent().unwrap_err().to_string();
        assert!(err.contains(&format!("pid {me}, profile web")), "{err}");
        assert!(matches!(
            store.agent_lock("db"),
            Err(StoreError::AgentRunning { .. })
        ));
    }
}
