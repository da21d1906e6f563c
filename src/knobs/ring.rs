//! Ring buffer sizes (`ethtool -g/-G`).

use crate::host::NicOpsExt as _;
use crate::host::{Host, NicError, RingParams};
use crate::knobs::KnobError;
use crate::knobs::cx::PlanCx;
use crate::knobs::nic_knob::{Count, EvidenceHint, NicKnob};
use crate::knobs::queues::{compare, pick, read_failed, refused};
use crate::knobs::{Entry, Kind, Setting};
use crate::schema::{Loc, ProfileError};
use crate::types::IfName;
use serde::{Deserialize, Serialize};

/// `rings = { rx = 2047, tx = "max" }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RingSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rx: Option<Count>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx: Option<Count>,
}

/// The `rings` knob: one `ring` item per interface. A side the rule leaves out keeps its live
/// size. Equivalent to comparing `ethtool -g IFACE` with the wanted sizes.
pub struct Rings;

/// The interface counters that rise when its receive rings or queues are too small.
pub const QUEUE_DROPS: &[&str] = &["rx_missed_errors", "rx_dropped", "rx_fifo_errors"];

impl NicKnob for Rings {
    type Spec = RingSpec;
    type Observed = Result<RingParams, NicError>;
    const KIND: Kind = Kind::Ring;

    fn validate(g: &RingSpec, at: &Loc, errs: &mut Vec<ProfileError>) {
        if g.rx.is_none() && g.tx.is_none() {
            errs.push(ProfileError::invalid(
                at.clone(),
                "rings: give rx, tx or both",
            ));
        }
    }

    fn evidence() -> EvidenceHint {
        EvidenceHint::NicStats(QUEUE_DROPS)
    }

    fn observe(_: &RingSpec, iface: &IfName, cx: &PlanCx) -> Self::Observed {
        cx.host.nic.rings(iface)
    }

    fn diff(spec: &RingSpec, iface: &IfName, live: Self::Observed) -> Vec<Entry> {
        let asked = spec_text(spec);
        let live = match live {
            Ok(r) => r,
            Err(e) => return vec![read_failed(Kind::Ring, iface, &asked, e)],
        };
        let side = |want, what, max, now| match want {
            Some(c) => pick(iface, what, c, max),
            None => Ok(now),
        };
        let rx = side(spec.rx, "rx ring", live.rx_max, live.rx);
        let tx = side(spec.tx, "tx ring", live.tx_max, live.tx);
        match (rx, tx) {
            (Ok(rx), Ok(tx)) => vec![compare(
                Setting::Rings {
                    iface: iface.clone(),
                    rx,
                    tx,
                },
                Setting::Rings {
                    iface: iface.clone(),
                    rx: live.rx,
                    tx: live.tx,
                },
            )],
            (rx, tx) => {
                let why: Vec<String> = [rx.err(), tx.err()].into_iter().flatten().collect();
                let why = format!("{} (ethtool -g {iface})", why.join("; "));
                vec![refused(Kind::Ring, iface, &asked, why)]
            }
        }
    }
}

/// The profile's words, for items that have no resolved setting (`rx max tx 2047`).
fn spec_text(spec: &RingSpec) -> String {
    let mut parts = Vec::new();
    if let Some(rx) = spec.rx {
        parts.push(format!("rx {rx}"));
    }
    if let Some(tx) = spec.tx {
        parts.push(format!("tx {tx}"));
    }
    parts.join(" ")
}

/// Sets rx and tx ring sizes. Equivalent to `ethtool -G IFACE rx N tx N`. The ioctl carries
/// every size, so the mini and jumbo rings are read first and written back unchanged.
pub fn write(host: &Host, s: &Setting) -> Result<(), KnobError> {
    let Setting::Rings { iface, rx, tx } = s else {
        unreachable!("ring::write of {s:?}")
    };
    let mut r = host.nic.rings(iface)?;
    if (r.rx, r.tx) == (*rx, *tx) {
        // Many drivers reset the link on any ring change, even to the same sizes.
        return Ok(());
    }
    (r.rx, r.tx) = (*rx, *tx);
    Ok(host.nic.set_rings(iface, &r)?)
}

/// Reads the rx and tx ring sizes the driver keeps. Equivalent to `ethtool -g IFACE`.
pub fn read(host: &Host, at: &Setting) -> Result<Setting, KnobError> {
    let Setting::Rings { iface, .. } = at else {
        unreachable!("ring::read of {at:?}")
    };
    let r = host.nic.rings(iface)?;
    Ok(Setting::Rings {
        iface: iface.clone(),
        rx: r.rx,
        tx: r.tx,
    })
}

/// Ring sizes in snapshots.
pub struct RingOps;

impl crate::knobs::SettingOps for RingOps {
    fn address(s: &Setting) -> String {
        let Setting::Rings { iface, .. } = s else {
            unreachable!()
        };
        format!("ring {iface}")
    }
    fn describe(s: &Setting) -> (Kind, String, String) {
        let Setting::Rings { iface, rx, tx } = s else {
            unreachable!()
        };
        (Kind::Ring, iface.to_string(), format!("rx {rx} tx {tx}"))
    }
    /// Drivers round ring sizes to their descriptor granularity (ixgbe to a multiple of 8,
    /// i40e of 32, mlx5 to a power of two).
    fn may_round(_: &Setting) -> bool {
        true
    }
    /// An interface name.
    fn validate(s: &Setting) -> Result<(), String> {
        let Setting::Rings { iface, .. } = s else {
            unreachable!()
        };
        crate::knobs::setting::check_iface(iface)
    }
    fn read(host: &Host, at: &Setting) -> Result<Setting, KnobError> {
        read(host, at)
    }
    fn write(host: &Host, s: &Setting) -> Result<(), KnobError> {
        write(host, s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knobs::Status;

    fn live(rx: u32, tx: u32, max: u32) -> RingParams {
        RingParams {
            rx,
            tx,
            rx_max: max,
            tx_max: max,
            ..RingParams::default()
        }
    }

    #[test]
    fn diff_table() {
        let eth0: IfName = "eth0".parse().unwrap();
        let n = |x| Some(Count::N(x));
        // (rx, tx, live, status, desired text or the start of the note)
        type Row = (
            Option<Count>,
            Option<Count>,
            RingParams,
            Status,
            &'static str,
        );
        let rows: [Row; 6] = [
            (
                n(512),
                n(512),
                live(512, 512, 4096),
                Status::Ok,
                "rx 512 tx 512",
            ),
            (
                Some(Count::Max),
                None,
                live(512, 256, 4096),
                Status::Drift,
                "rx 4096 tx 256",
            ),
            (
                None,
                n(1024),
                live(512, 256, 4096),
                Status::Drift,
                "rx 512 tx 1024",
            ),
            (
                n(8192),
                None,
                live(512, 512, 4096),
                Status::Error,
                "rx ring 8192 is above",
            ),
            // Both sides wrong: both named in one note.
            (
                n(8192),
                n(9000),
                live(512, 512, 4096),
                Status::Error,
                "rx ring 8192",
            ),
            (
                n(64),
                None,
                live(0, 0, 0),
                Status::Error,
                "eth0's driver reports no rx ring",
            ),
        ];
        for (rx, tx, l, status, text) in rows {
            let spec = RingSpec { rx, tx };
            let d = Rings::diff(&spec, &eth0, Ok(l));
            assert_eq!(d.len(), 1);
            assert_eq!(d[0].item.status, status, "{spec:?}");
            if status == Status::Error {
                let note = d[0].item.note.clone().unwrap();
                assert!(note.starts_with(text), "{note}");
                assert!(note.ends_with("(ethtool -g eth0)"), "{note}");
                assert!(d[0].desired.is_none());
            } else {
                assert_eq!(d[0].item.desired, text);
            }
        }
        let both = Rings::diff(
            &RingSpec {
                rx: n(8192),
                tx: n(9000),
            },
            &eth0,
            Ok(live(512, 512, 4096)),
        );
        assert!(both[0].item.note.as_ref().unwrap().contains("tx ring 9000"));
    }

    #[test]
    fn a_rule_that_names_no_side_is_refused_while_loading() {
        let mut errs = Vec::new();
        Rings::validate(&RingSpec { rx: None, tx: None }, &Loc::default(), &mut errs);
        assert_eq!(errs.len(), 1);
        assert!(errs[0].to_string().contains("rings: give rx, tx or both"));
    }
}
