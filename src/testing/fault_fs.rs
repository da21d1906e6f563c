//! `FaultFs`: a [`Files`] wrapper that makes chosen writes fail with a chosen errno, as the
//! kernel does (`EIO` from the `smp_affinity_list` of a kernel-managed IRQ, `EINVAL` for a
//! CPU the IRQ cannot use, `ENOSPC` when a CPU's vectors are exhausted), and logs every
//! write, so that tests can inject those faults into a fixture tree and see what was written.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use nix::errno::Errno;

use crate::host::fs::Files;

#[derive(Debug, Default)]
struct State {
    /// (host path, errno, times left; `None` for always).
    faults: Vec<(PathBuf, Errno, Option<u32>)>,
    writes: Vec<PathBuf>,
}

/// Wraps another accessor; reads pass through, writes to a faulted path fail.
pub struct FaultFs<'a> {
    inner: &'a dyn Files,
    state: Mutex<State>,
}

impl<'a> FaultFs<'a> {
    /// No faults yet.
    pub fn new(inner: &'a dyn Files) -> Self {
        Self {
            inner,
            state: Mutex::default(),
        }
    }

    /// Every write to the host path `path` fails with `errno`.
    pub fn fail_writes(self, path: impl Into<PathBuf>, errno: Errno) -> Self {
        self.lock().faults.push((path.into(), errno, None));
        self
    }

    /// The next write to `path` fails with `errno`; later ones go through (an undo, say).
    pub fn fail_next_write(self, path: impl Into<PathBuf>, errno: Errno) -> Self {
        self.lock().faults.push((path.into(), errno, Some(1)));
        self
    }

    /// Host paths written or replaced so far, failed attempts included, in order.
    pub fn writes(&self) -> Vec<PathBuf> {
        self.lock().writes.clone()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Logs a write and returns the injected error, if any.
    fn fault(&self, path: &Path) -> Option<io::Error> {
        let mut st = self.lock();
        st.writes.push(path.to_path_buf());
        let hit = st
            .faults
            .iter_mut()
            .find(|(p, _, left)| p == path && left.is_none_or(|n| n > 0))?;
        if let Some(n) = &mut hit.2 {
            *n -= 1;
        }
        Some(io::Error::from_raw_os_error(hit.1 as i32))
    }
}

impl Files for FaultFs<'_> {
    fn read(&self, path: &Path) -> io::Result<String> {
        self.inner.read(path)
    }
    fn open_read(&self, path: &Path) -> io::Result<Box<dyn io::Read + '_>> {
        self.inner.open_read(path)
    }
    fn write(&self, path: &Path, data: &str) -> io::Result<()> {
        match self.fault(path) {
            Some(e) => Err(e),
            None => self.inner.write(path, data),
        }
    }
    fn read_link(&self, path: &Path) -> io::Result<PathBuf> {
        self.inner.read_link(path)
    }
    fn read_dir(&self, path: &Path) -> io::Result<Vec<std::ffi::OsString>> {
        self.inner.read_dir(path)
    }
    fn exists(&self, path: &Path) -> bool {
        self.inner.exists(path)
    }
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        self.inner.canonicalize(path)
    }
    fn display(&self, path: &Path) -> PathBuf {
        self.inner.display(path)
    }
    fn replace(&self, path: &Path, data: &str) -> io::Result<()> {
        match self.fault(path) {
            Some(e) => Err(e),
            None => self.inner.replace(path, data),
        }
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        match self.fault(path) {
            Some(e) => Err(e),
            None => self.inner.remove(path),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::RootFs;

    #[test]
    fn faults_fire_on_their_path_only_and_once_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), "0\n").unwrap();
        std::fs::write(dir.path().join("b"), "0\n").unwrap();
        let root = RootFs::new(dir.path());
        let fs = FaultFs::new(&root)
            .fail_writes("/a", Errno::EIO)
            .fail_next_write("/b", Errno::EINVAL);
        let e = fs.write(Path::new("/a"), "1").unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EIO));
        assert!(fs.write(Path::new("/a"), "1").is_err());
        let e = fs.write(Path::new("/b"), "1").unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EINVAL));
        fs.write(Path::new("/b"), "2").unwrap();
        assert_eq!(fs.read(Path::new("/a")).unwrap(), "0\n");
        assert_eq!(fs.read(Path::new("/b")).unwrap(), "2");
        assert_eq!(fs.writes().len(), 4);
    }
}
