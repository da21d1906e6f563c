//! The transmit queue length (`/sys/class/net/IFACE/tx_queue_len`).

use crate::host::{Host, paths};
use crate::knobs::KnobError;
use crate::knobs::cx::PlanCx;
use crate::knobs::nic_knob::{Count, NicKnob};
use crate::knobs::queues::{compare, refused};
use crate::knobs::{Entry, Kind, Setting};
use crate::schema::{Loc, ProfileError};
use crate::types::IfName;

/// The `txqueuelen` knob: one item per interface. Equivalent to comparing
/// `ip link show IFACE` (`qlen`) with the wanted length.
pub struct Txqueuelen;

impl NicKnob for Txqueuelen {
    type Spec = Count;
    type Observed = Result<Setting, KnobError>;
    const KIND: Kind = Kind::Txqueuelen;

    fn validate(len: &Count, at: &Loc, errs: &mut Vec<ProfileError>) {
        if *len == Count::Max {
            errs.push(ProfileError::invalid(
                at.clone(),
                "txqueuelen has no driver maximum; give a number",
            ));
        }
    }

    fn observe(_: &Count, iface: &IfName, cx: &PlanCx) -> Self::Observed {
        read(
            &cx.host,
            &Setting::Txqueuelen {
                iface: iface.clone(),
                len: 0,
            },
        )
    }

    fn diff(spec: &Count, iface: &IfName, live: Self::Observed) -> Vec<Entry> {
        // `"max"` is refused while loading: the kernel has no maximum to take.
        let Count::N(len) = *spec else {
            return Vec::new();
        };
        let want = Setting::Txqueuelen {
            iface: iface.clone(),
            len,
        };
        match live {
            Ok(live) => vec![compare(want, live)],
            Err(e) => vec![refused(
                Kind::Txqueuelen,
                iface,
                &len.to_string(),
                e.to_string(),
            )],
        }
    }
}

/// Writes the queue length. Equivalent to `ip link set IFACE txqueuelen N`.
pub fn write(host: &Host, s: &Setting) -> Result<(), KnobError> {
    let Setting::Txqueuelen { iface, len } = s else {
        unreachable!("txqueuelen::write of {s:?}")
    };
    let path = paths::net(iface, "tx_queue_len");
    host.fs
        .write(&path, &format!("{len}\n"))
        .map_err(|source| KnobError::File {
            path: host.fs.display(&path).display().to_string(),
            op: "write",
            source,
        })
}

/// Reads the queue length.
pub fn read(host: &Host, at: &Setting) -> Result<Setting, KnobError> {
    let Setting::Txqueuelen { iface, .. } = at else {
        unreachable!("txqueuelen::read of {at:?}")
    };
    let path = paths::net(iface, "tx_queue_len");
    let text = host.fs.read(&path).map_err(|source| KnobError::File {
        path: host.fs.display(&path).display().to_string(),
        op: "read",
        source,
    })?;
    let len = text.trim().parse().map_err(|_| KnobError::Other {
        iface: iface.clone(),
        what: format!("tx_queue_len {:?} is not a number", text.trim()),
    })?;
    Ok(Setting::Txqueuelen {
        iface: iface.clone(),
        len,
    })
}

/// Transmit queue lengths in snapshots.
pub struct TxqueuelenOps;

impl crate::knobs::SettingOps for TxqueuelenOps {
    fn address(s: &Setting) -> String {
        let Setting::Txqueuelen { iface, .. } = s else {
            unreachable!()
        };
        format!("txqueuelen {iface}")
    }
    fn describe(s: &Setting) -> (Kind, String, String) {
        let Setting::Txqueuelen { iface, len } = s else {
            unreachable!()
        };
        (Kind::Txqueuelen, iface.to_string(), len.to_string())
    }
    /// An interface name.
    fn validate(s: &Setting) -> Result<(), String> {
        let Setting::Txqueuelen { iface, .. } = s else {
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

    #[test]
    fn diff_table() {
        let eth0: IfName = "eth0".parse().unwrap();
        let live = |len| {
            Ok(Setting::Txqueuelen {
                iface: eth0.clone(),
                len,
            })
        };
        let rows = [
            (1000, live(1000), Status::Ok),
            (5000, live(1000), Status::Drift),
            (
                5000,
                Err(KnobError::Other {
                    iface: eth0.clone(),
                    what: "tx_queue_len \"x\" is not a number".into(),
                }),
                Status::Error,
            ),
        ];
        for (want, l, status) in rows {
            let d = Txqueuelen::diff(&Count::N(want), &eth0, l);
            assert_eq!(d.len(), 1);
            assert_eq!(d[0].item.status, status, "{want}");
            assert_eq!(d[0].item.desired, want.to_string());
        }
    }

    #[test]
    fn max_has_no_meaning_for_a_queue_length() {
        let mut errs = Vec::new();
        Txqueuelen::validate(&Count::Max, &Loc::default(), &mut errs);
        assert_eq!(errs.len(), 1);
        assert!(errs[0].to_string().contains("no driver maximum"));
        errs.clear();
        Txqueuelen::validate(&Count::N(10), &Loc::default(), &mut errs);
        assert!(errs.is_empty());
    }
}
