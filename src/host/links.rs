//! Link events: an rtnetlink socket subscribed to RTNLGRP_LINK, the multicast group the kernel
//! sends RTM_NEWLINK / RTM_DELLINK to whenever an interface appears, changes (up, down, queue
//! counts) or goes. Equivalent to `ip monitor link`. Non-blocking: the agent polls its
//! descriptor together with the signalfd and reads what is queued.

use std::os::fd::{AsFd, BorrowedFd};

use netlink_packet_core::{NetlinkBuffer, NetlinkMessage, NetlinkPayload};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::LinkAttribute;
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

/// `RTNLGRP_LINK` in include/uapi/linux/rtnetlink.h (`enum rtnetlink_groups`).
const RTNLGRP_LINK: u32 = 1;

/// What happened to an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkEvent {
    /// RTM_NEWLINK: it appeared or changed.
    Changed(String),
    /// RTM_DELLINK: it went away.
    Removed(String),
    /// The socket's queue overflowed (ENOBUFS): events were lost, so everything should be
    /// looked at again.
    Overrun,
}

/// The subscribed socket.
pub struct Links {
    socket: Socket,
}

impl Links {
    /// Opens a socket in this network namespace and joins RTNLGRP_LINK.
    pub fn open() -> std::io::Result<Links> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind(&SocketAddr::new(0, 0))?;
        socket.add_membership(RTNLGRP_LINK)?;
        socket.set_non_blocking(true)?;
        // A burst of interfaces (a bond and its VLANs) must not overflow the queue.
        let _ = socket.set_rx_buf_sz(1 << 20);
        // Tests shrink the queue to make a burst overflow it, and the agent resynchronise.
        #[cfg(feature = "test-hooks")]
        if let Some(n) = std::env::var("HOSTTUNE_TEST_LINK_RCVBUF")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
        {
            let _ = socket.set_rx_buf_sz(n);
        }
        Ok(Links { socket })
    }

    /// Every event queued now (none when nothing is).
    pub fn drain(&self) -> Vec<LinkEvent> {
        let mut out = Vec::new();
        loop {
            let mut buf = vec![0u8; 64 * 1024];
            match self.socket.recv(&mut &mut buf[..], 0) {
                Ok(n) => out.extend(parse(&buf[..n])),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return out,
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => out.push(LinkEvent::Overrun),
                Err(_) => return out,
            }
        }
    }
}

impl AsFd for Links {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }
}

/// The link events in one datagram (several messages may share it).
pub fn parse(bytes: &[u8]) -> Vec<LinkEvent> {
    let mut out = Vec::new();
    let mut off = 0;
    while off < bytes.len() {
        let Ok(b) = NetlinkBuffer::new_checked(&bytes[off..]) else {
            break;
        };
        let len = b.length() as usize;
        if len == 0 || off + len > bytes.len() {
            break;
        }
        if let Ok(m) = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&bytes[off..off + len]) {
            let name = |attrs: &[LinkAttribute]| {
                attrs.iter().find_map(|a| match a {
                    LinkAttribute::IfName(n) => Some(n.clone()),
                    _ => None,
                })
            };
            match m.payload {
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(l)) => {
                    out.extend(name(&l.attributes).map(LinkEvent::Changed));
                }
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelLink(l)) => {
                    out.extend(name(&l.attributes).map(LinkEvent::Removed));
                }
                _ => {}
            }
        }
        off += (len + 3) & !3;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_core::NetlinkHeader;
    use netlink_packet_route::link::LinkMessage;

    fn datagram(msgs: Vec<RouteNetlinkMessage>) -> Vec<u8> {
        let mut out = Vec::new();
        for m in msgs {
            let mut n =
                NetlinkMessage::new(NetlinkHeader::default(), NetlinkPayload::InnerMessage(m));
            n.finalize();
            let mut buf = vec![0; n.buffer_len()];
            n.serialize(&mut buf);
            out.extend(buf);
        }
        out
    }

    #[test]
    fn new_and_deleted_links_are_named() {
        let mut a = LinkMessage::default();
        a.attributes.push(LinkAttribute::IfName("veth0".into()));
        let mut b = LinkMessage::default();
        b.attributes.push(LinkAttribute::IfName("eth0.100".into()));
        let bytes = datagram(vec![
            RouteNetlinkMessage::NewLink(a),
            RouteNetlinkMessage::DelLink(b),
        ]);
        assert_eq!(
            parse(&bytes),
            [
                LinkEvent::Changed("veth0".into()),
                LinkEvent::Removed("eth0.100".into())
            ]
        );
        assert!(parse(&bytes[..7]).is_empty());
    }

    #[test]
    fn a_link_whose_name_is_not_utf8_is_passed_over_and_the_rest_still_read() {
        // netlink-packet-route decodes IFLA_IFNAME as a string: such an interface's events do
        // not decode. It is never tuned, so they are dropped, and the others in the datagram
        // are still read.
        let mut a = LinkMessage::default();
        a.attributes.push(LinkAttribute::IfName("bvZZ".into()));
        let mut b = LinkMessage::default();
        b.attributes.push(LinkAttribute::IfName("bv0".into()));
        let mut bytes = datagram(vec![
            RouteNetlinkMessage::NewLink(a),
            RouteNetlinkMessage::NewLink(b),
        ]);
        let at = bytes.windows(4).position(|w| w == b"bvZZ").unwrap();
        bytes[at + 2..at + 4].copy_from_slice(b"\xff\xfe");
        assert_eq!(parse(&bytes), [LinkEvent::Changed("bv0".into())]);
    }
}
