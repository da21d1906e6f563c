//! `rps_cpus` and `rx_flow_hash` through the CLI on the real kernel, on a veth pair inside a
//! throw-away network namespace: RPS masks set on every receive queue, planned again after a
//! channel change re-creates the queues (the knob's declared dependency), rolled back;
//! `rx_flow_hash` is `unsupported` on veth without failing the apply.

use crate::common;

use std::path::Path;

use common::{Netns, root_tests_enabled};

/// A namespace with `r0`/`r1`, 4 queues each (veth starts with all 4 in use).
fn rig() -> Netns {
    let ns = Netns::new("rps");
    let q = ["numrxqueues", "4", "numtxqueues", "4"];
    let mut args = vec!["link", "add", "r0"];
    args.extend(q);
    args.extend(["type", "veth", "peer", "name", "r1"]);
    args.extend(q);
    ns.ip(&args);
    ns
}

/// `rx-N` -> mask text of r0's receive queues that exist.
fn masks(ns: &Netns) -> Vec<(String, String)> {
    let list = ns.must("ls", &["/sys/class/net/r0/queues"]);
    let mut out: Vec<(String, String)> = list
        .split_whitespace()
        .filter(|q| q.starts_with("rx-"))
        .map(|q| {
            let m = ns.must("cat", &[&format!("/sys/class/net/r0/queues/{q}/rps_cpus")]);
            (q.to_string(), m.trim().to_string())
        })
        .collect();
    out.sort();
    out
}

fn run(ns: &Netns, state: &Path, prof: &Path, args: &[&str]) -> (i32, String, String) {
    let mut full: Vec<&str> = args.to_vec();
    full.push(prof.to_str().unwrap());
    ns.hosttune(state, &full)
}

#[test]
fn rps_masks_follow_a_channel_change_and_roll_back() {
    let test = "rps_masks_follow_a_channel_change_and_roll_back";
    if !root_tests_enabled(test) {
        return;
    }
    let ns = rig();
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let prof = tmp.path().join("rps.toml");
    std::fs::write(
        &prof,
        "[[nic]]\nmatch = \"r0\"\nchannels = { rx = 2, tx = 2 }\nrps_cpus = \"1\"\n\
         rx_flow_hash = { tcp4 = \"sdfn\" }\n",
    )
    .unwrap();
    let before = masks(&ns);
    assert_eq!(before.len(), 4, "{before:?}");
    assert!(
        before
            .iter()
            .all(|(_, m)| m.trim_start_matches(['0', ',']).is_empty())
    );

    // The plan sees four queues; the channel change leaves two, and RPS is planned again.
    let (code, out, err) = run(&ns, &state, &prof, &["apply", "--dry-run"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("r0 rx-3"), "{out}");
    let (code, out, err) = run(&ns, &state, &prof, &["apply"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("changed rps r0 rx-0: none -> 1"), "{out}");
    assert!(out.contains("changed rps r0 rx-1: none -> 1"), "{out}");
    assert!(!out.contains("rx-2") && !out.contains("rx-3"), "{out}");
    assert!(out.contains("unsupported rx_flow_hash r0 tcp4"), "{out}");
    let after = masks(&ns);
    assert_eq!(after.len(), 2, "{after:?}");
    for (q, m) in &after {
        let bits = u32::from_str_radix(m.rsplit(',').next().unwrap(), 16).unwrap();
        assert_eq!(bits, 0b10, "{q}: {m}");
    }

    // In sync now: nothing written, audit clean.
    let (code, out, _) = run(&ns, &state, &prof, &["apply"]);
    assert_eq!(code, 0);
    assert!(out.contains("in sync, nothing written"), "{out}");
    let (code, out, _) = run(&ns, &state, &prof, &["audit"]);
    assert_eq!(code, 0, "{out}");

    let (code, out, err) = ns.hosttune(&state, &["rollback"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(masks(&ns), before);
}

/// Found by an operator's review: a queue that a channel decrease removes loses its RPS mask,
/// and neither the undo of a failed apply nor a rollback put it back.
#[test]
fn a_queue_removed_by_a_channel_change_gets_its_mask_back() {
    let test = "a_queue_removed_by_a_channel_change_gets_its_mask_back";
    if !root_tests_enabled(test) || !common::tools_present(test, &["ethtool"]) {
        return;
    }
    let ns = rig();
    ns.must("ethtool", &["-L", "r0", "rx", "2", "tx", "2"]);
    ns.must(
        "sh",
        &["-c", "echo 2 > /sys/class/net/r0/queues/rx-1/rps_cpus"],
    );
    let before = masks(&ns);
    assert_eq!(before.len(), 2, "{before:?}");
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let prof = tmp.path().join("down.toml");
    std::fs::write(
        &prof,
        "[[nic]]\nmatch = \"r0\"\nchannels = { rx = 1, tx = 1 }\nrps_cpus = \"0-1\"\n",
    )
    .unwrap();

    // A failure after the channel change: the undo re-creates rx-1 and puts its mask back.
    let o = common::hosttune()
        .netns(&ns)
        .state(&state)
        .env("HOSTTUNE_FAULT", "rps:1:error")
        .output(&["apply", prof.to_str().unwrap()]);
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert_eq!(masks(&ns), before, "{out}");

    // An apply, then a rollback: channels first, then the re-created queue's mask.
    let (code, out, err) = run(&ns, &state, &prof, &["apply"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(masks(&ns).len(), 1);
    let (code, out, err) = ns.hosttune(&state, &["rollback"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(masks(&ns), before, "{out}");
}
