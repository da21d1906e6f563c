//! Pause frames (802.3x flow control): ETHTOOL_GPAUSEPARAM/SPAUSEPARAM and
//! `struct ethtool_pauseparam`.

use std::mem::offset_of;

use super::abi::{self, ethtool_pauseparam};
use super::ioctl::{KernelBuf, run};
use super::{put_u32, u32_at};
use crate::host::nicerr::NicError;
use crate::types::IfName;

/// Pause frame settings of one interface.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Pause {
    /// Negotiate pause frame use with the link partner.
    pub autoneg: bool,
    /// Honour received pause frames.
    pub rx: bool,
    /// Send pause frames.
    pub tx: bool,
}

const AUTONEG: usize = offset_of!(ethtool_pauseparam, autoneg);
const RX: usize = offset_of!(ethtool_pauseparam, rx_pause);
const TX: usize = offset_of!(ethtool_pauseparam, tx_pause);

impl Pause {
    /// Reads a `struct ethtool_pauseparam` buffer; any non-zero flag is on.
    fn decode(b: &[u8]) -> Self {
        Pause {
            autoneg: u32_at(b, AUTONEG) != 0,
            rx: u32_at(b, RX) != 0,
            tx: u32_at(b, TX) != 0,
        }
    }

    /// Writes `cmd` and the flags (as 0 or 1) into a `struct ethtool_pauseparam` buffer.
    fn encode(&self, cmd: u32, b: &mut [u8]) {
        put_u32(b, 0, cmd);
        put_u32(b, AUTONEG, self.autoneg.into());
        put_u32(b, RX, self.rx.into());
        put_u32(b, TX, self.tx.into());
    }
}

fn call(iface: &IfName, cmd: u32, op: &'static str, p: &Pause) -> Result<Pause, NicError> {
    let mut buf = KernelBuf::zeroed(iface, size_of::<ethtool_pauseparam>())?;
    p.encode(cmd, buf.bytes_mut());
    run(iface, op, &mut buf)?;
    Ok(Pause::decode(buf.bytes()))
}

/// Reads the pause frame settings. Equivalent to `ethtool -a eth0`.
pub fn pause(iface: &IfName) -> Result<Pause, NicError> {
    let op = "ETHTOOL_GPAUSEPARAM";
    call(iface, abi::ETHTOOL_GPAUSEPARAM, op, &Pause::default())
}

/// Writes all three pause frame settings. Drivers refuse (EINVAL) `autoneg` on a link that
/// does not autonegotiate. Equivalent to `ethtool -A eth0 autoneg off rx on tx on`.
pub fn set_pause(iface: &IfName, p: Pause) -> Result<(), NicError> {
    let op = "ETHTOOL_SPAUSEPARAM";
    call(iface, abi::ETHTOOL_SPAUSEPARAM, op, &p).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_round_trip_through_the_struct() {
        let words = |w: [u32; 4]| -> Vec<u8> { w.iter().flat_map(|x| x.to_ne_bytes()).collect() };
        let p = Pause::decode(&words([abi::ETHTOOL_GPAUSEPARAM, 0, 1, 0]));
        assert_eq!(
            p,
            Pause {
                autoneg: false,
                rx: true,
                tx: false
            }
        );
        // Drivers may report any non-zero value for "on".
        assert!(Pause::decode(&words([0, 2, 0, 0x100])).autoneg);

        let mut out = vec![0xff; 16];
        Pause {
            autoneg: true,
            rx: false,
            tx: true,
        }
        .encode(abi::ETHTOOL_SPAUSEPARAM, &mut out);
        assert_eq!(out, words([0x13, 1, 0, 1]));
    }
}
