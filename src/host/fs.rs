//! Root-prefixed access to the host's `/proc` and `/sys`.
//!
//! Every host path the program touches is built here, from a host-absolute path and the
//! `--root` prefix, so that a captured tree can be audited offline and tests run on fixture
//! trees. The [`Files`] trait is the narrow seam: [`RootFs`] is the real one, and tests wrap it
//! to inject faults (`EIO` from `/proc/irq`, `EINVAL` from a sysctl) without a kernel.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, OnceLock};

use nix::fcntl::OFlag;

use super::inroot;

use crate::sysctl::SysctlKey;
use crate::types::IfName;

/// File operations on host paths (`/proc/...`, `/sys/...`), relative to a root.
pub trait Files {
    /// Reads a whole file as text.
    fn read(&self, path: &Path) -> io::Result<String>;
    /// Opens a file for reading in pieces, for a large file read once (`/proc/interrupts`
    /// is about 11 MB on a 256-CPU host): the caller never holds all of it. The default reads
    /// it whole, for stand-ins that only have [`Files::read`].
    fn open_read(&self, path: &Path) -> io::Result<Box<dyn io::Read + '_>> {
        Ok(Box::new(io::Cursor::new(self.read(path)?.into_bytes())))
    }
    /// Writes `data` in exactly one write(2), as the kernel wants for sysctls and
    /// `/proc/irq/N/smp_affinity_list` (a second write would be parsed as a new value).
    fn write(&self, path: &Path, data: &str) -> io::Result<()>;
    /// Reads a symlink's target, as stored (sysfs links are relative).
    fn read_link(&self, path: &Path) -> io::Result<PathBuf>;
    /// Lists a directory's entry names, sorted, as the kernel gave them: an interface name
    /// (`/sys/class/net`, `/proc/sys/net/ipv4/conf`) may be any bytes, not only UTF-8.
    fn read_dir(&self, path: &Path) -> io::Result<Vec<OsString>>;
    /// Whether the path exists (following symlinks inside the root).
    fn exists(&self, path: &Path) -> bool;
    /// Resolves every symlink (sysfs links are relative, so they stay inside the root) and
    /// returns the host-absolute path.
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf>;
    /// The real location of a host path, for messages.
    fn display(&self, path: &Path) -> PathBuf;
    /// Replaces a configuration file (`/etc/...`) atomically: a temporary file in the same
    /// directory with the old file's mode (0644 for a new one), fsync, rename, fsync of the
    /// directory, so that a crash leaves the old or the new file, never a torn one. Not for
    /// `/proc` or `/sys`, which take one write(2) in place.
    fn replace(&self, path: &Path, data: &str) -> io::Result<()>;
    /// Removes a file; a file already gone is not an error.
    fn remove(&self, path: &Path) -> io::Result<()>;
    /// Whether anyone may write the file, by its mode bits (a sysctl that is read-only inside
    /// a network namespace shows 0444 there).
    fn writable(&self, _path: &Path) -> io::Result<bool> {
        Ok(true)
    }
}

/// The real file accessor: host path `/proc/x` lives at `ROOT/proc/x`, and every path
/// resolves inside `ROOT`, as under chroot(2): a symlink in the tree that leads out of it
/// (absolute, or with enough `..`) is followed inside the tree instead (see [`inroot`]).
#[derive(Debug, Clone)]
pub struct RootFs {
    root: PathBuf,
    /// The root, opened once (`O_PATH`) on first use: every path resolves from it.
    fd: OnceLock<Arc<OwnedFd>>,
}

impl RootFs {
    /// A root of `/` is the live host. The root is opened now if it exists, else on first
    /// use (a test may build its tree after the accessor).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let fs = Self {
            root: root.into(),
            fd: OnceLock::new(),
        };
        let _ = fs.root_fd();
        fs
    }

    /// The prefix given with `--root`.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether this accessor reads the live kernel that this process runs on and the network
    /// namespace it runs in, as opposed to a captured tree. Live-ness is a property of the tree,
    /// not of its path: `/` is live, and so is a root whose `proc` is the kernel's procfs showing
    /// this process in this process's network namespace, as in a Kubernetes DaemonSet pod with
    /// `hostNetwork: true` and the host's `/proc` and `/sys` mounted at `/host/proc` and
    /// `/host/sys` (`--root /host`). See [`live_tree`].
    pub fn is_live(&self) -> bool {
        self.root == Path::new("/") || live_tree(&self.root).is_ok()
    }

    /// Whether the root is `/` itself: only there does `systemctl` talk to the service manager
    /// that owns the tree's units (a pod's systemctl cannot reach the host's systemd).
    pub fn is_slash(&self) -> bool {
        self.root == Path::new("/")
    }

    fn full(&self, path: &Path) -> PathBuf {
        let mut out = self.root.clone();
        for c in path.components() {
            if let Component::Normal(s) = c {
                out.push(s);
            }
        }
        out
    }

    fn root_fd(&self) -> io::Result<BorrowedFd<'_>> {
        if self.fd.get().is_none() {
            let fd = inroot::open_root(&self.root)?;
            // A racing first use set it already: either descriptor is the same root.
            let _ = self.fd.set(Arc::new(fd));
        }
        Ok(self.fd.get().expect("set above").as_fd())
    }

    /// Opens a host path inside the root.
    fn open(&self, path: &Path, flags: OFlag) -> io::Result<OwnedFd> {
        inroot::open(self.root_fd()?, &inroot::relative(path), flags)
    }

    /// The directory holding a host path, opened inside the root, and the path's last name.
    fn parent(&self, path: &Path, flags: OFlag) -> io::Result<(OwnedFd, std::ffi::OsString)> {
        inroot::open_parent(self.root_fd()?, &inroot::relative(path), flags)
    }
}

/// Why `root` is not a live tree, if it is not. A tree is live when:
/// 1. `ROOT/proc` is a procfs (statfs `f_type` is `PROC_SUPER_MAGIC`, 0x9fa0): the kernel's own
///    files, not a copy; and `ROOT/sys` is a sysfs (`SYSFS_MAGIC`);
/// 2. `ROOT/proc/self/ns/net` names the same network namespace as `/proc/self/ns/net`
///    (readlink equality, `net:[INODE]`): that procfs shows this process, so its `/proc/sys/net`
///    is this namespace's and the SIOCETHTOOL ioctls and rtnetlink, which act on the calling
///    process's namespace, reach the same interfaces as its files.
///
/// A pod with `hostNetwork: true` shares the host's network namespace, so the host's `/proc`
/// mounted in it passes; a fixture copy fails (1), and a pod without host networking fails (2)
/// (its NIC and address calls would reach the pod's veth, not the host's NICs).
pub fn live_tree(root: &Path) -> Result<(), String> {
    use nix::sys::statfs::{PROC_SUPER_MAGIC, SYSFS_MAGIC, statfs};
    let proc = root.join("proc");
    let sys = root.join("sys");
    let fs_type = |p: &Path| {
        statfs(p)
            .map(|s| s.filesystem_type())
            .map_err(|e| format!("statfs {}: {e}", p.display()))
    };
    if fs_type(&proc)? != PROC_SUPER_MAGIC {
        return Err(format!("{} is not a procfs", proc.display()));
    }
    if fs_type(&sys)? != SYSFS_MAGIC {
        return Err(format!("{} is not a sysfs", sys.display()));
    }
    let theirs = proc.join("self/ns/net");
    let theirs = std::fs::read_link(&theirs).map_err(|e| format!("{}: {e}", theirs.display()))?;
    let ours =
        std::fs::read_link("/proc/self/ns/net").map_err(|e| format!("/proc/self/ns/net: {e}"))?;
    if theirs != ours {
        return Err(format!(
            "{} names {} and this process runs in {}",
            proc.join("self/ns/net").display(),
            theirs.display(),
            ours.display()
        ));
    }
    Ok(())
}

impl Files for RootFs {
    fn read(&self, path: &Path) -> io::Result<String> {
        read_all(File::from(self.open(path, OFlag::O_RDONLY)?))
    }

    fn open_read(&self, path: &Path) -> io::Result<Box<dyn io::Read + '_>> {
        Ok(Box::new(File::from(self.open(path, OFlag::O_RDONLY)?)))
    }

    fn write(&self, path: &Path, data: &str) -> io::Result<()> {
        // Truncate so that fixture files hold exactly the value; procfs ignores O_TRUNC.
        let mut f = File::from(self.open(path, OFlag::O_WRONLY | OFlag::O_TRUNC)?);
        let n = f.write(data.as_bytes())?;
        if n != data.len() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                format!("short write: {n} of {} bytes", data.len()),
            ));
        }
        Ok(())
    }

    fn read_link(&self, path: &Path) -> io::Result<PathBuf> {
        let (dir, name) = self.parent(path, OFlag::O_PATH)?;
        Ok(nix::fcntl::readlinkat(&dir, name.as_os_str())?.into())
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<OsString>> {
        use std::os::unix::ffi::OsStrExt;
        let dir = self.open(path, OFlag::O_RDONLY | OFlag::O_DIRECTORY)?;
        let mut names = nix::dir::Dir::from_fd(dir)?
            .into_iter()
            .filter_map(|e| match e {
                Ok(e) if matches!(e.file_name().to_bytes(), b"." | b"..") => None,
                Ok(e) => Some(Ok(
                    std::ffi::OsStr::from_bytes(e.file_name().to_bytes()).to_os_string()
                )),
                Err(e) => Some(Err(io::Error::from(e))),
            })
            .collect::<io::Result<Vec<_>>>()?;
        names.sort();
        Ok(names)
    }

    fn exists(&self, path: &Path) -> bool {
        self.open(path, OFlag::O_PATH).is_ok()
    }

    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        inroot::canonicalize(self.root_fd()?, &inroot::relative(path))
    }

    fn display(&self, path: &Path) -> PathBuf {
        self.full(path)
    }

    fn replace(&self, path: &Path, data: &str) -> io::Result<()> {
        // The old file's mode, found inside the root as the file itself is.
        let mode = match self.open(path, OFlag::O_PATH) {
            Ok(fd) => File::from(fd).metadata()?.permissions().mode() & 0o7777,
            Err(e) if e.kind() == io::ErrorKind::NotFound => 0o644,
            Err(e) => return Err(e),
        };
        let (dir, name) = self.parent(path, OFlag::O_RDONLY)?;
        crate::atomic::write_in(dir.as_fd(), &name, data.as_bytes(), mode)
    }

    fn writable(&self, path: &Path) -> io::Result<bool> {
        let f = File::from(self.open(path, OFlag::O_PATH)?);
        Ok(f.metadata()?.permissions().mode() & 0o222 != 0)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        use nix::unistd::{UnlinkatFlags, unlinkat};
        let (dir, name) = match self.parent(path, OFlag::O_PATH) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            other => other?,
        };
        match unlinkat(&dir, name.as_os_str(), UnlinkatFlags::NoRemoveDir) {
            Err(nix::errno::Errno::ENOENT) => Ok(()),
            other => Ok(other?),
        }
    }
}

/// Reads a whole file: read(2) until end of file, with no fstat or lseek for a size hint
/// (procfs and sysfs report none), so a sysctl read is openat2, read, read, close.
fn read_all(mut f: File) -> io::Result<String> {
    use std::io::Read;
    let mut buf = vec![0u8; 4096];
    let mut len = 0;
    loop {
        if len == buf.len() {
            buf.resize(len * 2, 0);
        }
        match f.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(len);
    String::from_utf8(buf).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        )
    })
}

/// Host-absolute paths of the files hosttune reads and writes. The only place the strings
/// `/proc` and `/sys` appear.
pub mod paths {
    use super::*;

    /// `/proc/sys/<segments>`: one segment per path component, so `eth0.100` stays one.
    pub fn sysctl(key: &SysctlKey) -> PathBuf {
        let mut p = PathBuf::from("/proc/sys");
        for s in key.segments() {
            p.push(s);
        }
        p
    }

    /// `/proc/sys/<segments>` of a directory (for listing what a glob segment matches).
    pub fn sysctl_dir(segments: &[String]) -> PathBuf {
        let mut p = PathBuf::from("/proc/sys");
        for s in segments {
            p.push(s);
        }
        p
    }

    /// `/proc/self/ns/net`: the network namespace this process is in.
    pub fn self_netns() -> PathBuf {
        PathBuf::from("/proc/self/ns/net")
    }

    /// `/proc/interrupts`.
    pub fn interrupts() -> PathBuf {
        PathBuf::from("/proc/interrupts")
    }

    /// `/proc/self/status` (the process's own `VmHWM`, for the benchmarks).
    pub fn self_status() -> PathBuf {
        PathBuf::from("/proc/self/status")
    }

    /// `/proc/cmdline`.
    pub fn cmdline() -> PathBuf {
        PathBuf::from("/proc/cmdline")
    }

    /// `/proc/meminfo` (`MemTotal`, for memory limits given as a share of RAM).
    pub fn meminfo() -> PathBuf {
        PathBuf::from("/proc/meminfo")
    }

    /// `/proc/irq/N/FILE` (`smp_affinity_list`, `effective_affinity_list`).
    pub fn irq(irq: u32, file: &str) -> PathBuf {
        PathBuf::from(format!("/proc/irq/{irq}/{file}"))
    }

    /// `/sys/class/net`.
    pub fn net_class() -> PathBuf {
        PathBuf::from("/sys/class/net")
    }

    /// `/sys/class/net/IFACE/FILE` (`device`, `tx_queue_len`, ...); an empty file is the
    /// interface directory itself.
    pub fn net(iface: &IfName, file: &str) -> PathBuf {
        let mut p = net_class();
        p.push(iface.as_str());
        if !file.is_empty() {
            p.push(file);
        }
        p
    }

    /// `/proc/net/FILE` (`netstat`, `snmp`, `softnet_stat`, `stat/nf_conntrack`): the kernel
    /// counters that show whether a setting matters (`--evidence`). Per network namespace,
    /// like `/proc/sys/net`.
    pub fn proc_net(file: &str) -> PathBuf {
        let mut p = PathBuf::from("/proc/net");
        p.extend(file.split('/'));
        p
    }

    /// `/sys/class/net/IFACE/statistics/STAT` (`rx_missed_errors`, `rx_dropped`, ...): the
    /// interface's totals, as `ip -s link` shows them.
    pub fn net_statistic(iface: &IfName, stat: &str) -> PathBuf {
        let mut p = net(iface, "statistics");
        p.push(stat);
        p
    }

    /// irqbalance's environment file: `/etc/default/irqbalance` (Debian, Ubuntu), then
    /// `/etc/sysconfig/irqbalance` (RHEL, Fedora, SUSE), in the order they are looked for.
    pub fn irqbalance_env() -> [PathBuf; 2] {
        [
            PathBuf::from("/etc/default/irqbalance"),
            PathBuf::from("/etc/sysconfig/irqbalance"),
        ]
    }

    /// `/sys/devices/system/cpu/FILE` (`isolated`, `online`, `present`).
    pub fn cpu(file: &str) -> PathBuf {
        PathBuf::from(format!("/sys/devices/system/cpu/{file}"))
    }

    /// The sysctl.d(5) directories, in precedence order: a file name in an earlier one masks
    /// the same name in later ones. `/lib/sysctl.d` is read by procps `sysctl --system`, and
    /// by systemd-sysctl only when built for a split `/usr`.
    pub fn sysctl_d() -> [PathBuf; 5] {
        [
            PathBuf::from("/etc/sysctl.d"),
            PathBuf::from("/run/sysctl.d"),
            PathBuf::from("/usr/local/lib/sysctl.d"),
            PathBuf::from("/usr/lib/sysctl.d"),
            PathBuf::from("/lib/sysctl.d"),
        ]
    }

    /// `/etc/sysctl.conf`, which `sysctl --system` applies after every sysctl.d file.
    pub fn sysctl_conf() -> PathBuf {
        PathBuf::from("/etc/sysctl.conf")
    }

    /// `/sys/module/MODULE`: present while the module is loaded (or built in with
    /// parameters).
    pub fn module(module: &str) -> PathBuf {
        PathBuf::from(format!("/sys/module/{module}"))
    }

    /// `/sys/module/MODULE/parameters/PARAM` (`nf_conntrack` `hashsize`).
    pub fn module_param(module: &str, param: &str) -> PathBuf {
        PathBuf::from(format!("/sys/module/{module}/parameters/{param}"))
    }

    /// hosttune's modprobe.d(5) file for conntrack's options at the next module load.
    pub fn modprobe_conntrack() -> PathBuf {
        PathBuf::from("/etc/modprobe.d/hosttune-conntrack.conf")
    }

    /// `/dev/null`: a sysctl.d file that links here masks the files of its name.
    pub fn dev_null() -> PathBuf {
        PathBuf::from("/dev/null")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slash_is_live_and_a_copy_of_the_netns_link_is_not() {
        assert!(RootFs::new("/").is_live());
        assert!(RootFs::new("/").is_slash());
        // `/` passes the tree test too wherever /proc is mounted.
        if Path::new("/proc/self/ns/net").exists() {
            assert_eq!(live_tree(Path::new("/")), Ok(()));
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("proc/self/ns")).unwrap();
        std::fs::create_dir_all(dir.path().join("sys")).unwrap();
        if let Ok(ours) = std::fs::read_link("/proc/self/ns/net") {
            std::os::unix::fs::symlink(ours, dir.path().join("proc/self/ns/net")).unwrap();
        }
        let fs = RootFs::new(dir.path());
        assert!(!fs.is_live());
        assert!(!fs.is_slash());
        let why = live_tree(dir.path()).unwrap_err();
        assert!(why.ends_with("proc is not a procfs"), "{why}");
        let missing = live_tree(&dir.path().join("nothing")).unwrap_err();
        assert!(missing.contains("statfs"), "{missing}");
    }

    #[test]
    fn root_prefix_is_applied_and_dotted_segments_stay_whole() {
        let dir = tempfile::tempdir().unwrap();
        let fs = RootFs::new(dir.path());
        let key: SysctlKey = "net.ipv4.conf.eth0/100.rp_filter".parse().unwrap();
        let p = paths::sysctl(&key);
        assert_eq!(p, Path::new("/proc/sys/net/ipv4/conf/eth0.100/rp_filter"));
        assert_eq!(
            fs.display(&p),
            dir.path().join("proc/sys/net/ipv4/conf/eth0.100/rp_filter")
        );
    }

    #[test]
    fn write_replaces_the_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("proc/sys/vm")).unwrap();
        std::fs::write(dir.path().join("proc/sys/vm/swappiness"), "60000\n").unwrap();
        let fs = RootFs::new(dir.path());
        fs.write(Path::new("/proc/sys/vm/swappiness"), "10")
            .unwrap();
        assert_eq!(fs.read(Path::new("/proc/sys/vm/swappiness")).unwrap(), "10");
    }

    #[test]
    fn relative_sysfs_links_resolve_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let dev = dir
            .path()
            .join("sys/devices/pci0000:00/0000:00:03.0/virtio0/net/eth0");
        std::fs::create_dir_all(&dev).unwrap();
        std::fs::create_dir_all(dir.path().join("sys/class/net")).unwrap();
        std::os::unix::fs::symlink(
            "../../devices/pci0000:00/0000:00:03.0/virtio0/net/eth0",
            dir.path().join("sys/class/net/eth0"),
        )
        .unwrap();
        std::os::unix::fs::symlink("../../../virtio0", dev.join("device")).unwrap();
        let fs = RootFs::new(dir.path());
        let p = fs
            .canonicalize(&paths::net(&"eth0".parse().unwrap(), "device"))
            .unwrap();
        assert_eq!(p, Path::new("/sys/devices/pci0000:00/0000:00:03.0/virtio0"));
    }

    #[test]
    fn links_out_of_the_root_reach_nothing_outside() {
        use std::os::unix::fs::{PermissionsExt, symlink};
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("root");
        let outside = d.path().join("outside");
        std::fs::create_dir_all(root.join("proc/sys/net/core")).unwrap();
        std::fs::create_dir_all(root.join("etc/default")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("f"), "secret\n").unwrap();
        symlink(outside.join("f"), root.join("proc/sys/net/core/somaxconn")).unwrap();
        symlink(
            "../../../../../outside/f",
            root.join("proc/sys/net/core/rmem_max"),
        )
        .unwrap();
        symlink(outside.join("f"), root.join("etc/default/irqbalance")).unwrap();
        let fs = RootFs::new(&root);
        for key in ["somaxconn", "rmem_max"] {
            let p = PathBuf::from(format!("/proc/sys/net/core/{key}"));
            assert_eq!(fs.read(&p).unwrap_err().kind(), io::ErrorKind::NotFound);
            assert!(fs.write(&p, "1").is_err());
            assert!(!fs.exists(&p));
            assert!(fs.writable(&p).is_err());
        }
        // The link itself is what `replace` and `remove` act on.
        let env = Path::new("/etc/default/irqbalance");
        fs.replace(env, "A=1\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(root.join("etc/default/irqbalance")).unwrap(),
            "A=1\n"
        );
        let mode = std::fs::metadata(root.join("etc/default/irqbalance")).unwrap();
        assert_eq!(mode.permissions().mode() & 0o7777, 0o644);
        symlink(outside.join("f"), root.join("etc/default/other")).unwrap();
        fs.remove(Path::new("/etc/default/other")).unwrap();
        assert!(!root.join("etc/default/other").exists());
        fs.remove(Path::new("/etc/default/none")).unwrap();
        fs.remove(Path::new("/nodir/none")).unwrap();
        assert_eq!(
            std::fs::read_to_string(outside.join("f")).unwrap(),
            "secret\n"
        );
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 1);
        // A directory link out of the tree is followed inside it.
        symlink(&outside, root.join("proc/sys/net/ipv4")).unwrap();
        assert!(fs.read_dir(Path::new("/proc/sys/net/ipv4")).is_err());
        assert_eq!(
            fs.read_link(Path::new("/proc/sys/net/core/rmem_max"))
                .unwrap(),
            Path::new("../../../../../outside/f")
        );
        assert_eq!(
            fs.read_dir(Path::new("/proc/sys/net")).unwrap(),
            ["core", "ipv4"]
        );
    }

    #[test]
    fn replace_keeps_the_mode_and_leaves_no_temporary_file() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("etc/sysconfig")).unwrap();
        let f = d.path().join("etc/sysconfig/irqbalance");
        std::fs::write(&f, "old\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        let fs = RootFs::new(d.path());
        fs.replace(Path::new("/etc/sysconfig/irqbalance"), "new\n")
            .unwrap();
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "new\n");
        let meta = std::fs::metadata(&f).unwrap();
        assert_eq!(meta.permissions().mode() & 0o7777, 0o600);
        let names = fs.read_dir(Path::new("/etc/sysconfig")).unwrap();
        assert_eq!(names, ["irqbalance"]);
    }

    #[test]
    fn long_files_are_read_whole() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("proc")).unwrap();
        let text: String = (0..2000).map(|i| format!("{i:>8}\n")).collect();
        std::fs::write(d.path().join("proc/interrupts"), &text).unwrap();
        let fs = RootFs::new(d.path());
        assert_eq!(fs.read(&paths::interrupts()).unwrap(), text);
        std::fs::write(d.path().join("proc/cmdline"), b"\xff\n").unwrap();
        let err = fs.read(&paths::cmdline()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }
}
