//! [`Evidence`]: one kernel counter attached to an item by `--evidence` (the `evidence`
//! module reads and evaluates them; the report renders them), with its rate and since when it
//! counts.

use serde::{Deserialize, Serialize};

/// One counter tied to an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// nstat's name for MIB counters (`TcpExtListenOverflows`), the file's otherwise
    /// (`softnet_dropped`, `conntrack_drop`, `rx_missed_errors`).
    pub counter: String,
    /// Set on a per-CPU part of a counter; the entry without it is the total.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cpu: Option<u32>,
    /// The absolute value (at the second sample with an interval).
    pub value: u64,
    /// With `--evidence-interval`: how much it grew between the two samples.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub increase: Option<u64>,
    /// With `--evidence-interval`: `increase` per second.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub per_second: Option<PerSecond>,
    /// Since when `value` counts, for the text report.
    #[serde(skip)]
    pub since: Since,
}

impl Evidence {
    /// Whether it shows anything: a non-zero value, or with an interval a non-zero increase.
    pub fn nonzero(&self) -> bool {
        match self.increase {
            Some(d) => d > 0,
            None => self.value > 0,
        }
    }
}

/// A rate, compared bit for bit so that items stay `Eq`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PerSecond(pub f64);

impl PartialEq for PerSecond {
    fn eq(&self, o: &Self) -> bool {
        self.0.to_bits() == o.0.to_bits()
    }
}
impl Eq for PerSecond {}

/// Since when an absolute value counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Since {
    #[default]
    Boot,
    /// Per-namespace MIBs read inside a non-initial network namespace.
    Namespace,
}

impl Since {
    pub fn as_str(self) -> &'static str {
        match self {
            Since::Boot => "since boot",
            Since::Namespace => "since the namespace was created",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonzero_looks_at_the_increase_when_there_is_one() {
        let mut e = Evidence {
            counter: "TcpExtListenOverflows".into(),
            cpu: None,
            value: 7,
            increase: None,
            per_second: None,
            since: Since::Boot,
        };
        assert!(e.nonzero());
        e.increase = Some(0);
        assert!(!e.nonzero(), "a counter that did not grow shows nothing");
        e.value = 0;
        e.increase = None;
        assert!(!e.nonzero());
    }

    #[test]
    fn rates_compare_bit_for_bit() {
        assert_eq!(PerSecond(f64::NAN), PerSecond(f64::NAN));
        assert_ne!(PerSecond(0.0), PerSecond(-0.0));
    }
}
