//! Small validated value types shared by the knobs.

use std::ffi::OsString;
use std::fmt;
use std::os::unix::ffi::OsStringExt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A network interface name as the kernel accepts it (`dev_valid_name`): 1 to 15 bytes, not
/// `.` or `..`, no `/`, `:`, NUL or whitespace, judged byte by byte as the kernel's `isspace`
/// does (so `eth-é` is a name and `eth-à`, whose UTF-8 holds the byte 0xa0, is not). Always
/// UTF-8: a name the kernel holds that is not is a [`RawIfName`], which hosttune leaves alone.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IfName(String);

/// Why an interface name is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IfNameError {
    #[error("interface name is empty")]
    Empty,
    #[error("interface name {0:?} is longer than 15 bytes")]
    TooLong(String),
    #[error("interface name {0:?} contains '/', ':' or whitespace")]
    BadChar(String),
    #[error("interface name {0:?} is not allowed")]
    Reserved(String),
}

impl IfName {
    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for IfName {
    type Err = IfNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err(IfNameError::Empty);
        }
        if s.len() > 15 {
            return Err(IfNameError::TooLong(s.to_string()));
        }
        if s == "." || s == ".." {
            return Err(IfNameError::Reserved(s.to_string()));
        }
        if s.bytes()
            .any(|b| matches!(b, b'/' | b':' | b'\0') || kernel_isspace(b))
        {
            return Err(IfNameError::BadChar(s.to_string()));
        }
        Ok(Self(s.to_string()))
    }
}

/// The kernel's `isspace` (lib/ctype.c): tab, newline, vertical tab, form feed, carriage
/// return, space, and 0xa0 (Latin-1 no-break space), byte by byte.
fn kernel_isspace(b: u8) -> bool {
    matches!(b, b'\t'..=b'\r' | b' ' | 0xa0)
}

/// Bytes shown the way Rust's `escape_ascii` shows them: printable ASCII as is, `\\`, `\'`
/// and `\"` escaped, anything else as `\xNN` (`bv\xff\xfe`). The result is plain ASCII,
/// so it is safe in a text report, JSON, a Prometheus label and a log line.
pub fn escape_bytes(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

/// An interface name the kernel holds that is not UTF-8 (`ip link add $'bv\xff\xfe' ...`: the
/// kernel takes any bytes but `/`, `:`, whitespace and NUL). hosttune does not tune such an
/// interface: every knob, sysctl key, snapshot and report names interfaces as text. Plans
/// report it as one `skipped` item, named escaped ([`escape_bytes`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RawIfName(Vec<u8>);

impl RawIfName {
    /// The name's bytes, as the kernel gave them.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The name as a path component (`/sys/class/net/NAME`).
    pub fn as_os_str(&self) -> &std::ffi::OsStr {
        std::os::unix::ffi::OsStrExt::from_bytes(&self.0)
    }

    /// Splits directory entry names into the UTF-8 ones and the others, each list in the
    /// order given.
    pub fn split(names: Vec<OsString>) -> (Vec<String>, Vec<RawIfName>) {
        let mut text = Vec::new();
        let mut raw = Vec::new();
        for n in names {
            match n.into_string() {
                Ok(s) => text.push(s),
                Err(n) => raw.push(RawIfName(n.into_vec())),
            }
        }
        (text, raw)
    }
}

impl From<Vec<u8>> for RawIfName {
    fn from(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
}

impl fmt::Display for RawIfName {
    /// Escaped: `bv\xff\xfe`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.escape_ascii())
    }
}

impl TryFrom<String> for IfName {
    type Error = IfNameError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<IfName> for String {
    fn from(n: IfName) -> String {
        n.0
    }
}

impl fmt::Display for IfName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names_follow_the_kernel_rules() {
        for ok in [
            "eth0",
            "eth0.100",
            "p2p2",
            "enp59s0f1np1",
            "a23456789012345",
            "bv.1",
            "bv-é",
            "bv\u{2003}x",
            "bv\u{85}",
            "bv\\x\"'",
        ] {
            assert!(ok.parse::<IfName>().is_ok(), "{ok}");
        }
        assert_eq!("".parse::<IfName>(), Err(IfNameError::Empty));
        assert!(matches!(
            "a234567890123456".parse::<IfName>(),
            Err(IfNameError::TooLong(_))
        ));
        for bad in [
            "eth/0", "eth0:0", "eth 0", "a\0", "eth\t0", "bv-à", "bv\u{a0}",
        ] {
            assert!(
                matches!(bad.parse::<IfName>(), Err(IfNameError::BadChar(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            "..".parse::<IfName>(),
            Err(IfNameError::Reserved(_))
        ));
    }

    #[test]
    fn odd_bytes_are_escaped_as_rust_escapes_ascii() {
        assert_eq!(escape_bytes(b"bv\xff\xfe"), r"bv\xff\xfe");
        assert_eq!(escape_bytes(b"eth0.100"), "eth0.100");
        assert_eq!(escape_bytes(b"a\\b\"c'"), r#"a\\b\"c\'"#);
        assert_eq!(escape_bytes("é".as_bytes()), r"\xc3\xa9");
        assert_eq!(escape_bytes(b"\x01\x7f\t"), r"\x01\x7f\t");
        let raw = RawIfName::from(b"bv\xff\xfe".to_vec());
        assert_eq!(raw.to_string(), r"bv\xff\xfe");
        assert!(raw.to_string().is_ascii());
        assert_eq!(raw.as_os_str().len(), 4);
    }

    #[test]
    fn listings_split_into_text_and_raw_names() {
        use std::os::unix::ffi::OsStringExt;
        let names = vec![
            OsString::from("bv0"),
            OsString::from_vec(b"bv\xff\xfe".to_vec()),
            OsString::from("bv-é"),
        ];
        let (text, raw) = RawIfName::split(names);
        assert_eq!(text, ["bv0", "bv-é"]);
        assert_eq!(raw, [RawIfName::from(b"bv\xff\xfe".to_vec())]);
    }
}
