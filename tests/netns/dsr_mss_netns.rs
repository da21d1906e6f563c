//! `[dsr] mss` on the real kernel, inside two namespaces the test creates: a real server
//! (`srv`) with the VIP on `lo` and a client (`cli`) behind a veth pair. This kernel has no
//! ipip module, so the library runs with the real nft and address seams but fake links (the
//! fallback `tunl0` made by the fake's module load) and a temp-dir tree for the sysctls; what
//! is real is what MSS clamping needs: the table, the VIP and the TCP handshake. The
//! client's `TCP_MAXSEG` shows the SYN-ACK's MSS (less 12 bytes of timestamps), and rollback
//! leaves `nft list ruleset` as it was.

use crate::common;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;

use common::{Netns, root_tests_with};
use hosttune::apply;
use hosttune::host::netlink::Netlink;
use hosttune::host::nft::Nft;
use hosttune::host::{Host, RootFs};
use hosttune::snapshot::{Origin, Store};
use hosttune::testing::fake_links::FakeLinks;
use nix::sys::socket::{getsockopt, sockopt};

const VIP: &str = "10.77.0.100";

const PROFILE: &str = "description = \"rs\"\n[dsr]\nvips = [\"10.77.0.100\"]\nencap = \"ipip\"\n\
                       mss = 1380\n";

/// The sysctl tree the library writes ARP and rp_filter values to.
fn tree(dir: &Path) {
    for iface in ["lo", "eth0"] {
        std::fs::create_dir_all(dir.join("sys/class/net").join(iface)).unwrap();
    }
    for conf in ["all", "default", "lo", "eth0", "tunl0"] {
        let d = dir.join("proc/sys/net/ipv4/conf").join(conf);
        std::fs::create_dir_all(&d).unwrap();
        for key in ["arp_ignore", "arp_announce", "rp_filter"] {
            std::fs::write(d.join(key), "0\n").unwrap();
        }
    }
}

/// `srv` with 10.99.0.1/24 on eth0, `cli` with 10.99.0.2/24 on eth1 and the VIP routed via
/// `srv`; MTU 1500 on both ends, timestamps on (the namespace default).
fn pair() -> (Netns, Netns) {
    let srv = Netns::new("mss-srv");
    let cli = Netns::new("mss-cli");
    srv.ip(&[
        "link", "add", "eth0", "type", "veth", "peer", "name", "eth1", "netns", &cli.name,
    ]);
    srv.ip(&["addr", "add", "10.99.0.1/24", "dev", "eth0"]);
    srv.ip(&["link", "set", "eth0", "up"]);
    cli.ip(&["addr", "add", "10.99.0.2/24", "dev", "eth1"]);
    cli.ip(&["link", "set", "eth1", "up"]);
    cli.ip(&["route", "add", &format!("{VIP}/32"), "via", "10.99.0.1"]);
    for ns in [&srv, &cli] {
        assert_eq!(ns.sysctl("net.ipv4.tcp_timestamps"), "1");
    }
    (srv, cli)
}

/// The client's `TCP_MAXSEG` after a handshake with a listener at `addr` in `srv`.
fn maxseg(srv: &Netns, cli: &Netns, addr: &str) -> u32 {
    let listener = srv.enter(|| TcpListener::bind((addr, 0)).unwrap());
    let to: SocketAddr = listener.local_addr().unwrap();
    cli.enter(|| {
        let s = TcpStream::connect(to).unwrap();
        getsockopt(&s, sockopt::TcpMaxSeg).unwrap()
    })
}

/// Plans and applies (or rolls back) inside `srv` with the real nft and address seams.
fn run(srv: &Netns, root: &Path, store: &Store, rollback: bool) {
    srv.enter(|| {
        let fs = RootFs::new(root);
        let (addrs, links, nft) = (Netlink::new(), FakeLinks::new(), Nft::host());
        let host = Host {
            addrs: &addrs,
            links: &links,
            nft: &nft,
            ..Host::offline(&fs)
        };
        let (plan, origin) = if rollback {
            let snap = store.load(&store.last_apply().unwrap()).unwrap();
            (apply::rollback_plan(&host, &snap), Origin::Rollback)
        } else {
            let p = hosttune::profile::parse_str("rs.toml", PROFILE).unwrap();
            let plan = hosttune::plan::build(&p, &host, &store.kept().unwrap());
            let errors: Vec<_> = plan.errors().collect();
            assert!(errors.is_empty(), "{errors:?}");
            let item = plan
                .items()
                .find(|i| i.object == "inet hosttune_mss")
                .unwrap();
            assert_eq!(item.note.as_deref(), Some("mss 1380"));
            (plan, Origin::Apply)
        };
        let o = apply::run(&host, store, &plan, origin, "test").unwrap();
        assert!(o.failure.is_none(), "{:?}", o.failure);
    });
}

#[test]
fn syn_acks_from_the_vip_carry_the_mss_and_rollback_restores_the_ruleset() {
    let test = "syn_acks_from_the_vip_carry_the_mss_and_rollback_restores_the_ruleset";
    if !root_tests_with(test, &["nft"]) {
        return;
    }
    let (srv, cli) = pair();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    tree(&root);
    let store = Store::new(tmp.path().join("state"));
    let ruleset = srv.must("nft", &["list", "ruleset"]);

    run(&srv, &root, &store, false);
    let table = srv.must("nft", &["list", "table", "inet", "hosttune_mss"]);
    assert!(table.contains("maxseg size set 1380"), "{table}");
    assert!(srv.ip(&["-o", "addr", "show", "dev", "lo"]).contains(VIP));
    // 1380 in the SYN-ACK; the client keeps 12 bytes for timestamps.
    assert_eq!(maxseg(&srv, &cli, VIP), 1368);
    // Not a VIP: the MTU's 1460, less the same 12.
    assert_eq!(maxseg(&srv, &cli, "10.99.0.1"), 1448);

    run(&srv, &root, &store, true);
    assert_eq!(srv.must("nft", &["list", "ruleset"]), ruleset);
    assert!(!srv.ip(&["-o", "addr", "show", "dev", "lo"]).contains(VIP));
    // The same VIP without the table: the full MSS.
    srv.ip(&["addr", "add", &format!("{VIP}/32"), "dev", "lo"]);
    assert_eq!(maxseg(&srv, &cli, VIP), 1448);
}
