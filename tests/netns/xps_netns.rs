//! `xps_cpus` through the CLI on the real kernel, on a multiqueue veth pair inside a
//! throw-away network namespace: the set spread over the transmit queues, planned again after
//! a channel change removes queues, in sync afterwards, a second apply writes nothing, and
//! rollback brings back every mask (those of removed queues too) and the whole namespace
//! surface.

use crate::common;

use std::path::Path;

use common::{Netns, root_tests_enabled};

/// A namespace with `x0`/`x1`, 4 queues each.
fn rig() -> Netns {
    let ns = Netns::new("xps");
    let q = ["numrxqueues", "4", "numtxqueues", "4"];
    let mut args = vec!["link", "add", "x0"];
    args.extend(q);
    args.extend(["type", "veth", "peer", "name", "x1"]);
    args.extend(q);
    ns.ip(&args);
    ns
}

/// `tx-N` -> CPU bits of x0's transmit queues that exist.
fn masks(ns: &Netns) -> Vec<(String, u32)> {
    let list = ns.must("ls", &["/sys/class/net/x0/queues"]);
    let mut out: Vec<(String, u32)> = list
        .split_whitespace()
        .filter(|q| q.starts_with("tx-"))
        .map(|q| {
            let m = ns.must("cat", &[&format!("/sys/class/net/x0/queues/{q}/xps_cpus")]);
            let low = m.trim().rsplit(',').next().unwrap().to_string();
            (q.to_string(), u32::from_str_radix(&low, 16).unwrap())
        })
        .collect();
    out.sort();
    out
}

/// Everything a transaction could touch in the namespace: sysctls, addresses, routes, and
/// the queues' masks.
fn surface(ns: &Netns) -> String {
    format!(
        "{:?}\n{}\n{}\n{}\n{:?}",
        ns.sysctl_all(),
        ns.ip(&["-d", "addr"]),
        ns.ip(&["route", "show", "table", "all"]),
        ns.ip(&["-6", "route", "show", "table", "all"]),
        masks(ns)
    )
}

fn run(ns: &Netns, state: &Path, prof: &Path, args: &[&str]) -> (i32, String, String) {
    let mut full: Vec<&str> = args.to_vec();
    full.push(prof.to_str().unwrap());
    ns.hosttune(state, &full)
}

#[test]
fn xps_masks_spread_follow_a_channel_change_and_roll_back() {
    let test = "xps_masks_spread_follow_a_channel_change_and_roll_back";
    if !root_tests_enabled(test) || !common::tools_present(test, &["ethtool"]) {
        return;
    }
    let ns = rig();
    // Hand-set masks on every queue, so that rollback has something to bring back, also on
    // the queues the channel change removes.
    for q in 0..4 {
        ns.must(
            "sh",
            &[
                "-c",
                &format!("echo 3 > /sys/class/net/x0/queues/tx-{q}/xps_cpus"),
            ],
        );
    }
    let before = surface(&ns);
    assert_eq!(masks(&ns).len(), 4);
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let prof = tmp.path().join("xps.toml");
    std::fs::write(
        &prof,
        "[[nic]]\nmatch = \"x0\"\nchannels = { rx = 2, tx = 2 }\nxps_cpus = \"0-1\"\n",
    )
    .unwrap();

    let (code, out, err) = run(&ns, &state, &prof, &["apply"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("changed xps x0 tx-0: 0-1 -> 0"), "{out}");
    assert!(out.contains("changed xps x0 tx-1: 0-1 -> 1"), "{out}");
    assert!(!out.contains("tx-2") && !out.contains("tx-3"), "{out}");
    assert_eq!(
        masks(&ns),
        vec![("tx-0".to_string(), 0b01), ("tx-1".to_string(), 0b10)]
    );

    let (code, out, _) = run(&ns, &state, &prof, &["apply"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("in sync, nothing written"), "{out}");
    let (code, out, _) = run(&ns, &state, &prof, &["audit"]);
    assert_eq!(code, 0, "{out}");

    let (code, out, err) = ns.hosttune(&state, &["rollback"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(surface(&ns), before, "{out}");
}

#[test]
fn xps_following_irqs_on_a_device_without_irqs_is_refused_before_any_write() {
    let test = "xps_following_irqs_on_a_device_without_irqs_is_refused_before_any_write";
    if !root_tests_enabled(test) {
        return;
    }
    let ns = rig();
    let before = surface(&ns);
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let prof = tmp.path().join("xps.toml");
    // The channel change would be written first; the error stops the apply before it.
    std::fs::write(
        &prof,
        "[[nic]]\nmatch = \"x0\"\nchannels = { rx = 2, tx = 2 }\nxps_cpus = \"irq\"\n",
    )
    .unwrap();
    let (code, out, err) = run(&ns, &state, &prof, &["apply"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        format!("{out}{err}").contains("xps_cpus = \"irq\" follows the queue IRQs"),
        "{out}{err}"
    );
    assert_eq!(surface(&ns), before);
}
