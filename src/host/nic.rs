//! The NIC seam: ring and channel counts, as `ethtool -g/-G` and `ethtool -l/-L` see them,
//! and the RSS hash fields of a flow type, as `ethtool -n/-N IFACE rx-flow-hash` see them.
//! The real implementation is the SIOCETHTOOL ioctl in `ethtool.rs`.

use std::fmt;
use std::str::FromStr;

use crate::host::abi;
pub use crate::host::ethtool_cmds::{Coalesce, NicStats, Pause, RssIndir};
use crate::types::IfName;

/// Ring sizes and their driver maximums (`struct ethtool_ringparam`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct RingParams {
    pub rx_max: u32,
    pub rx_mini_max: u32,
    pub rx_jumbo_max: u32,
    pub tx_max: u32,
    pub rx: u32,
    pub rx_mini: u32,
    pub rx_jumbo: u32,
    pub tx: u32,
}

/// Channel counts and their driver maximums (`struct ethtool_channels`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct ChannelParams {
    pub max_rx: u32,
    pub max_tx: u32,
    pub max_other: u32,
    pub max_combined: u32,
    pub rx: u32,
    pub tx: u32,
    pub other: u32,
    pub combined: u32,
}

/// A flow type whose RSS hash fields `ethtool -n/-N IFACE rx-flow-hash FLOW` reads or sets,
/// spelled as ethtool spells it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub enum FlowType {
    /// `tcp4`: `TCP_V4_FLOW`.
    Tcp4,
    /// `udp4`: `UDP_V4_FLOW`.
    Udp4,
    /// `sctp4`: `SCTP_V4_FLOW`.
    Sctp4,
    /// `tcp6`: `TCP_V6_FLOW`.
    Tcp6,
    /// `udp6`: `UDP_V6_FLOW`.
    Udp6,
    /// `sctp6`: `SCTP_V6_FLOW`.
    Sctp6,
}

/// A flow type name that is not one of ethtool's six that hosttune knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown flow type {0:?}: expected one of tcp4, udp4, sctp4, tcp6, udp6, sctp6")]
pub struct FlowTypeError(pub String);

impl FlowType {
    /// Every flow type, in kernel number order.
    pub const ALL: [Self; 6] = [
        Self::Tcp4,
        Self::Udp4,
        Self::Sctp4,
        Self::Tcp6,
        Self::Udp6,
        Self::Sctp6,
    ];

    /// ethtool's name: `tcp4`, `udp4`, `sctp4`, `tcp6`, `udp6`, `sctp6`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tcp4 => "tcp4",
            Self::Udp4 => "udp4",
            Self::Sctp4 => "sctp4",
            Self::Tcp6 => "tcp6",
            Self::Udp6 => "udp6",
            Self::Sctp6 => "sctp6",
        }
    }

    /// The `flow_type` of `struct ethtool_rxnfc` (`TCP_V4_FLOW` and so on).
    pub fn to_kernel(self) -> u32 {
        match self {
            Self::Tcp4 => abi::TCP_V4_FLOW,
            Self::Udp4 => abi::UDP_V4_FLOW,
            Self::Sctp4 => abi::SCTP_V4_FLOW,
            Self::Tcp6 => abi::TCP_V6_FLOW,
            Self::Udp6 => abi::UDP_V6_FLOW,
            Self::Sctp6 => abi::SCTP_V6_FLOW,
        }
    }

    /// The flow type for a kernel `flow_type`, or `None` for any other number (including
    /// one with a flag such as `FLOW_RSS` set).
    pub fn from_kernel(n: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.to_kernel() == n)
    }
}

impl FromStr for FlowType {
    type Err = FlowTypeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| FlowTypeError(s.to_string()))
    }
}

impl fmt::Display for FlowType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for FlowType {
    type Error = FlowTypeError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<FlowType> for String {
    fn from(f: FlowType) -> String {
        f.as_str().to_string()
    }
}

/// The packet fields an RSS hash covers for one flow type: a non-empty set of the `RXH_*`
/// bits, written in ethtool's letters (`sdfn` is IP source and destination and both L4 port
/// halves). Display always uses ethtool's order `m v t s d f n r`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HashFields(u32);

/// Why a hash field list is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashFieldsError {
    #[error("rx-flow-hash fields are empty: expected letters from m v t s d f n r")]
    Empty,
    #[error(
        "rx-flow-hash fields {input:?}: unknown letter {letter:?} (expected letters from m v t s d f n r)"
    )]
    UnknownLetter { letter: char, input: String },
}

/// ethtool's letter for each `RXH_*` bit, in ethtool's order.
const LETTERS: [(char, u32); 8] = [
    ('m', abi::RXH_L2DA),
    ('v', abi::RXH_VLAN),
    ('t', abi::RXH_L3_PROTO),
    ('s', abi::RXH_IP_SRC),
    ('d', abi::RXH_IP_DST),
    ('f', abi::RXH_L4_B_0_1),
    ('n', abi::RXH_L4_B_2_3),
    ('r', abi::RXH_DISCARD),
];

/// Every bit that has a letter.
const KNOWN: u32 = abi::RXH_L2DA
    | abi::RXH_VLAN
    | abi::RXH_L3_PROTO
    | abi::RXH_IP_SRC
    | abi::RXH_IP_DST
    | abi::RXH_L4_B_0_1
    | abi::RXH_L4_B_2_3
    | abi::RXH_DISCARD;

impl HashFields {
    /// `m`: layer 2 destination address (`RXH_L2DA`).
    pub const L2DA: Self = Self(abi::RXH_L2DA);
    /// `v`: VLAN tag (`RXH_VLAN`).
    pub const VLAN: Self = Self(abi::RXH_VLAN);
    /// `t`: layer 3 protocol field (`RXH_L3_PROTO`).
    pub const L3_PROTO: Self = Self(abi::RXH_L3_PROTO);
    /// `s`: IP source address (`RXH_IP_SRC`).
    pub const IP_SRC: Self = Self(abi::RXH_IP_SRC);
    /// `d`: IP destination address (`RXH_IP_DST`).
    pub const IP_DST: Self = Self(abi::RXH_IP_DST);
    /// `f`: bytes 0 and 1 of the L4 header, the source port (`RXH_L4_B_0_1`).
    pub const L4_B_0_1: Self = Self(abi::RXH_L4_B_0_1);
    /// `n`: bytes 2 and 3 of the L4 header, the destination port (`RXH_L4_B_2_3`).
    pub const L4_B_2_3: Self = Self(abi::RXH_L4_B_2_3);
    /// `r`: discard the flow type's packets on receive (`RXH_DISCARD`).
    pub const DISCARD: Self = Self(abi::RXH_DISCARD);

    /// The `data` of `struct ethtool_rxnfc` for `ETHTOOL_SRXFH`.
    pub fn bits(self) -> u64 {
        u64::from(self.0)
    }

    /// The set for a kernel `data` word, or `None` when it is zero or has a bit without an
    /// ethtool letter here (newer kernels define more, such as `RXH_GTP_TEID`): such a value
    /// could not be written back unchanged.
    pub fn from_bits(bits: u64) -> Option<Self> {
        let bits = u32::try_from(bits).ok()?;
        (bits != 0 && bits & !KNOWN == 0).then_some(Self(bits))
    }

    /// Whether every field of `other` is in `self`.
    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for HashFields {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl FromStr for HashFields {
    type Err = HashFieldsError;
    /// Letters in any order, as ethtool accepts them; a repeated letter is harmless.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err(HashFieldsError::Empty);
        }
        let mut bits = 0;
        for letter in s.chars() {
            let (_, bit) = LETTERS.iter().find(|(l, _)| *l == letter).ok_or_else(|| {
                HashFieldsError::UnknownLetter {
                    letter,
                    input: s.to_string(),
                }
            })?;
            bits |= bit;
        }
        Ok(Self(bits))
    }
}

impl fmt::Display for HashFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (letter, bit) in LETTERS {
            if self.0 & bit != 0 {
                write!(f, "{letter}")?;
            }
        }
        Ok(())
    }
}

impl TryFrom<String> for HashFields {
    type Error = HashFieldsError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<HashFields> for String {
    fn from(h: HashFields) -> String {
        h.to_string()
    }
}

pub use super::nicerr::{NicError, nic_error};

/// One ethtool command pair (a get and its set), with the argument the get needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NicCmd {
    /// `ethtool -g/-G`.
    Rings,
    /// `ethtool -l/-L`.
    Channels,
    /// `ethtool -n/-N IFACE rx-flow-hash FLOW`.
    RxFlowHash(FlowType),
    /// `ethtool -k/-K IFACE lro` (the legacy flags word).
    Lro,
    /// `ethtool -k/-K IFACE` (every offload feature, by its kernel name).
    Features,
    /// `ethtool -c/-C IFACE`.
    Coalesce,
    /// `ethtool -a/-A IFACE`.
    Pause,
    /// `ethtool -x/-X IFACE` (the RSS indirection table).
    RssIndir,
    /// `ethtool -S IFACE` (the driver's statistics): read only, a set is unsupported.
    Stats,
    /// The RX ring count the indirection table indexes ("RX rings available" in
    /// `ethtool -n IFACE`); read-only, its set is EOPNOTSUPP.
    RxRings,
}

impl NicCmd {
    /// The ioctl that reads it, as errors name it.
    pub fn get_name(self) -> &'static str {
        match self {
            Self::Rings => "ETHTOOL_GRINGPARAM",
            Self::Channels => "ETHTOOL_GCHANNELS",
            Self::RxFlowHash(_) => "ETHTOOL_GRXFH",
            Self::Lro => "ETHTOOL_GFLAGS",
            Self::Features => "ETHTOOL_GFEATURES",
            Self::Coalesce => "ETHTOOL_GCOALESCE",
            Self::Pause => "ETHTOOL_GPAUSEPARAM",
            Self::RssIndir => "ETHTOOL_GRXFHINDIR",
            Self::Stats => "ETHTOOL_GSTATS",
            Self::RxRings => "ETHTOOL_GRXRINGS",
        }
    }

    /// The ioctl that writes it.
    pub fn set_name(self) -> &'static str {
        match self {
            Self::Rings => "ETHTOOL_SRINGPARAM",
            Self::Channels => "ETHTOOL_SCHANNELS",
            Self::RxFlowHash(_) => "ETHTOOL_SRXFH",
            Self::Lro => "ETHTOOL_SFLAGS",
            Self::Features => "ETHTOOL_SFEATURES",
            Self::Coalesce => "ETHTOOL_SCOALESCE",
            Self::Pause => "ETHTOOL_SPAUSEPARAM",
            Self::RssIndir => "ETHTOOL_SRXFHINDIR",
            // There is no set: the name says what was asked.
            Self::Stats => "ETHTOOL_GSTATS (read only)",
            // There is no such ioctl: the count follows the channels.
            Self::RxRings => "ETHTOOL_GRXRINGS",
        }
    }
}

/// A value that one [`NicCmd`] reads and writes. Set calls carry the whole value, so a knob
/// reads first and changes only its fields.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NicValue {
    Rings(RingParams),
    Channels(ChannelParams),
    RxFlowHash(FlowHash),
    Lro(bool),
    /// Read: every feature's state. Write: the wanted state of the features that are not
    /// fixed; the others are left alone.
    Features(FeatureMap),
    Coalesce(Coalesce),
    Pause(Pause),
    /// An empty table resets the driver's default spread.
    RssIndir(RssIndir),
    /// The driver's counters; never written.
    Stats(NicStats),
    /// Read-only.
    RxRings(u32),
}

impl NicValue {
    /// The command that reads and writes it.
    pub fn cmd(&self) -> NicCmd {
        match self {
            Self::Rings(_) => NicCmd::Rings,
            Self::Channels(_) => NicCmd::Channels,
            Self::RxFlowHash(h) => NicCmd::RxFlowHash(h.flow),
            Self::Lro(_) => NicCmd::Lro,
            Self::Features(_) => NicCmd::Features,
            Self::Coalesce(_) => NicCmd::Coalesce,
            Self::Pause(_) => NicCmd::Pause,
            Self::RssIndir(_) => NicCmd::RssIndir,
            Self::Stats(_) => NicCmd::Stats,
            Self::RxRings(_) => NicCmd::RxRings,
        }
    }
}

/// The RSS hash fields of one flow type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FlowHash {
    pub flow: FlowType,
    pub fields: HashFields,
}

/// The NIC seam: ethtool commands on one interface in the current network namespace, as
/// data. A new ethtool command adds a [`NicCmd`] and a [`NicValue`] variant, its ABI in
/// `host/abi.rs` and its arm in `host/ethtool.rs`; the fakes store any value as they find it.
pub trait NicOps {
    /// Reads one command's value. Equivalent to `ethtool -g/-l/-n/-k IFACE`.
    fn get(&self, iface: &IfName, cmd: NicCmd) -> Result<NicValue, NicError>;
    /// Writes one value. Equivalent to `ethtool -G/-L/-N/-K IFACE ...`.
    fn set(&self, iface: &IfName, value: &NicValue) -> Result<(), NicError>;
}

/// A typed [`NicValue`]: what knobs read and write through [`NicOpsExt`].
pub trait NicData: Sized {
    /// What the get needs besides the interface (a flow type), `()` for most.
    type Arg: Copy;
    fn cmd(arg: Self::Arg) -> NicCmd;
    fn from_value(v: NicValue) -> Option<Self>;
    fn into_value(self) -> NicValue;
}

macro_rules! nic_data {
    ($($ty:ty => $var:ident),* $(,)?) => {$(
        impl NicData for $ty {
            type Arg = ();
            fn cmd((): ()) -> NicCmd {
                NicCmd::$var
            }
            fn from_value(v: NicValue) -> Option<Self> {
                match v {
                    NicValue::$var(x) => Some(x),
                    _ => None,
                }
            }
            fn into_value(self) -> NicValue {
                NicValue::$var(self)
            }
        }
    )*};
}

nic_data!(
    RingParams => Rings,
    ChannelParams => Channels,
    FeatureMap => Features,
    Coalesce => Coalesce,
    Pause => Pause,
    RssIndir => RssIndir,
    NicStats => Stats,
);

/// One offload feature's state, by the kernel's name (`rx-gro`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FeatureState {
    /// On now (read), or wanted (write).
    pub on: bool,
    /// Not changeable on this device (`[fixed]` in `ethtool -k`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fixed: bool,
}

/// Offload features by the kernel's names (the ETH_SS_FEATURES strings).
pub type FeatureMap = std::collections::BTreeMap<String, FeatureState>;

impl NicData for FlowHash {
    type Arg = FlowType;
    fn cmd(flow: FlowType) -> NicCmd {
        NicCmd::RxFlowHash(flow)
    }
    fn from_value(v: NicValue) -> Option<Self> {
        match v {
            NicValue::RxFlowHash(x) => Some(x),
            _ => None,
        }
    }
    fn into_value(self) -> NicValue {
        NicValue::RxFlowHash(self)
    }
}

/// Large receive offload on or off (`NETIF_F_LRO` through the legacy flags word).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lro(pub bool);

impl NicData for Lro {
    type Arg = ();
    fn cmd((): ()) -> NicCmd {
        NicCmd::Lro
    }
    fn from_value(v: NicValue) -> Option<Self> {
        match v {
            NicValue::Lro(on) => Some(Lro(on)),
            _ => None,
        }
    }
    fn into_value(self) -> NicValue {
        NicValue::Lro(self.0)
    }
}

/// The number of RX rings RSS spreads over (ETHTOOL_GRXRINGS): the indirection table's
/// entries must be below it. Read-only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RxRings(pub u32);

impl NicData for RxRings {
    type Arg = ();
    fn cmd((): ()) -> NicCmd {
        NicCmd::RxRings
    }
    fn from_value(v: NicValue) -> Option<Self> {
        match v {
            NicValue::RxRings(n) => Some(RxRings(n)),
            _ => None,
        }
    }
    fn into_value(self) -> NicValue {
        NicValue::RxRings(self.0)
    }
}

/// Typed reads and writes over any [`NicOps`]: one generic pair for every command, and
/// short names for the common ones.
pub trait NicOpsExt: NicOps {
    /// Reads a typed value.
    fn read<T: NicData>(&self, iface: &IfName, arg: T::Arg) -> Result<T, NicError> {
        let cmd = T::cmd(arg);
        let v = self.get(iface, cmd)?;
        T::from_value(v).ok_or_else(|| NicError::Os {
            op: cmd.get_name(),
            iface: iface.clone(),
            errno: nix::errno::Errno::EPROTO,
        })
    }
    /// Writes a typed value.
    fn write<T: NicData>(&self, iface: &IfName, v: T) -> Result<(), NicError> {
        self.set(iface, &v.into_value())
    }
    /// `ethtool -g IFACE`.
    fn rings(&self, iface: &IfName) -> Result<RingParams, NicError> {
        self.read(iface, ())
    }
    /// `ethtool -G IFACE rx N tx N`; carries every count, so read first.
    fn set_rings(&self, iface: &IfName, r: &RingParams) -> Result<(), NicError> {
        self.write(iface, *r)
    }
    /// `ethtool -l IFACE`.
    fn channels(&self, iface: &IfName) -> Result<ChannelParams, NicError> {
        self.read(iface, ())
    }
    /// `ethtool -L IFACE combined N`; carries every count, so read first.
    fn set_channels(&self, iface: &IfName, c: &ChannelParams) -> Result<(), NicError> {
        self.write(iface, *c)
    }
    /// `ethtool -n IFACE rx-flow-hash FLOW`.
    fn rx_flow_hash(&self, iface: &IfName, flow: FlowType) -> Result<HashFields, NicError> {
        self.read::<FlowHash>(iface, flow).map(|h| h.fields)
    }
    /// `ethtool -N IFACE rx-flow-hash FLOW FIELDS`.
    fn set_rx_flow_hash(
        &self,
        iface: &IfName,
        flow: FlowType,
        fields: HashFields,
    ) -> Result<(), NicError> {
        self.write(iface, FlowHash { flow, fields })
    }
    /// Whether large receive offload is on (`ethtool -k IFACE`, `large-receive-offload`).
    /// The kernel turns it off by itself when forwarding is enabled, so hosttune records it
    /// before such a write.
    fn lro(&self, iface: &IfName) -> Result<bool, NicError> {
        self.read::<Lro>(iface, ()).map(|l| l.0)
    }
    /// `ethtool -K IFACE lro on|off`.
    fn set_lro(&self, iface: &IfName, on: bool) -> Result<(), NicError> {
        self.write(iface, Lro(on))
    }
}

impl<T: NicOps + ?Sized> NicOpsExt for T {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn flow_types_have_ethtool_names_and_kernel_numbers() {
        let table = [
            ("tcp4", FlowType::Tcp4, 0x01),
            ("udp4", FlowType::Udp4, 0x02),
            ("sctp4", FlowType::Sctp4, 0x03),
            ("tcp6", FlowType::Tcp6, 0x05),
            ("udp6", FlowType::Udp6, 0x06),
            ("sctp6", FlowType::Sctp6, 0x07),
        ];
        for (name, flow, n) in table {
            assert_eq!(name.parse::<FlowType>().unwrap(), flow);
            assert_eq!(flow.to_string(), name);
            assert_eq!(flow.to_kernel(), n);
            assert_eq!(FlowType::from_kernel(n), Some(flow));
        }
        for n in [0x00, 0x04, 0x08, 0x10, 0x12, 0x2000_0001] {
            assert_eq!(FlowType::from_kernel(n), None, "{n:#x}");
        }
        let err = "tcp".parse::<FlowType>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown flow type \"tcp\": expected one of tcp4, udp4, sctp4, tcp6, udp6, sctp6"
        );
        assert!("TCP4".parse::<FlowType>().is_err());
        assert!("".parse::<FlowType>().is_err());
    }

    #[test]
    fn hash_field_letters_are_ethtools() {
        let table = [
            ('m', 1 << 1),
            ('v', 1 << 2),
            ('t', 1 << 3),
            ('s', 1 << 4),
            ('d', 1 << 5),
            ('f', 1 << 6),
            ('n', 1 << 7),
            ('r', 1 << 31),
        ];
        for (letter, bit) in table {
            let h: HashFields = letter.to_string().parse().unwrap();
            assert_eq!(h.bits(), bit, "{letter}");
            assert_eq!(h.to_string(), letter.to_string());
        }
        let sdfn: HashFields = "sdfn".parse().unwrap();
        assert_eq!(sdfn.bits(), 0xf0);
        assert_eq!(
            sdfn,
            HashFields::IP_SRC | HashFields::IP_DST | HashFields::L4_B_0_1 | HashFields::L4_B_2_3
        );
        assert!(sdfn.contains(HashFields::IP_DST));
        assert!(!sdfn.contains(HashFields::VLAN));
        // Any order and repeats in, ethtool's order out.
        assert_eq!("nfds".parse::<HashFields>().unwrap(), sdfn);
        assert_eq!("ssdfnn".parse::<HashFields>().unwrap().to_string(), "sdfn");
        assert_eq!(
            "rnfdstvm".parse::<HashFields>().unwrap().to_string(),
            "mvtsdfnr"
        );
    }

    #[test]
    fn bad_hash_fields_name_the_letter() {
        assert_eq!("".parse::<HashFields>(), Err(HashFieldsError::Empty));
        let err = "sdxn".parse::<HashFields>().unwrap_err();
        assert_eq!(
            err,
            HashFieldsError::UnknownLetter {
                letter: 'x',
                input: "sdxn".into()
            }
        );
        assert_eq!(
            err.to_string(),
            "rx-flow-hash fields \"sdxn\": unknown letter 'x' (expected letters from m v t s d f n r)"
        );
        for bad in ["SD", "s d", "s,d", "e", "l", "sdfn\n"] {
            assert!(bad.parse::<HashFields>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn kernel_words_without_a_spelling_are_refused() {
        assert_eq!(HashFields::from_bits(0xf0), "sdfn".parse().ok());
        assert_eq!(
            HashFields::from_bits(0x8000_0000),
            Some(HashFields::DISCARD)
        );
        for bad in [0, 1, 1 << 8, 1 << 9, 0xf0 | 1 << 8, 1 << 32, u64::MAX] {
            assert_eq!(HashFields::from_bits(bad), None, "{bad:#x}");
        }
    }

    #[test]
    fn serde_uses_the_string_forms() {
        #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        struct Row {
            flow: FlowType,
            fields: HashFields,
        }
        let row = Row {
            flow: FlowType::Udp6,
            fields: "ds".parse().unwrap(),
        };
        let json = serde_json::to_string(&row).unwrap();
        assert_eq!(json, r#"{"flow":"udp6","fields":"sd"}"#);
        assert_eq!(serde_json::from_str::<Row>(&json).unwrap(), row);
        let bad = serde_json::from_str::<Row>(r#"{"flow":"udp6","fields":"sq"}"#).unwrap_err();
        assert!(bad.to_string().contains("unknown letter 'q'"), "{bad}");
        let bad = serde_json::from_str::<Row>(r#"{"flow":"ip4","fields":"sd"}"#).unwrap_err();
        assert!(
            bad.to_string().contains("unknown flow type \"ip4\""),
            "{bad}"
        );
        assert!(serde_json::from_str::<Row>(r#"{"flow":"tcp4","fields":""}"#).is_err());
    }

    proptest! {
        #[test]
        fn hash_fields_round_trip(bits in 1u64..=0xff, discard in any::<bool>()) {
            // Bit 0 has no letter; drop it, and keep the set non-empty.
            let bits = (bits & 0xfe) | if discard { 1 << 31 } else { 0 };
            prop_assume!(bits != 0);
            let h = HashFields::from_bits(bits).unwrap();
            let text = h.to_string();
            prop_assert_eq!(text.parse::<HashFields>().unwrap(), h);
            prop_assert_eq!(h.bits(), bits);
            let json = serde_json::to_string(&h).unwrap();
            prop_assert_eq!(serde_json::from_str::<HashFields>(&json).unwrap(), h);
        }
    }
}
