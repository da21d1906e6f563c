//! Sysctl keys and values: the names under `/proc/sys` and how their values compare.
//!
//! A key is a list of path segments. As in sysctl(8), the first separator decides the form:
//! `net/ipv4/conf/eth0.100/rp_filter` (slashed: dots are literal) and
//! `net.ipv4.conf.eth0/100.rp_filter` (dotted: a `/` stands for a dot inside a segment) name the
//! same file. Building paths with `replace('.', "/")` would split `eth0.100`; segments never do.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A sysctl name as a list of `/proc/sys` path segments.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SysctlKey(Vec<String>);

/// Why a sysctl key is rejected. Checked before anything is read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("sysctl key is empty")]
    Empty,
    #[error("sysctl key {0:?} has an empty segment")]
    EmptySegment(String),
    #[error("sysctl key {0:?} has a '.' or '..' segment")]
    Traversal(String),
    #[error("sysctl key {0:?} contains a NUL, control character or whitespace")]
    BadChar(String),
    /// A segment is one `/proc/sys` path component: a `/` inside one would make two.
    #[error("sysctl key {0:?} has a segment that contains '/'")]
    SlashInSegment(String),
    #[error(
        "sysctl key {key:?} is an absolute path; sysctl keys are relative to /proc/sys: {hint}"
    )]
    Absolute { key: String, hint: String },
    #[error(
        "sysctl key {0:?} starts with more than one '-': a single '-' makes a key optional; \
         write \"-{trimmed}\" or \"{trimmed}\"",
        trimmed = .0.trim_start_matches('-')
    )]
    Dashes(String),
}

impl SysctlKey {
    /// The path segments under `/proc/sys`.
    pub fn segments(&self) -> &[String] {
        &self.0
    }

    /// Builds a key from segments, checking each.
    pub fn from_segments<I, S>(segs: I) -> Result<Self, KeyError>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let segs: Vec<String> = segs.into_iter().map(Into::into).collect();
        let shown = segs.join("/");
        if segs.is_empty() {
            return Err(KeyError::Empty);
        }
        for s in &segs {
            if s.is_empty() {
                return Err(KeyError::EmptySegment(shown));
            }
            if s == "." || s == ".." {
                return Err(KeyError::Traversal(shown));
            }
            if s.chars().any(|c| c.is_control() || c.is_whitespace()) {
                return Err(KeyError::BadChar(shown));
            }
            if s.contains('/') {
                return Err(KeyError::SlashInSegment(shown));
            }
        }
        Ok(Self(segs))
    }

    /// `net.ipv4.conf.IFACE.NAME`, for the per-interface keys that DSR needs.
    pub fn conf(family: &str, iface: &str, name: &str) -> Self {
        Self(vec![
            "net".into(),
            family.into(),
            "conf".into(),
            iface.into(),
            name.into(),
        ])
    }
}

impl FromStr for SysctlKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err(KeyError::Empty);
        }
        if s.contains('\0') {
            return Err(KeyError::BadChar(s.replace('\0', "\\0")));
        }
        if s.starts_with('/') {
            return Err(absolute(s));
        }
        let slashed = match s.find(['.', '/']) {
            Some(i) => s.as_bytes()[i] == b'/',
            None => false,
        };
        let segs: Vec<String> = if slashed {
            s.split('/').map(str::to_string).collect()
        } else {
            s.split('.').map(|seg| seg.replace('/', ".")).collect()
        };
        // A slashed key of only separators or a dotted one with "a//b" must not sneak through
        // as "." or "": from_segments checks each segment.
        Self::from_segments(segs).map_err(|e| match e {
            KeyError::EmptySegment(_) => KeyError::EmptySegment(s.to_string()),
            KeyError::Traversal(_) => KeyError::Traversal(s.to_string()),
            KeyError::BadChar(_) => KeyError::BadChar(s.to_string()),
            other => other,
        })
    }
}

/// `/proc/sys/net/core/somaxconn` (or `/net/core/somaxconn`) for `net/core/somaxconn`: the
/// error says which key was meant, in both forms.
fn absolute(s: &str) -> KeyError {
    let rest = s.trim_start_matches('/');
    let rest = rest.strip_prefix("proc/sys/").unwrap_or(rest);
    let hint = match rest.parse::<SysctlKey>() {
        Ok(k) => format!("write {:?} or \"{k}\"", k.segments().join("/")),
        Err(_) => "write the path below /proc/sys, as in \"net/core/somaxconn\"".into(),
    };
    KeyError::Absolute {
        key: s.to_string(),
        hint,
    }
}

/// A profile key: sysctl.d(5)'s optional marker (`-net.core.x` is skipped where the host lacks
/// it), then the key. One `-` at most: `--net.core.x` would name a key whose first segment is
/// `-net`, which never exists, and, being optional, it would be skipped without a word.
pub fn profile_key(raw: &str) -> Result<(bool, SysctlKey), KeyError> {
    match raw.strip_prefix('-') {
        Some(rest) if rest.starts_with('-') => Err(KeyError::Dashes(raw.to_string())),
        Some(rest) => Ok((true, rest.parse()?)),
        None => Ok((false, raw.parse()?)),
    }
}

/// Checks a value's text before anything is written: one line of text, where tabs and spaces
/// may separate fields. A control character (a CR from a file edited on Windows, an escape)
/// would otherwise reach write(2), and the kernel refuses it with EINVAL in the middle of an
/// apply, after earlier keys were written.
pub fn check_value_text(v: &str) -> Result<(), String> {
    if let Some(c) = v.chars().find(|&c| c.is_control() && c != '\t') {
        return Err(format!(
            "sysctl value {v:?} contains the control character U+{:04X}: a value is one line \
             of text, fields separated by spaces or tabs; remove it",
            u32::from(c)
        ));
    }
    // The kernel's integer parser takes a leading 0 as octal and 0x as hex (`010` is 8), and
    // reads the value back in decimal: a write that never reads back as written.
    for f in v.split_whitespace() {
        let digits = f.strip_prefix(['-', '+']).unwrap_or(f);
        let octal = digits.len() > 1
            && digits.starts_with('0')
            && digits.bytes().all(|b| b.is_ascii_digit());
        let hex = digits.len() > 2
            && (digits.starts_with("0x") || digits.starts_with("0X"))
            && digits[2..].bytes().all(|b| b.is_ascii_hexdigit());
        if octal || hex {
            return Err(format!(
                "sysctl value {v:?}: the kernel reads {f} as {} and reports it in decimal; \
                 write the number in decimal without a leading zero",
                if octal { "octal" } else { "hexadecimal" }
            ));
        }
    }
    Ok(())
}

impl TryFrom<String> for SysctlKey {
    type Error = KeyError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<SysctlKey> for String {
    fn from(k: SysctlKey) -> String {
        k.to_string()
    }
}

/// The dotted form, with dots inside a segment written as `/` (as `sysctl -a` prints them).
impl fmt::Display for SysctlKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            f.write_str(&s.replace('.', "/"))?;
        }
        Ok(())
    }
}

/// Whether two values are the same as the kernel holds them: whitespace folded, and fields
/// that are both decimal integers compared as numbers (`010` is read back as `10`).
pub fn same(a: &str, b: &str) -> bool {
    let (x, y) = (normalize(a), normalize(b));
    if x == y {
        return true;
    }
    let (fx, fy): (Vec<&str>, Vec<&str>) = (x.split(' ').collect(), y.split(' ').collect());
    fx.len() == fy.len()
        && fx.iter().zip(&fy).all(|(p, q)| {
            p == q || matches!((p.parse::<i128>(), q.parse::<i128>()), (Ok(m), Ok(n)) if m == n)
        })
}

/// The number of fields of a value made only of integers (`tcp_rmem` has 3, `somaxconn` 1);
/// `None` for anything else (a string such as `core_pattern`, an empty list), whose shape
/// hosttune cannot judge.
pub fn numeric_fields(v: &str) -> Option<usize> {
    let n = normalize(v);
    if n.is_empty() || !n.split(' ').all(|f| f.parse::<i128>().is_ok()) {
        return None;
    }
    Some(n.split(' ').count())
}

/// Keys whose value the kernel rounds on write, so that a read-back differing from what was
/// written is `clamped` rather than a failure. `fs.pipe-max-size` is rounded up to a power of
/// two number of pages (fs/pipe.c, `round_pipe_size`). Every other key stores what it accepts
/// or refuses the write with EINVAL, so any other difference is a failed write.
pub fn rounds(key: &SysctlKey) -> bool {
    key.segments() == ["fs", "pipe-max-size"]
}

/// A value with runs of whitespace folded to one space and the ends trimmed: `tcp_rmem` reads
/// back as `4096\t16384\t4194304\n` and must equal `"4096 16384 4194304"`.
pub fn normalize(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn first_separator_decides_the_form() {
        let a: SysctlKey = "net/ipv4/conf/eth0.100/rp_filter".parse().unwrap();
        let b: SysctlKey = "net.ipv4.conf.eth0/100.rp_filter".parse().unwrap();
        assert_eq!(a, b);
        assert_eq!(
            a.segments(),
            ["net", "ipv4", "conf", "eth0.100", "rp_filter"]
        );
        assert_eq!(a.to_string(), "net.ipv4.conf.eth0/100.rp_filter");
        let plain: SysctlKey = "vm.swappiness".parse().unwrap();
        assert_eq!(plain.segments(), ["vm", "swappiness"]);
        let single: SysctlKey = "kernel".parse().unwrap();
        assert_eq!(single.segments(), ["kernel"]);
    }

    #[test]
    fn bad_segments_are_rejected() {
        assert_eq!("".parse::<SysctlKey>(), Err(KeyError::Empty));
        for k in ["net..core", ".net.core", "net.core.", "net//core"] {
            assert!(
                matches!(k.parse::<SysctlKey>(), Err(KeyError::EmptySegment(_))),
                "{k}"
            );
        }
        for k in ["net/../../etc/shadow", "net/./core", "net.core/..x"] {
            let r = k.parse::<SysctlKey>();
            assert!(r.is_err(), "{k}");
        }
        assert!(matches!(
            "net/../x".parse::<SysctlKey>(),
            Err(KeyError::Traversal(_))
        ));
        // In the dotted form "a./." would be segment "." after the slash-to-dot swap.
        assert!(matches!(
            "net./.x".parse::<SysctlKey>(),
            Err(KeyError::Traversal(_))
        ));
        assert!(matches!(
            "net.co\0re".parse::<SysctlKey>(),
            Err(KeyError::BadChar(_))
        ));
        assert!(matches!(
            "net.co re".parse::<SysctlKey>(),
            Err(KeyError::BadChar(_))
        ));
    }

    #[test]
    fn an_absolute_path_names_the_key_meant() {
        for (k, slashed, dotted) in [
            (
                "/proc/sys/net/core/somaxconn",
                "net/core/somaxconn",
                "net.core.somaxconn",
            ),
            ("/net/core", "net/core", "net.core"),
            (
                "/proc/sys/net/ipv4/conf/eth0.100/rp_filter",
                "net/ipv4/conf/eth0.100/rp_filter",
                "net.ipv4.conf.eth0/100.rp_filter",
            ),
        ] {
            let e = k.parse::<SysctlKey>().unwrap_err();
            assert!(matches!(e, KeyError::Absolute { .. }), "{k}: {e}");
            let want = format!("write \"{slashed}\" or \"{dotted}\"");
            assert!(e.to_string().ends_with(&want), "{k}: {e}");
        }
        let e = "/".parse::<SysctlKey>().unwrap_err().to_string();
        assert!(e.contains("relative to /proc/sys"), "{e}");
    }

    #[test]
    fn one_leading_dash_at_most() {
        let k: SysctlKey = "vm.x".parse().unwrap();
        assert_eq!(profile_key("-vm.x"), Ok((true, k.clone())));
        assert_eq!(profile_key("vm.x"), Ok((false, k)));
        let e = profile_key("--vm.x").unwrap_err().to_string();
        assert!(e.ends_with("write \"-vm.x\" or \"vm.x\""), "{e}");
        assert!(matches!(profile_key("-"), Err(KeyError::Empty)));
    }

    #[test]
    fn values_are_one_line_of_text() {
        assert!(check_value_text("4096\t16384 4194304").is_ok());
        assert!(check_value_text("|/usr/bin/x -p%p").is_ok());
        for bad in ["1\r", "1\n", "a\0b", "\u{1b}[0m", "x\u{85}"] {
            assert!(check_value_text(bad).is_err(), "{bad:?}");
        }
        assert!(
            check_value_text("1\r")
                .unwrap_err()
                .contains("control character U+000D")
        );
    }

    #[test]
    fn octal_and_hex_numbers_are_refused() {
        assert!(check_value_text("010").unwrap_err().contains("octal"));
        assert!(
            check_value_text("4096 0x10")
                .unwrap_err()
                .contains("hexadecimal")
        );
        assert!(check_value_text("0").is_ok());
        assert!(check_value_text("4096 16384 0").is_ok());
        assert!(check_value_text("|/usr/bin/core -p%p").is_ok());
    }

    #[test]
    fn values_compare_with_whitespace_folded() {
        assert_eq!(normalize("4096\t16384\t4194304\n"), "4096 16384 4194304");
        assert_eq!(normalize("  1024   65535 "), "1024 65535");
        assert_eq!(normalize("\n"), "");
    }

    #[test]
    fn numbers_compare_as_numbers_and_fields_are_counted() {
        assert!(same("010", "10\n"));
        assert!(same("4096\t16384 6291456\n", "4096 16384 6291456"));
        assert!(!same("1 2", "1"));
        assert!(!same("cubic", "reno"));
        assert_eq!(numeric_fields("4096\t16384\t6291456\n"), Some(3));
        assert_eq!(numeric_fields("4096\n"), Some(1));
        assert_eq!(numeric_fields("|/usr/bin/x -p%p"), None);
        assert_eq!(numeric_fields("\n"), None);
        assert!(rounds(&"fs.pipe-max-size".parse().unwrap()));
        assert!(!rounds(&"net.core.somaxconn".parse().unwrap()));
    }

    proptest! {
        #[test]
        // Top-level directories under /proc/sys never contain a dot, so the first segment here
        // has none; later segments may (interface names such as `eth0.100`).
        fn display_then_parse_is_identity(
            first in "[a-z]{1,6}",
            rest in prop::collection::vec("[a-z0-9_][a-z0-9_.-]{0,8}", 0..5),
        ) {
            let mut segs = vec![first];
            segs.extend(rest);
            let k = SysctlKey::from_segments(segs).unwrap();
            let again: SysctlKey = k.to_string().parse().unwrap();
            prop_assert_eq!(again, k);
        }
    }
}
