//! `[dsr] mss` through the library with the fake link, address and nft seams and a temp-dir
//! tree: the table planned before the VIPs with the computation in its note, apply, a second
//! plan in sync, rollback removing the table, a failed load undoing the steps before it, and
//! no table touched when `mss` is not set.

use std::path::Path;

use hosttune::apply::{self, Outcome};
use hosttune::host::nft::NftFamily;
use hosttune::host::{Host, IfRoute, RootFs};
use hosttune::plan::{Plan, Status};
use hosttune::profile;
use hosttune::snapshot::{Origin, Store};
use hosttune::testing::fake_addrs::FakeAddrs;
use hosttune::testing::fake_links::FakeLinks;
use hosttune::testing::fake_nft::FakeNft;

/// `eth0` the uplink with MTU 1500; the conf directories of `lo`, `eth0` and `tunl0`.
fn tree(dir: &Path) {
    for iface in ["lo", "eth0"] {
        std::fs::create_dir_all(dir.join("sys/class/net").join(iface)).unwrap();
    }
    std::fs::write(dir.join("sys/class/net/eth0/mtu"), "1500\n").unwrap();
    for conf in ["all", "default", "lo", "eth0", "tunl0"] {
        let d = dir.join("proc/sys/net/ipv4/conf").join(conf);
        std::fs::create_dir_all(&d).unwrap();
        for key in ["arp_ignore", "arp_announce", "rp_filter"] {
            std::fs::write(d.join(key), "0\n").unwrap();
        }
    }
}

/// Every file of the tree, for byte-for-byte comparisons.
fn files(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((
                    p.display().to_string(),
                    std::fs::read_to_string(&p).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

struct Case {
    dir: tempfile::TempDir,
    fs: RootFs,
    addrs: FakeAddrs,
    links: FakeLinks,
    nft: FakeNft,
    store: Store,
}

impl Case {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        tree(&dir.path().join("root"));
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
                .with_route(default),
            links: FakeLinks::new(),
            nft: FakeNft::new(),
        }
    }

    fn host(&self) -> Host<'_> {
        Host {
            addrs: &self.addrs,
            links: &self.links,
            nft: &self.nft,
            ..Host::offline(&self.fs)
        }
    }

    fn plan(&self, text: &str) -> Plan {
        let p = profile::parse_str("site.toml", text).unwrap();
        hosttune::plan::build(&p, &self.host(), &self.store.kept().unwrap())
    }

    fn run(&self, plan: &Plan) -> Outcome {
        apply::run(&self.host(), &self.store, plan, Origin::Apply, "test").unwrap()
    }

    fn rollback(&self) -> Outcome {
        let snap = self.store.load(&self.store.last_apply().unwrap()).unwrap();
        let back = apply::rollback_plan(&self.host(), &snap);
        apply::run(&self.host(), &self.store, &back, Origin::Rollback, "test").unwrap()
    }

    fn root(&self) -> std::path::PathBuf {
        self.dir.path().join("root")
    }

    fn table(&self) -> Option<String> {
        self.nft
            .table(NftFamily::Inet, "hosttune_mss")
            .map(|t| t.text)
    }
}

fn rows(plan: &Plan) -> Vec<(String, Status)> {
    plan.items()
        .filter(|i| !i.object.starts_with("arp_"))
        .map(|i| (i.object.clone(), i.status))
        .collect()
}

fn r(o: &str, s: Status) -> (String, Status) {
    (o.to_string(), s)
}

const AUTO: &str = "description = \"rs\"\n[dsr]\nvips = [\"10.77.0.100\"]\nencap = \"ipip\"\n\
                    mss = \"auto\"\n";

#[test]
fn auto_applies_holds_and_rolls_back() {
    let c = Case::new();
    let before = files(&c.root());
    let plan = c.plan(AUTO);
    assert_eq!(
        rows(&plan),
        [
            r("tunl0 (ipip fallback)", Status::Drift),
            // conf/all is 0 here: nothing to raise or lower; the device made in this apply
            // is written explicitly.
            r("rp_filter default", Status::Ok),
            r("rp_filter lo", Status::Ok),
            r("rp_filter eth0", Status::Ok),
            r("rp_filter all", Status::Ok),
            r("rp_filter tunl0", Status::Drift),
            r("inet hosttune_mss", Status::Drift),
            r("10.77.0.100/32 on lo", Status::Drift),
        ]
    );
    let item = plan
        .items()
        .find(|i| i.object == "inet hosttune_mss")
        .unwrap();
    assert_eq!(
        item.note.as_deref(),
        Some("mss auto: 1500 (eth0) - 20 (ipip) - 40 = 1440")
    );
    let o = c.run(&plan);
    assert!(o.failure.is_none(), "{:?}", o.failure);
    let text = c.table().expect("the table is loaded");
    assert!(
        text.contains(
            "ip saddr 10.77.0.100 tcp flags & (syn | ack) == syn | ack tcp option maxseg size \
             > 1440 tcp option maxseg size set 1440"
        ),
        "{text}"
    );
    assert!(
        c.plan(AUTO).changes().next().is_none(),
        "second plan has changes"
    );

    let o = c.rollback();
    assert!(o.failure.is_none(), "{:?}", o.failure);
    assert_eq!(c.table(), None, "rollback removes the table");
    assert_eq!(files(&c.root()), before);
    assert_eq!(c.addrs.addrs("lo"), ["127.0.0.1/8", "::1/128"]);
}

#[test]
fn a_failed_load_undoes_the_device_and_rp_filter_and_adds_no_vip() {
    let c = Case::new();
    let before = files(&c.root());
    let plan = c.plan(AUTO);
    c.nft.fail_next_write("Error: Could not process rule");
    let o = c.run(&plan);
    let f = o.failure.expect("the load must fail");
    assert_eq!(f.item().unwrap().object, "inet hosttune_mss");
    assert!(f.undo_errors().is_empty(), "{:?}", f.undo_errors());
    assert_eq!(files(&c.root()), before);
    assert!(!c.links.link("tunl0").unwrap().up, "tunl0 left up");
    assert_eq!(c.addrs.addrs("lo"), ["127.0.0.1/8", "::1/128"]);
    assert_eq!(c.table(), None);
}

#[test]
fn without_mss_no_table_is_touched_and_without_a_route_auto_names_a_number() {
    let c = Case::new();
    let plan = c.plan("description = \"rs\"\n[dsr]\nvips = [\"10.77.0.100\"]\nencap = \"ipip\"\n");
    assert!(plan.items().all(|i| i.object != "inet hosttune_mss"));
    assert!(c.run(&plan).failure.is_none());
    assert!(c.nft.calls().is_empty(), "{:?}", c.nft.calls());

    let c = Case::new();
    let text = AUTO
        .replace("encap = \"ipip\"", "encap = \"ip6ip6\"")
        .replace("10.77.0.100", "2001:db8::10");
    let plan = c.plan(&text);
    // (The tree has no IPv6 conf, so the VIP is an error too.)
    let mss = plan
        .errors()
        .find(|i| i.object == "inet hosttune_mss")
        .expect("auto without an IPv6 default route is an error");
    let note = mss.note.as_deref().unwrap();
    assert!(note.contains("set the MSS (mss = 1400"), "{note}");
}
