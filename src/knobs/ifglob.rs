//! Interface-name globs for `[[nic]] match`: `*`, `?` and `[a-z]` classes, as the shell
//! matches, checked while loading so that a glob that can never match a kernel name is refused.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A glob on interface names: `*`, `?` and `[a-z]` classes, as the shell matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IfGlob(String);

impl FromStr for IfGlob {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.is_empty() || s.len() > 64 {
            return Err(format!(
                "match {s:?}: a glob of 1 to 64 characters is expected"
            ));
        }
        if s.chars()
            .any(|c| c == '/' || c == ':' || c.is_whitespace() || c.is_control())
        {
            return Err(format!(
                "match {s:?}: interface names cannot contain '/', ':' or whitespace"
            ));
        }
        if !s.contains(['*', '?', '[']) && s.len() > 15 {
            return Err(format!(
                "match {s:?}: an interface name is at most 15 bytes"
            ));
        }
        if s.matches('[').count() != s.matches(']').count() {
            return Err(format!("match {s:?}: unbalanced '[' in glob"));
        }
        Ok(Self(s.to_string()))
    }
}

impl TryFrom<String> for IfGlob {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<IfGlob> for String {
    fn from(g: IfGlob) -> String {
        g.0
    }
}

impl IfGlob {
    /// The glob as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `name` matches the glob.
    pub fn matches(&self, name: &str) -> bool {
        glob(self.0.as_bytes(), name.as_bytes())
    }
}

/// Whether `name` matches the shell glob `pattern` (`*`, `?`, `[a-z]`, `[!x]`).
pub fn glob_matches(pattern: &str, name: &str) -> bool {
    glob(pattern.as_bytes(), name.as_bytes())
}

/// [`glob_matches`] on a name that may not be UTF-8 (`bv\xff\xfe` matches `bv*`). Matching is
/// byte by byte, so `?` and a class stand for one byte, as in the C locale.
pub fn glob_matches_bytes(pattern: &str, name: &[u8]) -> bool {
    glob(pattern.as_bytes(), name)
}

fn glob(p: &[u8], s: &[u8]) -> bool {
    match p.first() {
        None => s.is_empty(),
        Some(b'*') => (0..=s.len()).any(|i| glob(&p[1..], &s[i..])),
        Some(b'?') => !s.is_empty() && glob(&p[1..], &s[1..]),
        Some(b'[') => {
            let Some(end) = p.iter().position(|&c| c == b']') else {
                return false;
            };
            let Some(&c) = s.first() else { return false };
            let class = &p[1..end];
            let (neg, class) = match class.first() {
                Some(b'!') | Some(b'^') => (true, &class[1..]),
                _ => (false, class),
            };
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == b'-' {
                    hit |= class[i] <= c && c <= class[i + 2];
                    i += 3;
                } else {
                    hit |= class[i] == c;
                    i += 1;
                }
            }
            hit != neg && glob(&p[end + 1..], &s[1..])
        }
        Some(&c) => s.first() == Some(&c) && glob(&p[1..], &s[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_like_the_shell() {
        let g: IfGlob = "eth*".parse().unwrap();
        assert!(g.matches("eth0") && g.matches("eth") && !g.matches("veth0"));
        let g: IfGlob = "enp?s0f[0-1]".parse().unwrap();
        assert!(g.matches("enp3s0f1") && !g.matches("enp3s0f2") && !g.matches("enp33s0f1"));
        let g: IfGlob = "p2p[!1]".parse().unwrap();
        assert!(g.matches("p2p2") && !g.matches("p2p1"));
        assert!(glob_matches_bytes("bv*", b"bv\xff\xfe"));
        assert!(glob_matches_bytes("bv??", b"bv\xff\xfe"));
        assert!(!glob_matches_bytes("eth*", b"bv\xff\xfe"));
        assert!(glob_matches("bv*", "bv-é") && glob_matches("bv.?", "bv.1"));
        assert!("eth/0".parse::<IfGlob>().is_err());
        assert!("eth[0".parse::<IfGlob>().is_err());
    }
}
