//! `[dsr] mss`: connections from the VIPs advertise an MSS that fits the tunnel. The
//! client→VIP direction of L3 DSR is encapsulated by the balancer, so the client's segments
//! must fit the path MTU less the encapsulation, or they are dropped or fragmented on the way
//! (Katran issue 82, GLB issue 47). The client takes its MSS from our SYN-ACK (RFC 9293
//! section 3.7.1), so one nftables table, `inet hosttune_mss`, lowers the MSS option of
//! SYN-ACKs leaving from a VIP; a smaller one (the client's own path) is left alone.
//!
//! `mss = "auto"` is the MTU of the interface the default route of the VIPs' family leaves
//! by, less the encapsulation ([`Encap::overhead`]) and the inner IP and TCP headers.

use super::encap::{Decap, Encap, Mss};
use super::section::Vip;
use crate::host::nft::{ChainDef, Hook, NftFamily, PRIORITY_MANGLE, TableDef};
use crate::host::{AddrError, Host, IfRoute, paths};
use crate::knobs::{Entry, Item, Kind, Setting, Status};
use crate::types::IfName;

/// The table `mss` owns.
pub const TABLE: &str = "hosttune_mss";

/// The item's object, `inet hosttune_mss`.
pub const OBJECT: &str = "inet hosttune_mss";

/// RT_TABLE_MAIN: the table whose default route `auto` follows.
const MAIN: u32 = 254;

/// The smallest MSS `auto` gives (RFC 9293's IPv4 default; the profile's own lower bound).
const MIN: u32 = 536;

/// The inner IP header (20 or 40 bytes) and the TCP header without options (20).
fn headers(v6: bool) -> u32 {
    if v6 { 60 } else { 40 }
}

/// One rule per family: SYN-ACKs from the VIPs whose MSS option is above `mss` get `mss`.
/// Equivalent to `nft add rule inet hosttune_mss output ip saddr { VIPS } tcp flags & (syn |
/// ack) == syn | ack tcp option maxseg size > N tcp option maxseg size set N`.
pub fn rules(vips: &[Vip], mss: u16) -> Vec<String> {
    let mut out = Vec::new();
    for (v6, ip) in [(false, "ip"), (true, "ip6")] {
        let addrs: Vec<String> = vips
            .iter()
            .filter(|v| v.addr.is_ipv6() == v6)
            .map(|v| v.addr.to_string())
            .collect();
        let saddr = match addrs.as_slice() {
            [] => continue,
            [one] => one.clone(),
            many => format!("{{ {} }}", many.join(", ")),
        };
        out.push(format!(
            "{ip} saddr {saddr} tcp flags & (syn | ack) == syn | ack \
             tcp option maxseg size > {mss} tcp option maxseg size set {mss}"
        ));
    }
    out
}

/// The table for `vips` and `mss`: an `output` chain at the mangle priority, where the
/// SYN-ACKs of local sockets pass. Equivalent to `nft -f` of `table inet hosttune_mss { chain
/// output { type filter hook output priority mangle; ... } }`.
pub fn table(vips: &[Vip], mss: u16) -> TableDef {
    TableDef {
        family: NftFamily::Inet,
        name: TABLE.into(),
        chains: vec![ChainDef {
            name: "output".into(),
            hook: Some(Hook {
                kind: "filter".into(),
                hook: "output".into(),
                priority: PRIORITY_MANGLE,
                policy: "accept".into(),
            }),
            rules: rules(vips, mss),
        }],
    }
}

/// `auto` from an MTU: the MSS and the computation, `1500 (eth0) - 20 (ipip) - 40 = 1440`.
pub fn from_mtu(mtu: u32, iface: &IfName, encap: Encap) -> Result<(u16, String), String> {
    let (over, hdr) = (encap.overhead(), headers(encap.carries_v6()));
    let how = format!("{mtu} ({iface}) - {over} ({encap}) - {hdr}");
    match mtu.checked_sub(over + hdr) {
        Some(n) if n >= MIN => {
            let n = n.min(65495) as u16;
            Ok((n, format!("{how} = {n}")))
        }
        _ => Err(format!(
            "mss = \"auto\": {how} leaves less than {MIN} bytes; set mss to a number"
        )),
    }
}

/// The default route of the family in the main table with the lowest metric.
pub fn default_route(routes: &[IfRoute], v6: bool) -> Option<&IfRoute> {
    routes
        .iter()
        .filter(|r| r.prefix == 0 && r.dst.is_unspecified() && r.dst.is_ipv6() == v6)
        .filter(|r| r.table == MAIN)
        .min_by_key(|r| r.metric)
}

/// Why `auto` cannot be resolved: an error naming the number to set instead, or the seam's
/// unsupported answer (an offline tree).
enum AutoError {
    Unsupported(String),
    Error(String),
}

/// `auto` on this host: the default route's interface and its MTU.
fn auto(encap: Encap, host: &Host) -> Result<(u16, String), AutoError> {
    let v6 = encap.carries_v6();
    let family = if v6 { "IPv6" } else { "IPv4" };
    let routes = host.addrs.routes().map_err(|e| match e {
        AddrError::Unsupported(why) => AutoError::Unsupported(format!("mss = \"auto\": {why}")),
        e => AutoError::Error(format!("mss = \"auto\": reading the routes: {e}")),
    })?;
    let Some(route) = default_route(&routes, v6) else {
        let example = 1500 - encap.overhead() - headers(v6);
        return Err(AutoError::Error(format!(
            "mss = \"auto\" follows the {family} default route, and the main table has none: \
             set the MSS (mss = {example} for an uplink MTU of 1500)"
        )));
    };
    let path = paths::net(&route.iface, "mtu");
    let mtu = host
        .fs
        .read(&path)
        .map_err(|e| e.to_string())
        .and_then(|t| t.trim().parse::<u32>().map_err(|e| e.to_string()))
        .map_err(|e| {
            AutoError::Error(format!(
                "mss = \"auto\": the MTU of {} ({}): {e}",
                route.iface,
                host.fs.display(&path).display()
            ))
        })?;
    from_mtu(mtu, &route.iface, encap).map_err(AutoError::Error)
}

/// Plans the table for the section's VIPs; with no VIPs, its absence.
pub fn plan(mss: Mss, d: &Decap, vips: &[Vip], host: &Host) -> Entry {
    let (n, how) = match mss {
        Mss::Fixed(n) => (n, format!("mss {n}")),
        Mss::Auto => match auto(d.encap, host) {
            Ok((n, how)) => (n, format!("mss auto: {how}")),
            Err(e) => {
                let (status, why) = match e {
                    AutoError::Unsupported(w) => (Status::Unsupported, w),
                    AutoError::Error(w) => (Status::Error, w),
                };
                let item = Item::new(Kind::Nft, OBJECT, "mss auto", "-", status).note(why);
                return Entry::new(item, None, None);
            }
        },
    };
    let mut e = crate::knobs::nft::plan(host, &table(vips, n), !vips.is_empty());
    e.item.note = Some(match e.item.note.take() {
        Some(other) => format!("{how}; {other}"),
        None => how,
    });
    e
}

/// The counters a too-large MSS shows up in, by the family of the table's rules: ICMP
/// "fragmentation needed" (IPv4 destination unreachable) or "packet too big" (IPv6) that
/// balancers such as Katran and GLB forward to the real server, and the reassembly of
/// encapsulated packets the balancer had to fragment.
pub fn evidence(desired: Option<&Setting>) -> &'static [&'static str] {
    let text = match desired {
        Some(Setting::NftTable {
            contents: Some(t), ..
        }) => t.as_str(),
        _ => return &[],
    };
    if text.contains("ip6 saddr") {
        &["Icmp6InPktTooBigs", "Icmp6OutPktTooBigs", "Ip6ReasmReqds"]
    } else if text.contains("ip saddr") {
        &["IcmpInDestUnreachs", "IcmpOutDestUnreachs", "IpReasmReqds"]
    } else {
        &[]
    }
}

#[cfg(test)]
#[path = "mss_tests.rs"]
mod tests;
