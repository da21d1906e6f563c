//! An in-memory [`AddrOps`] with the kernel's answers: adding an address that is already
//! there and deleting one that is not both succeed (EEXIST and EADDRNOTAVAIL), an unknown
//! interface is `NoSuchInterface`. Addresses keep the attributes they were added with, as the
//! kernel keeps them ([`AddrAttrs::normalized`]). Every call is logged, and the next call of
//! one kind can be made to fail once, so that apply and rollback can be tested without a
//! namespace.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Mutex;

use nix::errno::Errno;

use crate::host::addrs::{AddrAttrs, AddrError, AddrOps, IfAddr, IfRoute};
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
    Add(IfName, IpAddr, u8, AddrAttrs),
    Del(IfName, IpAddr, u8),
}

/// One address held by the fake.
#[derive(Debug, Clone)]
struct Held {
    addr: IpAddr,
    prefix: u8,
    attrs: AddrAttrs,
}

#[derive(Debug, Default)]
struct State {
    /// Addresses per interface, in the order they were added.
    ifaces: BTreeMap<IfName, Vec<Held>>,
    calls: Vec<AddrCall>,
    fail_next: Option<(AddrOp, Errno)>,
    /// Routes, once a test gives any; until then routes are unsupported, as the trait's
    /// default has them.
    routes: Option<Vec<IfRoute>>,
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
        let list = addrs
            .iter()
            .map(|a| {
                let (addr, prefix) = cidr(a);
                Held {
                    addr,
                    prefix,
                    attrs: AddrAttrs::default(),
                }
            })
            .collect();
        self.lock().ifaces.insert(name(iface), list);
        self
    }

    /// Gives address `ADDR/PREFIX` on `iface` the attributes it would have had from
    /// `ip addr add ... ATTRS`, as the kernel keeps them. Panics when there is no such
    /// address: this is test set-up.
    pub fn with_attrs(self, iface: &str, addr: &str, attrs: AddrAttrs) -> Self {
        let (a, p) = cidr(addr);
        let ifname = name(iface);
        let attrs = attrs.normalized(&ifname, a);
        let mut state = self.lock();
        let held = state
            .ifaces
            .get_mut(&ifname)
            .and_then(|l| l.iter_mut().find(|h| h.addr == a && h.prefix == p))
            .unwrap_or_else(|| panic!("fake address {addr} is not on {iface}"));
        held.attrs = attrs;
        drop(state);
        self
    }

    /// The attributes of `ADDR/PREFIX` on `iface`, if it is there.
    pub fn attrs_of(&self, iface: &str, addr: &str) -> Option<AddrAttrs> {
        let (a, p) = cidr(addr);
        let state = self.lock();
        let list = state.ifaces.get(&name(iface))?;
        let held = list.iter().find(|h| h.addr == a && h.prefix == p)?;
        Some(held.attrs.clone())
    }

    /// Adds a route to what [`AddrOps::routes`] lists (read-only: the fake neither adds nor
    /// deletes routes).
    pub fn with_route(self, r: IfRoute) -> Self {
        self.lock().routes.get_or_insert_with(Vec::new).push(r);
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
        list.iter()
            .map(|h| format!("{}/{}", h.addr, h.prefix))
            .collect()
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
            for h in addrs {
                out.push(IfAddr {
                    iface: iface.clone(),
                    addr: h.addr,
                    prefix: h.prefix,
                    attrs: h.attrs.clone(),
                });
            }
        }
        Ok(out)
    }

    fn add(
        &self,
        iface: &IfName,
        addr: IpAddr,
        prefix: u8,
        attrs: &AddrAttrs,
    ) -> Result<(), AddrError> {
        let mut state = self.lock();
        let call = AddrCall::Add(iface.clone(), addr, prefix, attrs.clone());
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
        // coexist), IPv6 on the address alone. The address already there keeps its
        // attributes.
        let exists = list
            .iter()
            .any(|h| h.addr == addr && (addr.is_ipv6() || h.prefix == prefix));
        if !exists {
            // The lifetimes the kernel is sent (see AddrAttrs::cacheinfo) are the ones it keeps.
            let mut kept = attrs.clone();
            if let Some((preferred, valid)) = attrs.cacheinfo() {
                (kept.preferred_lft, kept.valid_lft) = (Some(preferred), Some(valid));
            }
            list.push(Held {
                addr,
                prefix,
                attrs: kept.normalized(iface, addr),
            });
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
        list.retain(|h| !(h.addr == addr && h.prefix == prefix));
        Ok(())
    }

    fn routes(&self) -> Result<Vec<IfRoute>, AddrError> {
        self.lock()
            .routes
            .clone()
            .ok_or_else(|| AddrError::Unsupported("routes are not available here".into()))
    }
}

#[cfg(test)]
mod tests;
