//! The registry: every kind of item, every kind of value a snapshot holds, and the per-NIC
//! knobs in the order apply works. Adding a NIC knob means its own file under `knobs/`, a
//! line in `nic_knobs!` (plus its kind and, for a new kind of value, its snapshot variant),
//! and its tests (README, "Adding a knob").

use super::ifglob::IfGlob;
use super::nic_knob::{AnyNicKnob, InRule, NicKnob};
use super::setting::dispatch;
// Declared in the model; named here too for callers of the old path.
pub use super::values::Setting;
use super::{
    channels, coalesce, conntrack, dsr, features, irq, irqbalance, lro, nft, pause, ring, route,
    rps, rss_indir, rx_flow_hash, sysctl, txqueuelen, xps,
};
pub use crate::model::Kind;
use serde::{Deserialize, Serialize};

// Each kind of snapshot value to the knob that reads and writes it.
dispatch! {
    Sysctl => sysctl::SysctlOps,
    Vip => dsr::VipOps,
    Rings => ring::RingOps,
    Channels => channels::ChannelOps,
    Txqueuelen => txqueuelen::TxqueuelenOps,
    Rps => rps::RpsOps,
    RxFlowHash => rx_flow_hash::RxfhOps,
    IrqAffinity => irq::IrqOps,
    IrqbalanceService => irqbalance::ServiceOps,
    IrqbalanceFile => irqbalance::FileOps,
    Route => route::RouteOps,
    Lro => lro::LroOps,
    Xps => xps::XpsOps,
    Features => features::FeaturesOps,
    Coalesce => coalesce::CoalesceOps,
    Pause => pause::PauseOps,
    RssIndir => rss_indir::RssIndirOps,
    Tunnel => dsr::TunnelOps,
    Fou => dsr::FouOps,
    NftTable => nft::NftTableOps,
    ConntrackHashsize => conntrack::hashsize::HashsizeOps,
    ModprobeFile => conntrack::hashsize::ModprobeOps,
}

/// Declares the `[[nic]]` rule and the per-NIC knobs from `key: Knob` lines, in apply
/// order: the rule gets one optional field per knob (of the knob's `Spec`), each knob learns
/// its key ([`InRule`]), and [`NIC_KNOBS`] lists them.
macro_rules! nic_knobs {
    ($( $(#[$m:meta])* $field:ident : $knob:path ),* $(,)?) => {
        /// One `[[nic]]` rule.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct NicRule {
            /// Omitted: every physical NIC (one with `/sys/class/net/IFACE/device`).
            #[serde(rename = "match", default, skip_serializing_if = "Option::is_none")]
            pub pattern: Option<IfGlob>,
            $(
                $(#[$m])*
                #[serde(default, skip_serializing_if = "Option::is_none")]
                pub $field: Option<<$knob as NicKnob>::Spec>,
            )*
        }

        $(
            impl InRule<NicRule> for $knob {
                const FIELD: &'static str = stringify!($field);
                fn spec(rule: &NicRule) -> Option<&<$knob as NicKnob>::Spec> {
                    rule.$field.as_ref()
                }
            }
        )*

        /// The per-NIC knobs, in the order apply works on one interface.
        pub static NIC_KNOBS: &[&dyn AnyNicKnob<NicRule>] = &[ $( &$knob, )* ];
    };
}

// Channels first (changing them re-creates the queues), then rings, txqueuelen, the queues'
// RPS masks and RSS hash fields, IRQ affinity, and what follows the IRQs (XPS).
nic_knobs! {
    /// `channels = { combined = 4 }` (`ethtool -L`).
    channels: channels::Channels,
    /// `rings = { rx = 4096, tx = "max" }` (`ethtool -G`).
    rings: ring::Rings,
    /// `txqueuelen = 10000`.
    txqueuelen: txqueuelen::Txqueuelen,
    /// `features = { "generic-receive-offload" = true }` (`ethtool -K`).
    features: features::Features,
    /// `rps_cpus = "local"` or a CPU list.
    rps_cpus: rps::Rps,
    /// `rx_flow_hash = { tcp4 = "sdfn" }` (`ethtool -N rx-flow-hash`).
    rx_flow_hash: rx_flow_hash::RxFlowHash,
    /// `coalesce = { "rx-usecs" = 64 }` (`ethtool -C`).
    coalesce: coalesce::Coalescing,
    /// `pause = { autoneg = false, rx = false, tx = false }` (`ethtool -A`).
    pause: pause::PauseFrames,
    /// `irq_cpus = "isolated"`, `"local"` or a CPU list.
    irq_cpus: irq::IrqAffinity,
    /// `xps_cpus = "irq"`, a CPU set or `"none"`: after the IRQs it can follow.
    xps_cpus: xps::Xps,
    /// `rss_indir = "equal"`, `{ equal = 4 }`, `{ weights = [...] }` (`ethtool -X`).
    rss_indir: rss_indir::RssIndirKnob,
}

/// The NIC knob whose items are of `kind`.
pub fn nic_knob(kind: Kind) -> Option<&'static dyn AnyNicKnob<NicRule>> {
    NIC_KNOBS.iter().copied().find(|k| k.kind() == kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::IfName;

    #[test]
    fn every_nic_knob_has_its_own_kind_and_key() {
        let kinds: Vec<Kind> = NIC_KNOBS.iter().map(|k| k.kind()).collect();
        let mut sorted = kinds.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(
            sorted.len(),
            kinds.len(),
            "two NIC knobs share a kind: {kinds:?}"
        );
        let fields: Vec<&str> = NIC_KNOBS.iter().map(|k| k.field()).collect();
        // The keys are the rule's TOML keys: a rule with each of them parses.
        for f in &fields {
            let err = toml::from_str::<NicRule>(&format!("{f} = 0")).unwrap_err();
            assert!(!err.to_string().contains("unknown field"), "{f}: {err}");
        }
        for k in NIC_KNOBS {
            assert!(
                std::ptr::eq(nic_knob(k.kind()).unwrap(), *k),
                "{}",
                k.kind()
            );
        }
        assert_eq!(kinds[0], Kind::Channels, "channels re-create queues: first");
        // A knob planned again after another's change comes after it.
        for (i, k) in NIC_KNOBS.iter().enumerate() {
            for after in k.stale_after() {
                let j = kinds.iter().position(|x| x == after);
                assert!(j.is_some_and(|j| j < i), "{} before {after}", k.kind());
            }
        }
        assert!(nic_knob(Kind::Sysctl).is_none());
    }

    #[test]
    fn what_is_re_planned_after_channels_is_restored_after_them() {
        let eth0: IfName = "eth0".parse().unwrap();
        let samples = [
            Setting::Channels {
                iface: eth0.clone(),
                rx: 0,
                tx: 0,
                other: 0,
                combined: 1,
            },
            Setting::Rings {
                iface: eth0.clone(),
                rx: 1,
                tx: 1,
            },
            Setting::Txqueuelen {
                iface: eth0.clone(),
                len: 1,
            },
            Setting::Rps {
                iface: eth0.clone(),
                queue: 0,
                mask: "1".into(),
            },
            Setting::IrqAffinity {
                irq: 1,
                cpus: "0".parse().unwrap(),
            },
            Setting::Xps {
                iface: eth0.clone(),
                queue: 0,
                mask: "1".into(),
            },
            Setting::RssIndir {
                iface: eth0.clone(),
                table: vec![0],
            },
        ];
        for s in &samples {
            let kind = describe(s).0;
            let knob = nic_knob(kind).unwrap();
            assert_eq!(
                s.restores_late(),
                knob.stale_after().contains(&Kind::Channels),
                "{kind}: restore order and re-plan declarations disagree"
            );
        }
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
