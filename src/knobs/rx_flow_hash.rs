//! RSS hash fields per flow type (`ethtool -n/-N IFACE rx-flow-hash FLOW FIELDS`, the
//! ETHTOOL_GRXFH/SRXFH ioctls): which header fields pick a packet's receive queue. The benchmark write-up
//! checks `ethtool -n p2p2 rx-flow-hash tcp4` when spreading receive work over queues.

use crate::host::NicOpsExt as _;
use std::collections::BTreeMap;

use crate::host::{FlowType, HashFields, Host, NicError};
use crate::knobs::cx::PlanCx;
use crate::knobs::nic_knob::NicKnob;
use crate::knobs::queues::read_failed;
use crate::knobs::{Entry, Item, Kind, KnobError, Setting, SettingOps, Status};
use crate::types::IfName;

/// `rx_flow_hash = { tcp4 = "sdfn", udp4 = "sd" }`: the fields per flow type, in ethtool's
/// letters (`s`/`d` source/destination IP, `f`/`n` L4 bytes 0-1/2-3, `m` L2 destination, `v`
/// VLAN, `t` L3 protocol, `r` discard).
pub type FlowHashSpec = BTreeMap<FlowType, HashFields>;

/// The `rx_flow_hash` knob: one `rx_flow_hash` item per flow type.
pub struct RxFlowHash;

impl NicKnob for RxFlowHash {
    /// Each flow type's live fields.
    type Spec = FlowHashSpec;
    type Observed = Vec<(FlowType, Result<HashFields, NicError>)>;
    const KIND: Kind = Kind::RxFlowHash;

    /// An empty table sets nothing.
    fn set_by(spec: &FlowHashSpec) -> bool {
        !spec.is_empty()
    }

    fn observe(spec: &FlowHashSpec, iface: &IfName, cx: &PlanCx) -> Self::Observed {
        spec.keys()
            .map(|flow| (*flow, cx.host.nic.rx_flow_hash(iface, *flow)))
            .collect()
    }

    fn diff(spec: &FlowHashSpec, iface: &IfName, observed: Self::Observed) -> Vec<Entry> {
        diff(spec, iface, observed)
    }
}

/// Desired fields against live ones, per flow type (pure). A driver without the operation
/// (veth, an offline tree) makes the item `unsupported`.
pub fn diff(
    spec: &FlowHashSpec,
    iface: &IfName,
    observed: Vec<(FlowType, Result<HashFields, NicError>)>,
) -> Vec<Entry> {
    observed
        .into_iter()
        .filter_map(|(flow, live)| Some((flow, *spec.get(&flow)?, live)))
        .map(|(flow, want, live)| {
            let object = format!("{iface} {flow}");
            let live = match live {
                Ok(l) => l,
                Err(e) => {
                    let mut e = read_failed(Kind::RxFlowHash, iface, &want.to_string(), e);
                    e.item.object = object;
                    return e;
                }
            };
            let setting = |fields| Setting::RxFlowHash {
                iface: iface.clone(),
                flow,
                fields,
            };
            Entry::new(
                Item::new(
                    Kind::RxFlowHash,
                    object,
                    want.to_string(),
                    live.to_string(),
                    Status::of(want == live),
                ),
                Some(setting(want)),
                Some(setting(live)),
            )
        })
        .collect()
}

/// RSS hash fields in snapshots.
pub struct RxfhOps;

impl SettingOps for RxfhOps {
    fn address(s: &Setting) -> String {
        let Setting::RxFlowHash { iface, flow, .. } = s else {
            unreachable!()
        };
        format!("rx_flow_hash {iface} {flow}")
    }
    fn describe(s: &Setting) -> (Kind, String, String) {
        let Setting::RxFlowHash {
            iface,
            flow,
            fields,
        } = s
        else {
            unreachable!()
        };
        (
            Kind::RxFlowHash,
            format!("{iface} {flow}"),
            fields.to_string(),
        )
    }
    /// An interface name (the flow type and hash fields are checked as they are parsed).
    fn validate(s: &Setting) -> Result<(), String> {
        let Setting::RxFlowHash { iface, .. } = s else {
            unreachable!()
        };
        crate::knobs::setting::check_iface(iface)
    }
    /// Equivalent to `ethtool -n IFACE rx-flow-hash FLOW`.
    fn read(host: &Host, at: &Setting) -> Result<Setting, KnobError> {
        let Setting::RxFlowHash { iface, flow, .. } = at else {
            unreachable!()
        };
        Ok(Setting::RxFlowHash {
            iface: iface.clone(),
            flow: *flow,
            fields: host.nic.rx_flow_hash(iface, *flow)?,
        })
    }
    /// Equivalent to `ethtool -N IFACE rx-flow-hash FLOW FIELDS`; the same fields are never
    /// written again.
    fn write(host: &Host, s: &Setting) -> Result<(), KnobError> {
        let Setting::RxFlowHash {
            iface,
            flow,
            fields,
        } = s
        else {
            unreachable!()
        };
        if host.nic.rx_flow_hash(iface, *flow)? == *fields {
            return Ok(());
        }
        Ok(host.nic.set_rx_flow_hash(iface, *flow, *fields)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_per_flow_type() {
        let eth0: IfName = "eth0".parse().unwrap();
        let f = |s: &str| s.parse::<HashFields>().unwrap();
        let spec: FlowHashSpec = [(FlowType::Tcp4, f("sdfn")), (FlowType::Udp4, f("sdfn"))]
            .into_iter()
            .collect();
        let observed = vec![
            (FlowType::Tcp4, Ok(f("sdfn"))),
            (FlowType::Udp4, Ok(f("sd"))),
        ];
        let d = diff(&spec, &eth0, observed);
        let rows: Vec<(&str, &str, &str, Status)> = d
            .iter()
            .map(|e| {
                (
                    e.item.object.as_str(),
                    e.item.desired.as_str(),
                    e.item.live.as_str(),
                    e.item.status,
                )
            })
            .collect();
        assert_eq!(
            rows,
            [
                ("eth0 tcp4", "sdfn", "sdfn", Status::Ok),
                ("eth0 udp4", "sdfn", "sd", Status::Drift)
            ]
        );
        let unsupported = vec![(
            FlowType::Tcp4,
            Err(NicError::unsupported("ETHTOOL_GRXFH", &eth0, "veth")),
        )];
        let d = diff(&spec, &eth0, unsupported);
        assert_eq!(d[0].item.status, Status::Unsupported);
        assert_eq!(d[0].item.object, "eth0 tcp4");
    }
}
