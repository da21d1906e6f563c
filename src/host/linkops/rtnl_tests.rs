//! rtnetlink byte layouts against include/uapi/linux/if_link.h and rtnetlink.h (`struct
//! ifinfomsg`, IFLA_IFNAME 3, IFLA_MTU 4, IFLA_LINKINFO 18 holding IFLA_INFO_KIND 1 and
//! IFLA_INFO_DATA 2, IFLA_IPTUN_LOCAL 2, _REMOTE 3, _COLLECT_METADATA 19), and the reading
//! of dumped links.

use super::*;
use netlink_packet_core::{Emitable, NetlinkHeader, NetlinkMessage, NetlinkPayload};

fn name(s: &str) -> IfName {
    s.parse().unwrap()
}

fn body(msg: &LinkMessage) -> Vec<u8> {
    let mut buf = vec![0; msg.buffer_len()];
    msg.emit(&mut buf);
    buf
}

/// An attribute header: `nla_len`, `nla_type` (native order).
fn nla(len: u16, kind: u16) -> Vec<u8> {
    [len.to_ne_bytes(), kind.to_ne_bytes()].concat()
}

#[test]
fn create_ipip_external_sends_the_kind_and_the_collect_metadata_flag() {
    let spec = LinkSpec {
        name: name("ipip0"),
        kind: LinkKind::Ipip,
        external: true,
        mtu: Some(1480),
    };
    let got = body(&create_message(&spec).unwrap());
    // IFLA_INFO_KIND NUL-terminated (the kernel's nla_strscpy takes it with or without),
    // IFLA_INFO_DATA holding the zero-length IFLA_IPTUN_COLLECT_METADATA flag; iproute2 sets
    // no NLA_F_NESTED on these either.
    let kind = [nla(9, 1), b"ipip\0\0\0\0".to_vec()].concat();
    let data = [nla(8, 2), nla(4, 19)].concat();
    let want = [
        vec![0u8; 16], // ifinfomsg: family, index, flags and change all 0
        nla(10, 3),
        b"ipip0\0\0\0".to_vec(), // IFLA_IFNAME, NUL, padded to 4
        nla(8, 4),
        1480u32.to_ne_bytes().to_vec(), // IFLA_MTU
        nla(4 + 12 + 8, 18),            // IFLA_LINKINFO
        kind,
        data,
    ];
    assert_eq!(got, want.concat());
}

#[test]
fn create_without_external_sends_no_info_data_and_external_needs_a_tunnel() {
    for kind in [LinkKind::Dummy, LinkKind::Ip6tnl] {
        let spec = LinkSpec {
            name: name("d0"),
            kind: kind.clone(),
            external: false,
            mtu: None,
        };
        let msg = create_message(&spec).unwrap();
        let info = msg.attributes.iter().find_map(|a| match a {
            LinkAttribute::LinkInfo(i) => Some(i.clone()),
            _ => None,
        });
        assert_eq!(
            info,
            Some(vec![Nested::Kind(InfoKind::from(kind.as_str()))])
        );
        assert!(
            !msg.attributes
                .iter()
                .any(|a| matches!(a, LinkAttribute::Mtu(_)))
        );
    }
    let bad = LinkSpec {
        name: name("d0"),
        kind: LinkKind::Dummy,
        external: true,
        mtu: None,
    };
    let e = create_message(&bad).unwrap_err();
    assert_eq!(
        e.to_string(),
        "create link d0 (dummy external): external mode is for ipip and ip6tnl devices only"
    );
}

#[test]
fn set_moves_only_the_up_flag_and_the_mtu_asked_for() {
    let up = set_message(
        &name("tunl0"),
        &LinkChange {
            up: Some(true),
            mtu: None,
        },
    );
    assert_eq!(&body(&up)[8..16], [1, 0, 0, 0, 1, 0, 0, 0]); // ifi_flags, ifi_change: IFF_UP
    let down = set_message(
        &name("tunl0"),
        &LinkChange {
            up: Some(false),
            mtu: Some(1400),
        },
    );
    assert_eq!(&body(&down)[8..16], [0, 0, 0, 0, 1, 0, 0, 0]);
    assert!(down.attributes.contains(&LinkAttribute::Mtu(1400)));
    let mtu = set_message(
        &name("tunl0"),
        &LinkChange {
            up: None,
            mtu: Some(9000),
        },
    );
    assert_eq!(&body(&mtu)[8..16], [0; 8]); // no flag changes at all
    let del = delete_message(&name("ipip0"));
    assert_eq!(del.attributes, [LinkAttribute::IfName("ipip0".into())]);
}

/// A link as the kernel dumps it, through the wire format and back.
fn dumped(index: u32, ifname: &str, up: bool, info: Vec<Nested>) -> LinkInfo {
    let mut m = LinkMessage::default();
    m.header.index = index;
    if up {
        m.header.flags = LinkFlags::Up | LinkFlags::Running;
    }
    m.attributes.push(LinkAttribute::IfName(ifname.into()));
    m.attributes.push(LinkAttribute::Mtu(1480));
    if !info.is_empty() {
        m.attributes.push(LinkAttribute::LinkInfo(info));
    }
    let mut n = NetlinkMessage::new(
        NetlinkHeader::default(),
        NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(m)),
    );
    n.finalize();
    let mut buf = vec![0; n.buffer_len()];
    n.serialize(&mut buf);
    match NetlinkMessage::<RouteNetlinkMessage>::deserialize(&buf)
        .unwrap()
        .payload
    {
        NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(l)) => parse_link(l).unwrap(),
        p => panic!("{p:?}"),
    }
}

#[test]
fn dumped_tunnels_show_external_mode_and_their_ends_with_any_as_none() {
    let v4 = |s: &str| s.parse::<IpAddr>().unwrap();
    let ext = dumped(
        5,
        "ipip0",
        true,
        vec![
            Nested::Kind(InfoKind::IpIp),
            Nested::Data(InfoData::IpTunnel(vec![
                InfoIpTunnel::Local(v4("0.0.0.0")),
                InfoIpTunnel::Remote(v4("0.0.0.0")),
                InfoIpTunnel::CollectMetadata,
            ])),
        ],
    );
    assert_eq!(
        ext,
        LinkInfo {
            name: name("ipip0"),
            index: 5,
            kind: Some(LinkKind::Ipip),
            up: true,
            mtu: 1480,
            tunnel: Some(TunnelInfo {
                external: true,
                local: None,
                remote: None
            }),
        }
    );
    let p2p = dumped(
        6,
        "tun1",
        false,
        vec![
            Nested::Kind(InfoKind::Ip6Tnl),
            Nested::Data(InfoData::IpTunnel(vec![
                InfoIpTunnel::Local(v4("2001:db8::1")),
                InfoIpTunnel::Remote(v4("::")),
            ])),
        ],
    );
    assert_eq!(p2p.kind, Some(LinkKind::Ip6tnl));
    assert!(!p2p.up);
    assert_eq!(
        p2p.tunnel,
        Some(TunnelInfo {
            external: false,
            local: Some(v4("2001:db8::1")),
            remote: None
        })
    );
}

#[test]
fn other_links_have_a_kind_or_none_and_no_tunnel() {
    let veth = dumped(7, "veth0", true, vec![Nested::Kind(InfoKind::Veth)]);
    assert_eq!((veth.kind, veth.tunnel), (Some(LinkKind::Veth), None));
    let lo = dumped(1, "lo", true, vec![]);
    assert_eq!((lo.kind, lo.tunnel, lo.up), (None, None, true));
    let gre = dumped(
        8,
        "gre1",
        false,
        vec![Nested::Kind(InfoKind::from("gretap"))],
    );
    assert_eq!(gre.kind, Some(LinkKind::Other("gretap".into())));
}

#[test]
fn kernel_refusals_name_the_module_only_where_it_explains_them() {
    let e =
        Failure::Kernel(Errno::EOPNOTSUPP).into_link_error("create", "link x".into(), Some("ipip"));
    assert_eq!(e.missing_module(), Some("ipip"));
    let e = Failure::Kernel(Errno::EOPNOTSUPP).into_link_error("delete", "link x".into(), None);
    assert_eq!(
        e,
        LinkError::Os {
            op: "delete",
            object: "link x".into(),
            errno: Errno::EOPNOTSUPP
        }
    );
    let e = Failure::Kernel(Errno::EEXIST).into_link_error("create", "link x".into(), Some("ipip"));
    assert!(!e.is_unsupported());
    let e = no_such_link("set", &name("nope0"))(Failure::Kernel(Errno::ENODEV));
    assert_eq!(e.to_string(), "set link nope0: no such link");
}
