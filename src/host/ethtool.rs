//! The real [`NicOps`]: ring and channel counts through the legacy SIOCETHTOOL ioctl, the
//! same kernel entry points `ethtool -g/-G/-l/-L` reach. This file owns the kernel ABI for
//! them, mirrored from the uapi headers: `struct ethtool_ringparam`, `struct ethtool_channels`
//! and the `ETHTOOL_*` command numbers from `include/uapi/linux/ethtool.h`, `SIOCETHTOOL` from
//! `include/uapi/linux/sockios.h`, and `struct ifreq` (only its name and `ifr_data`) from
//! `include/uapi/linux/if.h`. It is the only place in hosttune with `unsafe`.

use std::os::fd::AsRawFd;

use nix::errno::Errno;
use nix::sys::socket::{AddressFamily, SockFlag, SockType, socket};

use crate::host::nic::{ChannelParams, NicError, NicOps, RingParams};
use crate::types::IfName;

/// Kernel ABI, field for field as in the uapi headers named at the top of this file.
#[allow(non_camel_case_types)]
pub mod abi {
    /// `SIOCETHTOOL` (`include/uapi/linux/sockios.h`).
    pub const SIOCETHTOOL: u32 = 0x8946;
    /// Get ring parameters.
    pub const ETHTOOL_GRINGPARAM: u32 = 0x0000_0010;
    /// Set ring parameters.
    pub const ETHTOOL_SRINGPARAM: u32 = 0x0000_0011;
    /// Get channel counts.
    pub const ETHTOOL_GCHANNELS: u32 = 0x0000_003c;
    /// Set channel counts.
    pub const ETHTOOL_SCHANNELS: u32 = 0x0000_003d;
    /// `IFNAMSIZ` (`include/uapi/linux/if.h`): 15 bytes of name and a NUL.
    pub const IFNAMSIZ: usize = 16;

    /// `struct ethtool_ringparam`.
    #[repr(C)]
    #[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
    pub struct ethtool_ringparam {
        pub cmd: u32,
        pub rx_max_pending: u32,
        pub rx_mini_max_pending: u32,
        pub rx_jumbo_max_pending: u32,
        pub tx_max_pending: u32,
        pub rx_pending: u32,
        pub rx_mini_pending: u32,
        pub rx_jumbo_pending: u32,
        pub tx_pending: u32,
    }

    /// `struct ethtool_channels`.
    #[repr(C)]
    #[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
    pub struct ethtool_channels {
        pub cmd: u32,
        pub max_rx: u32,
        pub max_tx: u32,
        pub max_other: u32,
        pub max_combined: u32,
        pub rx_count: u32,
        pub tx_count: u32,
        pub other_count: u32,
        pub combined_count: u32,
    }

    /// The `ifr_ifru` union of `struct ifreq`: hosttune only uses `ifru_data`; `ifru_map` is
    /// the largest member and gives the union its kernel size.
    #[repr(C)]
    #[derive(Clone, Copy)]
    pub union ifreq_ifru {
        pub ifru_data: *mut libc::c_void,
        pub ifru_map: ifmap,
    }

    /// `struct ifmap`, mirrored only for its size: it is the largest member of `ifr_ifru`.
    #[repr(C)]
    #[derive(Debug, Default, Clone, Copy)]
    pub struct ifmap {
        pub mem_start: libc::c_ulong,
        pub mem_end: libc::c_ulong,
        pub base_addr: libc::c_ushort,
        pub irq: libc::c_uchar,
        pub dma: libc::c_uchar,
        pub port: libc::c_uchar,
    }

    /// `struct ifreq`, as SIOCETHTOOL reads it: an interface name and a pointer to the
    /// command struct.
    #[repr(C)]
    #[derive(Clone, Copy)]
    pub struct ifreq {
        pub ifr_name: [libc::c_char; IFNAMSIZ],
        pub ifr_ifru: ifreq_ifru,
    }
}

use abi::{ethtool_channels, ethtool_ringparam, ifreq, ifreq_ifru};

nix::ioctl_readwrite_bad!(
    /// `ioctl(fd, SIOCETHTOOL, struct ifreq *)`.
    siocethtool,
    abi::SIOCETHTOOL,
    ifreq
);

/// The command structs that SIOCETHTOOL may point at. Private, so only these two: the ioctl
/// wrapper relies on each being a `#[repr(C)]` mirror of the kernel struct its `cmd` selects.
trait Command {}
impl Command for ethtool_ringparam {}
impl Command for ethtool_channels {}

/// Maps an errno from SIOCETHTOOL to a [`NicError`]. EOPNOTSUPP (the same value as ENOTSUP on
/// Linux) is what the ethtool core returns when the driver has no callback for `op`, so the
/// item is `unsupported`; everything else is a real failure. Shared with the fake so both
/// classify alike.
pub fn nic_error(op: &'static str, iface: &IfName, errno: Errno) -> NicError {
    if errno == Errno::EOPNOTSUPP || errno == Errno::ENOTSUP {
        NicError::unsupported(op, iface, errno.desc())
    } else {
        NicError::Os {
            op,
            iface: iface.clone(),
            errno,
        }
    }
}

/// Runs one SIOCETHTOOL command on `iface`. The socket is opened per call, so the call acts
/// in the network namespace of the calling thread at that moment.
fn ethtool_ioctl<T: Command>(
    iface: &IfName,
    op: &'static str,
    cmd: &mut T,
) -> Result<(), NicError> {
    let sock = socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(|errno| NicError::Os {
        op: "socket(AF_INET, SOCK_DGRAM)",
        iface: iface.clone(),
        errno,
    })?;

    // Zeroed through the largest union member so every byte the kernel copies in is defined.
    let mut ifr = ifreq {
        ifr_name: [0; abi::IFNAMSIZ],
        ifr_ifru: ifreq_ifru {
            ifru_map: abi::ifmap::default(),
        },
    };
    ifr.ifr_ifru.ifru_data = (cmd as *mut T).cast();
    // IfName guarantees at most 15 bytes and no NUL, so the name stays NUL-terminated.
    for (dst, src) in ifr.ifr_name.iter_mut().zip(iface.as_str().bytes()) {
        *dst = src as libc::c_char;
    }

    // SAFETY: `sock` is an open socket that outlives the call. `ifr` is a fully initialised
    // `struct ifreq` with a NUL-terminated name, and `ifru_data` points at `*cmd`, which is
    // exclusively borrowed for the whole call. `Command` admits only the two `#[repr(C)]`
    // mirrors, and each caller here sets `cmd` to a command whose kernel struct is `T`, so
    // the kernel's copy_from_user and copy_to_user of that struct stay inside `*cmd`.
    let res = unsafe { siocethtool(sock.as_raw_fd(), &mut ifr) };
    res.map(drop).map_err(|errno| nic_error(op, iface, errno))
}

/// The kernel's ring and channel ioctls, in the network namespace of the calling thread.
#[derive(Debug, Default, Clone, Copy)]
pub struct Ethtool;

impl NicOps for Ethtool {
    /// Reads ring sizes and maximums. Equivalent to `ethtool -g eth0`.
    fn rings(&self, iface: &IfName) -> Result<RingParams, NicError> {
        let mut raw = ethtool_ringparam {
            cmd: abi::ETHTOOL_GRINGPARAM,
            ..Default::default()
        };
        ethtool_ioctl(iface, "ETHTOOL_GRINGPARAM", &mut raw)?;
        Ok(RingParams {
            rx_max: raw.rx_max_pending,
            rx_mini_max: raw.rx_mini_max_pending,
            rx_jumbo_max: raw.rx_jumbo_max_pending,
            tx_max: raw.tx_max_pending,
            rx: raw.rx_pending,
            rx_mini: raw.rx_mini_pending,
            rx_jumbo: raw.rx_jumbo_pending,
            tx: raw.tx_pending,
        })
    }

    /// Sets every ring size at once; the kernel checks each against the driver's maximum and
    /// ignores the maximums passed in. Equivalent to `ethtool -G eth0 rx 4096 tx 4096`.
    fn set_rings(&self, iface: &IfName, rings: &RingParams) -> Result<(), NicError> {
        let mut raw = ethtool_ringparam {
            cmd: abi::ETHTOOL_SRINGPARAM,
            rx_max_pending: rings.rx_max,
            rx_mini_max_pending: rings.rx_mini_max,
            rx_jumbo_max_pending: rings.rx_jumbo_max,
            tx_max_pending: rings.tx_max,
            rx_pending: rings.rx,
            rx_mini_pending: rings.rx_mini,
            rx_jumbo_pending: rings.rx_jumbo,
            tx_pending: rings.tx,
        };
        ethtool_ioctl(iface, "ETHTOOL_SRINGPARAM", &mut raw)
    }

    /// Reads channel counts and maximums. Equivalent to `ethtool -l eth0`.
    fn channels(&self, iface: &IfName) -> Result<ChannelParams, NicError> {
        let mut raw = ethtool_channels {
            cmd: abi::ETHTOOL_GCHANNELS,
            ..Default::default()
        };
        ethtool_ioctl(iface, "ETHTOOL_GCHANNELS", &mut raw)?;
        Ok(ChannelParams {
            max_rx: raw.max_rx,
            max_tx: raw.max_tx,
            max_other: raw.max_other,
            max_combined: raw.max_combined,
            rx: raw.rx_count,
            tx: raw.tx_count,
            other: raw.other_count,
            combined: raw.combined_count,
        })
    }

    /// Sets every channel count at once: a zero is a request for zero, not "leave alone",
    /// and the kernel wants at least one rx and one tx queue (combined, or rx and tx).
    /// Equivalent to `ethtool -L eth0 combined 8`.
    fn set_channels(&self, iface: &IfName, ch: &ChannelParams) -> Result<(), NicError> {
        let mut raw = ethtool_channels {
            cmd: abi::ETHTOOL_SCHANNELS,
            max_rx: ch.max_rx,
            max_tx: ch.max_tx,
            max_other: ch.max_other,
            max_combined: ch.max_combined,
            rx_count: ch.rx,
            tx_count: ch.tx,
            other_count: ch.other,
            combined_count: ch.combined,
        };
        ethtool_ioctl(iface, "ETHTOOL_SCHANNELS", &mut raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    #[test]
    fn abi_structs_have_the_kernel_sizes() {
        assert_eq!(size_of::<ethtool_ringparam>(), 36);
        assert_eq!(size_of::<ethtool_channels>(), 36);
        assert_eq!(offset_of!(ethtool_ringparam, tx_pending), 32);
        assert_eq!(offset_of!(ethtool_channels, combined_count), 32);
        assert_eq!(size_of::<ifreq>(), size_of::<libc::ifreq>());
        assert_eq!(offset_of!(ifreq, ifr_ifru), abi::IFNAMSIZ);
        #[cfg(target_pointer_width = "64")]
        assert_eq!(size_of::<ifreq>(), 40);
    }

    #[test]
    fn command_numbers_match_the_uapi_header() {
        assert_eq!(abi::SIOCETHTOOL, 0x8946);
        // libc's request type is c_ulong on glibc and c_int on musl.
        #[allow(clippy::unnecessary_cast)]
        let from_libc = libc::SIOCETHTOOL as u64;
        assert_eq!(u64::from(abi::SIOCETHTOOL), from_libc);
        assert_eq!(abi::ETHTOOL_GRINGPARAM, 0x10);
        assert_eq!(abi::ETHTOOL_SRINGPARAM, 0x11);
        assert_eq!(abi::ETHTOOL_GCHANNELS, 0x3c);
        assert_eq!(abi::ETHTOOL_SCHANNELS, 0x3d);
    }

    #[test]
    fn errno_maps_to_unsupported_or_os() {
        let eth0: IfName = "eth0".parse().unwrap();
        for errno in [Errno::EOPNOTSUPP, Errno::ENOTSUP] {
            let err = nic_error("ETHTOOL_GRINGPARAM", &eth0, errno);
            assert!(matches!(
                err,
                NicError::Unsupported {
                    op: "ETHTOOL_GRINGPARAM",
                    ..
                }
            ));
        }
        for errno in [Errno::ENODEV, Errno::EBUSY, Errno::EINVAL, Errno::EPERM] {
            let err = nic_error("ETHTOOL_SRINGPARAM", &eth0, errno);
            assert_eq!(
                err,
                NicError::Os {
                    op: "ETHTOOL_SRINGPARAM",
                    iface: eth0.clone(),
                    errno
                }
            );
        }
        assert_eq!(
            nic_error("ETHTOOL_SCHANNELS", &eth0, Errno::EBUSY).to_string(),
            "ETHTOOL_SCHANNELS on eth0: EBUSY: Device or resource busy"
        );
    }
}
