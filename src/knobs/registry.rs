//! The registry: every kind of item, every kind of value a snapshot holds, and the per-NIC
//! knobs in the order apply works. Adding a knob means its own file under `knobs/`, its
//! lines here, and its tests (README, "Adding a knob").

use super::nic::{AnyNicKnob, ChannelSpec, Count, IfGlob, IrqCpus, RingSpec};
use super::setting::settings;
use super::{
    channels, dsr, irq, irqbalance, lro, ring, route, rps, rx_flow_hash, sysctl, txqueuelen,
};
// Declared in the model; named here too for callers of the old path.
use crate::cpulist::CpuList;
use crate::host::{AddrAttrs, FlowType, HashFields, IfRoute};
pub use crate::model::Kind;
use crate::sysctl::SysctlKey;
use crate::types::IfName;
use serde::{Deserialize, Serialize};

settings! {
    /// `/proc/sys/KEY`, the raw text as read (so a restore is byte for byte).
    Sysctl { key: SysctlKey, value: String } => sysctl::SysctlOps;
    /// An address on an interface, present or not. `attrs` are what a present one is added
    /// with (label, flags, scope, lifetimes): restored, never compared. Left out when they
    /// are the defaults, and absent from snapshots written before they were recorded, which
    /// then mean the defaults.
    Vip {
        iface: IfName,
        addr: std::net::IpAddr,
        prefix: u8,
        present: bool,
        #[serde(default, skip_serializing_if = "AddrAttrs::is_default")]
        attrs: AddrAttrs,
    } => dsr::VipOps;
    /// Ring sizes (`ethtool -G`); other counts are carried over from a fresh read.
    Rings { iface: IfName, rx: u32, tx: u32 } => ring::RingOps;
    /// Channel counts (`ethtool -L`).
    Channels { iface: IfName, rx: u32, tx: u32, other: u32, combined: u32 } => channels::ChannelOps;
    /// `/sys/class/net/IFACE/tx_queue_len`.
    Txqueuelen { iface: IfName, len: u32 } => txqueuelen::TxqueuelenOps;
    /// `/sys/class/net/IFACE/queues/rx-N/rps_cpus`, the kernel's hex mask as read.
    Rps { iface: IfName, queue: u32, mask: String } => rps::RpsOps;
    /// The RSS hash fields of one flow type (`ethtool -N IFACE rx-flow-hash FLOW FIELDS`).
    RxFlowHash { iface: IfName, flow: FlowType, fields: HashFields } => rx_flow_hash::RxfhOps;
    /// `/proc/irq/N/smp_affinity_list`.
    IrqAffinity { irq: u32, cpus: CpuList } => irq::IrqOps;
    /// irqbalance's run and boot state.
    #[serde(rename = "service")]
    IrqbalanceService { unit: String, active: bool, enabled: bool } => irqbalance::ServiceOps;
    /// irqbalance's environment file, whole; `None` when it does not exist.
    #[serde(rename = "file")]
    IrqbalanceFile { path: std::path::PathBuf, contents: Option<String> } => irqbalance::FileOps;
    /// A route through an interface, present or not (recorded when a write can drop it).
    Route { route: IfRoute, present: bool } => route::RouteOps;
    /// Large receive offload of a device (recorded when a write can turn it off).
    Lro { iface: IfName, on: bool } => lro::LroOps;
}

/// One `[[nic]]` rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NicRule {
    /// Omitted: every physical NIC (one with `/sys/class/net/IFACE/device`).
    #[serde(rename = "match", default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<IfGlob>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rings: Option<RingSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<ChannelSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub txqueuelen: Option<Count>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rps_cpus: Option<rps::RpsCpus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rx_flow_hash: Option<rx_flow_hash::FlowHashSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub irq_cpus: Option<IrqCpus>,
}

/// The per-NIC knobs, in the order apply works on one interface: channels first (changing
/// them re-creates the queues), then rings, txqueuelen, the queues' RPS masks and RSS hash
/// fields, and IRQ affinity last.
pub static NIC_KNOBS: &[&dyn AnyNicKnob] = &[
    &channels::Channels,
    &ring::Rings,
    &txqueuelen::Txqueuelen,
    &rps::Rps,
    &rx_flow_hash::RxFlowHash,
    &irq::IrqAffinity,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_nic_knob_has_its_own_reported_kind() {
        let kinds: Vec<Kind> = NIC_KNOBS.iter().map(|k| k.kind()).collect();
        let mut sorted = kinds.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(
            sorted.len(),
            kinds.len(),
            "two NIC knobs share a kind: {kinds:?}"
        );
        assert!(kinds.iter().all(|k| Kind::ALL.contains(k)), "{kinds:?}");
        assert_eq!(kinds[0], Kind::Channels, "channels re-create queues: first");
        assert_eq!(
            kinds.last(),
            Some(&Kind::IrqAffinity),
            "IRQs of the final queues: last"
        );
    }

    #[test]
    fn snapshot_names_of_settings_are_stable() {
        // The serialized `kind` of each setting is a file format: renaming a variant must not
        // change it.
        let s = Setting::IrqbalanceService {
            unit: "irqbalance.service".into(),
            active: true,
            enabled: false,
        };
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["kind"], "service");
        let f = Setting::IrqbalanceFile {
            path: "/etc/default/irqbalance".into(),
            contents: None,
        };
        assert_eq!(serde_json::to_value(&f).unwrap()["kind"], "file");
        let r = Setting::Rings {
            iface: "eth0".parse().unwrap(),
            rx: 1,
            tx: 2,
        };
        assert_eq!(serde_json::to_value(&r).unwrap()["kind"], "rings");
        let back: Setting = serde_json::from_value(serde_json::json!(
            {"kind": "irq_affinity", "irq": 7, "cpus": "2"}
        ))
        .unwrap();
        assert_eq!(back.address(), "irq 7");
        assert_eq!(describe(&back).0, Kind::IrqAffinity);
    }
}
