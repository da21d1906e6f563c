//! The NIC seam: ring and channel counts, as `ethtool -g/-G` and `ethtool -l/-L` see them.
//! The real implementation is the SIOCETHTOOL ioctl in `ethtool.rs`.

use crate::types::IfName;

/// Ring sizes and their driver maximums (`struct ethtool_ringparam`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct RingParams {
    pub rx_max: u32,
    pub rx_mini_max: u32,
    pub rx_jumbo_max: u32,
    pub tx_max: u32,
    pub rx: u32,
    pub rx_mini: u32,
    pub rx_jumbo: u32,
    pub tx: u32,
}

/// Channel counts and their driver maximums (`struct ethtool_channels`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct ChannelParams {
    pub max_rx: u32,
    pub max_tx: u32,
    pub max_other: u32,
    pub max_combined: u32,
    pub rx: u32,
    pub tx: u32,
    pub other: u32,
    pub combined: u32,
}

/// A failed NIC operation, naming the ioctl and the interface.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NicError {
    /// EOPNOTSUPP and friends: the item is reported `unsupported`, not failed.
    #[error("{op} on {iface}: not supported ({why})")]
    Unsupported {
        op: &'static str,
        iface: IfName,
        why: String,
    },
    /// Any other errno (ENODEV, EBUSY, EINVAL, ...): the apply fails and rolls back.
    #[error("{op} on {iface}: {errno}")]
    Os {
        op: &'static str,
        iface: IfName,
        errno: nix::errno::Errno,
    },
}

impl NicError {
    /// Builds an `Unsupported` error.
    pub fn unsupported(op: &'static str, iface: &IfName, why: &str) -> Self {
        Self::Unsupported {
            op,
            iface: iface.clone(),
            why: why.to_string(),
        }
    }
}

/// Ring and channel ioctls on one interface in the current network namespace.
pub trait NicOps {
    /// Equivalent to `ethtool -g IFACE`.
    fn rings(&self, iface: &IfName) -> Result<RingParams, NicError>;
    /// Equivalent to `ethtool -G IFACE rx N tx N`; carries every count, so read first.
    fn set_rings(&self, iface: &IfName, rings: &RingParams) -> Result<(), NicError>;
    /// Equivalent to `ethtool -l IFACE`.
    fn channels(&self, iface: &IfName) -> Result<ChannelParams, NicError>;
    /// Equivalent to `ethtool -L IFACE combined N`; carries every count, so read first.
    fn set_channels(&self, iface: &IfName, channels: &ChannelParams) -> Result<(), NicError>;
}
