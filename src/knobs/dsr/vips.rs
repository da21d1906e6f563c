//! VIPs of a DSR real server: each on `lo` with a host prefix, none on an uplink.
//!
//! The server must accept packets for the VIP (so it is a local address) but never answer ARP
//! for it (so it is not on the NIC the balancer's LAN reaches). On `lo` with arp_ignore >= 1
//! on the uplinks, both hold. A hand-made `ifconfig eth0:0 VIP/32` puts it on the NIC, where
//! the host answers ARP for it and takes traffic away from the balancer.

use crate::host::{AddrAttrs, AddrError, IfAddr};
use crate::knobs::dsr::Vip;
use crate::knobs::{Entry, Item, Setting, Status};
use crate::types::IfName;

/// The loopback interface.
pub fn lo() -> IfName {
    "lo".parse().expect("lo is a valid interface name")
}

/// A VIP's setting with the attributes of a plain `ip addr add`: what hosttune puts on `lo`.
fn vip_setting(iface: &IfName, v: &Vip, prefix: u8, present: bool) -> Setting {
    Setting::Vip {
        iface: iface.clone(),
        addr: v.addr,
        prefix,
        present,
        attrs: AddrAttrs::default(),
    }
}

/// An item whose report text comes from the setting it is about.
fn entry(s: &Setting, live: &str, status: Status) -> Entry {
    let (kind, object, desired) = <super::VipOps as crate::knobs::SettingOps>::describe(s);
    Entry::new(Item::new(kind, object, desired, live, status), None, None)
}

/// Compares the VIPs with the live addresses (pure). Order: everything about `lo` (the adds)
/// first, then addresses on other interfaces (the removals), so that a VIP being moved is on
/// `lo` before it leaves the uplink and the host never stops accepting it.
/// `v6_blocked` is why IPv6 VIPs cannot be added, if they cannot (see [`super::ipv6`]).
pub fn diff(
    vips: &[Vip],
    live: &Result<Vec<IfAddr>, AddrError>,
    v6_blocked: Option<&str>,
    on: &IfName,
) -> Vec<Entry> {
    let lo = on.clone();
    let live = match live {
        Ok(l) => l,
        Err(e) => {
            let status = if matches!(e, AddrError::Unsupported(_)) {
                Status::Unsupported
            } else {
                Status::Error
            };
            return vips
                .iter()
                .map(|v| {
                    let at = vip_setting(&lo, v, v.prefix, true);
                    let mut e2 = entry(&at, "-", status);
                    e2.item = e2.item.note(e.to_string());
                    e2
                })
                .collect();
        }
    };
    let mut on_lo = Vec::new();
    let mut elsewhere = Vec::new();
    for v in vips {
        let want = vip_setting(&lo, v, v.prefix, true);
        let same: Vec<&IfAddr> = live.iter().filter(|a| a.addr == v.addr).collect();
        let here = same.iter().filter(|a| a.iface == lo);
        let wrong: Vec<&&IfAddr> = here.clone().filter(|a| a.prefix != v.prefix).collect();
        let present = here.clone().any(|a| a.prefix == v.prefix);
        on_lo.push(if let Some(w) = wrong.first() {
            let mut e = entry(&want, &format!("{}/{}", w.addr, w.prefix), Status::Error);
            e.item = e.item.note(format!(
                "{lo} has {}/{} instead of the host prefix /{}; a wider prefix there makes the \
                 whole range local: remove it by hand (ip addr del {}/{} dev {lo})",
                w.addr, w.prefix, v.prefix, w.addr, w.prefix
            ));
            e
        } else if present {
            let mut e = entry(&want, "present", Status::Ok);
            e.live = Some(want.clone());
            e
        } else if let (true, Some(why)) = (v.addr.is_ipv6(), v6_blocked) {
            let mut e = entry(&want, "absent", Status::Error);
            e.item = e.item.note(why.to_string());
            e
        } else {
            let mut e = entry(&want, "absent", Status::Drift);
            e.desired = Some(want.clone());
            e.live = Some(vip_setting(&lo, v, v.prefix, false));
            e
        });
        for a in same.iter().filter(|a| a.iface != lo) {
            let there = vip_setting(&a.iface, v, a.prefix, false);
            elsewhere.push(if a.prefix == v.prefix {
                let mut e = entry(&there, "present", Status::Drift);
                e.item = e.item.note(if a.iface.as_str() == "lo" {
                    format!("the profile puts the VIPs on {lo}: it is moved there")
                } else {
                    format!(
                        "a VIP on {} makes the host answer ARP for it, which breaks DSR: it is \
                         moved to {lo}",
                        a.iface
                    )
                });
                e.desired = Some(there.clone());
                // The live side is what the snapshot records and rollback puts back: the
                // address with the label, flags, scope and lifetimes it has now.
                e.live = Some(Setting::Vip {
                    iface: a.iface.clone(),
                    addr: a.addr,
                    prefix: a.prefix,
                    present: true,
                    attrs: a.attrs.clone(),
                });
                e
            } else {
                let mut e = entry(&there, "present", Status::Error);
                e.item = e.item.note(format!(
                    "{}/{} is {}'s own subnet address, not a VIP; hosttune does not remove it: \
                     give {} another address or take {} out of vips",
                    a.addr, a.prefix, a.iface, a.iface, v
                ));
                e
            });
        }
    }
    on_lo.extend(elsewhere);
    on_lo
}

/// Why IPv6 VIPs cannot be added to `lo`, judged on the values the host will have once the
/// profile's `[sysctl]` (which applies before `[dsr]`) is written. `live_*` are the raw
/// `disable_ipv6` values (None when the file is missing); `profile_*` the profile's.
pub fn ipv6_blocked(
    live_all: Option<&str>,
    live_lo: Option<&str>,
    profile_all: Option<&str>,
    profile_lo: Option<&str>,
) -> Option<String> {
    let (Some(live_all), Some(live_lo)) = (live_all, live_lo) else {
        return Some(
            "IPv6 is not available on this host (no net.ipv6.conf.lo.disable_ipv6; booted with \
             ipv6.disable=1?): drop the IPv6 VIPs"
                .into(),
        );
    };
    let on = |v: &str| crate::sysctl::normalize(v) != "0";
    let fix = "set net.ipv6.conf.all.disable_ipv6 = 0 and net.ipv6.conf.lo.disable_ipv6 = 0 \
               in the profile's [sysctl], or drop the IPv6 VIPs";
    let all = match profile_all {
        Some(p) => (p, "set by the profile"),
        None => (live_all, "live"),
    };
    // Writing conf/all/disable_ipv6 also sets it on every interface, lo included; the
    // profile writes it only when it differs from the live value.
    let all_written = profile_all.is_some_and(|p| on(p) != on(live_all));
    let lo_v = match (profile_lo, all_written) {
        (Some(p), _) => (p, "set by the profile"),
        (None, true) => (all.0, "follows conf/all as the profile writes it"),
        (None, false) => (live_lo, "live"),
    };
    for (key, (value, source)) in [("lo", lo_v), ("all", all)] {
        if on(value) {
            return Some(format!(
                "IPv6 is disabled (net.ipv6.conf.{key}.disable_ipv6 = {}, {source}) and the \
                 kernel refuses IPv6 addresses then: {fix}",
                crate::sysctl::normalize(value)
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(iface: &str, cidr: &str) -> IfAddr {
        let (a, p) = cidr.split_once('/').unwrap();
        IfAddr {
            iface: iface.parse().unwrap(),
            addr: a.parse().unwrap(),
            prefix: p.parse().unwrap(),
            attrs: AddrAttrs::default(),
        }
    }

    use super::super::test_rows::{row, rows};

    #[test]
    fn vips_go_to_lo_and_leave_the_uplink() {
        let vips: Vec<Vip> = ["192.168.16.100/32", "192.168.16.101/32", "2001:db8::1/128"]
            .iter()
            .map(|v| v.parse().unwrap())
            .collect();
        let live = Ok(vec![
            addr("lo", "127.0.0.1/8"),
            addr("lo", "192.168.16.101/32"),
            addr("eth0", "192.168.16.11/24"),
            addr("eth0", "192.168.16.100/32"),
        ]);
        let d = diff(&vips, &live, None, &lo());
        assert_eq!(
            rows(&d),
            [
                row("192.168.16.100/32 on lo", "absent", Status::Drift, true),
                row("192.168.16.101/32 on lo", "present", Status::Ok, false),
                row("2001:db8::1/128 on lo", "absent", Status::Drift, true),
                row("192.168.16.100/32 on eth0", "present", Status::Drift, true),
            ]
        );
        assert!(d[3].item.note.as_deref().unwrap().contains("answer ARP"));
        assert_eq!(d[3].item.desired, "absent");
    }

    #[test]
    fn a_moved_vip_is_recorded_with_its_attributes_and_lo_gets_the_defaults() {
        let vips: Vec<Vip> = vec!["192.0.2.10/32".parse().unwrap()];
        let attrs = AddrAttrs {
            label: Some("eth0:vip".into()),
            flags: crate::host::AddrFlags::NOPREFIXROUTE,
            valid_lft: Some(86_000),
            preferred_lft: Some(86_000),
            ..AddrAttrs::default()
        };
        let mut on_eth0 = addr("eth0", "192.0.2.10/32");
        on_eth0.attrs = attrs.clone();
        let d = diff(&vips, &Ok(vec![on_eth0]), None, &lo());
        let attrs_of = |s: &Option<Setting>| match s {
            Some(Setting::Vip { attrs, .. }) => attrs.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(attrs_of(&d[0].desired), AddrAttrs::default());
        assert_eq!(attrs_of(&d[1].live), attrs);
        assert_eq!(attrs_of(&d[1].desired), AddrAttrs::default());
        // The report still says present/absent; the attributes show where they are restored.
        assert_eq!(
            (d[1].item.live.as_str(), d[1].item.desired.as_str()),
            ("present", "absent")
        );
        assert_eq!(
            d[1].live.as_ref().unwrap().describe().2,
            "present (label eth0:vip noprefixroute valid_lft 86000 preferred_lft 86000)"
        );
        // Drift is about presence: attributes are restored, not audited.
        let live = d[1].live.as_ref().unwrap();
        let eth0 = "eth0".parse().unwrap();
        assert!(live.same_value(&vip_setting(&eth0, &vips[0], 32, true)));
        assert!(!live.same_value(&vip_setting(&eth0, &vips[0], 32, false)));
    }

    #[test]
    fn wrong_prefixes_are_left_to_the_operator() {
        let vips: Vec<Vip> = vec!["192.168.16.11/32".parse().unwrap()];
        let live = Ok(vec![addr("lo", "192.168.16.11/24")]);
        let d = diff(&vips, &live, None, &lo());
        assert_eq!(d[0].item.status, Status::Error);
        assert!(d[0].item.note.as_deref().unwrap().contains("ip addr del"));
        let live = Ok(vec![addr("eth0", "192.168.16.11/24")]);
        let d = diff(&vips, &live, None, &lo());
        assert_eq!(
            rows(&d),
            [
                row("192.168.16.11/32 on lo", "absent", Status::Drift, true),
                row("192.168.16.11/24 on eth0", "present", Status::Error, false),
            ]
        );
        assert!(d[1].item.note.as_deref().unwrap().contains("own subnet"));
    }

    #[test]
    fn offline_and_blocked_ipv6() {
        let vips: Vec<Vip> = vec!["2001:db8::1".parse().unwrap()];
        let d = diff(
            &vips,
            &Err(AddrError::Unsupported("offline".into())),
            None,
            &lo(),
        );
        assert_eq!(d[0].item.status, Status::Unsupported);
        let d = diff(&vips, &Ok(vec![]), Some("IPv6 is disabled"), &lo());
        assert_eq!(d[0].item.status, Status::Error);
    }

    #[test]
    fn ipv6_is_judged_after_the_profile_sysctls() {
        assert_eq!(ipv6_blocked(Some("0\n"), Some("0\n"), None, None), None);
        let why = ipv6_blocked(Some("0\n"), Some("1\n"), None, None).unwrap();
        assert!(
            why.contains("net.ipv6.conf.lo.disable_ipv6 = 1, live"),
            "{why}"
        );
        // The profile turns it on through conf/all, which carries over to lo.
        assert_eq!(
            ipv6_blocked(Some("1\n"), Some("1\n"), Some("0"), None),
            None
        );
        // ... but writes nothing when conf/all is already 0, so lo stays off.
        assert!(ipv6_blocked(Some("0\n"), Some("1\n"), Some("0"), None).is_some());
        // The built-in tcp-base turns IPv6 off.
        let why = ipv6_blocked(Some("0\n"), Some("0\n"), Some("1"), None).unwrap();
        assert!(
            why.contains("lo.disable_ipv6 = 1, follows conf/all"),
            "{why}"
        );
        assert!(
            ipv6_blocked(None, None, None, None)
                .unwrap()
                .contains("not available")
        );
    }
}
