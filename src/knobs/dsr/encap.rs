//! L3 DSR as a profile writes it: which encapsulation reaches this real server (`encap`),
//! the device that takes it off (`decap_device`), the GUE port, where the VIPs live, the
//! reverse-path filter of the decapsulation device, and the MSS that fits the tunnel.
//!
//! The balancer wraps each packet for a VIP in an outer IP header addressed to the real
//! server (IPVS tunnel mode, Katran: IPIP and IP6IP6; GitHub's GLB director and IPVS
//! `--tun-type gue`: UDP with a GUE header). The real server's kernel hands it to the
//! tunnel module, whose device (the fallback `tunl0`/`ip6tnl0` or one in external mode)
//! must be up, must not drop it in the reverse-path filter, and delivers the inner packet to
//! the VIP on `lo`; the reply goes straight to the client.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::host::{FouFamily, FouKind, FouPort, LinkKind};
use crate::types::IfName;

/// How the balancer reaches this host: `none` is L2 DSR (the balancer rewrites the MAC
/// only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encap {
    #[default]
    None,
    /// IPv4 in IPv4 (protocol 4): IPVS `--ipip`, Katran for IPv4 VIPs.
    Ipip,
    /// IPv4 in GUE in UDP (IPVS `--tun-type gue`, GLB): a FOU port in GUE mode hands the
    /// inner packet to the ipip module.
    Gue,
    /// IPv6 in IPv6 (protocol 41): Katran for IPv6 VIPs.
    Ip6ip6,
}

impl Encap {
    /// The kind of the decapsulation device; `None` for L2 DSR.
    pub fn link(self) -> Option<LinkKind> {
        match self {
            Self::None => None,
            Self::Ipip | Self::Gue => Some(LinkKind::Ipip),
            Self::Ip6ip6 => Some(LinkKind::Ip6tnl),
        }
    }

    /// The module's fallback device, made in every namespace when it loads.
    pub fn fallback(self) -> Option<&'static str> {
        match self {
            Self::None => None,
            Self::Ipip | Self::Gue => Some("tunl0"),
            Self::Ip6ip6 => Some("ip6tnl0"),
        }
    }

    /// Whether the VIPs it carries are IPv6 (`ip6ip6`) or IPv4 (the others).
    pub fn carries_v6(self) -> bool {
        self == Self::Ip6ip6
    }

    /// Bytes the balancer adds in front of the inner packet: the outer IPv4 header (20), the
    /// outer IPv6 header (40), or IPv4 + UDP + the 4-byte GUE header (20 + 8 + 4, RFC draft
    /// ietf-intarea-gue section 3.1; IPVS's `ipvs_gue_encap` adds exactly these).
    pub fn overhead(self) -> u32 {
        match self {
            Self::None => 0,
            Self::Ipip => 20,
            Self::Gue => 32,
            Self::Ip6ip6 => 40,
        }
    }
}

impl fmt::Display for Encap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::None => "none",
            Self::Ipip => "ipip",
            Self::Gue => "gue",
            Self::Ip6ip6 => "ip6ip6",
        })
    }
}

/// Where the VIPs go: `lo` (as in L2 DSR) or the decapsulation device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VipsOn {
    #[default]
    Lo,
    Tunnel,
}

/// The effective `rp_filter` wanted on the decapsulation device: 0 (off) or 2 (loose). Strict
/// mode (1) drops decapsulated packets, whose client source is not routed via the tunnel;
/// loose mode drops them too on a device without an IPv4 address (see
/// [`super::decap::rp_filter_passes`]), so 2 needs the VIPs on the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct RpFilter(pub u8);

impl TryFrom<i64> for RpFilter {
    type Error = String;
    fn try_from(v: i64) -> Result<Self, String> {
        match v {
            0 | 2 => Ok(Self(v as u8)),
            1 => Err(
                "rp_filter = 1 (strict) drops every decapsulated packet: the client's \
                      address is not routed through the tunnel device; use 2 (loose) or 0"
                    .into(),
            ),
            _ => Err(format!("rp_filter must be 0 or 2, not {v}")),
        }
    }
}

impl From<RpFilter> for i64 {
    fn from(v: RpFilter) -> i64 {
        v.0.into()
    }
}

/// `mss = "auto"` or a number of bytes: what connections from the VIPs advertise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawMss", into = "RawMss")]
pub enum Mss {
    /// The uplink's MTU less the encapsulation and the inner IP and TCP headers.
    Auto,
    Fixed(u16),
}

/// `mss` as written: a number or a word.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RawMss {
    Number(i64),
    Word(String),
}

impl TryFrom<RawMss> for Mss {
    type Error = String;
    /// At least 536 (the IPv4 default MSS of RFC 9293 section 3.7.1; a smaller one only cuts
    /// the stream into more segments) and at most 65495 (65535 less the IPv4 and TCP headers).
    fn try_from(v: RawMss) -> Result<Self, String> {
        match v {
            RawMss::Word(w) if w == "auto" => Ok(Self::Auto),
            RawMss::Word(w) => Err(format!(
                "mss must be \"auto\" or a number of bytes, not {w:?}"
            )),
            RawMss::Number(n) if (536..=65495).contains(&n) => Ok(Self::Fixed(n as u16)),
            RawMss::Number(n) => Err(format!(
                "mss must be between 536 and 65495 bytes (or \"auto\"), not {n}"
            )),
        }
    }
}

impl From<Mss> for RawMss {
    fn from(m: Mss) -> Self {
        match m {
            Mss::Auto => Self::Word("auto".into()),
            Mss::Fixed(n) => Self::Number(n.into()),
        }
    }
}

/// The decapsulation this host is set up for, resolved from the section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decap {
    pub encap: Encap,
    pub link: LinkKind,
    pub iface: IfName,
    /// A named device in external mode; false for the module's fallback device.
    pub external: bool,
    /// The GUE receive port.
    pub fou: Option<FouPort>,
    /// The effective reverse-path filter wanted on `iface` (IPv4 tunnels only).
    pub rp_filter: Option<u8>,
    pub vips_on: VipsOn,
}

impl Decap {
    /// `None` for L2 DSR. `device` is `decap_device` (a fallback name is the fallback).
    pub fn new(
        encap: Encap,
        device: Option<&IfName>,
        gue_port: Option<u16>,
        rp_filter: Option<RpFilter>,
        vips_on: VipsOn,
    ) -> Option<Self> {
        let link = encap.link()?;
        let fallback = encap.fallback()?;
        let (iface, external) = match device {
            Some(d) if d.as_str() != fallback => (d.clone(), true),
            _ => (fallback.parse().ok()?, false),
        };
        let fou = (encap == Encap::Gue).then(|| FouPort {
            port: gue_port.unwrap_or(0),
            family: FouFamily::V4,
            kind: FouKind::Gue,
        });
        // Loose mode passes only on a device with an address: the VIPs on it.
        let default = if vips_on == VipsOn::Tunnel { 2 } else { 0 };
        let rp_filter = (!encap.carries_v6()).then(|| rp_filter.map_or(default, |r| r.0));
        Some(Self {
            encap,
            link,
            iface,
            external,
            fou,
            rp_filter,
            vips_on,
        })
    }

    /// `tunl0 (ipip fallback)` or `ipip0 (ipip external)`.
    pub fn object(&self) -> String {
        let mode = if self.external {
            "external"
        } else {
            "fallback"
        };
        format!("{} ({} {mode})", self.iface, self.link)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encapsulations_name_their_device_and_overhead() {
        let d = Decap::new(Encap::Gue, None, Some(6080), None, VipsOn::Lo).unwrap();
        assert_eq!(
            (d.iface.as_str(), d.external, d.rp_filter, d.link.clone()),
            ("tunl0", false, Some(0), LinkKind::Ipip)
        );
        assert_eq!(d.fou.unwrap().to_string(), "port 6080 gue");
        let ipip0: IfName = "ipip0".parse().unwrap();
        let d = Decap::new(
            Encap::Ipip,
            Some(&ipip0),
            None,
            Some(RpFilter(0)),
            VipsOn::Tunnel,
        )
        .unwrap();
        assert_eq!(
            (d.object(), d.rp_filter, d.fou),
            ("ipip0 (ipip external)".into(), Some(0), None)
        );
        let tunl0: IfName = "tunl0".parse().unwrap();
        assert!(
            !Decap::new(Encap::Ipip, Some(&tunl0), None, None, VipsOn::Lo)
                .unwrap()
                .external
        );
        let d = Decap::new(Encap::Ip6ip6, None, None, None, VipsOn::Lo).unwrap();
        assert_eq!(
            (d.object().as_str(), d.rp_filter),
            ("ip6tnl0 (ip6tnl fallback)", None)
        );
        assert!(Decap::new(Encap::None, None, None, None, VipsOn::Lo).is_none());
        let over: Vec<u32> = [Encap::None, Encap::Ipip, Encap::Gue, Encap::Ip6ip6]
            .map(Encap::overhead)
            .to_vec();
        assert_eq!(over, [0, 20, 32, 40]);
    }

    #[test]
    fn rp_filter_and_mss_values() {
        assert!(RpFilter::try_from(2).is_ok() && RpFilter::try_from(0).is_ok());
        assert!(RpFilter::try_from(1).unwrap_err().contains("strict"));
        assert!(RpFilter::try_from(3).is_err());
        #[derive(Deserialize, Debug)]
        struct T {
            mss: Mss,
        }
        let t: T = toml::from_str("mss = \"auto\"").unwrap();
        assert_eq!(t.mss, Mss::Auto);
        let t: T = toml::from_str("mss = 1400").unwrap();
        assert_eq!(t.mss, Mss::Fixed(1400));
        let e = toml::from_str::<T>("mss = 100").unwrap_err().to_string();
        assert!(e.contains("between 536 and 65495 bytes"), "{e}");
        let e = toml::from_str::<T>("mss = \"big\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("not \"big\""), "{e}");
    }
}
