//! Evaluation and rendering (pure), and the MIB parsers on the fixtures of several kernels.

use super::map::SoftnetColumn;
use super::*;
use crate::knobs::{Item, Kind, Status};

fn fixture(version: &str, file: &str) -> String {
    let p = format!(
        "{}/tests/fixtures/proc-net/{version}/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

#[test]
fn netstat_and_snmp_of_three_kernels() {
    // (kernel, ListenOverflows, ListenDrops, TCPRcvQDrop, UdpRcvbufErrors)
    let table: &[(&str, u64, u64, Option<u64>, u64)] = &[
        ("4.19", 275243, 152465, None, 523565),
        ("5.10", 1900, 1900, Some(0), 0),
        ("6.18", 6907, 7012, Some(17), 1234),
    ];
    for (v, overflows, drops, rcvq, rcvbuf) in table {
        let m = netstat::parse(&fixture(v, "netstat")).unwrap();
        assert_eq!(m["TcpExtListenOverflows"], *overflows, "{v}");
        assert_eq!(m["TcpExtListenDrops"], *drops, "{v}");
        assert_eq!(m.get("TcpExtTCPRcvQDrop").copied(), *rcvq, "{v}");
        assert!(m.contains_key("TcpExtTCPAbortOnMemory"), "{v}");
        assert!(m.contains_key("TcpExtTCPTimeWaitOverflow"), "{v}");
        assert_eq!(
            m.contains_key("MPTcpExtMPCapableSYNRX"),
            *v == "6.18",
            "{v}"
        );
        let s = snmp::parse(&fixture(v, "snmp")).unwrap();
        assert_eq!(s["UdpRcvbufErrors"], *rcvbuf, "{v}");
    }
}

fn softnet(parts: &[(u32, u64)]) -> Reading {
    Reading {
        parts: parts.iter().map(|(c, v)| (Some(*c), *v)).collect(),
        wraps32: true,
    }
}

#[test]
fn absolute_values_with_the_cpus_that_show_something() {
    let src = Source::Softnet(SoftnetColumn::Dropped);
    let ev = evaluate(
        &src,
        &softnet(&[(0, 0), (1, 523), (3, 7)]),
        None,
        Since::Boot,
    );
    let got: Vec<(Option<u32>, u64)> = ev.iter().map(|e| (e.cpu, e.value)).collect();
    assert_eq!(got, [(None, 530), (Some(1), 523), (Some(3), 7)]);
    assert!(
        ev.iter()
            .all(|e| e.increase.is_none() && e.per_second.is_none())
    );
    // A MIB counter read in a namespace counts since the namespace was created; a NIC's do not.
    let mib = evaluate(
        &Source::Mib("TcpExtListenOverflows"),
        &Reading::one(5),
        None,
        Since::Namespace,
    );
    assert_eq!(mib[0].since, Since::Namespace);
    let nic = Source::Nic {
        iface: "eth0".parse().unwrap(),
        stat: "rx_dropped",
    };
    assert_eq!(
        evaluate(&nic, &Reading::one(5), None, Since::Namespace)[0].since,
        Since::Boot
    );
}

#[test]
fn increases_and_rates_over_an_interval_wrap_at_32_bits() {
    let src = Source::Softnet(SoftnetColumn::TimeSqueeze);
    let before = softnet(&[(0, 10), (1, u64::from(u32::MAX) - 1)]);
    let now = softnet(&[(0, 10), (1, 8)]);
    let ev = evaluate(&src, &now, Some((&before, 2.0)), Since::Boot);
    assert_eq!(ev[0].value, 18);
    assert_eq!(ev[0].increase, Some(10));
    assert_eq!(ev[0].per_second, Some(PerSecond(5.0)));
    // CPU 0 did not grow: only CPU 1 is listed.
    assert_eq!(ev.len(), 2);
    assert_eq!((ev[1].cpu, ev[1].increase), (Some(1), Some(10)));
    // A CPU that went offline between the samples: the totals' difference.
    let fewer = softnet(&[(0, 30)]);
    assert_eq!(fewer.increase_since(&before), [(None, 0)]);
}

fn item(object: &str, desired: &str, live: &str, status: Status, ev: &[(&str, u64)]) -> Item {
    let mut i = Item::new(Kind::Sysctl, object, desired, live, status);
    i.evidence = ev
        .iter()
        .map(|(c, v)| Evidence {
            counter: c.to_string(),
            cpu: None,
            value: *v,
            increase: None,
            per_second: None,
            since: Since::Boot,
        })
        .collect();
    i
}

#[test]
fn the_line_reads_like_the_seeds_troubleshooting() {
    let i = item(
        "net.core.somaxconn",
        "≥ 500000",
        "4096",
        Status::Drift,
        &[("TcpExtListenOverflows", 6907), ("TcpExtListenDrops", 7012)],
    );
    assert_eq!(
        render::sentence(&i).unwrap(),
        "somaxconn 4096 < 500000, ListenOverflows 6907 since boot, ListenDrops 7012 since boot"
    );
    let ok = item(
        "net.core.rmem_max",
        "≥ 1",
        "212992",
        Status::Ok,
        &[("UdpRcvbufErrors", 3)],
    );
    assert_eq!(
        render::sentence(&ok).unwrap(),
        "rmem_max 212992 (ok), Udp RcvbufErrors 3 since boot"
    );
    let exact = item(
        "net.ipv4.tcp_max_tw_buckets",
        "2000000",
        "262144",
        Status::Drift,
        &[],
    );
    assert_eq!(render::sentence(&exact), None);
    let mut rate = item(
        "net.core.netdev_max_backlog",
        "≥ 1000000",
        "1000",
        Status::Drift,
        &[("softnet_dropped", 530)],
    );
    rate.evidence[0].increase = Some(20);
    rate.evidence[0].per_second = Some(PerSecond(10.0));
    rate.evidence.push(Evidence {
        cpu: Some(1),
        value: 523,
        ..rate.evidence[0].clone()
    });
    assert_eq!(
        render::sentence(&rate).unwrap(),
        "netdev_max_backlog 1000 < 1000000, softnet dropped 530 since boot, +20 in the \
         interval (10.0/s) (CPU 1: +20)"
    );
}

#[test]
fn drift_with_evidence_comes_first_and_gauges_are_labelled_by_item() {
    let a = item("net.ipv4.tcp_fin_timeout", "30", "60", Status::Drift, &[]);
    let b = item(
        "net.core.rmem_max",
        "≥ 1",
        "2",
        Status::Ok,
        &[("UdpRcvbufErrors", 3)],
    );
    let c = item(
        "net.core.somaxconn",
        "≥ 500000",
        "4096",
        Status::Drift,
        &[("TcpExtListenOverflows", 6907)],
    );
    let d = item(
        "net.ipv4.tcp_max_syn_backlog",
        "≥ 1",
        "0",
        Status::Drift,
        &[("TcpExtListenOverflows", 0)],
    );
    let order: Vec<&str> = render::order(vec![&a, &b, &c, &d])
        .iter()
        .map(|i| i.object.as_str())
        .collect();
    assert_eq!(
        order,
        [
            "net.core.somaxconn",
            "net.core.rmem_max",
            "net.ipv4.tcp_fin_timeout",
            "net.ipv4.tcp_max_syn_backlog"
        ]
    );
    let plan = Plan {
        profile: "web".into(),
        entries: [a, c]
            .into_iter()
            .map(|i| crate::knobs::Entry::new(i, None, None))
            .collect(),
        ..Plan::default()
    };
    let p = render::prometheus(&plan, "web", render::Series::default());
    assert!(p.starts_with("# HELP hosttune_evidence "), "{p}");
    assert!(
        p.contains(
            "hosttune_evidence{profile=\"web\",kind=\"sysctl\",object=\"net.core.somaxconn\",\
             counter=\"TcpExtListenOverflows\"} 6907\n"
        ),
        "{p}"
    );
    assert!(!p.contains("per_second"), "{p}");
    assert_eq!(
        render::prometheus(&Plan::default(), "web", render::Series::default()),
        ""
    );
}

#[test]
fn driver_statistics_come_through_the_nic_seam_and_only_the_named_ones_it_has() {
    use crate::host::nic::NicStats;
    use crate::host::{NicValue, Offline, RootFs};
    use crate::testing::fake_nic::{Driver, FakeNic};
    let eth0: crate::types::IfName = "eth0".parse().unwrap();
    let src = |stat| Source::Ethtool {
        iface: eth0.clone(),
        stat,
    };
    let sources = [src("rx_flow_control_xon"), src("link_xon_rx")];
    let stats = NicStats(vec![
        ("rx_packets".into(), 10),
        ("rx_flow_control_xon".into(), 42),
    ]);
    let nic = FakeNic::new()
        .with_iface("eth0", Driver::Veth { queues: 1 })
        .with_value("eth0", NicValue::Stats(stats));
    let dir = tempfile::tempdir().unwrap();
    let fs = RootFs::new(dir.path());
    let s = Sample::read(&fs, &nic, &sources, None);
    assert_eq!(s.reading(&sources[0]), Ok(Reading::one(42)));
    let missing = s.reading(&sources[1]).unwrap_err();
    assert!(
        missing.contains("not counted by eth0's driver"),
        "{missing}"
    );
    // An offline tree has no NIC to ask: no reading, with the reason.
    let off = Sample::read(&fs, &Offline, &sources, None);
    let why = off.reading(&sources[0]).unwrap_err();
    assert!(why.contains("offline"), "{why}");
}
