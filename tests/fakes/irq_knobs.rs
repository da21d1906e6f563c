//! IRQ affinity faults and irqbalance at library level, on fixture copies with a
//! fault-injecting `Files` and `FakeServices`: EIO (kernel-managed IRQ) is `unsupported` and
//! the rest applies; EINVAL fails the apply and undoes it; irqbalance `disabled` and `banned`
//! apply and roll back, and a host without systemd is `unsupported`.

use crate::common;

use std::path::PathBuf;

use common::fixture::{FixtureHost, changed};
use hosttune::apply::{self, Outcome};
use hosttune::host::{Files, Host, RootFs, ServiceState, paths};
use hosttune::plan::{Plan, Status};
use hosttune::profile::parse_str;
use hosttune::snapshot::{Kept, Origin, Store};
use hosttune::testing::fake_services::{FakeServices, ServiceCall};
use hosttune::testing::fault_fs::FaultFs;
use nix::errno::Errno;

const IRQB: &str = "irqbalance.service";
const MLX5: &str = "[[nic]]\nmatch = \"ens1f*\"\nirq_cpus = \"isolated\"\n";

fn host<'a>(fs: &'a dyn Files, services: &'a FakeServices) -> Host<'a> {
    Host {
        services,
        ..Host::offline(fs)
    }
}

fn plan(text: &str, host: &Host) -> Plan {
    let p = parse_str("site.toml", text).unwrap_or_else(|e| panic!("{e}"));
    knobs_plan(&p, host)
}

fn knobs_plan(p: &hosttune::profile::Profile, host: &Host) -> Plan {
    hosttune::plan::build(p, host, &Kept::new())
}

fn apply(host: &Host, store: &Store, plan: &Plan) -> Outcome {
    apply::run(host, store, plan, Origin::Apply, "h").unwrap()
}

fn rollback(host: &Host, store: &Store) -> Outcome {
    let snap = store.load(&store.last_apply().unwrap()).unwrap();
    let plan = apply::rollback_plan(host, &snap);
    apply::run(host, store, &plan, Origin::Rollback, "h").unwrap()
}

#[test]
fn eio_from_a_kernel_managed_irq_is_unsupported_and_the_rest_applies() {
    let h = FixtureHost::new("lb-mlx5");
    let root = RootFs::new(h.root());
    let fs = FaultFs::new(&root).fail_writes(paths::irq(93, "smp_affinity_list"), Errno::EIO);
    let services = FakeServices::new();
    let host = host(&fs, &services);
    let store = Store::new(h.state());
    let o = apply(&host, &store, &plan(MLX5, &host));
    assert!(o.failure.is_none(), "{:?}", o.failure);
    let unsupported: Vec<&str> = o
        .done
        .iter()
        .filter(|d| d.unsupported.is_some())
        .map(|d| d.item.object.as_str())
        .collect();
    assert_eq!(unsupported, ["ens1f0np0 queue 4 irq 93"]);
    assert!(o.done.iter().any(|d| {
        d.unsupported
            .as_deref()
            .is_some_and(|u| u.contains("kernel-managed"))
    }));
    assert_eq!(h.affinity(93), "4", "left as it was");
    assert_eq!(h.affinity(92), "3");
    assert_eq!(h.affinity(105), "3");
}

#[test]
fn einval_fails_the_apply_and_restores_every_byte() {
    for errno in [Errno::EINVAL, Errno::ENOSPC] {
        let h = FixtureHost::new("lb-mlx5");
        let before = h.bytes();
        let root = RootFs::new(h.root());
        let fs = FaultFs::new(&root).fail_writes(paths::irq(102, "smp_affinity_list"), errno);
        let services = FakeServices::new();
        let host = host(&fs, &services);
        let store = Store::new(h.state());
        let o = apply(&host, &store, &plan(MLX5, &host));
        let f = o.failure.expect("the apply fails");
        assert_eq!(f.item().unwrap().object, "ens1f1np1 queue 4 irq 102");
        assert!(
            f.error()
                .unwrap()
                .to_string()
                .starts_with("irq 102: write smp_affinity_list"),
            "{}",
            f.error().unwrap()
        );
        assert!(f.undo_errors().is_empty(), "{:?}", f.undo_errors());
        assert_eq!(changed(&before, &h.bytes()), Vec::<PathBuf>::new());
    }
}

#[test]
fn disabled_stops_and_disables_and_rollback_restarts() {
    let h = FixtureHost::new("lb-ixgbe");
    let fs = RootFs::new(h.root());
    let services = FakeServices::new().unit(IRQB, true, true);
    let host = host(&fs, &services);
    let store = Store::new(h.state());
    let p = plan("[irqbalance]\nmode = \"disabled\"\n", &host);
    assert_eq!(p.entries[0].item.status, Status::Drift);
    assert!(apply(&host, &store, &p).failure.is_none());
    let off = ServiceState {
        active: false,
        enabled: false,
    };
    assert_eq!(services.get(IRQB), Some(off));
    assert!(
        services
            .calls()
            .contains(&ServiceCall::SetActive(IRQB.into(), false))
    );
    let again = plan("[irqbalance]\nmode = \"disabled\"\n", &host);
    assert_eq!(again.entries[0].item.status, Status::Ok);
    assert!(rollback(&host, &store).failure.is_none());
    let on = ServiceState {
        active: true,
        enabled: true,
    };
    assert_eq!(services.get(IRQB), Some(on));
}

#[test]
fn disabled_without_the_unit_or_without_systemd() {
    let h = FixtureHost::new("lb-ixgbe");
    let fs = RootFs::new(h.root());
    let none = FakeServices::new();
    let p = plan("[irqbalance]\nmode = \"disabled\"\n", &host(&fs, &none));
    assert_eq!(p.entries[0].item.status, Status::Ok);
    assert_eq!(p.entries[0].item.note.as_deref(), Some("not installed"));
    let nosd = FakeServices::unsupported("systemd is not PID 1");
    let p = plan("[irqbalance]\nmode = \"disabled\"\n", &host(&fs, &nosd));
    assert_eq!(p.entries[0].item.status, Status::Unsupported);
    let store = Store::new(h.state());
    let o = apply(&host(&fs, &nosd), &store, &p);
    assert!(o.failure.is_none() && o.snapshot.is_none());
}

const BANNED: &str = "[[nic]]\nmatch = \"eth*\"\nirq_cpus = \"isolated\"\n\
                      [irqbalance]\nmode = \"banned\"\n";

fn banned_cycle(existing: Option<&str>, running: bool) {
    let h = FixtureHost::new("lb-ixgbe");
    let etc = h.root().join("etc/default");
    std::fs::create_dir_all(&etc).unwrap();
    if let Some(text) = existing {
        std::fs::write(etc.join("irqbalance"), text).unwrap();
    }
    let before = h.bytes();
    let fs = RootFs::new(h.root());
    let services = FakeServices::new().unit(IRQB, running, true);
    let host = host(&fs, &services);
    let store = Store::new(h.state());
    let o = apply(&host, &store, &plan(BANNED, &host));
    assert!(o.failure.is_none(), "{:?}", o.failure);
    let text = std::fs::read_to_string(etc.join("irqbalance")).unwrap();
    let kept: Vec<&str> = existing
        .unwrap_or("")
        .lines()
        .filter(|l| !l.starts_with("IRQBALANCE_BANNED_CPULIST="))
        .collect();
    for l in &kept {
        assert!(text.lines().any(|t| t == *l), "{l:?} lost: {text}");
    }
    assert!(
        text.lines().any(|l| l == "IRQBALANCE_BANNED_CPULIST=4-7"),
        "{text}"
    );
    let restarts = |s: &FakeServices| {
        s.calls()
            .iter()
            .filter(|c| matches!(c, ServiceCall::Restart(_)))
            .count()
    };
    assert_eq!(restarts(&services), usize::from(running));
    assert_eq!(
        plan(BANNED, &host).changes().count(),
        0,
        "second apply writes nothing"
    );
    assert!(rollback(&host, &store).failure.is_none());
    assert_eq!(changed(&before, &h.bytes()), Vec::<PathBuf>::new());
    assert_eq!(services.get(IRQB).unwrap().active, running);
}

#[test]
fn banned_edits_the_debian_file_keeping_other_lines_and_restarts_a_running_service() {
    banned_cycle(
        Some("# irqbalance\n#IRQBALANCE_ONESHOT=\nIRQBALANCE_BANNED_CPULIST=0\nOPTIONS=\"\"\n"),
        true,
    );
}

#[test]
fn banned_leaves_a_stopped_service_stopped() {
    banned_cycle(Some("#IRQBALANCE_BANNED_CPULIST=\n"), false);
}

#[test]
fn banned_creates_a_missing_file_and_rollback_removes_it() {
    banned_cycle(None, true);
}

#[test]
fn irq_cpus_loads_beside_the_queue_keys() {
    assert!(parse_str("a.toml", MLX5).is_ok());
    let p = parse_str(
        "b.toml",
        "[[nic]]\nmatch = \"eth0\"\nrings = { rx = 4096 }\nirq_cpus = \"2-3\"\n",
    )
    .unwrap();
    let rule = &p.nic.unwrap()[0];
    assert!(rule.rings.is_some() && rule.irq_cpus.is_some());
}
