//! Root-prefixed access to the host's `/proc` and `/sys`.
//!
//! Every host path the program touches is built here, from a host-absolute path and the
//! `--root` prefix, so that a captured tree can be audited offline and tests run on fixture
//! trees. The [`Files`] trait is the narrow seam: [`RootFs`] is the real one, and tests wrap it
//! to inject faults (`EIO` from `/proc/irq`, `EINVAL` from a sysctl) without a kernel.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Component, Path, PathBuf};

use crate::sysctl::SysctlKey;
use crate::types::IfName;

/// File operations on host paths (`/proc/...`, `/sys/...`), relative to a root.
pub trait Files {
    /// Reads a whole file as text.
    fn read(&self, path: &Path) -> io::Result<String>;
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

/// The real file accessor: host path `/proc/x` lives at `ROOT/proc/x`.
#[derive(Debug, Clone)]
pub struct RootFs {
    root: PathBuf,
}

impl RootFs {
    /// A root of `/` is the live host.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
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
        std::fs::read_to_string(self.full(path))
    }

    fn write(&self, path: &Path, data: &str) -> io::Result<()> {
        // Truncate so that fixture files hold exactly the value; procfs ignores O_TRUNC.
        let mut f: File = OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(self.full(path))?;
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
        std::fs::read_link(self.full(path))
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<OsString>> {
        let mut names = std::fs::read_dir(self.full(path))?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<io::Result<Vec<_>>>()?;
        names.sort();
        Ok(names)
    }

    fn exists(&self, path: &Path) -> bool {
        self.full(path).exists()
    }

    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        let real = std::fs::canonicalize(self.full(path))?;
        let root = std::fs::canonicalize(&self.root)?;
        let rel = real.strip_prefix(&root).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} leads outside the root", path.display()),
            )
        })?;
        Ok(Path::new("/").join(rel))
    }

    fn display(&self, path: &Path) -> PathBuf {
        self.full(path)
    }

    fn replace(&self, path: &Path, data: &str) -> io::Result<()> {
        crate::atomic::write(
            &self.full(path),
            data.as_bytes(),
            crate::atomic::Mode::KeepOr(0o644),
        )
    }

    fn writable(&self, path: &Path) -> io::Result<bool> {
        use std::os::unix::fs::PermissionsExt;
        Ok(std::fs::metadata(self.full(path))?.permissions().mode() & 0o222 != 0)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        match std::fs::remove_file(self.full(path)) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }
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
}
