//! The one way the commands in [`super`] reach the kernel: SIOCETHTOOL on a buffer that ends
//! in a guard page. This file holds all of their `unsafe`.
//!
//! Why a guard page: for ETHTOOL_GSTRINGS and ETHTOOL_GSTATS the kernel writes as many
//! entries as the driver reports at that moment, not as many as the caller's header asks
//! for (`ethtool_get_strings`, `ethtool_get_stats` in `net/ethtool/ioctl.c`). A driver's
//! statistics count changes with its queue count, so between ETHTOOL_GSSET_INFO and the
//! read it can grow. In a heap buffer that would be a silent overflow; here the extra bytes
//! land in slack that belongs to the buffer, or hit the `PROT_NONE` page after it and the
//! kernel returns EFAULT. Callers compare the count the kernel wrote back with the one they
//! sized for and retry.

use std::os::fd::AsRawFd;
use std::ptr::NonNull;

use nix::errno::Errno;
use nix::sys::socket::{AddressFamily, SockFlag, SockType, socket};
use nix::unistd::{SysconfVar, sysconf};

use crate::host::abi::{self as host_abi, IFNAMSIZ, ifmap, ifreq, ifreq_ifru};
use crate::host::nicerr::NicError;
use crate::host::nicerr::nic_error;

nix::ioctl_readwrite_bad!(
    /// `ioctl(fd, SIOCETHTOOL, struct ifreq *)`.
    siocethtool,
    host_abi::SIOCETHTOOL,
    ifreq
);
use crate::types::IfName;

/// `len` zeroed bytes at the start of a private anonymous mapping, page-aligned (so any
/// `__u64` array in it is aligned), followed by the rest of the last page and one
/// `PROT_NONE` guard page.
pub(super) struct KernelBuf {
    base: NonNull<u8>,
    map_len: usize,
    len: usize,
}

impl KernelBuf {
    /// Maps a zeroed buffer of `len` bytes (at least one page of them) plus the guard page.
    pub(super) fn zeroed(iface: &IfName, len: usize) -> Result<Self, NicError> {
        let os = |errno| NicError::Os {
            op: "mmap(ethtool buffer)",
            iface: iface.clone(),
            errno,
        };
        let page = match sysconf(SysconfVar::PAGE_SIZE) {
            Ok(Some(p)) if p > 0 => p as usize,
            _ => 4096,
        };
        let rw = len
            .max(1)
            .div_ceil(page)
            .checked_mul(page)
            .ok_or(os(Errno::ENOMEM))?;
        let map_len = rw.checked_add(page).ok_or(os(Errno::ENOMEM))?;
        // SAFETY: a fresh private anonymous mapping at an address of the kernel's choosing:
        // no existing memory is affected. The result is checked against MAP_FAILED below.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(os(Errno::last()));
        }
        let base = NonNull::new(ptr.cast::<u8>()).ok_or(os(Errno::ENOMEM))?;
        // Owned from here on, so Drop unmaps it even if mprotect fails.
        let buf = Self { base, map_len, len };
        let guard = base.as_ptr().wrapping_add(rw);
        // SAFETY: `guard` is page-aligned and `guard..guard + page` is the last page of the
        // mapping made above, which nothing else refers to.
        if unsafe { libc::mprotect(guard.cast(), page, libc::PROT_NONE) } != 0 {
            return Err(os(Errno::last()));
        }
        Ok(buf)
    }

    /// The `len` bytes the command owns.
    pub(super) fn bytes(&self) -> &[u8] {
        // SAFETY: `base..base + len` lies in the read-write part of the mapping, which lives
        // as long as `self`; anonymous mappings are zero-filled, so every byte is initialised;
        // the shared borrow of `self` excludes writers (the ioctl takes `&mut self`).
        unsafe { std::slice::from_raw_parts(self.base.as_ptr(), self.len) }
    }

    /// The `len` bytes the command owns, for encoding a request.
    pub(super) fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `bytes`, and the exclusive borrow of `self` makes this the only
        // reference to the memory.
        unsafe { std::slice::from_raw_parts_mut(self.base.as_ptr(), self.len) }
    }
}

impl Drop for KernelBuf {
    fn drop(&mut self) {
        // SAFETY: `base` and `map_len` are exactly the mapping made in `zeroed`, unmapped once
        // here; no slice into it outlives `self`.
        unsafe {
            libc::munmap(self.base.as_ptr().cast(), self.map_len);
        }
    }
}

/// Runs one SIOCETHTOOL command whose struct (header and array) is in `buf`, in the network
/// namespace of the calling thread. Returns the ioctl's non-negative result, which only
/// ETHTOOL_SFEATURES uses (its `ETHTOOL_F_*` bits).
pub(super) fn run(iface: &IfName, op: &'static str, buf: &mut KernelBuf) -> Result<u32, NicError> {
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
        ifr_name: [0; IFNAMSIZ],
        ifr_ifru: ifreq_ifru {
            ifru_map: ifmap::default(),
        },
    };
    ifr.ifr_ifru.ifru_data = buf.base.as_ptr().cast();
    // IfName guarantees at most 15 bytes and no NUL, so the name stays NUL-terminated.
    for (dst, src) in ifr.ifr_name.iter_mut().zip(iface.as_str().bytes()) {
        *dst = src as libc::c_char;
    }
    // SAFETY: `sock` is an open socket that outlives the call, and `ifr` a fully initialised
    // `struct ifreq` with a NUL-terminated name. `ifru_data` points at the start of `buf`'s
    // mapping, which `buf` (exclusively borrowed, so no slice into it is alive) keeps mapped
    // for the whole call. Whatever the command, the kernel only reaches that memory through
    // copy_from_user/copy_to_user of contiguous ranges that start inside the buffer: bytes
    // within the read-write pages are memory only `buf` owns (zero-filled, so reads are
    // defined), and a range that runs past them reaches the PROT_NONE guard page before
    // anything else, where the copy stops and the call fails with EFAULT.
    let res = unsafe { siocethtool(sock.as_raw_fd(), &mut ifr) };
    match res {
        Ok(ret) => Ok(u32::try_from(ret).unwrap_or(0)),
        Err(errno) => Err(nic_error(op, iface, errno)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_zeroed_aligned_and_writable() {
        let eth0: IfName = "eth0".parse().unwrap();
        for len in [0, 1, 16, 4096, 4097, 70_000] {
            let mut buf = KernelBuf::zeroed(&eth0, len).unwrap();
            assert_eq!(buf.bytes().len(), len);
            assert!(buf.bytes().iter().all(|&b| b == 0));
            assert_eq!(buf.base.as_ptr() as usize % 8, 0);
            buf.bytes_mut().fill(0xa5);
            assert!(buf.bytes().iter().all(|&b| b == 0xa5));
        }
    }

    /// A kernel copy that runs past the read-write pages stops at the guard page: here
    /// read(2) from /dev/zero, which copies out as ETHTOOL_GSTATS does.
    #[test]
    fn a_kernel_copy_past_the_buffer_stops_at_the_guard_page() {
        let eth0: IfName = "eth0".parse().unwrap();
        let mut buf = KernelBuf::zeroed(&eth0, 100).unwrap();
        buf.bytes_mut().fill(0xa5);
        let rw = buf.map_len / 2; // one read-write page, one guard page
        let zero = std::fs::File::open("/dev/zero").unwrap();
        let ask = rw + 64;
        // SAFETY: the range is `buf`'s own mapping (read-write page, then guard page) and no
        // slice into it is alive; the kernel copies into it with copy_to_user, which stops
        // at the guard page instead of faulting the process.
        let got = unsafe { libc::read(zero.as_raw_fd(), buf.base.as_ptr().cast(), ask) };
        assert_eq!(got, rw as isize, "a short copy up to the guard page");
        assert!(
            buf.bytes().iter().all(|&b| b == 0),
            "the kernel wrote the buffer"
        );
        let guard = buf.base.as_ptr().wrapping_add(rw);
        // SAFETY: as above; this copy starts on the guard page itself.
        let got = unsafe { libc::read(zero.as_raw_fd(), guard.cast(), 8) };
        assert_eq!(got, -1);
        assert_eq!(Errno::last(), Errno::EFAULT);
    }
}
