//! The real server's side of L3 DSR: the decapsulation device up, the GUE port open, and an
//! effective reverse-path filter that lets decapsulated packets through. Each is compared
//! here (pure) and written by its `SettingOps`.
//!
//! Modules are loaded the way the kernel loads them on use: creating an ipip device asks for
//! `rtnl-link-ipip`, a FOU request for the `fou` generic netlink family. A plan never asks
//! the kernel (that would load the module); it reads `/sys/module` and the kernel's module
//! lists instead, and a module the kernel cannot load is a plan-time error naming it.
//! hosttune never unloads a module, so a fallback device (`tunl0`) that appeared with its
//! module stays after a rollback, down as the module made it.

use std::io;

use nix::errno::Errno;

use super::encap::Decap;
use crate::host::linkops::modules::ModuleState;
use crate::host::{FouPort, Host, LinkChange, LinkError, LinkInfo, LinkKind, LinkSpec};
use crate::knobs::sysctl::{self, SysctlEntry};
use crate::knobs::values::TunnelState;
use crate::knobs::{Entry, Item, Kind, KnobError, Setting, SettingOps, Status};
use crate::sysctl::{SysctlKey, normalize};
use crate::types::IfName;

/// Plans the device, the GUE port and the reverse-path filter, in that (apply) order.
/// `uplinks` is the interface list the ARP items were planned on.
pub fn plan(
    d: &Decap,
    profile_sysctl: &[SysctlEntry],
    host: &Host,
    uplinks: &io::Result<Vec<IfName>>,
) -> Vec<Entry> {
    let links = host.links.list();
    let exists = links
        .as_ref()
        .is_ok_and(|l| l.iter().any(|l| l.name == d.iface));
    // A device that is there has its module; only an absent one needs the module's state.
    let module = if exists {
        Ok(ModuleState::Loaded)
    } else {
        host.links.module(d.link.module())
    };
    let mut out = vec![tunnel_item(d, &links, &module)];
    if let Some(port) = &d.fou {
        let fou_mod = host.links.module("fou");
        let ports = match &fou_mod {
            // Listing ports of a module that is not loaded would load it.
            Ok(ModuleState::Loaded) => host.links.fou_list(),
            _ => Ok(Vec::new()),
        };
        out.push(fou_item(port, &ports, &fou_mod));
    }
    if let Some(want) = d.rp_filter {
        out.extend(rp_filter_plan(
            d,
            want,
            profile_sysctl,
            host,
            exists,
            uplinks,
        ));
    }
    out
}

/// Why a module cannot be loaded, or a note on how it will be: `Err` is a plan-time error.
fn module_note(module: &str, state: &Result<ModuleState, LinkError>) -> Result<String, String> {
    match state {
        Ok(ModuleState::Loaded) => Ok(String::new()),
        Ok(ModuleState::Available) => Ok(format!(
            "module {module} is not loaded: it is loaded on apply, as the kernel loads it on \
             first use"
        )),
        Ok(ModuleState::Unknown { why }) => Ok(format!(
            "cannot tell whether module {module} can be loaded ({why}): the kernel loads it on \
             apply if it can"
        )),
        Ok(ModuleState::Missing { release }) => Err(format!(
            "module {module} is not available for kernel {release} (not loaded, not in \
             /lib/modules/{release}): install the kernel's module package (Debian: \
             linux-image-{release}) or set encap = \"none\""
        )),
        Err(e) => Err(e.to_string()),
    }
}

fn tunnel_setting(d: &Decap, state: TunnelState) -> Setting {
    Setting::Tunnel {
        iface: d.iface.clone(),
        link: d.link.clone(),
        external: d.external,
        state,
    }
}

/// Whether a live device is the one a setting describes (its kind and mode).
fn is_recorded(l: &LinkInfo, link: &LinkKind, external: bool) -> bool {
    l.kind.as_ref() == Some(link) && l.tunnel.as_ref().is_some_and(|t| t.external == external)
}

fn describe_live(l: &LinkInfo) -> String {
    let kind = l
        .kind
        .as_ref()
        .map_or("a device without a kind", |k| k.as_str());
    match &l.tunnel {
        Some(t) if t.external => format!("{kind} external"),
        Some(_) => format!("{kind} (not external)"),
        None => kind.to_string(),
    }
}

/// The decapsulation device (pure): up, created or left alone when it is another device.
pub fn tunnel_item(
    d: &Decap,
    links: &Result<Vec<LinkInfo>, LinkError>,
    module: &Result<ModuleState, LinkError>,
) -> Entry {
    let item = |live: &str, status| Item::new(Kind::Tunnel, d.object(), "up", live, status);
    let links = match links {
        Ok(l) => l,
        Err(e) => {
            let status = if e.is_unsupported() {
                Status::Unsupported
            } else {
                Status::Error
            };
            return Entry::new(item("-", status).note(e.to_string()), None, None);
        }
    };
    let want = tunnel_setting(d, TunnelState::Up);
    match links.iter().find(|l| l.name == d.iface) {
        Some(l) if !is_recorded(l, &d.link, d.external) => {
            let mode = if d.external { " external" } else { "" };
            let note = format!(
                "{} is {}, not {}{mode}: hosttune does not reconfigure a device it did not \
                 create; delete it or name another decap_device",
                d.iface,
                describe_live(l),
                d.link
            );
            Entry::new(
                item(&describe_live(l), Status::Error).note(note),
                None,
                None,
            )
        }
        Some(l) => {
            let state = if l.up {
                TunnelState::Up
            } else {
                TunnelState::Down
            };
            let live = tunnel_setting(d, state);
            let e = Entry::new(item(&state.to_string(), Status::of(l.up)), None, None);
            Entry {
                desired: (!l.up).then_some(want),
                live: Some(live),
                ..e
            }
        }
        None => match module_note(d.link.module(), module) {
            Err(why) => Entry::new(item("absent", Status::Error).note(why), None, None),
            Ok(note) => {
                let mut note = note;
                if !d.external && module.as_ref().is_ok_and(|m| *m == ModuleState::Loaded) {
                    note = format!(
                        "module {} is loaded but this network namespace has no {} \
                         (net.core.fb_tunnels_only_for_init_net): hosttune creates it",
                        d.link.module(),
                        d.iface
                    );
                }
                let mut it = item("absent", Status::Drift);
                if !note.is_empty() {
                    it = it.note(note);
                }
                Entry::new(it, Some(want), Some(tunnel_setting(d, TunnelState::Absent)))
            }
        },
    }
}

fn fou_setting(port: &FouPort, present: bool) -> Setting {
    Setting::Fou {
        port: *port,
        present,
    }
}

/// The GUE receive port (pure): opened, or left alone when the port is open otherwise.
pub fn fou_item(
    port: &FouPort,
    ports: &Result<Vec<FouPort>, LinkError>,
    module: &Result<ModuleState, LinkError>,
) -> Entry {
    let item = |live: &str, status| Item::new(Kind::Fou, port.to_string(), "open", live, status);
    if let Err(why) = module_note("fou", module) {
        let status = match module {
            Err(e) if e.is_unsupported() => Status::Unsupported,
            _ => Status::Error,
        };
        return Entry::new(item("-", status).note(why), None, None);
    }
    let ports = match ports {
        Ok(p) => p,
        Err(e) => return Entry::new(item("-", Status::Error).note(e.to_string()), None, None),
    };
    match ports
        .iter()
        .find(|p| p.port == port.port && p.family == port.family)
    {
        Some(p) if p == port => Entry::new(
            item("open", Status::Ok),
            None,
            Some(fou_setting(port, true)),
        ),
        Some(p) => Entry::new(
            item(&p.to_string(), Status::Error).note(format!(
                "UDP port {} is open as FOU `{p}`: hosttune does not replace a port it did not \
                 open; close it (ip fou del port {}) or choose another gue_port",
                p.port, p.port
            )),
            None,
            None,
        ),
        None => {
            let note = module_note("fou", module).unwrap_or_default();
            let mut it = item("closed", Status::Drift);
            if !note.is_empty() {
                it = it.note(note);
            }
            Entry::new(
                it,
                Some(fou_setting(port, true)),
                Some(fou_setting(port, false)),
            )
        }
    }
}

/// A sysctl value as a small number.
fn number(raw: &str) -> Option<u8> {
    normalize(raw).parse().ok()
}

fn rp_key(iface: &str) -> SysctlKey {
    SysctlKey::conf("ipv4", iface, "rp_filter")
}

/// Whether the kernel delivers a decapsulated packet that arrived on a device, given
/// conf/all and the device's own `rp_filter`, when the client's address is routed through
/// another interface (the uplink), as it always is for DSR. The kernel takes max(all, dev)
/// (`IN_DEV_RPFILTER`); 1 (strict) drops; 2 (loose) passes only if the device has an IPv4
/// address: `__fib_validate_source` in net/ipv4/fib_frontend.c sends a device without one to
/// `last_resort`, which drops whenever rp_filter is on. Checked against the kernel by a
/// namespace test.
pub fn rp_filter_passes(all: u8, dev: u8, dev_has_ipv4: bool) -> bool {
    match all.max(dev) {
        0 => true,
        1 => false,
        _ => dev_has_ipv4,
    }
}

/// conf/all's `rp_filter` as the plan judges it: the profile's `[sysctl]` value when it sets
/// one (it applies first), the live one otherwise.
#[derive(Debug, Clone, Copy)]
struct All {
    value: u8,
    from_profile: bool,
}

/// The values the reverse-path items are judged on, read once.
struct RpLive {
    all: Result<All, String>,
    /// conf/default.
    default: Result<String, String>,
    /// Every other interface with IPv4 configuration (`lo` included), with its own value.
    others: Vec<(IfName, Result<String, String>)>,
    /// The device's own value (conf/default's when it is made in this apply).
    own: Result<String, String>,
    created: bool,
}

fn read_rp(host: &Host, iface: &str) -> Result<String, String> {
    let k = rp_key(iface);
    sysctl::read(host.fs, &k).map_err(|e| format!("{k}: {e}"))
}

/// Reads conf/all, the device's own value and, for `rp_filter = 0`, conf/default and every
/// other interface's (`uplinks` is the list the ARP items were planned on).
fn rp_filter_plan(
    d: &Decap,
    want: u8,
    profile_sysctl: &[SysctlEntry],
    host: &Host,
    exists: bool,
    uplinks: &io::Result<Vec<IfName>>,
) -> Vec<Entry> {
    let all_key = rp_key("all");
    let (raw, from_profile) = match profile_sysctl.iter().find(|e| e.key == all_key) {
        Some(e) => (
            e.value
                .exact()
                .map(str::to_string)
                .ok_or_else(|| format!("[sysctl] {all_key} is not a single value")),
            true,
        ),
        None => (read_rp(host, "all"), false),
    };
    let all = raw.and_then(|v| {
        number(&v)
            .map(|value| All {
                value,
                from_profile,
            })
            .ok_or_else(|| format!("{all_key} is not a number: {v:?}"))
    });
    let own = read_rp(host, if exists { d.iface.as_str() } else { "default" });
    if want == 2 {
        return vec![rp_filter_item(&d.iface, want, &all, own, !exists)];
    }
    let lo = super::vips::lo();
    let others = std::iter::once(&lo)
        .chain(uplinks.as_ref().into_iter().flatten())
        .filter(|i| **i != d.iface)
        .map(|i| (i.clone(), read_rp(host, i.as_str())))
        .collect();
    let live = RpLive {
        all,
        default: read_rp(host, "default"),
        others,
        own,
        created: !exists,
    };
    rp_filter_off(&d.iface, &live)
}

fn rp_entry(object: String, desired: String, live: String, status: Status) -> Entry {
    Entry::new(
        Item::new(Kind::RpFilter, object, desired, live, status),
        None,
        None,
    )
}

/// An `error` item that writes nothing, with why.
fn rp_error(object: String, desired: String, live: String, why: String) -> Entry {
    let e = rp_entry(object, desired, live, Status::Error);
    Entry {
        item: e.item.note(why),
        ..e
    }
}

/// A raw value as a number, or the live text and the reason for an error item.
fn parsed(object: &str, raw: &Result<String, String>) -> Result<u8, (String, String)> {
    match raw {
        Err(why) => Err(("-".into(), why.clone())),
        Ok(r) => number(r).ok_or_else(|| (normalize(r), format!("{object} is not a number"))),
    }
}

fn sysctl_setting(iface: &str, value: String) -> Setting {
    Setting::Sysctl {
        key: rp_key(iface),
        value,
    }
}

/// `rp_filter = 0` on the device (pure). The kernel takes max(conf/all, conf/DEV), so the
/// device is off only with conf/all at 0. When conf/all is `a` > 0, every other interface
/// whose own value is below `a` (and conf/default, for interfaces made later) is first
/// raised to `a`, then conf/all goes to 0: each of them keeps its effective value, and only
/// the decapsulation device stops filtering. Rollback puts conf/all back before lowering
/// them again, so no interface is ever less filtered than before.
fn rp_filter_off(dev: &IfName, live: &RpLive) -> Vec<Entry> {
    let dev_object = format!("rp_filter {dev}");
    let a = match &live.all {
        Ok(all) if all.from_profile && all.value != 0 => {
            let a = all.value;
            return vec![rp_error(
                "rp_filter all".into(),
                "0".into(),
                a.to_string(),
                format!(
                    "[sysctl] sets net.ipv4.conf.all.rp_filter = {a}, but the kernel takes the \
                     larger of conf/all and conf/{dev}, and {dev} needs 0 (rp_filter = 2 would \
                     need the VIPs on {dev}): drop that key; hosttune keeps every other \
                     interface's effective value when it lowers conf/all"
                ),
            )];
        }
        Ok(all) => all.value,
        Err(why) => return vec![rp_error(dev_object, "0".into(), "-".into(), why.clone())],
    };
    let mut out = Vec::new();
    // Raise conf/default and each other interface to `a` where it is below.
    let mut raise = |name: &str, raw: &Result<String, String>, what: &str| {
        let object = format!("rp_filter {name}");
        let own = match parsed(&object, raw) {
            Ok(own) => own,
            Err((live, why)) => return out.push(rp_error(object, a.to_string(), live, why)),
        };
        let eff = a.max(own);
        let live_text = format!("all={a} {name}={own} effective={eff}");
        let keep = format!("effective {eff}");
        let mut e = rp_entry(object, keep, live_text, Status::of(own >= a));
        e.live = raw.clone().ok().map(|r| sysctl_setting(name, r));
        if own < a {
            e.desired = Some(sysctl_setting(name, a.to_string()));
            e.item = e.item.note(format!(
                "conf/{name} goes to {a} before conf/all goes to 0, so that {what} keeps \
                 effective {a}"
            ));
        }
        out.push(e);
    };
    raise("default", &live.default, "an interface created later");
    for (iface, raw) in &live.others {
        raise(iface.as_str(), raw, iface.as_str());
    }
    // conf/all to 0.
    let mut e = rp_entry(
        "rp_filter all".into(),
        "0".into(),
        a.to_string(),
        Status::of(a == 0),
    );
    if a != 0 {
        e.live = Some(sysctl_setting("all", a.to_string()));
        e.desired = Some(sysctl_setting("all", "0".into()));
        e.item = e.item.note(format!(
            "the kernel takes the larger of conf/all and conf/{dev}: {dev} is off only with \
             conf/all at 0; every other interface keeps its effective value through its own key"
        ));
    }
    out.push(e);
    // The device itself.
    let o = match parsed(&dev_object, &live.own) {
        Ok(o) => o,
        Err((l, why)) => {
            out.push(rp_error(dev_object, "0".into(), l, why));
            return out;
        }
    };
    // A write to conf/default reaches every interface whose own value was never written
    // (devinet_copy_dflt_conf in net/ipv4/devinet.c): the device is then written after it,
    // explicitly, even when it reads 0 now; so is a device made in this apply.
    let default_written = out
        .iter()
        .any(|e| e.item.object == "rp_filter default" && e.desired.is_some());
    let write = o != 0 || default_written || live.created;
    let mut e = rp_entry(
        dev_object,
        "0".into(),
        format!("all={a} {dev}={o} effective={}", a.max(o)),
        Status::of(!write),
    );
    e.live = live
        .own
        .clone()
        .ok()
        .map(|r| sysctl_setting(dev.as_str(), r));
    if write {
        e.desired = Some(sysctl_setting(dev.as_str(), "0".into()));
    }
    let mut notes = Vec::new();
    if live.created {
        notes.push(format!(
            "{dev} is created in this apply with net.ipv4.conf.default.rp_filter"
        ));
    }
    if default_written && o == 0 {
        notes.push(format!(
            "the write to conf/default also reaches {dev} (every interface never written \
             itself): {dev} is written after it"
        ));
    }
    if !notes.is_empty() {
        e.item = e.item.note(notes.join("; "));
    }
    out.push(e);
    out
}

/// `rp_filter = 2` on a device that holds the VIPs (pure): only conf/DEV is written, to 2,
/// which makes the effective value 2 whatever conf/all holds (it is at most 2).
fn rp_filter_item(
    iface: &IfName,
    want: u8,
    all: &Result<All, String>,
    own: Result<String, String>,
    created: bool,
) -> Entry {
    let object = format!("rp_filter {iface}");
    let a = match all {
        Ok(all) => all.value,
        Err(why) => return rp_error(object, want.to_string(), "-".into(), why.clone()),
    };
    let o = match parsed(&object, &own) {
        Ok(o) => o,
        Err((live, why)) => return rp_error(object, want.to_string(), live, why),
    };
    let eff = a.max(o);
    let live = format!("all={a} {iface}={o} effective={eff}");
    let mut notes = Vec::new();
    if created {
        notes.push(format!(
            "{iface} is created in this apply with net.ipv4.conf.default.rp_filter = {o}"
        ));
    }
    let status = Status::of(eff == want);
    if status == Status::Drift && a == 1 {
        notes.push(format!(
            "conf/all is 1 (strict); conf/{iface} = 2 makes it loose on {iface} only"
        ));
    }
    let mut e = rp_entry(object, want.to_string(), live, status);
    if !notes.is_empty() {
        e.item = e.item.note(notes.join("; "));
    }
    if status == Status::Drift {
        e.desired = Some(sysctl_setting(iface.as_str(), want.to_string()));
    }
    e.live = own.ok().map(|r| sysctl_setting(iface.as_str(), r));
    e
}

/// A module that cannot be loaded at apply time is a failed step, undone like any other: the
/// plan could not tell (no module lists to read), and a real server without its tunnel must
/// not look half set up.
fn required(e: LinkError) -> KnobError {
    match e {
        LinkError::Unsupported { op, object, module } => KnobError::Link(LinkError::Invalid {
            op,
            object,
            why: format!("module {module} could not be loaded (modprobe {module})"),
        }),
        e => KnobError::Link(e),
    }
}

fn link_err(op: &'static str, iface: &IfName, why: String) -> KnobError {
    KnobError::Link(LinkError::Invalid {
        op,
        object: format!("link {iface}"),
        why,
    })
}

/// Decapsulation devices in snapshots.
pub struct TunnelOps;

impl SettingOps for TunnelOps {
    fn address(s: &Setting) -> String {
        let Setting::Tunnel { iface, .. } = s else {
            unreachable!()
        };
        format!("tunnel {iface}")
    }
    fn describe(s: &Setting) -> (Kind, String, String) {
        let Setting::Tunnel {
            iface,
            link,
            external,
            state,
        } = s
        else {
            unreachable!()
        };
        let mode = if *external { "external" } else { "fallback" };
        (
            Kind::Tunnel,
            format!("{iface} ({link} {mode})"),
            state.to_string(),
        )
    }
    /// A fallback device that is down is as good as absent: only unloading its module could
    /// remove it.
    fn same(a: &Setting, b: &Setting) -> bool {
        let (
            Setting::Tunnel {
                iface,
                link,
                external,
                state,
            },
            Setting::Tunnel {
                iface: i2,
                link: l2,
                external: e2,
                state: s2,
            },
        ) = (a, b)
        else {
            return false;
        };
        let fold = |s: TunnelState| match (external, s) {
            (false, TunnelState::Absent) => TunnelState::Down,
            (_, s) => s,
        };
        (iface, link, external, fold(*state)) == (i2, l2, e2, fold(*s2))
    }
    /// An ipip or ip6tnl device; a fallback one by its module's name, so that a snapshot
    /// cannot make a rollback take down another device.
    fn validate(s: &Setting) -> Result<(), String> {
        let Setting::Tunnel {
            iface,
            link,
            external,
            ..
        } = s
        else {
            unreachable!()
        };
        crate::knobs::setting::check_iface(iface)?;
        let fallback = match link {
            LinkKind::Ipip => "tunl0",
            LinkKind::Ip6tnl => "ip6tnl0",
            other => {
                return Err(format!(
                    "tunnel {iface}: kind {other} is not ipip or ip6tnl"
                ));
            }
        };
        if !external && iface.as_str() != fallback {
            return Err(format!(
                "tunnel {iface}: a {link} device that is not external must be {fallback}"
            ));
        }
        Ok(())
    }
    fn read(host: &Host, at: &Setting) -> Result<Setting, KnobError> {
        let Setting::Tunnel {
            iface,
            link,
            external,
            ..
        } = at
        else {
            unreachable!()
        };
        let state = match host.links.list()?.into_iter().find(|l| l.name == *iface) {
            None => TunnelState::Absent,
            Some(l) if !is_recorded(&l, link, *external) => {
                return Err(link_err(
                    "read",
                    iface,
                    format!("is {}, not the {link} device recorded", describe_live(&l)),
                ));
            }
            Some(l) if l.up => TunnelState::Up,
            Some(_) => TunnelState::Down,
        };
        Ok(Setting::Tunnel {
            iface: iface.clone(),
            link: link.clone(),
            external: *external,
            state,
        })
    }
    /// Equivalent to `ip link add IFACE type ipip external` and `ip link set IFACE up`,
    /// `ip link set tunl0 up` (creating `tunl0` loads the module, whose fallback device it
    /// is: EEXIST then means it is there), `ip link set IFACE down` or `ip link del IFACE`.
    /// A device of that name that is not the recorded kind and mode is never touched.
    fn write(host: &Host, s: &Setting) -> Result<(), KnobError> {
        let Setting::Tunnel {
            iface,
            link,
            external,
            state,
        } = s
        else {
            unreachable!()
        };
        let find = || -> Result<Option<LinkInfo>, KnobError> {
            Ok(host.links.list()?.into_iter().find(|l| l.name == *iface))
        };
        let check = |l: &LinkInfo| {
            if is_recorded(l, link, *external) {
                Ok(())
            } else {
                Err(link_err(
                    "write",
                    iface,
                    format!(
                        "is {}, not {link}{}: left alone",
                        describe_live(l),
                        if *external { " external" } else { "" }
                    ),
                ))
            }
        };
        let set = |up: bool| {
            let change = LinkChange {
                up: Some(up),
                mtu: None,
            };
            host.links.set(iface, &change).map_err(KnobError::from)
        };
        match (state, find()?) {
            (TunnelState::Absent, None) => Ok(()),
            (TunnelState::Absent, Some(l)) => {
                check(&l)?;
                if *external {
                    Ok(host.links.delete(iface)?)
                } else {
                    set(false)
                }
            }
            (up, live) => {
                let live = match live {
                    Some(l) => l,
                    None => {
                        let spec = LinkSpec {
                            name: iface.clone(),
                            kind: link.clone(),
                            external: *external,
                            mtu: None,
                        };
                        match host.links.create(&spec) {
                            Ok(()) => {}
                            Err(LinkError::Os {
                                errno: Errno::EEXIST,
                                ..
                            }) if !external => {}
                            Err(e) => return Err(required(e)),
                        }
                        find()?.ok_or_else(|| {
                            link_err("create", iface, "not there after it was created".into())
                        })?
                    }
                };
                check(&live)?;
                set(*up == TunnelState::Up)
            }
        }
    }
}

/// FOU ports in snapshots.
pub struct FouOps;

impl SettingOps for FouOps {
    fn address(s: &Setting) -> String {
        let Setting::Fou { port, .. } = s else {
            unreachable!()
        };
        let family = match port.family {
            crate::host::FouFamily::V4 => "ipv4",
            crate::host::FouFamily::V6 => "ipv6",
        };
        format!("fou {} {family}", port.port)
    }
    fn describe(s: &Setting) -> (Kind, String, String) {
        let Setting::Fou { port, present } = s else {
            unreachable!()
        };
        let state = if *present { "open" } else { "closed" };
        (Kind::Fou, port.to_string(), state.into())
    }
    fn validate(s: &Setting) -> Result<(), String> {
        let Setting::Fou { port, .. } = s else {
            unreachable!()
        };
        if port.port == 0 {
            return Err("fou port 0".into());
        }
        Ok(())
    }
    /// Closed when the `fou` module is not loaded (listing would load it).
    fn read(host: &Host, at: &Setting) -> Result<Setting, KnobError> {
        let Setting::Fou { port, .. } = at else {
            unreachable!()
        };
        let live = match host.links.module("fou")? {
            ModuleState::Loaded => host
                .links
                .fou_list()?
                .into_iter()
                .find(|p| p.port == port.port && p.family == port.family),
            _ => None,
        };
        Ok(match live {
            Some(p) => fou_setting(&p, true),
            None => fou_setting(port, false),
        })
    }
    /// Equivalent to `ip fou add port N gue` or `ip fou del port N`.
    fn write(host: &Host, s: &Setting) -> Result<(), KnobError> {
        let Setting::Fou { port, present } = s else {
            unreachable!()
        };
        let now = Self::read(host, s)?;
        if Self::same(&now, s) {
            return Ok(());
        }
        if *present {
            if let Setting::Fou {
                present: true,
                port: p,
            } = now
            {
                return Err(KnobError::Link(LinkError::Invalid {
                    op: "add",
                    object: crate::host::linkops::fou_object(port),
                    why: format!("the port is open as `{p}`: left alone"),
                }));
            }
            // The kernel does not load `fou` on a FOU request on every version: load it as
            // request_module would.
            if host.links.module("fou")? != ModuleState::Loaded {
                host.links.load("fou").map_err(required)?;
            }
            host.links.fou_add(port).map_err(required)
        } else {
            Ok(host.links.fou_del(port)?)
        }
    }
}

#[cfg(test)]
#[path = "decap_tests.rs"]
mod tests;
