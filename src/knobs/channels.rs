//! Channel counts (`ethtool -l/-L`).

use crate::host::NicOpsExt as _;
use crate::host::{ChannelParams, Host, NicError, RssIndir};
use crate::knobs::KnobError;
use crate::knobs::cx::PlanCx;
use crate::knobs::nic_knob::{Count, EvidenceHint, NicKnob};
use crate::knobs::queues::{compare, pick, read_failed, refused};
use crate::knobs::{Entry, Kind, Setting};
use crate::schema::{Loc, ProfileError};
use crate::types::IfName;
use serde::{Deserialize, Serialize};

/// `channels = { combined = 4 }` or `{ rx = 4, tx = 4 }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub combined: Option<Count>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rx: Option<Count>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx: Option<Count>,
}

/// The `channels` knob: one `channels` item per interface. Combined versus separate rx/tx
/// follows what the driver reports (a maximum above 0); asking for a kind the driver lacks is
/// an error here rather than an EINVAL mid-apply. Counts the rule leaves out (the ixgbe/i40e
/// "other" link vector, the kind not asked for) keep their live values, because the ioctl
/// sets every count at once. Equivalent to comparing `ethtool -l IFACE`.
pub struct Channels;

impl NicKnob for Channels {
    type Spec = ChannelSpec;
    type Observed = Result<ChannelParams, NicError>;
    const KIND: Kind = Kind::Channels;

    /// Combined with separate rx/tx, or none of them.
    fn validate(c: &ChannelSpec, at: &Loc, errs: &mut Vec<ProfileError>) {
        if c.combined.is_some() && (c.rx.is_some() || c.tx.is_some()) {
            errs.push(ProfileError::invalid(
                at.clone(),
                "channels: give combined, or rx/tx, not both",
            ));
        }
        if c.combined.is_none() && c.rx.is_none() && c.tx.is_none() {
            errs.push(ProfileError::invalid(
                at.clone(),
                "channels: give combined or rx/tx",
            ));
        }
    }

    /// Too few queues show as drops before the stack sees the packets.
    fn evidence() -> EvidenceHint {
        EvidenceHint::NicStats(super::ring::QUEUE_DROPS)
    }

    fn observe(_: &ChannelSpec, iface: &IfName, cx: &PlanCx) -> Self::Observed {
        cx.host.nic.channels(iface)
    }

    fn diff(spec: &ChannelSpec, iface: &IfName, live: Self::Observed) -> Vec<Entry> {
        let asked = spec_text(spec);
        let live = match live {
            Ok(c) => c,
            Err(e) => return vec![read_failed(Kind::Channels, iface, &asked, e)],
        };
        match wanted(spec, iface, &live) {
            Ok(want) => vec![compare(setting(iface, &want), setting(iface, &live))],
            Err(why) => {
                let why = format!("{why} (ethtool -l {iface})");
                vec![refused(Kind::Channels, iface, &asked, why)]
            }
        }
    }
}

/// The live counts with the rule's changes, or why the driver cannot take them.
fn wanted(
    spec: &ChannelSpec,
    iface: &IfName,
    live: &ChannelParams,
) -> Result<ChannelParams, String> {
    let mut want = *live;
    if let Some(c) = spec.combined {
        if live.max_combined == 0 {
            return Err(format!(
                "{iface}'s driver has no combined channels (maximums: rx {}, tx {}); use channels = {{ rx = N, tx = N }}",
                live.max_rx, live.max_tx
            ));
        }
        want.combined = pick(iface, "combined channels", c, live.max_combined)?;
        return Ok(want);
    }
    let mut why = Vec::new();
    for (count, max, what, slot) in [
        (spec.rx, live.max_rx, "rx", &mut want.rx),
        (spec.tx, live.max_tx, "tx", &mut want.tx),
    ] {
        let Some(c) = count else { continue };
        if max == 0 {
            why.push(format!(
                "{iface}'s driver has no separate {what} channels (maximum combined {}); use channels = {{ combined = N }}",
                live.max_combined
            ));
            continue;
        }
        match pick(iface, &format!("{what} channels"), c, max) {
            Ok(n) => *slot = n,
            Err(e) => why.push(e),
        }
    }
    if why.is_empty() {
        Ok(want)
    } else {
        Err(why.join("; "))
    }
}

fn setting(iface: &IfName, c: &ChannelParams) -> Setting {
    Setting::Channels {
        iface: iface.clone(),
        rx: c.rx,
        tx: c.tx,
        other: c.other,
        combined: c.combined,
    }
}

/// The profile's words, for items that have no resolved setting (`combined max`).
fn spec_text(spec: &ChannelSpec) -> String {
    [
        ("combined", spec.combined),
        ("rx", spec.rx),
        ("tx", spec.tx),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| format!("{k} {v}")))
    .collect::<Vec<_>>()
    .join(" ")
}

/// The kernel refuses a channel cut that removes RX queues a configured RSS table still uses
/// (EINVAL from `ethtool_set_channels`). Such a table can only be one an apply wrote over
/// queues it added (a plan never cuts under one: the `rss_indir` lint refuses that), so
/// restoring the channels first resets it to the driver's default spread; its recorded value
/// is restored after the channels, like every queue setting. A NIC without a table, or with
/// one inside the queues that remain, is left alone.
fn unpin_rss_above(host: &Host, iface: &IfName, after: u32) {
    let Ok(table) = host.nic.read::<RssIndir>(iface, ()) else {
        return;
    };
    // An `equal K` spread is the driver's default, which the kernel does not hold a cut to
    // (the same test as the `rss_indir` lint).
    let pinned = !table.0.is_empty() && RssIndir::equal_spread(&table.0).is_none();
    if pinned && table.0.iter().any(|&q| q >= after) {
        // If the reset fails the cut fails on its own, with the kernel's error.
        let _ = host.nic.write(iface, RssIndir(Vec::new()));
    }
}

/// The RX queues of a channel setting, as the kernel counts them against an RSS table.
fn rx_queues(c: &ChannelParams) -> u32 {
    c.rx + c.combined
}

/// Sets every channel count to the setting's. Equivalent to
/// `ethtool -L IFACE rx N tx N other N combined N`. The setting was built from a full read, so
/// nothing the rule did not name changes; the maximums come from a fresh read.
pub fn write(host: &Host, s: &Setting) -> Result<(), KnobError> {
    let Setting::Channels {
        iface,
        rx,
        tx,
        other,
        combined,
    } = s
    else {
        unreachable!("channels::write of {s:?}")
    };
    let cur = host.nic.channels(iface)?;
    let want = ChannelParams {
        rx: *rx,
        tx: *tx,
        other: *other,
        combined: *combined,
        ..cur
    };
    unpin_rss_above(host, iface, rx_queues(&want));
    if want == cur {
        // A channel change re-creates the queues and their IRQs; never do it for nothing.
        return Ok(());
    }
    Ok(host.nic.set_channels(iface, &want)?)
}

/// Reads the channel counts. Equivalent to `ethtool -l IFACE`.
pub fn read(host: &Host, at: &Setting) -> Result<Setting, KnobError> {
    let Setting::Channels { iface, .. } = at else {
        unreachable!("channels::read of {at:?}")
    };
    Ok(setting(iface, &host.nic.channels(iface)?))
}

/// Channel counts in snapshots.
pub struct ChannelOps;

impl crate::knobs::SettingOps for ChannelOps {
    fn address(s: &Setting) -> String {
        let Setting::Channels { iface, .. } = s else {
            unreachable!()
        };
        format!("channels {iface}")
    }
    fn describe(s: &Setting) -> (Kind, String, String) {
        let Setting::Channels {
            iface,
            rx,
            tx,
            other,
            combined,
        } = s
        else {
            unreachable!()
        };
        (
            Kind::Channels,
            iface.to_string(),
            format!("rx {rx} tx {tx} other {other} combined {combined}"),
        )
    }
    /// An interface name.
    fn validate(s: &Setting) -> Result<(), String> {
        let Setting::Channels { iface, .. } = s else {
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
    use nix::errno::Errno;

    fn params(max: (u32, u32, u32, u32), now: (u32, u32, u32, u32)) -> ChannelParams {
        ChannelParams {
            max_rx: max.0,
            max_tx: max.1,
            max_other: max.2,
            max_combined: max.3,
            rx: now.0,
            tx: now.1,
            other: now.2,
            combined: now.3,
        }
    }

    fn spec(combined: Option<Count>, rx: Option<Count>, tx: Option<Count>) -> ChannelSpec {
        ChannelSpec { combined, rx, tx }
    }

    #[test]
    fn diff_table() {
        let eth0: IfName = "eth0".parse().unwrap();
        let ixgbe = params((0, 0, 1, 63), (0, 0, 1, 8));
        let veth = params((4, 4, 0, 0), (4, 4, 0, 0));
        let n = |x| Some(Count::N(x));
        // (spec, live, status, desired text or the start of the note)
        let rows: [(ChannelSpec, ChannelParams, Status, &str); 7] = [
            (spec(n(8), None, None), ixgbe, Status::Ok, ""),
            // "other" (the link vector) is carried over, not zeroed.
            (
                spec(Some(Count::Max), None, None),
                ixgbe,
                Status::Drift,
                "rx 0 tx 0 other 1 combined 63",
            ),
            (
                spec(n(64), None, None),
                ixgbe,
                Status::Error,
                "combined channels 64 is above",
            ),
            (
                spec(None, n(2), n(2)),
                veth,
                Status::Drift,
                "rx 2 tx 2 other 0 combined 0",
            ),
            (
                spec(None, n(2), None),
                veth,
                Status::Drift,
                "rx 2 tx 4 other 0 combined 0",
            ),
            (
                spec(n(2), None, None),
                veth,
                Status::Error,
                "eth0's driver has no combined",
            ),
            (
                spec(None, n(2), None),
                ixgbe,
                Status::Error,
                "eth0's driver has no separate rx",
            ),
        ];
        for (s, live, status, text) in rows {
            let d = Channels::diff(&s, &eth0, Ok(live));
            assert_eq!(d.len(), 1);
            assert_eq!(d[0].item.status, status, "{s:?}");
            match status {
                Status::Error => {
                    let note = d[0].item.note.clone().unwrap();
                    assert!(note.starts_with(text), "{note}");
                    assert!(note.ends_with("(ethtool -l eth0)"), "{note}");
                    assert!(d[0].desired.is_none(), "an error writes nothing");
                }
                Status::Drift => assert_eq!(d[0].item.desired, text, "{:?}", d[0].item),
                _ => {}
            }
        }
    }

    #[test]
    fn a_driver_without_the_operation_is_unsupported() {
        let eth0: IfName = "eth0".parse().unwrap();
        let err = crate::host::ethtool::nic_error("ETHTOOL_GCHANNELS", &eth0, Errno::EOPNOTSUPP);
        let d = Channels::diff(&spec(Some(Count::N(2)), None, None), &eth0, Err(err));
        assert_eq!(d[0].item.status, Status::Unsupported);
        let err = crate::host::ethtool::nic_error("ETHTOOL_GCHANNELS", &eth0, Errno::ENODEV);
        let d = Channels::diff(&spec(Some(Count::N(2)), None, None), &eth0, Err(err));
        assert_eq!(d[0].item.status, Status::Error);
    }
}
