//! Resolving host paths inside `--root`: the tree is a boundary, as a chroot is.
//!
//! A captured or hostile tree may hold symlinks that lead out of it (`proc/sys/x ->
//! /etc/shadow`, `sys/class/net/eth0 -> ../../../../../../etc`). Every path is resolved
//! against a descriptor of the root with openat2(2) and `RESOLVE_IN_ROOT`: an absolute link
//! starts again at the root and `..` stops there, so the sysfs links (`../../devices/...`)
//! still resolve and nothing outside is reached. Where the kernel lacks openat2 (before 5.6,
//! `ENOSYS`), [`walk`] does the same one component at a time (`O_NOFOLLOW` opens and
//! readlinkat(2)). [`canonicalize`] is that walk too: realpath(3) also resolves one component
//! at a time, and the walk gives the path it followed.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use nix::errno::Errno;
use nix::fcntl::{OFlag, OpenHow, ResolveFlag, openat, openat2, readlinkat};
use nix::sys::stat::Mode;

/// The kernel said `ENOSYS` to openat2 once: use [`walk`] from then on.
static NO_OPENAT2: AtomicBool = AtomicBool::new(false);

/// Symlinks followed in one resolution before `ELOOP`, as the kernel's `MAXSYMLINKS`.
const MAX_LINKS: u32 = 40;

/// openat2 answers `EAGAIN` when a rename raced with a `..` step; it is safe to retry. Under
/// heavy link churn (hundreds of veths created at once: sysfs links are `../../devices/...`)
/// it can keep answering so; past these tries the path is walked one component at a time
/// instead, which no rename can make fail.
const EAGAIN_RETRIES: u32 = 8;

/// Opens the root itself: an `O_PATH` directory descriptor that every resolution starts at.
pub fn open_root(root: &Path) -> io::Result<OwnedFd> {
    Ok(nix::fcntl::open(
        root,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?)
}

/// `path` (host-absolute, `/proc/sys/...`) as a path relative to the root: its normal
/// components only, as [`super::RootFs::display`] builds it.
pub fn relative(path: &Path) -> PathBuf {
    let rel: PathBuf = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s),
            _ => None,
        })
        .collect();
    if rel.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        rel
    }
}

/// Opens `rel` inside the root with `flags` (`O_CLOEXEC` is added).
pub fn open(root: BorrowedFd<'_>, rel: &Path, flags: OFlag) -> io::Result<OwnedFd> {
    if !NO_OPENAT2.load(Ordering::Relaxed) {
        let how = OpenHow::new()
            .flags(flags | OFlag::O_CLOEXEC)
            .resolve(ResolveFlag::RESOLVE_IN_ROOT);
        let mut tries = 0;
        loop {
            match openat2(root, rel, how) {
                Err(Errno::EAGAIN) if tries < EAGAIN_RETRIES => {
                    tries += 1;
                    std::thread::yield_now();
                }
                Err(Errno::EAGAIN) => break,
                Err(Errno::ENOSYS) => {
                    NO_OPENAT2.store(true, Ordering::Relaxed);
                    break;
                }
                other => return Ok(other?),
            }
        }
    }
    walk(root, rel, flags).map(|(fd, _)| fd)
}

/// The directory that holds `rel`'s last component, opened inside the root with `flags`
/// (`O_DIRECTORY` is added), and that component: for the operations that act on a name in
/// its directory (readlinkat, unlinkat, renameat), so that a symlink there is the link
/// itself, never what it points to.
pub fn open_parent(
    root: BorrowedFd<'_>,
    rel: &Path,
    flags: OFlag,
) -> io::Result<(OwnedFd, OsString)> {
    let name = rel
        .file_name()
        .filter(|n| *n != OsStr::new("."))
        .ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))?;
    let parent = match rel.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let dir = open(root, parent, flags | OFlag::O_DIRECTORY)?;
    Ok((dir, name.to_os_string()))
}

/// The host-absolute path `rel` resolves to inside the root, every symlink followed. The
/// resolution is openat2's; the name is the kernel's, read from this process's own
/// `/proc/self/fd` links (of the result and of the root), so it costs four system calls
/// where realpath(3) takes two per component. Without openat2 or that procfs, [`walk`]
/// gives the same path.
pub fn canonicalize(root: BorrowedFd<'_>, rel: &Path) -> io::Result<PathBuf> {
    let fd = open(root, rel, OFlag::O_PATH)?;
    let name = |fd: BorrowedFd<'_>| std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()));
    if let (Ok(base), Ok(real)) = (name(root), name(fd.as_fd())) {
        if let Ok(inside) = real.strip_prefix(&base) {
            return Ok(Path::new("/").join(inside));
        }
    }
    walk(root, rel, OFlag::O_PATH).map(|(_, p)| p)
}

/// Resolves `rel` one component at a time below `root` and opens it with `flags`: each
/// directory is opened `O_NOFOLLOW` from the one before, a symlink is read with readlinkat
/// and its target walked in its place (an absolute one from the root), and `..` goes back
/// one directory but never above the root. Returns the descriptor and the host-absolute
/// path it walked to. A name swapped for a symlink between the readlinkat and the open fails
/// the open (`O_NOFOLLOW`), so a race cannot lead outside either.
pub fn walk(root: BorrowedFd<'_>, rel: &Path, flags: OFlag) -> io::Result<(OwnedFd, PathBuf)> {
    // Components still to walk, the next one last.
    let mut todo: Vec<OsString> = Vec::new();
    push_components(&mut todo, rel);
    let mut dirs: Vec<(OwnedFd, OsString)> = Vec::new();
    let mut links = 0;
    let path_of = |dirs: &[(OwnedFd, OsString)], last: Option<&OsStr>| {
        let mut p = PathBuf::from("/");
        p.extend(dirs.iter().map(|(_, n)| n.as_os_str()));
        p.extend(last);
        p
    };
    loop {
        let here = dirs.last().map_or(root, |(fd, _)| fd.as_fd());
        let Some(name) = todo.pop() else {
            // The path ended on a directory (the root, or after `.` or `..`).
            let fd = openat(here, ".", flags | OFlag::O_CLOEXEC, Mode::empty())?;
            return Ok((fd, path_of(&dirs, None)));
        };
        if name == ".." {
            dirs.pop();
            continue;
        }
        if name == "." {
            continue;
        }
        match readlinkat(here, name.as_os_str()) {
            Ok(target) => {
                links += 1;
                if links > MAX_LINKS {
                    return Err(io::Error::from_raw_os_error(libc::ELOOP));
                }
                if target.as_bytes().first() == Some(&b'/') {
                    dirs.clear();
                }
                push_components(&mut todo, Path::new(&target));
                continue;
            }
            // Not a symlink.
            Err(Errno::EINVAL) => {}
            Err(e) => return Err(e.into()),
        }
        if todo.is_empty() {
            let fd = openat(
                here,
                name.as_os_str(),
                flags | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                Mode::empty(),
            )?;
            return Ok((fd, path_of(&dirs, Some(&name))));
        }
        let fd = openat(
            here,
            name.as_os_str(),
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        dirs.push((fd, name));
    }
}

/// Pushes `p`'s components so that the first one is popped first; `.` and `..` are kept for
/// the walk to interpret, the root marker dropped.
fn push_components(todo: &mut Vec<OsString>, p: &Path) {
    for c in p.components().rev() {
        match c {
            Component::Normal(s) => todo.push(s.to_os_string()),
            Component::ParentDir => todo.push("..".into()),
            Component::CurDir => todo.push(".".into()),
            Component::RootDir | Component::Prefix(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    /// A root with `etc/x` inside, and `secret` beside the root (outside it).
    fn tree() -> (tempfile::TempDir, PathBuf, OwnedFd) {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("root");
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::create_dir_all(root.join("a/b/c")).unwrap();
        std::fs::write(root.join("etc/x"), "inside\n").unwrap();
        std::fs::write(d.path().join("secret"), "outside\n").unwrap();
        let fd = open_root(&root).unwrap();
        (d, root, fd)
    }

    fn read(fd: OwnedFd) -> String {
        std::io::read_to_string(std::fs::File::from(fd)).unwrap()
    }

    /// Opens through openat2 and through the walk; both must agree.
    fn both(root: &OwnedFd, rel: &str) -> [io::Result<OwnedFd>; 2] {
        [
            open(root.as_fd(), Path::new(rel), OFlag::O_RDONLY),
            walk(root.as_fd(), Path::new(rel), OFlag::O_RDONLY).map(|(fd, _)| fd),
        ]
    }

    #[test]
    fn absolute_links_start_again_at_the_root() {
        let (d, root, fd) = tree();
        symlink("/etc/x", root.join("a/abs")).unwrap();
        // The host's real path of the outside file, re-rooted: absent inside.
        symlink(d.path().join("secret"), root.join("a/out")).unwrap();
        for r in both(&fd, "a/abs") {
            assert_eq!(read(r.unwrap()), "inside\n");
        }
        for r in both(&fd, "a/out") {
            assert_eq!(r.unwrap_err().raw_os_error(), Some(libc::ENOENT));
        }
        assert_eq!(
            canonicalize(fd.as_fd(), Path::new("a/abs")).unwrap(),
            Path::new("/etc/x")
        );
    }

    #[test]
    fn dot_dot_stops_at_the_root() {
        let (_d, root, fd) = tree();
        symlink("../../../../../../../../secret", root.join("a/b/c/up")).unwrap();
        symlink("../../../../../../../../etc/x", root.join("a/b/c/upx")).unwrap();
        for r in both(&fd, "a/b/c/up") {
            assert_eq!(r.unwrap_err().raw_os_error(), Some(libc::ENOENT));
        }
        for r in both(&fd, "a/b/c/upx") {
            assert_eq!(read(r.unwrap()), "inside\n");
        }
        // A directory link out of the tree lands on the root's own directory of that name.
        symlink("../../../../..", root.join("a/top")).unwrap();
        assert_eq!(
            canonicalize(fd.as_fd(), Path::new("a/top/etc/x")).unwrap(),
            Path::new("/etc/x")
        );
        assert_eq!(
            canonicalize(fd.as_fd(), Path::new("a/top")).unwrap(),
            Path::new("/")
        );
        for rel in ["a/top/etc/x", "a/top", "a/b/c/upx", "."] {
            let (_, walked) = walk(fd.as_fd(), Path::new(rel), OFlag::O_PATH).unwrap();
            assert_eq!(
                canonicalize(fd.as_fd(), Path::new(rel)).unwrap(),
                walked,
                "{rel}"
            );
        }
    }

    #[test]
    fn relative_links_resolve_as_sysfs_has_them() {
        let (_d, root, fd) = tree();
        std::fs::write(root.join("a/b/c/f"), "sysfs\n").unwrap();
        std::fs::create_dir_all(root.join("class")).unwrap();
        symlink("../a/b/c", root.join("class/dev")).unwrap();
        for r in both(&fd, "class/dev/f") {
            assert_eq!(read(r.unwrap()), "sysfs\n");
        }
        assert_eq!(
            canonicalize(fd.as_fd(), Path::new("class/dev/f")).unwrap(),
            Path::new("/a/b/c/f")
        );
    }

    #[test]
    fn loops_fail_with_eloop() {
        let (_d, root, fd) = tree();
        symlink("l2", root.join("l1")).unwrap();
        symlink("l1", root.join("l2")).unwrap();
        symlink("self/x", root.join("self")).unwrap();
        for rel in ["l1", "self/y"] {
            for r in both(&fd, rel) {
                assert_eq!(r.unwrap_err().raw_os_error(), Some(libc::ELOOP), "{rel}");
            }
        }
    }

    #[test]
    fn the_parent_is_opened_inside_and_the_name_kept() {
        let (d, root, fd) = tree();
        symlink(d.path(), root.join("outdir")).unwrap();
        let err = open_parent(fd.as_fd(), Path::new("outdir/secret"), OFlag::O_PATH).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
        let (dir, name) = open_parent(fd.as_fd(), Path::new("etc/x"), OFlag::O_PATH).unwrap();
        assert_eq!(name, "x");
        assert!(readlinkat(dir.as_fd(), name.as_os_str()).is_err());
        assert_eq!(
            relative(Path::new("/proc/../sys/./x")),
            Path::new("proc/sys/x")
        );
        assert_eq!(relative(Path::new("/")), Path::new("."));
    }
}
