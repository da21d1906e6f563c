//! Replacing a file atomically: a temporary file in the same directory, fsync, rename over,
//! fsync of the directory. After a crash the file is the old one or the new one, never a torn
//! mix. Used for the state dir (mode 0600), report files (0644, or the existing file's mode,
//! so that an unprivileged node_exporter can read them) and configuration files under
//! `--root`.

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{self, Write};
use std::os::fd::BorrowedFd;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

/// What mode the new file gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Exactly this mode, whatever the old file had (state files: 0600).
    Always(u32),
    /// The old file's mode, or this one for a new file (reports, configuration files).
    KeepOr(u32),
}

/// Writes `body` to `path` atomically and durably. A bare file name is relative to the
/// current directory.
pub fn write(path: &Path, body: &[u8], mode: Mode) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mode = match mode {
        Mode::Always(m) => m,
        Mode::KeepOr(m) => match fs::metadata(path) {
            Ok(meta) => meta.permissions().mode() & 0o7777,
            Err(e) if e.kind() == io::ErrorKind::NotFound => m,
            Err(e) => return Err(e),
        },
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".hosttune-")
        .tempfile_in(dir)?;
    // tempfile creates 0600; set the final mode explicitly so the umask plays no part.
    tmp.as_file()
        .set_permissions(fs::Permissions::from_mode(mode))?;
    tmp.write_all(body)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    File::open(dir)?.sync_all()
}

/// [`write`] of `name` in the open directory `dir`, for a file that must stay inside a tree
/// (`--root`): the temporary file is created in `dir` (`O_EXCL`, never following a link), then
/// fsynced and renamed over `name` with renameat(2), and `dir` fsynced. A symlink at `name` is
/// replaced, never followed. `dir` must be opened for reading (fsync refuses `O_PATH`).
pub fn write_in(dir: BorrowedFd<'_>, name: &OsStr, body: &[u8], mode: u32) -> io::Result<()> {
    use nix::fcntl::{OFlag, openat, renameat};
    use nix::sys::stat::{Mode as M, fchmod};
    use nix::unistd::{UnlinkatFlags, fsync, unlinkat};
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let (tmp, fd) = loop {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .subsec_nanos();
        let tmp = format!(
            ".hosttune-{}-{}-{nanos:x}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let flags =
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        match openat(dir, tmp.as_str(), flags, M::from_bits_truncate(0o600)) {
            Ok(fd) => break (tmp, fd),
            Err(nix::errno::Errno::EEXIST) => continue,
            Err(e) => return Err(e.into()),
        }
    };
    let done = (|| -> io::Result<()> {
        // Set the final mode explicitly so the umask plays no part.
        fchmod(&fd, M::from_bits_truncate(mode))?;
        let mut f = File::from(fd);
        f.write_all(body)?;
        f.sync_all()?;
        renameat(dir, tmp.as_str(), dir, name)?;
        Ok(())
    })();
    if let Err(e) = done {
        let _ = unlinkat(dir, tmp.as_str(), UnlinkatFlags::NoRemoveDir);
        return Err(e);
    }
    Ok(fsync(dir)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_are_set_kept_and_relative_names_work() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("r.prom");
        write(&p, b"a\n", Mode::KeepOr(0o644)).unwrap();
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o644
        );
        fs::set_permissions(&p, fs::Permissions::from_mode(0o640)).unwrap();
        write(&p, b"b\n", Mode::KeepOr(0o644)).unwrap();
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o640
        );
        write(&p, b"c\n", Mode::Always(0o600)).unwrap();
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(fs::read(&p).unwrap(), b"c\n");
    }
}
