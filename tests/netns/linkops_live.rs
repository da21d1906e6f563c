//! The link seam against the real kernel, in throw-away network namespaces, with iproute2 as
//! the reference for what the kernel holds: list, set (up, MTU) and delete on a veth pair;
//! and tunnel devices and FOU ports, which need modules: where the kernel lacks them (this
//! machine has no ipip, ip6_tunnel, dummy or fou) the seam answers `Unsupported` naming the
//! module, and iproute2 fails alike; where it has them, the device or port is made, as
//! iproute2 shows. tests/vm/checks.sh (`tunnel_links_ipip_fou`) runs the module-backed half
//! in the VM, whose kernel has them.

use crate::common;

use hosttune::host::netlink::Netlink;
use hosttune::host::{
    FouFamily, FouKind, FouPort, LinkChange, LinkError, LinkKind, LinkOps, LinkSpec,
};
use hosttune::types::IfName;
use nix::errno::Errno;

fn name(s: &str) -> IfName {
    s.parse().unwrap()
}

#[test]
fn a_veth_pair_is_listed_set_up_with_an_mtu_and_deleted() {
    if !common::root_tests_enabled("a_veth_pair_is_listed_set_up_with_an_mtu_and_deleted") {
        return;
    }
    let ns = common::Netns::new("links-veth");
    ns.ip(&["link", "add", "lva", "type", "veth", "peer", "name", "lvb"]);
    let nl = Netlink::new();
    let links = ns.enter(|| nl.list()).unwrap();
    let lva = links.iter().find(|l| l.name.as_str() == "lva").unwrap();
    assert_eq!(
        (lva.kind.clone(), lva.up, lva.mtu),
        (Some(LinkKind::Veth), false, 1500)
    );
    assert_eq!(lva.tunnel, None);
    let lo = links.iter().find(|l| l.name.as_str() == "lo").unwrap();
    assert_eq!((lo.index, lo.kind.clone(), lo.up), (1, None, true));
    // The indexes are the kernel's.
    let shown = ns.ip(&["-o", "link", "show", "lva"]);
    assert!(
        shown.starts_with(&format!("{}: lva@lvb:", lva.index)),
        "{shown}"
    );

    let up = LinkChange {
        up: Some(true),
        mtu: Some(1400),
    };
    ns.enter(|| nl.set(&name("lva"), &up)).unwrap();
    let shown = ns.ip(&["-o", "link", "show", "lva"]);
    assert!(
        shown.contains(",UP") && shown.contains(" mtu 1400 "),
        "{shown}"
    );
    let lva = ns.enter(|| nl.list()).unwrap();
    let lva = lva.iter().find(|l| l.name.as_str() == "lva").unwrap();
    assert_eq!((lva.up, lva.mtu), (true, 1400));
    // The peer is untouched: only the flag and the MTU asked for moved.
    assert!(!ns.ip(&["-o", "link", "show", "lvb"]).contains(",UP"));

    let down = LinkChange {
        up: Some(false),
        mtu: None,
    };
    ns.enter(|| nl.set(&name("lva"), &down)).unwrap();
    let shown = ns.ip(&["-o", "link", "show", "lva"]);
    assert!(
        !shown.contains(",UP") && shown.contains(" mtu 1400 "),
        "{shown}"
    );

    // What the kernel refuses comes back naming the link and the operation.
    let huge = LinkChange {
        up: None,
        mtu: Some(70000),
    };
    let e = ns.enter(|| nl.set(&name("lva"), &huge)).unwrap_err();
    assert_eq!(
        e,
        LinkError::Os {
            op: "set",
            object: "link lva".into(),
            errno: Errno::EINVAL
        }
    );
    let e = ns.enter(|| nl.set(&name("nope0"), &up)).unwrap_err();
    assert_eq!(e.to_string(), "set link nope0: no such link");

    // Deleting one end takes the pair; deleting again is done already.
    ns.enter(|| nl.delete(&name("lva"))).unwrap();
    assert!(!ns.exec("ip", &["link", "show", "lvb"]).status.success());
    ns.enter(|| nl.delete(&name("lva"))).unwrap();
    // Where ipip or ip6_tunnel is loaded, every namespace also has tunl0 or ip6tnl0.
    let left: Vec<String> = ns
        .enter(|| nl.list())
        .unwrap()
        .into_iter()
        .map(|l| l.name.to_string())
        .filter(|n| !["tunl0", "ip6tnl0"].contains(&n.as_str()))
        .collect();
    assert_eq!(left, ["lo"]);
}

/// Whether iproute2 can make a device of `kind` in `ns` (it fails the same way the seam does
/// where the module is missing). The probe device is deleted again.
fn iproute2_has(ns: &common::Netns, kind: &str) -> bool {
    let ok = ns
        .exec("ip", &["link", "add", "probe0", "type", kind])
        .status
        .success();
    if ok {
        ns.ip(&["link", "del", "probe0"]);
    }
    ok
}

#[test]
fn tunnel_devices_are_made_where_the_kernel_has_their_module_and_unsupported_otherwise() {
    if !common::root_tests_enabled(
        "tunnel_devices_are_made_where_the_kernel_has_their_module_and_unsupported_otherwise",
    ) {
        return;
    }
    let nl = Netlink::new();
    for (kind, external, module) in [
        (LinkKind::Ipip, true, "ipip"),
        (LinkKind::Ip6tnl, true, "ip6_tunnel"),
        (LinkKind::Dummy, false, "dummy"),
    ] {
        let ns = common::Netns::new("links-tun");
        let spec = LinkSpec {
            name: name("dsr0"),
            kind: kind.clone(),
            external,
            mtu: None,
        };
        match ns.enter(|| nl.create(&spec)) {
            Err(e) => {
                assert_eq!(e.missing_module(), Some(module), "{e}");
                let text = e.to_string();
                assert!(text.starts_with("create link dsr0 ("), "{text}");
                assert!(text.contains(&format!("modprobe {module}")), "{text}");
                assert!(!iproute2_has(&ns, kind.as_str()), "iproute2 made a {kind}");
            }
            Ok(()) => {
                let shown = ns.ip(&["-d", "-o", "link", "show", "dsr0"]);
                let words: Vec<&str> = shown.split_whitespace().collect();
                assert!(words.contains(&kind.as_str()), "{shown}");
                assert_eq!(words.contains(&"external"), external, "{shown}");
                let listed = ns.enter(|| nl.list()).unwrap();
                let dsr0 = listed.iter().find(|l| l.name.as_str() == "dsr0").unwrap();
                assert_eq!(dsr0.kind, Some(kind.clone()));
                assert_eq!(
                    dsr0.tunnel.as_ref().map(|t| t.external),
                    external.then_some(true)
                );
                ns.enter(|| nl.delete(&name("dsr0"))).unwrap();
            }
        }
    }
}

#[test]
fn fou_ports_are_opened_where_the_kernel_has_fou_and_unsupported_otherwise() {
    if !common::root_tests_enabled(
        "fou_ports_are_opened_where_the_kernel_has_fou_and_unsupported_otherwise",
    ) {
        return;
    }
    let ns = common::Netns::new("links-fou");
    let nl = Netlink::new();
    let gue = FouPort {
        port: 6080,
        family: FouFamily::V4,
        kind: FouKind::Gue,
    };
    match ns.enter(|| nl.fou_add(&gue)) {
        Err(e) => {
            assert_eq!(e.missing_module(), Some("fou"), "{e}");
            assert!(e.to_string().starts_with("add fou port 6080 gue: "), "{e}");
            let e = ns.enter(|| nl.fou_list()).unwrap_err();
            assert_eq!(e.missing_module(), Some("fou"), "{e}");
            let e = ns.enter(|| nl.fou_del(&gue)).unwrap_err();
            assert_eq!(e.missing_module(), Some("fou"), "{e}");
            let ip = ns.exec("ip", &["fou", "add", "port", "6080", "gue"]);
            assert!(!ip.status.success(), "iproute2 opened a FOU port");
        }
        Ok(()) => {
            assert!(ns.ip(&["fou", "show"]).contains("port 6080 gue"));
            assert_eq!(ns.enter(|| nl.fou_list()).unwrap(), [gue]);
            ns.enter(|| nl.fou_del(&gue)).unwrap();
            assert_eq!(ns.ip(&["fou", "show"]).trim(), "");
        }
    }
}
