//! The `[dsr]` section as written in a profile: VIPs with host prefixes, `arp_ignore` and
//! `arp_announce` with the kernel's ranges, validated while loading and merged over `extends`.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::profile::{Locator, ProfileError};

/// A virtual IP with a host prefix (/32 or /128). A wider prefix on `lo` would make the whole
/// range local, so it is rejected while loading.
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DsrSection {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vips: Option<Vec<Spanned<Vip>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arp_ignore: Option<ArpIgnore>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arp_announce: Option<ArpAnnounce>,
}

impl DsrSection {
    /// Rejects a VIP listed twice.
    pub fn validate(
        s: Spanned<DsrSection>,
        loc: &Locator,
        errs: &mut Vec<ProfileError>,
    ) -> DsrSection {
        let s = s.into_inner();
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
        DsrSection {
            vips: child.vips.or(self.vips),
            arp_ignore: child.arp_ignore.or(self.arp_ignore),
            arp_announce: child.arp_announce.or(self.arp_announce),
        }
    }

    /// The VIPs, without positions.
    pub fn vip_list(&self) -> Vec<Vip> {
        self.vips.iter().flatten().map(|v| *v.get_ref()).collect()
    }

    /// `arp_ignore` with its default.
    pub fn ignore(&self) -> u8 {
        self.arp_ignore.map_or(1, |a| a.0)
    }

    /// `arp_announce` with its default.
    pub fn announce(&self) -> u8 {
        self.arp_announce.map_or(2, |a| a.0)
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
