//! The state dir's safety checks: it and every file in it must be owned by us or root,
//! writable by no one else and no symlink (snapshots decide what rollback writes as root, as
//! sshd's StrictModes refuses such key files); reads never follow a link or block on a FIFO,
//! writes are atomic and 0600 in directories created 0700.

use std::fs::{self, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use super::error::io_err;
use super::{Store, StoreError};

/// Refuses a symlink, anything writable by group or others, and anything owned by another
/// user than us or root.
pub(super) fn check_meta(path: &Path, meta: &fs::Metadata, dir: bool) -> Result<(), StoreError> {
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
    pub(super) fn snapshots_dir(&self) -> PathBuf {
        self.dir.join("snapshots")
    }

    /// Checks the state dir and its snapshots dir; `Ok(false)` when the state dir does not
    /// exist (nothing recorded yet).
    pub(super) fn check_dirs(&self) -> Result<bool, StoreError> {
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
    pub(super) fn ensure(&self) -> Result<(), StoreError> {
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
    pub(super) fn read_file(&self, path: &Path) -> Result<Option<Vec<u8>>, StoreError> {
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

    /// Writes a state file atomically and durably, mode 0600, after [`Store::ensure`].
    pub(super) fn write_file(&self, path: &Path, body: &[u8]) -> Result<(), StoreError> {
        self.ensure()?;
        crate::atomic::write(path, body, crate::atomic::Mode::Always(0o600)).map_err(io_err(path))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::snapshot::Kept;

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
    fn a_fifo_in_the_state_dir_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        store.write_state("x", b"1").unwrap();
        nix::unistd::mkfifo(
            &dir.path().join("fifo"),
            nix::sys::stat::Mode::from_bits_truncate(0o600),
        )
        .unwrap();
        let err = store.read_state("fifo").unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
    }
}
