//! File-backed stand-ins for the NIC and service seams, so that the binary under test
//! (`test-hooks` feature, `HOSTTUNE_TEST_SEAMS=files`, a `--root` other than `/`) can be
//! killed mid-apply and its host compared byte for byte afterwards: every ring, channel and
//! unit state lives in a file of the fixture tree.
//!
//! - `/sys/class/net/IFACE/ethtool` (under the root): `rings RX TX RX_MAX TX_MAX` (or
//!   `rings none`, EOPNOTSUPP) and `channels RX TX OTHER COMBINED MAX_RX MAX_TX MAX_OTHER
//!   MAX_COMBINED`; a missing interface directory is ENODEV.
//! - `/run/hosttune-test/units/UNIT`: `active|inactive enabled|disabled`; a missing file is a
//!   unit that is not installed.

use std::path::PathBuf;

use nix::errno::Errno;

use crate::host::nic::{ChannelParams, NicError, NicOps, RingParams};
use crate::host::services::{ServiceError, ServiceState, Services};
use crate::host::{Files, RootFs, paths};
use crate::types::IfName;

/// Rings and channels in `/sys/class/net/IFACE/ethtool`.
pub struct FileNic {
    pub fs: RootFs,
}

fn os(op: &'static str, iface: &IfName, errno: Errno) -> NicError {
    NicError::Os {
        op,
        iface: iface.clone(),
        errno,
    }
}

impl FileNic {
    fn load(&self, op: &'static str, iface: &IfName) -> Result<Vec<Vec<u32>>, NicError> {
        if !self.fs.exists(&paths::net(iface, "")) {
            return Err(os(op, iface, Errno::ENODEV));
        }
        let text = self
            .fs
            .read(&paths::net(iface, "ethtool"))
            .map_err(|_| NicError::unsupported(op, iface, "no ethtool file in the fixture"))?;
        let mut out = vec![Vec::new(), Vec::new()];
        for line in text.lines() {
            let mut w = line.split_whitespace();
            let slot = match w.next() {
                Some("rings") => 0,
                Some("channels") => 1,
                _ => continue,
            };
            out[slot] = w.filter_map(|n| n.parse().ok()).collect();
        }
        Ok(out)
    }

    fn store(&self, op: &'static str, iface: &IfName, v: &[Vec<u32>]) -> Result<(), NicError> {
        let line = |name: &str, f: &[u32]| {
            if f.is_empty() {
                format!("{name} none\n")
            } else {
                let n: Vec<String> = f.iter().map(u32::to_string).collect();
                format!("{name} {}\n", n.join(" "))
            }
        };
        let text = line("rings", &v[0]) + &line("channels", &v[1]);
        self.fs
            .write(&paths::net(iface, "ethtool"), &text)
            .map_err(|_| os(op, iface, Errno::EIO))
    }
}

impl NicOps for FileNic {
    fn rings(&self, iface: &IfName) -> Result<RingParams, NicError> {
        let v = self.load("ETHTOOL_GRINGPARAM", iface)?;
        match v[0].as_slice() {
            [rx, tx, rx_max, tx_max] => Ok(RingParams {
                rx: *rx,
                tx: *tx,
                rx_max: *rx_max,
                tx_max: *tx_max,
                ..RingParams::default()
            }),
            _ => Err(NicError::unsupported(
                "ETHTOOL_GRINGPARAM",
                iface,
                "no rings",
            )),
        }
    }

    fn set_rings(&self, iface: &IfName, r: &RingParams) -> Result<(), NicError> {
        let op = "ETHTOOL_SRINGPARAM";
        let mut v = self.load(op, iface)?;
        let [_, _, rx_max, tx_max] = v[0].as_slice() else {
            return Err(NicError::unsupported(op, iface, "no rings"));
        };
        if r.rx > *rx_max || r.tx > *tx_max || r.rx == 0 || r.tx == 0 {
            return Err(os(op, iface, Errno::EINVAL));
        }
        v[0] = vec![r.rx, r.tx, *rx_max, *tx_max];
        self.store(op, iface, &v)
    }

    fn channels(&self, iface: &IfName) -> Result<ChannelParams, NicError> {
        let v = self.load("ETHTOOL_GCHANNELS", iface)?;
        match v[1].as_slice() {
            [
                rx,
                tx,
                other,
                combined,
                max_rx,
                max_tx,
                max_other,
                max_combined,
            ] => Ok(ChannelParams {
                rx: *rx,
                tx: *tx,
                other: *other,
                combined: *combined,
                max_rx: *max_rx,
                max_tx: *max_tx,
                max_other: *max_other,
                max_combined: *max_combined,
            }),
            _ => Err(NicError::unsupported(
                "ETHTOOL_GCHANNELS",
                iface,
                "no channels",
            )),
        }
    }

    fn set_channels(&self, iface: &IfName, c: &ChannelParams) -> Result<(), NicError> {
        let op = "ETHTOOL_SCHANNELS";
        let now = self.channels(iface)?;
        if c.rx > now.max_rx
            || c.tx > now.max_tx
            || c.other > now.max_other
            || c.combined > now.max_combined
            || (c.rx + c.combined == 0)
            || (c.tx + c.combined == 0)
        {
            return Err(os(op, iface, Errno::EINVAL));
        }
        let mut v = self.load(op, iface)?;
        v[1] = vec![
            c.rx,
            c.tx,
            c.other,
            c.combined,
            now.max_rx,
            now.max_tx,
            now.max_other,
            now.max_combined,
        ];
        self.store(op, iface, &v)
    }
}

/// Unit states in `/run/hosttune-test/units/UNIT`.
pub struct FileServices {
    pub fs: RootFs,
}

impl FileServices {
    fn path(unit: &str) -> PathBuf {
        PathBuf::from("/run/hosttune-test/units").join(unit)
    }

    fn set(&self, unit: &str, f: impl FnOnce(&mut ServiceState)) -> Result<(), ServiceError> {
        let failed = |detail: String| ServiceError::Failed {
            action: "set",
            unit: unit.to_string(),
            detail,
        };
        let mut st = self
            .state(unit)?
            .ok_or_else(|| failed(format!("unit {unit} not found")))?;
        f(&mut st);
        let text = format!(
            "{} {}\n",
            if st.active { "active" } else { "inactive" },
            if st.enabled { "enabled" } else { "disabled" }
        );
        self.fs
            .write(&Self::path(unit), &text)
            .map_err(|e| failed(e.to_string()))
    }
}

impl Services for FileServices {
    fn state(&self, unit: &str) -> Result<Option<ServiceState>, ServiceError> {
        match self.fs.read(&Self::path(unit)) {
            Ok(t) => Ok(Some(ServiceState {
                active: t.split_whitespace().next() == Some("active"),
                enabled: t.split_whitespace().nth(1) == Some("enabled"),
            })),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(ServiceError::Failed {
                action: "status",
                unit: unit.to_string(),
                detail: e.to_string(),
            }),
        }
    }
    fn set_active(&self, unit: &str, active: bool) -> Result<(), ServiceError> {
        self.set(unit, |s| s.active = active)
    }
    fn set_enabled(&self, unit: &str, enabled: bool) -> Result<(), ServiceError> {
        self.set(unit, |s| s.enabled = enabled)
    }
    fn restart(&self, unit: &str) -> Result<(), ServiceError> {
        self.set(unit, |s| s.active = true)
    }
}
