//! `/proc/net/softnet_stat`: one line per online CPU of 32-bit hex counters, printed by
//! `softnet_seq_show` (net/core/net-procfs.c). The columns grew over the years:
//!
//! | kernel | columns | added |
//! |---|---|---|
//! | 3.11 - 5.9 | 11 | `processed dropped time_squeeze 0 0 0 0 0 0 received_rps flow_limit_count` (4-9 were fastroute and cpu_collision) |
//! | 5.10 - 6.3 | 13 | `backlog_len`, then the CPU's number |
//! | 6.4 - | 15 | `input_qlen process_qlen` (the two parts of `backlog_len`) |
//!
//! Offline CPUs have no line, so before 5.10 the N-th line is the N-th online CPU, not CPU N.
//! Hand-written: procfs-core has no parser for this file.

use crate::cpulist::CpuList;

/// One CPU's line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    /// The CPU: the 13th column, or before 5.10 the line's position among the online CPUs.
    pub cpu: u32,
    pub processed: u32,
    /// Packets dropped because the CPU's backlog held `net.core.netdev_max_backlog` already.
    pub dropped: u32,
    /// Times the NET_RX softirq stopped with work left, out of `netdev_budget` packets or
    /// `netdev_budget_usecs`.
    pub time_squeeze: u32,
}

/// Why `/proc/net/softnet_stat` does not parse. Lines are counted from 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SoftnetError {
    #[error("line {line}: {found} columns; softnet_stat has 11 (before 5.10), 13 or more")]
    Columns { line: usize, found: usize },
    #[error("line {line}: column {column} {token:?} is not a hex number")]
    Hex {
        line: usize,
        column: usize,
        token: String,
    },
}

/// Parses the file. `online` maps line positions to CPU numbers on kernels before 5.10
/// (without it, the position is taken as the CPU).
pub fn parse(text: &str, online: Option<&CpuList>) -> Result<Vec<Row>, SoftnetError> {
    let mut out = Vec::new();
    for (n, line) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        let no = n + 1;
        let cols: Vec<&str> = line.split_ascii_whitespace().collect();
        // 10 columns: kernels before 3.11, without flow_limit_count. Columns a later kernel
        // appends are ignored.
        if cols.len() < 10 || cols.len() == 12 {
            return Err(SoftnetError::Columns {
                line: no,
                found: cols.len(),
            });
        }
        let hex = |i: usize| {
            u32::from_str_radix(cols[i], 16).map_err(|_| SoftnetError::Hex {
                line: no,
                column: i + 1,
                token: cols[i].to_string(),
            })
        };
        let cpu = if cols.len() >= 13 {
            hex(12)?
        } else {
            let pos = u32::try_from(n).unwrap_or(u32::MAX);
            online.and_then(|o| o.cpus().get(n).copied()).unwrap_or(pos)
        };
        out.push(Row {
            cpu,
            processed: hex(0)?,
            dropped: hex(1)?,
            time_squeeze: hex(2)?,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(v: &str) -> String {
        let p = format!(
            "{}/tests/fixtures/proc-net/{v}/softnet_stat",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(p).unwrap()
    }

    fn drops(rows: &[Row]) -> Vec<(u32, u32, u32)> {
        rows.iter()
            .map(|r| (r.cpu, r.dropped, r.time_squeeze))
            .collect()
    }

    #[test]
    fn kernel_4_19_eleven_columns_by_position() {
        let rows = parse(&fixture("4.19"), None).unwrap();
        assert_eq!(
            drops(&rows),
            [(0, 0, 12), (1, 523, 40), (2, 0, 0), (3, 7, 3)]
        );
        // CPU 2 offline: the third line is CPU 3.
        let online: CpuList = "0-1,3-4".parse().unwrap();
        let rows = parse(&fixture("4.19"), Some(&online)).unwrap();
        assert_eq!(rows[2].cpu, 3);
        assert_eq!(rows[0].processed, 23733047);
    }

    #[test]
    fn kernel_5_10_thirteen_columns_name_the_cpu() {
        let online: CpuList = "0-3".parse().unwrap();
        let rows = parse(&fixture("5.10"), Some(&online)).unwrap();
        assert_eq!(drops(&rows), [(0, 0, 1), (1, 100, 7), (3, 23, 0)]);
    }

    #[test]
    fn kernel_6_18_fifteen_columns() {
        let rows = parse(&fixture("6.18"), None).unwrap();
        assert_eq!(drops(&rows), [(0, 0, 9), (1, 42, 0)]);
    }

    #[test]
    fn errors_name_the_line_and_column() {
        assert_eq!(
            parse("00000001 00000002\n", None).unwrap_err().to_string(),
            "line 1: 2 columns; softnet_stat has 11 (before 5.10), 13 or more"
        );
        let bad = "0000000g 0 0 0 0 0 0 0 0 0 0\n";
        assert_eq!(
            parse(bad, None).unwrap_err(),
            SoftnetError::Hex {
                line: 1,
                column: 1,
                token: "0000000g".into()
            }
        );
    }
}
