//! CPU lists in the kernel's syntax (`0-3,8,10-12`), as in `/sys/devices/system/cpu/isolated`,
//! `smp_affinity_list` and `isolcpus=`. One parser and one printer for all of them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A set of CPU numbers, kept sorted and without duplicates.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CpuList(Vec<u32>);

/// Why a CPU list does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CpuListError {
    #[error("cpu list {0:?}: {1:?} is not a CPU number or range")]
    Bad(String, String),
    #[error("cpu list {0:?}: range {1:?} runs backwards")]
    Backwards(String, String),
    #[error("cpu list {0:?}: CPU numbers above 65535 are not supported")]
    TooLarge(String),
}

/// Highest CPU number accepted: far above any real machine, low enough that a typo such as
/// `0-4000000` cannot allocate a huge list.
const MAX_CPU: u32 = 65_535;

impl CpuList {
    /// The CPUs in ascending order.
    pub fn cpus(&self) -> &[u32] {
        &self.0
    }

    /// Whether the list is empty (a bare newline in sysfs).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `cpu` is in the list.
    pub fn contains(&self, cpu: u32) -> bool {
        self.0.binary_search(&cpu).is_ok()
    }

    /// Builds a list from any CPU numbers.
    pub fn from_cpus(cpus: impl IntoIterator<Item = u32>) -> Self {
        let mut v: Vec<u32> = cpus.into_iter().collect();
        v.sort_unstable();
        v.dedup();
        Self(v)
    }
}

impl FromStr for CpuList {
    type Err = CpuListError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut cpus = Vec::new();
        let text = s.trim();
        if text.is_empty() {
            return Ok(Self::default());
        }
        let num = |part: &str, whole: &str| -> Result<u32, CpuListError> {
            let n: u32 = part
                .trim()
                .parse()
                .map_err(|_| CpuListError::Bad(whole.to_string(), part.to_string()))?;
            if n > MAX_CPU {
                return Err(CpuListError::TooLarge(whole.to_string()));
            }
            Ok(n)
        };
        for part in text.split(',') {
            match part.split_once('-') {
                Some((a, b)) => {
                    let (a, b) = (num(a, text)?, num(b, text)?);
                    if a > b {
                        return Err(CpuListError::Backwards(text.to_string(), part.to_string()));
                    }
                    cpus.extend(a..=b);
                }
                None => cpus.push(num(part, text)?),
            }
        }
        Ok(Self::from_cpus(cpus))
    }
}

impl TryFrom<String> for CpuList {
    type Error = CpuListError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<CpuList> for String {
    fn from(c: CpuList) -> String {
        c.to_string()
    }
}

/// The kernel's compact form: ranges of three or more consecutive CPUs as `a-b`, pairs as
/// `a-b` too (as `bitmap_print_to_pagebuf` does), singles alone.
impl fmt::Display for CpuList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut i = 0;
        let mut first = true;
        while i < self.0.len() {
            let start = self.0[i];
            let mut end = start;
            while i + 1 < self.0.len() && self.0[i + 1] == end + 1 {
                i += 1;
                end = self.0[i];
            }
            if !first {
                f.write_str(",")?;
            }
            first = false;
            if start == end {
                write!(f, "{start}")?;
            } else {
                write!(f, "{start}-{end}")?;
            }
            i += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_the_kernel_forms() {
        let l: CpuList = "0-3,8,10-12\n".parse().unwrap();
        assert_eq!(l.cpus(), [0, 1, 2, 3, 8, 10, 11, 12]);
        assert_eq!(l.to_string(), "0-3,8,10-12");
        assert!("\n".parse::<CpuList>().unwrap().is_empty());
        assert!("".parse::<CpuList>().unwrap().is_empty());
        assert_eq!("6".parse::<CpuList>().unwrap().cpus(), [6]);
        assert_eq!("6-7".parse::<CpuList>().unwrap().to_string(), "6-7");
    }

    #[test]
    fn rejects_garbage() {
        assert!(matches!(
            "3-1".parse::<CpuList>(),
            Err(CpuListError::Backwards(..))
        ));
        assert!(matches!("a".parse::<CpuList>(), Err(CpuListError::Bad(..))));
        assert!(matches!(
            "1,,2".parse::<CpuList>(),
            Err(CpuListError::Bad(..))
        ));
        assert!(matches!(
            "-1".parse::<CpuList>(),
            Err(CpuListError::Bad(..))
        ));
        assert!(matches!(
            "0-4000000".parse::<CpuList>(),
            Err(CpuListError::TooLarge(..))
        ));
    }

    proptest! {
        #[test]
        fn parse_of_print_is_identity(cpus in prop::collection::btree_set(0u32..512, 0..64)) {
            let l = CpuList::from_cpus(cpus);
            let printed = l.to_string();
            prop_assert_eq!(printed.parse::<CpuList>().unwrap(), l.clone());
            prop_assert_eq!(format!("{printed}\n").parse::<CpuList>().unwrap(), l);
        }
    }
}
