//! File-backed stand-ins for the NIC and service seams, so that the binary under test
//! (`test-hooks` feature, `HOSTTUNE_TEST_SEAMS=files`, a `--root` other than `/`) can be
//! killed mid-apply and its host compared byte for byte afterwards: every ring, channel and
//! unit state lives in a file of the fixture tree.
//!
//! - `/sys/class/net/IFACE/ethtool` (under the root): `rings RX TX RX_MAX TX_MAX` (or
//!   `rings none`, EOPNOTSUPP) and `channels RX TX OTHER COMBINED MAX_RX MAX_TX MAX_OTHER
//!   MAX_COMBINED`, then one `rxfh FLOW FIELDS` line (`rxfh tcp4 sdfn`) per flow type whose
//!   RSS hash fields the interface has (no line: EOPNOTSUPP for that flow type; a line that
//!   does not parse: EIO), and one `value JSON` line per other command the interface has
//!   (`value {"lro":false}`, a serialized `NicValue`; no line: EOPNOTSUPP); a missing
//!   interface directory is ENODEV.
//! - `/run/hosttune-test/units/UNIT`: `active|inactive enabled|disabled`; a missing file is a
//!   unit that is not installed.

use std::path::PathBuf;

use nix::errno::Errno;

use crate::host::nic::{
    ChannelParams, FlowHash, FlowType, HashFields, NicCmd, NicError, NicOps, NicValue, RingParams,
};
use crate::host::services::{ServiceError, ServiceState, Services};
use crate::host::{Files, RootFs, paths};
use crate::types::IfName;

/// Rings, channels and RSS hash fields in `/sys/class/net/IFACE/ethtool`.
pub struct FileNic {
    pub fs: RootFs,
}

/// The `ethtool` file of one interface: the numbers of its `rings` and `channels` lines
/// (empty for `none` or no line) and its `rxfh` lines in file order.
struct EthtoolFile {
    rings: Vec<u32>,
    channels: Vec<u32>,
    rxfh: Vec<(FlowType, HashFields)>,
    other: Vec<NicValue>,
}

fn os(op: &'static str, iface: &IfName, errno: Errno) -> NicError {
    NicError::Os {
        op,
        iface: iface.clone(),
        errno,
    }
}

impl FileNic {
    fn load(&self, op: &'static str, iface: &IfName) -> Result<EthtoolFile, NicError> {
        if !self.fs.exists(&paths::net(iface, "")) {
            return Err(os(op, iface, Errno::ENODEV));
        }
        let text = self
            .fs
            .read(&paths::net(iface, "ethtool"))
            .map_err(|_| NicError::unsupported(op, iface, "no ethtool file in the fixture"))?;
        let mut out = EthtoolFile {
            rings: Vec::new(),
            channels: Vec::new(),
            rxfh: Vec::new(),
            other: Vec::new(),
        };
        for line in text.lines() {
            let mut w = line.split_whitespace();
            let slot = match w.next() {
                Some("rings") => &mut out.rings,
                Some("channels") => &mut out.channels,
                Some("value") => {
                    let json = line.trim_start().strip_prefix("value").unwrap_or("");
                    match serde_json::from_str(json) {
                        Ok(v) => out.other.push(v),
                        Err(_) => return Err(os(op, iface, Errno::EIO)),
                    }
                    continue;
                }
                Some("rxfh") => {
                    let flow = w.next().and_then(|f| f.parse().ok());
                    let fields = w.next().and_then(|f| f.parse().ok());
                    match (flow, fields, w.next()) {
                        (Some(flow), Some(fields), None) => out.rxfh.push((flow, fields)),
                        _ => return Err(os(op, iface, Errno::EIO)),
                    }
                    continue;
                }
                _ => continue,
            };
            *slot = w.filter_map(|n| n.parse().ok()).collect();
        }
        Ok(out)
    }

    fn store(&self, op: &'static str, iface: &IfName, v: &EthtoolFile) -> Result<(), NicError> {
        let line = |name: &str, f: &[u32]| {
            if f.is_empty() {
                format!("{name} none\n")
            } else {
                let n: Vec<String> = f.iter().map(u32::to_string).collect();
                format!("{name} {}\n", n.join(" "))
            }
        };
        let mut text = line("rings", &v.rings) + &line("channels", &v.channels);
        for (flow, fields) in &v.rxfh {
            text += &format!("rxfh {flow} {fields}\n");
        }
        for v in &v.other {
            let json = serde_json::to_string(v).map_err(|_| os(op, iface, Errno::EIO))?;
            text += &format!("value {json}\n");
        }
        self.fs
            .write(&paths::net(iface, "ethtool"), &text)
            .map_err(|_| os(op, iface, Errno::EIO))
    }
}

impl FileNic {
    fn rings_op(&self, iface: &IfName) -> Result<RingParams, NicError> {
        let v = self.load("ETHTOOL_GRINGPARAM", iface)?;
        match v.rings.as_slice() {
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

    fn set_rings_op(&self, iface: &IfName, r: &RingParams) -> Result<(), NicError> {
        let op = "ETHTOOL_SRINGPARAM";
        let mut v = self.load(op, iface)?;
        let [_, _, rx_max, tx_max] = v.rings.as_slice() else {
            return Err(NicError::unsupported(op, iface, "no rings"));
        };
        if r.rx > *rx_max || r.tx > *tx_max || r.rx == 0 || r.tx == 0 {
            return Err(os(op, iface, Errno::EINVAL));
        }
        v.rings = vec![r.rx, r.tx, *rx_max, *tx_max];
        self.store(op, iface, &v)
    }

    fn channels_op(&self, iface: &IfName) -> Result<ChannelParams, NicError> {
        let v = self.load("ETHTOOL_GCHANNELS", iface)?;
        match v.channels.as_slice() {
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

    fn set_channels_op(&self, iface: &IfName, c: &ChannelParams) -> Result<(), NicError> {
        let op = "ETHTOOL_SCHANNELS";
        let now = self.channels_op(iface)?;
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
        v.channels = vec![
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

    fn rx_flow_hash_op(&self, iface: &IfName, flow: FlowType) -> Result<HashFields, NicError> {
        let op = "ETHTOOL_GRXFH";
        let v = self.load(op, iface)?;
        v.rxfh
            .iter()
            .find(|(f, _)| *f == flow)
            .map(|(_, fields)| *fields)
            .ok_or_else(|| NicError::unsupported(op, iface, &format!("no rxfh {flow} line")))
    }

    fn set_rx_flow_hash_op(
        &self,
        iface: &IfName,
        flow: FlowType,
        fields: HashFields,
    ) -> Result<(), NicError> {
        let op = "ETHTOOL_SRXFH";
        let mut v = self.load(op, iface)?;
        let Some(slot) = v.rxfh.iter_mut().find(|(f, _)| *f == flow) else {
            return Err(NicError::unsupported(
                op,
                iface,
                &format!("no rxfh {flow} line"),
            ));
        };
        slot.1 = fields;
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

impl NicOps for FileNic {
    fn get(&self, iface: &IfName, cmd: NicCmd) -> Result<NicValue, NicError> {
        Ok(match cmd {
            NicCmd::Rings => NicValue::Rings(self.rings_op(iface)?),
            NicCmd::Channels => NicValue::Channels(self.channels_op(iface)?),
            NicCmd::RxFlowHash(flow) => NicValue::RxFlowHash(FlowHash {
                flow,
                fields: self.rx_flow_hash_op(iface, flow)?,
            }),
            // The RX queues of the channels line, as drivers answer ETHTOOL_GRXRINGS.
            NicCmd::RxRings => {
                let ch = self.channels_op(iface)?;
                NicValue::RxRings(ch.rx + ch.combined)
            }
            cmd => {
                let op = cmd.get_name();
                let v = self.load(op, iface)?;
                v.other
                    .into_iter()
                    .find(|v| v.cmd() == cmd)
                    .ok_or_else(|| NicError::unsupported(op, iface, "no value line"))?
            }
        })
    }

    fn set(&self, iface: &IfName, value: &NicValue) -> Result<(), NicError> {
        match value {
            NicValue::Rings(r) => self.set_rings_op(iface, r),
            NicValue::Channels(c) => self.set_channels_op(iface, c),
            NicValue::RxFlowHash(h) => self.set_rx_flow_hash_op(iface, h.flow, h.fields),
            value => {
                let op = value.cmd().set_name();
                let mut v = self.load(op, iface)?;
                let slot = v.other.iter_mut().find(|o| o.cmd() == value.cmd());
                *slot.ok_or_else(|| NicError::unsupported(op, iface, "no value line"))? =
                    value.clone();
                self.store(op, iface, &v)
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::NicOpsExt as _;

    fn ifn(s: &str) -> IfName {
        s.parse().unwrap()
    }

    /// A root holding `/sys/class/net/eth0/ethtool` with `text`.
    fn root_with(text: &str) -> (tempfile::TempDir, FileNic) {
        let dir = tempfile::tempdir().unwrap();
        let net = dir.path().join("sys/class/net/eth0");
        std::fs::create_dir_all(&net).unwrap();
        std::fs::write(net.join("ethtool"), text).unwrap();
        let nic = FileNic {
            fs: RootFs::new(dir.path()),
        };
        (dir, nic)
    }

    fn file(dir: &tempfile::TempDir) -> String {
        std::fs::read_to_string(dir.path().join("sys/class/net/eth0/ethtool")).unwrap()
    }

    const TEXT: &str = "rings 512 512 4096 4096\nchannels 0 0 1 8 0 0 1 8\n\
                        rxfh udp4 sd\nrxfh tcp4 sdfn\n";

    #[test]
    fn rxfh_lines_read_and_rewrite_in_place() {
        let (dir, nic) = root_with(TEXT);
        let eth0 = ifn("eth0");
        let sd: HashFields = "sd".parse().unwrap();
        let sdfn: HashFields = "sdfn".parse().unwrap();
        assert_eq!(nic.rx_flow_hash(&eth0, FlowType::Tcp4).unwrap(), sdfn);
        assert_eq!(nic.rx_flow_hash(&eth0, FlowType::Udp4).unwrap(), sd);

        nic.set_rx_flow_hash(&eth0, FlowType::Udp4, "nfds".parse().unwrap())
            .unwrap();
        assert_eq!(
            file(&dir),
            TEXT.replace("rxfh udp4 sd\n", "rxfh udp4 sdfn\n")
        );
        // Rings and channels sets keep the rxfh lines.
        let mut r = nic.rings(&eth0).unwrap();
        r.rx = 1024;
        nic.set_rings(&eth0, &r).unwrap();
        let ch = nic.channels(&eth0).unwrap();
        nic.set_channels(&eth0, &ChannelParams { combined: 4, ..ch })
            .unwrap();
        nic.set_rx_flow_hash(&eth0, FlowType::Udp4, sd).unwrap();
        assert_eq!(
            file(&dir),
            "rings 1024 512 4096 4096\nchannels 0 0 1 4 0 0 1 8\nrxfh udp4 sd\nrxfh tcp4 sdfn\n"
        );
    }

    #[test]
    fn a_missing_rxfh_line_is_unsupported_and_a_bad_one_is_eio() {
        let (dir, nic) = root_with(TEXT);
        let eth0 = ifn("eth0");
        for flow in [FlowType::Sctp4, FlowType::Tcp6] {
            let get = nic.rx_flow_hash(&eth0, flow).unwrap_err();
            assert!(
                matches!(
                    get,
                    NicError::Unsupported {
                        op: "ETHTOOL_GRXFH",
                        ..
                    }
                ),
                "{get}"
            );
            let set = nic
                .set_rx_flow_hash(&eth0, flow, "sd".parse().unwrap())
                .unwrap_err();
            assert!(
                matches!(
                    set,
                    NicError::Unsupported {
                        op: "ETHTOOL_SRXFH",
                        ..
                    }
                ),
                "{set}"
            );
        }
        assert_eq!(file(&dir), TEXT, "a refused set wrote the file");

        for bad in [
            "rxfh tcp4 sdx\n",
            "rxfh ip4 sd\n",
            "rxfh tcp4\n",
            "rxfh tcp4 sd fn\n",
        ] {
            let (_dir, nic) = root_with(&format!("{TEXT}{bad}"));
            let err = nic.rx_flow_hash(&eth0, FlowType::Tcp4).unwrap_err();
            assert!(
                matches!(
                    err,
                    NicError::Os {
                        errno: Errno::EIO,
                        ..
                    }
                ),
                "{bad:?}: {err}"
            );
        }
        let err = nic.rx_flow_hash(&ifn("eth1"), FlowType::Tcp4).unwrap_err();
        assert!(
            matches!(
                err,
                NicError::Os {
                    errno: Errno::ENODEV,
                    ..
                }
            ),
            "{err}"
        );
    }
}
