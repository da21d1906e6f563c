//! `[[nic]]` apply and rollback against `FakeNic`: the order of writes per NIC, a driver that
//! rounds (clamped, then left alone), a failed set undoing earlier changes, rollback of every
//! queue knob, and a second apply that writes nothing.

use crate::nic_rig;

use std::cell::RefCell;
use std::io;
use std::path::{Path, PathBuf};

use hosttune::apply;
use hosttune::host::{Files, Host, NicCmd, NicError, NicOps, NicValue, Offline};
use hosttune::plan::{Kind, Status};
use hosttune::profile::parse_str;
use hosttune::snapshot::Origin;
use hosttune::testing::fake_nic::{Driver, FakeNic, NicOp, SetRequest};
use hosttune::types::IfName;
use nic_rig::{Rig, item, plan_on};
use nix::errno::Errno;

const FULL: &str = "[[nic]]\nchannels = { combined = 8 }\nrings = { rx = \"max\", tx = \"max\" }\ntxqueuelen = 30000\n";

fn ixgbe() -> Driver {
    Driver::Ixgbe {
        ring_max: 4096,
        queues: 16,
    }
}

fn two_ixgbe() -> Rig {
    let nic = FakeNic::new()
        .with_iface("eth0", ixgbe())
        .with_iface("eth1", ixgbe());
    Rig::new(nic, &["eth0", "eth1"])
}

/// Logs every ioctl set and sysfs write of one run, in one list.
struct Logged<'a> {
    rig: &'a Rig,
    log: RefCell<Vec<String>>,
}

impl NicOps for Logged<'_> {
    fn get(&self, i: &IfName, cmd: NicCmd) -> Result<NicValue, NicError> {
        self.rig.nic.get(i, cmd)
    }
    fn set(&self, i: &IfName, v: &NicValue) -> Result<(), NicError> {
        let what = match v.cmd() {
            NicCmd::Rings => "rings".to_string(),
            NicCmd::Channels => "channels".to_string(),
            other => format!("{other:?}"),
        };
        self.log.borrow_mut().push(format!("{what} {i}"));
        self.rig.nic.set(i, v)
    }
}

impl Files for Logged<'_> {
    fn read(&self, p: &Path) -> io::Result<String> {
        self.rig.fs.read(p)
    }
    fn write(&self, p: &Path, d: &str) -> io::Result<()> {
        self.log.borrow_mut().push(format!("write {}", p.display()));
        self.rig.fs.write(p, d)
    }
    fn read_link(&self, p: &Path) -> io::Result<PathBuf> {
        self.rig.fs.read_link(p)
    }
    fn read_dir(&self, p: &Path) -> io::Result<Vec<std::ffi::OsString>> {
        self.rig.fs.read_dir(p)
    }
    fn exists(&self, p: &Path) -> bool {
        self.rig.fs.exists(p)
    }
    fn canonicalize(&self, p: &Path) -> io::Result<PathBuf> {
        self.rig.fs.canonicalize(p)
    }
    fn display(&self, p: &Path) -> PathBuf {
        self.rig.fs.display(p)
    }
    fn replace(&self, p: &Path, d: &str) -> io::Result<()> {
        self.log
            .borrow_mut()
            .push(format!("replace {}", p.display()));
        self.rig.fs.replace(p, d)
    }
    fn remove(&self, p: &Path) -> io::Result<()> {
        self.log
            .borrow_mut()
            .push(format!("remove {}", p.display()));
        self.rig.fs.remove(p)
    }
}

#[test]
fn per_nic_the_order_is_channels_then_rings_then_txqueuelen() {
    let rig = two_ixgbe();
    let logged = Logged {
        rig: &rig,
        log: RefCell::new(Vec::new()),
    };
    let (addrs, services) = (
        hosttune::testing::fake_addrs::FakeAddrs::new(),
        hosttune::testing::fake_services::FakeServices::new(),
    );
    let host = Host {
        fs: &logged,
        nic: &logged,
        addrs: &addrs,
        links: &Offline,
        services: &services,
        nft: &Offline,
    };
    let profile = parse_str("nic.toml", FULL).unwrap();
    let plan = plan_on(&host, &rig.store, &profile);
    let o = apply::run(&host, &rig.store, &plan, Origin::Apply, "t").unwrap();
    assert!(o.failure.is_none(), "{o:?}");
    assert_eq!(
        logged.log.into_inner(),
        [
            "channels eth0",
            "rings eth0",
            "write /sys/class/net/eth0/tx_queue_len",
            "channels eth1",
            "rings eth1",
            "write /sys/class/net/eth1/tx_queue_len",
        ]
    );
    // ixgbe refuses a set that drops its "other" link vector: it was carried over.
    let calls = rig.nic.set_calls();
    assert!(matches!(calls[0].request, SetRequest::Channels(c) if c.other == 1 && c.combined == 8));
    assert!(calls.iter().all(|c| c.result.is_ok()), "{calls:?}");
}

#[test]
fn a_second_apply_writes_nothing() {
    let rig = two_ixgbe();
    let o = rig.apply(&rig.plan(FULL)).unwrap();
    assert_eq!(o.done.len(), 6);
    assert_eq!(rig.nic.channels_of("eth0").unwrap().combined, 8);
    assert_eq!(rig.nic.rings_of("eth1").unwrap().rx, 4096);
    assert_eq!(rig.qlen("eth1"), 30000);
    let writes = rig.nic.set_count();

    let again = rig.plan(FULL);
    assert!(again.items().all(|i| i.status == Status::Ok), "{again:#?}");
    let o = rig.apply(&again).unwrap();
    assert!(o.snapshot.is_none() && o.done.is_empty(), "{o:?}");
    assert_eq!(rig.nic.set_count(), writes, "a second apply wrote");
}

#[test]
fn a_rounded_ring_is_clamped_and_not_written_again() {
    let rig = Rig::new(FakeNic::new().with_iface("eth0", ixgbe()), &["eth0"]);
    let text = "[[nic]]\nrings = { rx = 2047, tx = 2047 }\n";
    let o = rig.apply(&rig.plan(text)).unwrap();
    assert_eq!(o.done.len(), 1);
    assert_eq!(o.done[0].kept.as_deref(), Some("rx 2048 tx 2048"));
    let report = hosttune::report::outcome("apply", &rig.plan(text), &o);
    assert!(report.contains("clamped ring eth0"), "{report}");
    let writes = rig.nic.set_count();

    let next = rig.plan(text);
    let ring = item(&next, Kind::Ring, "eth0");
    assert_eq!(ring.status, Status::Clamped, "{ring:?}");
    assert_eq!(
        (ring.desired.as_str(), ring.live.as_str()),
        ("rx 2047 tx 2047", "rx 2048 tx 2048")
    );
    assert!(rig.apply(&next).unwrap().snapshot.is_none());
    assert_eq!(
        rig.nic.set_count(),
        writes,
        "a clamped ring was written again"
    );
}

#[test]
fn ebusy_on_a_set_undoes_every_earlier_change() {
    let rig = two_ixgbe();
    let before = (rig.nic.channels_of("eth0"), rig.nic.rings_of("eth0"));
    rig.nic.fail_next("eth1", NicOp::SetRings, Errno::EBUSY);
    let o = rig.apply(&rig.plan(FULL)).unwrap();
    let f = o.failure.as_ref().expect("the apply must fail");
    assert_eq!(
        (f.item().unwrap().kind, f.item().unwrap().object.as_str()),
        (Kind::Ring, "eth1")
    );
    let msg = f.error().unwrap().to_string();
    assert!(msg.contains("EBUSY") && msg.contains("eth1"), "{msg}");
    assert!(f.undo_errors().is_empty(), "{:?}", f.undo_errors());
    assert_eq!(
        (rig.nic.channels_of("eth0"), rig.nic.rings_of("eth0")),
        before
    );
    assert_eq!(rig.nic.channels_of("eth1").unwrap().combined, 16);
    assert_eq!((rig.qlen("eth0"), rig.qlen("eth1")), (1000, 1000));
    let report = hosttune::report::outcome("apply", &rig.plan(FULL), &o);
    assert!(report.contains("the host reads back as before"), "{report}");
}

#[test]
fn unsupported_rings_do_not_stop_the_rest() {
    let rig = Rig::new(
        FakeNic::new().with_iface("v0", Driver::Veth { queues: 8 }),
        &["v0"],
    );
    let text =
        "[[nic]]\nchannels = { rx = 4, tx = 4 }\nrings = { rx = \"max\" }\ntxqueuelen = 30000\n";
    let plan = rig.plan(text);
    assert_eq!(item(&plan, Kind::Ring, "v0").status, Status::Unsupported);
    let o = rig.apply(&plan).unwrap();
    assert!(o.failure.is_none(), "{o:?}");
    let ch = rig.nic.channels_of("v0").unwrap();
    assert_eq!((ch.rx, ch.tx), (4, 4));
    assert_eq!(rig.qlen("v0"), 30000);
}

#[test]
fn rollback_restores_rings_channels_and_txqueuelen() {
    let nic = FakeNic::new()
        .with_iface("eth0", ixgbe())
        .with_rings("eth0", 512, 256)
        .with_channels("eth0", 0, 0, 4);
    let rig = Rig::new(nic, &["eth0"]);
    let before = (rig.nic.channels_of("eth0"), rig.nic.rings_of("eth0"));
    rig.apply(&rig.plan(FULL)).unwrap();
    assert_ne!(
        (rig.nic.channels_of("eth0"), rig.nic.rings_of("eth0")),
        before
    );

    let o = rig.rollback();
    assert!(o.failure.is_none(), "{o:?}");
    assert_eq!(o.done.len(), 3);
    assert_eq!(
        (rig.nic.channels_of("eth0"), rig.nic.rings_of("eth0")),
        before
    );
    assert_eq!(rig.qlen("eth0"), 1000);
    assert_eq!(
        item(&rig.plan(FULL), Kind::Channels, "eth0").status,
        Status::Drift
    );
}
