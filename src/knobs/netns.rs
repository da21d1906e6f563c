//! Which network namespace a plan runs in, and what that means for host-global settings.
//!
//! `kernel.*`, `vm.*`, `fs.*`, `/proc/irq`, the service manager and the isolated CPUs are not
//! namespaced: writing them from inside a container or a test namespace changes the whole
//! host. Inside a non-initial network namespace such settings are `skipped`, never written,
//! unless `--allow-host-global` says otherwise.

use std::path::Path;

use crate::host::{Files, paths};
use crate::sysctl::SysctlKey;

/// The nsfs inode of the initial network namespace on kernels that give the initial
/// namespaces fixed inode numbers (measured on 6.18: `readlink /proc/self/ns/net` is
/// `net:[4026531833]`). Dynamic nsfs inodes start at 0xF0000000, so no other namespace can
/// have this one.
const INIT_NET_INO: u64 = 0xEFFF_FFF9;

/// Where the plan runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The initial network namespace: the host's own.
    Initial,
    /// A non-initial network namespace (a container without host networking, a test
    /// namespace).
    Namespace,
}

/// Detects the scope of the tree at `fs`. Two kernel facts, in order:
/// 1. `/proc/self/ns/net` names inode 0xEFFFFFF9: the initial namespace (kernels with fixed
///    initial-namespace inodes). `/proc/1/ns/net` is not compared: it can be unreadable in a
///    sandbox even for root, and in a container PID 1 shares the container's namespace.
/// 2. Otherwise (another inode: a namespace, or an older kernel whose initial inode is
///    dynamic), `net.core.netdev_max_backlog` decides: it exists only in the initial
///    namespace, because the kernel registers `net_core_table` for `init_net` alone (the
///    per-namespace keys such as `somaxconn` are in a separate table).
///
/// A captured tree (`--root` on a copy, with no `proc/self` link) is a host's tree: it is
/// judged as the initial namespace, so that a partial capture is not mistaken for a
/// namespace and its host-global keys are still compared.
pub fn detect(fs: &dyn Files) -> Scope {
    let Ok(link) = fs.read_link(&paths::self_netns()) else {
        return Scope::Initial;
    };
    let link = link.to_string_lossy().into_owned();
    let ino = link
        .strip_prefix("net:[")
        .and_then(|t| t.strip_suffix(']'))
        .and_then(|t| t.parse::<u64>().ok());
    if ino == Some(INIT_NET_INO) {
        return Scope::Initial;
    }
    let backlog: SysctlKey = "net.core.netdev_max_backlog".parse().expect("valid key");
    if fs.exists(&paths::sysctl(&backlog)) {
        Scope::Initial
    } else {
        Scope::Namespace
    }
}

/// `net.` keys that the kernel registers for the initial network namespace only (measured on
/// 6.18 by listing `/proc/sys/net/{core,ipv4}` inside and outside a namespace): absent inside
/// one, which is not an error there. Any other missing key still is.
fn initial_only(key: &SysctlKey) -> bool {
    let s = key.segments();
    let name = s.get(2).map(String::as_str).unwrap_or_default();
    if s.len() != 3 || s[0] != "net" {
        return false;
    }
    match s[1].as_str() {
        "core" => {
            [
                "netdev_",
                "dev_weight",
                "bpf_jit_",
                "busy_",
                "flow_limit_",
                "message_",
            ]
            .iter()
            .any(|p| name.starts_with(p))
                || [
                    "default_qdisc",
                    "devconf_inherit_init_net",
                    "fb_tunnels_only_for_init_net",
                    "gro_normal_batch",
                    "high_order_alloc_disable",
                    "max_skb_frags",
                    "mem_pcpu_rsv",
                    // Socket buffer limits: read-only in a namespace on recent kernels
                    // (0444, see above), absent from it on older ones (6.1).
                    "optmem_max",
                    "rmem_default",
                    "rmem_max",
                    "rps_sock_flow_entries",
                    "skb_defer_max",
                    "warnings",
                    "wmem_default",
                    "wmem_max",
                ]
                .contains(&name)
        }
        "ipv4" => {
            ["cipso_", "inet_peer_"].iter().any(|p| name.starts_with(p))
                || [
                    "fib_sync_mem",
                    "ipfrag_secret_interval",
                    "tcp_available_ulp",
                    "tcp_low_latency",
                    "tcp_max_orphans",
                    "tcp_mem",
                    "udp_mem",
                ]
                .contains(&name)
        }
        _ => false,
    }
}

/// The namespace rule of one plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub scope: Scope,
    /// `--allow-host-global`: write host-global settings even from a namespace.
    pub allow_host_global: bool,
}

/// The note of a host-global setting skipped inside a namespace.
pub const HOST_GLOBAL: &str = "host-global: inside a network namespace writing it would change \
                               the whole host; skipped (--allow-host-global writes it)";

impl Policy {
    /// Whether host-global settings are skipped.
    pub fn skips_host_global(&self) -> bool {
        self.scope == Scope::Namespace && !self.allow_host_global
    }

    /// Why a key is not planned here, if it is not: host-global (anything outside `net.`), or
    /// read-only inside this namespace (`net.core.rmem_max`: the kernel shows it 0444 there).
    pub fn why_not_here(&self, fs: &dyn Files, key: &SysctlKey) -> Option<String> {
        if let Some(why) = self.host_global(key) {
            return Some(why);
        }
        let path = paths::sysctl(key);
        // A directory is no key at all: reading it fails, as it should, with EISDIR.
        if self.skips_host_global() && fs.read_dir(&path).is_ok() {
            return None;
        }
        self.read_only_here(fs, key)
    }

    /// The first half of [`Policy::why_not_here`], which needs no host: a key outside `net.`
    /// inside a namespace.
    pub fn host_global(&self, key: &SysctlKey) -> Option<String> {
        (self.skips_host_global() && key.segments().first().map(String::as_str) != Some("net"))
            .then(|| HOST_GLOBAL.into())
    }

    /// The second half, for a `net.` key known not to be a directory (it was just read as a
    /// file): read-only inside this namespace.
    pub fn read_only_here(&self, fs: &dyn Files, key: &SysctlKey) -> Option<String> {
        if !self.skips_host_global() {
            return None;
        }
        match fs.writable(Path::new(&paths::sysctl(key))) {
            Ok(false) => Some(
                "read-only inside a network namespace (the initial namespace's value \
                 applies); skipped"
                    .into(),
            ),
            _ => None,
        }
    }

    /// Why a `net.` key that does not exist here is not an error: inside a namespace, keys
    /// such as `net.core.netdev_max_backlog` and `net.ipv4.tcp_mem` exist only in the initial
    /// namespace.
    pub fn absent_here(&self, key: &SysctlKey) -> Option<String> {
        (self.skips_host_global() && initial_only(key)).then(|| {
            "not present in this network namespace (a host-global key of the initial \
                 namespace); skipped"
                .into()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::RootFs;

    #[test]
    fn a_namespace_is_told_by_its_inode_then_by_netdev_max_backlog() {
        let dir = tempfile::tempdir().unwrap();
        let fs = RootFs::new(dir.path());
        // A captured tree without proc/self: a host's tree.
        assert_eq!(detect(&fs), Scope::Initial);
        let ns = dir.path().join("proc/self/ns");
        std::fs::create_dir_all(&ns).unwrap();
        std::os::unix::fs::symlink("net:[4026532177]", ns.join("net")).unwrap();
        assert_eq!(detect(&fs), Scope::Namespace);
        let core = dir.path().join("proc/sys/net/core");
        std::fs::create_dir_all(&core).unwrap();
        std::fs::write(core.join("netdev_max_backlog"), "1000\n").unwrap();
        assert_eq!(
            detect(&fs),
            Scope::Initial,
            "an older kernel's dynamic initial inode"
        );
    }

    #[test]
    fn only_keys_of_the_initial_namespace_may_be_absent() {
        let inside = Policy {
            scope: Scope::Namespace,
            allow_host_global: false,
        };
        for k in [
            "net.core.netdev_max_backlog",
            "net.ipv4.tcp_mem",
            "net.core.dev_weight",
        ] {
            assert!(inside.absent_here(&k.parse().unwrap()).is_some(), "{k}");
        }
        for k in [
            "net.core.somaxconnn",
            "net.ipv4.tcp_fin_timeoutt",
            "net.ipv4.conf.x.y",
        ] {
            assert!(inside.absent_here(&k.parse().unwrap()).is_none(), "{k}");
        }
    }

    #[test]
    fn the_fixed_initial_inode_is_the_initial_namespace() {
        let dir = tempfile::tempdir().unwrap();
        let ns = dir.path().join("proc/self/ns");
        std::fs::create_dir_all(&ns).unwrap();
        std::os::unix::fs::symlink("net:[4026531833]", ns.join("net")).unwrap();
        assert_eq!(detect(&RootFs::new(dir.path())), Scope::Initial);
    }

    #[test]
    fn host_global_keys_are_skipped_only_inside_a_namespace() {
        let dir = tempfile::tempdir().unwrap();
        let fs = RootFs::new(dir.path());
        let vm: SysctlKey = "vm.swappiness".parse().unwrap();
        let inside = Policy {
            scope: Scope::Namespace,
            allow_host_global: false,
        };
        assert!(inside.why_not_here(&fs, &vm).is_some());
        let allowed = Policy {
            allow_host_global: true,
            ..inside
        };
        assert!(allowed.why_not_here(&fs, &vm).is_none());
        let host = Policy {
            scope: Scope::Initial,
            allow_host_global: false,
        };
        assert!(host.why_not_here(&fs, &vm).is_none());
        let tcp_mem: SysctlKey = "net.ipv4.tcp_mem".parse().unwrap();
        assert!(inside.absent_here(&tcp_mem).is_some());
        assert!(host.absent_here(&tcp_mem).is_none());
    }
}
