//! The link seam: creating, configuring and deleting network devices (`ip link add/set/del`)
//! and Foo-over-UDP receive ports (`ip fou add/del/show`), as data. It exists for the tunnel
//! side of L3 Direct Server Return: a real server decapsulates IPIP (IPVS tunnel mode,
//! Katran) on an `ipip0` in external (collect_md) mode or on the ipip module's fallback
//! `tunl0`, and GUE on a FOU port. Devices go over rtnetlink ([`rtnl`]), FOU ports over
//! generic netlink ([`genl`]); both are implemented on [`Netlink`](super::netlink::Netlink).
//! A kernel without the module an operation needs answers [`LinkError::Unsupported`], naming it.

mod genl;
pub mod modules;
mod rtnl;

use std::fmt;
use std::net::IpAddr;

use nix::errno::Errno;
use serde::{Deserialize, Serialize};

use crate::types::IfName;

/// The kind of a device, IFLA_INFO_KIND: the name the kernel registered its `rtnl_link_ops`
/// under, as `ip link add ... type KIND` takes it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", from = "String")]
pub enum LinkKind {
    /// IPv4-in-IPv4 (and, external, IPv6-in-IPv4), module `ipip`.
    Ipip,
    /// IPv4- or IPv6-in-IPv6, module `ip6_tunnel`.
    Ip6tnl,
    /// A device that drops everything, module `dummy`.
    Dummy,
    /// One end of a virtual Ethernet pair, module `veth`.
    Veth,
    /// Any other kind, by its kernel name (`bond`, `vlan`, `gre`, ...).
    Other(String),
}

impl LinkKind {
    /// The kernel's name of the kind.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Ipip => "ipip",
            Self::Ip6tnl => "ip6tnl",
            Self::Dummy => "dummy",
            Self::Veth => "veth",
            Self::Other(k) => k,
        }
    }

    /// The module that provides the kind (what `modprobe` takes): the kernel asks for the
    /// alias `rtnl-link-KIND`, which these modules declare.
    pub fn module(&self) -> &str {
        match self {
            Self::Ip6tnl => "ip6_tunnel",
            k => k.as_str(),
        }
    }

    /// Whether the kind is an IP tunnel with IFLA_IPTUN_* attributes (external mode, ends).
    pub fn is_ip_tunnel(&self) -> bool {
        matches!(self, Self::Ipip | Self::Ip6tnl)
    }
}

impl From<String> for LinkKind {
    fn from(s: String) -> Self {
        match s.as_str() {
            "ipip" => Self::Ipip,
            "ip6tnl" => Self::Ip6tnl,
            "dummy" => Self::Dummy,
            "veth" => Self::Veth,
            _ => Self::Other(s),
        }
    }
}

impl From<LinkKind> for String {
    fn from(k: LinkKind) -> Self {
        k.as_str().to_string()
    }
}

impl fmt::Display for LinkKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an IP tunnel device (ipip, ip6tnl) is configured with, from IFLA_INFO_DATA.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TunnelInfo {
    /// IFLA_IPTUN_COLLECT_METADATA: `external` mode, one device for every peer, the outer
    /// addresses carried per packet (what a decapsulating real server wants).
    pub external: bool,
    /// IFLA_IPTUN_LOCAL; `None` is `any` (the kernel reports 0.0.0.0 or ::).
    pub local: Option<IpAddr>,
    /// IFLA_IPTUN_REMOTE; `None` is `any`.
    pub remote: Option<IpAddr>,
}

/// One device as `ip -d link show` lists it, as far as the seam's users need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkInfo {
    pub name: IfName,
    pub index: u32,
    /// IFLA_INFO_KIND; `None` for a device without one (a physical NIC, `lo`).
    pub kind: Option<LinkKind>,
    /// IFF_UP: administratively up (`ip link set NAME up`), whatever the carrier.
    pub up: bool,
    pub mtu: u32,
    /// For ipip and ip6tnl devices.
    pub tunnel: Option<TunnelInfo>,
}

/// A device to create. Equivalent to `ip link add NAME [mtu MTU] type KIND [external]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkSpec {
    pub name: IfName,
    pub kind: LinkKind,
    /// External (collect_md) mode; only for ipip and ip6tnl.
    #[serde(default)]
    pub external: bool,
    /// `None` is the kind's default.
    #[serde(default)]
    pub mtu: Option<u32>,
}

/// What to change on a device; `None` leaves it. Equivalent to `ip link set NAME up|down mtu M`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkChange {
    #[serde(default)]
    pub up: Option<bool>,
    #[serde(default)]
    pub mtu: Option<u32>,
}

/// The address family of a FOU port's UDP socket (`ip fou add ... -6`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FouFamily {
    V4,
    V6,
}

/// What a FOU port does with what arrives on it (FOU_ATTR_TYPE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FouKind {
    /// FOU_ENCAP_GUE: Generic UDP Encapsulation, the inner protocol in the GUE header.
    Gue,
    /// FOU_ENCAP_DIRECT: the payload is this IP protocol (4 IPIP, 41 IPv6), no header.
    Direct(u8),
}

/// One FOU receive port. Equivalent to `ip fou add port 6080 gue` (or `ipproto 4`, `-6`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FouPort {
    pub port: u16,
    pub family: FouFamily,
    pub kind: FouKind,
}

/// In `ip fou add` syntax: `port 6080 gue`, `port 6080 ipproto 4 -6`.
impl fmt::Display for FouPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "port {}", self.port)?;
        match self.kind {
            FouKind::Gue => write!(f, " gue")?,
            FouKind::Direct(p) => write!(f, " ipproto {p}")?,
        }
        if self.family == FouFamily::V6 {
            write!(f, " -6")?;
        }
        Ok(())
    }
}

/// A failed link or FOU operation, naming the operation and its object (`link ipip0`,
/// `fou port 6080 gue`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// The kernel lacks what the operation needs: the module is neither loaded nor loadable
    /// (EOPNOTSUPP for an unknown link kind, ENOENT for the `fou` generic netlink family,
    /// EAFNOSUPPORT for an address family).
    #[error(
        "{op} {object}: not supported by this kernel (module {module} is not loaded and could \
         not be loaded: modprobe {module})"
    )]
    Unsupported {
        op: &'static str,
        object: String,
        module: String,
    },
    /// No kernel behind the seam: a captured `--root` tree.
    #[error("{op} {object}: not available on an offline --root tree")]
    Offline { op: &'static str, object: String },
    #[error("{op} link {name}: no such link")]
    NoSuchLink { op: &'static str, name: IfName },
    /// A request hosttune will not send (external mode on a dummy).
    #[error("{op} {object}: {why}")]
    Invalid {
        op: &'static str,
        object: String,
        why: String,
    },
    /// The kernel refused.
    #[error("{op} {object}: {errno}")]
    Os {
        op: &'static str,
        object: String,
        errno: Errno,
    },
    /// The socket or the message framing failed.
    #[error("{op} {object}: netlink: {detail}")]
    Netlink {
        op: &'static str,
        object: String,
        detail: String,
    },
}

impl LinkError {
    /// Whether the operation cannot be done here at all (a missing module, no kernel), as
    /// opposed to having failed: plans report such items `unsupported`.
    pub fn is_unsupported(&self) -> bool {
        matches!(self, Self::Unsupported { .. } | Self::Offline { .. })
    }

    /// The module whose absence this error reports, if it is one.
    pub fn missing_module(&self) -> Option<&str> {
        match self {
            Self::Unsupported { module, .. } => Some(module),
            _ => None,
        }
    }
}

/// `link NAME (KIND[ external])`, the object of a create.
pub(crate) fn spec_object(spec: &LinkSpec) -> String {
    let ext = if spec.external { " external" } else { "" };
    format!("link {} ({}{ext})", spec.name, spec.kind)
}

/// Refuses what no kind but an IP tunnel takes (external mode), before anything is sent.
pub(crate) fn check_spec(spec: &LinkSpec) -> Result<(), LinkError> {
    if spec.external && !spec.kind.is_ip_tunnel() {
        return Err(LinkError::Invalid {
            op: "create",
            object: spec_object(spec),
            why: "external mode is for ipip and ip6tnl devices only".into(),
        });
    }
    Ok(())
}

/// `fou port ...`, the object of a FOU operation.
pub(crate) fn fou_object(p: &FouPort) -> String {
    format!("fou {p}")
}

/// Devices and FOU ports in the current network namespace.
pub trait LinkOps {
    /// Every device. Equivalent to `ip -d link show`.
    fn list(&self) -> Result<Vec<LinkInfo>, LinkError>;
    /// Equivalent to `ip link add ipip0 type ipip external` (or `type dummy`, `mtu M`).
    /// A device of that name already there is an error (EEXIST): it may be configured
    /// otherwise, so callers compare [`LinkOps::list`] first.
    fn create(&self, spec: &LinkSpec) -> Result<(), LinkError>;
    /// Equivalent to `ip link del NAME`; a device already gone counts as done.
    fn delete(&self, name: &IfName) -> Result<(), LinkError>;
    /// Equivalent to `ip link set NAME up mtu 1480`.
    fn set(&self, name: &IfName, change: &LinkChange) -> Result<(), LinkError>;
    /// Every FOU receive port. Equivalent to `ip fou show`.
    fn fou_list(&self) -> Result<Vec<FouPort>, LinkError>;
    /// Equivalent to `ip fou add port 6080 gue`; a port already open in the same family is
    /// an error (EADDRINUSE from binding its UDP socket; IPv6 ports are v6-only, so 6080 may
    /// be open in both families).
    fn fou_add(&self, port: &FouPort) -> Result<(), LinkError>;
    /// Equivalent to `ip fou del port 6080`; the kernel answers EINVAL for a port that is
    /// not open.
    fn fou_del(&self, port: &FouPort) -> Result<(), LinkError>;
    /// Whether `module` is loaded, loadable or missing, without loading it (a plan must not:
    /// the kernel loads `ipip` on the first ipip create and `fou` on the first FOU request).
    fn module(&self, module: &str) -> Result<modules::ModuleState, LinkError>;
    /// Loads `module` as the kernel's own request_module does: by running the program in
    /// /proc/sys/kernel/modprobe. For modules the kernel does not load on use (`fou` has no
    /// generic netlink family alias on every kernel); never used to unload.
    fn load(&self, module: &str) -> Result<(), LinkError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_name_their_modules_and_round_trip_through_their_kernel_names() {
        for (k, name, module) in [
            (LinkKind::Ipip, "ipip", "ipip"),
            (LinkKind::Ip6tnl, "ip6tnl", "ip6_tunnel"),
            (LinkKind::Dummy, "dummy", "dummy"),
            (LinkKind::Veth, "veth", "veth"),
            (LinkKind::Other("gre".into()), "gre", "gre"),
        ] {
            assert_eq!((k.as_str(), k.module()), (name, module));
            assert_eq!(LinkKind::from(name.to_string()), k);
        }
        assert!(LinkKind::Ip6tnl.is_ip_tunnel() && !LinkKind::Dummy.is_ip_tunnel());
    }

    #[test]
    fn fou_ports_print_as_ip_fou_takes_them_and_errors_name_the_module() {
        let gue = FouPort {
            port: 6080,
            family: FouFamily::V4,
            kind: FouKind::Gue,
        };
        let direct6 = FouPort {
            port: 5555,
            family: FouFamily::V6,
            kind: FouKind::Direct(4),
        };
        assert_eq!(gue.to_string(), "port 6080 gue");
        assert_eq!(direct6.to_string(), "port 5555 ipproto 4 -6");
        let e = LinkError::Unsupported {
            op: "add",
            object: fou_object(&gue),
            module: "fou".into(),
        };
        assert_eq!(
            e.to_string(),
            "add fou port 6080 gue: not supported by this kernel (module fou is not loaded and \
             could not be loaded: modprobe fou)"
        );
        assert!(e.is_unsupported());
        assert_eq!(e.missing_module(), Some("fou"));
    }

    #[test]
    fn an_offline_tree_has_no_links_to_make_and_says_which() {
        let off = crate::host::Offline;
        let spec = LinkSpec {
            name: "ipip0".parse().unwrap(),
            kind: LinkKind::Ipip,
            external: true,
            mtu: None,
        };
        let e = off.create(&spec).unwrap_err();
        assert_eq!(
            e.to_string(),
            "create link ipip0 (ipip external): not available on an offline --root tree"
        );
        assert!(e.is_unsupported() && e.missing_module().is_none());
        assert!(off.list().unwrap_err().is_unsupported());
        assert!(off.fou_list().unwrap_err().is_unsupported());
    }
}
