//! Generic netlink byte layouts against include/uapi/linux/genetlink.h and fou.h: what the
//! kernel's policies read (`fou_nl_policy`: port as a big-endian u16, af, ipproto and type as
//! u8; `ctrl_policy_family`: the name as a NUL-terminated string, the id as a u16).

use super::*;
use netlink_packet_core::NLM_F_REQUEST;

/// The request as it goes on the wire, its netlink header included.
fn wire(m: GenlMessage, flags: u16, seq: u32) -> Vec<u8> {
    let mut header = NetlinkHeader::default();
    header.flags = flags;
    header.sequence_number = seq;
    let mut n = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(m));
    n.finalize();
    let mut buf = vec![0; n.buffer_len()];
    n.serialize(&mut buf);
    buf
}

fn parse(bytes: &[u8]) -> GenlMessage {
    match NetlinkMessage::<GenlMessage>::deserialize(bytes)
        .unwrap()
        .payload
    {
        NetlinkPayload::InnerMessage(m) => m,
        p => panic!("not a generic netlink message: {p:?}"),
    }
}

#[test]
fn the_uapi_numbers_are_the_headers() {
    assert_eq!(GENL_ID_CTRL, libc::NLMSG_MIN_TYPE as u16);
    assert_eq!(GENL_HDRLEN, 4);
    assert_eq!(
        u16::from(CTRL_CMD_GETFAMILY),
        libc::CTRL_CMD_GETFAMILY as u16
    );
    assert_eq!(CTRL_ATTR_FAMILY_ID, libc::CTRL_ATTR_FAMILY_ID as u16);
    assert_eq!(CTRL_ATTR_FAMILY_NAME, libc::CTRL_ATTR_FAMILY_NAME as u16);
    // fou.h's enums, in order from 0 (UNSPEC).
    assert_eq!([FOU_CMD_ADD, FOU_CMD_DEL, FOU_CMD_GET], [1, 2, 3]);
    assert_eq!(
        [FOU_ATTR_PORT, FOU_ATTR_AF, FOU_ATTR_IPPROTO, FOU_ATTR_TYPE],
        [1, 2, 3, 4]
    );
    assert_eq!([FOU_ENCAP_DIRECT, FOU_ENCAP_GUE], [1, 2]);
}

#[test]
fn getfamily_asks_the_controller_for_fou_by_its_nul_terminated_name() {
    let flags = NLM_F_REQUEST | NLM_F_ACK;
    let got = wire(getfamily(FOU_GENL_NAME), flags, 7);
    #[rustfmt::skip]
    let want: Vec<u8> = [
        &28u32.to_ne_bytes()[..],          // nlmsg_len: 16 + 4 + 8
        &0x10u16.to_ne_bytes(),            // nlmsg_type: GENL_ID_CTRL
        &5u16.to_ne_bytes(),               // NLM_F_REQUEST | NLM_F_ACK
        &7u32.to_ne_bytes(),               // nlmsg_seq
        &0u32.to_ne_bytes(),               // nlmsg_pid
        &[3, 1, 0, 0],                     // genlmsghdr: CTRL_CMD_GETFAMILY, version 1
        &8u16.to_ne_bytes(), &2u16.to_ne_bytes(), b"fou\0", // CTRL_ATTR_FAMILY_NAME
    ]
    .concat();
    assert_eq!(got, want);
}

#[test]
fn the_family_id_is_read_from_the_controllers_reply() {
    #[rustfmt::skip]
    let reply: Vec<u8> = [
        &36u32.to_ne_bytes()[..], &0x10u16.to_ne_bytes(), &0u16.to_ne_bytes(),
        &7u32.to_ne_bytes(), &0u32.to_ne_bytes(),
        &[1, 2, 0, 0],                                              // CTRL_CMD_NEWFAMILY
        &8u16.to_ne_bytes(), &2u16.to_ne_bytes(), b"fou\0",         // CTRL_ATTR_FAMILY_NAME
        &6u16.to_ne_bytes(), &1u16.to_ne_bytes(), &0x21u16.to_ne_bytes(), &[0, 0], // _ID, padded
    ]
    .concat();
    let m = parse(&reply);
    assert_eq!((m.family, m.cmd, m.version), (0x10, 1, 2));
    assert_eq!(family_id(&m), Some(0x21));
    let no_id = GenlMessage {
        attrs: m.attrs[..1].to_vec(),
        ..m
    };
    assert_eq!(family_id(&no_id), None);
}

#[test]
fn fou_add_of_a_gue_port_sends_port_in_network_order_af_and_type() {
    let p = FouPort {
        port: 6080,
        family: FouFamily::V4,
        kind: FouKind::Gue,
    };
    let got = wire(
        fou_message(0x21, FOU_CMD_ADD, &p),
        NLM_F_REQUEST | NLM_F_ACK,
        9,
    );
    #[rustfmt::skip]
    let want: Vec<u8> = [
        &44u32.to_ne_bytes()[..], &0x21u16.to_ne_bytes(), &5u16.to_ne_bytes(),
        &9u32.to_ne_bytes(), &0u32.to_ne_bytes(),
        &[1, 1, 0, 0],                                               // FOU_CMD_ADD, version 1
        &6u16.to_ne_bytes(), &1u16.to_ne_bytes(), &[0x17, 0xc0, 0, 0], // FOU_ATTR_PORT 6080 BE
        &5u16.to_ne_bytes(), &2u16.to_ne_bytes(), &[2, 0, 0, 0],       // FOU_ATTR_AF AF_INET
        &5u16.to_ne_bytes(), &4u16.to_ne_bytes(), &[2, 0, 0, 0],       // FOU_ATTR_TYPE GUE
    ]
    .concat();
    assert_eq!(got, want);
}

#[test]
fn fou_del_of_a_direct_ipv6_port_adds_the_ip_protocol() {
    let p = FouPort {
        port: 5555,
        family: FouFamily::V6,
        kind: FouKind::Direct(4),
    };
    let m = fou_message(0x21, FOU_CMD_DEL, &p);
    let mut buf = vec![0; m.buffer_len()];
    m.serialize(&mut buf);
    #[rustfmt::skip]
    let want: Vec<u8> = [
        &[2, 1, 0, 0][..],                                              // FOU_CMD_DEL
        &6u16.to_ne_bytes(), &1u16.to_ne_bytes(), &[0x15, 0xb3, 0, 0], // port 5555 BE
        &5u16.to_ne_bytes(), &2u16.to_ne_bytes(), &[10, 0, 0, 0],      // AF_INET6
        &5u16.to_ne_bytes(), &4u16.to_ne_bytes(), &[1, 0, 0, 0],       // FOU_ENCAP_DIRECT
        &5u16.to_ne_bytes(), &3u16.to_ne_bytes(), &[4, 0, 0, 0],       // FOU_ATTR_IPPROTO 4
    ]
    .concat();
    assert_eq!(buf, want);
    assert_eq!(m.message_type(), 0x21);
}

#[test]
fn a_dumped_port_reads_back_in_the_kernels_attribute_order() {
    // fou_fill_info: AF, PORT, IPPROTO, TYPE, then the REMCSUM_NOPARTIAL flag if set.
    #[rustfmt::skip]
    let reply: Vec<u8> = [
        &64u32.to_ne_bytes()[..], &0x21u16.to_ne_bytes(), &2u16.to_ne_bytes(), // NLM_F_MULTI
        &3u32.to_ne_bytes(), &0u32.to_ne_bytes(),
        &[3, 1, 0, 0],                                                 // FOU_CMD_GET
        &5u16.to_ne_bytes(), &2u16.to_ne_bytes(), &[10, 0, 0, 0],      // AF_INET6
        &6u16.to_ne_bytes(), &1u16.to_ne_bytes(), &[0x17, 0xc0, 0, 0], // port 6080
        &5u16.to_ne_bytes(), &3u16.to_ne_bytes(), &[0, 0, 0, 0],       // ipproto 0 (gue)
        &5u16.to_ne_bytes(), &4u16.to_ne_bytes(), &[2, 0, 0, 0],       // GUE
        &4u16.to_ne_bytes(), &5u16.to_ne_bytes(),                      // REMCSUM_NOPARTIAL
        &8u16.to_ne_bytes(), &6u16.to_ne_bytes(), &[0, 0, 0, 0],       // LOCAL_V4 (5.2+)
    ]
    .concat();
    let m = parse(&reply);
    assert_eq!(
        parse_fou(&m),
        Some(FouPort {
            port: 6080,
            family: FouFamily::V6,
            kind: FouKind::Gue
        })
    );
    // Without a type or with an unknown family it is not a port hosttune can name.
    let untyped = GenlMessage {
        attrs: m
            .attrs
            .iter()
            .filter(|a| a.kind() != FOU_ATTR_TYPE)
            .cloned()
            .collect(),
        ..m.clone()
    };
    assert_eq!(parse_fou(&untyped), None);
    let mut odd = m;
    odd.attrs[0] = DefaultNla::new(FOU_ATTR_AF, vec![1]);
    assert_eq!(parse_fou(&odd), None);
}

#[test]
fn every_port_survives_encoding_and_decoding() {
    for family in [FouFamily::V4, FouFamily::V6] {
        for kind in [FouKind::Gue, FouKind::Direct(4), FouKind::Direct(41)] {
            let p = FouPort {
                port: 65535,
                family,
                kind,
            };
            let bytes = wire(fou_message(0x30, FOU_CMD_ADD, &p), NLM_F_REQUEST, 1);
            assert_eq!(parse_fou(&parse(&bytes)), Some(p), "{p}");
        }
    }
}

#[test]
fn a_message_shorter_than_the_generic_header_does_not_decode() {
    let mut bytes = wire(getfamily("fou"), NLM_F_REQUEST, 1);
    bytes.truncate(18);
    bytes[..4].copy_from_slice(&18u32.to_ne_bytes());
    assert!(NetlinkMessage::<GenlMessage>::deserialize(&bytes).is_err());
}
