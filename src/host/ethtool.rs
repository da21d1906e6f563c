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

use nix::errno::Errno;
use nix::sys::socket::{AddressFamily, SockFlag, SockType, socket};

use crate::host::nic::{ChannelParams, FlowType, HashFields, NicError, NicOps, RingParams};
use crate::types::IfName;

/// Kernel ABI, field for field as in the uapi headers named at the top of this file.
#[allow(non_camel_case_types)]
pub mod abi {
    /// `SIOCETHTOOL` (`include/uapi/linux/sockios.h`).
    pub const SIOCETHTOOL: u32 = 0x8946;
    /// Get ring parameters.
    pub const ETHTOOL_GRINGPARAM: u32 = 0x0000_0010;
    /// Set ring parameters.
    pub const ETHTOOL_SRINGPARAM: u32 = 0x0000_0011;
    /// Get channel counts.
    pub const ETHTOOL_GCHANNELS: u32 = 0x0000_003c;
    /// Set channel counts.
    pub const ETHTOOL_SCHANNELS: u32 = 0x0000_003d;
    /// Get the RX flow hash configuration of one flow type (`struct ethtool_rxnfc`).
    pub const ETHTOOL_GRXFH: u32 = 0x0000_0029;
    /// Set the RX flow hash configuration of one flow type (`struct ethtool_rxnfc`).
    pub const ETHTOOL_SRXFH: u32 = 0x0000_002a;
    /// Get the legacy offload flags word (`struct ethtool_value`).
    pub const ETHTOOL_GFLAGS: u32 = 0x0000_0025;
    /// Set the legacy offload flags word (`struct ethtool_value`); carries every flag, so
    /// read first.
    pub const ETHTOOL_SFLAGS: u32 = 0x0000_0026;
    /// `ETH_FLAG_LRO` in the flags word: large receive offload.
    pub const ETH_FLAG_LRO: u32 = 1 << 15;

    /// Flow types, for `ethtool_rxnfc.flow_type`: TCP over IPv4.
    pub const TCP_V4_FLOW: u32 = 0x01;
    /// UDP over IPv4.
    pub const UDP_V4_FLOW: u32 = 0x02;
    /// SCTP over IPv4.
    pub const SCTP_V4_FLOW: u32 = 0x03;
    /// TCP over IPv6.
    pub const TCP_V6_FLOW: u32 = 0x05;
    /// UDP over IPv6.
    pub const UDP_V6_FLOW: u32 = 0x06;
    /// SCTP over IPv6.
    pub const SCTP_V6_FLOW: u32 = 0x07;
    /// Flag in `flow_type`: act on the RSS context named in `rss_context`. With it set the
    /// kernel copies the whole `struct ethtool_rxnfc` for GRXFH/SRXFH; hosttune never sets it.
    pub const FLOW_RSS: u32 = 0x2000_0000;

    /// Hash field bits, for `ethtool_rxnfc.data` with GRXFH/SRXFH: layer 2 destination address.
    pub const RXH_L2DA: u32 = 1 << 1;
    /// VLAN tag.
    pub const RXH_VLAN: u32 = 1 << 2;
    /// Layer 3 protocol field.
    pub const RXH_L3_PROTO: u32 = 1 << 3;
    /// IP source address.
    pub const RXH_IP_SRC: u32 = 1 << 4;
    /// IP destination address.
    pub const RXH_IP_DST: u32 = 1 << 5;
    /// Bytes 0 and 1 of the L4 header (the source port for TCP, UDP and SCTP).
    pub const RXH_L4_B_0_1: u32 = 1 << 6;
    /// Bytes 2 and 3 of the L4 header (the destination port for TCP, UDP and SCTP).
    pub const RXH_L4_B_2_3: u32 = 1 << 7;
    /// Discard the flow type's packets on receive.
    pub const RXH_DISCARD: u32 = 1 << 31;

    /// `ETH_ALEN` (`include/uapi/linux/if_ether.h`).
    pub const ETH_ALEN: usize = 6;
    /// `IFNAMSIZ` (`include/uapi/linux/if.h`): 15 bytes of name and a NUL.
    pub const IFNAMSIZ: usize = 16;

    /// `struct ethtool_value`: a command and one 32-bit word.
    #[repr(C)]
    #[derive(Debug, Default, Clone, Copy)]
    pub struct ethtool_value {
        pub cmd: u32,
        pub data: u32,
    }

    /// `struct ethtool_ringparam`.
    #[repr(C)]
    #[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
    pub struct ethtool_ringparam {
        pub cmd: u32,
        pub rx_max_pending: u32,
        pub rx_mini_max_pending: u32,
        pub rx_jumbo_max_pending: u32,
        pub tx_max_pending: u32,
        pub rx_pending: u32,
        pub rx_mini_pending: u32,
        pub rx_jumbo_pending: u32,
        pub tx_pending: u32,
    }

    /// `struct ethtool_channels`.
    #[repr(C)]
    #[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
    pub struct ethtool_channels {
        pub cmd: u32,
        pub max_rx: u32,
        pub max_tx: u32,
        pub max_other: u32,
        pub max_combined: u32,
        pub rx_count: u32,
        pub tx_count: u32,
        pub other_count: u32,
        pub combined_count: u32,
    }

    /// `struct ethtool_tcpip4_spec`, mirrored for its alignment: it is the member of
    /// `union ethtool_flow_union` that gives the union its 4-byte alignment. The `__be32` and
    /// `__be16` fields are big-endian.
    #[repr(C)]
    #[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
    pub struct ethtool_tcpip4_spec {
        pub ip4src: u32,
        pub ip4dst: u32,
        pub psrc: u16,
        pub pdst: u16,
        pub tos: u8,
    }

    /// `union ethtool_flow_union`: hosttune only zeroes it through `hdata`, the largest
    /// member (52 bytes); `tcp_ip4_spec` stands for the other members and gives the union its
    /// kernel alignment.
    #[repr(C)]
    #[derive(Clone, Copy)]
    pub union ethtool_flow_union {
        pub tcp_ip4_spec: ethtool_tcpip4_spec,
        pub hdata: [u8; 52],
    }

    impl Default for ethtool_flow_union {
        fn default() -> Self {
            Self { hdata: [0; 52] }
        }
    }

    /// `struct ethtool_flow_ext`. `vlan_etype`, `vlan_tci` and `data` are big-endian.
    #[repr(C)]
    #[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
    pub struct ethtool_flow_ext {
        pub padding: [u8; 2],
        pub h_dest: [u8; ETH_ALEN],
        pub vlan_etype: u16,
        pub vlan_tci: u16,
        pub data: [u32; 2],
    }

    /// `struct ethtool_rx_flow_spec`: a classification rule; unused by GRXFH/SRXFH, and
    /// mirrored so that `struct ethtool_rxnfc` has its kernel size.
    #[repr(C)]
    #[derive(Default, Clone, Copy)]
    pub struct ethtool_rx_flow_spec {
        pub flow_type: u32,
        pub h_u: ethtool_flow_union,
        pub h_ext: ethtool_flow_ext,
        pub m_u: ethtool_flow_union,
        pub m_ext: ethtool_flow_ext,
        pub ring_cookie: u64,
        pub location: u32,
    }

    /// The anonymous union after `fs` in `struct ethtool_rxnfc`.
    #[repr(C)]
    #[derive(Clone, Copy)]
    pub union ethtool_rxnfc_cnt_ctx {
        pub rule_cnt: u32,
        pub rss_context: u32,
    }

    impl Default for ethtool_rxnfc_cnt_ctx {
        fn default() -> Self {
            Self { rule_cnt: 0 }
        }
    }

    /// `struct ethtool_rxnfc`. For GRXFH/SRXFH only `cmd`, `flow_type` and `data` (the
    /// `RXH_*` bits) mean anything; the kernel copies the whole struct only when `flow_type`
    /// has `FLOW_RSS`. `rule_locs` is the C flexible array member `__u32 rule_locs[0]`,
    /// which only ETHTOOL_GRXCLSRLALL fills.
    #[repr(C)]
    #[derive(Default, Clone, Copy)]
    pub struct ethtool_rxnfc {
        pub cmd: u32,
        pub flow_type: u32,
        pub data: u64,
        pub fs: ethtool_rx_flow_spec,
        pub cnt_ctx: ethtool_rxnfc_cnt_ctx,
        pub rule_locs: [u32; 0],
    }

    /// The `ifr_ifru` union of `struct ifreq`: hosttune only uses `ifru_data`; `ifru_map` is
    /// the largest member and gives the union its kernel size.
    #[repr(C)]
    #[derive(Clone, Copy)]
    pub union ifreq_ifru {
        pub ifru_data: *mut libc::c_void,
        pub ifru_map: ifmap,
    }

    /// `struct ifmap`, mirrored only for its size: it is the largest member of `ifr_ifru`.
    #[repr(C)]
    #[derive(Debug, Default, Clone, Copy)]
    pub struct ifmap {
        pub mem_start: libc::c_ulong,
        pub mem_end: libc::c_ulong,
        pub base_addr: libc::c_ushort,
        pub irq: libc::c_uchar,
        pub dma: libc::c_uchar,
        pub port: libc::c_uchar,
    }

    /// `struct ifreq`, as SIOCETHTOOL reads it: an interface name and a pointer to the
    /// command struct.
    #[repr(C)]
    #[derive(Clone, Copy)]
    pub struct ifreq {
        pub ifr_name: [libc::c_char; IFNAMSIZ],
        pub ifr_ifru: ifreq_ifru,
    }
}

use abi::{ethtool_channels, ethtool_ringparam, ethtool_rxnfc, ethtool_value, ifreq, ifreq_ifru};

nix::ioctl_readwrite_bad!(
    /// `ioctl(fd, SIOCETHTOOL, struct ifreq *)`.
    siocethtool,
    abi::SIOCETHTOOL,
    ifreq
);

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

/// Maps an errno from SIOCETHTOOL to a [`NicError`]. EOPNOTSUPP (the same value as ENOTSUP on
/// Linux) is what the ethtool core returns when the driver has no callback for `op`, so the
/// item is `unsupported`; everything else is a real failure. Shared with the fake so both
/// classify alike.
pub fn nic_error(op: &'static str, iface: &IfName, errno: Errno) -> NicError {
    if errno == Errno::EOPNOTSUPP || errno == Errno::ENOTSUP {
        NicError::unsupported(op, iface, errno.desc())
    } else {
        NicError::Os {
            op,
            iface: iface.clone(),
            errno,
        }
    }
}

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

impl NicOps for Ethtool {
    /// Reads ring sizes and maximums. Equivalent to `ethtool -g eth0`.
    fn rings(&self, iface: &IfName) -> Result<RingParams, NicError> {
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
    fn set_rings(&self, iface: &IfName, rings: &RingParams) -> Result<(), NicError> {
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
    fn channels(&self, iface: &IfName) -> Result<ChannelParams, NicError> {
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
    fn set_channels(&self, iface: &IfName, ch: &ChannelParams) -> Result<(), NicError> {
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
    fn rx_flow_hash(&self, iface: &IfName, flow: FlowType) -> Result<HashFields, NicError> {
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
    fn set_rx_flow_hash(
        &self,
        iface: &IfName,
        flow: FlowType,
        fields: HashFields,
    ) -> Result<(), NicError> {
        rxfh_ioctl(iface, flow, Some(fields)).map(drop)
    }

    /// Whether LRO is on. Equivalent to `ethtool -k IFACE | grep large-receive-offload`.
    fn lro(&self, iface: &IfName) -> Result<bool, NicError> {
        let mut raw = ethtool_value {
            cmd: abi::ETHTOOL_GFLAGS,
            data: 0,
        };
        ethtool_ioctl(iface, "ETHTOOL_GFLAGS", &mut raw)?;
        Ok(raw.data & abi::ETH_FLAG_LRO != 0)
    }

    /// Turns LRO on or off, keeping the other flags. Equivalent to `ethtool -K IFACE lro on`.
    fn set_lro(&self, iface: &IfName, on: bool) -> Result<(), NicError> {
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

#[cfg(test)]
mod tests {
    use super::*;
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
