//! An in-memory [`LinkOps`] with the kernel's answers: a kind whose module is not available
//! is `Unsupported` naming the module; loading `ipip` or `ip6_tunnel` (by the first create of
//! that kind) makes the fallback `tunl0` or `ip6tnl0`, down, as the kernel does in every
//! namespace; a second external tunnel of one kind, or a name taken, is EEXIST; an MTU out
//! of range is EINVAL; deleting a device already gone succeeds. FOU ports: a port open twice
//! in one family is EADDRINUSE (the kernel binds a UDP socket, v6-only for IPv6), deleting
//! one that is not open EINVAL. Every call is logged, and the next call of one kind can be
//! made to fail once.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use nix::errno::Errno;

use crate::host::linkops::modules::ModuleState;
use crate::host::linkops::{check_spec, fou_object, spec_object};
use crate::host::{
    FouPort, LinkChange, LinkError, LinkInfo, LinkKind, LinkOps, LinkSpec, TunnelInfo,
};
use crate::types::IfName;

/// The kind of a link call, to aim an injected failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkOp {
    List,
    Create,
    Delete,
    Set,
    FouList,
    FouAdd,
    FouDel,
}

/// One call made on a [`FakeLinks`], in order, failed ones included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkCall {
    List,
    Create(LinkSpec),
    Delete(IfName),
    Set(IfName, LinkChange),
    FouList,
    FouAdd(FouPort),
    FouDel(FouPort),
}

impl LinkCall {
    fn op(&self) -> LinkOp {
        match self {
            Self::List => LinkOp::List,
            Self::Create(_) => LinkOp::Create,
            Self::Delete(_) => LinkOp::Delete,
            Self::Set(..) => LinkOp::Set,
            Self::FouList => LinkOp::FouList,
            Self::FouAdd(_) => LinkOp::FouAdd,
            Self::FouDel(_) => LinkOp::FouDel,
        }
    }
}

#[derive(Debug)]
struct State {
    links: BTreeMap<IfName, LinkInfo>,
    next_index: u32,
    fou: Vec<FouPort>,
    /// Modules that can be loaded, and those that are.
    available: BTreeSet<String>,
    loaded: BTreeSet<String>,
    calls: Vec<LinkCall>,
    fail_next: Option<(LinkOp, Errno)>,
}

/// Devices and FOU ports of one namespace, in memory.
#[derive(Debug)]
pub struct FakeLinks {
    state: Mutex<State>,
}

/// Every module the seam may ask for: a fleet kernel's.
const MODULES: &[&str] = &["ipip", "ip6_tunnel", "dummy", "veth", "fou"];

fn name(s: &str) -> IfName {
    s.parse()
        .unwrap_or_else(|e| panic!("fake interface {s:?}: {e}"))
}

impl Default for FakeLinks {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeLinks {
    /// `lo`, up, and every module available, none loaded yet.
    pub fn new() -> Self {
        let s = Self {
            state: Mutex::new(State {
                links: BTreeMap::new(),
                next_index: 1,
                fou: Vec::new(),
                available: MODULES.iter().map(|m| m.to_string()).collect(),
                loaded: BTreeSet::new(),
                calls: Vec::new(),
                fail_next: None,
            }),
        };
        s.lock().add("lo", None, 65536, true, None);
        s
    }

    /// A kernel without `module` (this machine has no ipip, fou or dummy).
    pub fn without_module(self, module: &str) -> Self {
        self.lock().available.remove(module);
        self
    }

    /// Adds device `iface` of `kind` (`None`: a physical NIC), down, MTU 1500.
    pub fn with_link(self, iface: &str, kind: Option<LinkKind>) -> Self {
        self.lock().add(iface, kind, 1500, false, None);
        self
    }

    /// The next call of kind `op` fails once with `errno`, as the kernel would refuse it.
    pub fn fail_next(&self, op: LinkOp, errno: Errno) {
        self.lock().fail_next = Some((op, errno));
    }

    /// Every call so far, oldest first.
    pub fn calls(&self) -> Vec<LinkCall> {
        self.lock().calls.clone()
    }

    /// Device `iface` as `list` would show it.
    pub fn link(&self, iface: &str) -> Option<LinkInfo> {
        self.lock().links.get(&name(iface)).cloned()
    }

    /// The modules loaded so far.
    pub fn loaded(&self) -> Vec<String> {
        self.lock().loaded.iter().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl State {
    fn add(
        &mut self,
        iface: &str,
        kind: Option<LinkKind>,
        mtu: u32,
        up: bool,
        t: Option<TunnelInfo>,
    ) {
        let index = self.next_index;
        self.next_index += 1;
        let link = LinkInfo {
            name: name(iface),
            index,
            kind,
            up,
            mtu,
            tunnel: t,
        };
        self.links.insert(link.name.clone(), link);
    }

    /// Logs `call` and returns the injected failure aimed at it, if any.
    fn record(&mut self, call: LinkCall) -> Option<Errno> {
        let op = call.op();
        self.calls.push(call);
        match self.fail_next {
            Some((target, errno)) if target == op => {
                self.fail_next = None;
                Some(errno)
            }
            _ => None,
        }
    }

    /// Loads `module` as the kernel's request_module would, or says it cannot.
    fn load(&mut self, module: &str, op: &'static str, object: &str) -> Result<(), LinkError> {
        if !self.available.contains(module) {
            return Err(LinkError::Unsupported {
                op,
                object: object.to_string(),
                module: module.to_string(),
            });
        }
        if self.loaded.insert(module.to_string()) {
            let tunnel = Some(TunnelInfo::default());
            match module {
                "ipip" => self.add("tunl0", Some(LinkKind::Ipip), 1480, false, tunnel),
                "ip6_tunnel" => self.add("ip6tnl0", Some(LinkKind::Ip6tnl), 1452, false, tunnel),
                _ => {}
            }
        }
        Ok(())
    }
}

fn os(op: &'static str, object: String, errno: Errno) -> LinkError {
    LinkError::Os { op, object, errno }
}

impl LinkOps for FakeLinks {
    fn list(&self) -> Result<Vec<LinkInfo>, LinkError> {
        let mut s = self.lock();
        if let Some(errno) = s.record(LinkCall::List) {
            return Err(os("list", "links".into(), errno));
        }
        let mut out: Vec<LinkInfo> = s.links.values().cloned().collect();
        out.sort_by_key(|l| l.index);
        Ok(out)
    }

    fn create(&self, spec: &LinkSpec) -> Result<(), LinkError> {
        let mut s = self.lock();
        let object = spec_object(spec);
        if let Some(errno) = s.record(LinkCall::Create(spec.clone())) {
            return Err(os("create", object, errno));
        }
        // The same refusal as the real seam, before anything is sent.
        check_spec(spec)?;
        s.load(spec.kind.module(), "create", &object)?;
        // One external device per kind and namespace (ip_tunnel_newlink: EEXIST).
        let second_external = spec.external
            && s.links.values().any(|l| {
                l.kind == Some(spec.kind.clone()) && l.tunnel.as_ref().is_some_and(|t| t.external)
            });
        if s.links.contains_key(&spec.name) || second_external {
            return Err(os("create", object, Errno::EEXIST));
        }
        let (default_mtu, tunnel) = match spec.kind {
            LinkKind::Ipip => (1480, Some(spec.external)),
            LinkKind::Ip6tnl => (1452, Some(spec.external)),
            _ => (1500, None),
        };
        let tunnel = tunnel.map(|external| TunnelInfo {
            external,
            ..TunnelInfo::default()
        });
        let mtu = spec.mtu.unwrap_or(default_mtu);
        let kind = Some(spec.kind.clone());
        s.add(spec.name.as_str(), kind, mtu, false, tunnel);
        Ok(())
    }

    fn delete(&self, iface: &IfName) -> Result<(), LinkError> {
        let mut s = self.lock();
        if let Some(errno) = s.record(LinkCall::Delete(iface.clone())) {
            return Err(os("delete", format!("link {iface}"), errno));
        }
        s.links.remove(iface);
        Ok(())
    }

    fn set(&self, iface: &IfName, change: &LinkChange) -> Result<(), LinkError> {
        let mut s = self.lock();
        if let Some(errno) = s.record(LinkCall::Set(iface.clone(), change.clone())) {
            return Err(os("set", format!("link {iface}"), errno));
        }
        let Some(link) = s.links.get_mut(iface) else {
            return Err(LinkError::NoSuchLink {
                op: "set",
                name: iface.clone(),
            });
        };
        if let Some(mtu) = change.mtu {
            if !(68..=65535).contains(&mtu) {
                return Err(os("set", format!("link {iface}"), Errno::EINVAL));
            }
            link.mtu = mtu;
        }
        if let Some(up) = change.up {
            link.up = up;
        }
        Ok(())
    }

    fn fou_list(&self) -> Result<Vec<FouPort>, LinkError> {
        let mut s = self.lock();
        if let Some(errno) = s.record(LinkCall::FouList) {
            return Err(os("list", "fou ports".into(), errno));
        }
        s.load("fou", "list", "fou ports")?;
        Ok(s.fou.clone())
    }

    fn fou_add(&self, p: &FouPort) -> Result<(), LinkError> {
        let mut s = self.lock();
        let object = fou_object(p);
        if let Some(errno) = s.record(LinkCall::FouAdd(*p)) {
            return Err(os("add", object, errno));
        }
        s.load("fou", "add", &object)?;
        if s.fou
            .iter()
            .any(|q| q.port == p.port && q.family == p.family)
        {
            return Err(os("add", object, Errno::EADDRINUSE));
        }
        s.fou.push(*p);
        Ok(())
    }

    fn fou_del(&self, p: &FouPort) -> Result<(), LinkError> {
        let mut s = self.lock();
        let object = fou_object(p);
        if let Some(errno) = s.record(LinkCall::FouDel(*p)) {
            return Err(os("del", object, errno));
        }
        s.load("fou", "del", &object)?;
        let before = s.fou.len();
        s.fou
            .retain(|q| !(q.port == p.port && q.family == p.family));
        if s.fou.len() == before {
            return Err(os("del", object, Errno::EINVAL));
        }
        Ok(())
    }

    fn load(&self, module: &str) -> Result<(), LinkError> {
        self.lock()
            .load(module, "load", &format!("module {module}"))
    }

    fn module(&self, module: &str) -> Result<ModuleState, LinkError> {
        let s = self.lock();
        Ok(if s.loaded.contains(module) {
            ModuleState::Loaded
        } else if s.available.contains(module) {
            ModuleState::Available
        } else {
            ModuleState::Missing {
                release: "6.1.0-fake".into(),
            }
        })
    }
}

#[cfg(test)]
mod tests;
