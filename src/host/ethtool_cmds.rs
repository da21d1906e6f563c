//! SIOCETHTOOL commands for the NIC knobs beyond rings and channels: interrupt coalescing
//! (`ethtool -c/-C`), pause frames (`-a/-A`), features (`-k/-K`), the RSS indirection table
//! (`-x/-X`), the RX ring count and the driver's statistics (`-S`). Each is a safe function
//! taking an [`IfName`] and returning [`NicError`] as [`crate::host::ethtool`] does, acting
//! in the network namespace of the calling thread. They stand alone, independent of the
//! `NicOps` seam, so that seam can call them.
//!
//! Layout: [`abi`] mirrors `include/uapi/linux/ethtool.h`; `ioctl` (private) is the only
//! code with `unsafe`, one buffer type and one call; each command family has its own file,
//! with the pure encoding and decoding of its buffers separate from the call, so that it is
//! tested without a NIC.

use crate::host::nicerr::NicError;
use crate::types::IfName;

pub mod abi;
pub mod coalesce;
pub mod features;
// The mapping and the SIOCETHTOOL call: each unsafe block with its SAFETY comment.
#[allow(unsafe_code)]
mod ioctl;
pub(crate) use ioctl::siocethtool;
pub mod pause;
pub mod rxfh;
pub mod strings;

pub use coalesce::{
    COALESCE_PARAMS, Coalesce, CoalesceParam, UnknownCoalesceParam, coalesce, set_coalesce,
    update_coalesce,
};
pub use features::{FEATURE_ALIASES, Feature, Features, SetFeatures, features, set_features};
pub use pause::{Pause, pause, set_pause};
pub use rxfh::{RssIndir, reset_rss_indir, rss_indir, rx_rings, set_rss_indir};
pub use strings::{NicStats, nic_stats, string_set};

/// How often a read that sizes its buffer from one call and fills it in another is tried
/// before giving up with EAGAIN, when the count keeps changing in between.
const ATTEMPTS: usize = 3;

/// The native-endian `u32` at byte `off` of a command buffer.
fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_ne_bytes(b[off..off + 4].try_into().expect("4 bytes"))
}

/// The native-endian `u64` at byte `off` of a command buffer.
fn u64_at(b: &[u8], off: usize) -> u64 {
    u64::from_ne_bytes(b[off..off + 8].try_into().expect("8 bytes"))
}

/// Writes `v` native-endian at byte `off` of a command buffer.
fn put_u32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_ne_bytes());
}

/// Writes `v` native-endian at byte `off` of a command buffer.
fn put_u64(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_ne_bytes());
}

/// The error for a reply whose shape the kernel's own rules exclude.
fn malformed(op: &'static str, iface: &IfName, why: String) -> NicError {
    NicError::unsupported(op, iface, &format!("unexpected reply: {why}"))
}

/// The error for a count that changed between sizing a buffer and filling it, every time.
fn kept_changing(op: &'static str, iface: &IfName) -> NicError {
    NicError::Os {
        op,
        iface: iface.clone(),
        errno: nix::errno::Errno::EAGAIN,
    }
}
