//! The reverse-path filter rule that L3 DSR planning relies on, against the real kernel:
//! a packet for a VIP on `lo` arrives on a device whose route back to the sender leaves by
//! another interface (as a decapsulated packet arrives on `tunl0` while the client is
//! reached through the uplink). For every conf/all and device value, with and without an
//! IPv4 address on the device, the kernel delivers it exactly when
//! `dsr::rp_filter_passes` says so, and `IPReversePathFilter` counts each drop.

use crate::common;

use common::{Netns, root_tests_with};
use hosttune::knobs::dsr::rp_filter_passes;

/// A counter of `/proc/net/snmp` or `/proc/net/netstat` inside the namespace (`Udp`
/// `NoPorts`, `TcpExt` `IPReversePathFilter`).
fn counter(ns: &Netns, file: &str, group: &str, name: &str) -> u64 {
    let text = ns.must("cat", &[file]);
    let mut lines = text.lines().filter(|l| l.starts_with(&format!("{group}:")));
    let (Some(head), Some(vals)) = (lines.next(), lines.next()) else {
        panic!("{file}: no {group} lines");
    };
    let at = head
        .split_whitespace()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("{file}: no {group} {name}"));
    vals.split_whitespace().nth(at).unwrap().parse().unwrap()
}

#[test]
fn decapsulated_packets_pass_the_reverse_path_filter_as_the_model_says() {
    const TEST: &str = "decapsulated_packets_pass_the_reverse_path_filter_as_the_model_says";
    if !root_tests_with(TEST, &["ip", "bash"]) {
        return;
    }
    // sender: s0 10.9.1.1 -> rs b0 (the "tunnel": no address, or 10.9.3.2);
    // rs reaches 10.9.1.0/24 back through b1 -> other.
    let sender = Netns::new("rps");
    let rs = Netns::new("rpr");
    let other = Netns::new("rpo");
    common::run(
        "ip",
        &[
            "link",
            "add",
            "s0",
            "netns",
            &sender.name,
            "type",
            "veth",
            "peer",
            "b0",
            "netns",
            &rs.name,
        ],
    );
    common::run(
        "ip",
        &[
            "link",
            "add",
            "b1",
            "netns",
            &rs.name,
            "type",
            "veth",
            "peer",
            "o1",
            "netns",
            &other.name,
        ],
    );
    sender.ip(&["addr", "add", "10.9.1.1/24", "dev", "s0"]);
    sender.ip(&["link", "set", "s0", "up"]);
    rs.ip(&["link", "set", "b0", "up"]);
    rs.ip(&["addr", "add", "10.9.2.2/24", "dev", "b1"]);
    rs.ip(&["link", "set", "b1", "up"]);
    rs.ip(&[
        "route",
        "add",
        "10.9.1.0/24",
        "via",
        "10.9.2.1",
        "dev",
        "b1",
    ]);
    rs.ip(&["addr", "add", "10.9.9.9/32", "dev", "lo"]);
    other.ip(&["addr", "add", "10.9.2.1/24", "dev", "o1"]);
    other.ip(&["link", "set", "o1", "up"]);
    // The sender reaches the VIP straight through s0, with b0's MAC (no ARP needed).
    let mac = rs.must("cat", &["/sys/class/net/b0/address"]);
    sender.ip(&["route", "add", "10.9.9.9/32", "dev", "s0"]);
    sender.ip(&[
        "neigh",
        "add",
        "10.9.9.9",
        "lladdr",
        mac.trim(),
        "dev",
        "s0",
    ]);
    let set = |iface: &str, v: u8| {
        rs.must(
            "sysctl",
            &["-qw", &format!("net.ipv4.conf.{iface}.rp_filter={v}")],
        );
    };
    let mut seen = Vec::new();
    for addr in [false, true] {
        if addr {
            rs.ip(&["addr", "add", "10.9.3.2/24", "dev", "b0"]);
        }
        for all in 0..=2u8 {
            for dev in 0..=2u8 {
                set("all", all);
                set("b0", dev);
                let delivered = counter(&rs, "/proc/net/snmp", "Udp", "NoPorts");
                let dropped = counter(&rs, "/proc/net/netstat", "TcpExt", "IPReversePathFilter");
                // One UDP datagram to a closed port of the VIP: delivered ones count NoPorts.
                sender.must("bash", &["-c", "echo x > /dev/udp/10.9.9.9/9"]);
                std::thread::sleep(std::time::Duration::from_millis(50));
                let d = counter(&rs, "/proc/net/snmp", "Udp", "NoPorts") - delivered;
                let r =
                    counter(&rs, "/proc/net/netstat", "TcpExt", "IPReversePathFilter") - dropped;
                let want = rp_filter_passes(all, dev, addr);
                seen.push(format!(
                    "all={all} dev={dev} addr={addr}: delivered {d}, dropped {r}"
                ));
                assert_eq!(
                    (d, r),
                    if want { (1, 0) } else { (0, 1) },
                    "all={all} b0={dev} address={addr}: the kernel disagrees with the model\n{}",
                    seen.join("\n")
                );
            }
        }
    }
    eprintln!("{}", seen.join("\n"));
}
