//! Port lists as the kernel prints them (`net.ipv4.ip_local_reserved_ports`: `8000-8010,9100`,
//! an empty line for none), and the `{ include = [80, 443, 9100] }` value form: at least these
//! ports reserved. A site's own reservations are never dropped: the live list stands when it
//! covers the ports, otherwise the union is written (the kernel replaces the whole bitmap on a
//! write, so writing only the profile's ports would drop the rest).

use std::fmt;
use std::str::FromStr;

/// A set of ports, kept as sorted, merged, inclusive ranges.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PortSet(Vec<(u16, u16)>);

impl PortSet {
    /// The set of the given inclusive ranges, merged.
    pub fn from_ranges(ranges: impl IntoIterator<Item = (u16, u16)>) -> Self {
        let mut r: Vec<(u16, u16)> = ranges.into_iter().collect();
        r.sort_unstable();
        let mut out: Vec<(u16, u16)> = Vec::with_capacity(r.len());
        for (a, b) in r {
            match out.last_mut() {
                // Overlapping or adjacent (`80-81` and `82`): one range, as the kernel prints it.
                Some(last) if u32::from(a) <= u32::from(last.1) + 1 => last.1 = last.1.max(b),
                _ => out.push((a, b)),
            }
        }
        PortSet(out)
    }

    /// Whether every port of `other` is in this set.
    pub fn covers(&self, other: &PortSet) -> bool {
        other
            .0
            .iter()
            .all(|&(a, b)| self.0.iter().any(|&(x, y)| x <= a && b <= y))
    }

    /// Both sets together.
    pub fn union(&self, other: &PortSet) -> PortSet {
        PortSet::from_ranges(self.0.iter().chain(&other.0).copied())
    }

    /// The ports of this set that `live` lacks, for the report's note.
    pub fn missing_from(&self, live: &PortSet) -> PortSet {
        let mut out = Vec::new();
        for &(a, b) in &self.0 {
            let mut p = u32::from(a);
            while p <= u32::from(b) {
                let port = p as u16;
                if !live.covers(&PortSet(vec![(port, port)])) {
                    out.push((port, port));
                }
                p += 1;
            }
        }
        PortSet::from_ranges(out)
    }

    /// The ranges, sorted and merged.
    pub fn ranges(&self) -> &[(u16, u16)] {
        &self.0
    }
}

/// The kernel's form: `8000-8010,9100`; empty for none.
impl fmt::Display for PortSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|&(a, b)| {
                if a == b {
                    a.to_string()
                } else {
                    format!("{a}-{b}")
                }
            })
            .collect();
        f.write_str(&parts.join(","))
    }
}

/// One port (`9100`) or a range (`8000-8010`).
pub fn parse_range(s: &str) -> Result<(u16, u16), String> {
    let port = |p: &str| {
        p.trim()
            .parse::<u16>()
            .map_err(|_| format!("{p:?} is not a port (0-65535)"))
    };
    match s.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (port(a)?, port(b)?);
            if a > b {
                return Err(format!("the range {s:?} runs backwards"));
            }
            Ok((a, b))
        }
        None => port(s).map(|p| (p, p)),
    }
}

/// Parses the kernel's list (commas between ports and ranges; blank for none). Equivalent to
/// reading `sysctl net.ipv4.ip_local_reserved_ports`.
impl FromStr for PortSet {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(PortSet::default());
        }
        s.split(',')
            .map(parse_range)
            .collect::<Result<Vec<_>, _>>()
            .map(PortSet::from_ranges)
    }
}

/// What `{ include = [...] }` asks for, given the live list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Included {
    /// What to write: the live list when it covers the ports, else the union.
    pub value: String,
    /// The ports the live list lacks (empty when in sync).
    pub added: PortSet,
}

/// Resolves `{ include = ports }` against a live value (pure).
pub fn include(ports: &PortSet, live: &str) -> Result<Included, String> {
    let now: PortSet = live.parse().map_err(|e| {
        format!("include needs a port list (8000-8010,9100); this key holds {live:?}: {e}")
    })?;
    if now.covers(ports) {
        // Kept as the kernel printed it: nothing to write.
        return Ok(Included {
            value: live.trim().to_string(),
            added: PortSet::default(),
        });
    }
    Ok(Included {
        value: now.union(ports).to_string(),
        added: ports.missing_from(&now),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(s: &str) -> PortSet {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_prints_the_kernel_form() {
        for (text, canonical) in [
            ("", ""),
            ("\n", ""),
            ("9100\n", "9100"),
            ("8000-8010,9100\n", "8000-8010,9100"),
            ("9100,80,443", "80,443,9100"),
            ("80,81,82", "80-82"),
            ("8000-8010,8005-8020", "8000-8020"),
            ("0,65535", "0,65535"),
        ] {
            assert_eq!(set(text).to_string(), canonical, "{text:?}");
        }
        for bad in ["80,", "x", "65536", "10-5", "80 443", "-1"] {
            assert!(bad.parse::<PortSet>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn include_keeps_a_covering_list_and_writes_the_union_otherwise() {
        let want = set("80,443,9100");
        // (live, value to write, ports added)
        for (live, value, added) in [
            ("80,443,9100\n", "80,443,9100", ""),
            ("1-1024,9000-9200\n", "1-1024,9000-9200", ""),
            ("\n", "80,443,9100", "80,443,9100"),
            ("8000-8010\n", "80,443,8000-8010,9100", "80,443,9100"),
            ("443,9101\n", "80,443,9100-9101", "80,9100"),
        ] {
            let r = include(&want, live).unwrap();
            assert_eq!(
                (r.value.as_str(), r.added.to_string().as_str()),
                (value, added),
                "{live:?}"
            );
        }
        assert!(include(&want, "cubic\n").unwrap_err().contains("port list"));
    }

    #[test]
    fn covers_and_union() {
        assert!(set("1-100").covers(&set("80")));
        assert!(!set("1-79,81-100").covers(&set("80")));
        assert!(set("").covers(&set("")));
        assert_eq!(set("1-5").union(&set("6,8")).to_string(), "1-6,8");
    }
}
