//! Per-interface ARP keys in `[sysctl]` that would fight `[dsr]`, found while loading.
//!
//! For `arp_ignore` and `arp_announce` the kernel uses max(conf/all, conf/IFACE). `[dsr]`
//! writes conf/all and lowers any conf/IFACE above its value, so a `[sysctl]` key for one
//! interface with a higher value is written up by one half of every apply and down by the
//! other (3, 1, 3, 1), and one with a lower value changes nothing. Either way the profile says
//! two things; the one rule is that such a key must equal `[dsr]`'s value. conf/all and
//! conf/default are checked when planning (`super::conflicts`), as before.

use crate::knobs::sysctl::SysctlEntry;
use crate::schema::ProfileError;

use super::DsrSection;

/// Every `net.ipv4.conf.IFACE.arp_ignore|arp_announce` entry (IFACE other than `all` and
/// `default`) whose value differs from the section's, naming both places.
pub fn iface_conflicts(dsr: &DsrSection, sysctl: &[SysctlEntry]) -> Vec<ProfileError> {
    let mut out = Vec::new();
    for e in sysctl {
        let [net, ipv4, conf, iface, name] = e.key.segments() else {
            continue;
        };
        if (net.as_str(), ipv4.as_str(), conf.as_str()) != ("net", "ipv4", "conf")
            || iface == "all"
            || iface == "default"
        {
            continue;
        }
        let (want, set_at) = match name.as_str() {
            "arp_ignore" => (dsr.ignore(), &dsr.at.arp_ignore),
            "arp_announce" => (dsr.announce(), &dsr.at.arp_announce),
            _ => continue,
        };
        // A bound on a per-interface ARP key is judged when planning, not here.
        let Some(value) = e.value.exact() else {
            continue;
        };
        if crate::sysctl::same(value, &want.to_string()) {
            continue;
        }
        let dsr_side = match set_at {
            Some(at) => format!("[dsr] {name} = {want} ({at})"),
            None => format!(
                "the default [dsr] {name} = {want} ([dsr] at {})",
                dsr.at.section
            ),
        };
        let effect = match crate::sysctl::normalize(value).parse::<u8>() {
            Ok(v) if v < want => {
                format!("so with conf/all at {want} this key changes nothing")
            }
            _ => {
                format!("so [dsr] lowers conf/{iface} on every apply and [sysctl] raises it again")
            }
        };
        out.push(ProfileError::invalid(
            e.at.clone(),
            format!(
                "[sysctl] {} = {} conflicts with {dsr_side}: the kernel uses the larger of \
                 conf/all and conf/{iface}, {effect}; remove the key or set it to {want}",
                e.key,
                crate::sysctl::normalize(value)
            ),
        ));
    }
    out
}

/// A `[sysctl]` `net.ipv4.conf.DEVICE.rp_filter` for the L3 DSR decapsulation device with
/// another value than `[dsr]` gives it: `[sysctl]` applies first, so the two would write the
/// key in turn on every apply.
pub fn decap_rp_conflicts(dsr: &DsrSection, sysctl: &[SysctlEntry]) -> Vec<ProfileError> {
    let Some(d) = dsr.decap() else {
        return Vec::new();
    };
    let Some(want) = d.rp_filter else {
        return Vec::new();
    };
    let key = crate::sysctl::SysctlKey::conf("ipv4", d.iface.as_str(), "rp_filter");
    sysctl
        .iter()
        .filter(|e| e.key == key)
        .filter_map(|e| {
            let value = e.value.exact()?;
            (!crate::sysctl::same(value, &want.to_string())).then(|| {
                ProfileError::invalid(
                    e.at.clone(),
                    format!(
                        "[sysctl] {} = {} conflicts with [dsr] encap, which sets {} on the \
                         decapsulation device ({} at {}): remove the key",
                        e.key,
                        crate::sysctl::normalize(value),
                        want,
                        if dsr.rp_filter.is_some() {
                            "rp_filter"
                        } else {
                            "its default"
                        },
                        dsr.at.rp_filter.as_ref().unwrap_or(&dsr.at.section)
                    ),
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Loc;

    fn at(line: usize) -> Loc {
        Loc {
            file: "p.toml".into(),
            line,
            col: 1,
        }
    }

    fn entry(key: &str, value: &str) -> SysctlEntry {
        SysctlEntry {
            key: key.parse().unwrap(),
            value: crate::knobs::sysctl::SysctlValue::Exact(value.into()),
            optional: false,
            at: at(2),
        }
    }

    #[test]
    fn only_a_differing_per_interface_value_is_a_conflict() {
        let mut dsr: DsrSection = toml::from_str("arp_ignore = 1").unwrap();
        dsr.at.arp_ignore = Some(at(9));
        dsr.at.section = at(8);
        let sysctl = [
            entry("net.ipv4.conf.eth0.arp_ignore", "3"),
            entry("net.ipv4.conf.eth0/100.arp_ignore", "0"),
            entry("net.ipv4.conf.eth1.arp_ignore", "1"),
            entry("net.ipv4.conf.all.arp_ignore", "3"),
            entry("net.ipv4.conf.default.arp_announce", "0"),
            entry("net.ipv6.conf.eth0.arp_ignore", "3"),
            entry("net.ipv4.conf.eth2.rp_filter", "2"),
            entry("net.ipv4.conf.eth2.arp_announce", "2"),
            entry("net.ipv4.conf.eth3.arp_announce", "1"),
        ];
        let msgs: Vec<String> = iface_conflicts(&dsr, &sysctl)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(msgs.len(), 3, "{msgs:#?}");
        assert!(
            msgs[0].starts_with(
                "p.toml:2:1: [sysctl] net.ipv4.conf.eth0.arp_ignore = 3 conflicts with \
                 [dsr] arp_ignore = 1 (p.toml:9:1): the kernel uses the larger of conf/all \
                 and conf/eth0"
            ),
            "{}",
            msgs[0]
        );
        assert!(msgs[0].ends_with(
            "so [dsr] lowers conf/eth0 on every apply and [sysctl] raises it again; remove \
             the key or set it to 1"
        ));
        assert!(msgs[1].contains("net.ipv4.conf.eth0/100.arp_ignore = 0"));
        assert!(msgs[1].contains("so with conf/all at 1 this key changes nothing"));
        assert!(
            msgs[2].contains(
                "conflicts with the default [dsr] arp_announce = 2 ([dsr] at p.toml:8:1)"
            ),
            "{}",
            msgs[2]
        );
    }
}
