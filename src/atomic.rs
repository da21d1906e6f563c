//! Replacing a file atomically: a temporary file in the same directory, fsync, rename over,
//! fsync of the directory. After a crash the file is the old one or the new one, never a torn
//! mix. Used for the state dir (mode 0600), report files (0644, or the existing file's mode,
//! so that an unprivileged node_exporter can read them) and configuration files under
//! `--root`.

use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

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
