//! The rtnetlink address seam against the real kernel, each test in its own network namespace
//! so that the machine running the tests keeps its addresses. `ip -o addr show` is the
//! reference for what the kernel holds.

mod common;

use std::collections::BTreeSet;
use std::net::IpAddr;

use hosttune::host::netlink::Netlink;
use hosttune::host::{AddrError, AddrOps, IfAddr};
use hosttune::types::IfName;

fn name(s: &str) -> IfName {
    s.parse().unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// `(interface, ADDR/PREFIX)` for every address `ip -o addr show ARGS` prints.
fn ip_addrs(ns: &common::Netns, args: &[&str]) -> BTreeSet<(String, String)> {
    let mut cmd = vec!["-o", "addr", "show"];
    cmd.extend_from_slice(args);
    let out = ns.ip(&cmd);
    out.lines()
        .map(|line| {
            let t: Vec<&str> = line.split_whitespace().collect();
            (t[1].to_string(), t[3].to_string())
        })
        .collect()
}

fn as_set(addrs: &[IfAddr]) -> BTreeSet<(String, String)> {
    addrs
        .iter()
        .map(|a| (a.iface.to_string(), format!("{}/{}", a.addr, a.prefix)))
        .collect()
}

fn pair(iface: &str, cidr: &str) -> (String, String) {
    (iface.to_string(), cidr.to_string())
}

#[test]
fn vips_go_beside_the_loopback_addresses_and_leave_one_by_one() {
    if !common::root_tests_enabled("vips_go_beside_the_loopback_addresses_and_leave_one_by_one") {
        return;
    }
    let ns = common::Netns::new("addr-lo");
    // A fresh namespace has IPv6 on lo (disable_ipv6 = 0, ::1 once lo is up) unless the
    // kernel was booted without IPv6 at all.
    assert_eq!(ns.sysctl("net.ipv6.conf.lo.disable_ipv6"), "0");
    let lo = name("lo");
    let nl = Netlink::new();
    let initial = ip_addrs(&ns, &["dev", "lo"]);
    assert_eq!(
        initial,
        BTreeSet::from([pair("lo", "127.0.0.1/8"), pair("lo", "::1/128")])
    );

    ns.enter(|| {
        nl.add(&lo, ip("192.168.16.100"), 32).unwrap();
        nl.add(&lo, ip("2001:db8::100"), 128).unwrap();
    });
    let added = ip_addrs(&ns, &["dev", "lo"]);
    let mut want = initial.clone();
    want.insert(pair("lo", "192.168.16.100/32"));
    want.insert(pair("lo", "2001:db8::100/128"));
    assert_eq!(added, want);
    assert_eq!(as_set(&ns.enter(|| nl.list()).unwrap()), added);
    // The same scope `ip addr add 192.168.16.100/32 dev lo` gives: global, not host.
    assert!(
        ns.ip(&["-o", "addr", "show", "dev", "lo"])
            .contains("192.168.16.100/32 scope global")
    );

    ns.enter(|| {
        nl.add(&lo, ip("192.168.16.100"), 32).unwrap();
        nl.add(&lo, ip("2001:db8::100"), 128).unwrap();
    });
    assert_eq!(
        ip_addrs(&ns, &["dev", "lo"]),
        added,
        "adding again changed something"
    );

    ns.enter(|| nl.del(&lo, ip("192.168.16.100"), 32)).unwrap();
    let mut want = added.clone();
    want.remove(&pair("lo", "192.168.16.100/32"));
    assert_eq!(ip_addrs(&ns, &["dev", "lo"]), want);
    ns.enter(|| nl.del(&lo, ip("192.168.16.100"), 32)).unwrap();
    ns.enter(|| nl.del(&lo, ip("2001:db8::100"), 128)).unwrap();
    ns.enter(|| nl.del(&lo, ip("2001:db8::100"), 128)).unwrap();
    assert_eq!(ip_addrs(&ns, &["dev", "lo"]), initial);
}

#[test]
fn a_missing_interface_is_named_and_a_refusal_carries_the_errno() {
    if !common::root_tests_enabled("a_missing_interface_is_named_and_a_refusal_carries_the_errno") {
        return;
    }
    let ns = common::Netns::new("addr-err");
    let nl = Netlink::new();
    let (add, del, bad) = ns.enter(|| {
        (
            nl.add(&name("eth9"), ip("192.168.16.100"), 32),
            nl.del(&name("eth9"), ip("192.168.16.100"), 32),
            nl.add(&name("lo"), ip("192.168.16.100"), 33),
        )
    });
    assert_eq!(add, Err(AddrError::NoSuchInterface(name("eth9"))));
    assert_eq!(del, Err(AddrError::NoSuchInterface(name("eth9"))));
    let bad = bad.unwrap_err();
    assert!(
        matches!(
            bad,
            AddrError::Os {
                op: "add",
                errno: nix::errno::Errno::EINVAL,
                ..
            }
        ),
        "{bad:?}"
    );
    assert_eq!(
        bad.to_string(),
        "add 192.168.16.100/33 on lo: EINVAL: Invalid argument"
    );
}

#[test]
fn list_names_interfaces_by_link_even_with_dots_and_labels() {
    if !common::root_tests_enabled("list_names_interfaces_by_link_even_with_dots_and_labels") {
        return;
    }
    let ns = common::Netns::new("addr-veth");
    ns.ip(&[
        "link", "add", "v0.100", "type", "veth", "peer", "name", "v1",
    ]);
    ns.ip(&["addr", "add", "10.1.0.1/24", "dev", "v0.100"]);
    // An IPv4 label is not an interface name: the address still belongs to v0.100.
    ns.ip(&[
        "addr",
        "add",
        "10.1.0.5/32",
        "dev",
        "v0.100",
        "label",
        "v0.100:x",
    ]);
    ns.ip(&["addr", "add", "10.1.0.2/24", "dev", "v1"]);
    ns.ip(&["addr", "add", "2001:db8:1::2/64", "dev", "v1"]);

    let listed = ns.enter(|| Netlink::new().list()).unwrap();
    let got = as_set(&listed);
    assert_eq!(got, ip_addrs(&ns, &[]));
    for want in [
        pair("v0.100", "10.1.0.1/24"),
        pair("v0.100", "10.1.0.5/32"),
        pair("v1", "10.1.0.2/24"),
        pair("v1", "2001:db8:1::2/64"),
        pair("lo", "127.0.0.1/8"),
    ] {
        assert!(got.contains(&want), "{want:?} missing from {got:?}");
    }
}

#[test]
fn many_addresses_come_back_through_a_multipart_dump() {
    if !common::root_tests_enabled("many_addresses_come_back_through_a_multipart_dump") {
        return;
    }
    let ns = common::Netns::new("addr-many");
    let lo = name("lo");
    let nl = Netlink::new();
    // Enough addresses that the dump spans several datagrams.
    let listed = ns.enter(|| {
        for i in 0..600u32 {
            let addr = ip(&format!("10.{}.{}.1", i / 256, i % 256));
            nl.add(&lo, addr, 32).unwrap();
        }
        nl.list().unwrap()
    });
    assert_eq!(listed.len(), 600 + 2);
    assert_eq!(as_set(&listed), ip_addrs(&ns, &[]));
}
