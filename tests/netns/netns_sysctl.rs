//! Namespaced sysctls on the real kernel, inside network namespaces the tests create: apply,
//! audit, idempotence, rollback, the read-only failure path, and equality with `sysctl -p`.

use crate::common;

use common::{Netns, root_tests_enabled, root_tests_with};

/// Client-style keys that every network namespace has and may write, plus a per-interface key
/// of an interface whose name contains a dot.
const KEYS: &[(&str, &str)] = &[
    ("net.core.somaxconn", "250000"),
    ("net.ipv4.tcp_max_tw_buckets", "700000"),
    ("net.ipv4.tcp_fin_timeout", "120"),
    ("net.ipv4.tcp_syn_retries", "5"),
    ("net.ipv4.tcp_max_syn_backlog", "1000000"),
    ("net.ipv4.tcp_keepalive_time", "30"),
    ("net.ipv4.tcp_keepalive_intvl", "5"),
    ("net.ipv4.tcp_keepalive_probes", "10"),
    ("net.ipv4.tcp_rmem", "4096 16384 4194304"),
    ("net.ipv4.tcp_wmem", "8192 16384 4194304"),
    ("net.ipv4.ip_forward", "1"),
    ("net.ipv4.conf.all.rp_filter", "0"),
    ("net.ipv4.ip_local_port_range", "1024 65535"),
    ("net.ipv6.conf.default.disable_ipv6", "1"),
    ("net.ipv4.conf.d0/100.rp_filter", "2"),
];

fn profile_text() -> String {
    let mut s = String::from("description = \"namespaced client keys\"\n[sysctl]\n");
    for (k, v) in KEYS {
        s.push_str(&format!("\"{k}\" = \"{v}\"\n"));
    }
    s
}

fn values(ns: &Netns) -> Vec<String> {
    KEYS.iter().map(|(k, _)| ns.sysctl(k)).collect()
}

fn with_dotted_iface(ns: &Netns) {
    ns.ip(&[
        "link", "add", "d0.100", "type", "veth", "peer", "name", "d0peer",
    ]);
}

#[test]
fn apply_audit_reapply_rollback_in_a_namespace() {
    if !root_tests_enabled("apply_audit_reapply_rollback_in_a_namespace") {
        return;
    }
    let ns = Netns::new("sysctl");
    with_dotted_iface(&ns);
    let tmp = tempfile::tempdir().unwrap();
    let prof = tmp.path().join("client-ns.toml");
    std::fs::write(&prof, profile_text()).unwrap();
    let state = tmp.path().join("state");
    let before = values(&ns);

    let (code, out, err) = ns.hosttune(&state, &["audit", prof.to_str().unwrap()]);
    assert_eq!(code, 1, "fresh namespace must drift: {out}{err}");

    let (code, out, err) = ns.hosttune(&state, &["apply", prof.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    let want: Vec<String> = KEYS.iter().map(|(_, v)| v.to_string()).collect();
    assert_eq!(values(&ns), want);
    assert_eq!(ns.sysctl("net/ipv4/conf/d0.100/rp_filter"), "2");

    let (code, out, _) = ns.hosttune(&state, &["audit", prof.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = ns.hosttune(&state, &["apply", prof.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(out.contains("in sync, nothing written"), "{out}");

    let (code, out, err) = ns.hosttune(&state, &["rollback"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(values(&ns), before);
}

#[test]
fn a_read_only_key_fails_the_apply_and_undoes_the_rest() {
    if !root_tests_enabled("a_read_only_key_fails_the_apply_and_undoes_the_rest") {
        return;
    }
    let ns = Netns::new("ro");
    let tmp = tempfile::tempdir().unwrap();
    let prof = tmp.path().join("ro.toml");
    // rmem_max is global: inside a non-initial namespace it is read-only. Ask for a value
    // other than the live one (whatever this machine has), so that a write is attempted.
    let before = ns.sysctl("net/core/somaxconn");
    let rmem = ns.sysctl("net/core/rmem_max");
    let want_rmem = rmem.parse::<u64>().unwrap() + 4096;
    let want_somaxconn = before.parse::<u64>().unwrap() + 1;
    std::fs::write(
        &prof,
        format!(
            "[sysctl]\n\"net.core.somaxconn\" = {want_somaxconn}\n\"net.core.rmem_max\" = {want_rmem}\n"
        ),
    )
    .unwrap();
    // Inside the namespace the key is read-only: skipped, and the rest applies.
    let (code, out, err) = ns.hosttune(
        &tmp.path().join("state"),
        &["apply", "--dry-run", prof.to_str().unwrap()],
    );
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("net.core.rmem_max") && out.contains("read-only inside a network namespace"),
        "{out}"
    );
    // Told to write host-global keys anyway, the write fails and everything is undone.
    let (code, out, err) = ns.hosttune(
        &tmp.path().join("state"),
        &["--allow-host-global", "apply", prof.to_str().unwrap()],
    );
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("net.core.rmem_max") && err.contains("every change was undone"),
        "{err}"
    );
    assert!(out.contains("restored sysctl net.core.somaxconn"), "{out}");
    assert!(out.contains("the host reads back as before"), "{out}");
    assert_eq!(ns.sysctl("net/core/somaxconn"), before);
    assert_eq!(ns.sysctl("net/core/rmem_max"), rmem);
}

fn sysctl_all(ns: &Netns) -> std::collections::BTreeMap<String, String> {
    ns.sysctl_all()
}

#[test]
fn apply_leaves_what_sysctl_p_leaves() {
    if !root_tests_with("apply_leaves_what_sysctl_p_leaves", &["sysctl"]) {
        return;
    }
    let a = Netns::new("sysp");
    let b = Netns::new("ht");
    with_dotted_iface(&a);
    with_dotted_iface(&b);
    let tmp = tempfile::tempdir().unwrap();
    let conf = tmp.path().join("sysctl.conf");
    let mut text = String::new();
    for (k, v) in KEYS {
        text.push_str(&format!("{k} = {v}\n"));
    }
    std::fs::write(&conf, text).unwrap();
    let prof = tmp.path().join("same.toml");
    std::fs::write(&prof, profile_text()).unwrap();

    a.must("sysctl", &["-q", "-p", conf.to_str().unwrap()]);
    let (code, out, err) = b.hosttune(
        &tmp.path().join("state"),
        &["apply", prof.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{out}{err}");

    let (va, vb) = (sysctl_all(&a), sysctl_all(&b));
    assert!(va.len() > 100, "sysctl -a listed too little: {}", va.len());
    let differ: Vec<_> = va.iter().filter(|(k, v)| vb.get(*k) != Some(v)).collect();
    assert!(
        differ.is_empty(),
        "keys that differ between sysctl -p and hosttune apply: {differ:?}"
    );
    assert_eq!(va.len(), vb.len());
}
