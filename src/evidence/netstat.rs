//! `/proc/net/netstat`: the kernel's extended MIB counters (`TcpExt`, `IpExt`, `MPTcpExt`),
//! printed by `netstat_seq_show` (net/ipv4/proc.c) as pairs of lines, a header naming the
//! fields and a line of values, each starting with the same prefix:
//!
//! ```text
//! TcpExt: SyncookiesSent SyncookiesRecv ... ListenOverflows ListenDrops ...
//! TcpExt: 0 0 ... 6907 7012 ...
//! ```
//!
//! Hand-written: procfs-core parses `/proc/net/snmp` (see `snmp.rs`) but not this file. The
//! fields differ between kernels (4.19 has 120-odd `TcpExt` fields, 6.x over 130), so they
//! are read by name, never by position. Counters are named as nstat(8) names them: the
//! prefix and the field, `TcpExtListenOverflows`.

use std::collections::BTreeMap;

/// Why a MIB file does not parse. Lines are counted from 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MibError {
    #[error("line {line}: header {header:?} without a line of values")]
    NoValues { line: usize, header: String },
    #[error("line {line}: values for {found:?} after the header of {prefix:?}")]
    Prefix {
        line: usize,
        prefix: String,
        found: String,
    },
    #[error("line {line}: {values} values for {fields} fields of {prefix}")]
    Count {
        line: usize,
        prefix: String,
        fields: usize,
        values: usize,
    },
    #[error("line {line}: {prefix}{field} = {value:?} is not a number")]
    Value {
        line: usize,
        prefix: String,
        field: String,
        value: String,
    },
}

/// Every counter of the file, by nstat name. Negative values (`Tcp: MaxConn -1` in the same
/// layout of `/proc/net/snmp`) are limits, not counters, and are left out.
pub fn parse(text: &str) -> Result<BTreeMap<String, u64>, MibError> {
    let mut out = BTreeMap::new();
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(n, l)| (n + 1, l))
        .filter(|(_, l)| !l.trim().is_empty());
    while let Some((hline, header)) = lines.next() {
        let (prefix, fields) = split(header);
        let Some((vline, values)) = lines.next() else {
            return Err(MibError::NoValues {
                line: hline,
                header: prefix.to_string(),
            });
        };
        let (vprefix, values) = split(values);
        if vprefix != prefix {
            return Err(MibError::Prefix {
                line: vline,
                prefix: prefix.to_string(),
                found: vprefix.to_string(),
            });
        }
        let fields: Vec<&str> = fields.split_ascii_whitespace().collect();
        let values: Vec<&str> = values.split_ascii_whitespace().collect();
        if fields.len() != values.len() {
            return Err(MibError::Count {
                line: vline,
                prefix: prefix.to_string(),
                fields: fields.len(),
                values: values.len(),
            });
        }
        for (field, value) in fields.into_iter().zip(values) {
            match value.parse::<u64>() {
                Ok(v) => {
                    out.insert(format!("{prefix}{field}"), v);
                }
                Err(_) if value.parse::<i64>().is_ok() => {}
                Err(_) => {
                    return Err(MibError::Value {
                        line: vline,
                        prefix: prefix.to_string(),
                        field: field.to_string(),
                        value: value.to_string(),
                    });
                }
            }
        }
    }
    Ok(out)
}

/// `TcpExt: a b c` into (`TcpExt`, ` a b c`).
fn split(line: &str) -> (&str, &str) {
    line.split_once(':').unwrap_or((line.trim(), ""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_of_lines_by_name() {
        let m = parse(
            "TcpExt: SyncookiesSent ListenOverflows ListenDrops\nTcpExt: 1 6907 7012\n\
             IpExt: InNoRoutes InOctets\nIpExt: 0 18446744073709551615\n",
        )
        .unwrap();
        assert_eq!(m["TcpExtListenOverflows"], 6907);
        assert_eq!(m["TcpExtListenDrops"], 7012);
        assert_eq!(m["IpExtInOctets"], u64::MAX);
        assert_eq!(m.len(), 5);
    }

    #[test]
    fn negative_limits_are_left_out_and_errors_name_the_line() {
        let m = parse("Tcp: RtoMin MaxConn\nTcp: 200 -1\n").unwrap();
        assert_eq!(m.get("TcpMaxConn"), None);
        assert_eq!(m["TcpRtoMin"], 200);
        assert_eq!(
            parse("TcpExt: A B\nTcpExt: 1\n").unwrap_err().to_string(),
            "line 2: 1 values for 2 fields of TcpExt"
        );
        assert_eq!(
            parse("TcpExt: A\nIpExt: 1\n").unwrap_err().to_string(),
            "line 2: values for \"IpExt\" after the header of \"TcpExt\""
        );
        assert_eq!(
            parse("TcpExt: A\nTcpExt: x\n").unwrap_err().to_string(),
            "line 2: TcpExtA = \"x\" is not a number"
        );
        assert!(matches!(
            parse("TcpExt: A\n"),
            Err(MibError::NoValues { line: 1, .. })
        ));
    }
}
