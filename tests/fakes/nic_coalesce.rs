//! `coalesce` and `pause` against `FakeNic`: apply changes only the named fields, an audit
//! after it is in sync, a second apply writes nothing, rollback restores every field as it
//! was, a driver without the ioctls is `unsupported`, and a refused set undoes the rest.

use crate::nic_rig::{Rig, item};

use hosttune::host::{Coalesce, NicCmd, NicValue, Pause};
use hosttune::plan::{Kind, Status};
use hosttune::testing::fake_nic::{Driver, FakeNic, NicOp, SetRequest};
use nix::errno::Errno;

const PROFILE: &str = "[[nic]]\ncoalesce = { \"rx-usecs\" = 64, \"adaptive-rx\" = false }\n\
                       pause = { autoneg = false, rx = false, tx = false }\n";

fn start() -> (Coalesce, Pause) {
    let mut c = Coalesce::default();
    for (n, v) in [("rx-usecs", 3), ("adaptive-rx", 1), ("tx-usecs", 8)] {
        c.set_by_name(n, v).unwrap();
    }
    let p = Pause {
        autoneg: true,
        rx: true,
        tx: true,
    };
    (c, p)
}

fn rig() -> Rig {
    let (c, p) = start();
    let nic = FakeNic::new()
        .with_iface(
            "eth0",
            Driver::Ixgbe {
                ring_max: 4096,
                queues: 4,
            },
        )
        .with_value("eth0", NicValue::Coalesce(c))
        .with_value("eth0", NicValue::Pause(p));
    Rig::new(nic, &["eth0"])
}

fn now(rig: &Rig) -> (Coalesce, Pause) {
    match (
        rig.nic.value_of("eth0", NicCmd::Coalesce),
        rig.nic.value_of("eth0", NicCmd::Pause),
    ) {
        (Some(NicValue::Coalesce(c)), Some(NicValue::Pause(p))) => (c, p),
        other => panic!("{other:?}"),
    }
}

#[test]
fn apply_audit_second_apply_and_rollback() {
    let rig = rig();
    let plan = rig.plan(PROFILE);
    let c = item(&plan, Kind::Coalesce, "eth0");
    assert_eq!(
        (c.desired.as_str(), c.live.as_str(), c.status),
        (
            "rx-usecs 64, adaptive-rx 0",
            "rx-usecs 3, adaptive-rx 1",
            Status::Drift
        )
    );
    let p = item(&plan, Kind::Pause, "eth0");
    assert_eq!(p.live, "autoneg on, rx on, tx on");

    let o = rig.apply(&plan).unwrap();
    assert!(o.failure.is_none(), "{o:?}");
    let (c, p) = now(&rig);
    assert_eq!(c.get_by_name("rx-usecs"), Some(64));
    assert_eq!(c.get_by_name("adaptive-rx"), Some(0));
    // A parameter the rule does not name is written back as read.
    assert_eq!(c.get_by_name("tx-usecs"), Some(8));
    assert_eq!(p, Pause::default());
    // The set carried the whole struct, with only the named fields changed.
    let calls = rig.nic.set_calls();
    assert!(
        calls.iter().any(|s| matches!(&s.request,
            SetRequest::Other(NicValue::Coalesce(c)) if c.get_by_name("tx-usecs") == Some(8))),
        "{calls:?}"
    );

    let audit = rig.plan(PROFILE);
    for kind in [Kind::Coalesce, Kind::Pause] {
        assert_eq!(item(&audit, kind, "eth0").status, Status::Ok, "{kind}");
    }
    let writes = rig.nic.set_count();
    let o = rig.apply(&audit).unwrap();
    assert!(o.failure.is_none(), "{o:?}");
    assert_eq!(rig.nic.set_count(), writes, "a second apply wrote");

    let o = rig.rollback();
    assert!(o.failure.is_none(), "{o:?}");
    assert_eq!(now(&rig), start(), "rollback must restore every field");
}

#[test]
fn a_refused_pause_set_undoes_the_coalescing_change() {
    let rig = rig();
    rig.nic
        .fail_next("eth0", NicOp::Other(NicCmd::Pause, true), Errno::EINVAL);
    let o = rig.apply(&rig.plan(PROFILE)).unwrap();
    let f = o.failure.as_ref().expect("the apply must fail");
    assert_eq!(f.item().unwrap().kind, Kind::Pause);
    let msg = f.error().unwrap().to_string();
    assert!(msg.contains("EINVAL") && msg.contains("eth0"), "{msg}");
    assert!(f.undo_errors().is_empty(), "{:?}", f.undo_errors());
    assert_eq!(now(&rig), start(), "the coalescing change must be undone");
}

#[test]
fn a_driver_without_the_ioctls_is_unsupported() {
    let rig = Rig::new(
        FakeNic::new().with_iface("v0", Driver::Veth { queues: 1 }),
        &["v0"],
    );
    let plan = rig.plan(PROFILE);
    for kind in [Kind::Coalesce, Kind::Pause] {
        let i = item(&plan, kind, "v0");
        assert_eq!(i.status, Status::Unsupported, "{kind}: {i:?}");
    }
    let o = rig.apply(&plan).unwrap();
    assert!(o.failure.is_none(), "{o:?}");
    assert_eq!(rig.nic.set_count(), 0);
}
