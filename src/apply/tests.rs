//! Rediscovery of queue IRQs after a channel change, with a fake NIC whose channel change
//! re-creates queue IRQs in a copy of the `lb-ixgbe` fixture (eth0: 60-63, isolated 4-7),
//! as ixgbe does: two new queues get IRQs 70 and 71.

use crate::host::NicOpsExt as _;
use std::path::Path;

use nix::errno::Errno;

use super::*;
use crate::host::{ChannelParams, Files, Offline, RootFs, paths};
use crate::knobs;
use crate::plan::{Entry, Item, Kind, Status};
use crate::snapshot::Kept;
use crate::testing::fake_nic::{Driver, FakeNic};
use crate::testing::fake_services::FakeServices;
use crate::testing::fault_fs::FaultFs;
use crate::types::IfName;

const DEV: &str = "sys/devices/pci0000:00/0000:00:01.0/0000:05:00.0";

/// Channels through the fake NIC, which then "re-creates" the queue IRQs in the tree: 4 to 6
/// queues adds `eth0-TxRx-4/5` (IRQs 70, 71); back to 4 removes them. Everything else goes to
/// the real knobs.
struct Ixgbe<'a> {
    nic: &'a FakeNic,
    root: &'a Path,
}

impl SettingIo for Ixgbe<'_> {
    fn write(&self, host: &Host, s: &Setting) -> Result<(), KnobError> {
        let Setting::Channels {
            iface, combined, ..
        } = s
        else {
            return knobs::write(host, s);
        };
        let mut p = self.nic.channels(iface)?;
        p.combined = *combined;
        self.nic.set_channels(iface, &p)?;
        let text = std::fs::read_to_string(self.root.join("proc/interrupts")).unwrap();
        let mut lines: Vec<String> = text
            .lines()
            .filter(|l| !l.starts_with(" 70:") && !l.starts_with(" 71:"))
            .map(str::to_string)
            .collect();
        if *combined == 6 {
            let at = lines.iter().position(|l| l.starts_with("NMI:")).unwrap();
            for (irq, q) in [(70, 4), (71, 5)] {
                let line = format!(
                    " {irq}:{}  IR-PCI-MSI 262144{q}-edge      eth0-TxRx-{q}",
                    "          0".repeat(8)
                );
                lines.insert(at, line);
            }
        }
        std::fs::write(self.root.join("proc/interrupts"), lines.join("\n") + "\n").unwrap();
        Ok(())
    }
    fn read(&self, host: &Host, at: &Setting) -> Result<Setting, KnobError> {
        match at {
            Setting::Channels { iface, .. } => Ok(channels(iface, self.nic.channels(iface)?)),
            _ => knobs::read(host, at),
        }
    }
}

fn channels(iface: &IfName, p: ChannelParams) -> Setting {
    Setting::Channels {
        iface: iface.clone(),
        rx: p.rx,
        tx: p.tx,
        other: p.other,
        combined: p.combined,
    }
}

/// A copy of lb-ixgbe with vectors 70 and 71 allocated (msi_irqs, /proc/irq) but not
/// requested, as before the channel change.
fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hosts/lb-ixgbe");
    let ok = std::process::Command::new("cp")
        .arg("-a")
        .arg(&src)
        .arg(dir.path().join("root"))
        .status()
        .unwrap();
    assert!(ok.success());
    let root = dir.path().join("root");
    for irq in [70, 71] {
        std::fs::write(
            root.join(DEV).join("msi_irqs").join(irq.to_string()),
            "msix\n",
        )
        .unwrap();
        std::fs::create_dir_all(root.join(format!("proc/irq/{irq}"))).unwrap();
        std::fs::write(
            root.join(format!("proc/irq/{irq}/smp_affinity_list")),
            "0-7\n",
        )
        .unwrap();
    }
    dir
}

/// The plan of `irq_cpus = "isolated"` on eth0, with a channel change from 4 to 6 first.
fn plan(host: &Host, nic: &FakeNic) -> Plan {
    let p = crate::profile::parse_str(
        "t.toml",
        "[[nic]]\nmatch = \"eth0\"\nirq_cpus = \"isolated\"\n",
    )
    .unwrap();
    let mut plan = crate::plan::build(&p, host, &Kept::new());
    let iface: IfName = "eth0".parse().unwrap();
    let live = nic.channels(&iface).unwrap();
    let from = channels(&iface, live);
    let to = channels(
        &iface,
        ChannelParams {
            combined: 6,
            ..live
        },
    );
    let item = Item::new(
        Kind::Channels,
        "eth0",
        "combined 6",
        "combined 4",
        Status::Drift,
    );
    let mut e = Entry::new(item, Some(to), Some(from));
    e.iface = Some(iface);
    plan.entries.insert(0, e);
    plan
}

fn affinity(root: &Path, irq: u32) -> String {
    std::fs::read_to_string(root.join(format!("proc/irq/{irq}/smp_affinity_list"))).unwrap()
}

fn setup() -> (tempfile::TempDir, FakeNic) {
    let nic = FakeNic::new()
        .with_iface(
            "eth0",
            Driver::Ixgbe {
                ring_max: 4096,
                queues: 8,
            },
        )
        .with_channels("eth0", 0, 0, 4);
    (fixture(), nic)
}

#[test]
fn irqs_are_found_again_after_the_channel_change_and_the_snapshot_grows_first() {
    let (dir, nic) = setup();
    let root = dir.path().join("root");
    let fs = RootFs::new(&root);
    let services = FakeServices::new();
    let host = Host {
        fs: &fs,
        nic: &nic,
        addrs: &Offline,
        links: &Offline,
        services: &services,
        nft: &Offline,
    };
    let store = Store::new(dir.path().join("state"));
    let plan = plan(&host, &nic);
    assert_eq!(plan.replan.len(), 1);
    let io = Ixgbe {
        nic: &nic,
        root: &root,
    };
    let o = run_io(&host, &store, &plan, &Opts::new(Origin::Apply, "h"), &io).unwrap();
    assert!(o.failure.is_none(), "{:?}", o.failure);
    let got: Vec<String> = [60, 61, 62, 63, 70, 71]
        .iter()
        .map(|i| affinity(&root, *i))
        .collect();
    assert_eq!(got, ["4\n", "5\n", "6\n", "7\n", "4\n", "5\n"]);
    assert!(
        o.done
            .iter()
            .any(|d| d.item.object == "eth0 queue 5 irq 71")
    );
    // The snapshot on disk holds the new IRQs' priors, after the channels.
    let snap = store.load(o.snapshot.as_deref().unwrap()).unwrap();
    let addrs: Vec<String> = snap.settings.iter().map(Setting::address).collect();
    assert_eq!(addrs[0], "channels eth0");
    assert!(addrs.contains(&"irq 71".to_string()), "{addrs:?}");
    assert_eq!(addrs.iter().filter(|a| *a == "irq 60").count(), 1);

    // Rollback: channels back to 4 (IRQs 70, 71 freed: nothing to restore there), the
    // queue IRQs that remain back to their bytes.
    let rb = rollback_plan_with(&host, &snap, &io);
    let o = run_io(&host, &store, &rb, &Opts::new(Origin::Rollback, "h"), &io).unwrap();
    assert!(o.failure.is_none(), "{:?}", o.failure);
    assert_eq!(nic.channels_of("eth0").unwrap().combined, 4);
    let got: Vec<String> = [60, 61, 62, 63]
        .iter()
        .map(|i| affinity(&root, *i))
        .collect();
    assert_eq!(got, ["0\n", "1\n", "2\n", "3\n"]);
    assert_eq!(affinity(&root, 71), "0-7\n");
}

#[test]
fn a_failure_after_rediscovery_undoes_the_new_irqs_and_the_channels() {
    let (dir, nic) = setup();
    let root = dir.path().join("root");
    let real = RootFs::new(&root);
    let fs = FaultFs::new(&real).fail_writes(paths::irq(71, "smp_affinity_list"), Errno::EINVAL);
    let services = FakeServices::new();
    let host = Host {
        fs: &fs,
        nic: &nic,
        addrs: &Offline,
        links: &Offline,
        services: &services,
        nft: &Offline,
    };
    let store = Store::new(dir.path().join("state"));
    let plan = plan(&host, &nic);
    let io = Ixgbe {
        nic: &nic,
        root: &root,
    };
    let o = run_io(&host, &store, &plan, &Opts::new(Origin::Apply, "h"), &io).unwrap();
    let f = o.failure.expect("fails at irq 71");
    assert_eq!(f.item().unwrap().object, "eth0 queue 5 irq 71");
    assert!(f.undo_errors().is_empty(), "{:?}", f.undo_errors());
    assert_eq!(nic.channels_of("eth0").unwrap().combined, 4);
    assert_eq!(affinity(&root, 70), "0-7\n");
    assert_eq!(affinity(&root, 60), "0\n");
    assert!(fs.read(&paths::irq(60, "smp_affinity_list")).is_ok());
}

/// A driver that also spreads its remaining queue IRQs again on a channel change (virtio-net
/// does): IRQ 60 goes to `0-3` on every channel write.
struct Respread<'a>(Ixgbe<'a>);

impl SettingIo for Respread<'_> {
    fn write(&self, host: &Host, s: &Setting) -> Result<(), KnobError> {
        self.0.write(host, s)?;
        if matches!(s, Setting::Channels { .. }) {
            std::fs::write(self.0.root.join("proc/irq/60/smp_affinity_list"), "0-3\n").unwrap();
        }
        Ok(())
    }
    fn read(&self, host: &Host, at: &Setting) -> Result<Setting, KnobError> {
        self.0.read(host, at)
    }
}

#[test]
fn an_irq_in_sync_before_the_channel_change_is_recorded_and_rolled_back() {
    let (dir, nic) = setup();
    let root = dir.path().join("root");
    // Queue 0 is where the plan wants it (isolated 4-7: CPU 4): no write planned for it.
    std::fs::write(root.join("proc/irq/60/smp_affinity_list"), "4\n").unwrap();
    let fs = RootFs::new(&root);
    let services = FakeServices::new();
    let host = Host {
        fs: &fs,
        nic: &nic,
        addrs: &Offline,
        links: &Offline,
        services: &services,
        nft: &Offline,
    };
    let store = Store::new(dir.path().join("state"));
    let plan = plan(&host, &nic);
    let irq60 = plan
        .entries
        .iter()
        .find(|e| e.item.object == "eth0 queue 0 irq 60")
        .unwrap();
    assert_eq!(irq60.item.status, Status::Ok);
    let io = Respread(Ixgbe {
        nic: &nic,
        root: &root,
    });
    let o = run_io(&host, &store, &plan, &Opts::new(Origin::Apply, "h"), &io).unwrap();
    assert!(o.failure.is_none(), "{:?}", o.failure);
    assert_eq!(affinity(&root, 60), "4\n");
    let snap = store.load(o.snapshot.as_deref().unwrap()).unwrap();
    let held: Vec<&Setting> = snap
        .settings
        .iter()
        .filter(|s| s.address() == "irq 60")
        .collect();
    assert_eq!(
        held,
        [&Setting::IrqAffinity {
            irq: 60,
            cpus: "4".parse().unwrap()
        }],
        "the value before the apply, not the one the driver spread"
    );
    // Rollback: the channel change spreads IRQ 60 to 0-3 again; it ends where it was.
    let rb = rollback_plan_with(&host, &snap, &io);
    let o = run_io(&host, &store, &rb, &Opts::new(Origin::Rollback, "h"), &io).unwrap();
    assert!(o.failure.is_none(), "{:?}", o.failure);
    assert_eq!(nic.channels_of("eth0").unwrap().combined, 4);
    assert_eq!(affinity(&root, 60), "4\n");
}
