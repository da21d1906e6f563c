//! Shared helpers for integration tests: root checks and throw-away network namespaces.
#![allow(dead_code)]

pub mod burst;
pub mod fixture;

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

use hosttune::sysctl::SysctlKey;

/// Whether tests that need root and namespaces may run. When they cannot, prints a loud
/// message and returns false, unless `HOSTTUNE_REQUIRE_ROOT_TESTS=1`, which turns the skip
/// into a failure (CI sets it).
pub fn root_tests_enabled(test: &str) -> bool {
    let why = if !nix::unistd::Uid::effective().is_root() {
        Some("not running as root".to_string())
    } else if Command::new("ip").arg("-V").output().is_err() {
        Some("the ip command (iproute2) is missing".to_string())
    } else {
        None
    };
    match why {
        None => true,
        Some(why) => {
            if std::env::var("HOSTTUNE_REQUIRE_ROOT_TESTS").as_deref() == Ok("1") {
                panic!(
                    "{test}: real-kernel test cannot run ({why}) and HOSTTUNE_REQUIRE_ROOT_TESTS=1"
                );
            }
            eprintln!(
                "\n*** SKIPPED {test}: real-kernel test needs root and iproute2 ({why}) ***\n"
            );
            false
        }
    }
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
    /// code, stdout and stderr.
    pub fn hosttune(&self, state: &std::path::Path, args: &[&str]) -> (i32, String, String) {
        let bin = env!("CARGO_BIN_EXE_hosttune");
        let mut full = vec!["--state-dir", state.to_str().unwrap()];
        full.extend_from_slice(args);
        let o = self.exec(bin, &full);
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into(),
            String::from_utf8_lossy(&o.stderr).into(),
        )
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
