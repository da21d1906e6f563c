//! `FakeNic`: an in-memory [`NicOps`] that behaves like real drivers behind SIOCETHTOOL, so
//! plan, apply and rollback can be tested against rounding, unsupported operations, limits
//! and mid-run faults. It applies the ethtool core's checks first (a count above its maximum,
//! or no rx/tx queue left, is EINVAL) and then the driver's own rules, and it logs every set
//! call so a test can assert that nothing was written. RSS hash fields (`rx-flow-hash`)
//! follow each driver's flow types, defaults and accepted field sets. The RSS indirection
//! table (given with `with_value`) is checked against the RX queues as the ethtool core does.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use nix::errno::Errno;

use crate::host::nic::nic_error;
use crate::host::nic::{
    ChannelParams, FlowHash, FlowType, HashFields, NicCmd, NicError, NicOps, NicValue, RingParams,
    RssIndir,
};
use crate::types::IfName;

/// How one fake interface's driver behaves. `ring_max` is the rx and tx ring maximum that
/// `ethtool -g` shows; `queues` is the channel maximum, and also the starting count.
///
/// RSS hash fields: a flow type the driver does not hash is EINVAL for get and set (the
/// drivers' `default:` case), and a field set the driver cannot program is EINVAL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    /// Intel 82599/X5x0: rings clamped up to 64 and rounded up to a multiple of 8; combined
    /// channels plus one fixed "other" (the link vector) that every set must carry. Hashes
    /// tcp4/udp4/tcp6/udp6: tcp is `sdfn` and only `sdfn`; udp starts at `sd` and takes `sd`
    /// or `sdfn`.
    Ixgbe { ring_max: u32, queues: u32 },
    /// Intel X710/XL710: rings below 64 are EINVAL, others rounded up to a multiple of 32;
    /// channels as ixgbe. Hashes all six flow types, `sdfn` at start, any subset of `sdfn`.
    I40e { ring_max: u32, queues: u32 },
    /// Mellanox ConnectX: rings below 64 are EINVAL, others rounded up to a power of two;
    /// combined channels only. Hashes tcp4/udp4/tcp6/udp6, `sdfn` at start, any subset of
    /// `sdfn`.
    Mlx5 { ring_max: u32, queues: u32 },
    /// AWS ENA: rings clamped up to 256 and rounded down to a power of two; combined only.
    /// Hash fields are read-only (set is EOPNOTSUPP): `sdfn` for tcp4 and udp4.
    Ena { ring_max: u32, queues: u32 },
    /// veth: no ring parameters at all (EOPNOTSUPP); separate rx and tx channels; no RSS
    /// hash fields (EOPNOTSUPP for get and set).
    Veth { queues: u32 },
}

/// An operation a one-shot fault can be injected into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NicOp {
    GetRings,
    SetRings,
    GetChannels,
    SetChannels,
    GetRxFlowHash,
    SetRxFlowHash,
    /// Any other command's get (`false`) or set (`true`).
    Other(NicCmd, bool),
}

impl NicOp {
    /// The ethtool command name, as it appears in [`NicError`].
    pub fn name(self) -> &'static str {
        match self {
            Self::GetRings => "ETHTOOL_GRINGPARAM",
            Self::SetRings => "ETHTOOL_SRINGPARAM",
            Self::GetChannels => "ETHTOOL_GCHANNELS",
            Self::SetChannels => "ETHTOOL_SCHANNELS",
            Self::GetRxFlowHash => "ETHTOOL_GRXFH",
            Self::SetRxFlowHash => "ETHTOOL_SRXFH",
            Self::Other(cmd, false) => cmd.get_name(),
            Self::Other(cmd, true) => cmd.set_name(),
        }
    }
}

/// What a set call asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetRequest {
    Rings(RingParams),
    Channels(ChannelParams),
    RxFlowHash {
        flow: FlowType,
        fields: HashFields,
    },
    /// Any other command's value.
    Other(NicValue),
}

/// One set call, successful or not, in call order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetCall {
    pub iface: IfName,
    pub request: SetRequest,
    pub result: Result<(), Errno>,
}

#[derive(Debug)]
struct Iface {
    driver: Driver,
    /// `None` where the driver has no ring parameters.
    rings: Option<RingParams>,
    channels: ChannelParams,
    /// Hash fields of each flow type the driver hashes; empty where it has none.
    rxfh: BTreeMap<FlowType, HashFields>,
    /// The values of every other command the interface has; a command not here is
    /// EOPNOTSUPP, as a driver without the callback answers.
    other: BTreeMap<NicCmd, NicValue>,
}

#[derive(Debug, Default)]
struct State {
    ifaces: BTreeMap<IfName, Iface>,
    faults: Vec<(IfName, NicOp, Errno)>,
    calls: Vec<SetCall>,
}

/// A fake NIC layer holding any number of interfaces. Interior mutability lets a test keep a
/// shared reference in a `Host` and still inspect or fault it.
#[derive(Debug, Default)]
pub struct FakeNic {
    state: Mutex<State>,
}

fn name(iface: &str) -> IfName {
    iface
        .parse()
        .unwrap_or_else(|e| panic!("fake nic: bad interface name: {e}"))
}

fn fields(letters: &str) -> HashFields {
    letters
        .parse()
        .unwrap_or_else(|e| panic!("fake nic: bad hash fields: {e}"))
}

impl Driver {
    fn initial(self) -> Iface {
        let (rings, other, combined, rxtx) = match self {
            Self::Ixgbe { ring_max, queues } | Self::I40e { ring_max, queues } => {
                (Some((ring_max, 512)), 1, queues, 0)
            }
            Self::Mlx5 { ring_max, queues } | Self::Ena { ring_max, queues } => {
                (Some((ring_max, 1024)), 0, queues, 0)
            }
            Self::Veth { queues } => (None, 0, 0, queues),
        };
        Iface {
            driver: self,
            rings: rings.map(|(max, default)| RingParams {
                rx_max: max,
                tx_max: max,
                rx: default.min(max),
                tx: default.min(max),
                ..Default::default()
            }),
            channels: ChannelParams {
                max_rx: rxtx,
                max_tx: rxtx,
                max_other: other,
                max_combined: combined,
                rx: rxtx,
                tx: rxtx,
                other,
                combined,
            },
            rxfh: self.rxfh_defaults(),
            other: BTreeMap::new(),
        }
    }

    /// The hash fields of each flow type the driver hashes, as it comes up.
    fn rxfh_defaults(self) -> BTreeMap<FlowType, HashFields> {
        use FlowType::*;
        let (sdfn, sd) = (fields("sdfn"), fields("sd"));
        let table: &[(FlowType, HashFields)] = match self {
            Self::Ixgbe { .. } => &[(Tcp4, sdfn), (Udp4, sd), (Tcp6, sdfn), (Udp6, sd)],
            Self::I40e { .. } => &[
                (Tcp4, sdfn),
                (Udp4, sdfn),
                (Sctp4, sdfn),
                (Tcp6, sdfn),
                (Udp6, sdfn),
                (Sctp6, sdfn),
            ],
            Self::Mlx5 { .. } => &[(Tcp4, sdfn), (Udp4, sdfn), (Tcp6, sdfn), (Udp6, sdfn)],
            Self::Ena { .. } => &[(Tcp4, sdfn), (Udp4, sdfn)],
            Self::Veth { .. } => &[],
        };
        table.iter().copied().collect()
    }

    /// Whether the driver programs `want` for a flow type it hashes.
    fn rxfh_accepts(self, flow: FlowType, want: HashFields) -> Result<(), Errno> {
        let (sdfn, sd) = (fields("sdfn"), fields("sd"));
        let ok = match self {
            Self::Veth { .. } | Self::Ena { .. } => return Err(Errno::EOPNOTSUPP),
            Self::Ixgbe { .. } => match flow {
                FlowType::Udp4 | FlowType::Udp6 => want == sd || want == sdfn,
                _ => want == sdfn,
            },
            Self::I40e { .. } | Self::Mlx5 { .. } => sdfn.contains(want),
        };
        if ok { Ok(()) } else { Err(Errno::EINVAL) }
    }

    /// The ring size the driver really programs for a request already within the maximum.
    fn ring_size(self, want: u32) -> Result<u32, Errno> {
        match self {
            Self::Ixgbe { .. } => Ok(want.max(64).next_multiple_of(8)),
            Self::I40e { .. } if want < 64 => Err(Errno::EINVAL),
            Self::I40e { .. } => Ok(want.next_multiple_of(32)),
            Self::Mlx5 { .. } if want < 64 => Err(Errno::EINVAL),
            Self::Mlx5 { .. } => Ok(want.next_power_of_two()),
            Self::Ena { .. } => Ok(1 << want.max(256).ilog2()),
            Self::Veth { .. } => Err(Errno::EOPNOTSUPP),
        }
    }
}

impl FakeNic {
    /// A fake with no interfaces: every call is ENODEV until one is added.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) an interface driven by `driver`, in that driver's default state.
    pub fn with_iface(self, iface: &str, driver: Driver) -> Self {
        self.lock().ifaces.insert(name(iface), driver.initial());
        self
    }

    /// Sets current rx/tx ring sizes directly, as if the host booted that way.
    pub fn with_rings(self, iface: &str, rx: u32, tx: u32) -> Self {
        let mut st = self.lock();
        let rings = st
            .ifaces
            .get_mut(&name(iface))
            .and_then(|i| i.rings.as_mut());
        let rings = rings.unwrap_or_else(|| panic!("fake nic: {iface} has no rings"));
        rings.rx = rx;
        rings.tx = tx;
        drop(st);
        self
    }

    /// Sets current channel counts directly, as if the host booted that way.
    pub fn with_channels(self, iface: &str, rx: u32, tx: u32, combined: u32) -> Self {
        let mut st = self.lock();
        let ch = &mut st
            .ifaces
            .get_mut(&name(iface))
            .expect("fake nic: no such iface")
            .channels;
        (ch.rx, ch.tx, ch.combined) = (rx, tx, combined);
        drop(st);
        self
    }

    /// Gives an interface a command that has no driver model here (LRO, features,
    /// coalescing, ...), holding `value`; its sets store what they are given.
    pub fn with_value(self, iface: &str, value: NicValue) -> Self {
        let mut st = self.lock();
        let nic = st.ifaces.get_mut(&name(iface));
        let nic = nic.unwrap_or_else(|| panic!("fake nic: no such iface {iface}"));
        nic.other.insert(value.cmd(), value);
        drop(st);
        self
    }

    /// The current value of a command stored with [`FakeNic::with_value`].
    pub fn value_of(&self, iface: &str, cmd: NicCmd) -> Option<NicValue> {
        self.lock()
            .ifaces
            .get(&name(iface))?
            .other
            .get(&cmd)
            .cloned()
    }

    /// Makes the next `op` on `iface` fail with `errno`, once, before any other check.
    pub fn fail_next(&self, iface: &str, op: NicOp, errno: Errno) {
        self.lock().faults.push((name(iface), op, errno));
    }

    /// Current ring state, or `None` for an unknown interface or one without rings.
    pub fn rings_of(&self, iface: &str) -> Option<RingParams> {
        self.lock().ifaces.get(&name(iface)).and_then(|i| i.rings)
    }

    /// Sets one flow type's hash fields directly, as if the host booted that way.
    pub fn with_rx_flow_hash(self, iface: &str, flow: FlowType, letters: &str) -> Self {
        let mut st = self.lock();
        let nic = st.ifaces.get_mut(&name(iface));
        let nic = nic.unwrap_or_else(|| panic!("fake nic: no such iface {iface}"));
        let slot = nic.rxfh.get_mut(&flow);
        *slot.unwrap_or_else(|| panic!("fake nic: {iface} does not hash {flow}")) = fields(letters);
        drop(st);
        self
    }

    /// Current hash fields of `flow`, or `None` for an unknown interface or a flow type its
    /// driver does not hash.
    pub fn rx_flow_hash_of(&self, iface: &str, flow: FlowType) -> Option<HashFields> {
        let st = self.lock();
        st.ifaces.get(&name(iface))?.rxfh.get(&flow).copied()
    }

    /// Current channel state, or `None` for an unknown interface.
    pub fn channels_of(&self, iface: &str) -> Option<ChannelParams> {
        self.lock().ifaces.get(&name(iface)).map(|i| i.channels)
    }

    /// Every set call so far, failed ones included.
    pub fn set_calls(&self) -> Vec<SetCall> {
        self.lock().calls.clone()
    }

    /// How many set calls were made, failed ones included.
    pub fn set_count(&self) -> usize {
        self.lock().calls.len()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking test must not hide the fake's state from the next assertion.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs one op: interface lookup, then injected faults, then `f`; logs sets.
    fn run<T>(
        &self,
        iface: &IfName,
        op: NicOp,
        set: Option<SetRequest>,
        f: impl FnOnce(&mut Iface) -> Result<T, Errno>,
    ) -> Result<T, NicError> {
        let mut st = self.lock();
        let fault = st
            .faults
            .iter()
            .position(|(i, o, _)| i == iface && *o == op);
        let res = match (fault, st.ifaces.get_mut(iface)) {
            (_, None) => Err(Errno::ENODEV),
            (Some(at), Some(_)) => Err(st.faults.remove(at).2),
            (None, Some(nic)) => f(nic),
        };
        if let Some(request) = set {
            let result = res.as_ref().map(drop).map_err(|e| *e);
            st.calls.push(SetCall {
                iface: iface.clone(),
                request,
                result,
            });
        }
        res.map_err(|errno| nic_error(op.name(), iface, errno))
    }
}

impl FakeNic {
    fn rings_op(&self, iface: &IfName) -> Result<RingParams, NicError> {
        self.run(iface, NicOp::GetRings, None, |nic| {
            nic.rings.ok_or(Errno::EOPNOTSUPP)
        })
    }

    fn set_rings_op(&self, iface: &IfName, want: &RingParams) -> Result<(), NicError> {
        let req = Some(SetRequest::Rings(*want));
        self.run(iface, NicOp::SetRings, req, |nic| {
            let cur = nic.rings.as_mut().ok_or(Errno::EOPNOTSUPP)?;
            // The ethtool core compares with the driver's maximums, not the caller's.
            if want.rx > cur.rx_max
                || want.rx_mini > cur.rx_mini_max
                || want.rx_jumbo > cur.rx_jumbo_max
                || want.tx > cur.tx_max
            {
                return Err(Errno::EINVAL);
            }
            let rx = nic.driver.ring_size(want.rx)?;
            let tx = nic.driver.ring_size(want.tx)?;
            (cur.rx, cur.tx) = (rx, tx);
            Ok(())
        })
    }

    fn channels_op(&self, iface: &IfName) -> Result<ChannelParams, NicError> {
        self.run(iface, NicOp::GetChannels, None, |nic| Ok(nic.channels))
    }

    fn set_channels_op(&self, iface: &IfName, want: &ChannelParams) -> Result<(), NicError> {
        let req = Some(SetRequest::Channels(*want));
        self.run(iface, NicOp::SetChannels, req, |nic| {
            let cur = &mut nic.channels;
            // The ethtool core: nothing above its maximum (so a kind whose maximum is 0
            // cannot be asked for), and at least one rx and one tx queue must remain.
            if want.rx > cur.max_rx
                || want.tx > cur.max_tx
                || want.other > cur.max_other
                || want.combined > cur.max_combined
                || (want.combined == 0 && (want.rx == 0 || want.tx == 0))
            {
                return Err(Errno::EINVAL);
            }
            // ixgbe and i40e refuse any "other" count but their one link vector.
            if matches!(nic.driver, Driver::Ixgbe { .. } | Driver::I40e { .. })
                && want.other != cur.max_other
            {
                return Err(Errno::EINVAL);
            }
            // The ethtool core refuses to remove RX queues that a configured (non-default)
            // RSS table still uses (ethtool_set_channels, ethtool_get_max_rxfh_channel).
            if let Some(NicValue::RssIndir(t)) = nic.other.get(&NicCmd::RssIndir) {
                let pinned = !t.0.is_empty() && RssIndir::equal_spread(&t.0).is_none();
                let used = t.0.iter().max().map_or(0, |m| m + 1);
                if pinned && want.rx + want.combined < used {
                    return Err(Errno::EINVAL);
                }
            }
            (cur.rx, cur.tx, cur.other, cur.combined) =
                (want.rx, want.tx, want.other, want.combined);
            Ok(())
        })
    }

    fn rx_flow_hash_op(&self, iface: &IfName, flow: FlowType) -> Result<HashFields, NicError> {
        self.run(iface, NicOp::GetRxFlowHash, None, |nic| {
            if matches!(nic.driver, Driver::Veth { .. }) {
                return Err(Errno::EOPNOTSUPP);
            }
            nic.rxfh.get(&flow).copied().ok_or(Errno::EINVAL)
        })
    }

    fn set_rx_flow_hash_op(
        &self,
        iface: &IfName,
        flow: FlowType,
        want: HashFields,
    ) -> Result<(), NicError> {
        let req = Some(SetRequest::RxFlowHash { flow, fields: want });
        self.run(iface, NicOp::SetRxFlowHash, req, |nic| {
            let driver = nic.driver;
            let slot = nic.rxfh.get_mut(&flow);
            // A driver without the operation says so before looking at the flow type.
            let slot = match (driver.rxfh_accepts(flow, want), slot) {
                (Err(Errno::EOPNOTSUPP), _) => return Err(Errno::EOPNOTSUPP),
                (_, None) => return Err(Errno::EINVAL),
                (res, Some(slot)) => res.map(|()| slot)?,
            };
            *slot = want;
            Ok(())
        })
    }
}

/// The RX queues of a channel setting, as drivers count them for ETHTOOL_GRXRINGS.
fn rx_queues(ch: &ChannelParams) -> u32 {
    ch.rx + ch.combined
}

/// What ETHTOOL_SRXFHINDIR leaves: a size-0 write puts back the default spread over the RX
/// queues, and the ethtool core refuses (EINVAL) a table of another size or an entry at or
/// above the RX ring count.
fn rss_indir_set(cur: &RssIndir, want: &RssIndir, rings: u32) -> Result<RssIndir, Errno> {
    if want.0.is_empty() {
        return Ok(RssIndir::equal(cur.0.len(), rings));
    }
    if want.0.len() != cur.0.len() || want.0.iter().any(|&q| q >= rings) {
        return Err(Errno::EINVAL);
    }
    Ok(want.clone())
}

impl NicOps for FakeNic {
    fn get(&self, iface: &IfName, cmd: NicCmd) -> Result<NicValue, NicError> {
        Ok(match cmd {
            NicCmd::Rings => NicValue::Rings(self.rings_op(iface)?),
            NicCmd::Channels => NicValue::Channels(self.channels_op(iface)?),
            NicCmd::RxFlowHash(flow) => NicValue::RxFlowHash(FlowHash {
                flow,
                fields: self.rx_flow_hash_op(iface, flow)?,
            }),
            // Drivers answer ETHTOOL_GRXRINGS with the RX queues in use.
            NicCmd::RxRings => self.run(iface, NicOp::Other(cmd, false), None, |nic| {
                Ok(NicValue::RxRings(rx_queues(&nic.channels)))
            })?,
            cmd => self.run(iface, NicOp::Other(cmd, false), None, |nic| {
                nic.other.get(&cmd).cloned().ok_or(Errno::EOPNOTSUPP)
            })?,
        })
    }

    fn set(&self, iface: &IfName, v: &NicValue) -> Result<(), NicError> {
        match v {
            NicValue::Rings(r) => self.set_rings_op(iface, r),
            NicValue::Channels(c) => self.set_channels_op(iface, c),
            NicValue::RxFlowHash(h) => self.set_rx_flow_hash_op(iface, h.flow, h.fields),
            v => {
                let cmd = v.cmd();
                let req = Some(SetRequest::Other(v.clone()));
                self.run(iface, NicOp::Other(cmd, true), req, |nic| {
                    let rings = rx_queues(&nic.channels);
                    let slot = nic.other.get_mut(&cmd).ok_or(Errno::EOPNOTSUPP)?;
                    *slot = match (v, &*slot) {
                        (NicValue::RxRings(_), _) => return Err(Errno::EOPNOTSUPP),
                        (NicValue::RssIndir(t), NicValue::RssIndir(cur)) => {
                            NicValue::RssIndir(rss_indir_set(cur, t, rings)?)
                        }
                        _ => v.clone(),
                    };
                    Ok(())
                })
            }
        }
    }
}

#[cfg(test)]
mod tests;
