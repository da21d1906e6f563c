//! Small validated value types shared by the knobs.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A network interface name as the kernel accepts it (`dev_valid_name`): 1 to 15 bytes, not
/// `.` or `..`, no `/`, `:` or whitespace.
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
        if s.chars()
            .any(|c| c == '/' || c == ':' || c.is_whitespace() || c == '\0')
        {
            return Err(IfNameError::BadChar(s.to_string()));
        }
        Ok(Self(s.to_string()))
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
        ] {
            assert!(ok.parse::<IfName>().is_ok(), "{ok}");
        }
        assert_eq!("".parse::<IfName>(), Err(IfNameError::Empty));
        assert!(matches!(
            "a234567890123456".parse::<IfName>(),
            Err(IfNameError::TooLong(_))
        ));
        for bad in ["eth/0", "eth0:0", "eth 0", "a\0"] {
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
}
