//! The address seam: interface addresses over rtnetlink (`ip addr`). Never the SIOCSIFADDR
//! ioctl, which replaces `lo`'s primary address instead of adding one.
//!
//! An address is more than ADDR/PREFIX: [`AddrAttrs`] is what else `ip addr add` takes (label,
//! flags, scope, lifetimes), read with the address so that one taken off an interface can be
//! put back as it was.

mod attrs;

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

pub use attrs::{AddrAttrs, AddrFlags, AddrScope, FOREVER};

use crate::types::IfName;

/// One address on one interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IfAddr {
    pub iface: IfName,
    pub addr: IpAddr,
    pub prefix: u8,
    #[serde(default, skip_serializing_if = "AddrAttrs::is_default")]
    pub attrs: AddrAttrs,
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
    /// Equivalent to `ip addr add ADDR/PREFIX dev IFACE` followed by `attrs` (nothing for the
    /// defaults); EEXIST counts as done, whatever the attributes of the address already there.
    fn add(
        &self,
        iface: &IfName,
        addr: IpAddr,
        prefix: u8,
        attrs: &AddrAttrs,
    ) -> Result<(), AddrError>;
    /// Equivalent to `ip addr del ADDR/PREFIX dev IFACE`; EADDRNOTAVAIL counts as done.
    fn del(&self, iface: &IfName, addr: IpAddr, prefix: u8) -> Result<(), AddrError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_serialized_without_attributes_has_the_defaults() {
        let old = r#"{"iface":"eth0","addr":"192.0.2.10","prefix":32}"#;
        let a: IfAddr = serde_json::from_str(old).unwrap();
        assert!(a.attrs.is_default());
        assert_eq!(serde_json::to_string(&a).unwrap(), old);
    }
}
