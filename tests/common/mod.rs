//! Shared helpers for integration tests: loud skips, root checks, throw-away network
//! namespaces, and (in `bin`) the one way to run the hosttune binary under test.
// Each test binary (and benches/evidence.rs) uses its own part of these helpers.
#![allow(dead_code, unused_imports)]

pub mod bin;
pub mod burst;
pub mod fixture;

pub use bin::{BIN, hosttune};

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

use hosttune::sysctl::SysctlKey;

/// Whether `HOSTTUNE_REQUIRE_ROOT_TESTS=1` is set (CI sets it): a test that cannot run then
/// fails instead of skipping.
pub fn skips_fail() -> bool {
    std::env::var("HOSTTUNE_REQUIRE_ROOT_TESTS").as_deref() == Ok("1")
}

/// Skips `test` loudly (a `*** SKIPPED` banner on stderr, shown even when the test passes) and returns
/// false; panics instead when `HOSTTUNE_REQUIRE_ROOT_TESTS=1`. Every test that cannot run on
/// this machine goes through here, so that a fresh machine's `cargo test --locked` passes and
/// CI's run never hides a skip.
pub fn skip(test: &str, why: &str) -> bool {
    if skips_fail() {
        panic!("{test}: cannot run ({why}) and HOSTTUNE_REQUIRE_ROOT_TESTS=1");
    }
    // Straight to fd 2, past the test harness's capture (which only takes the print macros),
    // so that the skip shows in a passing `cargo test` run.
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "\n*** SKIPPED {test}: {why} ***\n");
    false
}

/// Whether tests that need root and namespaces may run. When they cannot, prints a loud
/// message and returns false, unless `HOSTTUNE_REQUIRE_ROOT_TESTS=1`, which turns the skip
/// into a failure (CI sets it).
pub fn root_tests_enabled(test: &str) -> bool {
    if !nix::unistd::Uid::effective().is_root() {
        skip(
            test,
            "real-kernel test needs root and iproute2 (not running as root)",
        )
    } else if Command::new("ip").arg("-V").output().is_err() {
        skip(
            test,
            "real-kernel test needs root and iproute2 (the ip command is missing)",
        )
    } else {
        true
    }
}

/// Where each tool a test may need comes from, for the skip message.
const TOOL_SOURCES: &[(&str, &str)] = &[
    ("nft", "apt package nftables"),
    ("arping", "apt package iputils-arping"),
    ("bridge", "apt package iproute2"),
    ("ethtool", "apt package ethtool"),
    ("sysctl", "apt package procps"),
    ("curl", "apt package curl"),
    ("python3", "apt package python3"),
    ("qemu-system-x86_64", "apt package qemu-system-x86"),
    ("ipvsadm", "apt package ipvsadm"),
    ("systemd-analyze", "apt package systemd"),
    ("strace", "apt package strace"),
    ("unshare", "apt package util-linux"),
    ("setpriv", "apt package util-linux"),
    ("mount", "apt package mount"),
    (
        "prometheus-node-exporter",
        "apt package prometheus-node-exporter",
    ),
    ("promtool", "apt package prometheus"),
    (
        "ansible-playbook",
        "PyPI package ansible-core, in $HOSTTUNE_VENV",
    ),
    (
        "kubernetes-validate",
        "PyPI package kubernetes-validate, in $HOSTTUNE_VENV",
    ),
];

/// Finds a tool: `$HOSTTUNE_VENV/bin` first (where `.ci/run` puts the PyPI tools), then
/// `PATH`, then the sbin directories (a non-root `PATH` often lacks them).
pub fn tool_path(tool: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(v) = std::env::var_os("HOSTTUNE_VENV") {
        dirs.push(PathBuf::from(v).join("bin"));
    }
    if let Some(p) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&p));
    }
    dirs.extend(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from));
    dirs.into_iter().map(|d| d.join(tool)).find(|p| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

/// Whether every tool `test` needs is installed. When one is missing, skips loudly naming
/// each missing tool and where it comes from, and returns false; panics instead when
/// `HOSTTUNE_REQUIRE_ROOT_TESTS=1` (CI installs them all).
pub fn tools_present(test: &str, tools: &[&str]) -> bool {
    let missing: Vec<String> = tools
        .iter()
        .filter(|t| tool_path(t).is_none())
        .map(|t| match TOOL_SOURCES.iter().find(|(n, _)| n == t) {
            Some((_, from)) => format!("{t} ({from})"),
            None => t.to_string(),
        })
        .collect();
    if missing.is_empty() {
        true
    } else {
        skip(test, &format!("needs {}", missing.join(", ")))
    }
}

/// `root_tests_enabled(test) && tools_present(test, tools)`: a real-kernel test that also
/// runs these commands.
pub fn root_tests_with(test: &str, tools: &[&str]) -> bool {
    root_tests_enabled(test) && tools_present(test, tools)
}

/// Runs a command and panics with its output if it fails.
pub fn run(cmd: &str, args: &[&str]) -> Output {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {}: {}\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A network namespace that exists for the life of the value and is deleted on drop, also
/// when the test panics.
pub struct Netns {
    pub name: String,
}

static SEQ: AtomicU32 = AtomicU32::new(0);

impl Netns {
    /// Creates `ht-<tag>-<pid>-<n>` with `lo` up.
    pub fn new(tag: &str) -> Self {
        let name = format!(
            "ht-{tag}-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::SeqCst)
        );
        run("ip", &["netns", "add", &name]);
        let ns = Self { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// Runs a command inside the namespace, returning its output whatever the status.
    pub fn exec(&self, cmd: &str, args: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", &self.name, cmd])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("ip netns exec {} {cmd}: {e}", self.name))
    }

    /// Runs a command inside the namespace and panics if it fails.
    pub fn must(&self, cmd: &str, args: &[&str]) -> String {
        let out = self.exec(cmd, args);
        assert!(
            out.status.success(),
            "in {}: {cmd} {}: {}\n{}",
            self.name,
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs the hosttune binary inside the namespace with its own state dir; returns the exit
    /// code, stdout and stderr. Short for `hosttune().netns(self).state(state).run(args)`.
    pub fn hosttune(&self, state: &std::path::Path, args: &[&str]) -> (i32, String, String) {
        hosttune().netns(self).state(state).run(args)
    }

    /// `ip ARGS` inside the namespace.
    pub fn ip(&self, args: &[&str]) -> String {
        self.must("ip", args)
    }

    /// Reads a sysctl inside the namespace, whitespace folded. `key` is either form that
    /// sysctl(8) takes: dotted (`net.core.somaxconn`, `net.ipv4.conf.eth0/100.rp_filter`) or
    /// slashed (`net/ipv4/conf/eth0.100/rp_filter`); `eth0.100` stays one path segment.
    pub fn sysctl(&self, key: &str) -> String {
        let key: SysctlKey = key
            .parse()
            .unwrap_or_else(|e| panic!("sysctl key {key:?}: {e}"));
        let mut path = PathBuf::from("/proc/sys");
        path.extend(key.segments());
        self.must("cat", &[path.to_str().unwrap()])
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// `sysctl -a` restricted to per-namespace keys (`net.*`), as key -> value with
    /// whitespace folded; counters and secrets, which differ between any two reads or
    /// namespaces, are left out.
    pub fn sysctl_all(&self) -> std::collections::BTreeMap<String, String> {
        let out = self.exec("sysctl", &["-a"]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.starts_with("net."))
            .filter_map(|l| l.split_once(" = "))
            .filter(|(k, _)| {
                !k.ends_with("_count")
                    && !k.contains("stable_secret")
                    && !k.contains("fastopen_key")
            })
            .map(|(k, v)| {
                (
                    k.to_string(),
                    v.split_whitespace().collect::<Vec<_>>().join(" "),
                )
            })
            .collect()
    }

    /// Runs `f` on a thread that has joined this namespace (setns), for in-process tests of
    /// netlink and ioctls. The test process's own namespace is untouched.
    pub fn enter<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let path = PathBuf::from("/run/netns").join(&self.name);
        std::thread::scope(|s| {
            s.spawn(|| {
                let fd = std::fs::File::open(&path)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                nix::sched::setns(fd, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
                f()
            })
            .join()
            .expect("namespace thread panicked")
        })
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}
