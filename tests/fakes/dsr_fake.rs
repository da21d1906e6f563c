//! `[dsr]` through the library with a fake address seam ([`FakeAddrs`]) and a temp-dir
//! [`RootFs`]: plan statuses, apply order (ARP, adds on lo, removals), rollback of a moved
//! VIP, and an injected add failure that undoes the ARP writes made before it.

use std::path::Path;

use hosttune::apply::{self, Outcome};
use hosttune::host::{AddrAttrs, AddrFlags, AddrScope, Files, Host, RootFs};
use hosttune::knobs;
use hosttune::plan::{Plan, Setting, Status};
use hosttune::profile;
use hosttune::snapshot::{Origin, Store};
use hosttune::testing::fake_addrs::{AddrCall, AddrOp, FakeAddrs};
use nix::errno::Errno;

const CONFS: [&str; 4] = ["all", "default", "lo", "eth0"];

/// A tree with `eth0` as the only uplink and every ARP value 0.
fn tree(dir: &Path) {
    for iface in ["lo", "eth0"] {
        std::fs::create_dir_all(dir.join("sys/class/net").join(iface)).unwrap();
    }
    for conf in CONFS {
        let d = dir.join("proc/sys/net/ipv4/conf").join(conf);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("arp_ignore"), "0\n").unwrap();
        std::fs::write(d.join("arp_announce"), "0\n").unwrap();
    }
    for conf in ["all", "lo"] {
        let d = dir.join("proc/sys/net/ipv6/conf").join(conf);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("disable_ipv6"), "0\n").unwrap();
    }
}

fn arp_files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for conf in CONFS {
        for key in ["arp_ignore", "arp_announce"] {
            let p = dir.join("proc/sys/net/ipv4/conf").join(conf).join(key);
            out.push(std::fs::read_to_string(p).unwrap());
        }
    }
    out
}

struct Case {
    dir: tempfile::TempDir,
    fs: RootFs,
    addrs: FakeAddrs,
    store: Store,
}

impl Case {
    fn new(addrs: FakeAddrs) -> Self {
        let dir = tempfile::tempdir().unwrap();
        tree(&dir.path().join("root"));
        Self {
            fs: RootFs::new(dir.path().join("root")),
            store: Store::new(dir.path().join("state")),
            dir,
            addrs,
        }
    }

    fn host(&self) -> Host<'_> {
        Host {
            addrs: &self.addrs,
            ..Host::offline(&self.fs)
        }
    }

    fn plan(&self, text: &str) -> Plan {
        let mut p = profile::parse_str("site.toml", text).unwrap();
        p.name = "site".into();
        hosttune::plan::build(&p, &self.host(), &self.store.kept().unwrap())
    }

    fn run(&self, plan: &Plan, origin: Origin) -> Outcome {
        apply::run(&self.host(), &self.store, plan, origin, "test").unwrap()
    }

    fn root(&self) -> std::path::PathBuf {
        self.dir.path().join("root")
    }
}

fn statuses(plan: &Plan) -> Vec<(String, Status)> {
    plan.items().map(|i| (i.object.clone(), i.status)).collect()
}

fn ip(s: &str) -> std::net::IpAddr {
    s.parse().unwrap()
}

const SITE: &str = "description = \"s\"\n[dsr]\nvips = [\"192.168.16.100/32\"]\n";

#[test]
fn plan_statuses_for_vips_in_every_place() {
    let addrs = FakeAddrs::new()
        .iface("lo", &["127.0.0.1/8", "::1/128", "10.0.0.5/24"])
        .iface("eth0", &["192.168.16.11/24", "192.168.16.100/32"])
        .iface("eth1", &["2001:db8::5/64"]);
    let c = Case::new(addrs);
    let text = "description = \"s\"\n[dsr]\nvips = [\"192.168.16.100/32\", \"2001:db8::5/128\", \"10.0.0.5/32\"]\narp_ignore = 0\narp_announce = 0\n";
    let plan = c.plan(text);
    let want = [
        ("arp_ignore all", Status::Ok),
        ("arp_ignore default", Status::Ok),
        ("arp_ignore eth0", Status::Ok),
        ("arp_announce all", Status::Ok),
        ("arp_announce default", Status::Ok),
        ("arp_announce eth0", Status::Ok),
        ("192.168.16.100/32 on lo", Status::Drift),
        ("2001:db8::5/128 on lo", Status::Drift),
        ("10.0.0.5/32 on lo", Status::Error),
        ("192.168.16.100/32 on eth0", Status::Drift),
        ("2001:db8::5/64 on eth1", Status::Error),
    ];
    let want: Vec<(String, Status)> = want.iter().map(|(o, s)| (o.to_string(), *s)).collect();
    assert_eq!(statuses(&plan), want);
    // A plan with an error stops before any write.
    let err = apply::run(&c.host(), &c.store, &plan, Origin::Apply, "t").unwrap_err();
    assert!(err.to_string().contains("10.0.0.5/24"), "{err}");
    assert!(c.addrs.calls().iter().all(|call| *call == AddrCall::List));
}

#[test]
fn apply_moves_the_vip_to_lo_and_rollback_puts_it_back() {
    let c = Case::new(
        FakeAddrs::with_loopback().iface("eth0", &["192.168.16.11/24", "192.168.16.100/32"]),
    );
    let before = arp_files(&c.root());
    let plan = c.plan(SITE);
    let o = c.run(&plan, Origin::Apply);
    assert!(o.failure.is_none(), "{:?}", o.failure);
    assert_eq!(o.done.len(), 6, "4 ARP writes, one add, one removal");
    assert_eq!(
        c.addrs.addrs("lo"),
        ["127.0.0.1/8", "::1/128", "192.168.16.100/32"]
    );
    assert_eq!(c.addrs.addrs("eth0"), ["192.168.16.11/24"]);
    // Added on lo before it leaves eth0: the host never stops accepting the VIP.
    let writes: Vec<AddrCall> = c
        .addrs
        .calls()
        .into_iter()
        .filter(|call| *call != AddrCall::List)
        .collect();
    let lo = "lo".parse().unwrap();
    let eth0 = "eth0".parse().unwrap();
    assert_eq!(
        writes,
        [
            AddrCall::Add(lo, ip("192.168.16.100"), 32, AddrAttrs::default()),
            AddrCall::Del(eth0, ip("192.168.16.100"), 32)
        ]
    );
    assert_eq!(
        c.fs.read(Path::new("/proc/sys/net/ipv4/conf/all/arp_announce"))
            .unwrap(),
        "2\n"
    );
    assert!(
        c.plan(SITE).changes().next().is_none(),
        "second plan has changes"
    );

    let snap = c.store.load(&c.store.last_apply().unwrap()).unwrap();
    let back = apply::rollback_plan(&c.host(), &snap);
    let o = c.run(&back, Origin::Rollback);
    assert!(o.failure.is_none(), "{:?}", o.failure);
    assert_eq!(c.addrs.addrs("lo"), ["127.0.0.1/8", "::1/128"]);
    assert_eq!(
        c.addrs.addrs("eth0"),
        ["192.168.16.11/24", "192.168.16.100/32"]
    );
    assert_eq!(arp_files(&c.root()), before);
}

#[test]
fn a_failed_add_undoes_the_arp_writes_before_it() {
    let c = Case::new(FakeAddrs::with_loopback().iface("eth0", &["192.168.16.100/32"]));
    let before = arp_files(&c.root());
    let plan = c.plan(SITE);
    c.addrs.fail_next(AddrOp::Add, Errno::EPERM);
    let o = c.run(&plan, Origin::Apply);
    let f = o.failure.expect("the add must fail");
    assert_eq!(f.item().unwrap().object, "192.168.16.100/32 on lo");
    assert!(
        f.error().unwrap().to_string().contains("EPERM"),
        "{}",
        f.error().unwrap()
    );
    assert!(f.undo_errors().is_empty(), "{:?}", f.undo_errors());
    assert_eq!(o.done.len(), 4, "the ARP writes came first");
    assert_eq!(arp_files(&c.root()), before, "ARP writes not undone");
    assert_eq!(c.addrs.addrs("lo"), ["127.0.0.1/8", "::1/128"]);
    assert_eq!(c.addrs.addrs("eth0"), ["192.168.16.100/32"], "removal ran");
}

#[test]
fn ipv6_vips_are_judged_after_the_profile_sysctls() {
    let c = Case::new(FakeAddrs::with_loopback());
    for conf in ["all", "lo"] {
        let p = c.root().join("proc/sys/net/ipv6/conf").join(conf);
        std::fs::write(p.join("disable_ipv6"), "1\n").unwrap();
    }
    let vip = "[dsr]\nvips = [\"2001:db8::100/128\"]\n";
    let plan = c.plan(&format!("description = \"s\"\n{vip}"));
    let item = plan.items().last().unwrap();
    assert_eq!(
        (item.object.as_str(), item.status),
        ("2001:db8::100/128 on lo", Status::Error)
    );
    assert!(
        item.note
            .as_deref()
            .unwrap()
            .contains("disable_ipv6 = 1, live")
    );
    // Writing conf/all = 0 in [sysctl] (which applies first) turns IPv6 on for lo too.
    let text =
        format!("description = \"s\"\n[sysctl]\n\"net.ipv6.conf.all.disable_ipv6\" = 0\n{vip}");
    let plan = c.plan(&text);
    assert_eq!(plan.items().last().unwrap().status, Status::Drift);
}

#[test]
fn a_conflicting_sysctl_for_the_same_arp_key_is_an_error() {
    let c = Case::new(FakeAddrs::with_loopback());
    let text = "description = \"s\"\n[sysctl]\n\"net.ipv4.conf.all.arp_ignore\" = 2\n\"net.ipv4.conf.default.arp_announce\" = 2\n[dsr]\n";
    let plan = c.plan(text);
    let errors: Vec<&str> = plan.errors().map(|i| i.object.as_str()).collect();
    assert_eq!(errors, ["arp_ignore all"]);
    let note = plan.errors().next().unwrap().note.clone().unwrap();
    assert!(
        note.contains("[sysctl] sets net.ipv4.conf.all.arp_ignore = 2"),
        "{note}"
    );
}

/// What an operator's `ip addr add 192.0.2.10/32 dev eth0 label eth0:vip scope link
/// noprefixroute valid_lft 86400 preferred_lft 86400` leaves on the address.
fn operator_attrs() -> AddrAttrs {
    AddrAttrs {
        label: Some("eth0:vip".into()),
        flags: AddrFlags::NOPREFIXROUTE,
        scope: Some(AddrScope(253)),
        valid_lft: Some(86_400),
        preferred_lft: Some(86_400),
    }
}

#[test]
fn a_moved_vip_is_recorded_and_restored_with_its_attributes() {
    let c = Case::new(
        FakeAddrs::with_loopback()
            .iface("eth0", &["192.168.16.11/24", "192.0.2.10/32"])
            .with_attrs("eth0", "192.0.2.10/32", operator_attrs()),
    );
    let site = "description = \"s\"\n[dsr]\nvips = [\"192.0.2.10/32\"]\n";
    let o = c.run(&c.plan(site), Origin::Apply);
    assert!(o.failure.is_none(), "{:?}", o.failure);
    // hosttune's own VIP on lo is a plain `ip addr add`.
    assert_eq!(
        c.addrs.attrs_of("lo", "192.0.2.10/32"),
        Some(AddrAttrs::default())
    );
    assert_eq!(c.addrs.attrs_of("eth0", "192.0.2.10/32"), None);

    let snap = c.store.load(&c.store.last_apply().unwrap()).unwrap();
    let recorded: Vec<&Setting> = snap
        .settings
        .iter()
        .filter(|s| matches!(s, Setting::Vip { .. }))
        .collect();
    let eth0: hosttune::types::IfName = "eth0".parse().unwrap();
    let want = Setting::Vip {
        iface: eth0.clone(),
        addr: ip("192.0.2.10"),
        prefix: 32,
        present: true,
        attrs: operator_attrs(),
    };
    assert_eq!(recorded[1], &want);

    let back = apply::rollback_plan(&c.host(), &snap);
    let item = back
        .items()
        .find(|i| i.object == "192.0.2.10/32 on eth0")
        .unwrap();
    assert_eq!(
        (item.desired.as_str(), item.live.as_str()),
        (
            "present (label eth0:vip scope link noprefixroute valid_lft 86400 preferred_lft 86400)",
            "absent"
        )
    );
    let o = c.run(&back, Origin::Rollback);
    assert!(o.failure.is_none(), "{:?}", o.failure);
    assert_eq!(
        c.addrs.attrs_of("eth0", "192.0.2.10/32"),
        Some(operator_attrs())
    );
    assert_eq!(c.addrs.attrs_of("lo", "192.0.2.10/32"), None);
    assert!(
        c.addrs
            .calls()
            .contains(&AddrCall::Add(eth0, ip("192.0.2.10"), 32, operator_attrs()))
    );
    // Attributes are restored, not audited: the lifetimes count down, the VIP is in place.
    assert!(
        apply::rollback_plan(&c.host(), &snap)
            .changes()
            .next()
            .is_none()
    );
}

#[test]
fn a_vip_recorded_before_attributes_existed_loads_as_a_plain_address() {
    let old = r#"{"kind":"vip","iface":"eth0","addr":"192.0.2.10","prefix":32,"present":true}"#;
    let s: Setting = serde_json::from_str(old).unwrap();
    let Setting::Vip { attrs, .. } = &s else {
        panic!("{s:?}")
    };
    assert!(attrs.is_default());
    // Written back the same, so an older hosttune still reads what this one writes.
    let again: serde_json::Value = serde_json::to_value(&s).unwrap();
    assert_eq!(
        again,
        serde_json::from_str::<serde_json::Value>(old).unwrap()
    );

    let c = Case::new(FakeAddrs::with_loopback().iface("eth0", &[]));
    knobs::write(&c.host(), &s).unwrap();
    let eth0 = "eth0".parse().unwrap();
    assert_eq!(
        c.addrs.calls(),
        [AddrCall::Add(
            eth0,
            ip("192.0.2.10"),
            32,
            AddrAttrs::default()
        )]
    );
    assert_eq!(
        c.addrs.attrs_of("eth0", "192.0.2.10/32"),
        Some(AddrAttrs::default())
    );
}
