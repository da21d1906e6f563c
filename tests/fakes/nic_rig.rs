//! A host for `[[nic]]` library tests: `FakeNic` for the ioctls and a temp-dir root holding
//! `/sys/class/net/IFACE/{device,tx_queue_len}`, with a state dir for snapshots.
#![allow(dead_code)]

use std::path::PathBuf;

use hosttune::apply::{self, ApplyError, Outcome};
use hosttune::host::{Host, Offline, RootFs};

use hosttune::plan::{Item, Kind, Plan};
use hosttune::profile::parse_str;
use hosttune::snapshot::{Origin, Store};
use hosttune::testing::fake_addrs::FakeAddrs;
use hosttune::testing::fake_nic::FakeNic;
use hosttune::testing::fake_services::FakeServices;

pub struct Rig {
    pub dir: tempfile::TempDir,
    pub nic: FakeNic,
    pub fs: RootFs,
    pub store: Store,
    addrs: FakeAddrs,
    services: FakeServices,
}

impl Rig {
    /// A host whose sysfs lists `ifaces` (each a physical NIC with qlen 1000) and whose
    /// ioctls go to `nic`.
    pub fn new(nic: FakeNic, ifaces: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let rig = Self {
            fs: RootFs::new(dir.path().join("root")),
            store: Store::new(dir.path().join("state")),
            dir,
            nic,
            addrs: FakeAddrs::new(),
            services: FakeServices::new(),
        };
        std::fs::create_dir_all(rig.net("lo")).unwrap();
        for i in ifaces {
            std::fs::create_dir_all(rig.net(i).join("device")).unwrap();
            std::fs::write(rig.net(i).join("tx_queue_len"), "1000\n").unwrap();
        }
        rig
    }

    fn net(&self, iface: &str) -> PathBuf {
        self.dir.path().join("root/sys/class/net").join(iface)
    }

    pub fn host(&self) -> Host<'_> {
        Host {
            fs: &self.fs,
            nic: &self.nic,
            addrs: &self.addrs,
            links: &Offline,
            services: &self.services,
            nft: &Offline,
        }
    }

    /// The interface's `tx_queue_len`.
    pub fn qlen(&self, iface: &str) -> u32 {
        std::fs::read_to_string(self.net(iface).join("tx_queue_len"))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }

    /// Plans `[[nic]]` profile text against this host, with the kept values of earlier applies.
    pub fn plan(&self, text: &str) -> Plan {
        let profile = parse_str("nic.toml", text).unwrap_or_else(|e| panic!("{e}"));
        plan_on(&self.host(), &self.store, &profile)
    }

    pub fn apply(&self, plan: &Plan) -> Result<Outcome, ApplyError> {
        apply::run(&self.host(), &self.store, plan, Origin::Apply, "test")
    }

    /// Rolls back the last apply.
    pub fn rollback(&self) -> Outcome {
        let snap = self.store.load(&self.store.last_apply().unwrap()).unwrap();
        let plan = apply::rollback_plan(&self.host(), &snap);
        apply::run(&self.host(), &self.store, &plan, Origin::Rollback, "test").unwrap()
    }
}

pub fn plan_on(host: &Host, store: &Store, profile: &hosttune::profile::Profile) -> Plan {
    hosttune::plan::build(profile, host, &store.kept().unwrap())
}

/// The one item of `kind` on `object`.
pub fn item<'a>(plan: &'a Plan, kind: Kind, object: &str) -> &'a Item {
    plan.items()
        .find(|i| i.kind == kind && i.object == object)
        .unwrap_or_else(|| panic!("no {kind} {object} item in {:#?}", plan.entries))
}
