//! The `{ ram_fraction = [0.03, 0.04, 0.06] }` value form: a memory limit given as a share of
//! this host's RAM (`MemTotal` in `/proc/meminfo` under `--root`), computed at plan time. A
//! limit written as a fixed number is a floor past a small host's RAM and a cap on a large
//! one; a share scales with the host. The unit comes from the key: pages for the `*_mem`
//! vectors (`tcp_mem`, `udp_mem`, `sctp_mem`, see Documentation/networking/ip-sysctl.rst), bytes
//! for every other key.

use std::fmt;

use crate::sysctl::SysctlKey;

/// The largest share a profile may ask for: a quarter of RAM.
pub const MAX_FRACTION: f64 = 0.25;

/// One share of RAM per field.
#[derive(Debug, Clone, PartialEq)]
pub struct RamShare(pub Vec<f64>);

/// What a [`RamShare`] is computed from: the host's RAM and page size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ram {
    /// `MemTotal`, in bytes.
    pub total: u64,
    /// The page size in bytes (`getconf PAGESIZE`).
    pub page: u64,
}

/// The unit a key's value counts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Pages,
    Bytes,
}

/// Keys whose value counts pages (ip-sysctl.rst: "tcp_mem - vector of 3 INTEGERs ... in
/// pages"; likewise udp_mem and sctp_mem).
const PAGE_KEYS: &[&[&str]] = &[
    &["net", "ipv4", "tcp_mem"],
    &["net", "ipv4", "udp_mem"],
    &["net", "sctp", "sctp_mem"],
];

/// The unit of `key`: pages for the `*_mem` vectors, bytes otherwise.
pub fn unit(key: &SysctlKey) -> Unit {
    if PAGE_KEYS.iter().any(|k| key.segments() == *k) {
        Unit::Pages
    } else {
        Unit::Bytes
    }
}

impl RamShare {
    /// Every field in (0, 0.25], and no field below the one before it (a pressure threshold
    /// under the minimum means nothing to the kernel).
    pub fn check(&self) -> Result<(), String> {
        if let Some((i, f)) = self
            .0
            .iter()
            .enumerate()
            .find(|(_, f)| !(**f > 0.0 && **f <= MAX_FRACTION))
        {
            return Err(format!(
                "ram_fraction field {}: {f} is outside (0, {MAX_FRACTION}]: a memory limit \
                 is a share of RAM above 0 and at most a quarter of it",
                i + 1
            ));
        }
        if let Some(i) = self.0.windows(2).position(|w| w[1] < w[0]) {
            return Err(format!(
                "ram_fraction field {}: {} is below field {} ({}); the fields must not decrease",
                i + 2,
                self.0[i + 1],
                i + 1,
                self.0[i]
            ));
        }
        Ok(())
    }

    /// The value to write on a host with `ram`, in `key`'s unit, fields space-separated
    /// (pure). Rounded down: never more than the share.
    pub fn resolve(&self, key: &SysctlKey, ram: Ram) -> String {
        let per = match unit(key) {
            Unit::Pages => ram.page.max(1),
            Unit::Bytes => 1,
        };
        self.0
            .iter()
            .map(|f| ((ram.total as f64 * f) as u64 / per).to_string())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// `3% 4% 6% of RAM`.
impl fmt::Display for RamShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Rounded to a hundredth of a percent: 0.03 * 100 is 3.0000000000000004 in binary.
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|x| format!("{}%", (x * 10000.0).round() / 100.0))
            .collect();
        write!(f, "{} of RAM", parts.join(" "))
    }
}

/// `MemTotal` from `/proc/meminfo`, in bytes (the kernel prints kB: `MemTotal: 16318780 kB`).
pub fn mem_total(meminfo: &str) -> Result<u64, String> {
    let line = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .ok_or("no MemTotal line")?;
    let mut it = line.split_whitespace();
    let n: u64 = it
        .next()
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("MemTotal {:?} is not a number", line.trim()))?;
    match it.next() {
        Some("kB") => Ok(n * 1024),
        None => Ok(n),
        Some(u) => Err(format!("MemTotal in an unknown unit {u:?}")),
    }
}

/// This machine's page size. Equivalent to `getconf PAGESIZE`.
pub fn page_size() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .and_then(|n| u64::try_from(n).ok())
        .unwrap_or(4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MEMINFO_16G: &str = "MemTotal:       16318780 kB\nMemFree:         1209876 kB\n";

    fn key(k: &str) -> SysctlKey {
        k.parse().unwrap()
    }

    #[test]
    fn computes_pages_for_mem_vectors_and_bytes_otherwise() {
        let ram = Ram {
            total: mem_total(MEMINFO_16G).unwrap(),
            page: 4096,
        };
        assert_eq!(ram.total, 16_710_430_720);
        // (key, fractions, value)
        for (k, f, want) in [
            (
                "net.ipv4.tcp_mem",
                vec![0.03, 0.04, 0.06],
                "122390 163187 244781",
            ),
            ("net.ipv4.udp_mem", vec![0.25], "1019923"),
            ("net.core.rmem_max", vec![0.001], "16710430"),
        ] {
            assert_eq!(RamShare(f).resolve(&key(k), ram), want, "{k}");
        }
        let big_pages = Ram { page: 65536, ..ram };
        assert_eq!(
            RamShare(vec![0.25]).resolve(&key("net.ipv4.tcp_mem"), big_pages),
            "63745"
        );
    }

    #[test]
    fn checks_the_range_and_the_order() {
        assert!(RamShare(vec![0.03, 0.04, 0.06]).check().is_ok());
        assert!(RamShare(vec![0.25]).check().is_ok());
        for (f, msg) in [
            (vec![0.0], "field 1: 0 is outside (0, 0.25]"),
            (vec![0.1, 0.3], "field 2: 0.3 is outside"),
            (vec![-0.1], "outside"),
            (vec![f64::NAN], "outside"),
            (vec![0.06, 0.04], "field 2: 0.04 is below field 1"),
        ] {
            let e = RamShare(f.clone()).check().unwrap_err();
            assert!(e.contains(msg), "{f:?}: {e}");
        }
    }

    #[test]
    fn reads_mem_total_and_shows_percentages() {
        assert_eq!(mem_total("MemTotal: 1024 kB\n"), Ok(1_048_576));
        assert!(mem_total("MemFree: 1 kB\n").is_err());
        assert!(mem_total("MemTotal: lots kB\n").is_err());
        assert_eq!(
            RamShare(vec![0.03, 0.04, 0.06]).to_string(),
            "3% 4% 6% of RAM"
        );
        assert!(page_size() >= 4096);
    }
}
