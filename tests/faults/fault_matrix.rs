//! The fault-injection matrix of SPEC §3: for every kind of step (sysctl, arp, vip, channels,
//! txqueuelen on the real kernel in a namespace; ring, irq affinity, the irqbalance service
//! and its file on a fixture root with file-backed NIC and service stand-ins), inject at that
//! step an error, a partial effect (written, then reported failed), a `kill -9` and a SIGTERM.
//! After each, the host must read back exactly as before: the namespace's `sysctl -a`,
//! addresses, links and channels, or the fixture tree byte for byte. The report must name
//! what failed, and the next `apply` and `rollback` must behave as SPEC §3 says.
//!
//! Faults come from the test-hooks build of the binary (`HOSTTUNE_FAULT`, see
//! src/testing/hooks.rs), which only the tests enable.

use crate::common;
use crate::common::hosttune;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::fixture::FixtureHost;
use common::{Netns, root_tests_with};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    Error,
    Partial,
    Kill9,
    Term,
}

const FAULTS: [Fault; 4] = [Fault::Error, Fault::Partial, Fault::Kill9, Fault::Term];

/// A host the matrix runs on: how to run hosttune there and how to read everything back.
trait Rig {
    fn cmd(&self, args: &[&str]) -> Command;
    fn state(&self) -> BTreeMap<String, String>;
    fn tmp(&self) -> &Path;
}

fn output(c: &mut Command) -> (i32, String, String) {
    let o = c.output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into(),
        String::from_utf8_lossy(&o.stderr).into(),
    )
}

fn wait_for(child: &mut Child, mark: &Path, what: &str) {
    let start = Instant::now();
    while !mark.exists() {
        if let Ok(Some(st)) = child.try_wait() {
            panic!("{what}: exited ({st}) before reaching the fault");
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{what}: never reached the fault"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn differences(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> Vec<String> {
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| format!("{k}: {:?} -> {:?}", a.get(k), b.get(k)))
        .collect()
}

/// `ip -o addr show` without the `tentative` flag: the kernel's duplicate address detection
/// ends on new link-local addresses in its own time, during a cell or not (a flake under
/// load), and is no state of hosttune's.
fn addrs(ns: &Netns) -> String {
    ns.ip(&["-o", "addr", "show"]).replace(" tentative", "")
}

/// Runs one cell of the matrix: `fault` at the `n`-th write of `kind`.
fn cell(rig: &dyn Rig, profile: &str, kind: &str, n: usize, fault: Fault) {
    let what = format!("{kind}:{n} {fault:?}");
    let before = rig.state();
    let mark = rig.tmp().join(format!("mark-{kind}-{fault:?}"));
    let action = match fault {
        Fault::Error => "error",
        Fault::Partial => "partial",
        Fault::Kill9 | Fault::Term => "pause",
    };
    let mut c = rig.cmd(&["apply", profile]);
    c.env("HOSTTUNE_FAULT", format!("{kind}:{n}:{action}"))
        .env("HOSTTUNE_FAULT_MARK", &mark);
    match fault {
        Fault::Error | Fault::Partial => {
            let (code, out, err) = output(&mut c);
            assert_eq!(code, 1, "{what}: {out}{err}");
            assert!(
                out.contains("injected fault") && out.contains("the host reads back as before"),
                "{what}: the report must name the failure and the undo: {out}"
            );
            assert_eq!(err.lines().count(), 1, "{what}: one line on stderr: {err}");
            // The one line names the faulted write exactly: its kind, which write, the action.
            let tag = match fault {
                Fault::Error => format!("injected fault ({kind}:{n}:error)"),
                _ => format!("injected fault after the write took effect ({kind}:{n}:partial)"),
            };
            assert!(err.contains(&tag), "{what}: stderr lacks {tag:?}: {err}");
        }
        Fault::Term => {
            let mut child = c
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            wait_for(&mut child, &mark, &what);
            nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(child.id() as i32),
                nix::sys::signal::Signal::SIGTERM,
            )
            .unwrap();
            let o = child.wait_with_output().unwrap();
            let (out, err) = (
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr),
            );
            assert_eq!(o.status.code(), Some(1), "{what}: {out}{err}");
            assert!(
                out.contains("stopped: interrupted by SIGTERM") && out.contains("restored"),
                "{what}: {out}"
            );
        }
        Fault::Kill9 => {
            let mut child = c
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            wait_for(&mut child, &mark, &what);
            child.kill().unwrap();
            child.wait().unwrap();
            assert_ne!(rig.state(), before, "{what}: the paused write took effect");
            // The next apply says so and takes the interrupted one over ...
            let (code, out, err) = output(&mut rig.cmd(&["apply", profile]));
            assert_eq!(code, 0, "{what}: {out}{err}");
            assert!(err.contains("was interrupted"), "{what}: {err}");
            // ... and one rollback returns to before both.
            let (code, out, err) = output(&mut rig.cmd(&["rollback"]));
            assert_eq!(code, 0, "{what}: {out}{err}");
        }
    }
    let after = rig.state();
    assert!(
        after == before,
        "{what}: the host differs from before:\n{}",
        differences(&before, &after).join("\n")
    );
    // A failed apply is never the default rollback target.
    if fault != Fault::Kill9 {
        let (code, out, err) = output(&mut rig.cmd(&["rollback"]));
        assert_eq!(code, 2, "{what}: {out}{err}");
        assert!(err.contains("no snapshot to roll back to"), "{what}: {err}");
    }
    // And the profile still applies and rolls back cleanly afterwards.
    let (code, out, err) = output(&mut rig.cmd(&["apply", profile]));
    assert_eq!(code, 0, "{what}: {out}{err}");
    let (code, out, err) = output(&mut rig.cmd(&["rollback"]));
    assert_eq!(code, 0, "{what}: {out}{err}");
    let again = rig.state();
    assert!(
        again == before,
        "{what}: after apply and rollback:\n{}",
        differences(&before, &again).join("\n")
    );
}

/// A network namespace with `lo` and a veth pair `vq0`/`vq1` with 4 queues each.
struct NsRig {
    ns: Netns,
    dir: tempfile::TempDir,
}

impl NsRig {
    fn new() -> Self {
        let ns = Netns::new("fm");
        let q = ["numrxqueues", "4", "numtxqueues", "4"];
        let mut args = vec!["link", "add", "vq0"];
        args.extend(q);
        args.extend(["type", "veth", "peer", "name", "vq1"]);
        args.extend(q);
        ns.ip(&args);
        ns.ip(&["link", "set", "vq0", "up"]);
        ns.ip(&["link", "set", "vq1", "up"]);
        Self {
            ns,
            dir: tempfile::tempdir().unwrap(),
        }
    }
}

/// hosttune in a namespace, with a state dir under `dir`.
fn ns_cmd(ns: &Netns, dir: &Path, args: &[&str]) -> Command {
    hosttune().netns(ns).state(dir.join("state")).command(args)
}

impl Rig for NsRig {
    fn cmd(&self, args: &[&str]) -> Command {
        ns_cmd(&self.ns, self.dir.path(), args)
    }
    fn state(&self) -> BTreeMap<String, String> {
        let mut m = self.ns.sysctl_all();
        m.insert("ip addr".into(), addrs(&self.ns));
        m.insert("ip link".into(), self.ns.ip(&["-o", "link", "show"]));
        m.insert(
            "channels vq0".into(),
            self.ns.must("ethtool", &["-l", "vq0"]),
        );
        m.insert(
            "features vq0".into(),
            self.ns.must("ethtool", &["-k", "vq0"]),
        );
        for q in 0..4 {
            for file in [format!("rx-{q}/rps_cpus"), format!("tx-{q}/xps_cpus")] {
                let path = format!("/sys/class/net/vq0/queues/{file}");
                let o = self.ns.exec("cat", &[&path]);
                m.insert(path, String::from_utf8_lossy(&o.stdout).into_owned());
            }
        }
        m
    }
    fn tmp(&self) -> &Path {
        self.dir.path()
    }
}

const NS_PROFILE: &str = r#"description = "every namespaced kind of step"
[sysctl]
"net.core.somaxconn" = 1111
"net.ipv4.tcp_fin_timeout" = 33
"net.ipv4.tcp_keepalive_time" = 777

[dsr]
vips = ["192.0.2.10/32", "2001:db8::10/128"]
arp_ignore = 1
arp_announce = 2

[[nic]]
match = "vq0"
channels = { rx = 2, tx = 2 }
txqueuelen = 5000
features = { "generic-receive-offload" = true }
rps_cpus = "0"
xps_cpus = "0"
"#;

#[test]
fn every_fault_at_every_namespaced_step_leaves_the_namespace_as_before() {
    let test = "every_fault_at_every_namespaced_step_leaves_the_namespace_as_before";
    if !root_tests_with(test, &["sysctl", "ethtool"]) {
        return;
    }
    // (kind, which write of that kind): the second where there are several, so that an
    // earlier write of the same kind is undone too.
    let steps = [
        ("sysctl", 2),
        ("vip", 2),
        ("arp", 2),
        ("channels", 1),
        ("txqueuelen", 1),
        ("rps", 2),
        ("features", 1),
        ("xps", 2),
    ];
    for (kind, n) in steps {
        for fault in FAULTS {
            let rig = NsRig::new();
            let p = rig.dir.path().join("ns.toml");
            std::fs::write(&p, NS_PROFILE).unwrap();
            cell(&rig, p.to_str().unwrap(), kind, n, fault);
        }
    }
}

/// A copy of the `lb-ixgbe` fixture host run with the file-backed NIC and service seams:
/// eth0 has rings 512/512 (max 4096) and irqbalance is active and enabled.
struct FixRig {
    host: FixtureHost,
}

impl FixRig {
    fn new() -> Self {
        let host = FixtureHost::new("lb-ixgbe");
        let root = host.root();
        std::fs::write(
            root.join("sys/class/net/eth0/ethtool"),
            "rings 512 512 4096 4096\nchannels 0 0 1 4 0 0 1 63\nrxfh tcp4 sd\nrxfh udp4 sd\n",
        )
        .unwrap();
        let units = root.join("run/hosttune-test/units");
        std::fs::create_dir_all(&units).unwrap();
        std::fs::write(units.join("irqbalance.service"), "active enabled\n").unwrap();
        std::fs::create_dir_all(root.join("etc/default")).unwrap();
        std::fs::write(
            root.join("etc/default/irqbalance"),
            "# irqbalance settings\nOPTIONS=\"\"\n",
        )
        .unwrap();
        Self { host }
    }
}

impl Rig for FixRig {
    fn cmd(&self, args: &[&str]) -> Command {
        hosttune()
            .root(self.host.root())
            .state(self.host.state())
            .env("HOSTTUNE_TEST_SEAMS", "files")
            .command(args)
    }
    fn state(&self) -> BTreeMap<String, String> {
        self.host
            .bytes()
            .into_iter()
            .map(|(k, v)| {
                (
                    k.display().to_string(),
                    String::from_utf8_lossy(&v).into_owned(),
                )
            })
            .collect()
    }
    fn tmp(&self) -> &Path {
        self.host.dir.path()
    }
}

fn fixture_profile(mode: &str) -> String {
    format!(
        r#"description = "every fixture kind of step"
[[nic]]
match = "eth0"
rings = {{ rx = 2048, tx = 2048 }}
rx_flow_hash = {{ tcp4 = "sdfn", udp4 = "sdfn" }}
irq_cpus = "4-7"

[irqbalance]
mode = "{mode}"
"#
    )
}

#[test]
fn every_fault_at_every_fixture_step_leaves_the_tree_as_before() {
    // (kind, which write, irqbalance mode): `disabled` stops and disables the service,
    // `banned` rewrites its environment file.
    let steps = [
        ("ring", 1, "disabled"),
        ("rx_flow_hash", 2, "disabled"),
        ("irq_affinity", 2, "disabled"),
        ("irqbalance", 1, "disabled"),
        ("irqbalance", 1, "banned"),
    ];
    for (kind, n, mode) in steps {
        for fault in FAULTS {
            let rig = FixRig::new();
            let p = rig.host.profile("fx", &fixture_profile(mode));
            cell(&rig, &p, kind, n, fault);
        }
    }
}

#[test]
fn the_fixture_rig_really_changes_every_kind() {
    // Guards the matrix against a profile that changes nothing (and so cannot fail).
    for mode in ["disabled", "banned"] {
        let rig = FixRig::new();
        let p = rig.host.profile("fx", &fixture_profile(mode));
        let (code, out, err) = output(&mut rig.cmd(&["apply", &p]));
        assert_eq!(code, 0, "{out}{err}");
        for k in [
            "changed ring eth0",
            "changed irq_affinity",
            "changed irqbalance",
        ] {
            assert!(out.contains(k), "{mode}: {k}: {out}");
        }
    }
}

#[test]
fn the_namespace_rig_really_changes_every_kind() {
    if !root_tests_with(
        "the_namespace_rig_really_changes_every_kind",
        &["sysctl", "ethtool"],
    ) {
        return;
    }
    let rig = NsRig::new();
    let p: PathBuf = rig.dir.path().join("ns.toml");
    std::fs::write(&p, NS_PROFILE).unwrap();
    let (code, out, err) = output(&mut rig.cmd(&["apply", p.to_str().unwrap()]));
    assert_eq!(code, 0, "{out}{err}");
    for k in [
        "changed sysctl",
        "changed vip",
        "changed arp",
        "changed channels vq0",
        "changed txqueuelen vq0",
        "changed rps vq0 rx-0",
        "changed rps vq0 rx-1",
    ] {
        assert!(out.contains(k), "{k}: {out}");
    }
}

/// A dual-stack namespace whose writes have kernel side effects: a static global IPv6 address
/// with a default route on `sw0`, hand-set per-interface `forwarding` and `disable_ipv6`, and
/// `accept_redirects = 0` on conf/all. Its state is the whole surface: `sysctl -a` (net.*),
/// addresses and the routes of every table.
struct SideRig {
    ns: Netns,
    dir: tempfile::TempDir,
}

impl SideRig {
    fn new() -> Self {
        let ns = Netns::new("fmside");
        ns.ip(&["link", "add", "sw0", "type", "veth", "peer", "name", "sw1"]);
        ns.ip(&["link", "set", "sw0", "up"]);
        ns.ip(&["link", "set", "sw1", "up"]);
        ns.ip(&[
            "-6",
            "addr",
            "add",
            "2001:db8:7::1/64",
            "dev",
            "sw0",
            "nodad",
        ]);
        ns.ip(&[
            "-6",
            "route",
            "add",
            "default",
            "via",
            "2001:db8:7::2",
            "dev",
            "sw0",
        ]);
        for kv in [
            "net.ipv4.conf.all.accept_redirects=0",
            "net.ipv4.conf.sw1.forwarding=1",
            "net.ipv6.conf.sw1.disable_ipv6=1",
        ] {
            ns.must("sysctl", &["-qw", kv]);
        }
        Self {
            ns,
            dir: tempfile::tempdir().unwrap(),
        }
    }
}

impl Rig for SideRig {
    fn cmd(&self, args: &[&str]) -> Command {
        ns_cmd(&self.ns, self.dir.path(), args)
    }
    fn state(&self) -> BTreeMap<String, String> {
        let mut m = self.ns.sysctl_all();
        m.insert("ip addr".into(), addrs(&self.ns));
        for fam in ["-4", "-6"] {
            m.insert(
                format!("ip {fam} route"),
                self.ns.ip(&[fam, "route", "show", "table", "all"]),
            );
        }
        m
    }
    fn tmp(&self) -> &Path {
        self.dir.path()
    }
}

/// Writes with side effects first, then plain ones, so that a fault at a later write has the
/// side effects of the earlier ones to undo.
const SIDE_PROFILE: &str = r#"description = "writes the kernel answers with side effects"
[sysctl]
"net.ipv4.ip_forward" = 1
"net.ipv6.conf.all.forwarding" = 1
"net.ipv6.conf.all.disable_ipv6" = 1
"net.ipv4.conf.default.rp_filter" = 2
"net.core.somaxconn" = 1111
"#;

#[test]
fn every_fault_after_a_write_with_side_effects_leaves_the_whole_surface_as_before() {
    let test = "every_fault_after_a_write_with_side_effects_leaves_the_whole_surface_as_before";
    if !root_tests_with(test, &["sysctl"]) {
        return;
    }
    // At the write of all.disable_ipv6 (its own side effects, and those of the forwarding
    // writes before it), and at the last, plain write.
    for n in [3, 5] {
        for fault in FAULTS {
            let rig = SideRig::new();
            let p = rig.dir.path().join("side.toml");
            std::fs::write(&p, SIDE_PROFILE).unwrap();
            cell(&rig, p.to_str().unwrap(), "sysctl", n, fault);
        }
    }
}

/// `[conntrack] hashsize` on a fixture tree: the live parameter (write 1) and hosttune's
/// modprobe.d file (write 2), next to a file of another module that must not change.
fn conntrack_rig() -> FixRig {
    let rig = FixRig::new();
    let root = rig.host.root();
    let params = root.join("sys/module/nf_conntrack/parameters");
    std::fs::create_dir_all(&params).unwrap();
    std::fs::write(params.join("hashsize"), "65536\n").unwrap();
    std::fs::create_dir_all(root.join("etc/modprobe.d")).unwrap();
    std::fs::write(root.join("etc/modprobe.d/other.conf"), "options x y=1\n").unwrap();
    rig
}

#[test]
fn every_fault_at_every_conntrack_step_leaves_the_tree_as_before() {
    for n in [1, 2] {
        for fault in FAULTS {
            let rig = conntrack_rig();
            let p = rig.host.profile("ct", "[conntrack]\nhashsize = 262144\n");
            cell(&rig, &p, "conntrack", n, fault);
        }
    }
}
