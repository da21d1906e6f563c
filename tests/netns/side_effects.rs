//! Side effects on a real kernel, in throw-away network namespaces: each row of the table in
//! `src/side.rs` is written by `hosttune apply`, undone by a failing apply and by `rollback`,
//! and the namespace's whole surface (every `net.*` sysctl, every address, every route of
//! every table) must read back as before, byte for byte.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{Netns, root_tests_with};
use tempfile::TempDir;

/// Everything of the namespace a transaction could touch: `sysctl -a` (net.*), addresses and
/// routes of both families in every table.
fn surface(ns: &Netns) -> BTreeMap<String, String> {
    let mut out = ns.sysctl_all();
    for fam in ["-4", "-6"] {
        for line in ns.ip(&[fam, "-o", "addr", "show"]).lines() {
            // Drop the interface index and the lifetimes line noise, keep address and flags.
            let words: Vec<&str> = line.split_whitespace().skip(1).collect();
            out.insert(format!("addr {}", words.join(" ")), String::new());
        }
        for line in ns.ip(&[fam, "route", "show", "table", "all"]).lines() {
            out.insert(format!("route{fam} {line}"), String::new());
        }
    }
    out
}

fn diff(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> Vec<String> {
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| format!("{k}: {:?} -> {:?}", a.get(k), b.get(k)))
        .collect()
}

fn assert_surface(before: &BTreeMap<String, String>, ns: &Netns, what: &str) {
    let d = diff(before, &surface(ns));
    assert!(
        d.is_empty(),
        "the namespace differs from before:\n{d:#?}\n{what}"
    );
}

/// A namespace shaped like a hardened dual-stack host: two veth pairs up, a static global
/// IPv6 address with a default route and a more specific static route through it, a
/// hand-set per-interface `forwarding`, `disable_ipv6` and `accept_redirects`, and
/// `accept_redirects = 0` on conf/all.
fn hardened(tag: &str) -> Netns {
    let ns = Netns::new(tag);
    ns.ip(&["link", "add", "bw0", "type", "veth", "peer", "name", "bw1"]);
    ns.ip(&["link", "add", "bx0", "type", "veth", "peer", "name", "bx1"]);
    for i in ["bw0", "bw1", "bx0", "bx1"] {
        ns.ip(&["link", "set", i, "up"]);
    }
    ns.ip(&[
        "-6",
        "addr",
        "add",
        "2001:db8:99::1/64",
        "dev",
        "bw0",
        "nodad",
    ]);
    ns.ip(&["addr", "add", "192.0.2.1/24", "dev", "bw0"]);
    ns.ip(&[
        "-6",
        "route",
        "add",
        "default",
        "via",
        "2001:db8:99::2",
        "dev",
        "bw0",
    ]);
    ns.ip(&[
        "-6",
        "route",
        "add",
        "2001:db8:aa::/48",
        "via",
        "2001:db8:99::3",
        "dev",
        "bw0",
        "metric",
        "77",
    ]);
    for (k, v) in [
        ("net.ipv4.conf.all.accept_redirects", "0"),
        ("net.ipv4.conf.bx0.forwarding", "1"),
        ("net.ipv4.conf.bx1.accept_redirects", "0"),
        ("net.ipv6.conf.bx1.disable_ipv6", "1"),
        ("net.ipv6.conf.bx0.forwarding", "1"),
    ] {
        ns.must("sysctl", &["-qw", &format!("{k}={v}")]);
    }
    ns
}

fn profile(dir: &Path, name: &str, body: &str) -> String {
    let p = dir.join(format!("{name}.toml"));
    std::fs::write(&p, body).unwrap();
    p.to_str().unwrap().to_string()
}

fn run(ns: &Netns, state: &Path, args: &[&str]) -> (i32, String) {
    let (code, out, err) = ns.hosttune(state, args);
    (code, format!("{out}\n--- stderr ---\n{err}"))
}

const FORWARDING_AND_V6_OFF: &str = r#"
[sysctl]
"net.ipv4.ip_forward" = 1
"net.ipv6.conf.all.forwarding" = 1
"net.ipv4.conf.default.arp_ignore" = 1
"net.ipv6.conf.all.disable_ipv6" = 1
"#;

#[test]
fn apply_then_rollback_restores_what_the_kernel_changed_on_its_own() {
    if !root_tests_with(
        "apply_then_rollback_restores_what_the_kernel_changed_on_its_own",
        &["sysctl"],
    ) {
        return;
    }
    let ns = hardened("side1");
    let tmp = TempDir::new().unwrap();
    let state = tmp.path().join("state");
    let before = surface(&ns);
    let p = profile(tmp.path(), "fwd", FORWARDING_AND_V6_OFF);

    // The plan says what else each write changes.
    let (code, out) = run(&ns, &state, &["apply", "--dry-run", &p]);
    assert_eq!(code, 1, "{out}");
    // accept_redirects (all) is 0 already on this hardened host: not announced.
    assert!(!out.contains("accept_redirects"), "{out}");
    assert!(
        out.contains("sets forwarding to 1 on 6 more scopes"),
        "{out}"
    );
    assert!(
        out.contains("sets arp_ignore to 1 on 5 more scopes"),
        "{out}"
    );
    assert!(out.contains("drops 2001:db8:99::1/64 on bw0"), "{out}");
    assert!(out.contains("drops 2 static routes"), "{out}");
    assert_surface(&before, &ns, &out);

    let (code, out) = run(&ns, &state, &["apply", &p]);
    assert_eq!(code, 0, "{out}");
    // What the kernel did, so that the rollback has something to put back.
    assert_eq!(ns.sysctl("net.ipv4.conf.all.accept_redirects"), "0");
    assert_eq!(ns.sysctl("net.ipv4.conf.bw0.forwarding"), "1");
    assert_eq!(ns.sysctl("net.ipv6.conf.bx1.disable_ipv6"), "1");
    assert!(
        !ns.ip(&["-6", "addr", "show", "dev", "bw0"])
            .contains("2001:db8:99::1")
    );
    assert!(!ns.ip(&["-6", "route", "show"]).contains("default"));

    let (code, out) = run(&ns, &state, &["rollback"]);
    assert_eq!(code, 0, "{out}");
    assert_surface(&before, &ns, &out);
}

#[test]
fn a_failed_apply_after_such_writes_leaves_the_whole_surface_as_before() {
    if !root_tests_with(
        "a_failed_apply_after_such_writes_leaves_the_whole_surface_as_before",
        &["sysctl"],
    ) {
        return;
    }
    let ns = hardened("side2");
    let tmp = TempDir::new().unwrap();
    let state = tmp.path().join("state");
    let before = surface(&ns);
    // The kernel refuses an IPv6 MTU under 1280 (the minimum link MTU of IPv6), after the
    // forwarding and disable_ipv6 writes took effect.
    let p = profile(
        tmp.path(),
        "fails",
        &format!("{FORWARDING_AND_V6_OFF}\"net.ipv6.conf.bw1.mtu\" = 1000\n"),
    );
    let (code, out) = run(&ns, &state, &["apply", &p]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("net.ipv6.conf.bw1.mtu"), "{out}");
    assert!(out.contains("reads back as before"), "{out}");
    assert_surface(&before, &ns, &out);
    // Nothing to roll back: the undone apply never became the default target.
    let (code, out) = run(&ns, &state, &["rollback"]);
    assert_ne!(code, 0, "{out}");
    assert_surface(&before, &ns, &out);
}

#[test]
fn an_interface_key_reaches_only_that_interface() {
    if !root_tests_with("an_interface_key_reaches_only_that_interface", &["sysctl"]) {
        return;
    }
    let ns = hardened("side3");
    let tmp = TempDir::new().unwrap();
    let state = tmp.path().join("state");
    let before = surface(&ns);
    let p = profile(
        tmp.path(),
        "one",
        "[sysctl]\n\"net.ipv6.conf.bw0.disable_ipv6\" = 1\n\"net.ipv4.conf.bw1.forwarding\" = 1\n",
    );
    let (code, out) = run(&ns, &state, &["apply", "--dry-run", &p]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("drops 2001:db8:99::1/64 on bw0"), "{out}");
    assert!(!out.contains("bx0"), "{out}");
    let (code, out) = run(&ns, &state, &["apply", &p]);
    assert_eq!(code, 0, "{out}");
    assert!(
        !ns.ip(&["-6", "addr", "show", "dev", "bw0"])
            .contains("2001:db8:99::1")
    );
    let (code, out) = run(&ns, &state, &["rollback"]);
    assert_eq!(code, 0, "{out}");
    assert_surface(&before, &ns, &out);
}

#[test]
fn killed_mid_apply_then_rollback_restores_the_side_effects() {
    if !root_tests_with(
        "killed_mid_apply_then_rollback_restores_the_side_effects",
        &["sysctl"],
    ) {
        return;
    }
    let ns = hardened("side4");
    let tmp = TempDir::new().unwrap();
    let state = tmp.path().join("state");
    let before = surface(&ns);
    let p = profile(tmp.path(), "fwd", FORWARDING_AND_V6_OFF);
    // Stop after the third sysctl write (disable_ipv6 not yet written) and kill -9 there.
    let mark = tmp.path().join("mark");
    let mut child = common::hosttune()
        .netns(&ns)
        .state(&state)
        .env("HOSTTUNE_FAULT", "sysctl:3:pause")
        .env("HOSTTUNE_FAULT_MARK", &mark)
        .command(&["apply", &p])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let t0 = std::time::Instant::now();
    while !mark.exists() && t0.elapsed() < std::time::Duration::from_secs(20) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(mark.exists(), "the apply never reached the third write");
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(ns.sysctl("net.ipv4.conf.all.accept_redirects"), "0");
    let (code, out) = run(&ns, &state, &["rollback"]);
    assert_eq!(code, 0, "{out}");
    assert_surface(&before, &ns, &out);
}

#[test]
fn every_builtin_role_applies_and_rolls_back_over_the_whole_surface() {
    if !root_tests_with(
        "every_builtin_role_applies_and_rolls_back_over_the_whole_surface",
        &["sysctl"],
    ) {
        return;
    }
    for role in ["web", "lb", "client"] {
        let ns = hardened(&format!("role{role}"));
        let tmp = TempDir::new().unwrap();
        let state = tmp.path().join("state");
        let before = surface(&ns);
        let (code, out) = run(&ns, &state, &["apply", role]);
        assert_eq!(code, 0, "{role}: {out}");
        // Host-global keys are left alone in a namespace, never written from it.
        assert!(!out.contains("changed sysctl kernel."), "{role}: {out}");
        assert!(!out.contains("changed sysctl vm."), "{role}: {out}");
        assert_ne!(
            surface(&ns),
            before,
            "{role}: the apply changed nothing: {out}"
        );
        // No role drops the static IPv6 address or its routes.
        assert!(
            ns.ip(&["-6", "addr", "show", "dev", "bw0"])
                .contains("2001:db8:99::1/64"),
            "{role}: {out}"
        );
        assert!(
            ns.ip(&["-6", "route", "show"])
                .contains("default via 2001:db8:99::2")
        );
        let forwards = ns.sysctl("net.ipv4.ip_forward") == "1";
        assert_eq!(forwards, role == "lb", "{role}: only the balancer forwards");
        let (code, out) = run(&ns, &state, &["audit", role]);
        assert_eq!(code, 0, "{role}: in sync after apply: {out}");
        let (code, out) = run(&ns, &state, &["rollback"]);
        assert_eq!(code, 0, "{role}: {out}");
        assert_surface(&before, &ns, &format!("{role}: {out}"));
    }
}
