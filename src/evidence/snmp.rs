//! `/proc/net/snmp`: the RFC 1213 MIB counters (`Ip`, `Icmp`, `Tcp`, `Udp`, `UdpLite`),
//! parsed by the maintained procfs-core crate into typed fields.
//!
//! procfs-core requires every field it knows, and a kernel older or newer than its list may
//! lack one (it insists on `Udp: IgnoredMulti`, which 3.x kernels before 3.19 do not print);
//! the file has the same header-and-values layout as `/proc/net/netstat`, so such a file is
//! read by name with that parser instead of giving up the counter.

use std::collections::BTreeMap;

use procfs_core::FromRead;
use procfs_core::net::Snmp;

/// The counters of `/proc/net/snmp` that evidence uses, by nstat name (`UdpRcvbufErrors`).
pub fn parse(text: &str) -> Result<BTreeMap<String, u64>, String> {
    match Snmp::from_read(text.as_bytes()) {
        Ok(s) => Ok([
            ("UdpRcvbufErrors", s.udp_rcvbuf_errors),
            ("UdpInErrors", s.udp_in_errors),
            ("UdpSndbufErrors", s.udp_sndbuf_errors),
            ("TcpRetransSegs", s.tcp_retrans_segs),
            ("TcpInErrs", s.tcp_in_errs),
            ("IcmpInDestUnreachs", s.icmp_in_dest_unreachs),
            ("IcmpOutDestUnreachs", s.icmp_out_dest_unreachs),
            ("IpReasmReqds", s.ip_reasm_reqds),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()),
        Err(crate_err) => super::netstat::parse(text)
            .map_err(|e| format!("{e} (procfs-core: {crate_err})"))
            .map(|m| m.into_iter().filter(|(k, _)| wanted(k)).collect()),
    }
}

fn wanted(k: &str) -> bool {
    matches!(
        k,
        "UdpRcvbufErrors"
            | "UdpInErrors"
            | "UdpSndbufErrors"
            | "TcpRetransSegs"
            | "TcpInErrs"
            | "IcmpInDestUnreachs"
            | "IcmpOutDestUnreachs"
            | "IpReasmReqds"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SNMP_6_18: &str = include_str!("../../tests/fixtures/proc-net/6.18/snmp");

    #[test]
    fn procfs_core_reads_a_6_18_file() {
        let m = parse(SNMP_6_18).unwrap();
        assert_eq!(m["UdpRcvbufErrors"], 1234);
        assert_eq!(m["IcmpInDestUnreachs"], 1);
        assert_eq!(m.len(), 8);
    }

    #[test]
    fn a_file_procfs_core_refuses_is_read_by_name() {
        // A 3.10 kernel: no Udp IgnoredMulti yet.
        let old = "Ip: Forwarding DefaultTTL\nIp: 1 64\n\
                   Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors\n\
                   Udp: 10 0 0 10 42 0\n";
        let m = parse(old).unwrap();
        assert_eq!(m["UdpRcvbufErrors"], 42);
        assert!(!m.contains_key("IpDefaultTTL"));
    }
}
