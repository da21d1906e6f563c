//! The tuning surface is a boundary. Under `--root`, a symlink in the tree that leads out of
//! it is followed inside the tree (as under chroot): `audit` never shows an outside file's
//! contents (the item is reported as absent, an error) and `apply` never writes one. A
//! snapshot entry outside the surface refuses the whole snapshot before any write, and does
//! not stop `snapshots list` or a rollback to another snapshot.

mod common;

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use assert_cmd::cargo::cargo_bin;
use common::fixture::{FixtureHost, tree_bytes};

/// What the outside files hold: never to be seen in a report nor changed.
const SECRET: &str = "31337\n";

struct Case {
    host: FixtureHost,
}

impl Case {
    fn new() -> Self {
        let host = FixtureHost::new("vm-virtio");
        std::fs::create_dir_all(host.dir.path().join("outside/eth0")).unwrap();
        Self { host }
    }
    fn root(&self) -> PathBuf {
        self.host.root()
    }
    /// `DIR/outside/NAME`, a file beside the root, holding [`SECRET`].
    fn outside(&self, name: &str) -> PathBuf {
        let p = self.host.dir.path().join("outside").join(name);
        std::fs::write(&p, SECRET).unwrap();
        p
    }
    /// Replaces `ROOT/rel` with a symlink to `target`.
    fn link(&self, rel: &str, target: impl AsRef<Path>) {
        let at = self.root().join(rel);
        let _ = std::fs::remove_file(&at);
        let _ = std::fs::remove_dir_all(&at);
        symlink(target, at).unwrap();
    }
    /// `../` enough times to climb from `ROOT/rel`'s directory to `/`, then `target`'s
    /// absolute path: the relative form of a link out of the tree.
    fn climb(&self, rel: &str, target: &Path) -> PathBuf {
        let depth = self.root().join(rel).parent().unwrap().components().count();
        let mut p = PathBuf::new();
        for _ in 0..depth + 3 {
            p.push("..");
        }
        p.push(target.strip_prefix("/").unwrap());
        p
    }
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let o = Command::new(cargo_bin("hosttune"))
            .arg("--root")
            .arg(self.root())
            .arg("--state-dir")
            .arg(self.host.state())
            .args(args)
            .output()
            .unwrap();
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into(),
            String::from_utf8_lossy(&o.stderr).into(),
        )
    }
}

/// Bytes and modification time of every file in `dir`, to prove nothing was touched.
fn stamp(dir: &Path) -> Vec<(PathBuf, Vec<u8>, SystemTime)> {
    let mut v: Vec<_> = tree_bytes(dir)
        .into_iter()
        .map(|(rel, bytes)| {
            let t = std::fs::metadata(dir.join(&rel))
                .unwrap()
                .modified()
                .unwrap();
            (rel, bytes, t)
        })
        .collect();
    v.sort();
    v
}

const PROFILE: &str = r#"
[sysctl]
"net.core.somaxconn" = 4096
"net.ipv4.ip_forward" = 1
"net.ipv4.tcp_rmem" = "4096 131072 6291456"
"vm.swappiness" = 10
[[nic]]
match = "eth0"
txqueuelen = 5000
"#;

/// Audits and applies [`PROFILE`]; the outside files must not show in any output nor change,
/// and the items whose links lead out are reported as errors.
fn audit_and_apply_stay_inside(c: &Case, errors: &[&str]) {
    let profile = c.host.profile("p", PROFILE);
    let outside = c.host.dir.path().join("outside");
    let before = stamp(&outside);
    let (code, out, err) = c.run(&["audit", &profile, "--format", "json"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        !out.contains("31337") && !err.contains("31337"),
        "{out}{err}"
    );
    let items: serde_json::Value = serde_json::from_str(&out).unwrap();
    let items = items["items"].as_array().unwrap();
    for object in errors {
        let item = items
            .iter()
            .find(|i| i["object"] == *object)
            .unwrap_or_else(|| panic!("{object} not in {out}"));
        assert_eq!(item["status"], "error", "{item}");
    }
    for args in [
        vec!["apply", &profile],
        vec!["apply", &profile, "--dry-run"],
    ] {
        let (code, out, err) = c.run(&args);
        assert_ne!(code, 0, "{args:?}: {out}{err}");
        assert!(
            !out.contains("31337") && !err.contains("31337"),
            "{out}{err}"
        );
    }
    // Optional keys are skipped where absent: the apply goes ahead with the others, and
    // still never reaches outside.
    let optional = c.host.profile(
        "opt",
        "[sysctl]\n\"-net.core.somaxconn\" = 4096\n\"-net.ipv4.ip_forward\" = 1\n\
         \"vm.swappiness\" = 10\n",
    );
    let (code, out, err) = c.run(&["apply", &optional]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        std::fs::read_to_string(c.root().join("proc/sys/vm/swappiness"))
            .unwrap()
            .trim(),
        "10"
    );
    assert_eq!(stamp(&outside), before, "a file outside the root changed");
}

#[test]
fn an_absolute_sysctl_link_out_of_the_root_is_not_followed_out() {
    let c = Case::new();
    let secret = c.outside("somaxconn");
    c.link("proc/sys/net/core/somaxconn", &secret);
    audit_and_apply_stay_inside(&c, &["net.core.somaxconn"]);
}

#[test]
fn a_relative_sysctl_link_climbing_out_is_clamped_at_the_root() {
    let c = Case::new();
    let secret = c.outside("somaxconn");
    let rel = "proc/sys/net/core/somaxconn";
    c.link(rel, c.climb(rel, &secret));
    // The link does reach the secret when followed without the boundary.
    assert_eq!(std::fs::read_to_string(c.root().join(rel)).unwrap(), SECRET);
    audit_and_apply_stay_inside(&c, &["net.core.somaxconn"]);
}

#[test]
fn a_directory_link_out_of_the_root_is_not_followed_out() {
    let c = Case::new();
    c.outside("ip_forward");
    c.outside("tcp_rmem");
    c.link("proc/sys/net/ipv4", c.host.dir.path().join("outside"));
    audit_and_apply_stay_inside(&c, &["net.ipv4.ip_forward", "net.ipv4.tcp_rmem"]);
}

#[test]
fn an_interface_link_climbing_out_of_sys_is_clamped_at_the_root() {
    let c = Case::new();
    let dir = c.host.dir.path().join("outside/eth0");
    c.outside("eth0/tx_queue_len");
    c.outside("eth0/mtu");
    let rel = "sys/class/net/eth0";
    c.link(rel, c.climb(rel, &dir));
    assert_eq!(
        std::fs::read_to_string(c.root().join(rel).join("tx_queue_len")).unwrap(),
        SECRET
    );
    audit_and_apply_stay_inside(&c, &["eth0"]);
    // The other interfaces' relative sysfs links still resolve.
    let (code, out, err) = c.run(&[
        "audit",
        &c.host
            .profile("e1", "[[nic]]\nmatch = \"eth1\"\ntxqueuelen = 1000\n"),
    ]);
    assert!(code == 0 || code == 1, "{out}{err}");
    assert!(out.contains("txqueuelen  eth1"), "{out}");
}

/// A state dir holding one good snapshot (`good`, somaxconn 1024) and `bad`, whose second
/// entry is `entry`; `bad` is the rollback default.
fn state_with(c: &Case, entry: serde_json::Value) -> (PathBuf, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let state = c.host.state();
    let snaps = state.join("snapshots");
    std::fs::create_dir_all(&snaps).unwrap();
    for d in [&state, &snaps] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let snap = |id: &str, settings: serde_json::Value| {
        let body = serde_json::json!({"id": id, "profile": "web", "origin": "apply",
            "created": "2026-01-01T00:00:00Z", "host": "h", "settings": settings});
        let p = snaps.join(format!("{id}.json"));
        std::fs::write(&p, body.to_string()).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        p
    };
    let sysctl = serde_json::json!({"kind": "sysctl", "key": "net.core.somaxconn",
                                    "value": "1024\n"});
    let good = snap("good", serde_json::json!([sysctl]));
    let bad = snap("bad", serde_json::json!([sysctl, entry]));
    std::fs::write(state.join("history"), "good\nbad\n").unwrap();
    std::fs::set_permissions(
        state.join("history"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    (good, bad)
}

/// `rollback bad` and `rollback` (default: bad) exit 2 with one line naming the snapshot
/// file and the entry, and change nothing, inside the root or out; `snapshots list` still
/// lists both; `rollback good` still works.
fn refused(entry: serde_json::Value, want: &str) {
    let c = Case::new();
    let outside = c.host.dir.path().join("outside");
    c.outside("passwd");
    let (_, bad) = state_with(&c, entry);
    let root_before = stamp(&c.root());
    let outside_before = stamp(&outside);
    for args in [vec!["rollback", "bad"], vec!["rollback"]] {
        let (code, out, err) = c.run(&args);
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(&bad.display().to_string()), "{err}");
        assert!(err.contains(want), "{want}: {err}");
        assert_eq!(stamp(&c.root()), root_before, "{args:?} changed the root");
        assert_eq!(stamp(&outside), outside_before, "{args:?} changed outside");
    }
    let (code, out, err) = c.run(&["snapshots", "list"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("bad  unreadable"), "{out}");
    assert!(out.lines().any(|l| l.starts_with("good ")), "{out}");
    assert!(err.contains(want), "{err}");
    let (code, out, err) = c.run(&["rollback", "good"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        std::fs::read_to_string(c.root().join("proc/sys/net/core/somaxconn")).unwrap(),
        "1024\n"
    );
    assert_eq!(stamp(&outside), outside_before);
}

#[test]
fn a_snapshot_file_entry_for_another_file_is_refused() {
    let c = Case::new();
    // A path outside the root, as an absolute host path: never to be written.
    let target = c.host.dir.path().join("outside/passwd");
    let entry = serde_json::json!({"kind": "file", "path": target, "contents": "pwned\n"});
    refused(
        entry,
        &format!(
            "settings[1] (file {}): outside what hosttune tunes",
            target.display()
        ),
    );
    // And one removing a file inside the root.
    let entry = serde_json::json!({"kind": "file", "path": "/proc/sys/vm/swappiness",
                                   "contents": null});
    refused(entry, "settings[1] (file /proc/sys/vm/swappiness)");
}

#[test]
fn a_snapshot_service_entry_for_another_unit_is_refused() {
    let entry = serde_json::json!({"kind": "service", "unit": "sshd.service",
                                   "active": false, "enabled": false});
    refused(entry, "settings[1] (service sshd.service)");
}

#[test]
fn a_snapshot_sysctl_key_with_dot_dot_is_refused() {
    let entry = serde_json::json!({"kind": "sysctl", "key": "net/../../../etc/passwd",
                                   "value": "x"});
    refused(
        entry,
        "settings[1] (sysctl \"net/../../../etc/passwd\"): sysctl key",
    );
}

#[test]
fn a_snapshot_with_a_bad_interface_name_is_refused() {
    let entry = serde_json::json!({"kind": "txqueuelen", "iface": "../../../etc", "len": 1});
    refused(
        entry,
        "settings[1] (txqueuelen \"../../../etc\"): interface name",
    );
    let entry = serde_json::json!({"kind": "vip", "iface": "lo", "addr": "192.0.2.1",
                                   "prefix": 40, "present": true});
    refused(entry, "settings[1] (vip 192.0.2.1/40 on lo)");
}
