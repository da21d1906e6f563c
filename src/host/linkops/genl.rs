//! FOU ports over generic netlink, hand-encoded on netlink-packet-core (no generic netlink
//! crate): a `struct genlmsghdr` (include/uapi/linux/genetlink.h) followed by attributes.
//! The `fou` family's id is resolved per operation with CTRL_CMD_GETFAMILY; the kernel
//! loads the module itself (alias `net-pf-16-proto-16-family-fou`) and answers ENOENT when
//! there is none. Then FOU_CMD_ADD, FOU_CMD_DEL or a FOU_CMD_GET dump with the FOU_ATTR_*
//! of include/uapi/linux/fou.h, as `ip fou` sends them.

use netlink_packet_core::{
    DecodeError, DefaultNla, Emitable, NLM_F_ACK, NLM_F_DUMP, NetlinkDeserializable, NetlinkHeader,
    NetlinkMessage, NetlinkPayload, NetlinkSerializable, Nla, NlasIterator, Parseable,
};
use netlink_sys::protocols::NETLINK_GENERIC;
use nix::errno::Errno;

use super::{FouFamily, FouKind, FouPort, LinkError};
use crate::host::netlink::{Failure, Netlink, frames, receive};

/// `GENL_ID_CTRL` (NLMSG_MIN_TYPE): the controller family, which resolves the others.
pub(super) const GENL_ID_CTRL: u16 = 0x10;
/// `GENL_HDRLEN`: `sizeof(struct genlmsghdr)` = cmd, version, 16 reserved bits.
pub(super) const GENL_HDRLEN: usize = 4;
pub(super) const CTRL_CMD_GETFAMILY: u8 = 3;
pub(super) const CTRL_ATTR_FAMILY_ID: u16 = 1;
pub(super) const CTRL_ATTR_FAMILY_NAME: u16 = 2;
/// `FOU_GENL_NAME` and `FOU_GENL_VERSION`.
pub(super) const FOU_GENL_NAME: &str = "fou";
pub(super) const FOU_GENL_VERSION: u8 = 1;
pub(super) const FOU_CMD_ADD: u8 = 1;
pub(super) const FOU_CMD_DEL: u8 = 2;
pub(super) const FOU_CMD_GET: u8 = 3;
pub(super) const FOU_ATTR_PORT: u16 = 1;
pub(super) const FOU_ATTR_AF: u16 = 2;
pub(super) const FOU_ATTR_IPPROTO: u16 = 3;
pub(super) const FOU_ATTR_TYPE: u16 = 4;
pub(super) const FOU_ENCAP_DIRECT: u8 = 1;
pub(super) const FOU_ENCAP_GUE: u8 = 2;

/// One generic netlink message: the family id is the netlink message type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct GenlMessage {
    pub family: u16,
    pub cmd: u8,
    pub version: u8,
    pub attrs: Vec<DefaultNla>,
}

impl NetlinkSerializable for GenlMessage {
    fn message_type(&self) -> u16 {
        self.family
    }
    fn buffer_len(&self) -> usize {
        GENL_HDRLEN + self.attrs.as_slice().buffer_len()
    }
    fn serialize(&self, buf: &mut [u8]) {
        buf[..GENL_HDRLEN].copy_from_slice(&[self.cmd, self.version, 0, 0]);
        self.attrs.as_slice().emit(&mut buf[GENL_HDRLEN..]);
    }
}

impl NetlinkDeserializable for GenlMessage {
    type Error = DecodeError;
    fn deserialize(header: &NetlinkHeader, payload: &[u8]) -> Result<Self, DecodeError> {
        let Some(attrs) = payload.get(GENL_HDRLEN..) else {
            return Err(DecodeError::from(
                "generic netlink message shorter than its header",
            ));
        };
        let attrs = NlasIterator::new(attrs)
            .map(|nla| DefaultNla::parse(&nla?))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            family: header.message_type,
            cmd: payload[0],
            version: payload[1],
            attrs,
        })
    }
}

/// CTRL_CMD_GETFAMILY for `name` (NUL-terminated, as the kernel's policy wants).
pub(super) fn getfamily(name: &str) -> GenlMessage {
    let mut value = name.as_bytes().to_vec();
    value.push(0);
    GenlMessage {
        family: GENL_ID_CTRL,
        cmd: CTRL_CMD_GETFAMILY,
        version: 1,
        attrs: vec![DefaultNla::new(CTRL_ATTR_FAMILY_NAME, value)],
    }
}

/// The family id in a CTRL_CMD_NEWFAMILY reply (a native-order u16).
pub(super) fn family_id(reply: &GenlMessage) -> Option<u16> {
    let a = reply
        .attrs
        .iter()
        .find(|a| a.kind() == CTRL_ATTR_FAMILY_ID)?;
    let mut v = [0u8; 2];
    a.emit_value(&mut v);
    Some(u16::from_ne_bytes(v))
}

/// The FOU_CMD_ADD or FOU_CMD_DEL request for `p`, as `ip fou add|del` sends it:
/// FOU_ATTR_PORT in network order, FOU_ATTR_TYPE, FOU_ATTR_AF (AF_INET or AF_INET6), and
/// FOU_ATTR_IPPROTO for a direct port only.
pub(super) fn fou_message(family: u16, cmd: u8, p: &FouPort) -> GenlMessage {
    let af = match p.family {
        FouFamily::V4 => libc::AF_INET as u8,
        FouFamily::V6 => libc::AF_INET6 as u8,
    };
    let mut attrs = vec![
        DefaultNla::new(FOU_ATTR_PORT, p.port.to_be_bytes().to_vec()),
        DefaultNla::new(FOU_ATTR_AF, vec![af]),
    ];
    match p.kind {
        FouKind::Gue => attrs.push(DefaultNla::new(FOU_ATTR_TYPE, vec![FOU_ENCAP_GUE])),
        FouKind::Direct(proto) => {
            attrs.push(DefaultNla::new(FOU_ATTR_TYPE, vec![FOU_ENCAP_DIRECT]));
            attrs.push(DefaultNla::new(FOU_ATTR_IPPROTO, vec![proto]));
        }
    }
    GenlMessage {
        family,
        cmd,
        version: FOU_GENL_VERSION,
        attrs,
    }
}

/// One port of a FOU_CMD_GET dump; `None` when a required attribute is missing or unknown.
pub(super) fn parse_fou(m: &GenlMessage) -> Option<FouPort> {
    let (mut port, mut af, mut kind, mut proto) = (None, None, None, 0);
    for a in &m.attrs {
        let mut v = vec![0u8; a.value_len()];
        a.emit_value(&mut v);
        match (a.kind(), v.as_slice()) {
            (FOU_ATTR_PORT, &[hi, lo]) => port = Some(u16::from_be_bytes([hi, lo])),
            (FOU_ATTR_AF, &[f]) => af = Some(f),
            (FOU_ATTR_TYPE, &[t]) => kind = Some(t),
            (FOU_ATTR_IPPROTO, &[p]) => proto = p,
            _ => {}
        }
    }
    let family = match i32::from(af?) {
        libc::AF_INET => FouFamily::V4,
        libc::AF_INET6 => FouFamily::V6,
        _ => return None,
    };
    let kind = match kind? {
        FOU_ENCAP_GUE => FouKind::Gue,
        FOU_ENCAP_DIRECT => FouKind::Direct(proto),
        _ => return None,
    };
    Some(FouPort {
        port: port?,
        family,
        kind,
    })
}

/// Sends one generic netlink request and collects the replies: until NLMSG_DONE for a
/// dump, until the ACK otherwise. The same discipline as the rtnetlink exchange: a socket
/// per request, a timeout, only the kernel's answers to this sequence number.
fn exchange(nl: &Netlink, msg: GenlMessage, flags: u16) -> Result<Vec<GenlMessage>, Failure> {
    let (socket, seq) = nl.send(NETLINK_GENERIC, msg, flags)?;
    let dump = flags & NLM_F_DUMP == NLM_F_DUMP;
    let mut out = Vec::new();
    loop {
        let bytes = receive(&socket)?;
        for raw in frames(&bytes)? {
            let reply = NetlinkMessage::<GenlMessage>::deserialize(raw)
                .map_err(|e| Failure::Transport(format!("parse reply: {e}")))?;
            if reply.header.sequence_number != seq {
                continue;
            }
            match reply.payload {
                NetlinkPayload::Error(e) => match e.code {
                    None if !dump => return Ok(out),
                    None => {}
                    Some(code) => return Err(Failure::Kernel(Errno::from_raw(-code.get()))),
                },
                NetlinkPayload::Done(d) if dump => {
                    return if d.code < 0 {
                        Err(Failure::Kernel(Errno::from_raw(-d.code)))
                    } else {
                        Ok(out)
                    };
                }
                NetlinkPayload::InnerMessage(m) => out.push(m),
                NetlinkPayload::Overrun(_) => {
                    return Err(Failure::Transport("reply overrun".into()));
                }
                _ => {}
            }
        }
    }
}

/// The `fou` family's id, or `Unsupported` naming the module when the kernel has none.
fn fou_family(nl: &Netlink, op: &'static str, object: &str) -> Result<u16, LinkError> {
    let unsupported = || LinkError::Unsupported {
        op,
        object: object.to_string(),
        module: FOU_GENL_NAME.into(),
    };
    let replies = match exchange(nl, getfamily(FOU_GENL_NAME), NLM_F_ACK) {
        Err(Failure::Kernel(Errno::ENOENT)) => return Err(unsupported()),
        r => r.map_err(|f| f.into_link_error(op, object.to_string(), None))?,
    };
    replies
        .iter()
        .find_map(family_id)
        .ok_or_else(|| LinkError::Netlink {
            op,
            object: object.to_string(),
            detail: "no family id in the controller's reply".into(),
        })
}

/// Equivalent to `ip fou show`.
pub(super) fn fou_list(nl: &Netlink) -> Result<Vec<FouPort>, LinkError> {
    let (op, object) = ("list", "fou ports");
    let family = fou_family(nl, op, object)?;
    let req = GenlMessage {
        family,
        cmd: FOU_CMD_GET,
        version: FOU_GENL_VERSION,
        attrs: Vec::new(),
    };
    let replies =
        exchange(nl, req, NLM_F_DUMP).map_err(|f| f.into_link_error(op, object.into(), None))?;
    Ok(replies.iter().filter_map(parse_fou).collect())
}

/// Equivalent to `ip fou add|del PORT`. EAFNOSUPPORT on an IPv6 port means a kernel
/// without IPv6.
pub(super) fn fou_change(
    nl: &Netlink,
    cmd: u8,
    op: &'static str,
    p: &FouPort,
) -> Result<(), LinkError> {
    let object = super::fou_object(p);
    let family = fou_family(nl, op, &object)?;
    let missing = match p.family {
        FouFamily::V4 => FOU_GENL_NAME,
        FouFamily::V6 => "ipv6",
    };
    exchange(nl, fou_message(family, cmd, p), NLM_F_ACK)
        .map(drop)
        .map_err(|f| f.into_link_error(op, object, Some(missing)))
}

#[cfg(test)]
#[path = "genl_tests.rs"]
mod tests;
