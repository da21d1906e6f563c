//! The `[dsr]` section as written in a profile: VIPs with host prefixes, `arp_ignore` and
//! `arp_announce` with the kernel's ranges, validated while loading and merged over `extends`.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::encap::{Decap, Encap, Mss, RpFilter, VipsOn};
use crate::schema::{Loc, Locator, ProfileError};
use crate::types::IfName;

/// A virtual IP with a host prefix (/32 or /128). A wider prefix on `lo` would make the whole
/// range local, so it is rejected while loading, and so are addresses that can never serve as
/// a VIP on `lo` (see [`unusable`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Vip {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl FromStr for Vip {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a
            .parse()
            .map_err(|_| format!("VIP {s:?} is not an IPv4 or IPv6 address"))?;
        if let Some(why) = unusable(addr) {
            return Err(format!("VIP {s:?} is {why}"));
        }
        let host = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            None => host,
            Some(p) => p
                .parse::<u8>()
                .map_err(|_| format!("VIP {s:?} has a bad prefix length"))?,
        };
        if prefix != host {
            return Err(format!(
                "VIP {s:?} must have a host prefix (/{host}): on lo a /{prefix} would make the whole range local"
            ));
        }
        Ok(Self { addr, prefix })
    }
}

/// Why `addr` can never be a VIP, if it cannot. The kernel accepts most of these on `lo`
/// without complaint, but a VIP is a unicast address that a balancer forwards to this host
/// from the network, and none of these ever arrives that way.
fn unusable(addr: IpAddr) -> Option<String> {
    let unspecified = "the unspecified address: it means \"any address\" and is never a \
                       packet's destination";
    let why = match addr {
        IpAddr::V4(a) if a.is_unspecified() => unspecified,
        IpAddr::V6(a) if a.is_unspecified() => unspecified,
        IpAddr::V4(a) if a.is_broadcast() => {
            "the limited broadcast address: it is for every host on the link, and no \
             balancer forwards it to one real server"
        }
        IpAddr::V4(a) if a.is_multicast() => {
            "a multicast address (224.0.0.0/4): a VIP must be a unicast address"
        }
        IpAddr::V6(a) if a.is_multicast() => {
            "a multicast address (ff00::/8): a VIP must be a unicast address"
        }
        IpAddr::V4(a) if a.is_loopback() => {
            "a loopback address: all of 127.0.0.0/8 is already local on lo, and it is not \
             routed between hosts, so no balancer can send traffic for it"
        }
        IpAddr::V6(a) if a.is_loopback() => {
            "the loopback address: ::1 is already on lo, and it is not routed between hosts, \
             so no balancer can send traffic for it"
        }
        IpAddr::V6(a) => {
            let v4 = a.to_ipv4_mapped()?;
            return Some(format!(
                "an IPv4-mapped IPv6 address (::ffff:0:0/96): it stands for an IPv4 peer in \
                 the socket API and never appears in a packet; list the IPv4 address {v4} \
                 instead"
            ));
        }
        IpAddr::V4(_) => return None,
    };
    Some(why.to_string())
}

impl TryFrom<String> for Vip {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<Vip> for String {
    fn from(v: Vip) -> String {
        v.to_string()
    }
}

impl fmt::Display for Vip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// `arp_ignore`: 0 to 3 or 8 (ip-sysctl.rst).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct ArpIgnore(pub u8);

impl TryFrom<i64> for ArpIgnore {
    type Error = String;
    fn try_from(v: i64) -> Result<Self, String> {
        match v {
            0..=3 | 8 => Ok(Self(v as u8)),
            _ => Err(format!("arp_ignore must be 0, 1, 2, 3 or 8, not {v}")),
        }
    }
}

impl From<ArpIgnore> for i64 {
    fn from(v: ArpIgnore) -> i64 {
        v.0.into()
    }
}

/// `arp_announce`: 0 to 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct ArpAnnounce(pub u8);

impl TryFrom<i64> for ArpAnnounce {
    type Error = String;
    fn try_from(v: i64) -> Result<Self, String> {
        match v {
            0..=2 => Ok(Self(v as u8)),
            _ => Err(format!("arp_announce must be 0, 1 or 2, not {v}")),
        }
    }
}

impl From<ArpAnnounce> for i64 {
    fn from(v: ArpAnnounce) -> i64 {
        v.0.into()
    }
}

/// The `[dsr]` section. Defaults: `arp_ignore = 1`, `arp_announce = 2`, no VIPs (a site
/// profile lists them).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DsrSection {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vips: Option<Vec<Spanned<Vip>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arp_ignore: Option<Spanned<ArpIgnore>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arp_announce: Option<Spanned<ArpAnnounce>>,
    /// L3 DSR: how the balancer encapsulates packets to this host (default `none`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encap: Option<Spanned<Encap>>,
    /// A decapsulation device in external mode instead of the module's fallback device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decap_device: Option<Spanned<IfName>>,
    /// The UDP port GUE arrives on (`encap = "gue"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gue_port: Option<Spanned<u16>>,
    /// `lo` (default) or `tunnel`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vips_on: Option<Spanned<VipsOn>>,
    /// The effective reverse-path filter of the decapsulation device: 2 (default) or 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rp_filter: Option<Spanned<RpFilter>>,
    /// The MSS connections from the VIPs advertise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mss: Option<Spanned<Mss>>,
    /// Where the section and its ARP fields were written, filled in by [`DsrSection::validate`]
    /// (spans alone lose the file once parents are merged).
    #[serde(skip)]
    pub at: DsrAt,
    /// Where each VIP was written.
    #[serde(skip)]
    pub vip_at: Vec<(Vip, Loc)>,
}

/// Positions of a `[dsr]` section and of the ARP fields that won the merge.
#[derive(Debug, Clone, Default)]
pub struct DsrAt {
    pub section: Loc,
    pub arp_ignore: Option<Loc>,
    pub arp_announce: Option<Loc>,
    pub encap: Option<Loc>,
    pub decap_device: Option<Loc>,
    pub gue_port: Option<Loc>,
    pub vips_on: Option<Loc>,
    pub rp_filter: Option<Loc>,
    pub mss: Option<Loc>,
}

/// Equal when the values are: where they were written does not matter.
impl PartialEq for DsrSection {
    fn eq(&self, o: &Self) -> bool {
        (&self.vips, &self.arp_ignore, &self.arp_announce)
            == (&o.vips, &o.arp_ignore, &o.arp_announce)
            && (&self.encap, &self.decap_device, &self.gue_port)
                == (&o.encap, &o.decap_device, &o.gue_port)
            && (&self.vips_on, &self.rp_filter, &self.mss) == (&o.vips_on, &o.rp_filter, &o.mss)
    }
}

impl DsrSection {
    /// Rejects a VIP listed twice, and records where the section and its fields are.
    pub fn validate(
        s: Spanned<DsrSection>,
        loc: &Locator,
        errs: &mut Vec<ProfileError>,
    ) -> DsrSection {
        let section = loc.at(s.span());
        let mut s = s.into_inner();
        s.at = DsrAt {
            section,
            arp_ignore: s.arp_ignore.as_ref().map(|v| loc.at(v.span())),
            arp_announce: s.arp_announce.as_ref().map(|v| loc.at(v.span())),
            encap: s.encap.as_ref().map(|v| loc.at(v.span())),
            decap_device: s.decap_device.as_ref().map(|v| loc.at(v.span())),
            gue_port: s.gue_port.as_ref().map(|v| loc.at(v.span())),
            vips_on: s.vips_on.as_ref().map(|v| loc.at(v.span())),
            rp_filter: s.rp_filter.as_ref().map(|v| loc.at(v.span())),
            mss: s.mss.as_ref().map(|v| loc.at(v.span())),
        };
        // VIP positions, for the checks made once parents are merged.
        s.vip_at = s
            .vips
            .iter()
            .flatten()
            .map(|v| (*v.get_ref(), loc.at(v.span())))
            .collect();
        if let Some(vips) = &s.vips {
            for (i, v) in vips.iter().enumerate() {
                if let Some(first) = vips[..i].iter().find(|f| f.get_ref() == v.get_ref()) {
                    errs.push(ProfileError::invalid(
                        loc.at(v.span()),
                        format!(
                            "VIP {} is listed twice (first at {})",
                            v.get_ref(),
                            loc.at(first.span())
                        ),
                    ));
                }
            }
        }
        s
    }

    /// Field by field, the child wins.
    pub fn merge(self, child: DsrSection) -> DsrSection {
        let at = DsrAt {
            section: child.at.section,
            arp_ignore: child.at.arp_ignore.or(self.at.arp_ignore),
            arp_announce: child.at.arp_announce.or(self.at.arp_announce),
            encap: child.at.encap.or(self.at.encap),
            decap_device: child.at.decap_device.or(self.at.decap_device),
            gue_port: child.at.gue_port.or(self.at.gue_port),
            vips_on: child.at.vips_on.or(self.at.vips_on),
            rp_filter: child.at.rp_filter.or(self.at.rp_filter),
            mss: child.at.mss.or(self.at.mss),
        };
        let vip_at = if child.vips.is_some() {
            child.vip_at
        } else {
            self.vip_at
        };
        DsrSection {
            vips: child.vips.or(self.vips),
            arp_ignore: child.arp_ignore.or(self.arp_ignore),
            arp_announce: child.arp_announce.or(self.arp_announce),
            encap: child.encap.or(self.encap),
            decap_device: child.decap_device.or(self.decap_device),
            gue_port: child.gue_port.or(self.gue_port),
            vips_on: child.vips_on.or(self.vips_on),
            rp_filter: child.rp_filter.or(self.rp_filter),
            mss: child.mss.or(self.mss),
            at,
            vip_at,
        }
    }

    /// The VIPs, without positions.
    pub fn vip_list(&self) -> Vec<Vip> {
        self.vips.iter().flatten().map(|v| *v.get_ref()).collect()
    }

    /// `arp_ignore` with its default.
    pub fn ignore(&self) -> u8 {
        self.arp_ignore.as_ref().map_or(1, |a| a.get_ref().0)
    }

    /// `arp_announce` with its default.
    pub fn announce(&self) -> u8 {
        self.arp_announce.as_ref().map_or(2, |a| a.get_ref().0)
    }

    /// `encap` with its default.
    pub fn encap(&self) -> Encap {
        self.encap.as_ref().map_or(Encap::None, |e| *e.get_ref())
    }

    /// The decapsulation this section sets up; `None` for L2 DSR.
    pub fn decap(&self) -> Option<Decap> {
        Decap::new(
            self.encap(),
            self.decap_device.as_ref().map(|d| d.get_ref()),
            self.gue_port.as_ref().map(|p| *p.get_ref()),
            self.rp_filter.as_ref().map(|r| *r.get_ref()),
            self.vips_on.as_ref().map_or(VipsOn::Lo, |v| *v.get_ref()),
        )
    }

    /// The L3 DSR fields checked together once parents are merged: each only with an
    /// encapsulation that uses it, the GUE port with `gue`, the VIPs' family the one the
    /// encapsulation carries, and a decapsulation device that is not `lo` nor the other
    /// module's fallback.
    pub fn check_encap(&self) -> Vec<ProfileError> {
        let mut errs = Vec::new();
        let encap = self.encap();
        let at = |l: &Option<Loc>| l.clone().unwrap_or_else(|| self.at.section.clone());
        let mut err = |l: &Option<Loc>, msg: String| errs.push(ProfileError::invalid(at(l), msg));
        if encap == Encap::None {
            for (set, name, l) in [
                (
                    self.decap_device.is_some(),
                    "decap_device",
                    &self.at.decap_device,
                ),
                (self.gue_port.is_some(), "gue_port", &self.at.gue_port),
                (self.vips_on.is_some(), "vips_on", &self.at.vips_on),
                (self.rp_filter.is_some(), "rp_filter", &self.at.rp_filter),
                (self.mss.is_some(), "mss", &self.at.mss),
            ] {
                if set {
                    err(
                        l,
                        format!(
                            "[dsr] {name} is for L3 DSR: set encap = \"ipip\", \"gue\" or \"ip6ip6\""
                        ),
                    );
                }
            }
            return errs;
        }
        match (encap, self.gue_port.as_ref().map(|p| *p.get_ref())) {
            (Encap::Gue, None) => err(
                &self.at.encap,
                "encap = \"gue\" needs gue_port, the UDP port the balancer sends GUE to \
                 (ipvsadm --tun-port)"
                    .into(),
            ),
            (Encap::Gue, Some(0)) => err(&self.at.gue_port, "gue_port must be 1 to 65535".into()),
            (Encap::Gue, Some(_)) | (_, None) => {}
            (_, Some(_)) => err(
                &self.at.gue_port,
                format!("gue_port is for encap = \"gue\", not \"{encap}\""),
            ),
        }
        let on_tunnel = self.vips_on.as_ref().map(|v| *v.get_ref()) == Some(VipsOn::Tunnel);
        if self.rp_filter.as_ref().map(|r| r.get_ref().0) == Some(2) && !on_tunnel {
            err(
                &self.at.rp_filter,
                "rp_filter = 2 (loose) drops decapsulated packets on a device without an IPv4 \
                 address (the kernel's fib_validate_source), and with the VIPs on lo the \
                 device has none: leave rp_filter out (0) or set vips_on = \"tunnel\""
                    .into(),
            );
        }
        if encap.carries_v6() && self.rp_filter.is_some() {
            err(
                &self.at.rp_filter,
                "rp_filter is IPv4's (net.ipv4.conf.*.rp_filter); IPv6 has no reverse-path \
                 filter sysctl"
                    .into(),
            );
        }
        let (want, other) = if encap.carries_v6() {
            ("IPv6", "encap = \"ipip\" or \"gue\"")
        } else {
            ("IPv4", "encap = \"ip6ip6\"")
        };
        for (v, l) in &self.vip_at {
            if v.addr.is_ipv6() != encap.carries_v6() {
                errs.push(ProfileError::invalid(
                    l.clone(),
                    format!(
                        "VIP {v}: encap = \"{encap}\" carries {want} VIPs only; this one needs {other} \
                         on a host of its own"
                    ),
                ));
            }
        }
        if let Some(d) = &self.decap_device {
            let name = d.get_ref().as_str();
            let other_fallback = if encap.carries_v6() {
                "tunl0"
            } else {
                "ip6tnl0"
            };
            if name == "lo" || name == other_fallback {
                errs.push(ProfileError::invalid(
                    at(&self.at.decap_device),
                    format!(
                        "decap_device {name:?} cannot decapsulate {encap}: name a new device \
                         (created in external mode) or leave it out for {}",
                        encap.fallback().unwrap_or("-")
                    ),
                ));
            }
        }
        errs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vips_need_host_prefixes() {
        assert_eq!(
            "192.168.16.100".parse::<Vip>().unwrap().to_string(),
            "192.168.16.100/32"
        );
        assert_eq!("2001:db8::100/128".parse::<Vip>().unwrap().prefix, 128);
        assert!(
            "192.168.16.0/24"
                .parse::<Vip>()
                .unwrap_err()
                .contains("host prefix")
        );
        assert!("2001:db8::/64".parse::<Vip>().is_err());
        assert!("192.168.16.300/32".parse::<Vip>().is_err());
        assert!("192.168.16.1/x".parse::<Vip>().is_err());
    }

    #[test]
    fn addresses_that_never_work_on_lo_are_rejected() {
        for (vip, why) in [
            ("0.0.0.0", "the unspecified address"),
            ("::/128", "the unspecified address"),
            ("255.255.255.255/32", "limited broadcast"),
            ("224.0.0.18", "multicast address (224.0.0.0/4)"),
            ("239.255.255.250/32", "multicast"),
            ("ff02::1", "multicast address (ff00::/8)"),
            ("127.0.0.1/32", "a loopback address: all of 127.0.0.0/8"),
            ("127.255.0.9", "loopback"),
            ("::1", "loopback address: ::1"),
            (
                "::ffff:192.0.2.10/128",
                "IPv4-mapped IPv6 address (::ffff:0:0/96): it stands for an IPv4 peer in the \
                 socket API and never appears in a packet; list the IPv4 address 192.0.2.10 \
                 instead",
            ),
        ] {
            let err = vip.parse::<Vip>().unwrap_err();
            assert!(
                err.starts_with(&format!("VIP {vip:?} is ")) && err.contains(why),
                "{vip}: {err}"
            );
        }
        // Even with a prefix that is wrong too, the address is what is reported.
        assert!(
            "224.0.0.0/4"
                .parse::<Vip>()
                .unwrap_err()
                .contains("multicast")
        );
        // Just outside the rejected ranges: not refused here.
        for ok in [
            "126.255.255.255",
            "128.0.0.1",
            "223.255.255.254",
            "255.255.255.254",
            "::2",
            "fe80::1",
            "::ffff:0:c000:20a",
            "2001:db8::ffff:c000:20a",
        ] {
            assert!(ok.parse::<Vip>().is_ok(), "{ok}");
        }
    }

    #[test]
    fn arp_ranges_follow_the_kernel() {
        for v in [0, 1, 2, 3, 8] {
            assert!(ArpIgnore::try_from(v).is_ok());
        }
        for v in [-1, 4, 7, 9] {
            assert!(ArpIgnore::try_from(v).is_err());
        }
        assert!(ArpAnnounce::try_from(2).is_ok());
        assert!(ArpAnnounce::try_from(3).is_err());
    }
}
