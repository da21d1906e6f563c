//! The real [`NicOps`]: ring and channel counts and RSS hash fields through the legacy
//! SIOCETHTOOL ioctl, the same kernel entry points `ethtool -g/-G/-l/-L` and
//! `ethtool -n/-N IFACE rx-flow-hash` reach. This file owns the kernel ABI for them, mirrored
//! from the uapi headers: `struct ethtool_ringparam`, `struct ethtool_channels`,
//! `struct ethtool_rxnfc` (with the `struct ethtool_rx_flow_spec` it embeds), the flow types,
//! the `RXH_*` bits and the `ETHTOOL_*` command numbers from `include/uapi/linux/ethtool.h`,
//! `ETH_ALEN` from `include/uapi/linux/if_ether.h`, `SIOCETHTOOL` from
//! `include/uapi/linux/sockios.h`, and `struct ifreq` (only its name and `ifr_data`) from
//! `include/uapi/linux/if.h`. It is the only place in hosttune with `unsafe`.

use std::os::fd::AsRawFd;

use nix::sys::socket::{AddressFamily, SockFlag, SockType, socket};

use crate::host::ethtool_cmds as cmds;
use crate::host::nic::{
    ChannelParams, FeatureState, FlowHash, FlowType, HashFields, NicCmd, NicError, NicOps,
    NicValue, RingParams,
};
use crate::types::IfName;

pub use super::abi;

use abi::{ethtool_channels, ethtool_ringparam, ethtool_rxnfc, ethtool_value, ifreq, ifreq_ifru};

use crate::host::ethtool_cmds::siocethtool;

/// The command structs that SIOCETHTOOL may point at. Private, so only these three: the ioctl
/// wrapper relies on each being a `#[repr(C)]` mirror of the kernel struct its `cmd` selects,
/// and, for `ethtool_rxnfc`, on `cmd` being ETHTOOL_GRXFH or ETHTOOL_SRXFH (the only
/// commands [`rxfh_ioctl`] sends), for which the kernel copies at most the struct itself and
/// never touches `rule_locs`.
trait Command {}
impl Command for ethtool_ringparam {}
impl Command for ethtool_channels {}
impl Command for ethtool_rxnfc {}
impl Command for ethtool_value {}

pub use crate::host::nic::nic_error;

/// Runs one SIOCETHTOOL command on `iface`. The socket is opened per call, so the call acts
/// in the network namespace of the calling thread at that moment.
fn ethtool_ioctl<T: Command>(
    iface: &IfName,
    op: &'static str,
    cmd: &mut T,
) -> Result<(), NicError> {
    let sock = socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(|errno| NicError::Os {
        op: "socket(AF_INET, SOCK_DGRAM)",
        iface: iface.clone(),
        errno,
    })?;

    // Zeroed through the largest union member so every byte the kernel copies in is defined.
    let mut ifr = ifreq {
        ifr_name: [0; abi::IFNAMSIZ],
        ifr_ifru: ifreq_ifru {
            ifru_map: abi::ifmap::default(),
        },
    };
    ifr.ifr_ifru.ifru_data = (cmd as *mut T).cast();
    // IfName guarantees at most 15 bytes and no NUL, so the name stays NUL-terminated.
    for (dst, src) in ifr.ifr_name.iter_mut().zip(iface.as_str().bytes()) {
        *dst = src as libc::c_char;
    }

    // SAFETY: `sock` is an open socket that outlives the call. `ifr` is a fully initialised
    // `struct ifreq` with a NUL-terminated name, and `ifru_data` points at `*cmd`, which is
    // exclusively borrowed for the whole call. `Command` admits only the four `#[repr(C)]`
    // mirrors, and each caller here sets `cmd` to a command whose kernel struct is `T`, so
    // the kernel's copy_from_user and copy_to_user of that struct stay inside `*cmd`. For
    // `ethtool_rxnfc` the only commands are GRXFH and SRXFH: the kernel copies 16 bytes
    // (`cmd`, `flow_type`, `data`) in and, for GRXFH, back out, or the whole struct
    // when `flow_type` has FLOW_RSS; either fits in `*cmd`, and `rule_locs` is not used.
    let res = unsafe { siocethtool(sock.as_raw_fd(), &mut ifr) };
    res.map(drop).map_err(|errno| nic_error(op, iface, errno))
}

/// Runs ETHTOOL_GRXFH (`set` is `None`) or ETHTOOL_SRXFH for `flow` on `iface`, returning
/// the `data` word the kernel leaves in the struct. The whole `struct ethtool_rxnfc` is passed
/// zeroed, so it is valid whatever part of it the kernel reads.
fn rxfh_ioctl(iface: &IfName, flow: FlowType, set: Option<HashFields>) -> Result<u64, NicError> {
    let (cmd, op) = match set {
        None => (abi::ETHTOOL_GRXFH, "ETHTOOL_GRXFH"),
        Some(_) => (abi::ETHTOOL_SRXFH, "ETHTOOL_SRXFH"),
    };
    let mut raw = ethtool_rxnfc {
        cmd,
        flow_type: flow.to_kernel(),
        data: set.map_or(0, HashFields::bits),
        ..Default::default()
    };
    ethtool_ioctl(iface, op, &mut raw)?;
    Ok(raw.data)
}

/// The kernel's ring, channel and RSS hash field ioctls, in the network namespace of the
/// calling thread.
#[derive(Debug, Default, Clone, Copy)]
pub struct Ethtool;

impl Ethtool {
    /// Reads ring sizes and maximums. Equivalent to `ethtool -g eth0`.
    fn rings_op(self, iface: &IfName) -> Result<RingParams, NicError> {
        let mut raw = ethtool_ringparam {
            cmd: abi::ETHTOOL_GRINGPARAM,
            ..Default::default()
        };
        ethtool_ioctl(iface, "ETHTOOL_GRINGPARAM", &mut raw)?;
        Ok(RingParams {
            rx_max: raw.rx_max_pending,
            rx_mini_max: raw.rx_mini_max_pending,
            rx_jumbo_max: raw.rx_jumbo_max_pending,
            tx_max: raw.tx_max_pending,
            rx: raw.rx_pending,
            rx_mini: raw.rx_mini_pending,
            rx_jumbo: raw.rx_jumbo_pending,
            tx: raw.tx_pending,
        })
    }

    /// Sets every ring size at once; the kernel checks each against the driver's maximum and
    /// ignores the maximums passed in. Equivalent to `ethtool -G eth0 rx 4096 tx 4096`.
    fn set_rings_op(self, iface: &IfName, rings: &RingParams) -> Result<(), NicError> {
        let mut raw = ethtool_ringparam {
            cmd: abi::ETHTOOL_SRINGPARAM,
            rx_max_pending: rings.rx_max,
            rx_mini_max_pending: rings.rx_mini_max,
            rx_jumbo_max_pending: rings.rx_jumbo_max,
            tx_max_pending: rings.tx_max,
            rx_pending: rings.rx,
            rx_mini_pending: rings.rx_mini,
            rx_jumbo_pending: rings.rx_jumbo,
            tx_pending: rings.tx,
        };
        ethtool_ioctl(iface, "ETHTOOL_SRINGPARAM", &mut raw)
    }

    /// Reads channel counts and maximums. Equivalent to `ethtool -l eth0`.
    fn channels_op(self, iface: &IfName) -> Result<ChannelParams, NicError> {
        let mut raw = ethtool_channels {
            cmd: abi::ETHTOOL_GCHANNELS,
            ..Default::default()
        };
        ethtool_ioctl(iface, "ETHTOOL_GCHANNELS", &mut raw)?;
        Ok(ChannelParams {
            max_rx: raw.max_rx,
            max_tx: raw.max_tx,
            max_other: raw.max_other,
            max_combined: raw.max_combined,
            rx: raw.rx_count,
            tx: raw.tx_count,
            other: raw.other_count,
            combined: raw.combined_count,
        })
    }

    /// Sets every channel count at once: a zero is a request for zero, not "leave alone",
    /// and the kernel wants at least one rx and one tx queue (combined, or rx and tx).
    /// Equivalent to `ethtool -L eth0 combined 8`.
    fn set_channels_op(self, iface: &IfName, ch: &ChannelParams) -> Result<(), NicError> {
        let mut raw = ethtool_channels {
            cmd: abi::ETHTOOL_SCHANNELS,
            max_rx: ch.max_rx,
            max_tx: ch.max_tx,
            max_other: ch.max_other,
            max_combined: ch.max_combined,
            rx_count: ch.rx,
            tx_count: ch.tx,
            other_count: ch.other,
            combined_count: ch.combined,
        };
        ethtool_ioctl(iface, "ETHTOOL_SCHANNELS", &mut raw)
    }

    /// Reads which fields the RSS hash of `flow` covers. Equivalent to
    /// `ethtool -n eth0 rx-flow-hash tcp4`. A driver answer of no fields, or with a bit that
    /// has no ethtool letter here, is `unsupported`: hosttune could not write it back.
    fn rx_flow_hash_op(self, iface: &IfName, flow: FlowType) -> Result<HashFields, NicError> {
        let op = "ETHTOOL_GRXFH";
        let data = rxfh_ioctl(iface, flow, None)?;
        HashFields::from_bits(data).ok_or_else(|| {
            let why = if data == 0 {
                format!("the driver hashes no fields for {flow}")
            } else {
                format!(
                    "the driver reports hash bits {data:#x} for {flow}, beyond ethtool's m v t s d f n r"
                )
            };
            NicError::unsupported(op, iface, &why)
        })
    }

    /// Sets which fields the RSS hash of `flow` covers; the driver refuses (EINVAL) sets it
    /// cannot program. Equivalent to `ethtool -N eth0 rx-flow-hash tcp4 sdfn`.
    fn set_rx_flow_hash_op(
        self,
        iface: &IfName,
        flow: FlowType,
        fields: HashFields,
    ) -> Result<(), NicError> {
        rxfh_ioctl(iface, flow, Some(fields)).map(drop)
    }

    /// Whether LRO is on. Equivalent to `ethtool -k IFACE | grep large-receive-offload`.
    fn lro_op(self, iface: &IfName) -> Result<bool, NicError> {
        let mut raw = ethtool_value {
            cmd: abi::ETHTOOL_GFLAGS,
            data: 0,
        };
        ethtool_ioctl(iface, "ETHTOOL_GFLAGS", &mut raw)?;
        Ok(raw.data & abi::ETH_FLAG_LRO != 0)
    }

    /// Turns LRO on or off, keeping the other flags. Equivalent to `ethtool -K IFACE lro on`.
    fn set_lro_op(self, iface: &IfName, on: bool) -> Result<(), NicError> {
        let mut raw = ethtool_value {
            cmd: abi::ETHTOOL_GFLAGS,
            data: 0,
        };
        ethtool_ioctl(iface, "ETHTOOL_GFLAGS", &mut raw)?;
        raw.cmd = abi::ETHTOOL_SFLAGS;
        raw.data = if on {
            raw.data | abi::ETH_FLAG_LRO
        } else {
            raw.data & !abi::ETH_FLAG_LRO
        };
        ethtool_ioctl(iface, "ETHTOOL_SFLAGS", &mut raw)
    }
}

/// Each command to its ioctl: the one place a new ethtool command is wired to the kernel.
impl NicOps for Ethtool {
    fn get(&self, iface: &IfName, cmd: NicCmd) -> Result<NicValue, NicError> {
        Ok(match cmd {
            NicCmd::Rings => NicValue::Rings(self.rings_op(iface)?),
            NicCmd::Channels => NicValue::Channels(self.channels_op(iface)?),
            NicCmd::RxFlowHash(flow) => NicValue::RxFlowHash(FlowHash {
                flow,
                fields: self.rx_flow_hash_op(iface, flow)?,
            }),
            NicCmd::Lro => NicValue::Lro(self.lro_op(iface)?),
            NicCmd::Features => NicValue::Features(
                cmds::features(iface)?
                    .iter()
                    .map(|f| {
                        let state = FeatureState {
                            on: f.active,
                            fixed: !f.changeable(),
                        };
                        (f.name.clone(), state)
                    })
                    .collect(),
            ),
            NicCmd::Coalesce => NicValue::Coalesce(cmds::coalesce(iface)?),
            NicCmd::Pause => NicValue::Pause(cmds::pause(iface)?),
            NicCmd::RssIndir => NicValue::RssIndir(cmds::rss_indir(iface)?),
            NicCmd::Stats => NicValue::Stats(cmds::nic_stats(iface)?),
            NicCmd::RxRings => NicValue::RxRings(cmds::rx_rings(iface)?),
        })
    }

    fn set(&self, iface: &IfName, v: &NicValue) -> Result<(), NicError> {
        match v {
            NicValue::Rings(r) => self.set_rings_op(iface, r),
            NicValue::Channels(c) => self.set_channels_op(iface, c),
            NicValue::RxFlowHash(h) => self.set_rx_flow_hash_op(iface, h.flow, h.fields),
            NicValue::Lro(on) => self.set_lro_op(iface, *on),
            // What the kernel did not apply shows in the read-back that follows every write.
            NicValue::Features(map) => {
                let wanted = map
                    .iter()
                    .filter(|(_, s)| !s.fixed)
                    .map(|(n, s)| (n.clone(), s.on))
                    .collect();
                cmds::set_features(iface, &wanted).map(drop)
            }
            NicValue::Coalesce(c) => cmds::set_coalesce(iface, c),
            NicValue::Pause(p) => cmds::set_pause(iface, *p),
            NicValue::RssIndir(t) => cmds::set_rss_indir(iface, t),
            NicValue::Stats(_) => Err(NicError::unsupported(
                NicCmd::Stats.set_name(),
                iface,
                "driver statistics cannot be written",
            )),
            NicValue::RxRings(_) => Err(NicError::unsupported(
                "ETHTOOL_GRXRINGS",
                iface,
                "the RX ring count is read-only; it follows the channels",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::errno::Errno;
    use std::mem::{align_of, offset_of, size_of};

    #[test]
    fn abi_structs_have_the_kernel_sizes() {
        assert_eq!(size_of::<ethtool_ringparam>(), 36);
        assert_eq!(size_of::<ethtool_channels>(), 36);
        assert_eq!(offset_of!(ethtool_ringparam, tx_pending), 32);
        assert_eq!(offset_of!(ethtool_channels, combined_count), 32);
        assert_eq!(size_of::<ifreq>(), size_of::<libc::ifreq>());
        assert_eq!(offset_of!(ifreq, ifr_ifru), abi::IFNAMSIZ);
        #[cfg(target_pointer_width = "64")]
        assert_eq!(size_of::<ifreq>(), 40);
    }

    #[test]
    fn rxnfc_has_the_kernel_layout() {
        use abi::{
            ethtool_flow_ext, ethtool_flow_union, ethtool_rx_flow_spec, ethtool_tcpip4_spec,
        };
        assert_eq!(size_of::<ethtool_tcpip4_spec>(), 16);
        assert_eq!(size_of::<ethtool_flow_union>(), 52);
        assert_eq!(align_of::<ethtool_flow_union>(), 4);
        assert_eq!(size_of::<ethtool_flow_ext>(), 20);
        assert_eq!(align_of::<ethtool_flow_ext>(), 4);
        assert_eq!(offset_of!(ethtool_flow_ext, h_dest), 2);
        assert_eq!(offset_of!(ethtool_flow_ext, vlan_etype), 8);
        assert_eq!(offset_of!(ethtool_flow_ext, vlan_tci), 10);
        assert_eq!(offset_of!(ethtool_flow_ext, data), 12);

        // Where __u64 is 8-aligned (x86-64 and every 64-bit ABI): a 4-byte hole before
        // ring_cookie and at the end of both structs. i386 aligns __u64 to 4 and has neither;
        // the kernel converts that layout for 32-bit callers on a 64-bit kernel.
        if align_of::<u64>() == 8 {
            assert_eq!(offset_of!(ethtool_rx_flow_spec, h_u), 4);
            assert_eq!(offset_of!(ethtool_rx_flow_spec, h_ext), 56);
            assert_eq!(offset_of!(ethtool_rx_flow_spec, m_u), 76);
            assert_eq!(offset_of!(ethtool_rx_flow_spec, m_ext), 128);
            assert_eq!(offset_of!(ethtool_rx_flow_spec, ring_cookie), 152);
            assert_eq!(offset_of!(ethtool_rx_flow_spec, location), 160);
            assert_eq!(size_of::<ethtool_rx_flow_spec>(), 168);

            assert_eq!(offset_of!(ethtool_rxnfc, cmd), 0);
            assert_eq!(offset_of!(ethtool_rxnfc, flow_type), 4);
            assert_eq!(offset_of!(ethtool_rxnfc, data), 8);
            assert_eq!(offset_of!(ethtool_rxnfc, fs), 16);
            assert_eq!(offset_of!(ethtool_rxnfc, cnt_ctx), 184);
            assert_eq!(offset_of!(ethtool_rxnfc, rule_locs), 188);
            assert_eq!(size_of::<ethtool_rxnfc>(), 192);
            assert_eq!(align_of::<ethtool_rxnfc>(), 8);
        }
        // What the kernel copies for GRXFH/SRXFH without FLOW_RSS: up to the end of `data`.
        assert_eq!(offset_of!(ethtool_rxnfc, data) + size_of::<u64>(), 16);
    }

    #[test]
    fn command_numbers_match_the_uapi_header() {
        assert_eq!(abi::SIOCETHTOOL, 0x8946);
        // libc's request type is c_ulong on glibc and c_int on musl.
        #[allow(clippy::unnecessary_cast)]
        let from_libc = libc::SIOCETHTOOL as u64;
        assert_eq!(u64::from(abi::SIOCETHTOOL), from_libc);
        assert_eq!(abi::ETHTOOL_GRINGPARAM, 0x10);
        assert_eq!(abi::ETHTOOL_SRINGPARAM, 0x11);
        assert_eq!(abi::ETHTOOL_GCHANNELS, 0x3c);
        assert_eq!(abi::ETHTOOL_SCHANNELS, 0x3d);
        assert_eq!(abi::ETHTOOL_GRXFH, 0x29);
        assert_eq!(abi::ETHTOOL_SRXFH, 0x2a);
        assert_eq!(abi::ETHTOOL_GFLAGS, 0x25);
        assert_eq!(abi::ETHTOOL_SFLAGS, 0x26);
        assert_eq!(abi::ETH_FLAG_LRO, 0x8000);
        assert_eq!(size_of::<ethtool_value>(), 8);
    }

    #[test]
    fn flow_types_and_hash_bits_match_the_uapi_header() {
        let flows = [
            abi::TCP_V4_FLOW,
            abi::UDP_V4_FLOW,
            abi::SCTP_V4_FLOW,
            abi::TCP_V6_FLOW,
            abi::UDP_V6_FLOW,
            abi::SCTP_V6_FLOW,
        ];
        assert_eq!(flows, [0x01, 0x02, 0x03, 0x05, 0x06, 0x07]);
        assert_eq!(abi::FLOW_RSS, 0x2000_0000);
        let rxh = [
            abi::RXH_L2DA,
            abi::RXH_VLAN,
            abi::RXH_L3_PROTO,
            abi::RXH_IP_SRC,
            abi::RXH_IP_DST,
            abi::RXH_L4_B_0_1,
            abi::RXH_L4_B_2_3,
            abi::RXH_DISCARD,
        ];
        assert_eq!(rxh, [0x2, 0x4, 0x8, 0x10, 0x20, 0x40, 0x80, 0x8000_0000]);
        assert_eq!(abi::ETH_ALEN, 6);
    }

    #[test]
    fn a_zeroed_rxnfc_carries_only_the_request() {
        let raw = ethtool_rxnfc {
            cmd: abi::ETHTOOL_SRXFH,
            flow_type: abi::UDP_V6_FLOW,
            data: 0xf0,
            ..Default::default()
        };
        assert_eq!((raw.cmd, raw.flow_type, raw.data), (0x2a, 0x06, 0xf0));
        assert_eq!(raw.fs.flow_type, 0);
        assert_eq!(raw.fs.ring_cookie, 0);
        // SAFETY: both union members are plain integer arrays or structs of integers, and
        // `Default` initialised the union through `hdata`, its largest member.
        let hdata = unsafe { raw.fs.h_u.hdata };
        assert_eq!(hdata, [0; 52]);
        // SAFETY: both members of the union are `u32`, so either reads the same bytes.
        let rule_cnt = unsafe { raw.cnt_ctx.rule_cnt };
        assert_eq!(rule_cnt, 0);
    }

    #[test]
    fn errno_maps_to_unsupported_or_os() {
        let eth0: IfName = "eth0".parse().unwrap();
        for errno in [Errno::EOPNOTSUPP, Errno::ENOTSUP] {
            let err = nic_error("ETHTOOL_GRINGPARAM", &eth0, errno);
            assert!(matches!(
                err,
                NicError::Unsupported {
                    op: "ETHTOOL_GRINGPARAM",
                    ..
                }
            ));
        }
        for errno in [Errno::ENODEV, Errno::EBUSY, Errno::EINVAL, Errno::EPERM] {
            let err = nic_error("ETHTOOL_SRINGPARAM", &eth0, errno);
            assert_eq!(
                err,
                NicError::Os {
                    op: "ETHTOOL_SRINGPARAM",
                    iface: eth0.clone(),
                    errno
                }
            );
        }
        assert_eq!(
            nic_error("ETHTOOL_SCHANNELS", &eth0, Errno::EBUSY).to_string(),
            "ETHTOOL_SCHANNELS on eth0: EBUSY: Device or resource busy"
        );
    }
}
