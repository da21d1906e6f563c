//! Global sysctls (`vm.*`, `kernel.*`, `fs.*`, `net.core.rmem_max`) on a fixture tree through
//! `--root`: apply, a second apply that writes nothing, audit, rollback to the same bytes,
//! kill -9 mid-apply, the lock, and the report formats.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::cargo_bin;
use hosttune::sysctl::SysctlKey;

/// A copy of `tests/fixtures/sysctl-host` in a temp dir, with its own state dir.
struct Host {
    dir: tempfile::TempDir,
}

impl Host {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        copy_tree(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sysctl-host"),
            &dir.path().join("root"),
        );
        Self { dir }
    }
    fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(cargo_bin("hosttune"));
        c.arg("--root")
            .arg(self.root())
            .arg("--state-dir")
            .arg(self.dir.path().join("state"));
        c.arg("--profile-dir").arg(self.dir.path().join("profiles"));
        c.args(args);
        c
    }
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let o = self.cmd(args).output().unwrap();
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into(),
            String::from_utf8_lossy(&o.stderr).into(),
        )
    }
    /// A sysctl's bytes in the fixture tree; `key` as sysctl(8) takes it (`eth0.100` stays
    /// one path segment).
    fn sysctl(&self, key: &str) -> String {
        let key: SysctlKey = key
            .parse()
            .unwrap_or_else(|e| panic!("sysctl key {key:?}: {e}"));
        let mut path = self.root().join("proc/sys");
        path.extend(key.segments());
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }
    fn profile(&self, name: &str, text: &str) -> String {
        let p = self.dir.path().join("profiles");
        std::fs::create_dir_all(&p).unwrap();
        std::fs::write(p.join(format!("{name}.toml")), text).unwrap();
        name.to_string()
    }
    fn bytes(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        let mut m = BTreeMap::new();
        walk(&self.root(), &mut m);
        m
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let t = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &t);
        } else {
            std::fs::copy(e.path(), t).unwrap();
        }
    }
}

fn walk(dir: &Path, m: &mut BTreeMap<PathBuf, Vec<u8>>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(&p, m);
        } else {
            m.insert(p.clone(), std::fs::read(&p).unwrap());
        }
    }
}

const GLOBAL: &str = r#"
description = "global keys"
[sysctl]
"vm.swappiness" = 100
"kernel.numa_balancing" = 0
"fs.file-max" = 2000000
"net.core.rmem_max" = 16777216
"net.ipv4.tcp_mem" = "185688 247584 6291456"
"-net.netfilter.nf_conntrack_max" = 700000
"#;

#[test]
fn apply_then_reapply_then_rollback_restores_the_bytes() {
    let h = Host::new();
    let p = h.profile("global", GLOBAL);
    let before = h.bytes();

    let (code, out, err) = h.run(&["apply", &p]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("changed sysctl vm.swappiness"), "{out}");
    assert_eq!(h.sysctl("vm.swappiness"), "100\n");
    assert_eq!(h.sysctl("net.core.rmem_max"), "16777216\n");
    assert_eq!(h.sysctl("net.ipv4.tcp_mem"), "185688 247584 6291456\n");

    let (code, out, _) = h.run(&["apply", &p]);
    assert_eq!(code, 0);
    assert!(out.contains("in sync, nothing written"), "{out}");

    let (code, out, _) = h.run(&["audit", &p]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("skipped  (optional key not present on this host)"),
        "{out}"
    );

    let (code, out, err) = h.run(&["rollback"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        h.bytes(),
        before,
        "rollback must restore every file byte for byte"
    );
    // The rollback took that apply off the history: there is nothing further to walk back.
    let (code, _, err) = h.run(&["rollback"]);
    assert_eq!(code, 2);
    assert!(err.contains("no snapshot to roll back to"), "{err}");
}

#[test]
fn dry_run_reports_pending_changes_and_writes_nothing() {
    let h = Host::new();
    let p = h.profile("global", GLOBAL);
    let before = h.bytes();
    let (code, out, _) = h.run(&["apply", "--dry-run", &p]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("vm.swappiness") && out.contains("drift"),
        "{out}"
    );
    assert_eq!(h.bytes(), before);
    assert!(!h.dir.path().join("state/snapshots").exists());
}

#[test]
fn builtin_lb_audits_against_a_captured_tree() {
    let h = Host::new();
    let (code, out, err) = h.run(&["audit", "lb"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("kernel.numa_balancing"), "{out}");
    assert!(
        out.lines().last().unwrap().starts_with("profile lb: "),
        "{out}"
    );
}

#[test]
fn a_missing_required_key_stops_apply_before_any_write() {
    let h = Host::new();
    let p = h.profile(
        "bad",
        "[sysctl]\n\"vm.swappiness\" = 1\n\"vm.no_such_knob\" = 1\n",
    );
    let before = h.bytes();
    let (code, out, err) = h.run(&["apply", &p]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("vm.no_such_knob") && err.contains("no such key"),
        "{err}"
    );
    assert!(err.contains("bad.toml:3:1"), "{err}");
    assert_eq!(h.bytes(), before);
}

#[test]
fn json_and_prometheus_reports() {
    let h = Host::new();
    let p = h.profile("global", GLOBAL);
    let (code, out, _) = h.run(&["audit", &p, "--format", "json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["profile"], "global");
    assert_eq!(v["host"], "fixture-lb01");
    assert_eq!(v["summary"]["skipped"], 1);
    let swap = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["object"] == "vm.swappiness")
        .unwrap();
    assert_eq!(swap["desired"], "100");
    assert_eq!(swap["status"], "drift");

    let prom = h.dir.path().join("hosttune.prom");
    let (code, out, _) = h.run(&[
        "audit",
        &p,
        "--format",
        "prometheus",
        "--output",
        prom.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    let text = std::fs::read_to_string(&prom).unwrap();
    assert!(
        text.contains("hosttune_drift_items{profile=\"global\",kind=\"sysctl\"} 4"),
        "{text}"
    );
}

#[test]
fn snapshot_list_show_delete() {
    let h = Host::new();
    let p = h.profile("global", GLOBAL);
    let (code, out, _) = h.run(&["snapshot", &p]);
    assert_eq!(code, 0);
    let id = out
        .split_whitespace()
        .nth(1)
        .unwrap()
        .trim_end_matches(':')
        .to_string();
    let (_, list, _) = h.run(&["snapshots", "list"]);
    assert!(list.contains(&id) && list.contains("manual"), "{list}");
    let (_, show, _) = h.run(&["snapshots", "show", &id]);
    let v: serde_json::Value = serde_json::from_str(&show).unwrap();
    assert_eq!(v["settings"].as_array().unwrap().len(), 5, "{show}");
    // Roll back to the manual snapshot after an apply: back to the captured values.
    let before = h.bytes();
    assert_eq!(h.run(&["apply", &p]).0, 0);
    assert_eq!(h.run(&["rollback", &id]).0, 0);
    assert_eq!(h.bytes(), before);
    assert_eq!(h.run(&["snapshots", "delete", &id]).0, 0);
    let (code, _, err) = h.run(&["snapshots", "show", &id]);
    assert_eq!(code, 2);
    assert!(err.contains("not found"), "{err}");
}

/// Starts an apply that pauses after its first write (the test-hooks build's fault hook),
/// waits for that write, and returns it.
fn paused_apply(h: &Host, p: &str) -> std::process::Child {
    let mark = h.dir.path().join("paused");
    let child = h
        .cmd(&["apply", p])
        .env("HOSTTUNE_FAULT", "sysctl:1:pause")
        .env("HOSTTUNE_FAULT_MARK", &mark)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !mark.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "apply never wrote"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

#[test]
fn kill_9_mid_apply_then_rollback_restores() {
    let h = Host::new();
    let p = h.profile("global", GLOBAL);
    let before = h.bytes();
    let mut child = paused_apply(&h, &p);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_ne!(h.bytes(), before, "the first write happened");
    let (code, out, err) = h.run(&["rollback"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(h.bytes(), before);
}

#[test]
fn a_second_apply_waits_for_the_lock_then_fails() {
    let h = Host::new();
    let p = h.profile("global", GLOBAL);
    let mut child = paused_apply(&h, &p);
    let (code, _, err) = h.run(&["apply", &p]);
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(code, 2);
    assert!(
        err.contains("another hosttune apply or rollback holds"),
        "{err}"
    );
}

#[test]
fn rollback_skips_an_irq_that_no_longer_exists_and_restores_the_rest() {
    let h = Host::new();
    let p = h.profile("global", GLOBAL);
    let before = h.bytes();
    assert_eq!(h.run(&["apply", &p]).0, 0);
    // The snapshot also recorded an IRQ that has since been freed (queues re-created).
    let snaps = h.dir.path().join("state/snapshots");
    let file = std::fs::read_dir(&snaps)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut snap: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    snap["settings"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"kind": "irq_affinity", "irq": 9999, "cpus": "1"}));
    std::fs::write(&file, serde_json::to_vec(&snap).unwrap()).unwrap();
    let (code, out, err) = h.run(&["rollback"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(h.bytes(), before);
}
