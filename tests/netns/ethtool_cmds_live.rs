//! `host::ethtool_cmds` against the real kernel, only on a veth pair inside a network
//! namespace the test creates (and deletes on drop); nothing here touches this machine's own
//! interfaces. Features are read and GRO is set and read back; what veth lacks (coalescing,
//! pause frames, the RSS table, RX ring count) must come back `unsupported`, naming the
//! command and interface; statistics are compared with `ethtool -S`. The ioctls act in the
//! namespace of the calling thread, so each runs inside `Netns::enter`.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};

use hosttune::host::NicError;
use hosttune::host::ethtool_cmds::{
    self as cmds, Coalesce, CoalesceParam, Features, Pause, RssIndir, SetFeatures,
};
use hosttune::types::IfName;
use nix::errno::Errno;

fn v0() -> IfName {
    "v0".parse().unwrap()
}

/// A namespace holding `v0`/`v1`, each with 4 rx and 4 tx queues.
fn veth_ns(tag: &str) -> common::Netns {
    let ns = common::Netns::new(tag);
    let q = ["numrxqueues", "4", "numtxqueues", "4"];
    let mut args = vec!["link", "add", "v0"];
    args.extend(q);
    args.extend(["type", "veth", "peer", "name", "v1"]);
    args.extend(q);
    ns.ip(&args);
    ns
}

fn changes(list: &[(&str, bool)]) -> BTreeMap<String, bool> {
    list.iter().map(|&(n, on)| (n.to_string(), on)).collect()
}

/// (major, minor) of the running kernel.
fn kernel_version() -> (u32, u32) {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    let mut parts = release
        .trim()
        .split(['.', '-'])
        .map(|p| p.parse().unwrap_or(0));
    (parts.next().unwrap(), parts.next().unwrap())
}

fn assert_unsupported<T: std::fmt::Debug>(got: Result<T, NicError>, want_op: &str) {
    match got {
        Err(NicError::Unsupported { op, iface, .. }) => {
            assert_eq!((op, iface.as_str()), (want_op, "v0"));
        }
        other => panic!("expected {want_op} on v0 unsupported, got {other:?}"),
    }
}

/// Checks `ours` against every line of `ethtool -k` naming a kernel feature (or one of
/// ethtool's single-bit names): on/off, `[fixed]` and `[requested ...]`.
fn same_as_ethtool_k(ours: &Features, text: &str) {
    let mut compared = 0;
    for line in text.lines().skip(1) {
        let Some((name, rest)) = line.trim().split_once(": ") else {
            continue;
        };
        let Some(f) = ours.get(name) else {
            continue; // a group of several bits (tx-checksumming, scatter-gather, ...)
        };
        assert_eq!(f.active, rest.starts_with("on"), "{line}");
        assert_eq!(f.fixed(), rest.contains("[fixed]"), "{line}");
        if rest.contains("[requested on]") {
            assert!(f.requested && !f.active, "{line}");
        } else if rest.contains("[requested off]") {
            assert!(!f.requested && f.active, "{line}");
        } else {
            assert_eq!(f.requested, f.active, "{line}");
        }
        compared += 1;
    }
    assert!(
        compared > 30,
        "only {compared} features compared in:\n{text}"
    );
}

#[test]
fn veth_features_read_and_gro_set_and_read_back() {
    let test = "veth_features_read_and_gro_set_and_read_back";
    if !common::root_tests_enabled(test) {
        return;
    }
    let ns = veth_ns("featset");
    let v0 = v0();

    let before = ns.enter(|| cmds::features(&v0)).unwrap();
    let gro = before.get("rx-gro").expect("rx-gro").clone();
    assert!(gro.changeable(), "{gro:?}");
    assert_eq!(before.get("generic-receive-offload"), Some(&gro));
    let lro = before.get("large-receive-offload").expect("rx-lro");
    assert_eq!(lro.name, "rx-lro");
    assert!(lro.fixed() && !lro.active, "{lro:?}");
    if kernel_version() >= (5, 12) {
        let fwd = before.get("rx-udp-gro-forwarding").expect("kernel >= 5.12");
        assert!(fwd.changeable(), "{fwd:?}");
    }
    let never = before
        .iter()
        .find(|f| f.never_changed)
        .expect("a NETIF_F_NEVER_CHANGE bit");
    assert!(never.fixed());

    // Off, on, off again; each read back, and nothing else changes.
    let others =
        |f: &Features| -> Vec<_> { f.iter().filter(|f| f.name != "rx-gro").cloned().collect() };
    for (name, on) in [
        ("rx-gro", false),
        ("gro", true),
        ("generic-receive-offload", false),
        ("rx-gro", true),
    ] {
        let (set, after) = ns.enter(|| {
            (
                cmds::set_features(&v0, &changes(&[(name, on)])),
                cmds::features(&v0),
            )
        });
        assert_eq!(set.unwrap(), SetFeatures::Applied, "{name} {on}");
        let after = after.unwrap();
        let g = after.get("rx-gro").unwrap();
        assert_eq!((g.active, g.requested), (on, on), "{name} {on}");
        assert_eq!(others(&after), others(&before), "only rx-gro changed");
        if common::tools_present(&format!("{test} (ethtool -k part)"), &["ethtool"]) {
            let text = ns.must("ethtool", &["-k", "v0"]);
            same_as_ethtool_k(&after, &text);
            let want = format!("generic-receive-offload: {}", if on { "on" } else { "off" });
            assert!(text.contains(&want), "{want} in:\n{text}");
        }
    }

    // Not changeable here: the kernel ignores the bit and says so.
    let (set, after) = ns.enter(|| {
        (
            cmds::set_features(&v0, &changes(&[("rx-lro", true)])),
            cmds::features(&v0),
        )
    });
    assert_eq!(
        set.unwrap(),
        SetFeatures::Partial {
            unsupported: true,
            wish: false,
            compat: false
        }
    );
    assert!(!after.unwrap().get("rx-lro").unwrap().active);

    // Refused before anything is written: an unknown name (with a valid one beside it) and
    // a bit no device may change (the kernel would answer EINVAL).
    let gro_now = ns
        .enter(|| cmds::features(&v0))
        .unwrap()
        .get("rx-gro")
        .unwrap()
        .active;
    for bad in [
        changes(&[("rx-gro", !gro_now), ("no-such-offload", true)]),
        changes(&[(never.name.as_str(), !never.active)]),
    ] {
        let (set, after) = ns.enter(|| (cmds::set_features(&v0, &bad), cmds::features(&v0)));
        assert_unsupported(set, "ETHTOOL_SFEATURES");
        assert_eq!(
            after.unwrap().get("rx-gro").unwrap().active,
            gro_now,
            "{bad:?}"
        );
    }
}

#[test]
fn veth_reads_the_same_features_as_ethtool_k() {
    let test = "veth_reads_the_same_features_as_ethtool_k";
    if !common::root_tests_with(test, &["ethtool"]) {
        return;
    }
    let ns = veth_ns("featk");
    let ours = ns.enter(|| cmds::features(&v0())).unwrap();
    same_as_ethtool_k(&ours, &ns.must("ethtool", &["-k", "v0"]));
}

#[test]
fn veth_lacks_coalescing_pause_and_rss_and_says_so() {
    if !common::root_tests_enabled("veth_lacks_coalescing_pause_and_rss_and_says_so") {
        return;
    }
    let ns = veth_ns("nocoal");
    let v0 = v0();
    let rx_usecs: CoalesceParam = "rx-usecs".parse().unwrap();
    ns.enter(|| {
        assert_unsupported(cmds::coalesce(&v0), "ETHTOOL_GCOALESCE");
        assert_unsupported(
            cmds::set_coalesce(&v0, &Coalesce::default()),
            "ETHTOOL_SCOALESCE",
        );
        assert_unsupported(
            cmds::update_coalesce(&v0, &[(rx_usecs, 50)]),
            "ETHTOOL_GCOALESCE",
        );
        assert_unsupported(cmds::pause(&v0), "ETHTOOL_GPAUSEPARAM");
        let on = Pause {
            autoneg: false,
            rx: true,
            tx: true,
        };
        assert_unsupported(cmds::set_pause(&v0, on), "ETHTOOL_SPAUSEPARAM");
        assert_unsupported(cmds::rss_indir(&v0), "ETHTOOL_GRXFHINDIR");
        assert_unsupported(
            cmds::set_rss_indir(&v0, &RssIndir::equal(8, 2)),
            "ETHTOOL_SRXFHINDIR",
        );
        assert_unsupported(cmds::reset_rss_indir(&v0), "ETHTOOL_SRXFHINDIR");
        assert_unsupported(cmds::rx_rings(&v0), "ETHTOOL_GRXRINGS");
        // A missing interface is a real failure, not `unsupported`.
        let missing: IfName = "nosuch0".parse().unwrap();
        for got in [
            cmds::coalesce(&missing).err(),
            cmds::features(&missing).err(),
        ] {
            assert!(
                matches!(
                    got,
                    Some(NicError::Os {
                        errno: Errno::ENODEV,
                        ..
                    })
                ),
                "{got:?}"
            );
        }
    });
    // Outside the namespace there is no v0 at all: the ioctl acts where the thread is.
    assert!(matches!(
        cmds::pause(&v0),
        Err(NicError::Os {
            errno: Errno::ENODEV,
            ..
        })
    ));
}

/// `ethtool -S IFACE` as name → value.
fn ethtool_s(ns: &common::Netns) -> Vec<(String, u64)> {
    ns.must("ethtool", &["-S", "v0"])
        .lines()
        .skip(1)
        .filter_map(|l| {
            let (n, v) = l.trim().rsplit_once(": ")?;
            Some((n.to_string(), v.parse().ok()?))
        })
        .collect()
}

#[test]
fn veth_statistics_match_ethtool_s_and_follow_the_queue_count() {
    let test = "veth_statistics_match_ethtool_s_and_follow_the_queue_count";
    if !common::root_tests_enabled(test) {
        return;
    }
    let ns = veth_ns("stats");
    let v0 = v0();
    let stats = ns.enter(|| cmds::nic_stats(&v0)).unwrap();
    let peer: u64 = ns
        .must("cat", &["/sys/class/net/v1/ifindex"])
        .trim()
        .parse()
        .unwrap();
    assert_eq!(stats.get("peer_ifindex"), Some(peer));
    let queues = |s: &cmds::NicStats| -> BTreeSet<String> {
        s.iter()
            .filter_map(|(n, _)| {
                n.strip_prefix("rx_queue_")?
                    .split('_')
                    .next()
                    .map(String::from)
            })
            .collect()
    };
    assert_eq!(queues(&stats).len(), 4, "{stats:?}");

    let names = ns
        .enter(|| cmds::string_set(&v0, cmds::abi::ETH_SS_STATS))
        .unwrap();
    assert_eq!(
        names,
        stats.iter().map(|(n, _)| n.to_string()).collect::<Vec<_>>()
    );

    if !common::tools_present(&format!("{test} (ethtool part)"), &["ethtool"]) {
        return;
    }
    // The link is down and idle, so the counters stand still between the two reads.
    assert_eq!(stats.0, ethtool_s(&ns));
    // Fewer queues, fewer per-queue counters: the count is read afresh each time.
    ns.must("ethtool", &["-L", "v0", "rx", "2", "tx", "2"]);
    let fewer = ns.enter(|| cmds::nic_stats(&v0)).unwrap();
    assert_eq!(queues(&fewer).len(), 2, "{fewer:?}");
    assert_eq!(fewer.0, ethtool_s(&ns));
}
