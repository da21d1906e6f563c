//! The kernel ABI of the ethtool ioctls, field for field as in the uapi headers:
//! `struct ethtool_ringparam`, `struct ethtool_channels`, `struct ethtool_rxnfc` (with the
//! `struct ethtool_rx_flow_spec` it embeds), the flow types, the `RXH_*` bits and the
//! `ETHTOOL_*` command numbers from `include/uapi/linux/ethtool.h`, `ETH_ALEN` from
//! `include/uapi/linux/if_ether.h`, `SIOCETHTOOL` from `include/uapi/linux/sockios.h`, and
//! `struct ifreq` (only its name and `ifr_data`) from `include/uapi/linux/if.h`. Data only:
//! the calls are in `ethtool.rs`, the value types in `nic.rs`.
#![allow(non_camel_case_types)]

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
