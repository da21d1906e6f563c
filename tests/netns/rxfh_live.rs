//! RSS hash fields (`rx-flow-hash`) through `Ethtool` against the real kernel, only on a veth
//! pair inside a throw-away network namespace: veth has no rxnfc operations, so every get and
//! set is `unsupported`, as the `ethtool` command finds too. `FakeNic`'s veth is checked
//! against the same calls. Nothing here touches this machine's own interfaces.

use crate::common;

use hosttune::host::NicOpsExt as _;
use std::process::Output;

use hosttune::host::ethtool::Ethtool;
use hosttune::host::nic::{FlowType, HashFields};
use hosttune::host::{NicError, NicOps};
use hosttune::testing::fake_nic::{Driver, FakeNic};
use hosttune::types::IfName;
use nix::errno::Errno;

fn ifname(s: &str) -> IfName {
    s.parse().unwrap()
}

fn sdfn() -> HashFields {
    "sdfn".parse().unwrap()
}

/// A namespace holding the veth pair `v0`/`v1`.
fn veth_ns(tag: &str) -> common::Netns {
    let ns = common::Netns::new(tag);
    ns.ip(&["link", "add", "v0", "type", "veth", "peer", "name", "v1"]);
    ns
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn assert_unsupported(err: &NicError, want_op: &str) {
    match err {
        NicError::Unsupported { op, iface, .. } => {
            assert_eq!(*op, want_op, "{err}");
            assert_eq!(iface.as_str(), "v0", "{err}");
        }
        other => panic!("expected {want_op} unsupported, got {other}"),
    }
}

#[test]
fn veth_rx_flow_hash_is_unsupported_like_the_ethtool_command() {
    let test = "veth_rx_flow_hash_is_unsupported_like_the_ethtool_command";
    if !common::root_tests_enabled(test) {
        return;
    }
    let ns = veth_ns("rxfh");
    let v0 = ifname("v0");

    let (gets, sets, missing) = ns.enter(|| {
        let gets: Vec<_> = FlowType::ALL
            .iter()
            .map(|&flow| Ethtool.rx_flow_hash(&v0, flow))
            .collect();
        let sets: Vec<_> = FlowType::ALL
            .iter()
            .map(|&flow| Ethtool.set_rx_flow_hash(&v0, flow, sdfn()))
            .collect();
        // An interface that does not exist in the namespace is a real failure.
        let missing = Ethtool.rx_flow_hash(&ifname("nosuch0"), FlowType::Tcp4);
        (gets, sets, missing)
    });
    for (flow, got) in FlowType::ALL.iter().zip(&gets) {
        assert_unsupported(got.as_ref().unwrap_err(), "ETHTOOL_GRXFH");
        eprintln!("get {flow}: {}", got.as_ref().unwrap_err());
    }
    for set in &sets {
        assert_unsupported(set.as_ref().unwrap_err(), "ETHTOOL_SRXFH");
    }
    assert!(
        matches!(
            missing,
            Err(NicError::Os {
                op: "ETHTOOL_GRXFH",
                errno: Errno::ENODEV,
                ..
            })
        ),
        "{missing:?}"
    );

    // The kernel's answers are checked above; the command's, only where it is installed.
    if !common::tools_present(&format!("{test} (the ethtool command part)"), &["ethtool"]) {
        return;
    }
    for flow in FlowType::ALL {
        let flow = flow.to_string();
        let get = ns.exec("ethtool", &["-n", "v0", "rx-flow-hash", &flow]);
        assert!(!get.status.success(), "ethtool -n: {}", text(&get));
        assert!(
            text(&get).contains("Operation not supported"),
            "ethtool -n v0 rx-flow-hash {flow}: {}",
            text(&get)
        );
        // ethtool 6.1 prints the failure of -N rx-flow-hash but still exits 0, so only its
        // message is compared.
        let set = ns.exec("ethtool", &["-N", "v0", "rx-flow-hash", &flow, "sdfn"]);
        assert!(
            text(&set).contains("Operation not supported"),
            "ethtool -N v0 rx-flow-hash {flow} sdfn: {}",
            text(&set)
        );
    }
}

/// The same calls against the kernel's veth and `FakeNic`'s veth give the same answers,
/// error text included.
#[test]
fn fake_veth_rx_flow_hash_answers_like_the_kernel() {
    if !common::root_tests_enabled("fake_veth_rx_flow_hash_answers_like_the_kernel") {
        return;
    }
    let ns = veth_ns("rxfhfake");
    let fake = FakeNic::new().with_iface("v0", Driver::Veth { queues: 1 });
    let v0 = ifname("v0");
    let script = |nic: &dyn NicOps| {
        let mut seen = Vec::new();
        for flow in FlowType::ALL {
            seen.push(format!("{:?}", nic.rx_flow_hash(&v0, flow)));
            for fields in ["sd", "sdfn", "mvtsdfnr"] {
                let fields: HashFields = fields.parse().unwrap();
                seen.push(format!(
                    "{:?}",
                    nic.set_rx_flow_hash(&v0, flow, fields)
                        .map_err(|e| e.to_string())
                ));
            }
        }
        seen
    };
    let kernel = ns.enter(|| script(&Ethtool));
    assert_eq!(script(&fake), kernel);
    assert_eq!(fake.set_count(), FlowType::ALL.len() * 3);
}
