//! End-to-end L2 Direct Server Return (DSR) in network namespaces, with hosttune configuring
//! the real servers (SPEC §2 `[dsr]`, seed 003 "L2DSR VIP").
//!
//! Topology: a "switch" namespace holds bridge `br0`; four hosts, each in its own namespace,
//! hang off it through a veth pair (`eth0` in the host, `sw-<host>` on the bridge), all on
//! 192.168.16.0/24 with fixed, locally administered MACs 02:16:00:00:00:<last octet in hex>:
//! the client (.10), the load balancer (.2) and two real servers rs1 (.11) and rs2 (.12).
//! The balancer holds the VIP 192.168.16.100/32 on its `eth0` and forwards each flow to a real
//! server at layer 2 only: a netdev-family ingress chain on its `eth0` picks a real server by a
//! hash of the client's address and port (so a TCP connection stays on one server), rewrites
//! the destination MAC (and the source MAC to its own, or the bridge would learn the client's
//! MAC on the balancer's port and send the replies there) and sends the frame back out of
//! `eth0`. The real servers run `python3 -m http.server` on port 80 serving a page that names
//! the server, and answer the client directly with the VIP as source address.
//!
//! What is asserted:
//! 1. Pre-state as in the seed: each real server has the VIP on `eth0` and ARP sysctls at the
//!    kernel default 0 (written explicitly to conf/all, conf/default and conf/eth0, since a new
//!    namespace inherits IPv4 conf from the host). The client sees ARP flux: replies for the
//!    VIP from the balancer and both real servers.
//! 2. With a site profile holding only `[dsr] vips`, `hosttune audit` exits 1 (drift), `apply`
//!    exits 0, and then the VIP is on `lo` only, conf/all and conf/default have
//!    arp_ignore=1 and arp_announce=2, and `audit` exits 0.
//! 3. Only the balancer answers ARP for the VIP; 20 HTTP requests (each a new connection) all
//!    succeed and are spread over rs1 and rs2; the balancer's ingress counts forwarded requests
//!    but never a reply (replies go straight from the real servers to the client); and the
//!    client still resolves the VIP to the balancer afterwards (a real server without
//!    arp_announce=2 would ARP for the client with the VIP as sender address and take over).
//! 4. `hosttune rollback` exits 0, the VIP is back on `eth0` and not on `lo`, and the ARP
//!    sysctls read as before the apply.
//!
//! Needs root, iproute2, nftables, iputils-arping, curl and python3; every namespace and process
//! is removed when the test ends, also on failure.

use crate::common;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use common::Netns;
use tempfile::TempDir;

const VIP: &str = "192.168.16.100";
const VIP_CIDR: &str = "192.168.16.100/32";
const HTTP_REQUESTS: usize = 20;
const ARP_KEYS: [&str; 2] = ["arp_ignore", "arp_announce"];
const ARP_CONFS: [&str; 3] = ["all", "default", "eth0"];

const SITE_PROFILE: &str = r#"description = "e2e real server"
[dsr]
vips = ["192.168.16.100/32"]
"#;

/// One host on the LAN: a namespace whose `eth0` is plugged into the switch.
struct Host {
    name: &'static str,
    mac: &'static str,
    ns: Netns,
}

impl Host {
    fn sysctl(&self, key: &str) -> String {
        self.ns.sysctl(key)
    }

    /// Whether `cidr` (e.g. `192.168.16.100/32`) is configured on `dev`.
    fn has_addr(&self, dev: &str, cidr: &str) -> bool {
        let out = self.ns.ip(&["-o", "-4", "addr", "show", "dev", dev]);
        out.lines().any(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            words.windows(2).any(|w| w[0] == "inet" && w[1] == cidr)
        })
    }

    /// The ARP sysctls of conf/all, conf/default and conf/eth0, as `(key, value)` pairs.
    fn arp_sysctls(&self) -> Vec<(String, String)> {
        let mut values = Vec::new();
        for conf in ARP_CONFS {
            for key in ARP_KEYS {
                let key = format!("net.ipv4.conf.{conf}.{key}");
                let value = self.sysctl(&key);
                values.push((key, value));
            }
        }
        values
    }

    /// Writes `value` to the ARP sysctls of conf/all, conf/default and conf/eth0.
    fn set_arp_sysctls(&self, value: &str) {
        self.ns.enter(|| {
            for conf in ARP_CONFS {
                for key in ARP_KEYS {
                    let path = format!("/proc/sys/net/ipv4/conf/{conf}/{key}");
                    fs::write(&path, value)
                        .unwrap_or_else(|e| panic!("{}: {path}: {e}", self.name));
                }
            }
        })
    }
}

/// The switch and the four hosts. Dropping it kills every process left in its namespaces
/// (then each `Netns` deletes its namespace).
struct Lan {
    switch: Netns,
    client: Host,
    lb: Host,
    rs: [Host; 2],
}

impl Lan {
    fn new() -> Self {
        let switch = Netns::new("dsr-sw");
        switch.ip(&["link", "add", "br0", "type", "bridge"]);
        switch.ip(&["link", "set", "br0", "up"]);
        let plug = |name, ip, mac| plug_host(&switch, name, ip, mac);
        let lan = Lan {
            client: plug("client", "192.168.16.10", "02:16:00:00:00:0a"),
            lb: plug("lb", "192.168.16.2", "02:16:00:00:00:02"),
            rs: [
                plug("rs1", "192.168.16.11", "02:16:00:00:00:0b"),
                plug("rs2", "192.168.16.12", "02:16:00:00:00:0c"),
            ],
            switch,
        };
        wait_until("bridge ports forwarding", Duration::from_secs(5), || {
            let out = lan.switch.must("bridge", &["link", "show"]);
            out.lines()
                .filter(|l| l.contains("state forwarding"))
                .count()
                == 4
        });
        lan
    }

    fn hosts(&self) -> impl Iterator<Item = &Host> {
        [&self.client, &self.lb].into_iter().chain(self.rs.iter())
    }
}

impl Drop for Lan {
    fn drop(&mut self) {
        let namespaces = std::iter::once(&self.switch).chain(self.hosts().map(|h| &h.ns));
        for ns in namespaces {
            kill_processes_in(ns);
        }
    }
}

/// Creates namespace `name` with `eth0` (address `ip`/24, `mac`) plugged into the bridge.
fn plug_host(switch: &Netns, name: &'static str, ip: &'static str, mac: &'static str) -> Host {
    let ns = Netns::new(&format!("dsr-{name}"));
    let port = format!("sw-{name}");
    switch.ip(&[
        "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns", &ns.name,
    ]);
    switch.ip(&["link", "set", &port, "master", "br0", "up"]);
    ns.ip(&["link", "set", "eth0", "address", mac, "up"]);
    ns.ip(&["addr", "add", &format!("{ip}/24"), "dev", "eth0"]);
    Host { name, mac, ns }
}

/// Kills (SIGKILL) every process running in `ns`: all of them were started by this test.
fn kill_processes_in(ns: &Netns) {
    let Ok(out) = Command::new("ip")
        .args(["netns", "pids", &ns.name])
        .output()
    else {
        return;
    };
    for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
        let _ = Command::new("kill").args(["-KILL", pid]).output();
    }
}

/// Polls `ready` every 50 ms until it holds, panicking after `timeout`.
fn wait_until(what: &str, timeout: Duration, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        sleep(Duration::from_millis(50));
    }
}

/// The balancer's nftables ruleset: netdev ingress on `eth0`, TCP to VIP:80 is hashed per
/// flow onto a real server's MAC and sent back out of `eth0`. Two named counters:
/// `forwarded` (requests sent on to a real server) and `replies` (frames from VIP:80, which
/// must never reach the balancer with DSR).
fn balancer_ruleset(lb: &Host, rs: &[Host; 2]) -> String {
    format!(
        r#"table netdev dsr {{
	counter forwarded {{ }}
	counter replies {{ }}
	chain ingress {{
		type filter hook ingress device "eth0" priority 0; policy accept;
		ip saddr {VIP} tcp sport 80 counter name "replies"
		ip daddr {VIP} tcp dport 80 counter name "forwarded" ether saddr set {lb} ether daddr set jhash ip saddr . tcp sport mod 2 map {{ 0 : {rs1}, 1 : {rs2} }} fwd to "eth0"
	}}
}}
"#,
        lb = lb.mac,
        rs1 = rs[0].mac,
        rs2 = rs[1].mac,
    )
}

/// Packets counted so far by the named counter in the balancer's `netdev dsr` table.
fn nft_counter(lb: &Host, name: &str) -> u64 {
    let out = lb
        .ns
        .must("nft", &["list", "counter", "netdev", "dsr", name]);
    let words: Vec<&str> = out.split_whitespace().collect();
    let at = words.iter().position(|w| *w == "packets");
    let value = at
        .and_then(|i| words.get(i + 1))
        .and_then(|v| v.parse().ok());
    value.unwrap_or_else(|| panic!("no packet count in nft output:\n{out}"))
}

/// MAC addresses (lower case) that answered `arping` for the VIP from the client. Every probe
/// is a broadcast (`-b`), so every host that answers ARP for the VIP shows up.
fn arp_responders(client: &Host) -> BTreeSet<String> {
    let out = client
        .ns
        .exec("arping", &["-b", "-c", "3", "-I", "eth0", VIP]);
    let text = String::from_utf8_lossy(&out.stdout);
    // "Unicast reply from 192.168.16.100 [02:16:00:00:00:0B]  0.667ms"
    text.lines()
        .filter(|line| line.contains("reply from"))
        .filter_map(|line| Some(line.split_once('[')?.1.split_once(']')?.0.to_lowercase()))
        .collect()
}

fn macs<'a>(hosts: impl IntoIterator<Item = &'a Host>) -> BTreeSet<String> {
    hosts.into_iter().map(|h| h.mac.to_string()).collect()
}

/// A `python3 -m http.server` on port 80 of a real server, serving `index.html` that names
/// the server. Killed on drop.
struct HttpServer {
    child: Child,
    /// Holds `www/index.html` and `server.log`.
    dir: TempDir,
}

impl HttpServer {
    fn start(host: &Host) -> Self {
        let dir = TempDir::new().expect("temp dir");
        let www = dir.path().join("www");
        fs::create_dir(&www).expect("mkdir www");
        fs::write(www.join("index.html"), format!("served by {}\n", host.name))
            .expect("index.html");
        let log = fs::File::create(dir.path().join("server.log")).expect("server.log");
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &host.ns.name,
                "python3",
                "-m",
                "http.server",
                "80",
            ])
            .args(["--bind", "0.0.0.0", "--directory"])
            .arg(&www)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn python3 -m http.server");
        let mut server = HttpServer { child, dir };
        let start = Instant::now();
        loop {
            let probe = host.ns.exec(
                "curl",
                &[
                    "-sf",
                    "-o",
                    "/dev/null",
                    "--max-time",
                    "1",
                    "http://127.0.0.1/",
                ],
            );
            if probe.status.success() {
                break;
            }
            let exited = server.child.try_wait().expect("try_wait");
            if exited.is_some() || start.elapsed() > Duration::from_secs(10) {
                let log =
                    fs::read_to_string(server.dir.path().join("server.log")).unwrap_or_default();
                panic!(
                    "HTTP server on {} did not come up ({exited:?}):\n{log}",
                    host.name
                );
            }
            sleep(Duration::from_millis(100));
        }
        server
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP GET of the VIP from the client on a new connection; the body, or why it failed.
fn http_get_vip(client: &Host) -> Result<String, String> {
    let url = format!("http://{VIP}/");
    let out = client.ns.exec(
        "curl",
        &["-sS", "--connect-timeout", "2", "--max-time", "5", &url],
    );
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// Runs the hosttune binary inside a real server's namespace with its own state dir, killed
/// if it takes more than 30 seconds.
fn hosttune(rs: &Host, state: &Path, args: &[&str]) -> Output {
    let state = state.to_str().expect("utf-8 state dir");
    let mut all = vec!["-s", "KILL", "30", common::BIN, "--state-dir", state];
    all.extend_from_slice(args);
    rs.ns.exec("timeout", &all)
}

fn expect_exit(rs: &Host, state: &Path, args: &[&str], code: i32) {
    let out = hosttune(rs, state, args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "on {}: hosttune {}: expected exit {code}\nstdout:\n{}\nstderr:\n{}",
        rs.name,
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Whether the tools are installed (a loud skip, or a failure under
/// HOSTTUNE_REQUIRE_ROOT_TESTS=1, naming the missing ones and their Debian packages). arping
/// must be iputils' (the `arping` package's takes other flags and prints otherwise).
fn tools_present(test: &str) -> bool {
    if !common::tools_present(test, &["nft", "arping", "curl", "python3", "bridge"]) {
        return false;
    }
    let out = Command::new("arping").arg("-V").output();
    let text = out.map(|o| {
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
    });
    match text {
        Ok(t) if t.contains("iputils") => true,
        _ => common::skip(
            test,
            "needs iputils' arping (apt package iputils-arping), not the arping package's",
        ),
    }
}

#[test]
fn l2_dsr_real_servers_configured_by_hosttune() {
    if !common::root_tests_enabled("dsr_e2e") || !tools_present("dsr_e2e") {
        return;
    }
    let work = TempDir::new().expect("temp dir");
    let site: PathBuf = work.path().join("site.toml");
    fs::write(&site, SITE_PROFILE).expect("site.toml");
    let site = site.to_str().expect("utf-8 path");

    let lan = Lan::new();
    let (client, lb) = (&lan.client, &lan.lb);

    // The balancer: VIP on its NIC, MAC-rewriting forwarder on its ingress.
    lb.ns.ip(&["addr", "add", VIP_CIDR, "dev", "eth0"]);
    let ruleset = work.path().join("lb.nft");
    fs::write(&ruleset, balancer_ruleset(lb, &lan.rs)).expect("lb.nft");
    lb.ns
        .must("nft", &["-f", ruleset.to_str().expect("utf-8 path")]);

    // 1. Real servers as the seed leaves them: VIP on eth0, default ARP behaviour.
    let mut states = Vec::new();
    for rs in &lan.rs {
        // Explicit zeros, since a new namespace copies IPv4 conf/all and conf/default from the
        // host. Writing conf/eth0 also pins it: a later write to conf/default (by hosttune)
        // leaves it at 0, so the audit must judge max(conf/all, conf/eth0) as the kernel does.
        rs.set_arp_sysctls("0");
        rs.ns.ip(&["addr", "add", VIP_CIDR, "dev", "eth0"]);
        states.push(TempDir::new().expect("state dir"));
    }
    let before: Vec<_> = lan.rs.iter().map(Host::arp_sysctls).collect();
    let _servers: Vec<HttpServer> = lan.rs.iter().map(HttpServer::start).collect();

    let responders = arp_responders(client);
    assert!(
        responders.len() > 1,
        "expected ARP flux before hosttune, got replies from {responders:?}"
    );
    assert_eq!(
        responders,
        macs([lb, &lan.rs[0], &lan.rs[1]]),
        "ARP replies before hosttune"
    );

    // 2. hosttune on each real server: drift, apply, in sync.
    for (rs, state) in lan.rs.iter().zip(&states) {
        expect_exit(rs, state.path(), &["audit", site], 1);
        expect_exit(rs, state.path(), &["apply", site], 0);
        assert!(
            rs.has_addr("lo", VIP_CIDR),
            "{}: VIP not on lo after apply",
            rs.name
        );
        assert!(
            !rs.has_addr("eth0", VIP_CIDR),
            "{}: VIP still on eth0 after apply",
            rs.name
        );
        for conf in ["all", "default"] {
            let ignore = rs.sysctl(&format!("net.ipv4.conf.{conf}.arp_ignore"));
            let announce = rs.sysctl(&format!("net.ipv4.conf.{conf}.arp_announce"));
            assert_eq!(
                (ignore.as_str(), announce.as_str()),
                ("1", "2"),
                "{}: conf/{conf} arp_ignore, arp_announce",
                rs.name
            );
        }
        expect_exit(rs, state.path(), &["audit", site], 0);
    }

    // 3. Only the balancer answers ARP; flows are spread; replies bypass the balancer.
    assert_eq!(
        arp_responders(client),
        macs([lb]),
        "ARP replies after hosttune apply"
    );
    // Forget what the pre-state ARP exchange taught every host (the real servers learnt the
    // client's MAC from its requests), as if the entries had expired: each real server must now
    // resolve the client itself, which is where arp_announce=2 matters.
    for host in lan.hosts() {
        host.ns.ip(&["neigh", "flush", "dev", "eth0"]);
    }
    let served: Vec<String> = (0..HTTP_REQUESTS)
        .map(|i| http_get_vip(client).unwrap_or_else(|e| panic!("HTTP request {i} failed: {e}")))
        .collect();
    // A real server that ARPs for the client with the VIP as sender address (arp_announce
    // below 2) makes the client send every later flow straight to that server.
    let neigh = client.ns.ip(&["neigh", "show", VIP, "dev", "eth0"]);
    assert!(
        neigh.contains(lb.mac),
        "the client resolves the VIP to another host than the balancer ({}): {neigh}",
        lb.mac
    );
    for rs in &lan.rs {
        let expected = format!("served by {}", rs.name);
        let count = served.iter().filter(|b| **b == expected).count();
        assert!(
            count > 0,
            "{} served none of the requests: {served:?}",
            rs.name
        );
    }
    let unknown: Vec<_> = served
        .iter()
        .filter(|b| !b.starts_with("served by rs"))
        .collect();
    assert!(
        unknown.is_empty(),
        "unexpected response bodies: {unknown:?}"
    );
    let forwarded = nft_counter(lb, "forwarded");
    let replies = nft_counter(lb, "replies");
    assert!(
        forwarded >= HTTP_REQUESTS as u64,
        "the balancer forwarded only {forwarded} packets"
    );
    assert_eq!(
        replies, 0,
        "the balancer saw {replies} packets from VIP:80: replies must bypass it"
    );

    // 4. Rollback puts the seed's state back.
    for ((rs, state), before) in lan.rs.iter().zip(&states).zip(&before) {
        expect_exit(rs, state.path(), &["rollback"], 0);
        assert!(
            !rs.has_addr("lo", VIP_CIDR),
            "{}: VIP still on lo after rollback",
            rs.name
        );
        assert!(
            rs.has_addr("eth0", VIP_CIDR),
            "{}: VIP not back on eth0 after rollback",
            rs.name
        );
        assert_eq!(
            &rs.arp_sysctls(),
            before,
            "{}: ARP sysctls after rollback",
            rs.name
        );
    }
}
