//! `[[nic]]` planning against `FakeNic` drivers: `"max"` and numbers, values above the
//! driver's maximum, channel kinds the driver lacks, unsupported operations, rules that match
//! nothing or overlap, and what loading refuses.

use crate::nic_rig;

use hosttune::apply::ApplyError;
use hosttune::plan::{Kind, Setting, Status};
use hosttune::profile::parse_str;
use hosttune::testing::fake_nic::{Driver, FakeNic, NicOp};
use nic_rig::{Rig, item};
use nix::errno::Errno;

fn ixgbe() -> Driver {
    Driver::Ixgbe {
        ring_max: 4096,
        queues: 16,
    }
}

#[test]
fn max_and_numbers_resolve_against_the_driver_in_apply_order() {
    let rig = Rig::new(FakeNic::new().with_iface("eth0", ixgbe()), &["eth0"]);
    let plan = rig.plan(
        "[[nic]]\nrings = { rx = \"max\", tx = 1024 }\nchannels = { combined = 8 }\ntxqueuelen = 30000\n",
    );
    let kinds: Vec<Kind> = plan.items().map(|i| i.kind).collect();
    assert_eq!(kinds, [Kind::Channels, Kind::Ring, Kind::Txqueuelen]);
    let want: Vec<Setting> = plan
        .entries
        .iter()
        .filter_map(|e| e.desired.clone())
        .collect();
    let eth0 = "eth0".parse().unwrap();
    assert_eq!(
        want,
        [
            // "other" (ixgbe's link vector) and the unused rx/tx counts are carried over.
            Setting::Channels {
                iface: "eth0".parse().unwrap(),
                rx: 0,
                tx: 0,
                other: 1,
                combined: 8
            },
            Setting::Rings {
                iface: "eth0".parse().unwrap(),
                rx: 4096,
                tx: 1024
            },
            Setting::Txqueuelen {
                iface: eth0,
                len: 30000
            },
        ]
    );
    assert!(plan.items().all(|i| i.status == Status::Drift), "{plan:#?}");
    assert_eq!(rig.nic.set_count(), 0, "planning wrote");
}

#[test]
fn knobs_from_different_rules_keep_the_per_nic_order() {
    let nic = FakeNic::new()
        .with_iface("eth0", ixgbe())
        .with_iface("eth1", ixgbe());
    let rig = Rig::new(nic, &["eth0", "eth1"]);
    let plan = rig.plan(
        "[[nic]]\nrings = { rx = 1024 }\n[[nic]]\nmatch = \"eth0\"\nchannels = { combined = 2 }\n",
    );
    let order: Vec<(Kind, &str)> = plan.items().map(|i| (i.kind, i.object.as_str())).collect();
    assert_eq!(
        order,
        [
            (Kind::Channels, "eth0"),
            (Kind::Ring, "eth0"),
            (Kind::Ring, "eth1")
        ]
    );
}

#[test]
fn an_omitted_ring_side_keeps_its_live_size_and_equal_is_ok() {
    let nic = FakeNic::new()
        .with_iface("eth0", ixgbe())
        .with_rings("eth0", 4096, 512);
    let rig = Rig::new(nic, &["eth0"]);
    let plan = rig.plan("[[nic]]\nrings = { rx = \"max\" }\ntxqueuelen = 1000\n");
    assert_eq!(item(&plan, Kind::Ring, "eth0").status, Status::Ok);
    assert_eq!(item(&plan, Kind::Ring, "eth0").desired, "rx 4096 tx 512");
    assert_eq!(item(&plan, Kind::Txqueuelen, "eth0").status, Status::Ok);
}

#[test]
fn above_the_maximum_is_a_plan_error_and_nothing_is_written() {
    let rig = Rig::new(FakeNic::new().with_iface("eth0", ixgbe()), &["eth0"]);
    let plan = rig
        .plan("[[nic]]\nrings = { rx = 5000 }\nchannels = { combined = 17 }\ntxqueuelen = 30000\n");
    let ring = item(&plan, Kind::Ring, "eth0");
    assert_eq!(ring.status, Status::Error);
    let note = ring.note.as_deref().unwrap();
    for w in ["rx ring 5000", "maximum 4096", "eth0"] {
        assert!(note.contains(w), "{note}");
    }
    let ch = item(&plan, Kind::Channels, "eth0");
    assert_eq!(ch.status, Status::Error);
    assert!(
        ch.note
            .as_deref()
            .unwrap()
            .contains("combined channels 17 is above the maximum 16"),
        "{ch:?}"
    );
    assert!(matches!(rig.apply(&plan), Err(ApplyError::Plan(e)) if e.len() == 2));
    assert_eq!(rig.nic.set_count(), 0);
    assert_eq!(
        rig.qlen("eth0"),
        1000,
        "txqueuelen written despite plan errors"
    );
}

#[test]
fn a_channel_kind_the_driver_lacks_is_a_plan_error() {
    let nic = FakeNic::new()
        .with_iface("veth0", Driver::Veth { queues: 8 })
        .with_iface(
            "mlx0",
            Driver::Mlx5 {
                ring_max: 8192,
                queues: 16,
            },
        );
    let rig = Rig::new(nic, &["veth0", "mlx0"]);
    let plan = rig.plan("[[nic]]\nmatch = \"veth0\"\nchannels = { combined = 4 }\n[[nic]]\nmatch = \"mlx0\"\nchannels = { rx = 4, tx = 4 }\n");
    let v = item(&plan, Kind::Channels, "veth0");
    assert_eq!(v.status, Status::Error);
    assert!(
        v.note
            .as_deref()
            .unwrap()
            .contains("no combined channels (maximums: rx 8, tx 8)"),
        "{v:?}"
    );
    let m = item(&plan, Kind::Channels, "mlx0");
    assert_eq!(m.status, Status::Error);
    assert!(
        m.note
            .as_deref()
            .unwrap()
            .contains("no separate rx channels (maximum combined 16)"),
        "{m:?}"
    );
}

#[test]
fn unsupported_reads_are_reported_and_other_errnos_are_errors() {
    let nic = FakeNic::new()
        .with_iface("veth0", Driver::Veth { queues: 8 })
        .with_iface("eth0", ixgbe());
    nic.fail_next("eth0", NicOp::GetChannels, Errno::ENODEV);
    let rig = Rig::new(nic, &["eth0", "veth0"]);
    let plan = rig.plan("[[nic]]\nrings = { rx = \"max\" }\nchannels = { rx = 4, tx = 4 }\nmatch = \"veth0\"\n[[nic]]\nmatch = \"eth0\"\nchannels = { combined = 2 }\n");
    let r = item(&plan, Kind::Ring, "veth0");
    assert_eq!(r.status, Status::Unsupported);
    assert!(
        r.note
            .as_deref()
            .unwrap()
            .contains("ETHTOOL_GRINGPARAM on veth0"),
        "{r:?}"
    );
    assert_eq!(item(&plan, Kind::Channels, "veth0").status, Status::Drift);
    let e = item(&plan, Kind::Channels, "eth0");
    assert_eq!(e.status, Status::Error);
    assert!(e.note.as_deref().unwrap().contains("ENODEV"), "{e:?}");
}

#[test]
fn a_rule_matching_nothing_is_one_skipped_item() {
    let rig = Rig::new(FakeNic::new().with_iface("eth0", ixgbe()), &["eth0"]);
    let plan = rig.plan("[[nic]]\nmatch = \"p2p*\"\ntxqueuelen = 30000\nrings = { rx = 1 }\n");
    assert_eq!(plan.entries.len(), 1, "{plan:#?}");
    let i = &plan.entries[0].item;
    assert_eq!((i.status, i.kind), (Status::Skipped, Kind::Ring));
    assert_eq!(i.note.as_deref(), Some("no interface matches p2p*"));

    // Without `match`, only interfaces with a sysfs device link are covered.
    let bare = Rig::new(FakeNic::new(), &[]);
    std::fs::create_dir_all(bare.dir.path().join("root/sys/class/net/veth9")).unwrap();
    let plan = bare.plan("[[nic]]\ntxqueuelen = 30000\n");
    assert_eq!(plan.entries.len(), 1);
    assert_eq!(plan.entries[0].item.status, Status::Skipped);
    assert!(
        plan.entries[0]
            .item
            .note
            .as_deref()
            .unwrap()
            .contains("no physical NIC")
    );
}

#[test]
fn two_rules_setting_one_knob_on_one_interface_is_an_error() {
    let nic = FakeNic::new()
        .with_iface("eth0", ixgbe())
        .with_iface("eth1", ixgbe());
    let rig = Rig::new(nic, &["eth0", "eth1"]);
    let plan = rig.plan("[[nic]]\ntxqueuelen = 30000\n[[nic]]\nmatch = \"eth1\"\ntxqueuelen = 5000\nrings = { rx = 1024 }\n");
    let e = item(&plan, Kind::Txqueuelen, "eth1");
    assert_eq!(e.status, Status::Error);
    assert!(
        e.note
            .as_deref()
            .unwrap()
            .contains("eth1 is matched by [[nic]] rules 1 and 2"),
        "{e:?}"
    );
    assert_eq!(item(&plan, Kind::Txqueuelen, "eth0").status, Status::Drift);
}

#[test]
fn loading_accepts_irq_cpus_and_refuses_rules_that_set_nothing() {
    let p = parse_str(
        "p.toml",
        "[[nic]]\ntxqueuelen = 1\nirq_cpus = \"isolated\"\n",
    )
    .unwrap();
    assert!(p.nic.unwrap()[0].irq_cpus.is_some());
    let e = parse_str("p.toml", "[[nic]]\nmatch = \"eth0\"\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("sets nothing"), "{e}");
    let e = parse_str("p.toml", "[[nic]]\nrings = {}\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("rings: give rx, tx or both"), "{e}");
}
