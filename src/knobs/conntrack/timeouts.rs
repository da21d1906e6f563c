//! `timeouts`: conntrack's per-protocol timeouts, `net.netfilter.nf_conntrack_<proto>_timeout`
//! and `..._timeout_<state>` sysctls (per network namespace). Names are checked against the
//! kernel's list (Documentation/networking/nf_conntrack-sysctl.rst) while loading.

use crate::sysctl::SysctlKey;

/// Every timeout the kernel documents, as the profile names it: `<proto>` or
/// `<proto>_<state>`. DCCP's are gone from kernels that removed DCCP (6.16 and later); an
/// absent key is skipped with a note, as is every key while nf_conntrack is not loaded.
pub const NAMES: &[&str] = &[
    "generic",
    "icmp",
    "icmpv6",
    "udp",
    "udp_stream",
    "gre",
    "gre_stream",
    "tcp_syn_sent",
    "tcp_syn_recv",
    "tcp_established",
    "tcp_fin_wait",
    "tcp_close_wait",
    "tcp_last_ack",
    "tcp_time_wait",
    "tcp_close",
    "tcp_max_retrans",
    "tcp_unacknowledged",
    "sctp_closed",
    "sctp_cookie_wait",
    "sctp_cookie_echoed",
    "sctp_established",
    "sctp_shutdown_sent",
    "sctp_shutdown_recd",
    "sctp_shutdown_ack_sent",
    "sctp_heartbeat_sent",
    "dccp_request",
    "dccp_respond",
    "dccp_partopen",
    "dccp_open",
    "dccp_closereq",
    "dccp_closing",
    "dccp_timewait",
];

/// The largest timeout the kernel stores: seconds kept as an `int` of jiffies, at up to
/// 1000 Hz.
pub const MAX_SECONDS: u32 = (i32::MAX / 1000) as u32;

/// The sysctl of a documented timeout name (`tcp_established` →
/// `net.netfilter.nf_conntrack_tcp_timeout_established`), or why the name is not one.
pub fn key(name: &str) -> Result<SysctlKey, String> {
    if !NAMES.contains(&name) {
        return Err(format!(
            "{name:?} is not a conntrack timeout; known: {}",
            NAMES.join(", ")
        ));
    }
    let file = match name.split_once('_') {
        Some((proto, state)) => format!("nf_conntrack_{proto}_timeout_{state}"),
        None => format!("nf_conntrack_{name}_timeout"),
    };
    SysctlKey::from_segments(["net".into(), "netfilter".into(), file]).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_the_kernel_s_keys() {
        assert_eq!(
            key("tcp_established").unwrap().to_string(),
            "net.netfilter.nf_conntrack_tcp_timeout_established"
        );
        assert_eq!(
            key("udp").unwrap().to_string(),
            "net.netfilter.nf_conntrack_udp_timeout"
        );
        assert_eq!(
            key("udp_stream").unwrap().to_string(),
            "net.netfilter.nf_conntrack_udp_timeout_stream"
        );
        assert_eq!(
            key("sctp_shutdown_ack_sent").unwrap().to_string(),
            "net.netfilter.nf_conntrack_sctp_timeout_shutdown_ack_sent"
        );
        assert!(
            key("tcp_establised")
                .unwrap_err()
                .contains("tcp_established")
        );
        assert!(key("frag6").is_err());
    }

    /// Every name is a key this kernel has, where it has conntrack (DCCP's aside).
    #[test]
    fn names_are_keys_of_the_running_kernel() {
        let dir = std::path::Path::new("/proc/sys/net/netfilter");
        if !dir.join("nf_conntrack_max").exists() {
            return;
        }
        for n in NAMES.iter().filter(|n| !n.starts_with("dccp_")) {
            let k = key(n).unwrap();
            let file = dir.join(&k.segments()[2]);
            assert!(file.exists(), "{n}: {}", file.display());
        }
    }
}
