//! A failed agent correction undoes only itself: under veth churn and with a glob key the
//! kernel refuses on new interfaces, the values the agent holds stay held. Real kernel, in a
//! throw-away network namespace.

use crate::common;
use crate::common::hosttune;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Netns, root_tests_enabled};

struct Running(Child, std::path::PathBuf);

impl Running {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.1).unwrap_or_default()
    }
    fn stop(mut self) -> i32 {
        let pid = nix::unistd::Pid::from_raw(self.0.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        let t = Instant::now();
        loop {
            if let Ok(Some(st)) = self.0.try_wait() {
                return st.code().unwrap_or(-1);
            }
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "the agent did not stop"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn agent(ns: &Netns, dir: &Path, profile: &str) -> Running {
    let err = dir.join("agent.err");
    let child = hosttune()
        .netns(ns)
        .state(dir.join("state"))
        .command(&["agent", profile, "--interval", "1"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    Running(child, err)
}

fn wait_for(what: &str, log: impl Fn() -> String, f: impl Fn() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < Duration::from_secs(20), "{what}\n{}", log());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Creates and deletes `n` veth pairs `bvN`/`bpN` in one `ip -batch` each, `rounds` times.
fn churn(ns: &Netns, dir: &Path, n: usize, rounds: usize) {
    let add: String = (0..n)
        .map(|i| format!("link add bv{i} type veth peer name bp{i}\n"))
        .collect();
    let del: String = (0..n).map(|i| format!("link del bv{i}\n")).collect();
    std::fs::write(dir.join("add.batch"), add).unwrap();
    std::fs::write(dir.join("del.batch"), del).unwrap();
    for _ in 0..rounds {
        let _ = ns.exec(
            "ip",
            &["-force", "-batch", dir.join("add.batch").to_str().unwrap()],
        );
        std::thread::sleep(Duration::from_millis(30));
        let _ = ns.exec(
            "ip",
            &["-force", "-batch", dir.join("del.batch").to_str().unwrap()],
        );
    }
}

#[test]
fn churn_and_refused_corrections_never_detune_the_host() {
    if !root_tests_enabled("churn_and_refused_corrections_never_detune_the_host") {
        return;
    }
    let ns = Netns::new("agundo");
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("p.toml");
    // The mtu glob is refused by the kernel (under the IPv6 minimum of 1280) on every new bv*
    // interface: each such correction fails and is undone, and must undo only itself.
    std::fs::write(
        &profile,
        r#"[sysctl]
"net.core.somaxconn" = 5000
"net.ipv4.tcp_fin_timeout" = 33
"net.ipv6.conf.bv*.mtu" = 1000
[[nic]]
match = "bv*"
txqueuelen = 4321
"#,
    )
    .unwrap();
    let a = agent(&ns, dir.path(), profile.to_str().unwrap());
    wait_for(
        "the start apply",
        || a.log(),
        || ns.sysctl("net.core.somaxconn") == "5000",
    );
    churn(&ns, dir.path(), 100, 3);
    // Let the agent see every event and run an interval audit.
    std::thread::sleep(Duration::from_millis(2500));
    let log = a.log();
    assert_eq!(ns.sysctl("net.core.somaxconn"), "5000", "{log}");
    assert_eq!(ns.sysctl("net.ipv4.tcp_fin_timeout"), "33", "{log}");
    // The refused glob did fail corrections (the test would prove nothing otherwise).
    ns.ip(&[
        "link", "add", "bv900", "type", "veth", "peer", "name", "bp900",
    ]);
    wait_for(
        "a refused correction on bv900",
        || a.log(),
        || a.log().contains("net.ipv6.conf.bv900.mtu"),
    );
    // The refused item is held back with a backoff, named in the log, and the rest of bv900's
    // correction is applied without it.
    wait_for(
        "bv900's txqueuelen, without the refused item",
        || a.log(),
        || {
            ns.must("cat", &["/sys/class/net/bv900/tx_queue_len"])
                .trim()
                == "4321"
        },
    );
    let log = a.log();
    assert!(
        log.contains("sysctl net.ipv6.conf.bv900.mtu: correction failed 1 time(s)")
            && log.contains("next try in 1s; the rest is applied without it"),
        "{log}"
    );
    assert_eq!(ns.sysctl("net.core.somaxconn"), "5000", "{log}");
    assert_eq!(ns.sysctl("net.ipv4.tcp_fin_timeout"), "33", "{log}");
    // Retried with a longer wait each time (1 s, 2 s, 4 s), not at every cycle.
    std::thread::sleep(Duration::from_millis(3500));
    let log = a.log();
    let tries = log
        .matches("sysctl net.ipv6.conf.bv900.mtu: correction failed")
        .count();
    assert!((2..=3).contains(&tries), "{tries} tries in ~4 s\n{log}");
    assert_eq!(a.stop(), 0);
}

/// A full state dir (a tiny tmpfs, filled up after the start apply) stops a correction
/// before its first write, never undoes the start apply, leaves `snapshots/` bounded, and the
/// agent corrects once there is room again.
#[test]
fn a_full_state_dir_fails_a_correction_small() {
    if !root_tests_enabled("a_full_state_dir_fails_a_correction_small") {
        return;
    }
    let ns = Netns::new("agfull");
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let m = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=512k,mode=0700", "tmpfs"])
        .arg(&mnt)
        .status()
        .unwrap();
    assert!(m.success(), "mount a tmpfs for the state dir");
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(mnt.clone());
    let profile = dir.path().join("p.toml");
    std::fs::write(
        &profile,
        "[sysctl]\n\"net.core.somaxconn\" = 5000\n\"net.ipv4.tcp_fin_timeout\" = 33\n",
    )
    .unwrap();
    let err = dir.path().join("agent.err");
    let child = hosttune()
        .netns(&ns)
        .state(mnt.join("state"))
        .command(&["agent", profile.to_str().unwrap(), "--interval", "1"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let a = Running(child, err);
    wait_for(
        "the start apply",
        || a.log(),
        || ns.sysctl("net.ipv4.tcp_fin_timeout") == "33",
    );
    // Fill the tmpfs.
    let _ = Command::new("dd")
        .args(["if=/dev/zero", "bs=4k", "count=1000"])
        .arg(format!("of={}", mnt.join("filler").display()))
        .stderr(Stdio::null())
        .status();
    ns.must("sysctl", &["-qw", "net.ipv4.tcp_fin_timeout=60"]);
    wait_for(
        "a correction that fails on the full state dir",
        || a.log(),
        || a.log().contains("No space left on device"),
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(ns.sysctl("net.core.somaxconn"), "5000", "{}", a.log());
    assert_eq!(ns.sysctl("net.ipv4.tcp_fin_timeout"), "60", "{}", a.log());
    std::fs::remove_file(mnt.join("filler")).unwrap();
    wait_for(
        "the correction once there is room",
        || a.log(),
        || ns.sysctl("net.ipv4.tcp_fin_timeout") == "33",
    );
    let snaps = std::fs::read_dir(mnt.join("state/snapshots"))
        .unwrap()
        .count();
    assert!(snaps <= 4, "snapshots/ holds {snaps} files\n{}", a.log());
    assert_eq!(a.stop(), 0);
}
