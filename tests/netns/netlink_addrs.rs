//! The rtnetlink address seam against the real kernel, each test in its own network namespace
//! so that the machine running the tests keeps its addresses. `ip -o addr show` is the
//! reference for what the kernel holds.

use crate::common;

use std::collections::BTreeSet;
use std::net::IpAddr;

use hosttune::host::netlink::Netlink;
use hosttune::host::{AddrAttrs, AddrError, AddrFlags, AddrOps, AddrScope, IfAddr};
use hosttune::types::IfName;

fn name(s: &str) -> IfName {
    s.parse().unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// What a plain `ip addr add` gives.
fn plain() -> AddrAttrs {
    AddrAttrs::default()
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
        nl.add(&lo, ip("192.168.16.100"), 32, &plain()).unwrap();
        nl.add(&lo, ip("2001:db8::100"), 128, &plain()).unwrap();
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
        nl.add(&lo, ip("192.168.16.100"), 32, &plain()).unwrap();
        nl.add(&lo, ip("2001:db8::100"), 128, &plain()).unwrap();
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
            nl.add(&name("eth9"), ip("192.168.16.100"), 32, &plain()),
            nl.del(&name("eth9"), ip("192.168.16.100"), 32),
            nl.add(&name("lo"), ip("192.168.16.100"), 33, &plain()),
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
            nl.add(&lo, addr, 32, &plain()).unwrap();
        }
        nl.list().unwrap()
    });
    assert_eq!(listed.len(), 600 + 2);
    assert_eq!(as_set(&listed), ip_addrs(&ns, &[]));
}

/// A namespace with the veth pair `v0`/`v1` and IPv6 on.
fn veth_ns(tag: &str) -> common::Netns {
    let ns = common::Netns::new(tag);
    for k in ["all", "default"] {
        ns.must(
            "sysctl",
            &["-qw", &format!("net.ipv6.conf.{k}.disable_ipv6=0")],
        );
    }
    ns.ip(&["link", "add", "v0", "type", "veth", "peer", "name", "v1"]);
    ns.ip(&["link", "set", "v0", "up"]);
    ns
}

/// The attributes `list` reports for `cidr` on `iface`.
fn listed_attrs(listed: &[IfAddr], iface: &str, cidr: &str) -> AddrAttrs {
    listed
        .iter()
        .find(|a| a.iface.as_str() == iface && format!("{}/{}", a.addr, a.prefix) == cidr)
        .unwrap_or_else(|| panic!("{cidr} on {iface} not listed: {listed:?}"))
        .attrs
        .clone()
}

/// `ip -o addr show dev IFACE to CIDR`, one line.
fn ip_line(ns: &common::Netns, iface: &str, cidr: &str) -> String {
    let out = ns.ip(&["-o", "addr", "show", "dev", iface, "to", cidr]);
    assert_eq!(out.lines().count(), 1, "{cidr} on {iface}: {out}");
    out
}

/// A lifetime read a few seconds after it was set to `set`.
fn counted_down(lft: Option<u32>, set: u32) -> bool {
    lft.is_some_and(|s| s <= set && s + 60 > set)
}

#[test]
fn attributes_given_to_ip_are_read_back() {
    if !common::root_tests_with("attributes_given_to_ip_are_read_back", &["sysctl"]) {
        return;
    }
    let ns = veth_ns("addr-attrs");
    ns.ip(&["addr", "add", "10.1.0.1/24", "dev", "v0"]);
    ns.ip(&[
        "addr",
        "add",
        "192.0.2.10/32",
        "dev",
        "v0",
        "label",
        "v0:vip",
        "scope",
        "link",
        "noprefixroute",
        "valid_lft",
        "86400",
        "preferred_lft",
        "3600",
    ]);
    ns.ip(&[
        "addr",
        "add",
        "2001:db8::10/128",
        "dev",
        "v0",
        "nodad",
        "noprefixroute",
        "valid_lft",
        "7200",
        "preferred_lft",
        "600",
    ]);
    let listed = ns.enter(|| Netlink::new().list()).unwrap();

    // What a plain `ip addr add` gives reads as the defaults, on lo and elsewhere.
    for (iface, cidr) in [
        ("v0", "10.1.0.1/24"),
        ("lo", "127.0.0.1/8"),
        ("lo", "::1/128"),
    ] {
        assert_eq!(listed_attrs(&listed, iface, cidr), plain(), "{cidr}");
    }
    let v4 = listed_attrs(&listed, "v0", "192.0.2.10/32");
    assert_eq!(v4.label.as_deref(), Some("v0:vip"));
    assert_eq!(v4.scope, Some(AddrScope(253)));
    assert_eq!(v4.flags, AddrFlags::NOPREFIXROUTE);
    assert!(counted_down(v4.valid_lft, 86_400), "{v4:?}");
    assert!(counted_down(v4.preferred_lft, 3600), "{v4:?}");
    let v6 = listed_attrs(&listed, "v0", "2001:db8::10/128");
    assert_eq!((v6.label.as_deref(), v6.scope), (None, None));
    assert_eq!(v6.flags, AddrFlags::NODAD | AddrFlags::NOPREFIXROUTE);
    assert!(counted_down(v6.valid_lft, 7200), "{v6:?}");
    assert!(counted_down(v6.preferred_lft, 600), "{v6:?}");
}

#[test]
fn an_address_taken_off_comes_back_with_its_attributes() {
    if !common::root_tests_with(
        "an_address_taken_off_comes_back_with_its_attributes",
        &["sysctl"],
    ) {
        return;
    }
    let ns = veth_ns("addr-back");
    let v0 = name("v0");
    let nl = Netlink::new();
    let v4 = AddrAttrs {
        label: Some("v0:vip".into()),
        flags: AddrFlags::NOPREFIXROUTE,
        scope: Some(AddrScope(200)),
        valid_lft: Some(86_400),
        preferred_lft: Some(86_400),
    };
    let v6 = AddrAttrs {
        flags: AddrFlags::NODAD,
        valid_lft: Some(7200),
        preferred_lft: Some(0),
        ..plain()
    };
    ns.enter(|| {
        nl.add(&v0, ip("192.0.2.10"), 32, &v4).unwrap();
        nl.add(&v0, ip("2001:db8::10"), 128, &v6).unwrap();
    });
    let line = ip_line(&ns, "v0", "192.0.2.10/32");
    for want in ["scope site", "noprefixroute", "v0:vip", "valid_lft 864"] {
        assert!(line.contains(want), "{want:?} not in {line}");
    }
    // Preferred lifetime 0: deprecated from the start, as `ip addr add ... preferred_lft 0`.
    let line = ip_line(&ns, "v0", "2001:db8::10/128");
    for want in ["nodad", "deprecated", "preferred_lft 0sec"] {
        assert!(line.contains(want), "{want:?} not in {line}");
    }

    // Taken off and put back with what was read: the kernel holds the same again.
    let before = ns.enter(|| nl.list()).unwrap();
    ns.enter(|| {
        for a in before.iter().filter(|a| a.iface == v0) {
            nl.del(&v0, a.addr, a.prefix).unwrap();
        }
        assert!(nl.list().unwrap().iter().all(|a| a.iface != v0));
        for a in before.iter().filter(|a| a.iface == v0) {
            nl.add(&v0, a.addr, a.prefix, &a.attrs).unwrap();
        }
    });
    let after = ns.enter(|| nl.list()).unwrap();
    for cidr in ["192.0.2.10/32", "2001:db8::10/128"] {
        let (was, now) = (
            listed_attrs(&before, "v0", cidr),
            listed_attrs(&after, "v0", cidr),
        );
        let lft = |a: &AddrAttrs| AddrAttrs {
            valid_lft: None,
            preferred_lft: None,
            ..a.clone()
        };
        assert_eq!(lft(&now), lft(&was), "{cidr}");
        assert!(
            now.valid_lft <= was.valid_lft && now.valid_lft.unwrap() + 60 > was.valid_lft.unwrap()
        );
    }
}
