//! Interface addresses over rtnetlink: the real [`AddrOps`]. One blocking `NETLINK_ROUTE`
//! socket per operation, messages built and parsed with netlink-packet-route, no async
//! runtime. Requests mirror what iproute2 sends, so the kernel does for us exactly what
//! `ip addr add`/`ip addr del` would do; never the SIOCSIFADDR ioctl, which would replace
//! `lo`'s 127.0.0.1 instead of adding beside it. Addresses are read and added with their
//! attributes (IFA_LABEL, IFA_FLAGS, `ifa_scope`, IFA_CACHEINFO), see [`AddrAttrs`].

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU32, Ordering};

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_EXCL, NLM_F_REQUEST, NetlinkBuffer,
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NetlinkSerializable, NlasIterator,
};
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeader, AddressHeaderFlags, AddressMessage,
    AddressScope, CacheInfo,
};
use netlink_packet_route::link::{LinkAttribute, LinkHeader, LinkMessage};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};
use nix::errno::Errno;

use crate::host::addrs::{AddrAttrs, AddrError, AddrOps, IfAddr, IfRoute};
use crate::types::{IfName, RawIfName};

/// How long to wait for the kernel's answer. It answers at once; a silent socket means
/// something is badly wrong, and an agent must not hang on it forever.
pub(super) const REPLY_TIMEOUT_SECS: i64 = 5;

/// A dump that raced with a change (NLM_F_DUMP_INTR) is repeated this many times at most.
pub(super) const DUMP_ATTEMPTS: usize = 3;

/// Addresses in the network namespace of the calling thread, over rtnetlink.
///
/// A socket is opened per operation rather than kept: it then always belongs to the caller's
/// current namespace, and a reply left over from a failed operation cannot be mistaken for
/// the next one's.
#[derive(Debug, Default)]
pub struct Netlink {
    pub(super) seq: AtomicU32,
}

/// `RTM_NEWLINK` and `RTM_NEWADDR` (include/uapi/linux/rtnetlink.h).
const RTM_NEWLINK: u16 = 16;
const RTM_NEWADDR: u16 = 20;
/// `IFLA_IFNAME` (include/uapi/linux/if_link.h).
const IFLA_IFNAME: u16 = 3;
/// `sizeof(struct ifinfomsg)`: the attributes of a link message follow it.
const IFINFOMSG_LEN: usize = 16;

/// A reply netlink-packet-route cannot decode because a name in it is not UTF-8 (it decodes
/// IFLA_IFNAME and IFA_LABEL as strings, and the kernel takes any bytes but `/`, `:`,
/// whitespace and NUL in an interface name). Kept apart, so that one such interface does not
/// fail the whole dump.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Undecoded {
    /// An RTM_NEWLINK whose IFLA_IFNAME is not UTF-8.
    Link { index: u32, name: RawIfName },
    /// An RTM_NEWADDR that did not decode (an IPv4 address's IFA_LABEL is its interface's
    /// name unless given): dropped if it belongs to such a link, an error otherwise.
    Address { index: u32 },
}

/// The replies to one request.
#[derive(Default)]
pub(super) struct Replies {
    pub(super) msgs: Vec<RouteNetlinkMessage>,
    undecoded: Vec<Undecoded>,
}

/// Why an exchange with the kernel failed (also over generic netlink, see `linkops`).
pub(super) enum Failure {
    /// The kernel refused the request (NLMSG_ERROR with a negative code).
    Kernel(Errno),
    /// The dump was interrupted by a concurrent change; its contents are inconsistent.
    Interrupted,
    /// The socket or the message framing failed.
    Transport(String),
}

impl Netlink {
    /// A handle on rtnetlink; nothing is opened until the first operation.
    pub fn new() -> Self {
        Self::default()
    }

    /// The index of `iface`. Equivalent to `ip link show dev IFACE`: one RTM_GETLINK by name,
    /// as iproute2 does, so no separate if_nametoindex call is needed.
    fn index_of(&self, iface: &IfName) -> Result<u32, AddrError> {
        let mut msg = LinkMessage::default();
        msg.attributes
            .push(LinkAttribute::IfName(iface.as_str().into()));
        let replies = self
            .exchange(RouteNetlinkMessage::GetLink(msg), NLM_F_ACK)
            .map_err(|f| match f {
                Failure::Kernel(Errno::ENODEV) => AddrError::NoSuchInterface(iface.clone()),
                f => f.into_addr_error(&format!("look up interface {iface}")),
            })?;
        replies
            .msgs
            .into_iter()
            .find_map(|m| match m {
                RouteNetlinkMessage::NewLink(link) => Some(link.header.index),
                _ => None,
            })
            .ok_or_else(|| {
                AddrError::Netlink(format!("look up interface {iface}: no link in reply"))
            })
    }

    /// Index to name for every interface, or to the bytes of a name that is not UTF-8.
    /// Equivalent to `ip -o link show`.
    fn link_names(&self) -> Result<HashMap<u32, Result<String, RawIfName>>, Failure> {
        let links = self.exchange(
            RouteNetlinkMessage::GetLink(LinkMessage::default()),
            NLM_F_DUMP,
        )?;
        let raw = links.undecoded.into_iter().filter_map(|u| match u {
            Undecoded::Link { index, name } => Some((index, Err(name))),
            Undecoded::Address { .. } => None,
        });
        Ok(links
            .msgs
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewLink(link) => {
                    let name = link.attributes.into_iter().find_map(|a| match a {
                        LinkAttribute::IfName(n) => Some(n),
                        _ => None,
                    })?;
                    Some((link.header.index, Ok(name)))
                }
                _ => None,
            })
            .chain(raw)
            .collect())
    }

    /// One pass of [`AddrOps::list`]; `Interrupted` when a dump raced with a change or an
    /// address names a link the link dump did not have (created in between).
    fn list_once(&self) -> Result<Vec<IfAddr>, Failure> {
        let names = self.link_names()?;
        let msgs = self.exchange(
            RouteNetlinkMessage::GetAddress(AddressMessage::default()),
            NLM_F_DUMP,
        )?;
        for u in &msgs.undecoded {
            if let Undecoded::Address { index } = u {
                match names.get(index) {
                    Some(Err(_)) => {}
                    Some(Ok(name)) => {
                        return Err(Failure::Transport(format!(
                            "parse reply: an address of {name} does not decode"
                        )));
                    }
                    None => return Err(Failure::Interrupted),
                }
            }
        }
        let mut out = Vec::new();
        for m in msgs.msgs {
            let RouteNetlinkMessage::NewAddress(a) = m else {
                continue;
            };
            if !matches!(a.header.family, AddressFamily::Inet | AddressFamily::Inet6) {
                continue;
            }
            // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer on a
            // point-to-point link. IPv6 sends IFA_LOCAL only when there is a peer.
            let (mut local, mut address, mut label, mut cacheinfo) = (None, None, None, None);
            // IFA_FLAGS carries all 32 bits; the header only the low 8, for kernels before 3.14.
            let mut flags = u32::from(a.header.flags.bits());
            for attr in a.attributes {
                match attr {
                    AddressAttribute::Local(ip) => local = Some(ip),
                    AddressAttribute::Address(ip) => address = Some(ip),
                    AddressAttribute::Label(l) => label = Some(l),
                    AddressAttribute::Flags(f) => flags = f.bits(),
                    AddressAttribute::CacheInfo(c) => {
                        cacheinfo = Some((c.ifa_preferred, c.ifa_valid))
                    }
                    _ => {}
                }
            }
            let Some(addr) = local.or(address) else {
                continue;
            };
            // An interface whose name is not UTF-8 is never tuned; its addresses are no VIPs.
            let Ok(name) = names.get(&a.header.index).ok_or(Failure::Interrupted)? else {
                continue;
            };
            let iface = name
                .parse()
                .map_err(|e| Failure::Transport(format!("interface {name:?}: {e}")))?;
            let scope = u8::from(a.header.scope);
            let attrs =
                AddrAttrs::from_kernel(&iface, addr, label.as_deref(), flags, scope, cacheinfo);
            out.push(IfAddr {
                iface,
                addr,
                prefix: a.header.prefix_len,
                attrs,
            });
        }
        Ok(out)
    }

    /// One pass of [`AddrOps::routes`]: both families, every table; multipath, non-unicast
    /// and interface-less routes are left out (hosttune records none of them).
    fn routes_once(&self) -> Result<Vec<IfRoute>, Failure> {
        let names = self.link_names()?;
        let mut out = Vec::new();
        for family in [AddressFamily::Inet, AddressFamily::Inet6] {
            let mut req = RouteMessage::default();
            req.header.address_family = family;
            let replies = self.exchange(RouteNetlinkMessage::GetRoute(req), NLM_F_DUMP)?;
            for m in replies.msgs {
                let RouteNetlinkMessage::NewRoute(r) = m else {
                    continue;
                };
                if r.header.kind != RouteType::Unicast {
                    continue;
                }
                let (mut dst, mut gateway, mut oif, mut metric) = (None, None, None, 0);
                let mut table = u32::from(r.header.table);
                for a in r.attributes {
                    match a {
                        RouteAttribute::Destination(d) => dst = ip_of(d),
                        RouteAttribute::Gateway(g) => gateway = ip_of(g),
                        RouteAttribute::Oif(i) => oif = Some(i),
                        RouteAttribute::Priority(p) => metric = p,
                        RouteAttribute::Table(t) => table = t,
                        _ => {}
                    }
                }
                let Some(oif) = oif else { continue };
                let dst = dst.unwrap_or(match family {
                    AddressFamily::Inet => IpAddr::from([0u8; 4]),
                    _ => IpAddr::from([0u16; 8]),
                });
                let name = names.get(&oif).ok_or(Failure::Interrupted)?;
                // An interface whose name is not UTF-8 is never tuned, so never recorded.
                let Ok(Ok(iface)) = name.as_ref().map(|n| n.parse::<IfName>()) else {
                    continue;
                };
                out.push(IfRoute {
                    iface,
                    dst,
                    prefix: r.header.destination_prefix_length,
                    gateway,
                    table,
                    metric,
                    protocol: u8::from(r.header.protocol),
                    scope: u8::from(r.header.scope),
                });
            }
        }
        Ok(out)
    }

    /// The RTM_NEWROUTE/RTM_DELROUTE body iproute2 sends for `r`.
    fn route_message(index: u32, r: &IfRoute) -> RouteMessage {
        let mut msg = RouteMessage::default();
        msg.header.address_family = match r.dst {
            IpAddr::V4(_) => AddressFamily::Inet,
            IpAddr::V6(_) => AddressFamily::Inet6,
        };
        msg.header.destination_prefix_length = r.prefix;
        msg.header.table = u8::try_from(r.table).unwrap_or(RouteHeader::RT_TABLE_UNSPEC);
        msg.header.protocol = RouteProtocol::from(r.protocol);
        msg.header.scope = RouteScope::from(r.scope);
        msg.header.kind = RouteType::Unicast;
        if r.prefix > 0 {
            msg.attributes
                .push(RouteAttribute::Destination(RouteAddress::from(r.dst)));
        }
        if let Some(g) = r.gateway {
            msg.attributes
                .push(RouteAttribute::Gateway(RouteAddress::from(g)));
        }
        msg.attributes.push(RouteAttribute::Oif(index));
        msg.attributes.push(RouteAttribute::Priority(r.metric));
        msg.attributes.push(RouteAttribute::Table(r.table));
        msg
    }

    /// The RTM_NEWADDR/RTM_DELADDR body iproute2 sends for `ADDR/PREFIX dev IFACE`.
    fn addr_message(index: u32, addr: IpAddr, prefix: u8, scope: AddressScope) -> AddressMessage {
        let mut msg = AddressMessage::default();
        msg.header.family = match addr {
            IpAddr::V4(_) => AddressFamily::Inet,
            IpAddr::V6(_) => AddressFamily::Inet6,
        };
        msg.header.prefix_len = prefix;
        msg.header.scope = scope;
        msg.header.index = index;
        // Both attributes for both families, as iproute2 does: equal values mean "no peer".
        msg.attributes.push(AddressAttribute::Local(addr));
        msg.attributes.push(AddressAttribute::Address(addr));
        msg
    }

    /// What iproute2 adds to the request for `label`, the flags and the lifetimes: the low 8
    /// flag bits in the header and all of them in IFA_FLAGS, IFA_CACHEINFO only for a finite
    /// lifetime, IFA_LABEL only for IPv4 (IPv6 addresses have none).
    fn add_attrs(msg: &mut AddressMessage, addr: IpAddr, attrs: &AddrAttrs) {
        let flags = attrs.flags.bits();
        if flags != 0 {
            msg.header.flags = AddressHeaderFlags::from_bits_retain(flags as u8);
            msg.attributes
                .push(AddressAttribute::Flags(AddressFlags::from_bits_retain(
                    flags,
                )));
        }
        if let (Some(label), true) = (&attrs.label, addr.is_ipv4()) {
            msg.attributes.push(AddressAttribute::Label(label.clone()));
        }
        if let Some((preferred, valid)) = attrs.cacheinfo() {
            let mut ci = CacheInfo::default();
            ci.ifa_preferred = preferred;
            ci.ifa_valid = valid;
            msg.attributes.push(AddressAttribute::CacheInfo(ci));
        }
    }

    /// Opens a netlink socket of `protocol` (bound, with the reply timeout) and sends `msg`
    /// as one request with a fresh sequence number, which it returns with the socket: the
    /// first half of every exchange, rtnetlink and generic netlink alike.
    pub(super) fn send<I: NetlinkSerializable>(
        &self,
        protocol: isize,
        msg: I,
        flags: u16,
    ) -> Result<(Socket, u32), Failure> {
        let mut socket = Socket::new(protocol).map_err(|e| transport("open socket", e))?;
        socket
            .bind_auto()
            .map_err(|e| transport("bind socket", e))?;
        let timeout = nix::sys::time::TimeVal::new(REPLY_TIMEOUT_SECS, 0);
        nix::sys::socket::setsockopt(&socket, nix::sys::socket::sockopt::ReceiveTimeout, &timeout)
            .map_err(|e| transport("set receive timeout", e.into()))?;
        let seq = self.seq.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | flags;
        header.sequence_number = seq;
        let mut request = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(msg));
        request.finalize();
        let mut buf = vec![0; request.buffer_len()];
        request.serialize(&mut buf);
        socket
            .send_to(&buf, &SocketAddr::new(0, 0), 0)
            .map_err(|e| transport("send request", e))?;
        Ok((socket, seq))
    }

    /// Sends one request and collects the replies: until NLMSG_DONE for a dump, until the
    /// ACK (NLMSG_ERROR with code 0) otherwise.
    pub(super) fn exchange(
        &self,
        msg: RouteNetlinkMessage,
        flags: u16,
    ) -> Result<Replies, Failure> {
        let (socket, seq) = self.send(NETLINK_ROUTE, msg, flags)?;

        let dump = flags & NLM_F_DUMP == NLM_F_DUMP;
        let mut interrupted = false;
        let mut replies = Replies::default();
        loop {
            let bytes = receive(&socket)?;
            for raw in frames(&bytes)? {
                let reply = match NetlinkMessage::<RouteNetlinkMessage>::deserialize(raw) {
                    Ok(r) => r,
                    Err(e) => {
                        let Some(u) = undecoded(raw) else {
                            return Err(Failure::Transport(format!("parse reply: {e}")));
                        };
                        let b = NetlinkBuffer::new(raw);
                        if b.sequence_number() == seq {
                            interrupted |= b.flags() & NLM_F_DUMP_INTR != 0;
                            replies.undecoded.push(u);
                        }
                        continue;
                    }
                };
                if reply.header.sequence_number != seq {
                    continue; // a stale answer to someone else's request
                }
                interrupted |= reply.header.flags & NLM_F_DUMP_INTR != 0;
                match reply.payload {
                    NetlinkPayload::Error(e) => match e.code {
                        None if !dump => return Ok(replies),
                        None => {}
                        Some(code) => return Err(Failure::Kernel(Errno::from_raw(-code.get()))),
                    },
                    NetlinkPayload::Done(done) if dump => {
                        if done.code < 0 {
                            return Err(Failure::Kernel(Errno::from_raw(-done.code)));
                        }
                        return if interrupted {
                            Err(Failure::Interrupted)
                        } else {
                            Ok(replies)
                        };
                    }
                    NetlinkPayload::InnerMessage(m) => replies.msgs.push(m),
                    NetlinkPayload::Overrun(_) => {
                        return Err(Failure::Transport("reply overrun".into()));
                    }
                    _ => {}
                }
            }
        }
    }
}

/// The IP address of a route attribute (MPLS and others have none).
fn ip_of(a: RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(v6)),
        _ => None,
    }
}

/// What a reply that did not decode is, if it is one of the [`Undecoded`] kinds: an
/// RTM_NEWLINK read by hand (its `ifinfomsg`, then IFLA_IFNAME among its attributes, NUL
/// terminated), or any RTM_NEWADDR (its `ifaddrmsg`).
fn undecoded(msg: &[u8]) -> Option<Undecoded> {
    let b = NetlinkBuffer::new_checked(msg).ok()?;
    let payload = b.payload();
    match b.message_type() {
        RTM_NEWLINK => {
            let index = LinkHeader::parse(payload).ok()?.index;
            let attrs = payload.get(IFINFOMSG_LEN..)?;
            let name = NlasIterator::new(attrs)
                .filter_map(Result::ok)
                .find(|a| a.kind() == IFLA_IFNAME)?;
            let name = name.value();
            let name = name.split(|&c| c == 0).next().unwrap_or(name);
            std::str::from_utf8(name).is_err().then(|| Undecoded::Link {
                index,
                name: RawIfName::from(name.to_vec()),
            })
        }
        RTM_NEWADDR => Some(Undecoded::Address {
            index: AddressHeader::parse(payload).ok()?.index,
        }),
        _ => None,
    }
}

impl Failure {
    fn into_addr_error(self, what: &str) -> AddrError {
        match self {
            Failure::Kernel(errno) => AddrError::Netlink(format!("{what}: {errno}")),
            Failure::Interrupted => AddrError::Netlink(format!(
                "{what}: dump kept changing, tried {DUMP_ATTEMPTS} times"
            )),
            Failure::Transport(detail) => AddrError::Netlink(format!("{what}: {detail}")),
        }
    }
}

impl AddrOps for Netlink {
    /// Equivalent to `ip -o addr show`: every IPv4 and IPv6 address, named by its
    /// interface (not by its IPv4 label, which may be `lo:0`).
    fn list(&self) -> Result<Vec<IfAddr>, AddrError> {
        let mut attempt = 1;
        loop {
            match self.list_once() {
                Err(Failure::Interrupted) if attempt < DUMP_ATTEMPTS => attempt += 1,
                r => return r.map_err(|f| f.into_addr_error("list addresses")),
            }
        }
    }

    /// Equivalent to `ip addr add 192.168.16.100/32 dev lo`, or with attributes to
    /// `ip addr add 192.0.2.10/32 dev eth0 label eth0:vip noprefixroute valid_lft 86400
    /// preferred_lft 86400`. Without a recorded scope it follows iproute2's default: host for
    /// 127.0.0.0/8, global otherwise (the kernel picks IPv6 scopes itself). EEXIST, the
    /// address already being there, counts as done; note that for IPv6 the kernel reports
    /// EEXIST for the same address with any prefix length.
    fn add(
        &self,
        iface: &IfName,
        addr: IpAddr,
        prefix: u8,
        attrs: &AddrAttrs,
    ) -> Result<(), AddrError> {
        let index = self.index_of(iface)?;
        let scope = AddressScope::from(attrs.scope_for(addr).0);
        let mut msg = Self::addr_message(index, addr, prefix, scope);
        Self::add_attrs(&mut msg, addr, attrs);
        let flags = NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
        match self.exchange(RouteNetlinkMessage::NewAddress(msg), flags) {
            Ok(_) | Err(Failure::Kernel(Errno::EEXIST)) => Ok(()),
            Err(Failure::Kernel(errno)) => Err(AddrError::os("add", iface, addr, prefix, errno)),
            Err(f) => Err(f.into_addr_error(&format!("add {addr}/{prefix} on {iface}"))),
        }
    }

    /// Equivalent to `ip addr del 192.168.16.100/32 dev lo`. The prefix length must match
    /// the one on the interface; EADDRNOTAVAIL (no such address) counts as done.
    fn del(&self, iface: &IfName, addr: IpAddr, prefix: u8) -> Result<(), AddrError> {
        let index = self.index_of(iface)?;
        let msg = Self::addr_message(index, addr, prefix, AddressScope::Universe);
        match self.exchange(RouteNetlinkMessage::DelAddress(msg), NLM_F_ACK) {
            Ok(_) | Err(Failure::Kernel(Errno::EADDRNOTAVAIL)) => Ok(()),
            Err(Failure::Kernel(errno)) => Err(AddrError::os("del", iface, addr, prefix, errno)),
            Err(f) => Err(f.into_addr_error(&format!("del {addr}/{prefix} on {iface}"))),
        }
    }

    /// Equivalent to `ip route show table all; ip -6 route show table all`, less multipath,
    /// non-unicast and interface-less routes.
    fn routes(&self) -> Result<Vec<IfRoute>, AddrError> {
        let mut attempt = 1;
        loop {
            match self.routes_once() {
                Err(Failure::Interrupted) if attempt < DUMP_ATTEMPTS => attempt += 1,
                r => return r.map_err(|f| f.into_addr_error("list routes")),
            }
        }
    }

    /// Equivalent to `ip -6 route add 2001:db8::/32 via fe80::1 dev eth0 table 254 metric
    /// 1024 proto static`. EEXIST, the route already being there, counts as done.
    fn add_route(&self, r: &IfRoute) -> Result<(), AddrError> {
        let index = self.index_of(&r.iface)?;
        let msg = Self::route_message(index, r);
        let flags = NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
        match self.exchange(RouteNetlinkMessage::NewRoute(msg), flags) {
            Ok(_) | Err(Failure::Kernel(Errno::EEXIST)) => Ok(()),
            Err(f) => Err(f.into_addr_error(&format!("add route {r}"))),
        }
    }

    /// Equivalent to `ip -6 route del …` of the same route. ESRCH (no such route) counts as
    /// done.
    fn del_route(&self, r: &IfRoute) -> Result<(), AddrError> {
        let index = self.index_of(&r.iface)?;
        let msg = Self::route_message(index, r);
        match self.exchange(RouteNetlinkMessage::DelRoute(msg), NLM_F_ACK) {
            Ok(_) | Err(Failure::Kernel(Errno::ESRCH)) => Ok(()),
            Err(f) => Err(f.into_addr_error(&format!("del route {r}"))),
        }
    }
}

fn transport(what: &str, e: std::io::Error) -> Failure {
    Failure::Transport(format!("{what}: {e}"))
}

/// The next datagram from the kernel (others are skipped). recv_from_full peeks at the
/// datagram's size first, so a large dump chunk is never truncated whatever the page size.
pub(super) fn receive(socket: &Socket) -> Result<Vec<u8>, Failure> {
    loop {
        let (bytes, from) = socket.recv_from_full().map_err(|e| match e.kind() {
            std::io::ErrorKind::WouldBlock => Failure::Transport(format!(
                "no reply from the kernel within {REPLY_TIMEOUT_SECS}s"
            )),
            _ => transport("receive reply", e),
        })?;
        if from.port_number() == 0 {
            return Ok(bytes);
        }
    }
}

/// The netlink messages of one datagram, each as its raw bytes.
pub(super) fn frames(bytes: &[u8]) -> Result<Vec<&[u8]>, Failure> {
    let mut out = Vec::new();
    let mut off = 0;
    while off < bytes.len() {
        let len = NetlinkBuffer::new_checked(&bytes[off..])
            .map_err(|e| Failure::Transport(format!("reply framing: {e}")))?
            .length() as usize;
        out.push(&bytes[off..off + len]);
        off += (len + 3) & !3;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An RTM_NEWLINK or RTM_NEWADDR as the kernel sends it, with `name` (4 bytes) as the
    /// interface name or label, patched in after serializing so that it need not be UTF-8.
    fn message(link: bool, index: u32, name: &[u8; 4]) -> Vec<u8> {
        let placeholder = "ZZZZ";
        let inner = if link {
            let mut m = LinkMessage::default();
            m.header.index = index;
            m.attributes.push(LinkAttribute::IfName(placeholder.into()));
            RouteNetlinkMessage::NewLink(m)
        } else {
            let mut m = AddressMessage::default();
            m.header.index = index;
            m.header.family = AddressFamily::Inet;
            m.attributes
                .push(AddressAttribute::Local([192, 0, 2, 1].into()));
            m.attributes
                .push(AddressAttribute::Label(placeholder.into()));
            RouteNetlinkMessage::NewAddress(m)
        };
        let mut n = NetlinkMessage::new(
            NetlinkHeader::default(),
            NetlinkPayload::InnerMessage(inner),
        );
        n.finalize();
        let mut buf = vec![0; n.buffer_len()];
        n.serialize(&mut buf);
        let at = buf
            .windows(4)
            .position(|w| w == placeholder.as_bytes())
            .unwrap();
        buf[at..at + 4].copy_from_slice(name);
        buf
    }

    #[test]
    fn a_link_whose_name_is_not_utf8_is_kept_apart_with_its_bytes() {
        let odd = message(true, 7, b"bv\xff\xfe");
        assert!(NetlinkMessage::<RouteNetlinkMessage>::deserialize(&odd).is_err());
        assert_eq!(
            undecoded(&odd),
            Some(Undecoded::Link {
                index: 7,
                name: RawIfName::from(b"bv\xff\xfe".to_vec())
            })
        );
        let addr = message(false, 7, b"bv\xff\xfe");
        assert!(NetlinkMessage::<RouteNetlinkMessage>::deserialize(&addr).is_err());
        assert_eq!(undecoded(&addr), Some(Undecoded::Address { index: 7 }));
        // A link that fails to decode for another reason is not taken for one.
        let fine = message(true, 8, b"bv\xc3\xa9");
        assert_eq!(undecoded(&fine), None);
        assert_eq!(undecoded(&odd[..10]), None);
    }
}
