//! `--root` inside a pod: live-ness is a property of the tree, not of its path. The host's
//! `/proc` and `/sys` bind-mounted at a temp dir (as a DaemonSet pod mounts them at
//! `/host/proc` and `/host/sys`) are the live kernel in this network namespace: NIC and address
//! items go through the kernel and apply; service items are `unsupported` (systemctl cannot
//! reach the host's systemd from a pod). A copy of a tree is not live. Each bind mount is made
//! inside `unshare -m`, so it never shows outside the command, and every write happens in a
//! throw-away network namespace.

use crate::common;

use std::path::Path;
use std::process::Command;

use common::{Netns, hosttune, root_tests_with};

/// `sh -c` script: bind-mounts /proc and /sys at `$1/proc` and `$1/sys`, then runs the rest of
/// the arguments.
const BIND: &str = "mount --bind /proc \"$1/proc\" && mount --bind /sys \"$1/sys\" && shift && \
                    exec \"$@\"";

/// `hosttune --root ROOT --state-dir STATE ARGS` with /proc and /sys bind-mounted at ROOT in a
/// private mount namespace, inside `ns` when given (else in this process's namespaces, for
/// read-only audits).
fn pod_like(ns: Option<&Netns>, root: &Path, state: &Path, args: &[&str]) -> (i32, String, String) {
    let mut c = match ns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", &ns.name, "unshare"]);
            c
        }
        None => Command::new("unshare"),
    };
    c.args(["-m", "--propagation", "private", "sh", "-c", BIND, "sh"])
        .arg(root)
        .args([common::BIN, "--root"])
        .arg(root)
        .arg("--state-dir")
        .arg(state)
        .args(args);
    let o = c.output().expect("unshare");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into(),
        String::from_utf8_lossy(&o.stderr).into(),
    )
}

fn mount_points(dir: &Path) {
    std::fs::create_dir_all(dir.join("proc")).unwrap();
    std::fs::create_dir_all(dir.join("sys")).unwrap();
}

/// The items of a JSON report whose kind is `kind`.
fn items(json: &str, kind: &str) -> Vec<serde_json::Value> {
    let doc: serde_json::Value =
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"));
    doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == kind)
        .cloned()
        .collect()
}

fn rx_queues(ns: &Netns) -> usize {
    ns.must("ls", &["/sys/class/net/v0/queues"])
        .split_whitespace()
        .filter(|q| q.starts_with("rx-"))
        .count()
}

fn lo_has(ns: &Netns, addr: &str) -> bool {
    ns.ip(&["-o", "addr", "show", "dev", "lo"]).contains(addr)
}

const NS_PROFILE: &str = r#"description = "pod-like root in a namespace"
[sysctl]
"net.ipv4.tcp_fin_timeout" = 17

[dsr]
vips = ["192.0.2.10/32"]

[[nic]]
match = "v0"
channels = { rx = 2, tx = 2 }
"#;

/// As a DaemonSet pod with hostNetwork: the kernel's /proc and /sys under another root, in the
/// process's own network namespace. Channels (SIOCETHTOOL) and the VIP (rtnetlink) are
/// applied through `--root` and rolled back from `/`; a fixture copy of the same files is
/// offline.
#[test]
fn a_bind_mount_of_proc_and_sys_is_live_and_applies() {
    let test = "a_bind_mount_of_proc_and_sys_is_live_and_applies";
    if !root_tests_with(test, &["unshare", "mount"]) {
        return;
    }
    let ns = Netns::new("podroot");
    let q = ["numrxqueues", "8", "numtxqueues", "8"];
    let mut args = vec!["link", "add", "v0"];
    args.extend(q);
    args.extend(["type", "veth", "peer", "name", "v1"]);
    args.extend(q);
    ns.ip(&args);
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("host");
    mount_points(&root);
    let state = tmp.path().join("state");
    let prof = tmp.path().join("p.toml");
    std::fs::write(&prof, NS_PROFILE).unwrap();
    let prof = prof.to_str().unwrap();
    let fin = ns.sysctl("net.ipv4.tcp_fin_timeout");
    assert_eq!(rx_queues(&ns), 8);

    let (code, out, err) = pod_like(
        Some(&ns),
        &root,
        &state,
        &["audit", prof, "--format", "json"],
    );
    assert_eq!(code, 1, "drift expected: {out}{err}");
    for kind in ["channels", "vip"] {
        let it = items(&out, kind);
        assert!(!it.is_empty(), "{kind}: {out}");
        for i in it {
            assert_eq!(i["status"], "drift", "{kind} on a live --root: {i}");
        }
    }

    let (code, out, err) = pod_like(Some(&ns), &root, &state, &["-v", "apply", prof]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("live (the kernel's procfs"), "{err}");
    assert!(out.contains("changed channels v0"), "{out}");
    assert!(out.contains("changed vip 192.0.2.10/32"), "{out}");
    assert_eq!(rx_queues(&ns), 2);
    assert!(lo_has(&ns, "192.0.2.10/32"));
    assert_eq!(ns.sysctl("net.ipv4.tcp_fin_timeout"), "17");

    let (code, out, err) = pod_like(Some(&ns), &root, &state, &["audit", prof]);
    assert_eq!(code, 0, "in sync after the apply: {out}{err}");

    // The snapshot belongs to the kernel, not to the path it was seen through: a rollback on
    // `/` in the same namespace (an operator on the host, once the DaemonSet is gone) takes it.
    let (code, out, err) = ns.hosttune(&state, &["rollback"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(rx_queues(&ns), 8);
    assert!(!lo_has(&ns, "192.0.2.10/32"));
    assert_eq!(ns.sysctl("net.ipv4.tcp_fin_timeout"), fin);

    // The same files copied are a captured tree: no kernel behind them.
    let copy = tmp.path().join("copy");
    std::fs::create_dir_all(copy.join("proc/self/ns")).unwrap();
    std::fs::create_dir_all(copy.join("sys/class/net/v0/queues/rx-0")).unwrap();
    let link = ns.must("readlink", &["/proc/self/ns/net"]);
    std::os::unix::fs::symlink(link.trim(), copy.join("proc/self/ns/net")).unwrap();
    let o = hosttune()
        .netns(&ns)
        .arg("-v")
        .root(&copy)
        .state(&state)
        .output(&["audit", prof, "--format", "json"]);
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert!(err.contains("a captured tree"), "{err}");
    assert!(err.contains("is not a procfs"), "{err}");
    for kind in ["vip"] {
        for i in items(&out, kind) {
            assert_eq!(i["status"], "unsupported", "{kind} on a copy: {i}");
        }
    }
}

/// In the host's own network namespace (read-only: an audit), a bind-mounted root is live, and
/// the irqbalance item is `unsupported` with a note saying why, where `--root /` asks systemd.
#[test]
fn services_are_unsupported_on_a_live_root_other_than_slash() {
    let test = "services_are_unsupported_on_a_live_root_other_than_slash";
    if !root_tests_with(test, &["unshare", "mount"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("host");
    mount_points(&root);
    let state = tmp.path().join("state");
    let prof = tmp.path().join("p.toml");
    std::fs::write(
        &prof,
        "description = \"irqbalance only\"\n[irqbalance]\nmode = \"disabled\"\n",
    )
    .unwrap();
    let prof = prof.to_str().unwrap();
    let (code, out, err) = pod_like(
        None,
        &root,
        &state,
        &["-v", "audit", prof, "--format", "json"],
    );
    assert_eq!(code, 0, "an unsupported item is no drift: {out}{err}");
    assert!(err.contains("live (the kernel's procfs"), "{err}");
    let it = items(&out, "irqbalance");
    assert_eq!(it.len(), 1, "{out}");
    assert_eq!(it[0]["status"], "unsupported", "{out}");
    let note = it[0]["note"].as_str().unwrap_or_default();
    assert!(note.contains("cannot be reached"), "{out}");
}
