//! `/proc/net/stat/nf_conntrack`: connection tracking statistics, printed by
//! `ct_cpu_seq_show` (net/netfilter/nf_conntrack_standalone.c): a header naming the columns,
//! then one line of 32-bit hex counters per possible CPU. The first column, `entries`, is the
//! table's size, the same on every line; the others are per CPU and add up.
//!
//! The columns changed between kernels: 4.x prints `searched` and `delete_list`, which 6.x
//! replaced with `clashres` and `chainlength`; `search_restart` came in 4.10. So columns are
//! read by the header's names. `drop` counts packets dropped because the table was full
//! (`nf_conntrack: table full, dropping packet`), `early_drop` entries evicted to make room,
//! `insert_failed` insertions that lost a race or found the table full.
//!
//! Hand-written: procfs-core has no parser for this file. It exists only where the
//! nf_conntrack module is loaded.

/// The parsed file: column names and, per line, the values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    columns: Vec<String>,
    rows: Vec<Vec<u32>>,
}

/// Why the file does not parse. Lines are counted from 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConntrackError {
    #[error("empty: no header line")]
    NoHeader,
    #[error("line {line}: {found} values for {expected} columns")]
    Count {
        line: usize,
        expected: usize,
        found: usize,
    },
    #[error("line {line}: {column} {token:?} is not a hex number")]
    Hex {
        line: usize,
        column: String,
        token: String,
    },
}

impl Stat {
    /// Parses the file.
    pub fn parse(text: &str) -> Result<Stat, ConntrackError> {
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        let (_, header) = lines.next().ok_or(ConntrackError::NoHeader)?;
        let columns: Vec<String> = header.split_ascii_whitespace().map(String::from).collect();
        let mut rows = Vec::new();
        for (n, line) in lines {
            let tokens: Vec<&str> = line.split_ascii_whitespace().collect();
            if tokens.len() != columns.len() {
                return Err(ConntrackError::Count {
                    line: n + 1,
                    expected: columns.len(),
                    found: tokens.len(),
                });
            }
            let row = tokens
                .iter()
                .zip(&columns)
                .map(|(t, c)| {
                    u32::from_str_radix(t, 16).map_err(|_| ConntrackError::Hex {
                        line: n + 1,
                        column: c.clone(),
                        token: t.to_string(),
                    })
                })
                .collect::<Result<Vec<u32>, _>>()?;
            rows.push(row);
        }
        Ok(Stat { columns, rows })
    }

    /// One column's per-CPU values, line by line; `None` when this kernel has no such column.
    pub fn column(&self, name: &str) -> Option<Vec<u32>> {
        let i = self.columns.iter().position(|c| c == name)?;
        Some(self.rows.iter().map(|r| r[i]).collect())
    }

    /// A column's sum over the CPUs (`entries` is the table size, not summed).
    pub fn total(&self, name: &str) -> Option<u64> {
        let values = self.column(name)?;
        if name == "entries" {
            return Some(values.first().copied().map_or(0, u64::from));
        }
        Some(values.into_iter().map(u64::from).sum())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(v: &str) -> Stat {
        let p = format!(
            "{}/tests/fixtures/proc-net/{v}/nf_conntrack",
            env!("CARGO_MANIFEST_DIR")
        );
        Stat::parse(&std::fs::read_to_string(p).unwrap()).unwrap()
    }

    #[test]
    fn kernel_4_19_with_searched_and_delete_list() {
        let s = fixture("4.19");
        assert_eq!(s.total("entries"), Some(700000));
        assert_eq!(s.total("drop"), Some(60));
        assert_eq!(s.total("early_drop"), Some(12));
        assert_eq!(s.total("insert_failed"), Some(6));
        assert_eq!(s.column("drop"), Some(vec![0, 10, 20, 30]));
        assert!(s.column("searched").is_some());
        assert_eq!(s.column("clashres"), None);
    }

    #[test]
    fn kernel_6_18_with_clashres_and_chainlength() {
        let s = fixture("6.18");
        assert_eq!(s.total("drop"), Some(5));
        assert_eq!(s.total("insert_failed"), Some(2));
        assert!(s.column("chainlength").is_some());
        assert_eq!(s.column("searched"), None);
    }

    #[test]
    fn errors_name_the_line_and_column() {
        assert_eq!(Stat::parse(""), Err(ConntrackError::NoHeader));
        assert_eq!(
            Stat::parse("entries drop\n00000001\n")
                .unwrap_err()
                .to_string(),
            "line 2: 1 values for 2 columns"
        );
        assert_eq!(
            Stat::parse("entries drop\n00000001 zz\n")
                .unwrap_err()
                .to_string(),
            "line 2: drop \"zz\" is not a hex number"
        );
    }
}
