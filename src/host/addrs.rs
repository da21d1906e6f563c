//! The address seam: interface addresses over rtnetlink (`ip addr`). Never the SIOCSIFADDR
//! ioctl, which replaces `lo`'s primary address instead of adding one.

use std::net::IpAddr;

use crate::types::IfName;

/// One address on one interface.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IfAddr {
    pub iface: IfName,
    pub addr: IpAddr,
    pub prefix: u8,
}

/// A failed address operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddrError {
    #[error("addresses: {0}")]
    Unsupported(String),
    #[error("interface {0} does not exist")]
    NoSuchInterface(IfName),
    #[error("{op} {addr}/{prefix} on {iface}: {errno}")]
    Os {
        op: &'static str,
        iface: IfName,
        addr: IpAddr,
        prefix: u8,
        errno: nix::errno::Errno,
    },
    #[error("netlink: {0}")]
    Netlink(String),
}

impl AddrError {
    /// A refused add or delete, naming the address and interface.
    pub fn os(
        op: &'static str,
        iface: &IfName,
        addr: IpAddr,
        prefix: u8,
        errno: nix::errno::Errno,
    ) -> Self {
        Self::Os {
            op,
            iface: iface.clone(),
            addr,
            prefix,
            errno,
        }
    }
}

/// Interface addresses in the current network namespace.
pub trait AddrOps {
    /// Every address on every interface. Equivalent to `ip -o addr show`.
    fn list(&self) -> Result<Vec<IfAddr>, AddrError>;
    /// Equivalent to `ip addr add ADDR/PREFIX dev IFACE`; EEXIST counts as done.
    fn add(&self, iface: &IfName, addr: IpAddr, prefix: u8) -> Result<(), AddrError>;
    /// Equivalent to `ip addr del ADDR/PREFIX dev IFACE`; EADDRNOTAVAIL counts as done.
    fn del(&self, iface: &IfName, addr: IpAddr, prefix: u8) -> Result<(), AddrError>;
}
