//! Kernel ABI of the SIOCETHTOOL commands behind coalescing, pause frames, features, the RSS
//! indirection table and NIC statistics, field for field as in `include/uapi/linux/ethtool.h`:
//! `struct ethtool_coalesce`, `struct ethtool_pauseparam`, `struct ethtool_sset_info`,
//! `struct ethtool_gstrings`, `struct ethtool_stats`, `struct ethtool_rxfh_indir`,
//! `struct ethtool_gfeatures`/`ethtool_get_features_block`, `struct
//! ethtool_sfeatures`/`ethtool_set_features_block`, `enum ethtool_stringset` and the
//! `ETHTOOL_F_*` bits that ETHTOOL_SFEATURES returns. `struct ethtool_rxnfc` (for
//! ETHTOOL_GRXRINGS) and `struct ifreq` are mirrored in [`crate::host::abi`].
//!
//! The C flexible array members (`data[]`, `ring_index[]`, `features[]`) are not fields
//! here: each struct is the fixed header, and the array starts at `size_of` the header, which
//! the tests pin to the offset the C compiler gives the array.

#![allow(non_camel_case_types)]

/// Get interrupt coalescing parameters (`struct ethtool_coalesce`).
pub const ETHTOOL_GCOALESCE: u32 = 0x0000_000e;
/// Set interrupt coalescing parameters (`struct ethtool_coalesce`).
pub const ETHTOOL_SCOALESCE: u32 = 0x0000_000f;
/// Get pause (flow control) parameters (`struct ethtool_pauseparam`).
pub const ETHTOOL_GPAUSEPARAM: u32 = 0x0000_0012;
/// Set pause (flow control) parameters (`struct ethtool_pauseparam`).
pub const ETHTOOL_SPAUSEPARAM: u32 = 0x0000_0013;
/// Get one string set (`struct ethtool_gstrings`).
pub const ETHTOOL_GSTRINGS: u32 = 0x0000_001b;
/// Get the driver's statistics (`struct ethtool_stats`).
pub const ETHTOOL_GSTATS: u32 = 0x0000_001d;
/// Get the number of RX rings (`struct ethtool_rxnfc`, the count in `data`).
pub const ETHTOOL_GRXRINGS: u32 = 0x0000_002d;
/// Get the sizes of string sets (`struct ethtool_sset_info`).
pub const ETHTOOL_GSSET_INFO: u32 = 0x0000_0037;
/// Get the RX flow hash indirection table (`struct ethtool_rxfh_indir`).
pub const ETHTOOL_GRXFHINDIR: u32 = 0x0000_0038;
/// Set the RX flow hash indirection table (`struct ethtool_rxfh_indir`).
pub const ETHTOOL_SRXFHINDIR: u32 = 0x0000_0039;
/// Get the device's features (`struct ethtool_gfeatures`).
pub const ETHTOOL_GFEATURES: u32 = 0x0000_003a;
/// Change the device's features (`struct ethtool_sfeatures`).
pub const ETHTOOL_SFEATURES: u32 = 0x0000_003b;

/// Length of one string in a string set, NUL-padded.
pub const ETH_GSTRING_LEN: usize = 32;
/// `enum ethtool_stringset`: statistic names, for ETHTOOL_GSTATS.
pub const ETH_SS_STATS: u32 = 1;
/// `enum ethtool_stringset`: feature names, one per bit of the feature blocks.
pub const ETH_SS_FEATURES: u32 = 4;

/// ETHTOOL_SFEATURES return bit: some bits in `valid` are not changeable on this device and
/// were ignored.
pub const ETHTOOL_F_UNSUPPORTED: u32 = 1 << 0;
/// ETHTOOL_SFEATURES return bit: the request was recorded but the resulting state differs
/// (other device constraints).
pub const ETHTOOL_F_WISH: u32 = 1 << 1;
/// ETHTOOL_SFEATURES return bit: the change went through legacy compatibility callbacks.
pub const ETHTOOL_F_COMPAT: u32 = 1 << 2;

/// `struct ethtool_coalesce`: the command and 22 parameters, all `__u32`.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ethtool_coalesce {
    pub cmd: u32,
    pub rx_coalesce_usecs: u32,
    pub rx_max_coalesced_frames: u32,
    pub rx_coalesce_usecs_irq: u32,
    pub rx_max_coalesced_frames_irq: u32,
    pub tx_coalesce_usecs: u32,
    pub tx_max_coalesced_frames: u32,
    pub tx_coalesce_usecs_irq: u32,
    pub tx_max_coalesced_frames_irq: u32,
    pub stats_block_coalesce_usecs: u32,
    pub use_adaptive_rx_coalesce: u32,
    pub use_adaptive_tx_coalesce: u32,
    pub pkt_rate_low: u32,
    pub rx_coalesce_usecs_low: u32,
    pub rx_max_coalesced_frames_low: u32,
    pub tx_coalesce_usecs_low: u32,
    pub tx_max_coalesced_frames_low: u32,
    pub pkt_rate_high: u32,
    pub rx_coalesce_usecs_high: u32,
    pub rx_max_coalesced_frames_high: u32,
    pub tx_coalesce_usecs_high: u32,
    pub tx_max_coalesced_frames_high: u32,
    pub rate_sample_interval: u32,
}

/// `struct ethtool_pauseparam`.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ethtool_pauseparam {
    pub cmd: u32,
    pub autoneg: u32,
    pub rx_pause: u32,
    pub tx_pause: u32,
}

/// `struct ethtool_sset_info` without `__u32 data[]`: one size per set asked in
/// `sset_mask` and supported, in set order.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ethtool_sset_info {
    pub cmd: u32,
    pub reserved: u32,
    pub sset_mask: u64,
}

/// `struct ethtool_gstrings` without `__u8 data[]`: `len` strings of [`ETH_GSTRING_LEN`].
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ethtool_gstrings {
    pub cmd: u32,
    pub string_set: u32,
    pub len: u32,
}

/// `struct ethtool_stats` without `__u64 data[]`. The `__u64` array makes the C struct
/// 8-aligned, so the array starts at 8, right after `n_stats`.
#[repr(C, align(8))]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ethtool_stats {
    pub cmd: u32,
    pub n_stats: u32,
}

/// `struct ethtool_rxfh_indir` without `__u32 ring_index[]`.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ethtool_rxfh_indir {
    pub cmd: u32,
    pub size: u32,
}

/// `struct ethtool_get_features_block`: the state of 32 features, bit `i` of block `w` is
/// feature `32 * w + i` of the ETH_SS_FEATURES string set.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ethtool_get_features_block {
    /// Changeable on this device (`hw_features`).
    pub available: u32,
    /// Asked for (`wanted_features`).
    pub requested: u32,
    /// On now (`features`).
    pub active: u32,
    /// Never changeable on any device (`NETIF_F_NEVER_CHANGE`).
    pub never_changed: u32,
}

/// `struct ethtool_gfeatures` without `features[]`. `size`: on entry the blocks the buffer
/// holds, on return the blocks the kernel has.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ethtool_gfeatures {
    pub cmd: u32,
    pub size: u32,
}

/// `struct ethtool_set_features_block`: which of 32 features to change, and to what.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ethtool_set_features_block {
    pub valid: u32,
    pub requested: u32,
}

/// `struct ethtool_sfeatures` without `features[]`; `size` must equal the kernel's block
/// count or it answers EINVAL.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ethtool_sfeatures {
    pub cmd: u32,
    pub size: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{align_of, offset_of, size_of};

    #[test]
    fn command_numbers_match_the_uapi_header() {
        let cmds = [
            ETHTOOL_GCOALESCE,
            ETHTOOL_SCOALESCE,
            ETHTOOL_GPAUSEPARAM,
            ETHTOOL_SPAUSEPARAM,
            ETHTOOL_GSTRINGS,
            ETHTOOL_GSTATS,
            ETHTOOL_GRXRINGS,
            ETHTOOL_GSSET_INFO,
            ETHTOOL_GRXFHINDIR,
            ETHTOOL_SRXFHINDIR,
            ETHTOOL_GFEATURES,
            ETHTOOL_SFEATURES,
        ];
        let header = [
            0x0e, 0x0f, 0x12, 0x13, 0x1b, 0x1d, 0x2d, 0x37, 0x38, 0x39, 0x3a, 0x3b,
        ];
        assert_eq!(cmds, header);
        assert_eq!(ETH_GSTRING_LEN, 32);
        assert_eq!((ETH_SS_STATS, ETH_SS_FEATURES), (1, 4));
        assert_eq!(
            [ETHTOOL_F_UNSUPPORTED, ETHTOOL_F_WISH, ETHTOOL_F_COMPAT],
            [1, 2, 4]
        );
    }

    #[test]
    fn fixed_structs_have_the_kernel_layout() {
        assert_eq!(size_of::<ethtool_coalesce>(), 23 * 4);
        assert_eq!(offset_of!(ethtool_coalesce, rx_coalesce_usecs), 4);
        assert_eq!(offset_of!(ethtool_coalesce, stats_block_coalesce_usecs), 36);
        assert_eq!(offset_of!(ethtool_coalesce, pkt_rate_low), 48);
        assert_eq!(offset_of!(ethtool_coalesce, pkt_rate_high), 68);
        assert_eq!(offset_of!(ethtool_coalesce, rate_sample_interval), 88);
        assert_eq!(size_of::<ethtool_pauseparam>(), 16);
        assert_eq!(offset_of!(ethtool_pauseparam, autoneg), 4);
        assert_eq!(offset_of!(ethtool_pauseparam, rx_pause), 8);
        assert_eq!(offset_of!(ethtool_pauseparam, tx_pause), 12);
    }

    /// Where each flexible array starts (the header's size) and the element sizes.
    #[test]
    fn flexible_array_headers_have_the_kernel_layout() {
        assert_eq!(offset_of!(ethtool_sset_info, sset_mask), 8);
        assert_eq!(size_of::<ethtool_sset_info>(), 16);
        assert_eq!(offset_of!(ethtool_gstrings, string_set), 4);
        assert_eq!(offset_of!(ethtool_gstrings, len), 8);
        assert_eq!(size_of::<ethtool_gstrings>(), 12);
        assert_eq!(offset_of!(ethtool_stats, n_stats), 4);
        assert_eq!(size_of::<ethtool_stats>(), 8);
        assert_eq!(align_of::<ethtool_stats>(), 8);
        assert_eq!(offset_of!(ethtool_rxfh_indir, size), 4);
        assert_eq!(size_of::<ethtool_rxfh_indir>(), 8);
        assert_eq!(offset_of!(ethtool_gfeatures, size), 4);
        assert_eq!(size_of::<ethtool_gfeatures>(), 8);
        assert_eq!(size_of::<ethtool_get_features_block>(), 16);
        assert_eq!(offset_of!(ethtool_get_features_block, requested), 4);
        assert_eq!(offset_of!(ethtool_get_features_block, active), 8);
        assert_eq!(offset_of!(ethtool_get_features_block, never_changed), 12);
        assert_eq!(size_of::<ethtool_sfeatures>(), 8);
        assert_eq!(size_of::<ethtool_set_features_block>(), 8);
        assert_eq!(offset_of!(ethtool_set_features_block, requested), 4);
    }
}
