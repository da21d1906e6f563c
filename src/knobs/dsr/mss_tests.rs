use super::*;
use crate::host::RootFs;
use crate::knobs::dsr::encap::VipsOn;
use crate::testing::fake_addrs::FakeAddrs;
use crate::testing::fake_nft::FakeNft;

fn vips(list: &[&str]) -> Vec<Vip> {
    list.iter().map(|v| v.parse().unwrap()).collect()
}

fn eth0() -> IfName {
    "eth0".parse().unwrap()
}

fn route(iface: &str, dst: &str, prefix: u8, table: u32, metric: u32) -> IfRoute {
    IfRoute {
        iface: iface.parse().unwrap(),
        dst: dst.parse().unwrap(),
        prefix,
        gateway: None,
        table,
        metric,
        protocol: 4,
        scope: 0,
    }
}

#[test]
fn one_rule_per_family_clamps_syn_acks_from_the_vips() {
    assert_eq!(
        rules(&vips(&["10.77.0.100"]), 1380),
        [
            "ip saddr 10.77.0.100 tcp flags & (syn | ack) == syn | ack tcp option maxseg size \
          > 1380 tcp option maxseg size set 1380"
        ]
    );
    assert_eq!(
        rules(&vips(&["10.77.0.100", "2001:db8::10", "10.77.0.101"]), 1400),
        [
            "ip saddr { 10.77.0.100, 10.77.0.101 } tcp flags & (syn | ack) == syn | ack tcp \
             option maxseg size > 1400 tcp option maxseg size set 1400",
            "ip6 saddr 2001:db8::10 tcp flags & (syn | ack) == syn | ack tcp option maxseg \
             size > 1400 tcp option maxseg size set 1400",
        ]
    );
    assert!(rules(&[], 1400).is_empty());
    let def = table(&vips(&["10.77.0.100"]), 1380);
    assert_eq!(def.object(), OBJECT);
    assert_eq!(def.chains.len(), 1);
    let text = def.render();
    assert!(
        text.contains("chain output {\n\t\ttype filter hook output priority -150; policy accept;"),
        "{text}"
    );
}

#[test]
fn auto_is_the_mtu_less_the_encapsulation_and_the_inner_headers() {
    for (encap, mss, how) in [
        (Encap::Ipip, 1440, "1500 (eth0) - 20 (ipip) - 40 = 1440"),
        (Encap::Gue, 1428, "1500 (eth0) - 32 (gue) - 40 = 1428"),
        (Encap::Ip6ip6, 1400, "1500 (eth0) - 40 (ip6ip6) - 60 = 1400"),
    ] {
        assert_eq!(from_mtu(1500, &eth0(), encap).unwrap(), (mss, how.into()));
    }
    assert_eq!(from_mtu(9000, &eth0(), Encap::Ipip).unwrap().0, 8940);
    let e = from_mtu(576, &eth0(), Encap::Gue).unwrap_err();
    assert!(
        e.contains("576 (eth0) - 32 (gue) - 40 leaves less than 536"),
        "{e}"
    );
    assert!(from_mtu(10, &eth0(), Encap::Ipip).is_err());
}

#[test]
fn the_default_route_is_the_main_table_s_of_the_family_with_the_lowest_metric() {
    let routes = [
        route("eth0", "192.168.16.0", 24, 254, 0),
        route("eth9", "0.0.0.0", 0, 100, 0),
        route("eth1", "0.0.0.0", 0, 254, 200),
        route("eth2", "0.0.0.0", 0, 254, 100),
        route("eth3", "::", 0, 254, 1024),
    ];
    assert_eq!(
        default_route(&routes, false).unwrap().iface.as_str(),
        "eth2"
    );
    assert_eq!(default_route(&routes, true).unwrap().iface.as_str(), "eth3");
    assert!(default_route(&routes[..2], false).is_none());
}

/// A tree with eth0's MTU, and the planned item for `mss` with `addrs`.
fn plan_with(mss: Mss, encap: Encap, addrs: &FakeAddrs, nft: &FakeNft) -> Entry {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("sys/class/net/eth0");
    std::fs::create_dir_all(&net).unwrap();
    std::fs::write(net.join("mtu"), "1500\n").unwrap();
    let fs = RootFs::new(dir.path());
    let host = Host {
        addrs,
        nft,
        ..Host::offline(&fs)
    };
    let d = Decap::new(encap, None, Some(6080), None, VipsOn::Lo).unwrap();
    let v = if encap.carries_v6() {
        vips(&["2001:db8::10"])
    } else {
        vips(&["10.77.0.100"])
    };
    plan(mss, &d, &v, &host)
}

#[test]
fn the_plan_shows_the_computation_or_names_what_to_set() {
    let nft = FakeNft::new();
    let addrs = FakeAddrs::new().with_route(route("eth0", "0.0.0.0", 0, 254, 0));
    let e = plan_with(Mss::Auto, Encap::Ipip, &addrs, &nft);
    assert_eq!((e.item.kind, e.item.object.as_str()), (Kind::Nft, OBJECT));
    assert_eq!(e.item.status, Status::Drift);
    assert_eq!(
        e.item.note.as_deref(),
        Some("mss auto: 1500 (eth0) - 20 (ipip) - 40 = 1440")
    );
    let Some(Setting::NftTable {
        contents: Some(text),
        ..
    }) = &e.desired
    else {
        panic!("{:?}", e.desired)
    };
    assert!(text.contains("maxseg size set 1440"), "{text}");

    let e = plan_with(Mss::Fixed(1380), Encap::Ipip, &FakeAddrs::new(), &nft);
    assert_eq!(e.item.status, Status::Drift);
    assert_eq!(e.item.note.as_deref(), Some("mss 1380"));

    // IPv4 has a default route, IPv6 none: ip6ip6 cannot resolve auto.
    let e = plan_with(Mss::Auto, Encap::Ip6ip6, &addrs, &nft);
    assert_eq!((e.item.status, e.desired.is_none()), (Status::Error, true));
    let note = e.item.note.unwrap();
    assert!(
        note.contains("IPv6 default route") && note.contains("set the MSS (mss = 1400"),
        "{note}"
    );

    let no_mtu = FakeAddrs::new().with_route(route("eth7", "0.0.0.0", 0, 254, 0));
    let e = plan_with(Mss::Auto, Encap::Gue, &no_mtu, &nft);
    assert_eq!(e.item.status, Status::Error);
    assert!(
        e.item.note.unwrap().contains("the MTU of eth7"),
        "names the interface"
    );

    // No route seam (an offline tree): unsupported, not an error.
    let e = plan_with(Mss::Auto, Encap::Ipip, &FakeAddrs::new(), &nft);
    assert_eq!(e.item.status, Status::Unsupported);
}

#[test]
fn evidence_follows_the_family_of_the_rules() {
    let nft = FakeNft::new();
    let v4 = plan_with(Mss::Fixed(1400), Encap::Ipip, &FakeAddrs::new(), &nft);
    assert_eq!(
        evidence(v4.desired.as_ref()),
        ["IcmpInDestUnreachs", "IcmpOutDestUnreachs", "IpReasmReqds"]
    );
    let v6 = plan_with(Mss::Fixed(1400), Encap::Ip6ip6, &FakeAddrs::new(), &nft);
    assert_eq!(
        evidence(v6.desired.as_ref()),
        ["Icmp6InPktTooBigs", "Icmp6OutPktTooBigs", "Ip6ReasmReqds"]
    );
    assert!(evidence(None).is_empty());
}
