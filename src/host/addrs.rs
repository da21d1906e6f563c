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

/// One route through one interface, as far as hosttune records it to put it back after the
/// kernel dropped it (`disable_ipv6 = 1` drops the interface's IPv6 routes): a single-path
/// unicast route with its table, metric and protocol. Equivalent to one line of
/// `ip -6 route show table all dev IFACE`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IfRoute {
    pub iface: IfName,
    pub dst: IpAddr,
    pub prefix: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<IpAddr>,
    /// Routing table (254 is `main`).
    pub table: u32,
    /// RTA_PRIORITY (`metric`); IPv6 routes default to 1024.
    pub metric: u32,
    /// RTPROT_* (`proto`): 3 `boot`, 4 `static`, … (2 `kernel` and 9 `ra` are the kernel's own).
    pub protocol: u8,
    /// RT_SCOPE_* (`scope`): 0 `global`, 253 `link` (an IPv4 route without a gateway).
    #[serde(default)]
    pub scope: u8,
}

impl IfRoute {
    /// RTPROT_KERNEL: a route the kernel made for an address (the prefix route).
    pub const PROTO_KERNEL: u8 = 2;
    /// RTPROT_RA: a route learnt from a router advertisement.
    pub const PROTO_RA: u8 = 9;
    /// RT_TABLE_LOCAL: the kernel's own table of local and broadcast addresses.
    pub const TABLE_LOCAL: u32 = 255;

    /// Whether the kernel makes this route again by itself (for an address, or from the next
    /// router advertisement): such routes are compared, never put back by hand.
    pub fn kernel_made(&self) -> bool {
        matches!(self.protocol, Self::PROTO_KERNEL | Self::PROTO_RA)
            || self.table == Self::TABLE_LOCAL
    }
}

/// In `ip route` syntax: `2001:db8::/32 via fe80::1 dev eth0 table 254 metric 1024 proto 4`.
impl std::fmt::Display for IfRoute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.dst, self.prefix)?;
        if let Some(g) = self.gateway {
            write!(f, " via {g}")?;
        }
        write!(
            f,
            " dev {} table {} metric {} proto {}",
            self.iface, self.table, self.metric, self.protocol
        )
    }
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
    /// Every single-path unicast route of every table that names an interface. Equivalent to
    /// `ip route show table all` and `ip -6 route show table all`.
    fn routes(&self) -> Result<Vec<IfRoute>, AddrError> {
        Err(AddrError::Unsupported(
            "routes are not available here".into(),
        ))
    }
    /// Equivalent to `ip route add DST/PREFIX [via GW] dev IFACE table T metric M proto P`;
    /// EEXIST counts as done.
    fn add_route(&self, r: &IfRoute) -> Result<(), AddrError> {
        Err(AddrError::Unsupported(format!("add route {r}")))
    }
    /// Equivalent to `ip route del …` of the same route; ESRCH (no such route) counts as done.
    fn del_route(&self, r: &IfRoute) -> Result<(), AddrError> {
        Err(AddrError::Unsupported(format!("del route {r}")))
    }
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
