//! The RSS indirection table, ETHTOOL_GRXFHINDIR/SRXFHINDIR (`struct ethtool_rxfh_indir`),
//! and the RX ring count its entries index, ETHTOOL_GRXRINGS (`struct ethtool_rxnfc`).

use std::mem::{offset_of, size_of};

use nix::errno::Errno;

use super::abi::{self, ethtool_rxfh_indir};
use super::ioctl::{KernelBuf, run};
use super::{ATTEMPTS, kept_changing, malformed, put_u32, u32_at, u64_at};
use crate::host::abi::ethtool_rxnfc;
use crate::host::nicerr::NicError;
use crate::types::IfName;

/// The RX ring of each hash bucket: entry `i` receives the flows whose hash lands on `i`.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RssIndir(pub Vec<u32>);

impl RssIndir {
    /// The table the kernel installs by default, spreading `size` buckets over the first
    /// `rings` rings in turn (`ethtool_rxfh_indir_default`). Equivalent to what
    /// `ethtool -X eth0 equal N` writes.
    pub fn equal(size: usize, rings: u32) -> Self {
        RssIndir((0..size).map(|i| i as u32 % rings.max(1)).collect())
    }

    /// The K of a table that is the kernel's spread over its first K queues (`equal K`),
    /// or `None` for an empty table or one of another shape: a table pinned by hand or by a
    /// weighted write, which the kernel keeps across channel changes and checks them against.
    pub fn equal_spread(table: &[u32]) -> Option<u32> {
        let k = table.iter().max()? + 1;
        (Self::equal(table.len(), k).0 == table).then_some(k)
    }
}

const SIZE: usize = offset_of!(ethtool_rxfh_indir, size);
const RING_INDEX: usize = size_of::<ethtool_rxfh_indir>();

/// A `struct ethtool_rxfh_indir` of `cmd` with room for, and the entries of, `table`.
fn encode(iface: &IfName, cmd: u32, table: &[u32]) -> Result<KernelBuf, NicError> {
    let mut buf = KernelBuf::zeroed(iface, RING_INDEX + 4 * table.len())?;
    let b = buf.bytes_mut();
    put_u32(b, 0, cmd);
    put_u32(b, SIZE, table.len() as u32);
    for (i, &ring) in table.iter().enumerate() {
        put_u32(b, RING_INDEX + 4 * i, ring);
    }
    Ok(buf)
}

/// The table of a GRXFHINDIR reply to a buffer of `room` entries: `None` when the kernel's
/// table is larger (it changed since its size was asked).
fn decode(b: &[u8], room: usize) -> Option<RssIndir> {
    let n = u32_at(b, SIZE) as usize;
    (n <= room).then(|| RssIndir((0..n).map(|i| u32_at(b, RING_INDEX + 4 * i)).collect()))
}

/// Reads the indirection table: its size first (a request with size 0), then the entries.
/// Equivalent to `ethtool -x eth0`.
pub fn rss_indir(iface: &IfName) -> Result<RssIndir, NicError> {
    let op = "ETHTOOL_GRXFHINDIR";
    for _ in 0..ATTEMPTS {
        let mut probe = encode(iface, abi::ETHTOOL_GRXFHINDIR, &[])?;
        run(iface, op, &mut probe)?;
        let size = u32_at(probe.bytes(), SIZE) as usize;
        if size == 0 {
            return Err(malformed(
                op,
                iface,
                "an indirection table of size 0".into(),
            ));
        }
        let mut buf = encode(iface, abi::ETHTOOL_GRXFHINDIR, &vec![0; size])?;
        match run(iface, op, &mut buf) {
            // EINVAL with a larger size written back: the table grew in between.
            Err(NicError::Os {
                errno: Errno::EINVAL,
                ..
            }) if u32_at(buf.bytes(), SIZE) as usize > size => {
                continue;
            }
            Err(e) => return Err(e),
            Ok(_) => {}
        }
        if let Some(table) = decode(buf.bytes(), size) {
            return Ok(table);
        }
    }
    Err(kept_changing(op, iface))
}

/// Writes the whole indirection table; its length must be the device's table size and every
/// entry below [`rx_rings`], or the kernel answers EINVAL. An empty table is the reset of
/// [`reset_rss_indir`]. Equivalent to `ethtool -X eth0 weight ...`.
pub fn set_rss_indir(iface: &IfName, table: &RssIndir) -> Result<(), NicError> {
    let mut buf = encode(iface, abi::ETHTOOL_SRXFHINDIR, &table.0)?;
    run(iface, "ETHTOOL_SRXFHINDIR", &mut buf).map(drop)
}

/// Puts back the driver's default table and lets later channel changes resize it again
/// (a written table pins the ring count). Equivalent to `ethtool -X eth0 default`.
pub fn reset_rss_indir(iface: &IfName) -> Result<(), NicError> {
    set_rss_indir(iface, &RssIndir::default())
}

/// The number of RX rings flows can be steered to. Equivalent to the "RX rings available"
/// line of `ethtool -n eth0`.
pub fn rx_rings(iface: &IfName) -> Result<u32, NicError> {
    let op = "ETHTOOL_GRXRINGS";
    // The kernel copies the whole struct in and out for this command.
    let mut buf = KernelBuf::zeroed(iface, size_of::<ethtool_rxnfc>())?;
    put_u32(buf.bytes_mut(), 0, abi::ETHTOOL_GRXRINGS);
    run(iface, op, &mut buf)?;
    let rings = u64_at(buf.bytes(), offset_of!(ethtool_rxnfc, data));
    u32::try_from(rings).map_err(|_| malformed(op, iface, format!("{rings} RX rings")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_spreads_buckets_like_the_kernel_default() {
        assert_eq!(RssIndir::equal(8, 3).0, [0, 1, 2, 0, 1, 2, 0, 1]);
        assert_eq!(RssIndir::equal(4, 0).0, [0; 4], "no rings reads as one");
    }

    #[test]
    fn the_table_round_trips_and_a_grown_one_is_refused() {
        let eth0: IfName = "eth0".parse().unwrap();
        let buf = encode(&eth0, abi::ETHTOOL_SRXFHINDIR, &[3, 1, 0, 2]).unwrap();
        let words: Vec<u32> = buf.bytes().chunks(4).map(|w| u32_at(w, 0)).collect();
        assert_eq!(words, [0x39, 4, 3, 1, 0, 2]);
        assert_eq!(decode(buf.bytes(), 4).unwrap().0, [3, 1, 0, 2]);

        let mut b = buf.bytes().to_vec();
        put_u32(&mut b, SIZE, 2); // a smaller table than the room: only its entries
        assert_eq!(decode(&b, 4).unwrap().0, [3, 1]);
        put_u32(&mut b, SIZE, 5);
        assert_eq!(decode(&b, 4), None);
    }

    #[test]
    fn grxrings_reads_the_data_word() {
        assert_eq!(offset_of!(ethtool_rxnfc, data), 8);
        assert_eq!(abi::ETHTOOL_GRXRINGS, 0x2d);
    }
}
