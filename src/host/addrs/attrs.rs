//! What an address carries besides ADDR/PREFIX, in the terms of include/uapi/linux/if_addr.h
//! (IFA_LABEL, IFA_FLAGS with its IFA_F_* bits, `ifa_scope`, IFA_CACHEINFO's `struct
//! ifa_cacheinfo`) and of `ip addr add`, whose names the serialized form uses.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::types::IfName;

/// `INFINITY_LIFE_TIME`: an `ifa_cacheinfo` lifetime that never runs out.
pub const FOREVER: u32 = u32::MAX;

/// What an address was added with besides ADDR/PREFIX, as `ip addr add` takes it:
/// `label eth0:vip scope link noprefixroute valid_lft 86400 preferred_lft 3600`.
///
/// The default is what a plain `ip addr add ADDR/PREFIX dev IFACE` gives, and every field
/// that equals it is left out when serialized: a snapshot written before attributes were
/// recorded has none, and means exactly that. State the kernel keeps for itself (secondary,
/// tentative, deprecated, dadfailed, permanent) is not recorded: permanent is what infinite
/// lifetimes give, the rest the kernel works out again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AddrAttrs {
    /// IFA_LABEL, IPv4 only (`eth0:vip`); `None` is the interface's own name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The IFA_FLAGS an address can be added with.
    #[serde(skip_serializing_if = "AddrFlags::is_empty")]
    pub flags: AddrFlags,
    /// `ifa_scope`; `None` is what `ip addr add` picks: host for 127.0.0.0/8, global for
    /// other IPv4 addresses. IPv6 scopes are always `None`: the kernel derives them from the
    /// address and ignores the one asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<AddrScope>,
    /// Seconds the address had left to live when read (`ifa_cacheinfo.ifa_valid`); `None`
    /// is forever.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_lft: Option<u32>,
    /// Seconds it had left to be preferred (`ifa_cacheinfo.ifa_prefered`); `None` is forever.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_lft: Option<u32>,
}

impl AddrAttrs {
    /// Whether these are what a plain `ip addr add` gives.
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    /// The attributes as the kernel reports them (IFA_LABEL, IFA_FLAGS or the header's
    /// flags, `ifa_scope`, IFA_CACHEINFO's preferred and valid), with everything that equals
    /// the default written as the default and the kernel's own state flags dropped.
    pub fn from_kernel(
        iface: &IfName,
        addr: IpAddr,
        label: Option<&str>,
        flags: u32,
        scope: u8,
        cacheinfo: Option<(u32, u32)>,
    ) -> Self {
        let (preferred, valid) = cacheinfo.unwrap_or((FOREVER, FOREVER));
        let lifetime = |s: u32| (s != FOREVER).then_some(s);
        Self {
            label: label.map(str::to_string),
            flags: AddrFlags(flags),
            scope: Some(AddrScope(scope)),
            valid_lft: lifetime(valid),
            preferred_lft: lifetime(preferred),
        }
        .normalized(iface, addr)
    }

    /// The same attributes as the kernel would keep them for `addr` on `iface`: no label on
    /// IPv6 or one equal to the interface name, only flags that can be set on add, no scope
    /// equal to the default one or on IPv6, no `FOREVER` lifetime.
    pub fn normalized(mut self, iface: &IfName, addr: IpAddr) -> Self {
        if addr.is_ipv6() || self.label.as_deref() == Some(iface.as_str()) {
            self.label = None;
        }
        self.flags = AddrFlags(self.flags.0 & AddrFlags::SETTABLE);
        if addr.is_ipv6() || self.scope == Some(AddrScope::default_for(addr)) {
            self.scope = None;
        }
        self.valid_lft = self.valid_lft.filter(|s| *s != FOREVER);
        self.preferred_lft = self.preferred_lft.filter(|s| *s != FOREVER);
        self
    }

    /// The scope to add `addr` with: the recorded one, or the one `ip addr add` picks.
    pub fn scope_for(&self, addr: IpAddr) -> AddrScope {
        self.scope.unwrap_or(AddrScope::default_for(addr))
    }

    /// `(preferred, valid)` for IFA_CACHEINFO, or `None` when both are forever and, as with
    /// iproute2, no attribute is sent. The kernel refuses a valid lifetime of 0 and a
    /// preferred one above the valid one (EINVAL): an address read in its last second comes
    /// back with one second to live, a preferred lifetime is cut to the valid one.
    pub fn cacheinfo(&self) -> Option<(u32, u32)> {
        if self.valid_lft.is_none() && self.preferred_lft.is_none() {
            return None;
        }
        let valid = self.valid_lft.unwrap_or(FOREVER).max(1);
        let preferred = self.preferred_lft.unwrap_or(FOREVER).min(valid);
        Some((preferred, valid))
    }
}

/// In `ip addr add` order and syntax; empty for the defaults.
impl fmt::Display for AddrAttrs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut words = Vec::new();
        if let Some(l) = &self.label {
            words.push(format!("label {l}"));
        }
        if let Some(s) = self.scope {
            words.push(format!("scope {s}"));
        }
        words.extend(self.flags.names().map(str::to_string));
        let lft = |s: Option<u32>| s.map_or("forever".to_string(), |s| s.to_string());
        if self.valid_lft.is_some() || self.preferred_lft.is_some() {
            words.push(format!("valid_lft {}", lft(self.valid_lft)));
            words.push(format!("preferred_lft {}", lft(self.preferred_lft)));
        }
        f.write_str(&words.join(" "))
    }
}

/// IFA_F_* flags (include/uapi/linux/if_addr.h) that an address can be added with, serialized
/// by their `ip addr` names (`["noprefixroute"]`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "Vec<String>", into = "Vec<String>")]
pub struct AddrFlags(u32);

impl AddrFlags {
    /// IFA_F_NODAD: no duplicate address detection (IPv6).
    pub const NODAD: Self = Self(0x02);
    /// IFA_F_OPTIMISTIC: optimistic DAD (IPv6).
    pub const OPTIMISTIC: Self = Self(0x04);
    /// IFA_F_HOMEADDRESS: a Mobile IPv6 home address.
    pub const HOMEADDRESS: Self = Self(0x10);
    /// IFA_F_MANAGETEMPADDR: make privacy addresses from this prefix (IPv6).
    pub const MANAGETEMPADDR: Self = Self(0x100);
    /// IFA_F_NOPREFIXROUTE: add no route for the address's prefix.
    pub const NOPREFIXROUTE: Self = Self(0x200);
    /// IFA_F_MCAUTOJOIN: join the multicast group of a multicast address.
    pub const MCAUTOJOIN: Self = Self(0x400);

    /// What the kernel takes on add (inet6_rtm_newaddr masks IFA_FLAGS to these; IPv4 keeps
    /// the bits as given). The others are state it sets itself.
    const SETTABLE: u32 = 0x02 | 0x04 | 0x10 | 0x100 | 0x200 | 0x400;

    const NAMES: [(Self, &'static str); 6] = [
        (Self::NODAD, "nodad"),
        (Self::OPTIMISTIC, "optimistic"),
        (Self::HOMEADDRESS, "home"),
        (Self::MANAGETEMPADDR, "mngtmpaddr"),
        (Self::NOPREFIXROUTE, "noprefixroute"),
        (Self::MCAUTOJOIN, "autojoin"),
    ];

    /// The raw IFA_FLAGS bits.
    pub fn bits(self) -> u32 {
        self.0
    }

    /// No flag set.
    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }

    /// Whether every flag of `other` is set.
    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// The `ip addr` names of the flags set.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Self::NAMES
            .into_iter()
            .filter(move |(f, _)| self.contains(*f))
            .map(|(_, n)| n)
    }
}

impl std::ops::BitOr for AddrFlags {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl TryFrom<Vec<String>> for AddrFlags {
    type Error = String;
    fn try_from(names: Vec<String>) -> Result<Self, String> {
        names.iter().try_fold(Self::default(), |acc, n| {
            Self::NAMES
                .iter()
                .find(|(_, name)| name == n)
                .map(|(f, _)| acc | *f)
                .ok_or_else(|| format!("unknown address flag {n:?}"))
        })
    }
}

impl From<AddrFlags> for Vec<String> {
    fn from(f: AddrFlags) -> Self {
        f.names().map(str::to_string).collect()
    }
}

/// An `ifa_scope` (`enum rt_scope_t`, include/uapi/linux/rtnetlink.h), serialized by its
/// `ip addr` name (`global`, `site`, `link`, `host`, `nowhere`) or, for the values without
/// one, its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AddrScope(pub u8);

impl AddrScope {
    /// RT_SCOPE_UNIVERSE.
    pub const GLOBAL: Self = Self(0);
    /// RT_SCOPE_HOST.
    pub const HOST: Self = Self(254);

    const NAMES: [(u8, &'static str); 5] = [
        (0, "global"),
        (200, "site"),
        (253, "link"),
        (254, "host"),
        (255, "nowhere"),
    ];

    /// The scope `ip addr add` asks for when given none: host for 127.0.0.0/8, global
    /// otherwise.
    pub fn default_for(addr: IpAddr) -> Self {
        match addr {
            IpAddr::V4(v4) if v4.is_loopback() => Self::HOST,
            _ => Self::GLOBAL,
        }
    }
}

impl fmt::Display for AddrScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match Self::NAMES.iter().find(|(v, _)| *v == self.0) {
            Some((_, name)) => f.write_str(name),
            None => write!(f, "{}", self.0),
        }
    }
}

impl TryFrom<String> for AddrScope {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        if let Some((v, _)) = Self::NAMES.iter().find(|(_, n)| *n == s) {
            return Ok(Self(*v));
        }
        s.parse()
            .map(Self)
            .map_err(|_| format!("unknown address scope {s:?}"))
    }
}

impl From<AddrScope> for String {
    fn from(s: AddrScope) -> String {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eth0() -> IfName {
        "eth0".parse().unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn what_plain_ip_addr_add_gives_reads_as_the_default() {
        // IFA_F_PERMANENT (0x80) comes with infinite lifetimes, the label is the interface's.
        let v4 = AddrAttrs::from_kernel(&eth0(), ip("192.0.2.10"), Some("eth0"), 0x80, 0, None);
        assert!(v4.is_default(), "{v4:?}");
        let lo = "lo".parse().unwrap();
        let host = AddrAttrs::from_kernel(&lo, ip("127.0.0.1"), Some("lo"), 0x80, 254, None);
        assert!(host.is_default(), "{host:?}");
        // IPv6 has no label and the kernel picks its scope; tentative (0x40) is state.
        let forever = Some((FOREVER, FOREVER));
        let v6 = AddrAttrs::from_kernel(&eth0(), ip("fe80::1"), None, 0xc0, 253, forever);
        assert!(v6.is_default(), "{v6:?}");
    }

    #[test]
    fn settable_flags_label_scope_and_lifetimes_are_kept() {
        // noprefixroute | secondary | deprecated: only the first can be asked for.
        let a = AddrAttrs::from_kernel(
            &eth0(),
            ip("192.0.2.10"),
            Some("eth0:vip"),
            0x200 | 0x01 | 0x20,
            253,
            Some((0, 86_399)),
        );
        assert_eq!(
            a,
            AddrAttrs {
                label: Some("eth0:vip".into()),
                flags: AddrFlags::NOPREFIXROUTE,
                scope: Some(AddrScope(253)),
                valid_lft: Some(86_399),
                preferred_lft: Some(0),
            }
        );
        assert_eq!(
            a.to_string(),
            "label eth0:vip scope link noprefixroute valid_lft 86399 preferred_lft 0"
        );
        let v6 = AddrAttrs::from_kernel(
            &eth0(),
            ip("2001:db8::10"),
            Some("eth0:x"),
            0x02 | 0x200 | 0x800,
            0,
            Some((3600, FOREVER)),
        );
        assert_eq!(v6.flags, AddrFlags::NODAD | AddrFlags::NOPREFIXROUTE);
        assert_eq!((v6.label, v6.scope), (None, None));
        assert_eq!((v6.preferred_lft, v6.valid_lft), (Some(3600), None));
    }

    #[test]
    fn cacheinfo_is_sent_only_for_finite_lifetimes_the_kernel_accepts() {
        assert_eq!(AddrAttrs::default().cacheinfo(), None);
        let a = |p, v| AddrAttrs {
            preferred_lft: p,
            valid_lft: v,
            ..AddrAttrs::default()
        };
        assert_eq!(a(Some(60), Some(120)).cacheinfo(), Some((60, 120)));
        assert_eq!(a(Some(60), None).cacheinfo(), Some((60, FOREVER)));
        // Valid 0 is EINVAL, and so is preferred above valid.
        assert_eq!(a(Some(0), Some(0)).cacheinfo(), Some((0, 1)));
        assert_eq!(a(None, Some(120)).cacheinfo(), Some((120, 120)));
    }

    #[test]
    fn serialized_attributes_name_flags_and_scopes_and_leave_defaults_out() {
        assert_eq!(serde_json::to_string(&AddrAttrs::default()).unwrap(), "{}");
        let a = AddrAttrs {
            label: Some("eth0:vip".into()),
            flags: AddrFlags::NOPREFIXROUTE | AddrFlags::NODAD,
            scope: Some(AddrScope(253)),
            valid_lft: Some(86_400),
            preferred_lft: None,
        };
        let text = serde_json::to_string(&a).unwrap();
        assert_eq!(
            text,
            r#"{"label":"eth0:vip","flags":["nodad","noprefixroute"],"scope":"link","valid_lft":86400}"#
        );
        assert_eq!(serde_json::from_str::<AddrAttrs>(&text).unwrap(), a);
        let odd: AddrAttrs = serde_json::from_str(r#"{"scope":"17","later":1}"#).unwrap();
        assert_eq!(odd.scope, Some(AddrScope(17)));
        let bad = serde_json::from_str::<AddrAttrs>(r#"{"flags":["permanent"]}"#).unwrap_err();
        assert!(bad.to_string().contains("unknown address flag"), "{bad}");
    }
}
