//! [`NicError`]: how a NIC operation fails, naming the ioctl and the interface, and the errno
//! mapping shared by the real ioctls, the ethtool commands and the fakes. Below both the NIC
//! seam (`nic.rs`) and the ioctl wrappers (`ethtool_cmds/`).

use crate::types::IfName;

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

/// Maps an errno from SIOCETHTOOL to a [`NicError`]. EOPNOTSUPP (the same value as ENOTSUP on
/// Linux) is what the ethtool core returns when the driver has no callback for `op`, so the
/// item is `unsupported`; everything else is a real failure. Shared with the fake so both
/// classify alike.
pub fn nic_error(op: &'static str, iface: &IfName, errno: nix::errno::Errno) -> NicError {
    if errno == nix::errno::Errno::EOPNOTSUPP || errno == nix::errno::Errno::ENOTSUP {
        NicError::unsupported(op, iface, errno.desc())
    } else {
        NicError::Os {
            op,
            iface: iface.clone(),
            errno,
        }
    }
}
