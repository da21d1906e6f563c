//! Reading a file a user named (a profile, an `extends` parent, an `import` input): a
//! regular file under a size cap, or a clear error naming the path.
//!
//! The file is opened with `O_NONBLOCK`, so that a FIFO (or a device that waits for a
//! carrier) cannot hang open(2), and `O_NOCTTY`, so that a terminal does not become the
//! controlling one; then `fstat` on the open descriptor refuses anything but a regular file
//! before a byte is read (`/dev/zero` would otherwise be read until memory runs out). At most
//! `cap + 1` bytes are read, so a file that grows while it is read is refused too.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The largest profile or `import` input read: far above any real profile (the built-ins
/// are a few KiB; 20,000 sysctl keys are about 1 MiB).
pub const MAX_BYTES: u64 = 4 << 20;

/// Why a user-named file was not read.
#[derive(Debug, thiserror::Error)]
pub enum UserFileError {
    #[error("cannot read {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{}: is a directory, not a file", path.display())]
    Dir { path: PathBuf },
    #[error("{}: is {what}, not a regular file; refusing to read it", path.display())]
    NotRegular { path: PathBuf, what: &'static str },
    #[error("{}: larger than {} MiB; refusing to read it", path.display(), cap >> 20)]
    TooBig { path: PathBuf, cap: u64 },
}

/// What a file that is not regular is, for the message.
fn kind(ft: std::fs::FileType) -> &'static str {
    if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_char_device() {
        "a character device"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// Reads `path` whole if it is a regular file of at most `cap` bytes.
pub fn read(path: &Path, cap: u64) -> Result<Vec<u8>, UserFileError> {
    let io_err = |source| UserFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    let f: File = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(io_err)?;
    let meta = f.metadata().map_err(io_err)?;
    let ft = meta.file_type();
    if ft.is_dir() {
        return Err(UserFileError::Dir {
            path: path.to_path_buf(),
        });
    }
    if !ft.is_file() {
        return Err(UserFileError::NotRegular {
            path: path.to_path_buf(),
            what: kind(ft),
        });
    }
    let too_big = || UserFileError::TooBig {
        path: path.to_path_buf(),
        cap,
    };
    if meta.len() > cap {
        return Err(too_big());
    }
    let mut buf = Vec::with_capacity(meta.len() as usize);
    f.take(cap + 1).read_to_end(&mut buf).map_err(io_err)?;
    if buf.len() as u64 > cap {
        return Err(too_big());
    }
    Ok(buf)
}

/// [`read`], as UTF-8 text.
pub fn read_text(path: &Path, cap: u64) -> Result<String, UserFileError> {
    String::from_utf8(read(path, cap)?).map_err(|_| UserFileError::Io {
        path: path.to_path_buf(),
        source: io::Error::new(io::ErrorKind::InvalidData, "not UTF-8 text"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_under_the_cap_only() {
        let dir = tempfile::tempdir().unwrap();
        let ok = dir.path().join("ok.toml");
        std::fs::write(&ok, "x = 1\n").unwrap();
        assert_eq!(read_text(&ok, 6).unwrap(), "x = 1\n");
        let e = read(&ok, 5).unwrap_err();
        assert!(matches!(e, UserFileError::TooBig { .. }), "{e}");
        let e = read(Path::new("/dev/zero"), MAX_BYTES).unwrap_err();
        assert_eq!(
            e.to_string(),
            "/dev/zero: is a character device, not a regular file; refusing to read it"
        );
        assert!(matches!(
            read(dir.path(), 10),
            Err(UserFileError::Dir { .. })
        ));
        let fifo = dir.path().join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        // Without O_NONBLOCK this open would wait for a writer forever.
        let e = read(&fifo, 10).unwrap_err();
        assert!(e.to_string().contains("is a FIFO"), "{e}");
        let bad = dir.path().join("bad");
        std::fs::write(&bad, [0xff, 0xfe]).unwrap();
        assert!(
            read_text(&bad, 10)
                .unwrap_err()
                .to_string()
                .contains("not UTF-8")
        );
    }
}
