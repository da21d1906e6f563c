//! String sets and the driver's statistics: ETHTOOL_GSSET_INFO (`struct ethtool_sset_info`)
//! for a set's size, ETHTOOL_GSTRINGS (`struct ethtool_gstrings`) for its names and
//! ETHTOOL_GSTATS (`struct ethtool_stats`) for the values named by the ETH_SS_STATS set,
//! such as the pause frame counters (`rx_pause`, `tx_pause`, `rx_flow_control_xon`, ...).

use std::mem::{offset_of, size_of};

use nix::errno::Errno;

use super::abi::{self, ETH_GSTRING_LEN, ethtool_gstrings, ethtool_sset_info, ethtool_stats};
use super::ioctl::{KernelBuf, run};
use super::{ATTEMPTS, kept_changing, put_u32, put_u64, u32_at, u64_at};
use crate::host::nicerr::NicError;
use crate::types::IfName;

/// The size of string set `set` from a `struct ethtool_sset_info` reply to a request for
/// that one set: `None` when the kernel cleared its bit (the device has no such set).
fn decode_sset_info(b: &[u8], set: u32) -> Option<u32> {
    let mask = u64_at(b, offset_of!(ethtool_sset_info, sset_mask));
    (mask & (1 << set) != 0).then(|| u32_at(b, size_of::<ethtool_sset_info>()))
}

/// The `n` strings of a `struct ethtool_gstrings` reply, each up to its first NUL (empty ones
/// kept, so that index `i` is entry `i` of the set); `None` when the kernel filled in
/// another count than `n`.
fn decode_strings(b: &[u8], n: usize) -> Option<Vec<String>> {
    let len = u32_at(b, offset_of!(ethtool_gstrings, len));
    if usize::try_from(len).ok()? != n {
        return None;
    }
    let data = &b[size_of::<ethtool_gstrings>()..][..n * ETH_GSTRING_LEN];
    let names = data.chunks(ETH_GSTRING_LEN).map(|s| {
        let end = s.iter().position(|&c| c == 0).unwrap_or(s.len());
        String::from_utf8_lossy(&s[..end]).into_owned()
    });
    Some(names.collect())
}

/// The size of string set `set` on `iface`, or `None` when it has no such set.
fn sset_count(iface: &IfName, set: u32) -> Result<Option<u32>, NicError> {
    let mut buf = KernelBuf::zeroed(iface, size_of::<ethtool_sset_info>() + 4)?;
    let b = buf.bytes_mut();
    put_u32(b, 0, abi::ETHTOOL_GSSET_INFO);
    put_u64(b, offset_of!(ethtool_sset_info, sset_mask), 1 << set);
    run(iface, "ETHTOOL_GSSET_INFO", &mut buf)?;
    Ok(decode_sset_info(buf.bytes(), set))
}

/// Every string of set `set` (`abi::ETH_SS_*`) on `iface`, in set order; an empty string
/// marks an unused entry. `unsupported` when the device has no such set.
pub fn string_set(iface: &IfName, set: u32) -> Result<Vec<String>, NicError> {
    let op = "ETHTOOL_GSTRINGS";
    for _ in 0..ATTEMPTS {
        let Some(n) = sset_count(iface, set)? else {
            let why = format!("no string set {set} on this device");
            return Err(NicError::unsupported("ETHTOOL_GSSET_INFO", iface, &why));
        };
        let n = n as usize;
        if n == 0 {
            return Ok(Vec::new());
        }
        let mut buf =
            KernelBuf::zeroed(iface, size_of::<ethtool_gstrings>() + n * ETH_GSTRING_LEN)?;
        let b = buf.bytes_mut();
        put_u32(b, 0, abi::ETHTOOL_GSTRINGS);
        put_u32(b, offset_of!(ethtool_gstrings, string_set), set);
        match run(iface, op, &mut buf) {
            // The set grew past the buffer since GSSET_INFO (see `ioctl`): size it again.
            Err(NicError::Os {
                errno: Errno::EFAULT,
                ..
            }) => continue,
            Err(e) => return Err(e),
            Ok(_) => {}
        }
        if let Some(names) = decode_strings(buf.bytes(), n) {
            return Ok(names);
        }
    }
    Err(kept_changing(op, iface))
}

/// The driver's statistics, in its order, by the names of its ETH_SS_STATS string set. A
/// driver may list a name twice; [`NicStats::get`] gives the first.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NicStats(pub Vec<(String, u64)>);

impl NicStats {
    /// The first counter called `name`.
    pub fn get(&self, name: &str) -> Option<u64> {
        self.0.iter().find(|(n, _)| n == name).map(|&(_, v)| v)
    }

    /// Every counter, in the driver's order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> {
        self.0.iter().map(|(n, v)| (n.as_str(), *v))
    }
}

/// Pairs `names` with the values of a `struct ethtool_stats` reply; `None` when the kernel
/// filled in another count than there are names.
fn decode_stats(names: Vec<String>, b: &[u8]) -> Option<NicStats> {
    let n = u32_at(b, offset_of!(ethtool_stats, n_stats));
    if usize::try_from(n).ok()? != names.len() {
        return None;
    }
    let data = size_of::<ethtool_stats>();
    let values = (0..names.len()).map(|i| u64_at(b, data + 8 * i));
    Some(NicStats(names.into_iter().zip(values).collect()))
}

/// Reads the driver's statistics. `unsupported` when the driver has none. Equivalent to
/// `ethtool -S eth0`.
pub fn nic_stats(iface: &IfName) -> Result<NicStats, NicError> {
    let op = "ETHTOOL_GSTATS";
    for _ in 0..ATTEMPTS {
        let names = string_set(iface, abi::ETH_SS_STATS)?;
        if names.is_empty() {
            return Ok(NicStats::default());
        }
        let mut buf = KernelBuf::zeroed(iface, size_of::<ethtool_stats>() + 8 * names.len())?;
        let b = buf.bytes_mut();
        put_u32(b, 0, abi::ETHTOOL_GSTATS);
        put_u32(b, offset_of!(ethtool_stats, n_stats), names.len() as u32);
        match run(iface, op, &mut buf) {
            Err(NicError::Os {
                errno: Errno::EFAULT,
                ..
            }) => continue,
            Err(e) => return Err(e),
            Ok(_) => {}
        }
        if let Some(stats) = decode_stats(names, buf.bytes()) {
            return Ok(stats);
        }
    }
    Err(kept_changing(op, iface))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gstrings(len: u32, names: &[&str]) -> Vec<u8> {
        let mut b = vec![0; 12 + names.len() * ETH_GSTRING_LEN];
        put_u32(&mut b, 0, abi::ETHTOOL_GSTRINGS);
        put_u32(&mut b, 4, abi::ETH_SS_FEATURES);
        put_u32(&mut b, 8, len);
        for (i, n) in names.iter().enumerate() {
            b[12 + i * ETH_GSTRING_LEN..][..n.len()].copy_from_slice(n.as_bytes());
        }
        b
    }

    #[test]
    fn sset_info_reads_the_count_only_when_the_set_is_there() {
        let mut b = vec![0; 20];
        put_u64(&mut b, 8, 1 << abi::ETH_SS_STATS);
        put_u32(&mut b, 16, 9);
        assert_eq!(decode_sset_info(&b, abi::ETH_SS_STATS), Some(9));
        put_u64(&mut b, 8, 0);
        assert_eq!(decode_sset_info(&b, abi::ETH_SS_STATS), None);
    }

    #[test]
    fn strings_are_nul_padded_and_empty_ones_keep_their_place() {
        let full = "x".repeat(ETH_GSTRING_LEN); // no NUL at all: all 32 bytes
        let b = gstrings(3, &["tx-scatter-gather", "", &full]);
        assert_eq!(
            decode_strings(&b, 3).unwrap(),
            ["tx-scatter-gather", "", full.as_str()]
        );
        // The kernel reported another count than the buffer was sized for.
        assert_eq!(decode_strings(&gstrings(4, &["a", "b", "c"]), 3), None);
    }

    #[test]
    fn stats_pair_names_with_values_in_order() {
        let mut b = vec![0; 8 + 3 * 8];
        put_u32(&mut b, 0, abi::ETHTOOL_GSTATS);
        put_u32(&mut b, 4, 3);
        for (i, v) in [7u64, u64::MAX, 42].into_iter().enumerate() {
            put_u64(&mut b, 8 + 8 * i, v);
        }
        let names = || {
            ["rx_pause", "tx_pause", "rx_pause"]
                .map(String::from)
                .to_vec()
        };
        let stats = decode_stats(names(), &b).unwrap();
        assert_eq!(stats.get("tx_pause"), Some(u64::MAX));
        assert_eq!(stats.get("rx_pause"), Some(7), "first of a repeated name");
        assert_eq!(stats.get("rx_flow_control_xon"), None);
        assert_eq!(
            stats.iter().map(|(_, v)| v).collect::<Vec<_>>(),
            [7, u64::MAX, 42]
        );
        put_u32(&mut b, 4, 2);
        assert_eq!(decode_stats(names(), &b), None);
    }
}
