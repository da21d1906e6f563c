//! The `[dsr]` knob: the real-server side of Direct Server Return. L2 (the LVS-DR setup):
//! VIPs on `lo` with a host prefix, and ARP ignore/announce judged by the kernel's effective
//! value on every uplink. L3 (`encap`, IPVS tunnel mode, Katran, GLB): the same, plus the
//! decapsulation device, the GUE port and the device's reverse-path filter ([`decap`]).
//!
//! Plan order is apply order: ARP settings first (so the host stops answering ARP for local
//! addresses on other interfaces before a VIP appears), then the decapsulation device, its
//! GUE port and its rp_filter, then VIPs added to `lo` (or the device), then VIPs removed
//! from elsewhere.

mod arp;
mod decap;
pub mod encap;
mod iface_keys;
pub mod mss;
mod section;
mod vips;

/// VIPs in snapshots: present or not, restored with their attributes.
pub struct VipOps;

impl crate::knobs::SettingOps for VipOps {
    fn address(s: &Setting) -> String {
        let Setting::Vip {
            iface,
            addr,
            prefix,
            ..
        } = s
        else {
            unreachable!()
        };
        format!("vip {addr}/{prefix} on {iface}")
    }
    fn describe(s: &Setting) -> (crate::knobs::Kind, String, String) {
        let Setting::Vip {
            iface,
            addr,
            prefix,
            present,
            attrs,
        } = s
        else {
            unreachable!()
        };
        (
            crate::knobs::Kind::Vip,
            format!("{addr}/{prefix} on {iface}"),
            match (present, attrs.is_default()) {
                (false, _) => "absent".into(),
                (true, true) => "present".into(),
                (true, false) => format!("present ({attrs})"),
            },
        )
    }
    /// There or not, whatever the attributes (whose lifetimes count down anyway).
    fn same(a: &Setting, b: &Setting) -> bool {
        match (a, b) {
            (
                Setting::Vip {
                    iface,
                    addr,
                    prefix,
                    present,
                    ..
                },
                Setting::Vip {
                    iface: i2,
                    addr: a2,
                    prefix: p2,
                    present: x2,
                    ..
                },
            ) => (iface, addr, prefix, present) == (i2, a2, p2, x2),
            _ => false,
        }
    }
    /// An interface name and a prefix length the address family has (32 bits for IPv4,
    /// 128 for IPv6).
    fn validate(s: &Setting) -> Result<(), String> {
        let Setting::Vip {
            iface,
            addr,
            prefix,
            ..
        } = s
        else {
            unreachable!()
        };
        crate::knobs::setting::check_iface(iface)?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if *prefix > max {
            return Err(format!(
                "vip {addr}/{prefix}: a prefix length above {max} bits"
            ));
        }
        Ok(())
    }
    fn read(host: &Host, at: &Setting) -> Result<Setting, KnobError> {
        read(host, at)
    }
    fn write(host: &Host, s: &Setting) -> Result<(), KnobError> {
        write(host, s)
    }
}

#[cfg(test)]
mod test_rows;

pub use decap::{FouOps, TunnelOps, rp_filter_passes};
pub use iface_keys::{decap_rp_conflicts, iface_conflicts};
pub use section::{ArpAnnounce, ArpIgnore, DsrAt, DsrSection, Vip};

use crate::host::Host;
use crate::knobs::KnobError;
use crate::knobs::sysctl::{self, SysctlEntry};
use crate::knobs::{Entry, Setting, Status};
use crate::sysctl::SysctlKey;

/// Resolves the uplinks, observes ARP values and addresses, and compares them with the
/// section. `profile_sysctl` is the same profile's `[sysctl]`, which applies first.
pub fn plan(section: &DsrSection, profile_sysctl: &[SysctlEntry], host: &Host) -> Vec<Entry> {
    let uplinks = arp::uplinks(host.fs);
    let mut out = Vec::new();
    for (name, want) in arp::KEYS
        .into_iter()
        .zip([section.ignore(), section.announce()])
    {
        let mut entries = arp::diff(&arp::observe(host.fs, name, &uplinks), want);
        conflicts(&mut entries, name, want, profile_sysctl);
        out.extend(entries);
    }
    let decap = section.decap();
    if let Some(d) = &decap {
        out.extend(decap::plan(d, profile_sysctl, host, &uplinks));
    }
    let vips = section.vip_list();
    if vips.is_empty() {
        return out;
    }
    let v6_blocked = if vips.iter().any(|v| v.addr.is_ipv6()) {
        ipv6_blocked(host, profile_sysctl)
    } else {
        None
    };
    // The MSS table before the VIPs: no connection from a VIP advertises the unclamped MSS.
    if let (Some(d), Some(m)) = (&decap, &section.mss) {
        out.push(mss::plan(*m.get_ref(), d, &vips, host));
    }
    let on = match &decap {
        Some(d) if d.vips_on == encap::VipsOn::Tunnel => d.iface.clone(),
        _ => vips::lo(),
    };
    out.extend(vips::diff(
        &vips,
        &host.addrs.list(),
        v6_blocked.as_deref(),
        &on,
    ));
    out
}

/// A `[sysctl]` entry for the same conf/all or conf/default key with another value would be
/// written first and then overwritten here, and every audit would report one of the two as
/// drift: that is a plan-time error, not something to apply.
fn conflicts(entries: &mut [Entry], name: &str, want: u8, profile_sysctl: &[SysctlEntry]) {
    for conf in ["all", "default"] {
        let k = arp::key(conf, name);
        let Some(other) = profile_sysctl.iter().find(|e| e.key == k) else {
            continue;
        };
        if other.value.exact().map(crate::sysctl::normalize) == Some(want.to_string()) {
            continue;
        }
        let object = format!("{name} {conf}");
        if let Some(e) = entries.iter_mut().find(|e| e.item.object == object) {
            e.item.status = Status::Error;
            e.item.note = Some(format!(
                "[sysctl] sets {k} = {} ({}) but [dsr] wants {want}: keep one of them",
                other.value.shown(),
                other.at
            ));
            e.desired = None;
        }
    }
}

/// Why IPv6 VIPs cannot go on `lo`, if they cannot: live `disable_ipv6` of conf/all and
/// conf/lo, overridden by the profile's `[sysctl]`.
fn ipv6_blocked(host: &Host, profile_sysctl: &[SysctlEntry]) -> Option<String> {
    let key = |iface: &str| SysctlKey::conf("ipv6", iface, "disable_ipv6");
    let live = |iface: &str| sysctl::read(host.fs, &key(iface)).ok();
    let wanted = |iface: &str| {
        let k = key(iface);
        profile_sysctl
            .iter()
            .find(|e| e.key == k)
            .and_then(|e| e.value.exact().map(str::to_string))
    };
    vips::ipv6_blocked(
        live("all").as_deref(),
        live("lo").as_deref(),
        wanted("all").as_deref(),
        wanted("lo").as_deref(),
    )
}

/// Adds or removes one address. Equivalent to `ip addr add|del ADDR/PREFIX dev IFACE`, an
/// add followed by the recorded attributes (`label eth0:vip noprefixroute valid_lft ...`).
pub fn write(host: &Host, s: &Setting) -> Result<(), KnobError> {
    let Setting::Vip {
        iface,
        addr,
        prefix,
        present,
        attrs,
    } = s
    else {
        unreachable!("dsr::write of {s:?}")
    };
    if *present {
        host.addrs.add(iface, *addr, *prefix, attrs)?;
    } else {
        host.addrs.del(iface, *addr, *prefix)?;
    }
    Ok(())
}

/// Whether the address is on the interface with exactly this prefix, and if so with which
/// attributes. Equivalent to `ip -o addr show dev IFACE`.
pub fn read(host: &Host, at: &Setting) -> Result<Setting, KnobError> {
    let Setting::Vip {
        iface,
        addr,
        prefix,
        ..
    } = at
    else {
        unreachable!("dsr::read of {at:?}")
    };
    let live = host
        .addrs
        .list()?
        .into_iter()
        .find(|a| a.iface == *iface && a.addr == *addr && a.prefix == *prefix);
    Ok(Setting::Vip {
        iface: iface.clone(),
        addr: *addr,
        prefix: *prefix,
        present: live.is_some(),
        attrs: live.map(|a| a.attrs).unwrap_or_default(),
    })
}
