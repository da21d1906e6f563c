//! Which kernel counters show whether an item's setting matters (pure). The table:
//!
//! | setting | counters |
//! |---|---|
//! | `net.core.somaxconn`, `net.ipv4.tcp_max_syn_backlog` | `TcpExtListenOverflows`, `TcpExtListenDrops` |
//! | `net.core.netdev_max_backlog` | softnet_stat `dropped`, per CPU |
//! | `net.core.netdev_budget`, `netdev_budget_usecs` | softnet_stat `time_squeeze`, per CPU |
//! | rings, channels | the interface's `rx_missed_errors`, `rx_dropped`, `rx_fifo_errors` |
//! | `net.netfilter.nf_conntrack_max` | nf_conntrack `drop`, `early_drop`, `insert_failed` |
//! | `net.ipv4.tcp_max_orphans` | `TcpExtTCPAbortOnMemory` |
//! | `net.ipv4.tcp_max_tw_buckets` | `TcpExtTCPTimeWaitOverflow` |
//! | `net.core.rmem_max`, `rmem_default`, `net.ipv4.udp_rmem_min` | `UdpRcvbufErrors` |
//! | `net.ipv4.tcp_rmem` | `TcpExtTCPRcvQDrop` |
//! | IRQ affinity | the queue IRQ's interrupts on CPUs outside `irq_cpus` |
//! | pause frames | the driver's pause-frame counters (`ethtool -S`), those it has |
//! | `[dsr] mss` (IPv4 VIPs) | `IcmpInDestUnreachs`, `IcmpOutDestUnreachs`, `IpReasmReqds` |
//! | `[dsr] mss` (IPv6 VIPs) | `Icmp6InPktTooBigs`, `Icmp6OutPktTooBigs`, `Ip6ReasmReqds` |
//!
//! `TcpExtTCPAbortOnMemory` is the one counter of orphan overflows: the kernel's "too many
//! orphaned sockets" path (`tcp_out_of_resources`, `tcp_close`) counts there; there is no
//! separate orphan-overflow MIB.

use std::collections::BTreeMap;

use crate::cpulist::CpuList;
use crate::knobs::dsr::mss;
use crate::knobs::nic::EvidenceHint;
use crate::knobs::registry::nic_knob;
use crate::knobs::{Entry, Kind, Setting};
use crate::sysctl::SysctlKey;
use crate::types::IfName;

/// Where a counter comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A MIB counter of `/proc/net/netstat` or `/proc/net/snmp`, by nstat name.
    Mib(&'static str),
    /// A softnet_stat column, per CPU.
    Softnet(SoftnetColumn),
    /// A column of `/proc/net/stat/nf_conntrack`, summed over the CPUs.
    Conntrack(&'static str),
    /// `/sys/class/net/IFACE/statistics/STAT`.
    Nic { iface: IfName, stat: &'static str },
    /// Interrupts of one IRQ counted on CPUs outside `cpus`, per CPU.
    IrqOutside { irq: u32, cpus: CpuList },
    /// A counter of the driver's statistics (`ethtool -S IFACE`), by its name there.
    Ethtool { iface: IfName, stat: &'static str },
}

/// The softnet_stat columns that evidence uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SoftnetColumn {
    Dropped,
    TimeSqueeze,
}

impl Source {
    /// The counter's name in reports: nstat's for MIBs (`TcpExtListenOverflows`), the file's
    /// otherwise (`softnet_dropped`, `conntrack_drop`, `rx_missed_errors`).
    pub fn counter(&self) -> String {
        match self {
            Source::Mib(n) => n.to_string(),
            Source::Softnet(SoftnetColumn::Dropped) => "softnet_dropped".into(),
            Source::Softnet(SoftnetColumn::TimeSqueeze) => "softnet_time_squeeze".into(),
            Source::Conntrack(c) => format!("conntrack_{c}"),
            Source::Nic { stat, .. } | Source::Ethtool { stat, .. } => stat.to_string(),
            Source::IrqOutside { .. } => "interrupts_outside_irq_cpus".into(),
        }
    }
}

const LISTEN: &[&str] = &["TcpExtListenOverflows", "TcpExtListenDrops"];

/// The counters tied to one planned item. `irq_cpus` is each interface's resolved
/// `irq_cpus` set (an IRQ item of an interface not in it has no evidence).
pub fn sources(e: &Entry, irq_cpus: &BTreeMap<IfName, CpuList>) -> Vec<Source> {
    if e.item.kind == Kind::Sysctl {
        return sysctl_sources(&e.item.object);
    }
    // Packets the reverse-path filter dropped (IN_DEV_RPFILTER), on any interface.
    if e.item.kind == Kind::RpFilter {
        return vec![Source::Mib("TcpExtIPReversePathFilter")];
    }
    // The MSS table of [dsr]: "too big" ICMP and reassembly, by the family of its rules.
    if e.item.kind == Kind::Nft && e.item.object == mss::OBJECT {
        return mss::evidence(e.desired.as_ref())
            .iter()
            .map(|n| Source::Mib(n))
            .collect();
    }
    // A NIC knob names its own counters.
    let hint = nic_knob(e.item.kind).map_or(EvidenceHint::None, |k| k.evidence());
    match hint {
        EvidenceHint::NicStats(stats) => match &e.iface {
            Some(iface) => stats
                .iter()
                .map(|&stat| Source::Nic {
                    iface: iface.clone(),
                    stat,
                })
                .collect(),
            None => Vec::new(),
        },
        EvidenceHint::EthtoolStats(stats) => match &e.iface {
            Some(iface) => stats
                .iter()
                .map(|&stat| Source::Ethtool {
                    iface: iface.clone(),
                    stat,
                })
                .collect(),
            None => Vec::new(),
        },
        EvidenceHint::IrqOutside => {
            let irq = [&e.desired, &e.live]
                .into_iter()
                .flatten()
                .find_map(|s| match s {
                    Setting::IrqAffinity { irq, .. } => Some(*irq),
                    _ => None,
                });
            let cpus = e.iface.as_ref().and_then(|i| irq_cpus.get(i));
            match (irq, cpus) {
                (Some(irq), Some(cpus)) => vec![Source::IrqOutside {
                    irq,
                    cpus: cpus.clone(),
                }],
                _ => Vec::new(),
            }
        }
        EvidenceHint::None => Vec::new(),
    }
}

/// The counters of a sysctl key, by its segments (so the slashed form maps the same).
pub fn sysctl_sources(object: &str) -> Vec<Source> {
    let Ok(key) = object.parse::<SysctlKey>() else {
        return Vec::new();
    };
    let mib = |names: &[&'static str]| names.iter().map(|n| Source::Mib(n)).collect();
    match key.segments().join(".").as_str() {
        "net.core.somaxconn" | "net.ipv4.tcp_max_syn_backlog" => mib(LISTEN),
        "net.core.netdev_max_backlog" => vec![Source::Softnet(SoftnetColumn::Dropped)],
        "net.core.netdev_budget" | "net.core.netdev_budget_usecs" => {
            vec![Source::Softnet(SoftnetColumn::TimeSqueeze)]
        }
        "net.netfilter.nf_conntrack_max" | "net.nf_conntrack_max" => {
            ["drop", "early_drop", "insert_failed"]
                .into_iter()
                .map(Source::Conntrack)
                .collect()
        }
        "net.ipv4.tcp_max_orphans" => mib(&["TcpExtTCPAbortOnMemory"]),
        "net.ipv4.tcp_max_tw_buckets" => mib(&["TcpExtTCPTimeWaitOverflow"]),
        "net.core.rmem_max" | "net.core.rmem_default" | "net.ipv4.udp_rmem_min" => {
            mib(&["UdpRcvbufErrors"])
        }
        "net.ipv4.tcp_rmem" => mib(&["TcpExtTCPRcvQDrop"]),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knobs::{Item, Status};

    fn names(object: &str) -> Vec<String> {
        sysctl_sources(object).iter().map(Source::counter).collect()
    }

    #[test]
    fn every_sysctl_of_the_table() {
        let table: &[(&str, &[&str])] = &[
            ("net.core.somaxconn", LISTEN),
            ("net.ipv4.tcp_max_syn_backlog", LISTEN),
            ("net/ipv4/tcp_max_syn_backlog", LISTEN),
            ("net.core.netdev_max_backlog", &["softnet_dropped"]),
            ("net.core.netdev_budget", &["softnet_time_squeeze"]),
            ("net.core.netdev_budget_usecs", &["softnet_time_squeeze"]),
            (
                "net.netfilter.nf_conntrack_max",
                &[
                    "conntrack_drop",
                    "conntrack_early_drop",
                    "conntrack_insert_failed",
                ],
            ),
            ("net.ipv4.tcp_max_orphans", &["TcpExtTCPAbortOnMemory"]),
            (
                "net.ipv4.tcp_max_tw_buckets",
                &["TcpExtTCPTimeWaitOverflow"],
            ),
            ("net.core.rmem_max", &["UdpRcvbufErrors"]),
            ("net.core.rmem_default", &["UdpRcvbufErrors"]),
            ("net.ipv4.udp_rmem_min", &["UdpRcvbufErrors"]),
            ("net.ipv4.tcp_rmem", &["TcpExtTCPRcvQDrop"]),
            ("net.ipv4.tcp_fin_timeout", &[]),
            ("vm.swappiness", &[]),
        ];
        for (key, want) in table {
            assert_eq!(names(key), *want, "{key}");
        }
    }

    #[test]
    fn the_mss_table_maps_to_icmp_too_big_and_reassembly() {
        let vips = ["10.77.0.100".parse().unwrap()];
        let def = mss::table(&vips, 1380);
        let e = Entry::new(
            Item::new(Kind::Nft, mss::OBJECT, "x", "absent", Status::Drift),
            Some(crate::knobs::nft::setting(
                def.family,
                &def.name,
                Some(def.table()),
            )),
            None,
        );
        let got: Vec<String> = sources(&e, &BTreeMap::new())
            .iter()
            .map(Source::counter)
            .collect();
        assert_eq!(
            got,
            ["IcmpInDestUnreachs", "IcmpOutDestUnreachs", "IpReasmReqds"]
        );
        // Another table of hosttune's (notrack) has none.
        let mut other = e.clone();
        other.item.object = "inet hosttune_notrack".into();
        assert!(sources(&other, &BTreeMap::new()).is_empty());
    }

    fn nic_entry(kind: Kind, setting: Option<Setting>) -> Entry {
        let mut e = Entry::new(
            Item::new(kind, "eth0 queue 1 irq 61", "5", "0-7", Status::Drift),
            setting.clone(),
            setting,
        );
        e.iface = Some("eth0".parse().unwrap());
        e
    }

    #[test]
    fn rings_channels_and_irqs() {
        let sets: BTreeMap<IfName, CpuList> =
            [("eth0".parse().unwrap(), "4-7".parse().unwrap())].into();
        for kind in [Kind::Ring, Kind::Channels] {
            let got: Vec<String> = sources(&nic_entry(kind, None), &sets)
                .iter()
                .map(Source::counter)
                .collect();
            assert_eq!(got, ["rx_missed_errors", "rx_dropped", "rx_fifo_errors"]);
        }
        let irq = Setting::IrqAffinity {
            irq: 61,
            cpus: "5".parse().unwrap(),
        };
        assert_eq!(
            sources(&nic_entry(Kind::IrqAffinity, Some(irq.clone())), &sets),
            [Source::IrqOutside {
                irq: 61,
                cpus: "4-7".parse().unwrap()
            }]
        );
        // No resolved set (a clash, an error item): no evidence.
        assert!(sources(&nic_entry(Kind::IrqAffinity, Some(irq)), &BTreeMap::new()).is_empty());
        assert!(sources(&nic_entry(Kind::Txqueuelen, None), &sets).is_empty());
        // Pause frames: every driver's counter names, as `ethtool -S` sources.
        let pause = sources(&nic_entry(Kind::Pause, None), &sets);
        assert_eq!(pause.len(), crate::knobs::pause::PAUSE_COUNTERS.len());
        assert_eq!(
            pause[0],
            Source::Ethtool {
                iface: "eth0".parse().unwrap(),
                stat: "rx_flow_control_xon"
            }
        );
    }
}
