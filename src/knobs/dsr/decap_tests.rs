use super::*;
use crate::host::LinkOps;
use crate::host::{FouFamily, FouKind, TunnelInfo};
use crate::knobs::dsr::encap::{Encap, VipsOn};
use crate::knobs::dsr::test_rows::{row, rows};
use crate::testing::fake_links::FakeLinks;

fn decap(encap: Encap, device: Option<&str>) -> Decap {
    let dev: Option<IfName> = device.map(|d| d.parse().unwrap());
    Decap::new(encap, dev.as_ref(), Some(6080), None, VipsOn::Lo).unwrap()
}

fn link(name: &str, kind: Option<LinkKind>, external: Option<bool>, up: bool) -> LinkInfo {
    LinkInfo {
        name: name.parse().unwrap(),
        index: 7,
        kind,
        up,
        mtu: 1480,
        tunnel: external.map(|external| TunnelInfo {
            external,
            ..TunnelInfo::default()
        }),
    }
}

#[test]
fn the_device_is_brought_up_created_or_refused() {
    let d = decap(Encap::Ipip, None);
    let loaded = Ok(ModuleState::Loaded);
    let down = Ok(vec![link(
        "tunl0",
        Some(LinkKind::Ipip),
        Some(false),
        false,
    )]);
    let up = Ok(vec![link("tunl0", Some(LinkKind::Ipip), Some(false), true)]);
    assert_eq!(
        rows(&[
            tunnel_item(&d, &down, &loaded),
            tunnel_item(&d, &up, &loaded)
        ]),
        [
            row("tunl0 (ipip fallback)", "down", Status::Drift, true),
            row("tunl0 (ipip fallback)", "up", Status::Ok, false),
        ]
    );
    // Not loaded yet: the apply loads it, as the kernel does on first use.
    let e = tunnel_item(&d, &Ok(vec![]), &Ok(ModuleState::Available));
    assert_eq!(
        rows(std::slice::from_ref(&e)),
        [row("tunl0 (ipip fallback)", "absent", Status::Drift, true)]
    );
    assert!(
        e.item
            .note
            .unwrap()
            .contains("module ipip is not loaded: it is loaded on apply")
    );
    // A kernel without the module: a plan-time error naming it.
    let e = tunnel_item(
        &d,
        &Ok(vec![]),
        &Ok(ModuleState::Missing {
            release: "6.18.0".into(),
        }),
    );
    assert_eq!(e.item.status, Status::Error);
    assert!(
        e.item
            .note
            .unwrap()
            .starts_with("module ipip is not available for kernel 6.18.0")
    );
    // A device of that name that is something else is left alone, with an error.
    let x = decap(Encap::Ipip, Some("ipip0"));
    for other in [
        link("ipip0", Some(LinkKind::Ipip), Some(false), true),
        link("ipip0", Some(LinkKind::Dummy), None, true),
        link("ipip0", None, None, true),
    ] {
        let e = tunnel_item(&x, &Ok(vec![other]), &loaded);
        assert_eq!((e.item.status, e.desired.is_none()), (Status::Error, true));
        assert!(e.item.note.unwrap().contains("does not reconfigure"));
    }
    let ip6 = decap(Encap::Ip6ip6, None);
    let e = tunnel_item(&ip6, &Ok(vec![]), &Ok(ModuleState::Available));
    assert!(e.item.note.unwrap().contains("module ip6_tunnel"));
}

#[test]
fn the_gue_port_is_opened_or_refused_when_taken() {
    let gue = FouPort {
        port: 6080,
        family: FouFamily::V4,
        kind: FouKind::Gue,
    };
    let direct = FouPort {
        kind: FouKind::Direct(4),
        ..gue
    };
    let loaded = Ok(ModuleState::Loaded);
    assert_eq!(
        rows(&[
            fou_item(&gue, &Ok(vec![]), &loaded),
            fou_item(&gue, &Ok(vec![gue]), &loaded),
            fou_item(&gue, &Ok(vec![direct]), &loaded),
        ]),
        [
            row("port 6080 gue", "closed", Status::Drift, true),
            row("port 6080 gue", "open", Status::Ok, false),
            row("port 6080 gue", "port 6080 ipproto 4", Status::Error, false),
        ]
    );
    let e = fou_item(
        &gue,
        &Ok(vec![]),
        &Ok(ModuleState::Missing {
            release: "r".into(),
        }),
    );
    assert!(e.item.note.unwrap().contains("module fou is not available"));
}

#[test]
fn loose_rp_filter_on_a_device_holding_the_vips_writes_only_the_device() {
    let t: IfName = "ipip0".parse().unwrap();
    let r = |all: &str, own: &str| {
        let all = Ok(All {
            value: all.parse().unwrap(),
            from_profile: false,
        });
        rp_filter_item(&t, 2, &all, Ok(format!("{own}\n")), false)
    };
    assert_eq!(
        rows(&[r("1", "0"), r("0", "2"), r("2", "0"), r("0", "1")]),
        [
            row(
                "rp_filter ipip0",
                "all=1 ipip0=0 effective=1",
                Status::Drift,
                true
            ),
            row(
                "rp_filter ipip0",
                "all=0 ipip0=2 effective=2",
                Status::Ok,
                false
            ),
            row(
                "rp_filter ipip0",
                "all=2 ipip0=0 effective=2",
                Status::Ok,
                false
            ),
            row(
                "rp_filter ipip0",
                "all=0 ipip0=1 effective=1",
                Status::Drift,
                true
            ),
        ]
    );
    let e = r("1", "0");
    assert_eq!(
        e.desired.as_ref().unwrap().address(),
        "sysctl net.ipv4.conf.ipip0.rp_filter"
    );
    assert!(e.item.note.unwrap().contains("conf/all is 1 (strict)"));
    let e = rp_filter_item(&t, 2, &Err("unreadable".into()), Ok("0".into()), false);
    assert_eq!(e.item.status, Status::Error);
}

fn live_all(value: u8) -> Result<All, String> {
    Ok(All {
        value,
        from_profile: false,
    })
}

fn live(all: Result<All, String>, default: &str, others: &[(&str, &str)], own: &str) -> RpLive {
    RpLive {
        all,
        default: Ok(format!("{default}\n")),
        others: others
            .iter()
            .map(|(i, v)| (i.parse().unwrap(), Ok(format!("{v}\n"))))
            .collect(),
        own: Ok(format!("{own}\n")),
        created: false,
    }
}

/// What each interface's effective value is once the entries' writes are made.
fn effective_after(entries: &[Entry], l: &RpLive) -> Vec<(String, u8)> {
    let written = |name: &str| {
        entries.iter().find_map(|e| match &e.desired {
            Some(Setting::Sysctl { key, value }) if key.segments()[3] == name => number(value),
            _ => None,
        })
    };
    let all = written("all").unwrap_or(l.all.as_ref().unwrap().value);
    let mut out = Vec::new();
    for (i, v) in &l.others {
        let own = written(i.as_str()).unwrap_or(number(v.as_ref().unwrap()).unwrap());
        out.push((i.to_string(), all.max(own)));
    }
    let d = written("default").unwrap_or(number(l.default.as_ref().unwrap()).unwrap());
    out.push(("default".into(), all.max(d)));
    out
}

#[test]
fn rp_filter_off_lowers_all_and_keeps_every_other_interface_as_it_was() {
    let t: IfName = "tunl0".parse().unwrap();
    let l = live(
        live_all(1),
        "0",
        &[("lo", "0"), ("eth0", "0"), ("eth1", "2")],
        "0",
    );
    let d = rp_filter_off(&t, &l);
    assert_eq!(
        rows(&d),
        [
            row(
                "rp_filter default",
                "all=1 default=0 effective=1",
                Status::Drift,
                true
            ),
            row(
                "rp_filter lo",
                "all=1 lo=0 effective=1",
                Status::Drift,
                true
            ),
            row(
                "rp_filter eth0",
                "all=1 eth0=0 effective=1",
                Status::Drift,
                true
            ),
            row(
                "rp_filter eth1",
                "all=1 eth1=2 effective=2",
                Status::Ok,
                false
            ),
            row("rp_filter all", "1", Status::Drift, true),
            row(
                "rp_filter tunl0",
                "all=1 tunl0=0 effective=1",
                Status::Drift,
                true
            ),
        ]
    );
    assert!(
        d[5].item
            .note
            .as_deref()
            .unwrap()
            .contains("conf/default also reaches tunl0")
    );
    // Every other interface keeps its effective value; the device passes decapsulated
    // packets without an address.
    let before: Vec<(String, u8)> = l
        .others
        .iter()
        .map(|(i, v)| (i.to_string(), 1u8.max(number(v.as_ref().unwrap()).unwrap())))
        .chain([("default".to_string(), 1)])
        .collect();
    assert_eq!(effective_after(&d, &l), before);
    assert!(rp_filter_passes(0, 0, false));
    // Once applied (all = 0) nothing is written again.
    let again = live(
        live_all(0),
        "1",
        &[("lo", "1"), ("eth0", "1"), ("eth1", "2")],
        "0",
    );
    assert!(
        rp_filter_off(&t, &again)
            .iter()
            .all(|e| e.change().is_none())
    );
    // The device's own value above 0 is written, conf/all already 0.
    let d = rp_filter_off(&t, &live(live_all(0), "0", &[], "2"));
    assert_eq!(
        rows(&d).last().unwrap(),
        &row(
            "rp_filter tunl0",
            "all=0 tunl0=2 effective=2",
            Status::Drift,
            true
        )
    );
    // A [sysctl] conf/all above 0 fights it: a plan error, nothing else planned.
    let d = rp_filter_off(
        &t,
        &live(
            Ok(All {
                value: 2,
                from_profile: true,
            }),
            "0",
            &[("eth0", "0")],
            "0",
        ),
    );
    assert_eq!(rows(&d), [row("rp_filter all", "2", Status::Error, false)]);
    assert!(d[0].item.note.as_deref().unwrap().contains("drop that key"));
}

#[test]
fn the_kernel_rule_for_decapsulated_packets() {
    // Strict always drops; loose needs an address on the device; off always passes.
    for (all, dev, addr, pass) in [
        (0, 0, false, true),
        (1, 0, false, false),
        (0, 1, true, false),
        (2, 0, false, false),
        (2, 0, true, true),
        (1, 2, true, true),
        (1, 2, false, false),
    ] {
        assert_eq!(rp_filter_passes(all, dev, addr), pass, "{all} {dev} {addr}");
    }
}

#[test]
fn tunnel_writes_create_bring_up_and_take_down_only_their_device() {
    let links = FakeLinks::new();
    let dir = tempfile::tempdir().unwrap();
    let fs = crate::host::RootFs::new(dir.path());
    let mut host = Host::offline(&fs);
    host.links = &links;
    let tunl0 = |state| Setting::Tunnel {
        iface: "tunl0".parse().unwrap(),
        link: LinkKind::Ipip,
        external: false,
        state,
    };
    // The fallback: creating it loads ipip, whose tunl0 answers EEXIST; then up.
    TunnelOps::write(&host, &tunl0(TunnelState::Up)).unwrap();
    assert!(links.link("tunl0").unwrap().up);
    assert_eq!(links.loaded(), ["ipip"]);
    // Rollback to "absent": down, since only unloading the module removes it.
    TunnelOps::write(&host, &tunl0(TunnelState::Absent)).unwrap();
    let now = TunnelOps::read(&host, &tunl0(TunnelState::Up)).unwrap();
    assert!(!links.link("tunl0").unwrap().up);
    assert!(now.same_value(&tunl0(TunnelState::Absent)));
    // External: created, up, deleted.
    let ipip0 = |state| Setting::Tunnel {
        iface: "ipip0".parse().unwrap(),
        link: LinkKind::Ipip,
        external: true,
        state,
    };
    TunnelOps::write(&host, &ipip0(TunnelState::Up)).unwrap();
    assert!(links.link("ipip0").unwrap().tunnel.unwrap().external);
    assert!(
        !TunnelOps::read(&host, &ipip0(TunnelState::Up))
            .unwrap()
            .same_value(&ipip0(TunnelState::Absent))
    );
    TunnelOps::write(&host, &ipip0(TunnelState::Absent)).unwrap();
    assert!(links.link("ipip0").is_none());
    // A dummy called ipip0 is never deleted nor brought up.
    links
        .create(&LinkSpec {
            name: "ipip0".parse().unwrap(),
            kind: LinkKind::Dummy,
            external: false,
            mtu: None,
        })
        .unwrap();
    for st in [TunnelState::Absent, TunnelState::Up] {
        let e = TunnelOps::write(&host, &ipip0(st)).unwrap_err();
        assert!(
            e.to_string()
                .contains("is dummy, not ipip external: left alone"),
            "{e}"
        );
    }
    assert!(links.link("ipip0").is_some());
    // Snapshots cannot name another device as a fallback.
    let forged = Setting::Tunnel {
        iface: "eth0".parse().unwrap(),
        link: LinkKind::Ipip,
        external: false,
        state: TunnelState::Absent,
    };
    assert!(forged.validate().unwrap_err().contains("must be tunl0"));
}

#[test]
fn fou_writes_open_and_close_and_reads_never_load_the_module() {
    let links = FakeLinks::new();
    let dir = tempfile::tempdir().unwrap();
    let fs = crate::host::RootFs::new(dir.path());
    let mut host = Host::offline(&fs);
    host.links = &links;
    let gue = FouPort {
        port: 6080,
        family: FouFamily::V4,
        kind: FouKind::Gue,
    };
    let at = |present| Setting::Fou { port: gue, present };
    assert_eq!(FouOps::read(&host, &at(true)).unwrap(), at(false));
    assert!(links.loaded().is_empty(), "a read loaded fou");
    FouOps::write(&host, &at(true)).unwrap();
    assert_eq!(links.fou_list().unwrap(), [gue]);
    FouOps::write(&host, &at(true)).unwrap();
    FouOps::write(&host, &at(false)).unwrap();
    FouOps::write(&host, &at(false)).unwrap();
    assert!(links.fou_list().unwrap().is_empty());
    links
        .fou_add(&FouPort {
            kind: FouKind::Direct(4),
            ..gue
        })
        .unwrap();
    let e = FouOps::write(&host, &at(true)).unwrap_err();
    assert!(e.to_string().contains("left alone"), "{e}");
}

#[test]
fn a_module_that_cannot_load_at_apply_fails_the_step_instead_of_skipping_it() {
    let links = FakeLinks::new()
        .without_module("ipip")
        .without_module("fou");
    let dir = tempfile::tempdir().unwrap();
    let fs = crate::host::RootFs::new(dir.path());
    let mut host = Host::offline(&fs);
    host.links = &links;
    let tunl0 = Setting::Tunnel {
        iface: "tunl0".parse().unwrap(),
        link: LinkKind::Ipip,
        external: false,
        state: TunnelState::Up,
    };
    let e = TunnelOps::write(&host, &tunl0).unwrap_err();
    assert!(!e.is_unsupported(), "{e}");
    assert!(
        e.to_string().contains("module ipip could not be loaded"),
        "{e}"
    );
    let gue = Setting::Fou {
        port: FouPort {
            port: 6080,
            family: FouFamily::V4,
            kind: FouKind::Gue,
        },
        present: true,
    };
    let e = FouOps::write(&host, &gue).unwrap_err();
    assert!(
        !e.is_unsupported() && e.to_string().contains("module fou could not be loaded"),
        "{e}"
    );
}
