//! `[conntrack]` and the nft seam on the real kernel, inside network namespaces the tests
//! create: a table loaded, read back as hosttune's, seen drifting after `nft add rule` by
//! hand, deleted; `notrack` keeping a VIP's flow out of `/proc/net/nf_conntrack` while
//! another flow is tracked; apply and rollback leaving `nft list ruleset` exactly as before,
//! also over a hand-made table of hosttune's name.

use crate::common;

use common::{Netns, root_tests_with};
use hosttune::host::nft::{ChainDef, Hook, Nft, NftFamily, NftOps, PRIORITY_RAW, TableDef};

fn def() -> TableDef {
    TableDef {
        family: NftFamily::Inet,
        name: "hosttune_test".into(),
        chains: vec![ChainDef {
            name: "prerouting".into(),
            hook: Some(Hook {
                kind: "filter".into(),
                hook: "prerouting".into(),
                priority: PRIORITY_RAW,
                policy: "accept".into(),
            }),
            rules: vec![
                "ip daddr 10.0.0.100 notrack".into(),
                "udp dport 6080 notrack".into(),
            ],
        }],
    }
}

#[test]
fn the_seam_loads_reads_sees_a_hand_edit_and_deletes() {
    let test = "the_seam_loads_reads_sees_a_hand_edit_and_deletes";
    if !root_tests_with(test, &["nft"]) {
        return;
    }
    let ns = Netns::new("nftseam");
    let d = def();
    let nft = Nft::host();
    let (fam, name) = (d.family, d.name.as_str());
    ns.enter(|| {
        assert_eq!(nft.get(fam, name).unwrap(), None);
        nft.delete(fam, name)
            .expect("deleting an absent table is done");
        nft.load(fam, name, &d.table()).unwrap();
        // Loading again replaces, never duplicates.
        nft.load(fam, name, &d.table()).unwrap();
        let live = nft.get(fam, name).unwrap().unwrap();
        assert_eq!(live.shape, d.shape(), "{}", live.text);
    });
    ns.must(
        "nft",
        &[
            "add",
            "rule",
            "inet",
            "hosttune_test",
            "prerouting",
            "tcp",
            "dport",
            "22",
            "counter",
        ],
    );
    ns.enter(|| {
        let live = nft.get(fam, name).unwrap().unwrap();
        assert_ne!(live.shape, d.shape(), "a hand-added rule is drift");
        assert!(live.text.contains("tcp dport 22 counter"), "{}", live.text);
        // The listed text loads back as the same table.
        nft.delete(fam, name).unwrap();
        nft.load(fam, name, &live).unwrap();
        assert_eq!(nft.get(fam, name).unwrap().unwrap().shape, live.shape);
        nft.delete(fam, name).unwrap();
        assert_eq!(nft.get(fam, name).unwrap(), None);
    });
    assert_eq!(ns.must("nft", &["list", "ruleset"]), "");
}

/// A namespace with two local addresses and a table that needs conntrack, so that the
/// kernel tracks this namespace's flows.
fn tracked_ns(tag: &str) -> Netns {
    let ns = Netns::new(tag);
    ns.ip(&["addr", "add", "10.0.0.100/32", "dev", "lo"]);
    ns.ip(&["addr", "add", "10.0.0.200/32", "dev", "lo"]);
    ns.must("nft", &["add", "table", "inet", "t"]);
    ns.must(
        "nft",
        &[
            "add",
            "chain",
            "inet",
            "t",
            "c",
            "{ type filter hook output priority 0; }",
        ],
    );
    ns.must(
        "nft",
        &[
            "add", "rule", "inet", "t", "c", "ct", "state", "new", "accept",
        ],
    );
    ns
}

/// Sends one UDP datagram from the namespace to `addr` port 9999.
fn send(ns: &Netns, addr: &str) {
    ns.must("bash", &["-c", &format!("echo x > /dev/udp/{addr}/9999")]);
}

const PROFILE: &str = "[conntrack]\nnotrack = [\"10.0.0.100\", \"udp:6080\"]\nmax = 100000\n\
                       timeouts = { udp = 10 }\n";

#[test]
fn notrack_keeps_the_vip_out_of_conntrack_and_rollback_restores_the_ruleset() {
    let test = "notrack_keeps_the_vip_out_of_conntrack_and_rollback_restores_the_ruleset";
    if !root_tests_with(test, &["nft"]) {
        return;
    }
    let ns = tracked_ns("notrack");
    let tmp = tempfile::tempdir().unwrap();
    let prof = tmp.path().join("ct.toml");
    std::fs::write(&prof, PROFILE).unwrap();
    let prof = prof.to_str().unwrap();
    let state = tmp.path().join("state");
    let ruleset = ns.must("nft", &["list", "ruleset"]);
    let udp = ns.sysctl("net.netfilter.nf_conntrack_udp_timeout");

    let (code, out, err) = ns.hosttune(&state, &["audit", prof]);
    assert_eq!(code, 1, "{out}{err}");
    let max = out
        .lines()
        .find(|l| l.contains("nf_conntrack_max"))
        .unwrap();
    assert!(
        max.contains("skipped") && max.contains("host-global"),
        "{out}"
    );

    let (code, out, err) = ns.hosttune(&state, &["apply", prof]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(ns.sysctl("net.netfilter.nf_conntrack_udp_timeout"), "10");
    send(&ns, "10.0.0.100");
    send(&ns, "10.0.0.200");
    let table = ns.must("cat", &["/proc/net/nf_conntrack"]);
    assert!(
        table.contains("dst=10.0.0.200"),
        "the other flow is tracked:\n{table}"
    );
    assert!(
        !table.contains("10.0.0.100"),
        "the VIP's flow is not:\n{table}"
    );
    let (code, out, err) = ns.hosttune(&state, &["audit", prof]);
    assert_eq!(code, 0, "in sync after apply: {out}{err}");

    let (code, out, err) = ns.hosttune(&state, &["rollback"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(ns.must("nft", &["list", "ruleset"]), ruleset);
    assert_eq!(ns.sysctl("net.netfilter.nf_conntrack_udp_timeout"), udp);
}

#[test]
fn a_hand_made_table_of_hosttune_s_name_is_drift_and_comes_back_exactly() {
    let test = "a_hand_made_table_of_hosttune_s_name_is_drift_and_comes_back_exactly";
    if !root_tests_with(test, &["nft"]) {
        return;
    }
    let ns = tracked_ns("nthand");
    ns.must("nft", &["add", "table", "inet", "hosttune_notrack"]);
    ns.must(
        "nft",
        &[
            "add",
            "chain",
            "inet",
            "hosttune_notrack",
            "prerouting",
            "{ type filter hook prerouting priority raw; }",
        ],
    );
    ns.must(
        "nft",
        &[
            "add",
            "rule",
            "inet",
            "hosttune_notrack",
            "prerouting",
            "ip",
            "daddr",
            "10.9.9.9",
            "notrack",
        ],
    );
    let tmp = tempfile::tempdir().unwrap();
    let prof = tmp.path().join("ct.toml");
    std::fs::write(&prof, "[conntrack]\nnotrack = [\"10.0.0.100\"]\n").unwrap();
    let prof = prof.to_str().unwrap();
    let state = tmp.path().join("state");
    let ruleset = ns.must("nft", &["list", "ruleset"]);

    let (code, out, err) = ns.hosttune(&state, &["audit", prof]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("other rules than hosttune's"), "{out}");
    let (code, out, err) = ns.hosttune(&state, &["apply", prof]);
    assert_eq!(code, 0, "{out}{err}");
    let now = ns.must("nft", &["list", "table", "inet", "hosttune_notrack"]);
    assert!(
        !now.contains("10.9.9.9") && now.contains("10.0.0.100"),
        "{now}"
    );
    // An apply over hosttune's own table writes nothing.
    let (code, out, err) = ns.hosttune(&state, &["audit", prof]);
    assert_eq!(code, 0, "{out}{err}");

    let (code, out, err) = ns.hosttune(&state, &["rollback"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(ns.must("nft", &["list", "ruleset"]), ruleset);
}
