//! Interrupt coalescing: ETHTOOL_GCOALESCE/SCOALESCE and `struct ethtool_coalesce`, with its
//! 22 parameters named as `ethtool -C` names them.

use std::fmt;
use std::str::FromStr;

use super::abi::{self, ethtool_coalesce};
use super::ioctl::{KernelBuf, run};
use super::{put_u32, u32_at};
use crate::host::nicerr::NicError;
use crate::types::IfName;

/// The parameters of `ethtool -C`, in the order of their fields in `struct ethtool_coalesce`
/// (`rx-usecs` is `rx_coalesce_usecs`, the first after `cmd`; `sample-interval` is
/// `rate_sample_interval`, the last). `adaptive-rx`/`adaptive-tx` are 0 (off) or 1 (on).
pub const COALESCE_PARAMS: [&str; 22] = [
    "rx-usecs",
    "rx-frames",
    "rx-usecs-irq",
    "rx-frames-irq",
    "tx-usecs",
    "tx-frames",
    "tx-usecs-irq",
    "tx-frames-irq",
    "stats-block-usecs",
    "adaptive-rx",
    "adaptive-tx",
    "pkt-rate-low",
    "rx-usecs-low",
    "rx-frames-low",
    "tx-usecs-low",
    "tx-frames-low",
    "pkt-rate-high",
    "rx-usecs-high",
    "rx-frames-high",
    "tx-usecs-high",
    "tx-frames-high",
    "sample-interval",
];

/// One coalescing parameter, by its `ethtool -C` name. Parse it from the name; it
/// serializes as the name (a profile key, a snapshot field), in struct order.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct CoalesceParam(usize);

/// A name that is not one of [`COALESCE_PARAMS`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown coalescing parameter {0:?} (ethtool -C knows {names})", names = COALESCE_PARAMS.join(", "))]
pub struct UnknownCoalesceParam(pub String);

impl CoalesceParam {
    /// Every parameter, in struct order.
    pub fn all() -> impl Iterator<Item = CoalesceParam> {
        (0..COALESCE_PARAMS.len()).map(CoalesceParam)
    }

    /// The `ethtool -C` name.
    pub fn name(self) -> &'static str {
        COALESCE_PARAMS[self.0]
    }

    /// Byte offset of the field in `struct ethtool_coalesce`: after `cmd`, in table order.
    fn offset(self) -> usize {
        4 * (1 + self.0)
    }
}

impl FromStr for CoalesceParam {
    type Err = UnknownCoalesceParam;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        COALESCE_PARAMS
            .iter()
            .position(|&n| n == s)
            .map(CoalesceParam)
            .ok_or_else(|| UnknownCoalesceParam(s.to_string()))
    }
}

impl TryFrom<String> for CoalesceParam {
    type Error = UnknownCoalesceParam;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<CoalesceParam> for String {
    fn from(p: CoalesceParam) -> String {
        p.name().to_string()
    }
}

impl fmt::Display for CoalesceParam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Every coalescing parameter of one interface, as ETHTOOL_GCOALESCE reports them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Coalesce([u32; 22]);

impl Coalesce {
    /// The value of `p`.
    pub fn get(&self, p: CoalesceParam) -> u32 {
        self.0[p.0]
    }

    /// Sets `p` to `value`.
    pub fn set(&mut self, p: CoalesceParam, value: u32) {
        self.0[p.0] = value;
    }

    /// The value of the parameter `ethtool -C` calls `name`, if there is one.
    pub fn get_by_name(&self, name: &str) -> Option<u32> {
        name.parse().ok().map(|p| self.get(p))
    }

    /// Sets the parameter `ethtool -C` calls `name`.
    pub fn set_by_name(&mut self, name: &str, value: u32) -> Result<(), UnknownCoalesceParam> {
        self.set(name.parse()?, value);
        Ok(())
    }

    /// Every parameter and its value, in struct order.
    pub fn iter(&self) -> impl Iterator<Item = (CoalesceParam, u32)> + '_ {
        CoalesceParam::all().map(|p| (p, self.get(p)))
    }

    /// Reads the parameters from a `struct ethtool_coalesce` buffer.
    fn decode(b: &[u8]) -> Self {
        let mut c = Self::default();
        for p in CoalesceParam::all() {
            c.set(p, u32_at(b, p.offset()));
        }
        c
    }

    /// Writes `cmd` and every parameter into a `struct ethtool_coalesce` buffer.
    fn encode(&self, cmd: u32, b: &mut [u8]) {
        put_u32(b, 0, cmd);
        for (p, v) in self.iter() {
            put_u32(b, p.offset(), v);
        }
    }
}

fn call(iface: &IfName, cmd: u32, op: &'static str, c: &Coalesce) -> Result<Coalesce, NicError> {
    let mut buf = KernelBuf::zeroed(iface, size_of::<ethtool_coalesce>())?;
    c.encode(cmd, buf.bytes_mut());
    run(iface, op, &mut buf)?;
    Ok(Coalesce::decode(buf.bytes()))
}

/// Reads every coalescing parameter. Equivalent to `ethtool -c eth0`.
pub fn coalesce(iface: &IfName) -> Result<Coalesce, NicError> {
    let op = "ETHTOOL_GCOALESCE";
    call(iface, abi::ETHTOOL_GCOALESCE, op, &Coalesce::default())
}

/// Writes every coalescing parameter at once (the kernel takes the whole struct): read
/// with [`coalesce`] first, or use [`update_coalesce`]. The kernel answers EOPNOTSUPP, hence
/// `unsupported`, both when the driver cannot set coalescing and when a non-zero parameter is
/// one the driver does not implement. Equivalent to `ethtool -C eth0 rx-usecs 50 ...`.
pub fn set_coalesce(iface: &IfName, c: &Coalesce) -> Result<(), NicError> {
    let op = "ETHTOOL_SCOALESCE";
    match call(iface, abi::ETHTOOL_SCOALESCE, op, c) {
        Ok(_) => Ok(()),
        Err(NicError::Unsupported { op, iface, .. }) => Err(NicError::Unsupported {
            op,
            iface,
            why: "the driver cannot set coalescing, or not every non-zero parameter".into(),
        }),
        Err(e) => Err(e),
    }
}

/// Reads the parameters, changes only the named ones and writes the whole struct back;
/// returns what was written. Equivalent to `ethtool -C eth0 rx-usecs 50 adaptive-rx off`.
pub fn update_coalesce(
    iface: &IfName,
    changes: &[(CoalesceParam, u32)],
) -> Result<Coalesce, NicError> {
    let mut c = coalesce(iface)?;
    for &(p, v) in changes {
        c.set(p, v);
    }
    set_coalesce(iface, &c)?;
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::offset_of;

    fn p(name: &str) -> CoalesceParam {
        name.parse().unwrap()
    }

    /// Each `ethtool -C` name lands on the field that ethtool(8) sets for it.
    #[test]
    fn names_map_to_the_struct_fields() {
        let fields = [
            ("rx-usecs", offset_of!(ethtool_coalesce, rx_coalesce_usecs)),
            (
                "rx-frames",
                offset_of!(ethtool_coalesce, rx_max_coalesced_frames),
            ),
            (
                "rx-usecs-irq",
                offset_of!(ethtool_coalesce, rx_coalesce_usecs_irq),
            ),
            (
                "rx-frames-irq",
                offset_of!(ethtool_coalesce, rx_max_coalesced_frames_irq),
            ),
            ("tx-usecs", offset_of!(ethtool_coalesce, tx_coalesce_usecs)),
            (
                "tx-frames",
                offset_of!(ethtool_coalesce, tx_max_coalesced_frames),
            ),
            (
                "tx-usecs-irq",
                offset_of!(ethtool_coalesce, tx_coalesce_usecs_irq),
            ),
            (
                "tx-frames-irq",
                offset_of!(ethtool_coalesce, tx_max_coalesced_frames_irq),
            ),
            (
                "stats-block-usecs",
                offset_of!(ethtool_coalesce, stats_block_coalesce_usecs),
            ),
            (
                "adaptive-rx",
                offset_of!(ethtool_coalesce, use_adaptive_rx_coalesce),
            ),
            (
                "adaptive-tx",
                offset_of!(ethtool_coalesce, use_adaptive_tx_coalesce),
            ),
            ("pkt-rate-low", offset_of!(ethtool_coalesce, pkt_rate_low)),
            (
                "rx-usecs-low",
                offset_of!(ethtool_coalesce, rx_coalesce_usecs_low),
            ),
            (
                "rx-frames-low",
                offset_of!(ethtool_coalesce, rx_max_coalesced_frames_low),
            ),
            (
                "tx-usecs-low",
                offset_of!(ethtool_coalesce, tx_coalesce_usecs_low),
            ),
            (
                "tx-frames-low",
                offset_of!(ethtool_coalesce, tx_max_coalesced_frames_low),
            ),
            ("pkt-rate-high", offset_of!(ethtool_coalesce, pkt_rate_high)),
            (
                "rx-usecs-high",
                offset_of!(ethtool_coalesce, rx_coalesce_usecs_high),
            ),
            (
                "rx-frames-high",
                offset_of!(ethtool_coalesce, rx_max_coalesced_frames_high),
            ),
            (
                "tx-usecs-high",
                offset_of!(ethtool_coalesce, tx_coalesce_usecs_high),
            ),
            (
                "tx-frames-high",
                offset_of!(ethtool_coalesce, tx_max_coalesced_frames_high),
            ),
            (
                "sample-interval",
                offset_of!(ethtool_coalesce, rate_sample_interval),
            ),
        ];
        assert_eq!(fields.len(), COALESCE_PARAMS.len());
        for (name, off) in fields {
            assert_eq!(p(name).offset(), off, "{name}");
            assert_eq!(p(name).to_string(), name);
        }
    }

    #[test]
    fn unknown_names_are_refused_with_the_known_ones() {
        let err = "rx_usecs".parse::<CoalesceParam>().unwrap_err();
        assert!(err.to_string().contains("\"rx_usecs\""), "{err}");
        assert!(err.to_string().contains("sample-interval"), "{err}");
        let mut c = Coalesce::default();
        assert!(
            c.set_by_name("cqe-mode-rx", 1).is_err(),
            "netlink-only, not in the ioctl struct"
        );
        assert_eq!(c, Coalesce::default());
        assert_eq!(c.get_by_name("nope"), None);
    }

    #[test]
    fn decode_reads_every_field_and_encode_writes_them_back() {
        let raw = ethtool_coalesce {
            cmd: abi::ETHTOOL_GCOALESCE,
            rx_coalesce_usecs: 50,
            rx_max_coalesced_frames: 64,
            use_adaptive_rx_coalesce: 1,
            pkt_rate_high: 400_000,
            rate_sample_interval: 2,
            ..Default::default()
        };
        let words = [
            raw.cmd, 50, 64, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 400_000, 0, 0, 0, 0, 2,
        ];
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_ne_bytes()).collect();
        assert_eq!(bytes.len(), size_of::<ethtool_coalesce>());

        let mut c = Coalesce::decode(&bytes);
        assert_eq!(c.get_by_name("rx-usecs"), Some(50));
        assert_eq!(c.get_by_name("rx-frames"), Some(64));
        assert_eq!(c.get_by_name("adaptive-rx"), Some(1));
        assert_eq!(c.get_by_name("adaptive-tx"), Some(0));
        assert_eq!(c.get_by_name("pkt-rate-high"), Some(400_000));
        assert_eq!(c.get_by_name("sample-interval"), Some(2));

        // Only the named field changes; the rest is written back as read.
        c.set_by_name("tx-usecs", 8).unwrap();
        let mut out = vec![0xffu8; bytes.len()];
        c.encode(abi::ETHTOOL_SCOALESCE, &mut out);
        let mut want = words;
        want[0] = abi::ETHTOOL_SCOALESCE;
        want[5] = 8;
        let got: Vec<u32> = out.chunks(4).map(|w| u32_at(w, 0)).collect();
        assert_eq!(got, want);
    }
}
