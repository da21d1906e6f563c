//! `features` through the CLI on the real kernel, on a veth pair inside a throw-away network
//! namespace: GRO and `rx-udp-gro-forwarding` set by ethtool's names, in sync afterwards, a
//! second apply writes nothing, and rollback leaves `ethtool -k` and the namespace surface as
//! they were; a fixed feature (`large-receive-offload` on veth) is `unsupported`; LRO on a
//! forwarding host is refused before any write.

use crate::common;

use std::path::Path;

use common::{Netns, root_tests_enabled};

fn rig() -> Netns {
    let ns = Netns::new("feat");
    ns.ip(&["link", "add", "f0", "type", "veth", "peer", "name", "f1"]);
    ns
}

/// Everything a transaction could touch: sysctls, addresses, routes and `ethtool -k`.
fn surface(ns: &Netns) -> String {
    format!(
        "{:?}\n{}\n{}\n{}",
        ns.sysctl_all(),
        ns.ip(&["-d", "addr"]),
        ns.ip(&["route", "show", "table", "all"]),
        ns.must("ethtool", &["-k", "f0"])
    )
}

fn feature(ns: &Netns, name: &str) -> String {
    let k = ns.must("ethtool", &["-k", "f0"]);
    k.lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("no {name} in {k}"))
        .to_string()
}

fn run(ns: &Netns, state: &Path, prof: &Path, args: &[&str]) -> (i32, String, String) {
    let mut full: Vec<&str> = args.to_vec();
    full.push(prof.to_str().unwrap());
    ns.hosttune(state, &full)
}

#[test]
fn features_apply_audit_and_roll_back_to_the_same_ethtool_k() {
    let test = "features_apply_audit_and_roll_back_to_the_same_ethtool_k";
    if !root_tests_enabled(test) || !common::tools_present(test, &["ethtool"]) {
        return;
    }
    let ns = rig();
    let before = surface(&ns);
    // veth starts with GRO off.
    assert!(feature(&ns, "generic-receive-offload").starts_with("off"));
    let fwd = ns
        .must("ethtool", &["-k", "f0"])
        .contains("rx-udp-gro-forwarding:");
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let prof = tmp.path().join("f.toml");
    let body = if fwd {
        "[[nic]]\nmatch = \"f0\"\nfeatures = { \"generic-receive-offload\" = true, \
         \"rx-udp-gro-forwarding\" = true, \"large-receive-offload\" = false }\n"
    } else {
        "[[nic]]\nmatch = \"f0\"\nfeatures = { \"generic-receive-offload\" = true, \
         \"large-receive-offload\" = false }\n"
    };
    std::fs::write(&prof, body).unwrap();

    let (code, out, err) = run(&ns, &state, &prof, &["apply"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("changed features f0"), "{out}");
    assert!(feature(&ns, "generic-receive-offload").starts_with("on"));
    if fwd {
        assert!(feature(&ns, "rx-udp-gro-forwarding").starts_with("on"));
    }
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
fn a_fixed_feature_is_unsupported_and_writes_nothing() {
    let test = "a_fixed_feature_is_unsupported_and_writes_nothing";
    if !root_tests_enabled(test) || !common::tools_present(test, &["ethtool"]) {
        return;
    }
    let ns = rig();
    let before = surface(&ns);
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let prof = tmp.path().join("f.toml");
    std::fs::write(
        &prof,
        "[[nic]]\nmatch = \"f0\"\nfeatures = { \"large-receive-offload\" = true }\n",
    )
    .unwrap();
    let (code, out, err) = run(&ns, &state, &prof, &["apply"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("unsupported features f0"), "{out}");
    assert!(out.contains("fixed on f0"), "{out}");
    assert_eq!(surface(&ns), before);
}

#[test]
fn lro_on_a_forwarding_host_is_refused_before_any_write() {
    let test = "lro_on_a_forwarding_host_is_refused_before_any_write";
    if !root_tests_enabled(test) || !common::tools_present(test, &["ethtool"]) {
        return;
    }
    let ns = rig();
    let before = surface(&ns);
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");
    let prof = tmp.path().join("f.toml");
    // Forwarding in the same profile; GRO off would be written first without the lint.
    std::fs::write(
        &prof,
        "[sysctl]\n\"net.ipv4.ip_forward\" = 1\n\n[[nic]]\nmatch = \"f0\"\n\
         features = { \"generic-receive-offload\" = false, \"lro\" = true }\n",
    )
    .unwrap();
    let (code, out, err) = run(&ns, &state, &prof, &["apply"]);
    assert_eq!(code, 2, "{out}{err}");
    let all = format!("{out}{err}");
    assert!(
        all.contains("LRO") && all.contains("net.ipv4.ip_forward"),
        "{all}"
    );
    assert_eq!(surface(&ns), before);

    // Forwarding on live, not in the profile: refused too.
    ns.must("sysctl", &["-qw", "net.ipv4.ip_forward=1"]);
    let before = surface(&ns);
    std::fs::write(
        &prof,
        "[[nic]]\nmatch = \"f0\"\nfeatures = { \"large-receive-offload\" = true }\n",
    )
    .unwrap();
    let (code, out, err) = run(&ns, &state, &prof, &["apply"]);
    assert_eq!(code, 2, "{out}{err}");
    assert_eq!(surface(&ns), before);

    // The explicit opt-out for this NIC: LRO is fixed off on veth, so it is unsupported,
    // and not refused.
    std::fs::write(
        &prof,
        "[[nic]]\nmatch = \"f0\"\nfeatures = { \"large-receive-offload\" = true, \
         allow_lro_with_forwarding = true }\n",
    )
    .unwrap();
    let (code, out, err) = run(&ns, &state, &prof, &["apply"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("unsupported features f0"), "{out}");
}
