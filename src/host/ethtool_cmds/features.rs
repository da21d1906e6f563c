//! Offload features: ETHTOOL_GFEATURES/SFEATURES (`struct ethtool_gfeatures`,
//! `struct ethtool_sfeatures`) named through the ETH_SS_FEATURES string set, whose entry `i`
//! is bit `i % 32` of feature block `i / 32`.

use std::collections::BTreeMap;
use std::mem::{offset_of, size_of};

use super::abi::{
    self, ethtool_get_features_block as GetBlock, ethtool_gfeatures,
    ethtool_set_features_block as SetBlock, ethtool_sfeatures,
};
use super::ioctl::{KernelBuf, run};
use super::strings::string_set;
use super::{malformed, put_u32, u32_at};
use crate::host::nicerr::NicError;
use crate::types::IfName;

/// `ethtool -k`/`-K`'s own names for features that are one kernel feature bit each, and
/// that kernel feature's name: `ethtool -k` prints these in place of the kernel's
/// (`large-receive-offload: off [fixed]` is `rx-lro`). Its group names that stand for several
/// bits (`tx-checksumming`, `scatter-gather`, `tcp-segmentation-offload`, `tx`, `sg`, `tso`)
/// are not here: name the member features instead.
pub const FEATURE_ALIASES: [(&str, &str); 16] = [
    ("rx", "rx-checksum"),
    ("rx-checksumming", "rx-checksum"),
    ("gso", "tx-generic-segmentation"),
    ("generic-segmentation-offload", "tx-generic-segmentation"),
    ("gro", "rx-gro"),
    ("generic-receive-offload", "rx-gro"),
    ("lro", "rx-lro"),
    ("large-receive-offload", "rx-lro"),
    ("rxvlan", "rx-vlan-hw-parse"),
    ("rx-vlan-offload", "rx-vlan-hw-parse"),
    ("txvlan", "tx-vlan-hw-insert"),
    ("tx-vlan-offload", "tx-vlan-hw-insert"),
    ("ntuple", "rx-ntuple-filter"),
    ("ntuple-filters", "rx-ntuple-filter"),
    ("rxhash", "rx-hashing"),
    ("receive-hashing", "rx-hashing"),
];

/// One feature as `ethtool -k` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feature {
    /// The name in the ETH_SS_FEATURES set, e.g. `rx-gro-list`.
    pub name: String,
    /// Changeable on this device (its `hw_features`).
    pub available: bool,
    /// Asked for by the administrator (`wanted_features`).
    pub requested: bool,
    /// On now.
    pub active: bool,
    /// Never changeable on any device (`NETIF_F_NEVER_CHANGE`).
    pub never_changed: bool,
}

impl Feature {
    /// Whether ETHTOOL_SFEATURES can change it here.
    pub fn changeable(&self) -> bool {
        self.available && !self.never_changed
    }

    /// What `ethtool -k` marks `[fixed]`.
    pub fn fixed(&self) -> bool {
        !self.changeable()
    }
}

/// Every feature of one interface, with the block count the kernel uses (ETHTOOL_SFEATURES
/// wants exactly that many).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Features {
    /// Index `i` is bit `i`; unused bits have an empty name.
    bits: Vec<Feature>,
    blocks: u32,
}

impl Features {
    /// The feature called `name`, by its kernel name or an alias from [`FEATURE_ALIASES`].
    pub fn get(&self, name: &str) -> Option<&Feature> {
        self.bit(name).map(|i| &self.bits[i])
    }

    /// Every named feature, in bit order.
    pub fn iter(&self) -> impl Iterator<Item = &Feature> {
        self.bits.iter().filter(|f| !f.name.is_empty())
    }

    fn bit(&self, name: &str) -> Option<usize> {
        if name.is_empty() {
            return None;
        }
        let name = FEATURE_ALIASES
            .iter()
            .find(|(alias, _)| *alias == name)
            .map_or(name, |&(_, kernel)| kernel);
        self.bits.iter().position(|f| f.name == name)
    }

    /// Pairs the ETH_SS_FEATURES `names` with a `struct ethtool_gfeatures` reply of a buffer
    /// sized for `asked` blocks.
    fn decode(names: Vec<String>, b: &[u8], asked: usize) -> Result<Self, String> {
        let blocks = u32_at(b, offset_of!(ethtool_gfeatures, size));
        let filled = asked.min(blocks as usize);
        if filled * 32 < names.len() {
            return Err(format!(
                "{blocks} feature blocks for {} feature names",
                names.len()
            ));
        }
        let word = |i: usize, field: usize| {
            let at = size_of::<ethtool_gfeatures>() + (i / 32) * size_of::<GetBlock>() + field;
            u32_at(b, at) & (1 << (i % 32)) != 0
        };
        let bits = names.into_iter().enumerate().map(|(i, name)| Feature {
            name,
            available: word(i, offset_of!(GetBlock, available)),
            requested: word(i, offset_of!(GetBlock, requested)),
            active: word(i, offset_of!(GetBlock, active)),
            never_changed: word(i, offset_of!(GetBlock, never_changed)),
        });
        Ok(Features {
            bits: bits.collect(),
            blocks,
        })
    }

    /// The size of the `struct ethtool_sfeatures` that [`Features::encode_set`] fills.
    fn set_len(&self) -> usize {
        size_of::<ethtool_sfeatures>() + self.blocks as usize * size_of::<SetBlock>()
    }

    /// Fills a `struct ethtool_sfeatures` that changes only the named features. Refuses a
    /// name this kernel does not have and one never changeable (the kernel would answer
    /// EINVAL); features merely not changeable on this device go through, and the kernel
    /// reports them with ETHTOOL_F_UNSUPPORTED.
    fn encode_set(&self, changes: &BTreeMap<String, bool>, b: &mut [u8]) -> Result<(), String> {
        b.fill(0);
        put_u32(b, 0, abi::ETHTOOL_SFEATURES);
        put_u32(b, offset_of!(ethtool_sfeatures, size), self.blocks);
        let mut named = vec![None; self.bits.len()];
        for (name, &on) in changes {
            let Some(i) = self.bit(name) else {
                return Err(format!("this kernel has no feature named {name:?}"));
            };
            if self.bits[i].never_changed {
                return Err(format!("{name} is fixed on every device"));
            }
            if named[i].replace(on).is_some_and(|was| was != on) {
                let kernel = &self.bits[i].name;
                return Err(format!(
                    "{name} and another name for {kernel} ask opposite values"
                ));
            }
            let block = size_of::<ethtool_sfeatures>() + (i / 32) * size_of::<SetBlock>();
            let (valid, requested) = (
                block + offset_of!(SetBlock, valid),
                block + offset_of!(SetBlock, requested),
            );
            let mask = 1 << (i % 32);
            put_u32(b, valid, u32_at(b, valid) | mask);
            let req = u32_at(b, requested);
            put_u32(b, requested, if on { req | mask } else { req & !mask });
        }
        Ok(())
    }
}

/// What ETHTOOL_SFEATURES did: everything, or less, as its `ETHTOOL_F_*` return bits say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetFeatures {
    /// Every named feature was changed as asked.
    Applied,
    /// Not everything is as asked; read the features back to see which.
    Partial {
        /// ETHTOOL_F_UNSUPPORTED: some were not changeable on this device and were ignored.
        unsupported: bool,
        /// ETHTOOL_F_WISH: recorded as requested, but the device keeps another state.
        wish: bool,
        /// ETHTOOL_F_COMPAT: made through legacy driver callbacks.
        compat: bool,
    },
}

impl SetFeatures {
    /// Reads the ioctl's return value.
    pub fn from_flags(flags: u32) -> Self {
        if flags == 0 {
            return SetFeatures::Applied;
        }
        SetFeatures::Partial {
            unsupported: flags & abi::ETHTOOL_F_UNSUPPORTED != 0,
            wish: flags & abi::ETHTOOL_F_WISH != 0,
            compat: flags & abi::ETHTOOL_F_COMPAT != 0,
        }
    }
}

/// Reads every feature. Equivalent to `ethtool -k eth0`.
pub fn features(iface: &IfName) -> Result<Features, NicError> {
    let op = "ETHTOOL_GFEATURES";
    let names = string_set(iface, abi::ETH_SS_FEATURES)?;
    let asked = names.len().div_ceil(32);
    let mut buf = KernelBuf::zeroed(
        iface,
        size_of::<ethtool_gfeatures>() + asked * size_of::<GetBlock>(),
    )?;
    let b = buf.bytes_mut();
    put_u32(b, 0, abi::ETHTOOL_GFEATURES);
    put_u32(b, offset_of!(ethtool_gfeatures, size), asked as u32);
    run(iface, op, &mut buf)?;
    Features::decode(names, buf.bytes(), asked).map_err(|why| malformed(op, iface, why))
}

/// Turns the named features on (`true`) or off, leaving every other one alone: reads the
/// features first for their bit numbers, then sends one ETHTOOL_SFEATURES. A name this
/// kernel lacks, or one that no device may change, is `unsupported` and nothing is written.
/// Equivalent to `ethtool -K eth0 gro off rx-udp-gro-forwarding on` with the long names.
pub fn set_features(
    iface: &IfName,
    changes: &BTreeMap<String, bool>,
) -> Result<SetFeatures, NicError> {
    let op = "ETHTOOL_SFEATURES";
    if changes.is_empty() {
        return Ok(SetFeatures::Applied);
    }
    let now = features(iface)?;
    let mut buf = KernelBuf::zeroed(iface, now.set_len())?;
    now.encode_set(changes, buf.bytes_mut())
        .map_err(|why| NicError::unsupported(op, iface, &why))?;
    run(iface, op, &mut buf).map(SetFeatures::from_flags)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A GFEATURES reply of `blocks` blocks, each given as (available, requested, active,
    /// never_changed).
    fn reply(blocks: &[[u32; 4]]) -> Vec<u8> {
        let mut b = vec![0; 8 + 16 * blocks.len()];
        put_u32(&mut b, 0, abi::ETHTOOL_GFEATURES);
        put_u32(&mut b, 4, blocks.len() as u32);
        for (w, blk) in blocks.iter().enumerate() {
            for (f, v) in blk.iter().enumerate() {
                put_u32(&mut b, 8 + 16 * w + 4 * f, *v);
            }
        }
        b
    }

    /// 34 names over two blocks: bit 0 `rx-gro` changeable and on, bit 1 unused, bit 2 `rx-lro`
    /// not available here, bit 3 `vlan-challenged` never changeable, bit 33 `gro-fwd`
    /// changeable, requested on but off.
    fn sample() -> Features {
        let mut names = vec![String::new(); 34];
        for (i, n) in [
            (0, "rx-gro"),
            (2, "rx-lro"),
            (3, "vlan-challenged"),
            (33, "gro-fwd"),
        ] {
            names[i] = n.into();
        }
        let b = reply(&[[0b1001, 0b0001, 0b0001, 0b1000], [0b10, 0b10, 0, 0]]);
        Features::decode(names, &b, 2).unwrap()
    }

    #[test]
    fn decode_reads_each_bit_of_each_block() {
        let f = sample();
        let gro = f.get("rx-gro").unwrap();
        assert_eq!(f.get("generic-receive-offload"), Some(gro));
        assert!(gro.changeable() && gro.requested && gro.active && !gro.fixed());
        let lro = f.get("large-receive-offload").unwrap();
        assert!(lro.fixed() && !lro.active && !lro.never_changed);
        let vc = f.get("vlan-challenged").unwrap();
        assert!(vc.available && vc.never_changed && vc.fixed());
        let fwd = f.get("gro-fwd").unwrap();
        assert!(fwd.changeable() && fwd.requested && !fwd.active);
        assert_eq!(f.get(""), None, "unused bits have no name");
        assert_eq!(
            f.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
            ["rx-gro", "rx-lro", "vlan-challenged", "gro-fwd"]
        );
    }

    #[test]
    fn decode_refuses_fewer_blocks_than_names() {
        let err = Features::decode(vec!["a".into(); 33], &reply(&[[0; 4]]), 2).unwrap_err();
        assert_eq!(err, "1 feature blocks for 33 feature names");
    }

    #[test]
    fn encode_set_writes_only_the_named_bits() {
        let f = sample();
        let mut b = vec![0xee; f.set_len()];
        let changes = BTreeMap::from([("gro".to_string(), false), ("gro-fwd".to_string(), true)]);
        let twice = BTreeMap::from([("gro".to_string(), false), ("rx-gro".to_string(), true)]);
        let err = f.encode_set(&twice, &mut b).unwrap_err();
        assert_eq!(
            err,
            "rx-gro and another name for rx-gro ask opposite values"
        );
        f.encode_set(&changes, &mut b).unwrap();
        let words: Vec<u32> = b.chunks(4).map(|w| u32_at(w, 0)).collect();
        assert_eq!(words, [abi::ETHTOOL_SFEATURES, 2, 0b1, 0b0, 0b10, 0b10]);
    }

    #[test]
    fn encode_set_refuses_unknown_and_never_changeable_names() {
        let f = sample();
        let mut b = vec![0; f.set_len()];
        let one = |n: &str| BTreeMap::from([(n.to_string(), true)]);
        let err = f
            .encode_set(&one("rx-udp-gro-forwarding"), &mut b)
            .unwrap_err();
        assert!(
            err.contains("no feature named \"rx-udp-gro-forwarding\""),
            "{err}"
        );
        let err = f.encode_set(&one("vlan-challenged"), &mut b).unwrap_err();
        assert_eq!(err, "vlan-challenged is fixed on every device");
        assert!(
            f.encode_set(&one(""), &mut b).is_err(),
            "an unused bit is not a name"
        );
        // Not available on this device: sent, and the kernel flags it.
        assert!(f.encode_set(&one("lro"), &mut b).is_ok());
    }

    #[test]
    fn sfeatures_return_bits_are_distinct_results() {
        assert_eq!(SetFeatures::from_flags(0), SetFeatures::Applied);
        assert_eq!(
            SetFeatures::from_flags(abi::ETHTOOL_F_UNSUPPORTED | abi::ETHTOOL_F_COMPAT),
            SetFeatures::Partial {
                unsupported: true,
                wish: false,
                compat: true
            }
        );
        assert_eq!(
            SetFeatures::from_flags(abi::ETHTOOL_F_WISH),
            SetFeatures::Partial {
                unsupported: false,
                wish: true,
                compat: false
            }
        );
    }
}
