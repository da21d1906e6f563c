//! Unit tests for `FakeNic`: each driver rule, the ethtool core's checks, faults and the log.

use super::*;
use crate::host::NicOpsExt as _;

fn ifn(s: &str) -> IfName {
    s.parse().unwrap()
}

fn set_rx_tx(nic: &FakeNic, iface: &str, rx: u32, tx: u32) -> Result<RingParams, NicError> {
    let mut r = nic.rings(&ifn(iface))?;
    (r.rx, r.tx) = (rx, tx);
    nic.set_rings(&ifn(iface), &r)?;
    nic.rings(&ifn(iface))
}

fn errno(res: Result<impl std::fmt::Debug, NicError>) -> Errno {
    match res {
        Err(NicError::Os { errno, .. }) => errno,
        other => panic!("expected an errno, got {other:?}"),
    }
}

#[test]
fn each_driver_rounds_rings_its_own_way() {
    let nic = FakeNic::new()
        .with_iface(
            "ix0",
            Driver::Ixgbe {
                ring_max: 4096,
                queues: 16,
            },
        )
        .with_iface(
            "i40e0",
            Driver::I40e {
                ring_max: 4096,
                queues: 16,
            },
        )
        .with_iface(
            "mlx0",
            Driver::Mlx5 {
                ring_max: 8192,
                queues: 16,
            },
        )
        .with_iface(
            "ena0",
            Driver::Ena {
                ring_max: 16384,
                queues: 8,
            },
        );
    let table = [
        ("ix0", 2047, 2048),
        ("ix0", 10, 64),
        ("ix0", 4096, 4096),
        ("i40e0", 100, 128),
        ("i40e0", 2047, 2048),
        ("mlx0", 1000, 1024),
        ("mlx0", 64, 64),
        ("ena0", 3000, 2048),
        ("ena0", 100, 256),
    ];
    for (iface, want, got) in table {
        let r = set_rx_tx(&nic, iface, want, want).unwrap();
        assert_eq!((r.rx, r.tx), (got, got), "{iface} asked {want}");
    }
    assert_eq!(errno(set_rx_tx(&nic, "mlx0", 10, 1024)), Errno::EINVAL);
    assert_eq!(errno(set_rx_tx(&nic, "i40e0", 512, 32)), Errno::EINVAL);
}

#[test]
fn above_the_maximum_is_einval_and_changes_nothing() {
    let nic = FakeNic::new().with_iface(
        "eth0",
        Driver::Ixgbe {
            ring_max: 4096,
            queues: 8,
        },
    );
    assert_eq!(errno(set_rx_tx(&nic, "eth0", 4097, 512)), Errno::EINVAL);
    assert_eq!(nic.rings_of("eth0").unwrap().rx, 512);
    let mut r = nic.rings(&ifn("eth0")).unwrap();
    r.rx_jumbo = 1;
    assert_eq!(errno(nic.set_rings(&ifn("eth0"), &r)), Errno::EINVAL);
    let mut ch = nic.channels(&ifn("eth0")).unwrap();
    ch.combined = 9;
    assert_eq!(errno(nic.set_channels(&ifn("eth0"), &ch)), Errno::EINVAL);
    assert_eq!(nic.channels_of("eth0").unwrap().combined, 8);
    assert_eq!(nic.set_count(), 3);
    assert!(
        nic.set_calls()
            .iter()
            .all(|c| c.result == Err(Errno::EINVAL))
    );
}

#[test]
fn veth_has_no_rings_and_only_rx_tx_channels() {
    let nic = FakeNic::new().with_iface("v0", Driver::Veth { queues: 8 });
    let v0 = ifn("v0");
    assert!(matches!(
        nic.rings(&v0),
        Err(NicError::Unsupported {
            op: "ETHTOOL_GRINGPARAM",
            ..
        })
    ));
    let err = nic.set_rings(&v0, &RingParams::default()).unwrap_err();
    assert!(matches!(
        err,
        NicError::Unsupported {
            op: "ETHTOOL_SRINGPARAM",
            ..
        }
    ));

    let ch = nic.channels(&v0).unwrap();
    assert_eq!(
        (ch.max_rx, ch.max_tx, ch.max_combined, ch.rx, ch.tx),
        (8, 8, 0, 8, 8)
    );
    let half = ChannelParams { rx: 4, tx: 4, ..ch };
    nic.set_channels(&v0, &half).unwrap();
    assert_eq!(nic.channels_of("v0"), Some(half));
    let combined = ChannelParams {
        rx: 0,
        tx: 0,
        combined: 4,
        ..ch
    };
    assert_eq!(errno(nic.set_channels(&v0, &combined)), Errno::EINVAL);
    let no_tx = ChannelParams { tx: 0, ..ch };
    assert_eq!(errno(nic.set_channels(&v0, &no_tx)), Errno::EINVAL);
}

#[test]
fn intel_channels_must_carry_the_other_vector() {
    let nic = FakeNic::new().with_iface(
        "eth0",
        Driver::I40e {
            ring_max: 4096,
            queues: 64,
        },
    );
    let eth0 = ifn("eth0");
    let ch = nic.channels(&eth0).unwrap();
    assert_eq!(
        (ch.max_combined, ch.combined, ch.max_other, ch.other),
        (64, 64, 1, 1)
    );
    let zeroed = ChannelParams {
        combined: 4,
        ..ChannelParams::default()
    };
    assert_eq!(errno(nic.set_channels(&eth0, &zeroed)), Errno::EINVAL);
    let read_first = ChannelParams { combined: 4, ..ch };
    nic.set_channels(&eth0, &read_first).unwrap();
    assert_eq!(nic.channels_of("eth0").unwrap().combined, 4);
    let rxtx = ChannelParams {
        rx: 2,
        tx: 2,
        combined: 0,
        ..ch
    };
    assert_eq!(errno(nic.set_channels(&eth0, &rxtx)), Errno::EINVAL);
}

#[test]
fn faults_fire_once_then_the_call_succeeds() {
    let nic = FakeNic::new()
        .with_iface(
            "eth0",
            Driver::Mlx5 {
                ring_max: 8192,
                queues: 8,
            },
        )
        .with_rings("eth0", 256, 256);
    nic.fail_next("eth0", NicOp::SetRings, Errno::EBUSY);
    nic.fail_next("eth0", NicOp::GetChannels, Errno::ENODEV);
    assert_eq!(errno(set_rx_tx(&nic, "eth0", 4096, 4096)), Errno::EBUSY);
    assert_eq!(nic.rings_of("eth0").unwrap().rx, 256);
    assert_eq!(set_rx_tx(&nic, "eth0", 4096, 4096).unwrap().rx, 4096);
    assert_eq!(errno(nic.channels(&ifn("eth0"))), Errno::ENODEV);
    assert!(nic.channels(&ifn("eth0")).is_ok());
    let calls = nic.set_calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].result, Err(Errno::EBUSY));
    assert_eq!(calls[1].result, Ok(()));
}

#[test]
fn unknown_interfaces_are_enodev_and_reads_log_nothing() {
    let nic = FakeNic::new()
        .with_iface(
            "eth0",
            Driver::Ena {
                ring_max: 8192,
                queues: 4,
            },
        )
        .with_channels("eth0", 0, 0, 2);
    assert_eq!(errno(nic.rings(&ifn("eth1"))), Errno::ENODEV);
    assert_eq!(nic.channels_of("eth0").unwrap().combined, 2);
    nic.rings(&ifn("eth0")).unwrap();
    nic.channels(&ifn("eth0")).unwrap();
    assert_eq!(nic.set_count(), 0);
    let err = nic
        .set_channels(&ifn("eth1"), &ChannelParams::default())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "ETHTOOL_SCHANNELS on eth1: ENODEV: No such device"
    );
}

fn hf(letters: &str) -> HashFields {
    letters.parse().unwrap()
}

/// One of each driver, with made-up ring and queue numbers.
fn one_of_each() -> FakeNic {
    FakeNic::new()
        .with_iface(
            "ix0",
            Driver::Ixgbe {
                ring_max: 4096,
                queues: 8,
            },
        )
        .with_iface(
            "i40e0",
            Driver::I40e {
                ring_max: 4096,
                queues: 8,
            },
        )
        .with_iface(
            "mlx0",
            Driver::Mlx5 {
                ring_max: 8192,
                queues: 8,
            },
        )
        .with_iface(
            "ena0",
            Driver::Ena {
                ring_max: 16384,
                queues: 8,
            },
        )
        .with_iface("v0", Driver::Veth { queues: 8 })
}

#[test]
fn each_driver_starts_with_its_own_hash_fields() {
    use FlowType::*;
    let nic = one_of_each();
    // None: EINVAL, the driver does not hash that flow type.
    let table: [(&str, [Option<&str>; 6]); 4] = [
        (
            "ix0",
            [
                Some("sdfn"),
                Some("sd"),
                None,
                Some("sdfn"),
                Some("sd"),
                None,
            ],
        ),
        ("i40e0", [Some("sdfn"); 6]),
        (
            "mlx0",
            [
                Some("sdfn"),
                Some("sdfn"),
                None,
                Some("sdfn"),
                Some("sdfn"),
                None,
            ],
        ),
        ("ena0", [Some("sdfn"), Some("sdfn"), None, None, None, None]),
    ];
    for (iface, want) in table {
        for (flow, want) in [Tcp4, Udp4, Sctp4, Tcp6, Udp6, Sctp6].into_iter().zip(want) {
            let got = nic.rx_flow_hash(&ifn(iface), flow);
            match want {
                Some(letters) => assert_eq!(got.unwrap(), hf(letters), "{iface} {flow}"),
                None => assert_eq!(errno(got), Errno::EINVAL, "{iface} {flow}"),
            }
            assert_eq!(
                nic.rx_flow_hash_of(iface, flow),
                want.map(hf),
                "{iface} {flow}"
            );
        }
    }
    assert_eq!(nic.set_count(), 0, "reads are not logged");
}

#[test]
fn each_driver_accepts_only_the_field_sets_it_can_program() {
    use FlowType::*;
    let nic = one_of_each();
    // (iface, flow, fields, accepted)
    let table = [
        ("ix0", Tcp4, "sdfn", true),
        ("ix0", Tcp4, "sd", false),
        ("ix0", Tcp6, "sdf", false),
        ("ix0", Udp4, "sdfn", true),
        ("ix0", Udp4, "sd", true),
        ("ix0", Udp6, "sdfn", true),
        ("ix0", Udp6, "s", false),
        ("ix0", Udp6, "sdn", false),
        ("ix0", Tcp4, "msdfn", false),
        ("ix0", Sctp4, "sd", false),
        ("i40e0", Sctp6, "sd", true),
        ("i40e0", Udp4, "d", true),
        ("i40e0", Tcp4, "sdfnr", false),
        ("i40e0", Tcp4, "vsd", false),
        ("mlx0", Tcp4, "s", true),
        ("mlx0", Udp6, "dn", true),
        ("mlx0", Tcp6, "sdfn", true),
        ("mlx0", Udp4, "tsd", false),
        ("mlx0", Sctp4, "sd", false),
    ];
    for (iface, flow, letters, accepted) in table {
        let before = nic.rx_flow_hash_of(iface, flow);
        let res = nic.set_rx_flow_hash(&ifn(iface), flow, hf(letters));
        if accepted {
            res.unwrap_or_else(|e| panic!("{iface} {flow} {letters}: {e}"));
            assert_eq!(nic.rx_flow_hash(&ifn(iface), flow).unwrap(), hf(letters));
        } else {
            assert_eq!(errno(res), Errno::EINVAL, "{iface} {flow} {letters}");
            assert_eq!(
                nic.rx_flow_hash_of(iface, flow),
                before,
                "a refused set changed"
            );
        }
    }
    let calls = nic.set_calls();
    assert_eq!(calls.len(), table.len());
    assert_eq!(
        calls[1].request,
        SetRequest::RxFlowHash {
            flow: Tcp4,
            fields: hf("sd")
        }
    );
    assert_eq!(calls[1].result, Err(Errno::EINVAL));
    assert_eq!(calls[0].result, Ok(()));
}

#[test]
fn veth_and_ena_do_not_set_hash_fields() {
    let nic = one_of_each();
    for flow in FlowType::ALL {
        let get = nic.rx_flow_hash(&ifn("v0"), flow).unwrap_err();
        assert!(
            matches!(
                get,
                NicError::Unsupported {
                    op: "ETHTOOL_GRXFH",
                    ..
                }
            ),
            "{get}"
        );
        for iface in ["v0", "ena0"] {
            let set = nic
                .set_rx_flow_hash(&ifn(iface), flow, hf("sdfn"))
                .unwrap_err();
            assert!(
                matches!(
                    set,
                    NicError::Unsupported {
                        op: "ETHTOOL_SRXFH",
                        ..
                    }
                ),
                "{iface} {flow}: {set}"
            );
        }
    }
    // ENA reads stay as they were.
    assert_eq!(
        nic.rx_flow_hash(&ifn("ena0"), FlowType::Udp4).unwrap(),
        hf("sdfn")
    );
    assert_eq!(nic.set_count(), 12);
    assert!(
        nic.set_calls()
            .iter()
            .all(|c| c.result == Err(Errno::EOPNOTSUPP))
    );
}

#[test]
fn hash_field_faults_fire_once_and_unknown_interfaces_are_enodev() {
    let nic = one_of_each().with_rx_flow_hash("mlx0", FlowType::Udp4, "sd");
    let mlx0 = ifn("mlx0");
    assert_eq!(nic.rx_flow_hash_of("mlx0", FlowType::Udp4), Some(hf("sd")));
    nic.fail_next("mlx0", NicOp::SetRxFlowHash, Errno::EBUSY);
    nic.fail_next("mlx0", NicOp::GetRxFlowHash, Errno::EIO);
    let set = nic.set_rx_flow_hash(&mlx0, FlowType::Udp4, hf("sdfn"));
    assert_eq!(errno(set), Errno::EBUSY);
    assert_eq!(errno(nic.rx_flow_hash(&mlx0, FlowType::Udp4)), Errno::EIO);
    assert_eq!(nic.rx_flow_hash(&mlx0, FlowType::Udp4).unwrap(), hf("sd"));
    nic.set_rx_flow_hash(&mlx0, FlowType::Udp4, hf("sdfn"))
        .unwrap();
    assert_eq!(
        nic.rx_flow_hash_of("mlx0", FlowType::Udp4),
        Some(hf("sdfn"))
    );
    let results: Vec<_> = nic.set_calls().into_iter().map(|c| c.result).collect();
    assert_eq!(results, [Err(Errno::EBUSY), Ok(())]);

    // A fault on veth fires before its EOPNOTSUPP, as for the other ops.
    nic.fail_next("v0", NicOp::GetRxFlowHash, Errno::ENODEV);
    assert_eq!(
        errno(nic.rx_flow_hash(&ifn("v0"), FlowType::Tcp4)),
        Errno::ENODEV
    );
    assert!(matches!(
        nic.rx_flow_hash(&ifn("v0"), FlowType::Tcp4),
        Err(NicError::Unsupported { .. })
    ));

    let err = nic
        .set_rx_flow_hash(&ifn("eth9"), FlowType::Tcp6, hf("sd"))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "ETHTOOL_SRXFH on eth9: ENODEV: No such device"
    );
    assert_eq!(
        errno(nic.rx_flow_hash(&ifn("eth9"), FlowType::Tcp6)),
        Errno::ENODEV
    );
}
