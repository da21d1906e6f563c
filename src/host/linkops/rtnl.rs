//! Devices over rtnetlink: the requests `ip link add/set/del` send (RTM_NEWLINK with
//! IFLA_LINKINFO, IFLA_INFO_KIND and IFLA_INFO_DATA, RTM_DELLINK) and the reading of an
//! RTM_GETLINK dump into [`LinkInfo`]s, built and parsed with netlink-packet-route. The
//! [`LinkOps`] implementation on [`Netlink`] lives here; its FOU half is in [`super::genl`].

use std::net::IpAddr;

use netlink_packet_core::{NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::{
    InfoData, InfoIpTunnel, InfoKind, LinkAttribute, LinkFlags, LinkInfo as Nested, LinkMessage,
};
use nix::errno::Errno;

use super::{FouPort, LinkChange, LinkError, LinkInfo, LinkKind, LinkOps, LinkSpec, TunnelInfo};
use crate::host::netlink::{DUMP_ATTEMPTS, Failure, Netlink};
use crate::types::IfName;

/// The RTM_NEWLINK body of `ip link add NAME [mtu MTU] type KIND [external]`: the name, the
/// MTU, then IFLA_LINKINFO holding IFLA_INFO_KIND and, for external mode, IFLA_INFO_DATA
/// with the IFLA_IPTUN_COLLECT_METADATA flag. Nothing else: an ip6tnl without
/// IFLA_IPTUN_PROTO takes both IPv4 and IPv6 inside (the kernel's proto 0, `mode any`).
pub(super) fn create_message(spec: &LinkSpec) -> Result<LinkMessage, LinkError> {
    super::check_spec(spec)?;
    let mut msg = LinkMessage::default();
    msg.attributes
        .push(LinkAttribute::IfName(spec.name.as_str().into()));
    if let Some(mtu) = spec.mtu {
        msg.attributes.push(LinkAttribute::Mtu(mtu));
    }
    let kind = InfoKind::from(spec.kind.as_str());
    let mut info = vec![Nested::Kind(kind)];
    if spec.external {
        info.push(Nested::Data(InfoData::IpTunnel(vec![
            InfoIpTunnel::CollectMetadata,
        ])));
    }
    msg.attributes.push(LinkAttribute::LinkInfo(info));
    Ok(msg)
}

/// The RTM_NEWLINK body of `ip link set NAME [up|down] [mtu MTU]`: the device by name,
/// IFF_UP in `ifi_flags` with only that bit in `ifi_change` so that no other flag moves.
pub(super) fn set_message(name: &IfName, change: &LinkChange) -> LinkMessage {
    let mut msg = LinkMessage::default();
    if let Some(up) = change.up {
        msg.header.change_mask = LinkFlags::Up;
        if up {
            msg.header.flags = LinkFlags::Up;
        }
    }
    msg.attributes
        .push(LinkAttribute::IfName(name.as_str().into()));
    if let Some(mtu) = change.mtu {
        msg.attributes.push(LinkAttribute::Mtu(mtu));
    }
    msg
}

/// The RTM_DELLINK body of `ip link del NAME`.
pub(super) fn delete_message(name: &IfName) -> LinkMessage {
    let mut msg = LinkMessage::default();
    msg.attributes
        .push(LinkAttribute::IfName(name.as_str().into()));
    msg
}

/// 0.0.0.0 and :: are how the kernel says `any`.
fn end(ip: IpAddr) -> Option<IpAddr> {
    (!ip.is_unspecified()).then_some(ip)
}

/// One RTM_NEWLINK of a dump as a [`LinkInfo`]; `None` for a message without a name.
pub(super) fn parse_link(msg: LinkMessage) -> Option<LinkInfo> {
    let (mut name, mut mtu, mut kind, mut data) = (None, 0, None, None);
    for a in msg.attributes {
        match a {
            LinkAttribute::IfName(n) => name = Some(n),
            LinkAttribute::Mtu(m) => mtu = m,
            LinkAttribute::LinkInfo(info) => {
                for i in info {
                    match i {
                        Nested::Kind(k) => kind = Some(LinkKind::from(k.to_string())),
                        Nested::Data(InfoData::IpTunnel(d)) => data = Some(d),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    let tunnel = kind.as_ref().filter(|k| k.is_ip_tunnel()).map(|_| {
        let mut t = TunnelInfo::default();
        for a in data.into_iter().flatten() {
            match a {
                InfoIpTunnel::CollectMetadata => t.external = true,
                InfoIpTunnel::Local(ip) => t.local = end(ip),
                InfoIpTunnel::Remote(ip) => t.remote = end(ip),
                _ => {}
            }
        }
        t
    });
    Some(LinkInfo {
        // The kernel holds only valid names; one that is not UTF-8 never decodes this far.
        name: name?.parse().ok()?,
        index: msg.header.index,
        kind,
        up: msg.header.flags.contains(LinkFlags::Up),
        mtu,
        tunnel,
    })
}

impl Failure {
    /// The [`LinkError`] for `op` on `object`; `missing` is the module whose absence
    /// EOPNOTSUPP (and EAFNOSUPPORT) means for this operation, if any.
    pub(super) fn into_link_error(
        self,
        op: &'static str,
        object: String,
        missing: Option<&str>,
    ) -> LinkError {
        match (self, missing) {
            (Failure::Kernel(Errno::EOPNOTSUPP | Errno::EAFNOSUPPORT), Some(m)) => {
                LinkError::Unsupported {
                    op,
                    object,
                    module: m.to_string(),
                }
            }
            (Failure::Kernel(errno), _) => LinkError::Os { op, object, errno },
            (Failure::Interrupted, _) => LinkError::Netlink {
                op,
                object,
                detail: format!("dump kept changing, tried {DUMP_ATTEMPTS} times"),
            },
            (Failure::Transport(detail), _) => LinkError::Netlink { op, object, detail },
        }
    }
}

fn no_such_link(op: &'static str, name: &IfName) -> impl FnOnce(Failure) -> LinkError {
    move |f| match f {
        Failure::Kernel(Errno::ENODEV) => LinkError::NoSuchLink {
            op,
            name: name.clone(),
        },
        f => f.into_link_error(op, format!("link {name}"), None),
    }
}

impl Netlink {
    fn list_links_once(&self) -> Result<Vec<LinkInfo>, Failure> {
        let replies = self.exchange(
            RouteNetlinkMessage::GetLink(LinkMessage::default()),
            NLM_F_DUMP,
        )?;
        // Devices whose names are not UTF-8 (kept apart by `exchange`) are never hosttune's.
        Ok(replies
            .msgs
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => parse_link(l),
                _ => None,
            })
            .collect())
    }
}

impl LinkOps for Netlink {
    /// Equivalent to `ip -d link show`.
    fn list(&self) -> Result<Vec<LinkInfo>, LinkError> {
        let mut attempt = 1;
        loop {
            match self.list_links_once() {
                Err(Failure::Interrupted) if attempt < DUMP_ATTEMPTS => attempt += 1,
                r => return r.map_err(|f| f.into_link_error("list", "links".into(), None)),
            }
        }
    }

    /// Equivalent to `ip link add ipip0 type ipip external`. The kernel loads the kind's
    /// module itself (alias `rtnl-link-KIND`) and answers EOPNOTSUPP when there is none.
    fn create(&self, spec: &LinkSpec) -> Result<(), LinkError> {
        let msg = create_message(spec)?;
        let flags = NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
        self.exchange(RouteNetlinkMessage::NewLink(msg), flags)
            .map(drop)
            .map_err(|f| {
                f.into_link_error("create", super::spec_object(spec), Some(spec.kind.module()))
            })
    }

    /// Equivalent to `ip link del ipip0`; ENODEV (already gone) counts as done.
    fn delete(&self, name: &IfName) -> Result<(), LinkError> {
        let msg = delete_message(name);
        match self.exchange(RouteNetlinkMessage::DelLink(msg), NLM_F_ACK) {
            Ok(_) | Err(Failure::Kernel(Errno::ENODEV)) => Ok(()),
            Err(f) => Err(f.into_link_error("delete", format!("link {name}"), None)),
        }
    }

    /// Equivalent to `ip link set tunl0 up` or `ip link set ipip0 mtu 1480`.
    fn set(&self, name: &IfName, change: &LinkChange) -> Result<(), LinkError> {
        let msg = set_message(name, change);
        self.exchange(RouteNetlinkMessage::NewLink(msg), NLM_F_ACK)
            .map(drop)
            .map_err(no_such_link("set", name))
    }

    fn fou_list(&self) -> Result<Vec<FouPort>, LinkError> {
        super::genl::fou_list(self)
    }

    fn fou_add(&self, port: &FouPort) -> Result<(), LinkError> {
        super::genl::fou_change(self, super::genl::FOU_CMD_ADD, "add", port)
    }

    fn fou_del(&self, port: &FouPort) -> Result<(), LinkError> {
        super::genl::fou_change(self, super::genl::FOU_CMD_DEL, "del", port)
    }

    /// Reads `/sys/module` and `/lib/modules`; loads nothing.
    fn module(&self, module: &str) -> Result<super::modules::ModuleState, LinkError> {
        Ok(super::modules::state(module))
    }

    fn load(&self, module: &str) -> Result<(), LinkError> {
        super::modules::load(module)
    }
}

#[cfg(test)]
#[path = "rtnl_tests.rs"]
mod tests;
