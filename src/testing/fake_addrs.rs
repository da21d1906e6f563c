//! An in-memory [`AddrOps`] with the kernel's answers: adding an address that is already
//! there and deleting one that is not both succeed (EEXIST and EADDRNOTAVAIL), an unknown
//! interface is `NoSuchInterface`. Every call is logged, and the next call of one kind can be
//! made to fail once, so that apply and rollback can be tested without a namespace.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Mutex;

use nix::errno::Errno;

use crate::host::addrs::{AddrError, AddrOps, IfAddr};
use crate::types::IfName;

/// The kind of an address call, to aim an injected failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddrOp {
    List,
    Add,
    Del,
}

/// One call made on a [`FakeAddrs`], in order, failed ones included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddrCall {
    List,
    Add(IfName, IpAddr, u8),
    Del(IfName, IpAddr, u8),
}

#[derive(Debug, Default)]
struct State {
    /// Addresses per interface, in the order they were added.
    ifaces: BTreeMap<IfName, Vec<(IpAddr, u8)>>,
    calls: Vec<AddrCall>,
    fail_next: Option<(AddrOp, Errno)>,
}

/// Interfaces and their addresses, in memory.
#[derive(Debug, Default)]
pub struct FakeAddrs {
    state: Mutex<State>,
}

fn name(iface: &str) -> IfName {
    iface
        .parse()
        .unwrap_or_else(|e| panic!("fake interface {iface:?}: {e}"))
}

fn cidr(text: &str) -> (IpAddr, u8) {
    let parsed = text
        .split_once('/')
        .and_then(|(a, p)| Some((a.parse().ok()?, p.parse().ok()?)));
    parsed.unwrap_or_else(|| panic!("fake address {text:?} is not ADDR/PREFIX"))
}

impl FakeAddrs {
    /// No interfaces at all.
    pub fn new() -> Self {
        Self::default()
    }

    /// `lo` as a fresh network namespace has it once up: 127.0.0.1/8 and ::1/128.
    pub fn with_loopback() -> Self {
        Self::new().iface("lo", &["127.0.0.1/8", "::1/128"])
    }

    /// Adds interface `iface` with addresses given as `ADDR/PREFIX`. Panics on bad input:
    /// this is test set-up.
    pub fn iface(self, iface: &str, addrs: &[&str]) -> Self {
        let list = addrs.iter().map(|a| cidr(a)).collect();
        self.lock().ifaces.insert(name(iface), list);
        self
    }

    /// The next call of kind `op` fails once with `errno`, as the kernel would refuse it.
    pub fn fail_next(&self, op: AddrOp, errno: Errno) {
        self.lock().fail_next = Some((op, errno));
    }

    /// Every call so far, oldest first.
    pub fn calls(&self) -> Vec<AddrCall> {
        self.lock().calls.clone()
    }

    /// The addresses on `iface` as `ADDR/PREFIX`, in the order they were added; empty when
    /// the interface does not exist.
    pub fn addrs(&self, iface: &str) -> Vec<String> {
        let state = self.lock();
        let list = state
            .ifaces
            .get(&name(iface))
            .map(Vec::as_slice)
            .unwrap_or_default();
        list.iter().map(|(a, p)| format!("{a}/{p}")).collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A test that panicked while holding the lock has already failed; its state is
        // still worth reading.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl State {
    fn record(&mut self, call: AddrCall, op: AddrOp) -> Option<Errno> {
        self.calls.push(call);
        match self.fail_next {
            Some((target, errno)) if target == op => {
                self.fail_next = None;
                Some(errno)
            }
            _ => None,
        }
    }
}

impl AddrOps for FakeAddrs {
    fn list(&self) -> Result<Vec<IfAddr>, AddrError> {
        let mut state = self.lock();
        if let Some(errno) = state.record(AddrCall::List, AddrOp::List) {
            return Err(AddrError::Netlink(format!("list addresses: {errno}")));
        }
        let mut out = Vec::new();
        for (iface, addrs) in &state.ifaces {
            for &(addr, prefix) in addrs {
                out.push(IfAddr {
                    iface: iface.clone(),
                    addr,
                    prefix,
                });
            }
        }
        Ok(out)
    }

    fn add(&self, iface: &IfName, addr: IpAddr, prefix: u8) -> Result<(), AddrError> {
        let mut state = self.lock();
        let call = AddrCall::Add(iface.clone(), addr, prefix);
        if let Some(errno) = state.record(call, AddrOp::Add) {
            return Err(AddrError::os("add", iface, addr, prefix, errno));
        }
        let Some(list) = state.ifaces.get_mut(iface) else {
            return Err(AddrError::NoSuchInterface(iface.clone()));
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if prefix > max {
            return Err(AddrError::os("add", iface, addr, prefix, Errno::EINVAL));
        }
        // The kernel's EEXIST: IPv4 keys on address and prefix (10.0.0.1/32 and /24 may
        // coexist), IPv6 on the address alone.
        let exists = list
            .iter()
            .any(|&(a, p)| a == addr && (addr.is_ipv6() || p == prefix));
        if !exists {
            list.push((addr, prefix));
        }
        Ok(())
    }

    fn del(&self, iface: &IfName, addr: IpAddr, prefix: u8) -> Result<(), AddrError> {
        let mut state = self.lock();
        let call = AddrCall::Del(iface.clone(), addr, prefix);
        if let Some(errno) = state.record(call, AddrOp::Del) {
            return Err(AddrError::os("del", iface, addr, prefix, errno));
        }
        let Some(list) = state.ifaces.get_mut(iface) else {
            return Err(AddrError::NoSuchInterface(iface.clone()));
        };
        // Both families delete only on an exact address and prefix; anything else is the
        // kernel's EADDRNOTAVAIL, which means already gone.
        list.retain(|&(a, p)| !(a == addr && p == prefix));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn add_and_del_are_idempotent_and_keep_the_loopback_addresses() {
        let fake = FakeAddrs::with_loopback();
        let lo = name("lo");
        fake.add(&lo, ip("192.168.16.100"), 32).unwrap();
        fake.add(&lo, ip("192.168.16.100"), 32).unwrap();
        fake.add(&lo, ip("2001:db8::100"), 128).unwrap();
        assert_eq!(
            fake.addrs("lo"),
            [
                "127.0.0.1/8",
                "::1/128",
                "192.168.16.100/32",
                "2001:db8::100/128"
            ]
        );
        fake.del(&lo, ip("192.168.16.100"), 32).unwrap();
        fake.del(&lo, ip("192.168.16.100"), 32).unwrap();
        assert_eq!(
            fake.addrs("lo"),
            ["127.0.0.1/8", "::1/128", "2001:db8::100/128"]
        );
    }

    #[test]
    fn prefixes_follow_the_kernel_per_family() {
        let fake = FakeAddrs::with_loopback();
        let lo = name("lo");
        fake.add(&lo, ip("192.168.16.100"), 32).unwrap();
        fake.add(&lo, ip("192.168.16.100"), 24).unwrap();
        fake.add(&lo, ip("2001:db8::100"), 128).unwrap();
        fake.add(&lo, ip("2001:db8::100"), 64).unwrap();
        fake.del(&lo, ip("2001:db8::100"), 64).unwrap();
        let want = [
            "127.0.0.1/8",
            "::1/128",
            "192.168.16.100/32",
            "192.168.16.100/24",
            "2001:db8::100/128",
        ];
        assert_eq!(fake.addrs("lo"), want);
        let err = fake.add(&lo, ip("10.0.0.1"), 33).unwrap_err();
        assert!(
            matches!(
                err,
                AddrError::Os {
                    errno: Errno::EINVAL,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn a_missing_interface_is_named() {
        let fake = FakeAddrs::with_loopback();
        let err = fake.add(&name("eth9"), ip("10.0.0.1"), 32).unwrap_err();
        assert_eq!(err, AddrError::NoSuchInterface(name("eth9")));
        assert_eq!(err.to_string(), "interface eth9 does not exist");
        assert!(fake.del(&name("eth9"), ip("10.0.0.1"), 32).is_err());
    }

    #[test]
    fn an_injected_failure_fires_once_and_is_logged() {
        let fake = FakeAddrs::with_loopback();
        let lo = name("lo");
        fake.fail_next(AddrOp::Add, Errno::EPERM);
        fake.del(&lo, ip("10.0.0.1"), 32).unwrap();
        let err = fake.add(&lo, ip("10.0.0.1"), 32).unwrap_err();
        assert_eq!(
            err.to_string(),
            "add 10.0.0.1/32 on lo: EPERM: Operation not permitted"
        );
        assert_eq!(fake.addrs("lo"), ["127.0.0.1/8", "::1/128"]);
        fake.add(&lo, ip("10.0.0.1"), 32).unwrap();
        fake.list().unwrap();
        let want = [
            AddrCall::Del(lo.clone(), ip("10.0.0.1"), 32),
            AddrCall::Add(lo.clone(), ip("10.0.0.1"), 32),
            AddrCall::Add(lo.clone(), ip("10.0.0.1"), 32),
            AddrCall::List,
        ];
        assert_eq!(fake.calls(), want);
    }

    #[test]
    fn list_names_each_interface() {
        let fake = FakeAddrs::with_loopback().iface("v0.100", &["10.1.0.1/24"]);
        let listed = fake.list().unwrap();
        let v0: Vec<_> = listed
            .iter()
            .filter(|a| a.iface.as_str() == "v0.100")
            .collect();
        assert_eq!(
            v0,
            [&IfAddr {
                iface: name("v0.100"),
                addr: ip("10.1.0.1"),
                prefix: 24
            }]
        );
        assert_eq!(listed.len(), 3);
    }
}
