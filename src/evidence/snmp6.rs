//! `/proc/net/snmp6`: IPv6's MIB counters, one `Name value` pair a line (`Icmp6InPktTooBigs
//! 0`), unlike `/proc/net/snmp`'s header-and-values pairs. Read by name, so that a kernel
//! printing more or fewer counters loses none that evidence uses.

use std::collections::BTreeMap;

/// The counters of `/proc/net/snmp6` that evidence uses, by their name there (which is
/// nstat's).
pub const WANTED: &[&str] = &["Icmp6InPktTooBigs", "Icmp6OutPktTooBigs", "Ip6ReasmReqds"];

/// Whether `name` is one of this file's counters (`Ip6…`, `Icmp6…`, `Udp6…`, `UdpLite6…`).
pub fn owns(name: &str) -> bool {
    ["Ip6", "Icmp6", "Udp6", "UdpLite6"]
        .iter()
        .any(|p| name.starts_with(p))
}

/// The wanted counters of the file.
pub fn parse(text: &str) -> Result<BTreeMap<String, u64>, String> {
    let mut out = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let mut words = line.split_whitespace();
        let (Some(name), Some(value), None) = (words.next(), words.next(), words.next()) else {
            if line.trim().is_empty() {
                continue;
            }
            return Err(format!("line {}: not `NAME VALUE`: {line:?}", n + 1));
        };
        if WANTED.contains(&name) {
            let v = value
                .parse()
                .map_err(|_| format!("line {}: {name}: {value:?} is not a number", n + 1))?;
            out.insert(name.to_string(), v);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SNMP6_6_18: &str = include_str!("../../tests/fixtures/proc-net/6.18/snmp6");

    #[test]
    fn a_6_18_file_has_every_wanted_counter() {
        let m = parse(SNMP6_6_18).unwrap();
        assert_eq!(m.keys().map(String::as_str).collect::<Vec<_>>().len(), 3);
        for name in WANTED {
            assert!(m.contains_key(*name), "{name}");
        }
        assert!(owns("Icmp6InPktTooBigs") && owns("Ip6ReasmReqds") && !owns("IpReasmReqds"));
    }

    #[test]
    fn a_bad_line_is_an_error_naming_it() {
        assert!(
            parse("Icmp6InPktTooBigs x\n")
                .unwrap_err()
                .contains("line 1")
        );
        assert!(parse("Icmp6InPktTooBigs\n").is_err());
        assert_eq!(parse("\nIp6ReasmReqds 7\n").unwrap()["Ip6ReasmReqds"], 7);
    }
}
