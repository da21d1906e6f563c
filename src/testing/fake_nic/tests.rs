//! Unit tests for `FakeNic`: each driver rule, the ethtool core's checks, faults and the log.

use super::*;

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
