//! The rig the L3 DSR fake tests share: a temp-dir tree with `lo` and `eth0` (MTU 1500) as
//! the uplinks, the conf directories the kernel makes for `tunl0` and `ipip0` when they
//! appear, every ARP value 0, conf/all rp_filter as the test asks (many distributions ship
//! strict, 1) and every other rp_filter 0; a default IPv4 route through eth0; and the fake
//! link, address and nft seams.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hosttune::apply::{self, Outcome};
use hosttune::host::nft::NftFamily;
use hosttune::host::{Host, IfRoute, RootFs};
use hosttune::plan::{Plan, Status};
use hosttune::profile;
use hosttune::snapshot::{Origin, Store};
use hosttune::testing::fake_addrs::FakeAddrs;
use hosttune::testing::fake_links::FakeLinks;
use hosttune::testing::fake_nft::FakeNft;

use crate::common::fixture::tree_bytes;

fn tree(dir: &Path, rp_all: &str) {
    for iface in ["lo", "eth0"] {
        std::fs::create_dir_all(dir.join("sys/class/net").join(iface)).unwrap();
    }
    std::fs::write(dir.join("sys/class/net/eth0/mtu"), "1500\n").unwrap();
    for conf in ["all", "default", "lo", "eth0", "tunl0", "ipip0"] {
        let d = dir.join("proc/sys/net/ipv4/conf").join(conf);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("arp_ignore"), "0\n").unwrap();
        std::fs::write(d.join("arp_announce"), "0\n").unwrap();
        let rp = if conf == "all" { rp_all } else { "0" };
        std::fs::write(d.join("rp_filter"), format!("{rp}\n")).unwrap();
    }
}

pub struct Case {
    dir: tempfile::TempDir,
    fs: RootFs,
    pub addrs: FakeAddrs,
    pub links: FakeLinks,
    pub nft: FakeNft,
    pub store: Store,
}

impl Case {
    /// The rig with these links and conf/all/rp_filter = `rp_all`.
    pub fn new(links: FakeLinks, rp_all: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        tree(&dir.path().join("root"), rp_all);
        let default = IfRoute {
            iface: "eth0".parse().unwrap(),
            dst: "0.0.0.0".parse().unwrap(),
            prefix: 0,
            gateway: Some("192.168.16.1".parse().unwrap()),
            table: 254,
            metric: 0,
            protocol: 4,
            scope: 0,
        };
        Self {
            fs: RootFs::new(dir.path().join("root")),
            store: Store::new(dir.path().join("state")),
            dir,
            addrs: FakeAddrs::with_loopback()
                .iface("eth0", &["192.168.16.11/24"])
                .iface("tunl0", &[])
                .iface("ipip0", &[])
                .with_route(default),
            links,
            nft: FakeNft::new(),
        }
    }

    pub fn host(&self) -> Host<'_> {
        Host {
            addrs: &self.addrs,
            links: &self.links,
            nft: &self.nft,
            ..Host::offline(&self.fs)
        }
    }

    pub fn plan(&self, text: &str) -> Plan {
        let p = profile::parse_str("site.toml", text).unwrap();
        hosttune::plan::build(&p, &self.host(), &self.store.kept().unwrap())
    }

    pub fn run(&self, plan: &Plan, origin: Origin) -> Outcome {
        apply::run(&self.host(), &self.store, plan, origin, "test").unwrap()
    }

    pub fn rollback(&self) -> Outcome {
        let snap = self.store.load(&self.store.last_apply().unwrap()).unwrap();
        let back = apply::rollback_plan(&self.host(), &snap);
        self.run(&back, Origin::Rollback)
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    /// Every file of the tree, for byte-for-byte comparisons.
    pub fn files(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        tree_bytes(&self.root())
    }

    /// The text of hosttune's MSS table, if it is loaded.
    pub fn table(&self) -> Option<String> {
        self.nft
            .table(NftFamily::Inet, "hosttune_mss")
            .map(|t| t.text)
    }
}

/// The plan's items but ARP ones, as (object, status).
pub fn rows(plan: &Plan) -> Vec<(String, Status)> {
    plan.items()
        .filter(|i| !i.object.starts_with("arp_"))
        .map(|i| (i.object.clone(), i.status))
        .collect()
}

pub fn r(o: &str, s: Status) -> (String, Status) {
    (o.to_string(), s)
}
