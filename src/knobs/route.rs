//! A route through an interface, present or not: recorded only as a side effect. Writing
//! `disable_ipv6 = 1` makes the kernel drop every IPv6 address of the interface and every
//! route through it; putting `disable_ipv6` back brings the link-local address and the
//! kernel's own prefix routes back, but not a static route (`ip -6 route add default via …`),
//! which hosttune records before the write and adds again after it.

use crate::host::{Host, IfRoute};
use crate::knobs::{Kind, KnobError, Setting};

/// [`Setting::Route`]'s operations.
pub struct RouteOps;

fn parts(s: &Setting) -> (&IfRoute, bool) {
    let Setting::Route { route, present } = s else {
        unreachable!("route of {s:?}")
    };
    (route, *present)
}

impl crate::knobs::SettingOps for RouteOps {
    fn address(s: &Setting) -> String {
        format!("route {}", parts(s).0)
    }
    fn describe(s: &Setting) -> (Kind, String, String) {
        let (r, present) = parts(s);
        let shown = if present { "present" } else { "absent" };
        (Kind::Route, r.to_string(), shown.into())
    }
    fn validate(s: &Setting) -> Result<(), String> {
        let (r, _) = parts(s);
        crate::knobs::setting::check_iface(&r.iface)?;
        let max = if r.dst.is_ipv4() { 32 } else { 128 };
        if r.prefix > max {
            return Err(format!("route {r}: a prefix length above {max} bits"));
        }
        if r.gateway.is_some_and(|g| g.is_ipv4() != r.dst.is_ipv4()) {
            return Err(format!("route {r}: a gateway of the other family"));
        }
        Ok(())
    }
    /// Equivalent to `ip -6 route show table all dev IFACE`: whether this very route is there
    /// (same destination, gateway, table and metric).
    fn read(host: &Host, at: &Setting) -> Result<Setting, KnobError> {
        let (want, _) = parts(at);
        let present = host.addrs.routes()?.iter().any(|r| same_route(r, want));
        Ok(Setting::Route {
            route: want.clone(),
            present,
        })
    }
    /// Equivalent to `ip -6 route add|del …`.
    fn write(host: &Host, s: &Setting) -> Result<(), KnobError> {
        let (r, present) = parts(s);
        if present {
            host.addrs.add_route(r)?;
        } else {
            host.addrs.del_route(r)?;
        }
        Ok(())
    }
}

/// The same route as far as the kernel tells routes apart: destination, gateway, interface,
/// table and metric (the protocol and scope are what it is added with).
pub fn same_route(a: &IfRoute, b: &IfRoute) -> bool {
    (a.iface == b.iface)
        && (a.dst, a.prefix, a.gateway, a.table, a.metric)
            == (b.dst, b.prefix, b.gateway, b.table, b.metric)
}
