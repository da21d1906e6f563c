//! `notrack`: VIPs and ports whose packets conntrack never sees, as one nftables table
//! (`inet hosttune_notrack`) with base chains at the raw priority on prerouting and output.
//! On an L4 balancer conntrack for VIP traffic is pure cost; GitHub's GLB director marks its
//! encapsulation port `CT --notrack` for the same reason.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use crate::host::nft::{ChainDef, Hook, NftFamily, PRIORITY_RAW, TableDef};

/// The table `notrack` owns.
pub const TABLE: &str = "hosttune_notrack";

/// One entry of `notrack`: an address, or a port of a protocol (`udp:6080`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    Addr(IpAddr),
    Port(Proto, u16),
}

/// The protocol of a port target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Proto {
    Tcp,
    Udp,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Addr(a) => write!(f, "{a}"),
            Target::Port(Proto::Tcp, p) => write!(f, "tcp:{p}"),
            Target::Port(Proto::Udp, p) => write!(f, "udp:{p}"),
        }
    }
}

impl FromStr for Target {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if let Ok(a) = s.parse::<IpAddr>() {
            return Ok(Target::Addr(a));
        }
        let port = |p: &str| match p.parse::<u16>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("{s:?}: {p:?} is not a port (1-65535)")),
        };
        match s.split_once(':') {
            Some(("udp", p)) => Ok(Target::Port(Proto::Udp, port(p)?)),
            Some(("tcp", p)) => Ok(Target::Port(Proto::Tcp, port(p)?)),
            _ => Err(format!(
                "{s:?} is neither an IP address (\"10.0.0.100\", \"2001:db8::10\") nor a \
                 port (\"udp:6080\", \"tcp:80\")"
            )),
        }
    }
}

/// The rules of one chain: packets to each address, from each address (the replies), and to
/// each port. Every packet of a flow must be untracked in both directions, so the two chains
/// hold the same rules: prerouting for what arrives, output for what this host sends.
fn rules(targets: &[Target]) -> Vec<String> {
    let ip = |a: &IpAddr| if a.is_ipv4() { "ip" } else { "ip6" };
    let mut out = Vec::new();
    for t in targets {
        if let Target::Addr(a) = t {
            out.push(format!("{} daddr {a} notrack", ip(a)));
            out.push(format!("{} saddr {a} notrack", ip(a)));
        }
    }
    for t in targets {
        match t {
            Target::Port(Proto::Udp, p) => out.push(format!("udp dport {p} notrack")),
            Target::Port(Proto::Tcp, p) => out.push(format!("tcp dport {p} notrack")),
            Target::Addr(_) => {}
        }
    }
    out
}

/// The table for `targets`. Equivalent to `nft -f` of
/// `table inet hosttune_notrack { chain prerouting { type filter hook prerouting priority
/// raw; ip daddr 10.0.0.100 notrack; ... } chain output { ... } }`.
pub fn table(targets: &[Target]) -> TableDef {
    let chain = |hook: &str| ChainDef {
        name: hook.into(),
        hook: Some(Hook {
            kind: "filter".into(),
            hook: hook.into(),
            priority: PRIORITY_RAW,
            policy: "accept".into(),
        }),
        rules: rules(targets),
    };
    TableDef {
        family: NftFamily::Inet,
        name: TABLE.into(),
        chains: vec![chain("prerouting"), chain("output")],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_and_print_back() {
        for s in ["10.0.0.100", "2001:db8::10", "udp:6080", "tcp:80"] {
            assert_eq!(s.parse::<Target>().unwrap().to_string(), s);
        }
        for bad in ["udp:0", "udp:70000", "sctp:1", "10.0.0", "udp", "udp:x"] {
            assert!(bad.parse::<Target>().is_err(), "{bad}");
        }
    }

    #[test]
    fn each_chain_untracks_both_directions_of_a_vip_and_packets_to_a_port() {
        let t: Vec<Target> = ["10.0.0.100", "2001:db8::10", "udp:6080"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let def = table(&t);
        assert_eq!(def.object(), "inet hosttune_notrack");
        let names: Vec<&str> = def.chains.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["prerouting", "output"]);
        assert_eq!(
            def.chains[0].rules,
            [
                "ip daddr 10.0.0.100 notrack",
                "ip saddr 10.0.0.100 notrack",
                "ip6 daddr 2001:db8::10 notrack",
                "ip6 saddr 2001:db8::10 notrack",
                "udp dport 6080 notrack",
            ]
        );
        assert_eq!(def.chains[0].rules, def.chains[1].rules);
        assert!(def.render().contains("priority -300; policy accept;"));
    }
}
