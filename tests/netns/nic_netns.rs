//! `[[nic]]` on the real kernel through the CLI, on a veth pair inside a throw-away network
//! namespace: channels set, rings unsupported without failing the apply, txqueuelen set, a
//! second apply that writes nothing, a clean audit, and a rollback to the old values.

use crate::common;

use common::{Netns, root_tests_enabled};

const PROFILE: &str = r#"description = "veth queues"
[[nic]]
match = "v0"
channels = { rx = 4, tx = 4 }
rings = { rx = "max" }
txqueuelen = 30000
"#;

/// Current rx and tx channel counts of v0, from `ethtool -l` (the second block).
fn channels(ns: &Netns) -> (u32, u32) {
    let out = ns.must("ethtool", &["-l", "v0"]);
    let current = out
        .split("Current hardware settings:")
        .nth(1)
        .unwrap_or_else(|| panic!("ethtool -l v0: {out}"));
    let get = |label: &str| {
        current
            .lines()
            .find_map(|l| l.trim().strip_prefix(label))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {label} in {out}"))
    };
    (get("RX:"), get("TX:"))
}

/// v0's `qlen` as `ip link show` prints it.
fn qlen(ns: &Netns) -> String {
    let out = ns.ip(&["link", "show", "v0"]);
    let mut words = out.split_whitespace();
    words.find(|w| *w == "qlen");
    words
        .next()
        .unwrap_or_else(|| panic!("no qlen: {out}"))
        .to_string()
}

#[test]
fn veth_queues_apply_reapply_audit_rollback_in_a_namespace() {
    let test = "veth_queues_apply_reapply_audit_rollback_in_a_namespace";
    if !root_tests_enabled(test) || !common::tools_present(test, &["ethtool"]) {
        return;
    }
    let ns = Netns::new("nicq");
    let q = ["numrxqueues", "8", "numtxqueues", "8"];
    let mut args = vec!["link", "add", "v0"];
    args.extend(q);
    args.extend(["type", "veth", "peer", "name", "v1"]);
    args.extend(q);
    ns.ip(&args);
    let tmp = tempfile::tempdir().unwrap();
    let prof = tmp.path().join("veth.toml");
    std::fs::write(&prof, PROFILE).unwrap();
    let prof = prof.to_str().unwrap();
    let state = tmp.path().join("state");
    let old_qlen = qlen(&ns);
    assert_eq!(channels(&ns), (8, 8));

    let (code, out, err) = ns.hosttune(&state, &["apply", prof]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("unsupported ring v0: ETHTOOL_GRINGPARAM on v0: not supported"),
        "{out}"
    );
    assert!(out.contains("changed channels v0"), "{out}");
    assert!(out.contains("changed txqueuelen v0"), "{out}");
    assert_eq!(channels(&ns), (4, 4));
    assert_eq!(qlen(&ns), "30000");

    let (code, out, err) = ns.hosttune(&state, &["apply", prof]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("in sync, nothing written"), "{out}");

    let (code, out, err) = ns.hosttune(&state, &["audit", prof]);
    assert_eq!(code, 0, "{out}{err}");
    let ring = out.lines().find(|l| l.starts_with("ring")).unwrap_or("");
    assert!(ring.contains("unsupported"), "{out}");

    let (code, out, err) = ns.hosttune(&state, &["rollback"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(channels(&ns), (8, 8));
    assert_eq!(qlen(&ns), old_qlen);
    let (code, out, _) = ns.hosttune(&state, &["audit", prof]);
    assert_eq!(code, 1, "after rollback the profile drifts again: {out}");
}
