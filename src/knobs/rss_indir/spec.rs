//! The `rss_indir` value of a `[[nic]]` rule and the tables it stands for: ethtool's
//! `-X equal N` and `-X weight W0 W1 ...` fills (ethtool(8); the same arithmetic as ethtool's
//! `fill_indir_table`), and the compact text items show a table in.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use crate::cpulist::CpuList;
use crate::host::RssIndir;

/// What the table should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Form {
    /// `"equal"`: every RX queue in turn, following the channel count.
    Equal,
    /// `{ equal = N }`: the first N queues in turn (`ethtool -X IFACE equal N`).
    EqualN(u32),
    /// `{ weights = [...] }`: queue `i` gets a share `W[i] / sum` (`ethtool -X IFACE weight`).
    Weights(Vec<u32>),
    /// `"default"`: the driver's default spread (`ethtool -X IFACE default`).
    Default,
    /// `"keep"`: leave the table alone and do not check it against the channels.
    Keep,
}

/// `rss_indir`: a form, and whether a table that leaves RX queues without flows is an error
/// (`lint = false` in the table forms keeps them out on purpose).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RssIndirSpec {
    pub form: Form,
    pub lint: bool,
}

impl RssIndirSpec {
    /// The table asked for on a device whose table has `size` entries and `rings` RX rings:
    /// `None` for `"keep"`, an error when the weights do not fit the table.
    pub fn table(&self, size: usize, rings: u32) -> Option<Result<Vec<u32>, String>> {
        Some(match &self.form {
            Form::Keep => return None,
            // The kernel's default is this spread; the write puts it back as a reset.
            Form::Equal | Form::Default => Ok(RssIndir::equal(size, rings).0),
            Form::EqualN(n) => Ok(RssIndir::equal(size, *n).0),
            Form::Weights(w) => fill_weights(size, w),
        })
    }

    /// Queues the spec leaves out on purpose: those given weight 0.
    pub fn zero_weighted(&self) -> Vec<u32> {
        match &self.form {
            Form::Weights(w) => (0..)
                .zip(w)
                .filter(|(_, w)| **w == 0)
                .map(|(q, _)| q)
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// ethtool's weight fill: entry `i` goes to the first queue `j` whose running weight total
/// reaches past `i * sum / size`, so queue `j` gets about `size * W[j] / sum` entries, in
/// queue order. The sum must be positive and at most the table size, as ethtool requires.
pub fn fill_weights(size: usize, weights: &[u32]) -> Result<Vec<u32>, String> {
    let sum: u64 = weights.iter().map(|&w| u64::from(w)).sum();
    if sum == 0 {
        return Err("rss_indir weights: at least one weight must be non-zero".into());
    }
    let n = size as u64;
    if sum > n {
        return Err(format!(
            "rss_indir weights sum to {sum}, more than the {size} entries of the indirection table"
        ));
    }
    let (mut j, mut partial) = (None::<usize>, 0u64);
    let mut out = Vec::with_capacity(size);
    for i in 0..n {
        while i >= n * partial / sum {
            let next = j.map_or(0, |j| j + 1);
            partial += u64::from(weights[next]);
            j = Some(next);
        }
        out.push(j.unwrap_or(0) as u32);
    }
    Ok(out)
}

/// A table in a few words: `default` (empty), `equal N` when it is the kernel's spread over
/// N queues, else runs of `QUEUE*COUNT` (at most eight, then how many more).
pub fn show(table: &[u32]) -> String {
    if table.is_empty() {
        return "default".into();
    }
    if let Some(k) = RssIndir::equal_spread(table) {
        return format!("equal {k}");
    }
    let mut runs: Vec<(u32, usize)> = Vec::new();
    for &q in table {
        match runs.last_mut() {
            Some((r, n)) if *r == q => *n += 1,
            _ => runs.push((q, 1)),
        }
    }
    let mut text: Vec<String> = runs
        .iter()
        .take(8)
        .map(|(q, n)| format!("{q}*{n}"))
        .collect();
    if runs.len() > 8 {
        text.push(format!("+{} runs", runs.len() - 8));
    }
    text.join(" ")
}

/// Queue numbers in the kernel's list syntax (`4-7,9`).
pub fn queues(q: impl IntoIterator<Item = u32>) -> String {
    CpuList::from_cpus(q).to_string()
}

impl fmt::Display for RssIndirSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.form {
            Form::Equal => f.write_str("equal"),
            Form::EqualN(n) => write!(f, "equal {n}"),
            Form::Weights(w) => {
                f.write_str("weight")?;
                w.iter().try_for_each(|w| write!(f, " {w}"))
            }
            Form::Default => f.write_str("default"),
            Form::Keep => f.write_str("keep"),
        }
    }
}

const FORMS: &str = "\"equal\", \"default\", \"keep\", { equal = N } or { weights = [...] }";

impl<'de> Deserialize<'de> for RssIndirSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RssIndirSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "rss_indir as {FORMS}")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RssIndirSpec, E> {
                let form = match v {
                    "equal" => Form::Equal,
                    "default" => Form::Default,
                    "keep" => Form::Keep,
                    _ => return Err(E::custom(format!("rss_indir {v:?}: expected {FORMS}"))),
                };
                Ok(RssIndirSpec { form, lint: true })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<RssIndirSpec, A::Error> {
                let (mut equal, mut weights, mut lint) = (None, None, true);
                while let Some(k) = m.next_key::<String>()? {
                    match k.as_str() {
                        "equal" => equal = Some(m.next_value::<u32>()?),
                        "weights" => weights = Some(m.next_value::<Vec<u32>>()?),
                        "lint" => lint = m.next_value::<bool>()?,
                        other => {
                            return Err(de::Error::custom(format!(
                                "rss_indir: unknown key {other:?}; expected equal, weights or lint"
                            )));
                        }
                    }
                }
                let form = match (equal, weights) {
                    (Some(0), None) => {
                        return Err(de::Error::custom("rss_indir: equal must be at least 1"));
                    }
                    (Some(n), None) => Form::EqualN(n),
                    (None, Some(w)) if w.iter().all(|&w| w == 0) => {
                        return Err(de::Error::custom(
                            "rss_indir weights: at least one weight must be non-zero",
                        ));
                    }
                    (None, Some(w)) => Form::Weights(w),
                    _ => {
                        return Err(de::Error::custom(
                            "rss_indir: give one of equal = N or weights = [...]",
                        ));
                    }
                };
                Ok(RssIndirSpec { form, lint })
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for RssIndirSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let word = match &self.form {
            Form::Equal => "equal",
            Form::Default => "default",
            Form::Keep => "keep",
            Form::EqualN(_) | Form::Weights(_) => "",
        };
        if !word.is_empty() {
            return s.serialize_str(word);
        }
        let mut m = s.serialize_map(None)?;
        match &self.form {
            Form::EqualN(n) => m.serialize_entry("equal", n)?,
            Form::Weights(w) => m.serialize_entry("weights", w)?,
            _ => {}
        }
        if !self.lint {
            m.serialize_entry("lint", &false)?;
        }
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_fill_the_table_as_ethtool_does() {
        // (size, weights, table): expected values worked through ethtool's fill_indir_table.
        let rows: [(usize, &[u32], &[u32]); 6] = [
            (8, &[1, 1], &[0, 0, 0, 0, 1, 1, 1, 1]),
            (8, &[1, 1, 2, 0], &[0, 0, 1, 1, 2, 2, 2, 2]),
            (8, &[0, 1, 1], &[1, 1, 1, 1, 2, 2, 2, 2]),
            (8, &[1, 0, 1], &[0, 0, 0, 0, 2, 2, 2, 2]),
            (10, &[1, 2], &[0, 0, 0, 1, 1, 1, 1, 1, 1, 1]),
            (4, &[1, 1, 1, 1], &[0, 1, 2, 3]),
        ];
        for (size, w, want) in rows {
            assert_eq!(fill_weights(size, w).unwrap(), want, "{size} {w:?}");
        }
        assert!(fill_weights(8, &[0, 0]).unwrap_err().contains("non-zero"));
        let e = fill_weights(4, &[2, 3]).unwrap_err();
        assert!(e.contains("sum to 5") && e.contains("4 entries"), "{e}");
    }

    #[test]
    fn tables_show_compactly() {
        assert_eq!(show(&[]), "default");
        assert_eq!(show(&RssIndir::equal(128, 4).0), "equal 4");
        assert_eq!(show(&[0, 0, 1, 1, 2, 2, 2, 2]), "0*2 1*2 2*4");
        let long: Vec<u32> = (0..20).map(|i| (i * 7) % 5).collect();
        assert!(show(&long).ends_with("+12 runs"), "{}", show(&long));
        assert_eq!(queues([4, 5, 6, 7, 9]), "4-7,9");
    }

    #[test]
    fn forms_parse_and_print_back() {
        #[derive(Debug, Deserialize, Serialize)]
        struct R {
            rss_indir: RssIndirSpec,
        }
        let rows = [
            ("rss_indir = \"equal\"", Form::Equal, true, "equal"),
            ("rss_indir = \"default\"", Form::Default, true, "default"),
            ("rss_indir = \"keep\"", Form::Keep, true, "keep"),
            (
                "rss_indir = { equal = 4 }",
                Form::EqualN(4),
                true,
                "equal 4",
            ),
            (
                "rss_indir = { weights = [1, 1, 2, 0], lint = false }",
                Form::Weights(vec![1, 1, 2, 0]),
                false,
                "weight 1 1 2 0",
            ),
        ];
        for (text, form, lint, shown) in rows {
            let r: R = toml::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(r.rss_indir, RssIndirSpec { form, lint }, "{text}");
            assert_eq!(r.rss_indir.to_string(), shown);
            let back: R = toml::from_str(&toml::to_string(&r).unwrap()).unwrap();
            assert_eq!(back.rss_indir, r.rss_indir);
        }
        for (bad, why) in [
            ("rss_indir = \"even\"", "expected \"equal\""),
            ("rss_indir = { equal = 0 }", "at least 1"),
            ("rss_indir = { weights = [0, 0] }", "non-zero"),
            ("rss_indir = { equal = 2, weights = [1] }", "one of"),
            ("rss_indir = { lint = false }", "one of"),
            ("rss_indir = { equl = 2 }", "unknown key"),
            ("rss_indir = 4", "rss_indir as"),
        ] {
            let e = toml::from_str::<R>(bad).unwrap_err().to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
        let spec = |f| RssIndirSpec {
            form: f,
            lint: true,
        };
        assert_eq!(
            spec(Form::Weights(vec![1, 0, 2, 0])).zero_weighted(),
            [1, 3]
        );
        assert_eq!(spec(Form::Keep).table(8, 2), None);
        assert_eq!(spec(Form::Equal).table(4, 2), Some(Ok(vec![0, 1, 0, 1])));
    }
}
