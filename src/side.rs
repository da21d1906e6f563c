//! Side effects: what a write makes the kernel change besides the value written.
//!
//! Some sysctls are not one value. Writing them makes the kernel rewrite others, drop
//! addresses and routes, or turn offloads off, and none of that is in the write's own
//! read-back. The table below ([`reach`]) says, for each such write, what it can change; it
//! was read from the kernel sources (`net/ipv4/devinet.c`, `net/ipv6/addrconf.c`) and each row
//! has a real-kernel test in a network namespace (`tests/side_effects.rs`).
//!
//! | write | the kernel also changes |
//! |---|---|
//! | `net.ipv4.ip_forward` or `net.ipv4.conf.all.forwarding` (the same value) | the other one, `conf.all.accept_redirects` (to the opposite), `conf.default.forwarding` and every interface's `forwarding`; when enabling, LRO off on every device |
//! | `net.ipv4.conf.default.KEY` | `KEY` of every interface that never had it written itself |
//! | `net.ipv4.conf.IF.forwarding = 1`, `net.ipv6.conf.IF.forwarding = 1` | LRO off on IF |
//! | `net.ipv6.conf.all.forwarding` | `conf.default.forwarding` and every interface's `forwarding`; when enabling, LRO off on every device |
//! | `net.ipv6.conf.all.disable_ipv6` | `conf.default.disable_ipv6` and every interface's; when disabling, every IPv6 address and route |
//! | `net.ipv6.conf.IF.disable_ipv6 = 1` | IF's IPv6 addresses (with flags, scope, lifetimes) and the routes through it |
//! | `net.ipv6.conf.all.ignore_routes_with_linkdown`, `…all.disable_policy` | `conf.default.KEY` and every interface's |
//! | a channel change (`ethtool -L`) | the queues' IRQs and RPS masks (declared by the NIC knobs, re-planned) |
//!
//! A link MTU under 1280 turns IPv6 off on that interface; hosttune sets no link MTU, and
//! `net.ipv6.conf.IF.mtu` refuses values under 1280 (EINVAL), so no hosttune write reaches it.
//!
//! Before the first write of a transaction, the values in reach are recorded ([`capture`]) in
//! the snapshot, so that undo and rollback put them back after the key itself. The wider
//! surface that a write can reach ([`Surface`]: every conf key, address and route of the
//! family for a write to `all`/`default`/`ip_forward`, the interface's for an interface key) is
//! read before and after, so that anything else that changed is reported, never hidden.

use crate::host::NicOpsExt as _;
use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::host::{Host, paths};
use crate::knobs::Setting;
use crate::sysctl::SysctlKey;
use crate::types::IfName;

/// An IP family's conf tree: `net.ipv4.conf` or `net.ipv6.conf`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    fn dir(self) -> &'static str {
        match self {
            Family::V4 => "ipv4",
            Family::V6 => "ipv6",
        }
    }
    fn of(addr: &IpAddr) -> Self {
        if addr.is_ipv4() {
            Family::V4
        } else {
            Family::V6
        }
    }
}

/// One thing a write can change besides itself.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reach {
    /// One other key.
    Key(SysctlKey),
    /// `net.ipvX.conf.IF.NAME` of every interface (not `all`, not `default`).
    EveryIface { family: Family, name: String },
    /// The family's addresses, on one interface or on all.
    Addrs {
        family: Family,
        iface: Option<IfName>,
    },
    /// The family's routes through one interface or through any.
    Routes {
        family: Family,
        iface: Option<IfName>,
    },
    /// LRO of one device or of every device.
    Lro { iface: Option<IfName> },
}

/// The key's family, conf scope (`all`, `default`, an interface) and name, for
/// `net.ipvX.conf.SCOPE.NAME`; `ip_forward` is `conf.all.forwarding` under another name.
fn conf_parts(key: &SysctlKey) -> Option<(Family, &str, &str)> {
    match key.segments() {
        [net, v4, f] if net == "net" && v4 == "ipv4" && f == "ip_forward" => {
            Some((Family::V4, "all", "forwarding"))
        }
        [net, fam, conf, scope, name] if net == "net" && conf == "conf" => {
            let family = match fam.as_str() {
                "ipv4" => Family::V4,
                "ipv6" => Family::V6,
                _ => return None,
            };
            Some((family, scope.as_str(), name.as_str()))
        }
        _ => None,
    }
}

fn conf(family: Family, scope: &str, name: &str) -> SysctlKey {
    SysctlKey::conf(family.dir(), scope, name)
}

/// Whether a sysctl value turns a switch on (anything but 0).
fn on(value: &str) -> bool {
    value.trim().parse::<i64>() != Ok(0)
}

/// What writing `value` to `key` can change besides the key itself: the table above.
pub fn reach(key: &SysctlKey, value: &str) -> Vec<Reach> {
    use Family::{V4, V6};
    let Some((family, scope, name)) = conf_parts(key) else {
        return Vec::new();
    };
    let every = |name: &str| Reach::EveryIface {
        family,
        name: name.into(),
    };
    let iface = || scope.parse::<IfName>().ok();
    let mut out = Vec::new();
    match (family, scope, name) {
        (V4, "all", "forwarding") => {
            let ip_forward = SysctlKey::from_segments(["net", "ipv4", "ip_forward"])
                .expect("ip_forward is a valid key");
            let alias = if key.segments().len() == 3 {
                conf(V4, "all", "forwarding")
            } else {
                ip_forward
            };
            out.push(Reach::Key(alias));
            out.push(Reach::Key(conf(V4, "all", "accept_redirects")));
            out.push(Reach::Key(conf(V4, "default", "forwarding")));
            out.push(every("forwarding"));
            if on(value) {
                out.push(Reach::Lro { iface: None });
            }
        }
        (V4, "default", name) if name != "forwarding" => out.push(every(name)),
        (V6, "all", "forwarding") => {
            out.push(Reach::Key(conf(V6, "default", "forwarding")));
            out.push(every("forwarding"));
            if on(value) {
                out.push(Reach::Lro { iface: None });
            }
        }
        (V6, "all", name @ ("disable_ipv6" | "ignore_routes_with_linkdown" | "disable_policy")) => {
            out.push(Reach::Key(conf(V6, "default", name)));
            out.push(every(name));
            if name == "disable_ipv6" && on(value) {
                out.push(Reach::Addrs {
                    family: V6,
                    iface: None,
                });
                out.push(Reach::Routes {
                    family: V6,
                    iface: None,
                });
            }
        }
        (_, "all" | "default", _) => {}
        (_, _, "forwarding") if on(value) => out.push(Reach::Lro { iface: iface() }),
        (V6, _, "disable_ipv6") if on(value) => {
            out.push(Reach::Addrs {
                family: V6,
                iface: iface(),
            });
            out.push(Reach::Routes {
                family: V6,
                iface: iface(),
            });
        }
        _ => {}
    }
    out
}

/// The reach of every sysctl write among `writes`, without repeats.
pub fn reach_all<'a>(writes: impl IntoIterator<Item = &'a Setting>) -> Vec<Reach> {
    let mut out: Vec<Reach> = Vec::new();
    for w in writes {
        if let Setting::Sysctl { key, value } = w {
            for r in reach(key, value) {
                if !out.contains(&r) {
                    out.push(r);
                }
            }
        }
    }
    out
}

/// The interface directories of a family's conf tree (not `all`, not `default`).
fn conf_ifaces(host: &Host, family: Family) -> Vec<String> {
    let dir = paths::sysctl_dir(&["net".into(), family.dir().into(), "conf".into()]);
    host.fs
        .read_dir(&dir)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|n| n.into_string().ok())
        .filter(|n| n != "all" && n != "default")
        .collect()
}

fn read_sysctl(host: &Host, key: SysctlKey) -> Option<Setting> {
    let value = crate::knobs::sysctl::read(host.fs, &key).ok()?;
    Some(Setting::Sysctl { key, value })
}

fn addr_setting(a: crate::host::IfAddr) -> Setting {
    Setting::Vip {
        iface: a.iface,
        addr: a.addr,
        prefix: a.prefix,
        present: true,
        attrs: a.attrs,
    }
}

/// The live values in reach, as settings to restore: the keys, the addresses and the routes
/// that the kernel would not make again by itself, and LRO where it is on (the kernel only
/// ever turns it off). What cannot be read (an offline tree has no addresses) is left out.
pub fn capture(host: &Host, reach: &[Reach]) -> Vec<Setting> {
    let mut out: Vec<Setting> = Vec::new();
    let addrs = || host.addrs.list().unwrap_or_default();
    let routes = || host.addrs.routes().unwrap_or_default();
    let wanted = |i: &Option<IfName>, have: &IfName| i.as_ref().is_none_or(|i| i == have);
    for r in reach {
        match r {
            Reach::Key(k) => out.extend(read_sysctl(host, k.clone())),
            Reach::EveryIface { family, name } => {
                for dir in conf_ifaces(host, *family) {
                    out.extend(read_sysctl(host, conf(*family, &dir, name)));
                }
            }
            Reach::Addrs { family, iface } => out.extend(
                addrs()
                    .into_iter()
                    .filter(|a| Family::of(&a.addr) == *family && wanted(iface, &a.iface))
                    .map(addr_setting),
            ),
            Reach::Routes { family, iface } => out.extend(
                routes()
                    .into_iter()
                    .filter(|r| Family::of(&r.dst) == *family && wanted(iface, &r.iface))
                    .filter(|r| !r.kernel_made())
                    .map(|route| Setting::Route {
                        route,
                        present: true,
                    }),
            ),
            Reach::Lro { iface } => {
                let devices: Vec<IfName> = match iface {
                    Some(i) => vec![i.clone()],
                    None => host
                        .fs
                        .read_dir(&paths::net_class())
                        .unwrap_or_default()
                        .into_iter()
                        .filter_map(|n| n.to_str()?.parse().ok())
                        .collect(),
                };
                for d in devices {
                    if host.nic.lro(&d).unwrap_or(false) {
                        out.push(Setting::Lro { iface: d, on: true });
                    }
                }
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|s| seen.insert(s.address()));
    out
}

/// The order side values are put back in: keys first (an address needs `disable_ipv6 = 0`),
/// then addresses (a route needs its gateway's subnet), then routes, then LRO (off while
/// forwarding is on).
pub fn restore_rank(s: &Setting) -> u8 {
    match s {
        Setting::Sysctl { .. } => 0,
        Setting::Vip { .. } => 1,
        Setting::Route { .. } => 2,
        Setting::Lro { .. } => 3,
        _ => 4,
    }
}

/// A scope of the wider surface: a family's conf keys, addresses and routes, of one interface
/// or of all (with `all` and `default`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Scope {
    pub family: Family,
    pub iface: Option<String>,
    /// Whether routes are compared too: only `disable_ipv6` drops routes, and a routing
    /// table can be large (a full BGP table on a balancer), so it is dumped only then.
    pub routes: bool,
}

/// The scopes that the sysctl writes among `writes` can reach: a write to `all`, `default`
/// or `ip_forward` reaches the whole family, an interface's key that interface.
pub fn scopes<'a>(writes: impl IntoIterator<Item = &'a Setting>) -> Vec<Scope> {
    let mut out: Vec<Scope> = Vec::new();
    for w in writes {
        let Setting::Sysctl { key, .. } = w else {
            continue;
        };
        let Some((family, scope, name)) = conf_parts(key) else {
            continue;
        };
        let iface = (scope != "all" && scope != "default").then(|| scope.to_string());
        let routes = name == "disable_ipv6";
        match out
            .iter_mut()
            .find(|s| s.family == family && s.iface == iface)
        {
            Some(s) => s.routes |= routes,
            None => out.push(Scope {
                family,
                iface,
                routes,
            }),
        }
    }
    // A whole family covers its interfaces, and their routes.
    for f in [Family::V4, Family::V6] {
        let routes = out.iter().any(|s| s.family == f && s.routes);
        if let Some(whole) = out.iter_mut().find(|s| s.family == f && s.iface.is_none()) {
            whole.routes = routes;
            out.retain(|s| s.family != f || s.iface.is_none());
        }
    }
    out
}

/// What the surface in some scopes reads: every conf key, address and route, by the address
/// its setting has (`sysctl net.ipv4.conf.eth0.forwarding`, `vip 2001:db8::1/64 on eth0`,
/// `route …`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Surface {
    values: BTreeMap<String, Setting>,
}

/// One difference of two readings of the surface.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    /// The address (`sysctl net.ipv4.conf.eth0.forwarding`).
    pub address: String,
    /// What it was; `None`: it did not exist.
    pub before: Option<Setting>,
    /// What it is; `None`: it is gone.
    pub after: Option<Setting>,
}

impl Difference {
    /// Whether it belongs to interface `iface`: one of its `net.ipv*.conf.IFACE.*` keys, or a
    /// route or address on it (they come and go with a device created or deleted).
    pub fn concerns(&self, iface: &crate::types::IfName) -> bool {
        [&self.before, &self.after].into_iter().flatten().any(|s| match s {
            Setting::Sysctl { key, .. } => {
                let seg = key.segments();
                seg.len() == 5 && seg[2] == "conf" && seg[3] == iface.as_str()
            }
            Setting::Route { route, .. } => route.iface == *iface,
            Setting::Vip { iface: i, .. } => i == iface,
            _ => false,
        })
    }

    /// `net.ipv4.conf.eth0.forwarding: 0 → 1`, `2001:db8::1/64 on eth0: present → absent`.
    pub fn describe(&self) -> String {
        let shown = |s: &Option<Setting>| {
            s.as_ref()
                .map_or("absent".to_string(), |s| crate::knobs::describe(s).2)
        };
        let object = self
            .before
            .as_ref()
            .or(self.after.as_ref())
            .map(|s| {
                let (kind, object, _) = crate::knobs::describe(s);
                format!("{kind} {object}")
            })
            .unwrap_or_else(|| self.address.clone());
        format!(
            "{object}: {} -> {}",
            shown(&self.before).trim(),
            shown(&self.after).trim()
        )
    }
}

impl Surface {
    /// Reads the surface of `scopes`; nothing when there are none (the cheap, usual case).
    pub fn read(host: &Host, scopes: &[Scope]) -> Self {
        let mut values = BTreeMap::new();
        if scopes.is_empty() {
            return Self { values };
        }
        let mut put = |s: Setting| {
            values.insert(s.address(), s);
        };
        let addrs = host.addrs.list().unwrap_or_default();
        let routes = if scopes.iter().any(|s| s.routes) {
            host.addrs.routes().unwrap_or_default()
        } else {
            Vec::new()
        };
        for sc in scopes {
            let dirs: Vec<String> = match &sc.iface {
                Some(i) => vec![i.clone()],
                None => {
                    let mut d = vec!["all".to_string(), "default".to_string()];
                    d.extend(conf_ifaces(host, sc.family));
                    d
                }
            };
            for dir in &dirs {
                let path = paths::sysctl_dir(&[
                    "net".into(),
                    sc.family.dir().into(),
                    "conf".into(),
                    dir.clone(),
                ]);
                let names = host.fs.read_dir(&path).unwrap_or_default();
                for name in names.iter().filter_map(|n| n.to_str()) {
                    // stable_secret reads EIO until set: unreadable keys are left out.
                    if let Some(s) = read_sysctl(host, conf(sc.family, dir, name)) {
                        put(s);
                    }
                }
            }
            if sc.family == Family::V4 && sc.iface.is_none() {
                let k = SysctlKey::from_segments(["net", "ipv4", "ip_forward"])
                    .expect("ip_forward is a valid key");
                put_opt(&mut put, read_sysctl(host, k));
            }
            let in_scope = |iface: &IfName| sc.iface.as_deref().is_none_or(|i| i == iface.as_str());
            for a in addrs.iter().filter(|a| Family::of(&a.addr) == sc.family) {
                if in_scope(&a.iface) {
                    put(addr_setting(a.clone()));
                }
            }
            let routes = routes.iter().filter(|_| sc.routes);
            for r in routes.filter(|r| Family::of(&r.dst) == sc.family) {
                if in_scope(&r.iface) && r.table != crate::host::IfRoute::TABLE_LOCAL {
                    put(Setting::Route {
                        route: r.clone(),
                        present: true,
                    });
                }
            }
        }
        Self { values }
    }

    /// Whether nothing was read.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// What differs from `before` to `self` (values compared as the kernel compares them).
    pub fn since(&self, before: &Surface) -> Vec<Difference> {
        let mut out = Vec::new();
        for (k, b) in &before.values {
            match self.values.get(k) {
                Some(a) if a.same_value(b) => {}
                a => out.push(Difference {
                    address: k.clone(),
                    before: Some(b.clone()),
                    after: a.cloned(),
                }),
            }
        }
        for (k, a) in &self.values {
            if !before.values.contains_key(k) {
                out.push(Difference {
                    address: k.clone(),
                    before: None,
                    after: Some(a.clone()),
                });
            }
        }
        out
    }
}

fn put_opt(put: &mut impl FnMut(Setting), s: Option<Setting>) {
    if let Some(s) = s {
        put(s);
    }
}

/// What a planned write will also change, in words for the plan's report, from the values
/// in reach now: `also sets forwarding on 3 interfaces (eth0, eth1, lo) and accept_redirects
/// (all) to 0; turns LRO off on eth2`, `drops 2001:db8::1/64 on bw1 and 1 route`. `None` when
/// nothing else changes.
pub fn predict(host: &Host, key: &SysctlKey, value: &str) -> Option<String> {
    let reach = reach(key, value);
    if reach.is_empty() {
        return None;
    }
    let now = capture(host, &reach);
    let (family, _, name) = conf_parts(key)?;
    let v = value.trim();
    let mut sets: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let (mut dropped, mut routes, mut lro) = (Vec::new(), 0usize, Vec::new());
    for s in &now {
        match s {
            Setting::Sysctl { key: k, value: old } => {
                let Some((_, scope, n)) = conf_parts(k) else {
                    continue;
                };
                if k == key || (n == name && scope == "all" && k.segments().len() == 3) {
                    continue;
                }
                // accept_redirects (all) goes to the opposite of forwarding.
                let new = if n == "accept_redirects" {
                    if on(v) { "0" } else { "1" }
                } else {
                    v
                };
                if old.trim() != new {
                    sets.entry(format!("{n} to {new}"))
                        .or_default()
                        .push(scope.to_string());
                }
            }
            Setting::Vip {
                iface,
                addr,
                prefix,
                ..
            } if family == Family::V6 => dropped.push(format!("{addr}/{prefix} on {iface}")),
            Setting::Route { .. } => routes += 1,
            Setting::Lro { iface, .. } => lro.push(iface.to_string()),
            _ => {}
        }
    }
    let list = |v: &[String]| {
        let mut s = v.iter().take(3).cloned().collect::<Vec<_>>().join(", ");
        if v.len() > 3 {
            s.push_str(&format!(", … {} more", v.len() - 3));
        }
        s
    };
    let mut parts = Vec::new();
    for (what, scopes) in &sets {
        let n = scopes.len();
        parts.push(format!(
            "sets {what} on {n} more scope{} ({})",
            if n == 1 { "" } else { "s" },
            list(scopes)
        ));
    }
    // Global addresses first: link-local ones come back by themselves.
    dropped.sort_by_key(|d| d.starts_with("fe80:") || d.starts_with("::1/"));
    if !dropped.is_empty() {
        parts.push(format!("drops {}", list(&dropped)));
    }
    if routes > 0 {
        parts.push(format!(
            "drops {routes} static route{}",
            if routes == 1 { "" } else { "s" }
        ));
    }
    if !lro.is_empty() {
        parts.push(format!("turns LRO off on {}", list(&lro)));
    }
    (!parts.is_empty()).then(|| {
        format!(
            "kernel side effects, recorded for undo and rollback: {}",
            parts.join("; ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> SysctlKey {
        s.parse().unwrap()
    }

    #[test]
    fn the_table() {
        use Family::{V4, V6};
        let every = |f, n: &str| Reach::EveryIface {
            family: f,
            name: n.into(),
        };
        let k = |s: &str| Reach::Key(key(s));
        let eth0 = || Some("eth0".parse::<IfName>().unwrap());
        let rows: Vec<(&str, &str, Vec<Reach>)> = vec![
            (
                "net.ipv4.ip_forward",
                "1",
                vec![
                    k("net.ipv4.conf.all.forwarding"),
                    k("net.ipv4.conf.all.accept_redirects"),
                    k("net.ipv4.conf.default.forwarding"),
                    every(V4, "forwarding"),
                    Reach::Lro { iface: None },
                ],
            ),
            (
                "net.ipv4.conf.all.forwarding",
                "0",
                vec![
                    k("net.ipv4.ip_forward"),
                    k("net.ipv4.conf.all.accept_redirects"),
                    k("net.ipv4.conf.default.forwarding"),
                    every(V4, "forwarding"),
                ],
            ),
            (
                "net.ipv4.conf.default.arp_ignore",
                "1",
                vec![every(V4, "arp_ignore")],
            ),
            ("net.ipv4.conf.default.forwarding", "1", vec![]),
            ("net.ipv4.conf.all.arp_ignore", "1", vec![]),
            (
                "net.ipv4.conf.eth0.forwarding",
                "1",
                vec![Reach::Lro { iface: eth0() }],
            ),
            ("net.ipv4.conf.eth0.forwarding", "0", vec![]),
            ("net.ipv4.conf.eth0.rp_filter", "2", vec![]),
            (
                "net.ipv6.conf.all.forwarding",
                "1",
                vec![
                    k("net.ipv6.conf.default.forwarding"),
                    every(V6, "forwarding"),
                    Reach::Lro { iface: None },
                ],
            ),
            (
                "net.ipv6.conf.all.disable_ipv6",
                "1",
                vec![
                    k("net.ipv6.conf.default.disable_ipv6"),
                    every(V6, "disable_ipv6"),
                    Reach::Addrs {
                        family: V6,
                        iface: None,
                    },
                    Reach::Routes {
                        family: V6,
                        iface: None,
                    },
                ],
            ),
            (
                "net.ipv6.conf.all.disable_ipv6",
                "0",
                vec![
                    k("net.ipv6.conf.default.disable_ipv6"),
                    every(V6, "disable_ipv6"),
                ],
            ),
            ("net.ipv6.conf.default.disable_ipv6", "1", vec![]),
            (
                "net.ipv6.conf.eth0.disable_ipv6",
                "1",
                vec![
                    Reach::Addrs {
                        family: V6,
                        iface: eth0(),
                    },
                    Reach::Routes {
                        family: V6,
                        iface: eth0(),
                    },
                ],
            ),
            ("net.ipv6.conf.eth0.disable_ipv6", "0", vec![]),
            (
                "net.ipv6.conf.eth0.forwarding",
                "1",
                vec![Reach::Lro { iface: eth0() }],
            ),
            ("net.core.somaxconn", "4096", vec![]),
            ("net.ipv4.tcp_fin_timeout", "30", vec![]),
        ];
        for (k, v, want) in rows {
            assert_eq!(reach(&key(k), v), want, "{k} = {v}");
        }
    }

    #[test]
    fn scopes_of_writes() {
        let w = |k: &str| Setting::Sysctl {
            key: key(k),
            value: "1".into(),
        };
        let s = scopes(&[
            w("net.ipv4.conf.eth0.rp_filter"),
            w("net.core.somaxconn"),
            w("net.ipv6.conf.eth1.disable_ipv6"),
        ]);
        assert_eq!(
            s,
            vec![
                Scope {
                    family: Family::V4,
                    iface: Some("eth0".into()),
                    routes: false,
                },
                Scope {
                    family: Family::V6,
                    iface: Some("eth1".into()),
                    routes: true,
                }
            ]
        );
        let s = scopes(&[w("net.ipv4.conf.eth0.rp_filter"), w("net.ipv4.ip_forward")]);
        assert_eq!(
            s,
            vec![Scope {
                family: Family::V4,
                iface: None,
                routes: false,
            }]
        );
    }
}
