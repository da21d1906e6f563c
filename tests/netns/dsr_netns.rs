//! `[dsr]` through the command line against a real kernel, inside throw-away network
//! namespaces (root and iproute2): VIPs added to `lo` over rtnetlink, a second apply that
//! writes nothing, a rollback that removes exactly what apply added, and plan-time stops that
//! change nothing. Every sysctl touched (`net.ipv4.conf.*`, `net.ipv6.conf.*`) belongs to the
//! namespace, so this machine's own configuration is never changed.

use crate::common;

use std::path::Path;
use std::process::Output;

use common::Netns;
use tempfile::TempDir;

const ARP: [&str; 6] = [
    "net.ipv4.conf.all.arp_ignore",
    "net.ipv4.conf.default.arp_ignore",
    "net.ipv4.conf.eth0.arp_ignore",
    "net.ipv4.conf.all.arp_announce",
    "net.ipv4.conf.default.arp_announce",
    "net.ipv4.conf.eth0.arp_announce",
];

/// A namespace with `lo` up and a veth pair `eth0`/`peer0` holding 10.9.0.2/24, IPv6 on, and
/// the kernel-default ARP values written explicitly (a new namespace copies IPv4 conf from
/// the host).
fn server(tag: &str) -> Netns {
    let ns = Netns::new(tag);
    ns.ip(&[
        "link", "add", "eth0", "type", "veth", "peer", "name", "peer0",
    ]);
    ns.ip(&["link", "set", "eth0", "up"]);
    ns.ip(&["link", "set", "peer0", "up"]);
    ns.ip(&["addr", "add", "10.9.0.2/24", "dev", "eth0"]);
    for k in ["all", "default", "lo"] {
        ns.must(
            "sysctl",
            &["-qw", &format!("net.ipv6.conf.{k}.disable_ipv6=0")],
        );
    }
    for k in ARP {
        ns.must("sysctl", &["-qw", &format!("{k}=0")]);
    }
    ns
}

fn hosttune(ns: &Netns, state: &Path, args: &[&str]) -> Output {
    common::hosttune().netns(ns).state(state).output(args)
}

/// Runs hosttune, asserts the exit code, returns stdout and stderr.
fn expect(ns: &Netns, state: &Path, args: &[&str], code: i32) -> (String, String) {
    let out = hosttune(ns, state, args);
    let (o, e) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert_eq!(
        out.status.code(),
        Some(code),
        "hosttune {}\nstdout:\n{o}\nstderr:\n{e}",
        args.join(" ")
    );
    (o, e)
}

/// The addresses on `dev` as `ADDR/PREFIX`.
fn addrs(ns: &Netns, dev: &str) -> Vec<String> {
    let out = ns.ip(&["-o", "addr", "show", "dev", dev]);
    out.lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let i = w.iter().position(|x| *x == "inet" || *x == "inet6")?;
            w.get(i + 1).map(|s| s.to_string())
        })
        .collect()
}

fn arp_values(ns: &Netns) -> Vec<String> {
    ARP.iter().map(|k| ns.sysctl(k)).collect()
}

fn profile(dir: &TempDir, body: &str) -> String {
    let p = dir.path().join("site.toml");
    std::fs::write(&p, format!("description = \"netns real server\"\n{body}")).unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn apply_adds_vips_to_lo_and_rollback_removes_only_those() {
    if !common::root_tests_with("dsr_netns apply", &["sysctl"]) {
        return;
    }
    let ns = server("dsr-cli");
    // One address that is no VIP and one VIP that is already in place: neither may be
    // touched by apply or rollback.
    ns.ip(&["addr", "add", "198.51.100.7/32", "dev", "lo"]);
    ns.ip(&["addr", "add", "192.0.2.11/32", "dev", "lo"]);
    let dir = TempDir::new().unwrap();
    let site = profile(
        &dir,
        "[dsr]\nvips = [\"192.0.2.10/32\", \"192.0.2.11/32\", \"2001:db8::10/128\"]\n",
    );
    let state = dir.path().join("state");
    let before_lo = addrs(&ns, "lo");
    let before_arp = arp_values(&ns);

    let (report, _) = expect(&ns, &state, &["audit", &site], 1);
    assert!(report.contains("192.0.2.10/32 on lo"), "{report}");
    let (done, _) = expect(&ns, &state, &["apply", &site], 0);
    assert!(
        done.contains("changed vip 2001:db8::10/128 on lo: absent -> present"),
        "{done}"
    );
    let lo = addrs(&ns, "lo");
    for want in [
        "192.0.2.10/32",
        "192.0.2.11/32",
        "2001:db8::10/128",
        "198.51.100.7/32",
    ] {
        assert!(lo.iter().any(|a| a == want), "{want} not on lo: {lo:?}");
    }
    assert_eq!(ns.sysctl("net.ipv4.conf.all.arp_ignore"), "1");
    assert_eq!(ns.sysctl("net.ipv4.conf.all.arp_announce"), "2");
    // conf/eth0 was written explicitly, so it keeps 0; the effective value is all's.
    assert_eq!(ns.sysctl("net.ipv4.conf.eth0.arp_ignore"), "0");
    let (report, _) = expect(&ns, &state, &["audit", &site], 0);
    assert!(
        report.contains("all=1 eth0=0 effective=1"),
        "effective value not shown:\n{report}"
    );
    let (again, _) = expect(&ns, &state, &["apply", &site], 0);
    assert!(again.contains("in sync, nothing written"), "{again}");

    expect(&ns, &state, &["rollback"], 0);
    let mut after = addrs(&ns, "lo");
    let mut before = before_lo.clone();
    after.sort();
    before.sort();
    assert_eq!(after, before, "lo after rollback");
    assert_eq!(arp_values(&ns), before_arp, "ARP sysctls after rollback");
}

#[test]
fn plan_time_stops_change_nothing() {
    if !common::root_tests_with("dsr_netns stops", &["sysctl"]) {
        return;
    }
    let ns = server("dsr-stop");
    let dir = TempDir::new().unwrap();
    let state = dir.path().join("state");
    let before_arp = arp_values(&ns);

    // IPv6 off in the namespace: an IPv6 VIP cannot be added, so nothing is.
    ns.must("sysctl", &["-qw", "net.ipv6.conf.all.disable_ipv6=1"]);
    let site = profile(
        &dir,
        "[dsr]\nvips = [\"192.0.2.10/32\", \"2001:db8::10/128\"]\n",
    );
    let (_, err) = expect(&ns, &state, &["apply", &site], 2);
    assert!(
        err.contains("vip 2001:db8::10/128 on lo: IPv6 is disabled")
            && err.contains("disable_ipv6"),
        "{err}"
    );
    assert!(!addrs(&ns, "lo").iter().any(|a| a == "192.0.2.10/32"));
    assert_eq!(arp_values(&ns), before_arp);

    // The "VIP" is eth0's own subnet address: hosttune will not take it off the interface.
    let site = profile(&dir, "[dsr]\nvips = [\"10.9.0.2/32\"]\n");
    let (_, err) = expect(&ns, &state, &["apply", &site], 2);
    assert!(
        err.contains("10.9.0.2/24 is eth0's own subnet address"),
        "{err}"
    );
    assert_eq!(
        addrs(&ns, "eth0").first().map(String::as_str),
        Some("10.9.0.2/24")
    );
    assert!(!addrs(&ns, "lo").iter().any(|a| a == "10.9.0.2/32"));
    assert_eq!(arp_values(&ns), before_arp);
}

/// `ip -o addr show dev DEV to CIDR`, the one line for that address, or `None`.
fn addr_line(ns: &Netns, dev: &str, cidr: &str) -> Option<String> {
    let out = ns.ip(&["-o", "addr", "show", "dev", dev, "to", cidr]);
    let mut lines = out.lines().map(str::to_string);
    let line = lines.next();
    assert!(lines.next().is_none(), "{cidr} twice on {dev}: {out}");
    line
}

/// The seconds `ip` shows after `what` (`valid_lft 86397sec`).
fn lifetime(line: &str, what: &str) -> u32 {
    let rest = &line[line
        .find(what)
        .unwrap_or_else(|| panic!("no {what}: {line}"))
        + what.len()..];
    let digits: String = rest
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("{what} is not finite: {line}"))
}

#[test]
fn a_vip_moved_to_lo_comes_back_with_its_attributes() {
    if !common::root_tests_with("dsr_netns attributes", &["sysctl"]) {
        return;
    }
    let ns = server("dsr-attrs");
    let v4 = "192.0.2.10/32";
    let v6 = "2001:db8::10/128";
    // As an operator puts a VIP on a NIC by hand, with attributes plain `ip addr add` would
    // not give.
    ns.ip(&[
        "addr",
        "add",
        v4,
        "dev",
        "eth0",
        "label",
        "eth0:vip",
        "scope",
        "link",
        "noprefixroute",
        "valid_lft",
        "86400",
        "preferred_lft",
        "86400",
    ]);
    ns.ip(&[
        "addr",
        "add",
        v6,
        "dev",
        "eth0",
        "nodad",
        "noprefixroute",
        "valid_lft",
        "7200",
        "preferred_lft",
        "3600",
    ]);
    let dir = TempDir::new().unwrap();
    let site = profile(&dir, &format!("[dsr]\nvips = [\"{v4}\", \"{v6}\"]\n"));
    let state = dir.path().join("state");

    expect(&ns, &state, &["apply", &site], 0);
    for cidr in [v4, v6] {
        assert_eq!(addr_line(&ns, "eth0", cidr), None, "{cidr} still on eth0");
        let on_lo = addr_line(&ns, "lo", cidr).unwrap_or_else(|| panic!("{cidr} not on lo"));
        // hosttune's own VIPs are what plain `ip addr add VIP dev lo` gives.
        for plain in ["scope global", "valid_lft forever", "preferred_lft forever"] {
            assert!(on_lo.contains(plain), "{plain:?} not in {on_lo}");
        }
        assert!(!on_lo.contains("noprefixroute"), "{on_lo}");
    }

    let (done, _) = expect(&ns, &state, &["rollback"], 0);
    assert!(
        done.contains("label eth0:vip scope link noprefixroute valid_lft"),
        "the report does not say what comes back:\n{done}"
    );
    for cidr in [v4, v6] {
        assert_eq!(addr_line(&ns, "lo", cidr), None, "{cidr} left on lo");
    }
    let back = addr_line(&ns, "eth0", v4).expect("IPv4 VIP not back on eth0");
    for want in ["eth0:vip", "scope link", "noprefixroute"] {
        assert!(back.contains(want), "{want:?} not in {back}");
    }
    for what in ["valid_lft", "preferred_lft"] {
        let left = lifetime(&back, what);
        assert!(left > 86_000 && left <= 86_400, "{what} {left}: {back}");
    }
    let back = addr_line(&ns, "eth0", v6).expect("IPv6 VIP not back on eth0");
    for want in ["nodad", "noprefixroute"] {
        assert!(back.contains(want), "{want:?} not in {back}");
    }
    let valid = lifetime(&back, "valid_lft");
    let preferred = lifetime(&back, "preferred_lft");
    assert!(valid > 7000 && valid <= 7200, "valid_lft {valid}: {back}");
    assert!(
        preferred > 3400 && preferred <= 3600,
        "preferred_lft {preferred}: {back}"
    );
}
