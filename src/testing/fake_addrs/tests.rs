//! The fake behaves like the kernel: EEXIST and EADDRNOTAVAIL, prefixes per family, attributes.

use super::*;

/// What a plain `ip addr add` gives.
fn plain() -> AddrAttrs {
    AddrAttrs::default()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn add_and_del_are_idempotent_and_keep_the_loopback_addresses() {
    let fake = FakeAddrs::with_loopback();
    let lo = name("lo");
    fake.add(&lo, ip("192.168.16.100"), 32, &plain()).unwrap();
    fake.add(&lo, ip("192.168.16.100"), 32, &plain()).unwrap();
    fake.add(&lo, ip("2001:db8::100"), 128, &plain()).unwrap();
    assert_eq!(
        fake.addrs("lo"),
        [
            "127.0.0.1/8",
            "::1/128",
            "192.168.16.100/32",
            "2001:db8::100/128"
        ]
    );
    fake.del(&lo, ip("192.168.16.100"), 32).unwrap();
    fake.del(&lo, ip("192.168.16.100"), 32).unwrap();
    assert_eq!(
        fake.addrs("lo"),
        ["127.0.0.1/8", "::1/128", "2001:db8::100/128"]
    );
}

#[test]
fn prefixes_follow_the_kernel_per_family() {
    let fake = FakeAddrs::with_loopback();
    let lo = name("lo");
    fake.add(&lo, ip("192.168.16.100"), 32, &plain()).unwrap();
    fake.add(&lo, ip("192.168.16.100"), 24, &plain()).unwrap();
    fake.add(&lo, ip("2001:db8::100"), 128, &plain()).unwrap();
    fake.add(&lo, ip("2001:db8::100"), 64, &plain()).unwrap();
    fake.del(&lo, ip("2001:db8::100"), 64).unwrap();
    let want = [
        "127.0.0.1/8",
        "::1/128",
        "192.168.16.100/32",
        "192.168.16.100/24",
        "2001:db8::100/128",
    ];
    assert_eq!(fake.addrs("lo"), want);
    let err = fake.add(&lo, ip("10.0.0.1"), 33, &plain()).unwrap_err();
    assert!(
        matches!(
            err,
            AddrError::Os {
                errno: Errno::EINVAL,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn a_missing_interface_is_named() {
    let fake = FakeAddrs::with_loopback();
    let err = fake
        .add(&name("eth9"), ip("10.0.0.1"), 32, &plain())
        .unwrap_err();
    assert_eq!(err, AddrError::NoSuchInterface(name("eth9")));
    assert_eq!(err.to_string(), "interface eth9 does not exist");
    assert!(fake.del(&name("eth9"), ip("10.0.0.1"), 32).is_err());
}

#[test]
fn an_injected_failure_fires_once_and_is_logged() {
    let fake = FakeAddrs::with_loopback();
    let lo = name("lo");
    fake.fail_next(AddrOp::Add, Errno::EPERM);
    fake.del(&lo, ip("10.0.0.1"), 32).unwrap();
    let err = fake.add(&lo, ip("10.0.0.1"), 32, &plain()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "add 10.0.0.1/32 on lo: EPERM: Operation not permitted"
    );
    assert_eq!(fake.addrs("lo"), ["127.0.0.1/8", "::1/128"]);
    fake.add(&lo, ip("10.0.0.1"), 32, &plain()).unwrap();
    fake.list().unwrap();
    let want = [
        AddrCall::Del(lo.clone(), ip("10.0.0.1"), 32),
        AddrCall::Add(lo.clone(), ip("10.0.0.1"), 32, AddrAttrs::default()),
        AddrCall::Add(lo.clone(), ip("10.0.0.1"), 32, AddrAttrs::default()),
        AddrCall::List,
    ];
    assert_eq!(fake.calls(), want);
}

#[test]
fn list_names_each_interface() {
    let fake = FakeAddrs::with_loopback().iface("v0.100", &["10.1.0.1/24"]);
    let listed = fake.list().unwrap();
    let v0: Vec<_> = listed
        .iter()
        .filter(|a| a.iface.as_str() == "v0.100")
        .collect();
    assert_eq!(
        v0,
        [&IfAddr {
            iface: name("v0.100"),
            addr: ip("10.1.0.1"),
            prefix: 24,
            attrs: AddrAttrs::default(),
        }]
    );
    assert_eq!(listed.len(), 3);
}

#[test]
fn attributes_are_kept_as_the_kernel_keeps_them() {
    use crate::host::addrs::{AddrFlags, AddrScope};
    let fake = FakeAddrs::with_loopback()
        .iface("eth0", &["192.0.2.10/32"])
        .with_attrs(
            "eth0",
            "192.0.2.10/32",
            AddrAttrs {
                label: Some("eth0".into()),
                scope: Some(AddrScope::GLOBAL),
                ..AddrAttrs::default()
            },
        );
    assert_eq!(
        fake.attrs_of("eth0", "192.0.2.10/32"),
        Some(AddrAttrs::default())
    );
    let eth0 = name("eth0");
    let vip = AddrAttrs {
        label: Some("eth0:vip".into()),
        flags: AddrFlags::NOPREFIXROUTE,
        scope: Some(AddrScope(253)),
        valid_lft: Some(0),
        preferred_lft: Some(86_400),
    };
    fake.add(&eth0, ip("192.0.2.11"), 32, &vip).unwrap();
    // A valid lifetime read in its last second is sent as one second, preferred cut to it.
    let kept = AddrAttrs {
        valid_lft: Some(1),
        preferred_lft: Some(1),
        ..vip.clone()
    };
    assert_eq!(fake.attrs_of("eth0", "192.0.2.11/32"), Some(kept.clone()));
    // IPv6: no label, and the scope is the kernel's.
    fake.add(&eth0, ip("2001:db8::11"), 128, &vip).unwrap();
    let v6 = fake.attrs_of("eth0", "2001:db8::11/128").unwrap();
    assert_eq!(
        (v6.label, v6.scope, v6.flags),
        (None, None, AddrFlags::NOPREFIXROUTE)
    );
    // EEXIST: the address already there keeps its attributes.
    fake.add(&eth0, ip("192.0.2.11"), 32, &plain()).unwrap();
    assert_eq!(fake.attrs_of("eth0", "192.0.2.11/32"), Some(kept.clone()));
    let listed = fake.list().unwrap();
    let on_eth0: Vec<&IfAddr> = listed.iter().filter(|a| a.iface == eth0).collect();
    assert_eq!(on_eth0[1].attrs, kept);
    assert_eq!(
        fake.calls()[0],
        AddrCall::Add(eth0.clone(), ip("192.0.2.11"), 32, vip)
    );
}
