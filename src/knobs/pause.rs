//! Pause frames, 802.3x flow control (`ethtool -a/-A`, the ETHTOOL_GPAUSEPARAM/SPAUSEPARAM
//! ioctls): whether the NIC negotiates pause with its link partner, honours received pause
//! frames (rx) and sends them (tx). `pause = { autoneg = false, rx = false, tx = false }`
//! names any subset; only those are compared and written (the ioctl carries all three, so a
//! write reads first). With `autoneg` on, rx and tx are what the NIC advertises and drivers
//! report the negotiated result (e1000e ignores rx/tx then): to force them, give
//! `autoneg = false` as well. Evidence: the driver's pause-frame counters (`ethtool -S`).

use serde::{Deserialize, Serialize};

use crate::host::{Host, NicError, NicOpsExt as _, Pause};
use crate::knobs::cx::PlanCx;
use crate::knobs::nic_knob::{EvidenceHint, NicKnob};
use crate::knobs::queues::{compare, read_failed};
use crate::knobs::{Entry, Kind, KnobError, Setting, SettingOps};
use crate::schema::{Loc, ProfileError};
use crate::types::IfName;

/// `pause = { autoneg = true, rx = false, tx = false }`, any subset; in snapshots the fields
/// of [`Setting::Pause`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PauseSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoneg: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rx: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx: Option<bool>,
}

impl PauseSpec {
    /// The live values of the fields `self` names.
    pub fn of(&self, live: Pause) -> Self {
        Self {
            autoneg: self.autoneg.map(|_| live.autoneg),
            rx: self.rx.map(|_| live.rx),
            tx: self.tx.map(|_| live.tx),
        }
    }

    /// `live` with the named fields changed.
    pub fn onto(&self, live: Pause) -> Pause {
        Pause {
            autoneg: self.autoneg.unwrap_or(live.autoneg),
            rx: self.rx.unwrap_or(live.rx),
            tx: self.tx.unwrap_or(live.tx),
        }
    }

    fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The snapshot value at `iface`.
    pub fn setting(self, iface: &IfName) -> Setting {
        Setting::Pause {
            iface: iface.clone(),
            autoneg: self.autoneg,
            rx: self.rx,
            tx: self.tx,
        }
    }

    /// The fields of a [`Setting::Pause`], and its interface.
    fn from_setting(s: &Setting) -> (&IfName, Self) {
        let Setting::Pause {
            iface,
            autoneg,
            rx,
            tx,
        } = s
        else {
            unreachable!("pause of {s:?}")
        };
        let (autoneg, rx, tx) = (*autoneg, *rx, *tx);
        (iface, Self { autoneg, rx, tx })
    }
}

/// `autoneg on, rx off, tx off`, the named fields only.
impl std::fmt::Display for PauseSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let on = |b: bool| if b { "on" } else { "off" };
        let parts: Vec<String> = [("autoneg", self.autoneg), ("rx", self.rx), ("tx", self.tx)]
            .into_iter()
            .filter_map(|(n, v)| Some(format!("{n} {}", on(v?))))
            .collect();
        f.write_str(&parts.join(", "))
    }
}

/// The pause-frame counters of `ethtool -S`, as drivers name them: e1000e, mlx5, then
/// ixgbe/i40e. A driver has some or none of them (ena none); those it has are the evidence.
pub const PAUSE_COUNTERS: &[&str] = &[
    "rx_flow_control_xon",
    "rx_flow_control_xoff",
    "tx_flow_control_xon",
    "tx_flow_control_xoff",
    "rx_pause_ctrl_phy",
    "tx_pause_ctrl_phy",
    "link_xon_rx",
    "link_xoff_rx",
    "link_xon_tx",
    "link_xoff_tx",
];

/// The `pause` knob: one `pause` item per interface.
pub struct PauseFrames;

impl NicKnob for PauseFrames {
    type Spec = PauseSpec;
    type Observed = Result<Pause, NicError>;
    const KIND: Kind = Kind::Pause;

    fn validate(spec: &PauseSpec, at: &Loc, errs: &mut Vec<ProfileError>) {
        if spec.is_empty() {
            let msg = "pause: give autoneg, rx, tx or some of them";
            errs.push(ProfileError::invalid(at.clone(), msg));
        }
    }

    fn evidence() -> EvidenceHint {
        EvidenceHint::EthtoolStats(PAUSE_COUNTERS)
    }

    fn observe(_: &PauseSpec, iface: &IfName, cx: &PlanCx) -> Self::Observed {
        cx.host.nic.read(iface, ())
    }

    fn diff(spec: &PauseSpec, iface: &IfName, live: Self::Observed) -> Vec<Entry> {
        diff(spec, iface, live)
    }
}

/// The named fields against the live ones (pure); EOPNOTSUPP (veth, an offline tree) is
/// `unsupported`.
pub fn diff(spec: &PauseSpec, iface: &IfName, live: Result<Pause, NicError>) -> Vec<Entry> {
    let live = match live {
        Ok(p) => p,
        Err(e) => return vec![read_failed(Kind::Pause, iface, &spec.to_string(), e)],
    };
    vec![compare(spec.setting(iface), spec.of(live).setting(iface))]
}

/// Pause settings in snapshots.
pub struct PauseOps;

impl SettingOps for PauseOps {
    fn address(s: &Setting) -> String {
        format!("pause {}", PauseSpec::from_setting(s).0)
    }
    fn describe(s: &Setting) -> (Kind, String, String) {
        let (iface, flags) = PauseSpec::from_setting(s);
        (Kind::Pause, iface.to_string(), flags.to_string())
    }
    /// An interface name and at least one field.
    fn validate(s: &Setting) -> Result<(), String> {
        let (iface, flags) = PauseSpec::from_setting(s);
        if flags.is_empty() {
            return Err("no pause field".into());
        }
        crate::knobs::setting::check_iface(iface)
    }
    /// Equivalent to `ethtool -a IFACE`, keeping the fields `at` names.
    fn read(host: &Host, at: &Setting) -> Result<Setting, KnobError> {
        let (iface, flags) = PauseSpec::from_setting(at);
        Ok(flags.of(host.nic.read(iface, ())?).setting(iface))
    }
    /// Equivalent to `ethtool -A IFACE autoneg off rx off tx off`: the fields not named keep
    /// their live values; nothing is written when the named ones already hold.
    fn write(host: &Host, s: &Setting) -> Result<(), KnobError> {
        let (iface, flags) = PauseSpec::from_setting(s);
        let live: Pause = host.nic.read(iface, ())?;
        let want = flags.onto(live);
        if want == live {
            return Ok(());
        }
        Ok(host.nic.write(iface, want)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knobs::Status;

    #[test]
    fn diff_table() {
        let eth0: IfName = "eth0".parse().unwrap();
        let all_on = Pause {
            autoneg: true,
            rx: true,
            tx: true,
        };
        // (spec, live, desired text, live text, status)
        let rows: [(&str, Pause, &str, &str, Status); 4] = [
            (
                "{ autoneg = false, rx = false, tx = false }",
                all_on,
                "autoneg off, rx off, tx off",
                "autoneg on, rx on, tx on",
                Status::Drift,
            ),
            // Only the named field is compared.
            ("{ rx = true }", all_on, "rx on", "rx on", Status::Ok),
            (
                "{ tx = false }",
                Pause::default(),
                "tx off",
                "tx off",
                Status::Ok,
            ),
            (
                "{ autoneg = true, tx = true }",
                Pause {
                    autoneg: true,
                    ..Pause::default()
                },
                "autoneg on, tx on",
                "autoneg on, tx off",
                Status::Drift,
            ),
        ];
        for (text, live, want_d, want_l, status) in rows {
            let spec: PauseSpec = toml::from_str(&text[1..text.len() - 1].replace(',', "\n"))
                .unwrap_or_else(|e| panic!("{text}: {e}"));
            let d = diff(&spec, &eth0, Ok(live));
            let i = &d[0].item;
            assert_eq!(
                (
                    i.object.as_str(),
                    i.desired.as_str(),
                    i.live.as_str(),
                    i.status
                ),
                ("eth0", want_d, want_l, status),
                "{text}"
            );
        }
        let e = NicError::unsupported("ETHTOOL_GPAUSEPARAM", &eth0, "Operation not supported");
        let d = diff(&PauseSpec::default(), &eth0, Err(e));
        assert_eq!(d[0].item.status, Status::Unsupported);
    }

    #[test]
    fn a_write_changes_only_the_named_fields() {
        let live = Pause {
            autoneg: true,
            rx: true,
            tx: false,
        };
        let spec = PauseSpec {
            rx: Some(false),
            ..PauseSpec::default()
        };
        assert_eq!(
            spec.onto(live),
            Pause {
                autoneg: true,
                rx: false,
                tx: false
            }
        );
        assert_eq!(spec.of(live).to_string(), "rx on");
    }
}
