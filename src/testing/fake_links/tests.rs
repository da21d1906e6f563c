//! The fake behaves as the kernel does for what the tunnel section will ask of it.

use super::*;
use crate::host::{FouFamily, FouKind};

fn spec(iface: &str, kind: LinkKind, external: bool) -> LinkSpec {
    LinkSpec {
        name: name(iface),
        kind,
        external,
        mtu: None,
    }
}

const GUE: FouPort = FouPort {
    port: 6080,
    family: FouFamily::V4,
    kind: FouKind::Gue,
};

#[test]
fn the_first_ipip_device_loads_the_module_and_brings_the_fallback_tunl0() {
    let links = FakeLinks::new();
    assert_eq!(links.list().unwrap().len(), 1); // lo
    links.create(&spec("ipip0", LinkKind::Ipip, true)).unwrap();
    assert_eq!(links.loaded(), ["ipip"]);
    let tunl0 = links.link("tunl0").unwrap();
    assert_eq!(
        (tunl0.up, tunl0.mtu, tunl0.tunnel.unwrap().external),
        (false, 1480, false)
    );
    let ipip0 = links.link("ipip0").unwrap();
    assert_eq!(ipip0.kind, Some(LinkKind::Ipip));
    assert!(ipip0.tunnel.unwrap().external && !ipip0.up);
    // A second external ipip device is the kernel's EEXIST, whatever its name.
    let e = links
        .create(&spec("ipip1", LinkKind::Ipip, true))
        .unwrap_err();
    assert!(
        matches!(
            e,
            LinkError::Os {
                errno: Errno::EEXIST,
                ..
            }
        ),
        "{e}"
    );
    // An ip6tnl external one is another kind: allowed.
    links
        .create(&spec("ip6tnl1", LinkKind::Ip6tnl, true))
        .unwrap();
    assert!(links.link("ip6tnl0").is_some());
}

#[test]
fn a_missing_module_is_unsupported_naming_it_and_nothing_is_made() {
    let links = FakeLinks::new()
        .without_module("ipip")
        .without_module("fou");
    let e = links
        .create(&spec("ipip0", LinkKind::Ipip, true))
        .unwrap_err();
    assert_eq!(e.missing_module(), Some("ipip"));
    assert!(
        e.to_string()
            .starts_with("create link ipip0 (ipip external): "),
        "{e}"
    );
    assert!(links.link("tunl0").is_none() && links.link("ipip0").is_none());
    assert_eq!(
        links.fou_add(&GUE).unwrap_err().missing_module(),
        Some("fou")
    );
    assert_eq!(links.fou_list().unwrap_err().missing_module(), Some("fou"));
    // Dummy is still there, and external mode on it is refused before any module is asked.
    let e = links
        .create(&spec("d0", LinkKind::Dummy, true))
        .unwrap_err();
    assert!(matches!(e, LinkError::Invalid { .. }), "{e}");
    assert!(links.loaded().is_empty());
}

#[test]
fn set_changes_up_and_mtu_and_refuses_what_the_kernel_refuses() {
    let links = FakeLinks::new().with_link("eth0", None);
    let eth0 = name("eth0");
    links
        .set(
            &eth0,
            &LinkChange {
                up: Some(true),
                mtu: Some(9000),
            },
        )
        .unwrap();
    let l = links.link("eth0").unwrap();
    assert_eq!((l.up, l.mtu), (true, 9000));
    let e = links
        .set(
            &eth0,
            &LinkChange {
                up: None,
                mtu: Some(67),
            },
        )
        .unwrap_err();
    assert!(
        matches!(
            e,
            LinkError::Os {
                errno: Errno::EINVAL,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(links.link("eth0").unwrap().mtu, 9000);
    let e = links
        .set(&name("nope0"), &LinkChange::default())
        .unwrap_err();
    assert_eq!(e.to_string(), "set link nope0: no such link");
    // Deleting twice: the second finds it gone, which counts as done.
    links.delete(&eth0).unwrap();
    links.delete(&eth0).unwrap();
    assert!(links.link("eth0").is_none());
}

#[test]
fn fou_ports_open_once_and_close_once_keyed_by_port_and_family() {
    let links = FakeLinks::new();
    links.fou_add(&GUE).unwrap();
    let v6 = FouPort {
        family: FouFamily::V6,
        ..GUE
    };
    links.fou_add(&v6).unwrap();
    let e = links.fou_add(&GUE).unwrap_err();
    assert!(
        matches!(
            e,
            LinkError::Os {
                errno: Errno::EADDRINUSE,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(links.fou_list().unwrap(), [GUE, v6]);
    links.fou_del(&GUE).unwrap();
    let e = links.fou_del(&GUE).unwrap_err();
    assert_eq!(
        e.to_string(),
        "del fou port 6080 gue: EINVAL: Invalid argument"
    );
    assert_eq!(links.fou_list().unwrap(), [v6]);
}

#[test]
fn calls_are_logged_and_an_injected_failure_hits_once() {
    let links = FakeLinks::new();
    links.fail_next(LinkOp::Create, Errno::EPERM);
    let s = spec("d0", LinkKind::Dummy, false);
    let e = links.create(&s).unwrap_err();
    assert_eq!(
        e.to_string(),
        "create link d0 (dummy): EPERM: Operation not permitted"
    );
    links.create(&s).unwrap();
    links.delete(&name("d0")).unwrap();
    assert_eq!(
        links.calls(),
        [
            LinkCall::Create(s.clone()),
            LinkCall::Create(s),
            LinkCall::Delete(name("d0"))
        ]
    );
}
