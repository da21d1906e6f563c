//! Bounds on sysctl values: `{ min = N }` (at least), `{ max = N }` (at most), both, or a list
//! per field for vector keys (`"net.ipv4.tcp_rmem" = { min = [4096, 16384, 4194304] }`). A
//! bound never lowers a capacity the kernel sized for the host: the live value stands when it
//! is within the bound, and only a field outside it is moved to the bound.

use std::fmt;

use crate::sysctl::normalize;

/// At least `min` and at most `max`, per field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bound {
    pub min: Option<Vec<i128>>,
    pub max: Option<Vec<i128>>,
}

/// What a value other than the desired one must hold to satisfy a `[sysctl]` entry that is not
/// exact: within a bound, or including some ports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Within {
    Bound(Bound),
    Include(crate::knobs::portset::PortSet),
}

impl Within {
    /// Whether `value` (as the kernel or a sysctl.d line prints it) needs no change.
    pub fn accepts(&self, value: &str) -> bool {
        match self {
            Within::Bound(b) => b.resolve(value).is_ok_and(|r| r.moves.is_empty()),
            Within::Include(p) => {
                crate::knobs::portset::include(p, value).is_ok_and(|r| r.added.ranges().is_empty())
            }
        }
    }
}

/// Which way a field moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    Up,
    Down,
}

/// The value a bound asks for, given the live one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// What to write (the live fields, each moved into the bound).
    pub value: String,
    /// (field number from 1, direction, new value) of every field that moves.
    pub moves: Vec<(usize, Dir, i128)>,
}

impl Bound {
    /// Checks what the types cannot: something to bound, and min not above max.
    pub fn check(&self) -> Result<(), String> {
        match (&self.min, &self.max) {
            (None, None) => Err("a bound needs min, max or both".into()),
            (Some(a), Some(b)) if a.len() != b.len() => {
                Err("min and max must give the same number of fields".into())
            }
            (Some(a), Some(b)) => match a.iter().zip(b).position(|(x, y)| x > y) {
                Some(i) => Err(format!(
                    "field {}: min {} is above max {}",
                    i + 1,
                    a[i],
                    b[i]
                )),
                None => Ok(()),
            },
            _ => Ok(()),
        }
    }

    fn fields(&self) -> usize {
        self.min.as_ref().or(self.max.as_ref()).map_or(0, Vec::len)
    }

    /// Moves each live field into the bound (pure). The live value must be as many integers
    /// as the bound gives fields.
    pub fn resolve(&self, live: &str) -> Result<Resolved, String> {
        let now = normalize(live);
        let fields: Vec<i128> = now
            .split(' ')
            .map(|f| f.parse::<i128>())
            .collect::<Result<_, _>>()
            .map_err(|_| format!("a bound needs a numeric value; this key holds {now:?}"))?;
        if fields.len() != self.fields() {
            return Err(format!(
                "this key holds {} field(s) on this host, the bound gives {}",
                fields.len(),
                self.fields()
            ));
        }
        let mut moves = Vec::new();
        let out: Vec<String> = fields
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                let lo = self.min.as_ref().map(|m| m[i]);
                let hi = self.max.as_ref().map(|m| m[i]);
                let n = match (lo, hi) {
                    (Some(lo), _) if v < lo => {
                        moves.push((i + 1, Dir::Up, lo));
                        lo
                    }
                    (_, Some(hi)) if v > hi => {
                        moves.push((i + 1, Dir::Down, hi));
                        hi
                    }
                    _ => v,
                };
                n.to_string()
            })
            .collect();
        Ok(Resolved {
            value: out.join(" "),
            moves,
        })
    }
}

/// `≥ 2000000`, `≤ 10`, `≥ 4096 16384 4194304`, `≥ 1 ≤ 5`.
impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |v: &[i128]| v.iter().map(i128::to_string).collect::<Vec<_>>().join(" ");
        let mut parts = Vec::new();
        if let Some(m) = &self.min {
            parts.push(format!("≥ {}", list(m)));
        }
        if let Some(m) = &self.max {
            parts.push(format!("≤ {}", list(m)));
        }
        f.write_str(&parts.join(" "))
    }
}

impl Resolved {
    /// `↑ 2000000`, or per field for vectors: `↑ field 3 to 6291456`.
    pub fn note(&self, fields: usize) -> String {
        self.moves
            .iter()
            .map(|(i, d, v)| {
                let arrow = match d {
                    Dir::Up => "↑",
                    Dir::Down => "↓",
                };
                if fields == 1 {
                    format!("{arrow} {v}")
                } else {
                    format!("{arrow} field {i} to {v}")
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(min: Option<&[i128]>, max: Option<&[i128]>) -> Bound {
        Bound {
            min: min.map(<[i128]>::to_vec),
            max: max.map(<[i128]>::to_vec),
        }
    }

    #[test]
    fn a_floor_keeps_a_higher_live_value_and_raises_a_lower_one() {
        let floor = b(Some(&[2_000_000]), None);
        let r = floor.resolve("2466165\n").unwrap();
        assert_eq!((r.value.as_str(), r.moves.len()), ("2466165", 0));
        let r = floor.resolve("1000\n").unwrap();
        assert_eq!(r.value, "2000000");
        assert_eq!(r.note(1), "↑ 2000000");
        let ceiling = b(None, Some(&[10]));
        assert_eq!(ceiling.resolve("60").unwrap().note(1), "↓ 10");
        assert_eq!(ceiling.resolve("5").unwrap().value, "5");
    }

    #[test]
    fn vector_bounds_move_each_field_on_its_own() {
        let rmem = b(Some(&[4096, 16384, 4194304]), None);
        let r = rmem.resolve("4096\t131072\t33554432\n").unwrap();
        assert_eq!(r.value, "4096 131072 33554432");
        assert!(r.moves.is_empty());
        let r = rmem.resolve("4096\t131072\t1048576\n").unwrap();
        assert_eq!(r.value, "4096 131072 4194304");
        assert_eq!(r.note(3), "↑ field 3 to 4194304");
        assert!(
            rmem.resolve("4096 131072")
                .unwrap_err()
                .contains("2 field(s)")
        );
        assert!(rmem.resolve("cubic").is_err());
    }

    #[test]
    fn another_sources_value_is_accepted_when_within() {
        // (what the entry asks, another source's value, accepted)
        let ports = || Within::Include("80,443,9100".parse().unwrap());
        for (w, value, ok) in [
            (Within::Bound(b(Some(&[1000]), None)), "4096", true),
            (Within::Bound(b(Some(&[1000]), None)), "10", false),
            (ports(), "1-1024,9100", true),
            (ports(), "80,443", false),
            (ports(), "not ports", false),
        ] {
            assert_eq!(w.accepts(value), ok, "{w:?} {value:?}");
        }
    }

    #[test]
    fn checks_and_display() {
        assert!(b(None, None).check().is_err());
        assert!(
            b(Some(&[5]), Some(&[1]))
                .check()
                .unwrap_err()
                .contains("above max")
        );
        assert!(b(Some(&[1, 2]), Some(&[3])).check().is_err());
        assert_eq!(b(Some(&[1]), Some(&[5])).to_string(), "≥ 1 ≤ 5");
        assert_eq!(
            b(Some(&[4096, 16384, 4194304]), None).to_string(),
            "≥ 4096 16384 4194304"
        );
    }
}
