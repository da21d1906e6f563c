//! sysctl.conf and sysctl.d(5) files: the line parser (each assignment with its file and line
//! number), the boot-time sources and their precedence ([`boot`]), the items a profile sets
//! differently from them ([`conflicts`]) and `hosttune import` ([`import`]).
//!
//! Hand-written: no crate fits. The `sysctl` crate reads and writes live keys under
//! `/proc/sys` and parses no files; what conflicts and import need is every assignment with the
//! file and line it came from, for messages, and the syntax is a handful of rules
//! (sysctl.d(5), and `parse_line` in systemd's src/sysctl/sysctl.c):
//!
//! - empty lines, and lines whose first non-blank character is `#` or `;`, are comments;
//! - `key = value`: whitespace around `=` optional, key and value trimmed; there are no
//!   trailing comments (`1 # one` is the value `1 # one`);
//! - a leading `-` on the key: a failure to set it is ignored;
//! - `-key` with no `=`: the key is excluded from every glob that would match it;
//! - any other line without `=` is an error ("Line is not an assignment" in systemd-sysctl);
//! - keys are dotted or slashed, the first separator deciding, as [`SysctlKey`] parses them;
//! - a key with `*`, `?` or `[...]` is a glob(7) pattern; each matches within one path
//!   segment, as glob(7) never matches a `/` (so `*` matches `eth0.100` whole).

pub mod boot;
pub mod conflicts;
pub mod import;

use std::fmt;

use crate::sysctl::SysctlKey;

pub use conflicts::Conflict;

/// What an assignment names: one key, or a glob over keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Key(SysctlKey),
    Glob(Glob),
}

impl Target {
    fn parse(text: &str) -> Result<Target, String> {
        if text.contains(['*', '?', '[']) {
            Glob::parse(text).map(Target::Glob)
        } else {
            text.parse().map(Target::Key).map_err(|e| e.to_string())
        }
    }

    /// Whether this names `key` (the key itself, or a glob matching it).
    pub fn matches(&self, key: &SysctlKey) -> bool {
        match self {
            Target::Key(k) => k == key,
            Target::Glob(g) => g.matches(key),
        }
    }
}

/// The dotted form, as a profile key is written (`net.ipv4.conf.*.rp_filter`).
impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Key(k) => k.fmt(f),
            Target::Glob(g) => g.fmt(f),
        }
    }
}

/// A glob(7) key: path segments, each kept as written, in which `*`, `?` and `[...]` match
/// within the segment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Glob(Vec<String>);

impl Glob {
    /// Splits as [`SysctlKey`] does (the first separator decides the form), with the same
    /// checks on each segment. Not through `SysctlKey` itself: a glob is not a file name, and
    /// `[...]` must be checked whole within its segment.
    fn parse(text: &str) -> Result<Glob, String> {
        let slashed = text
            .find(['.', '/'])
            .is_some_and(|i| text.as_bytes()[i] == b'/');
        let segs: Vec<String> = if slashed {
            text.split('/').map(str::to_string).collect()
        } else {
            text.split('.').map(|s| s.replace('/', ".")).collect()
        };
        for s in &segs {
            if s.is_empty() {
                return Err(format!("sysctl key {text:?} has an empty segment"));
            }
            if s == "." || s == ".." {
                return Err(format!("sysctl key {text:?} has a '.' or '..' segment"));
            }
            if s.chars().any(|c| c.is_control() || c.is_whitespace()) {
                return Err(format!(
                    "sysctl key {text:?} contains a control character or whitespace"
                ));
            }
            if !brackets_close(s.as_bytes()) {
                return Err(format!(
                    "glob {text:?}: a '[' is not closed by ']' in the same segment"
                ));
            }
        }
        Ok(Glob(segs))
    }

    /// Whether `key` has as many segments and each matches.
    pub fn matches(&self, key: &SysctlKey) -> bool {
        let k = key.segments();
        k.len() == self.0.len()
            && self
                .0
                .iter()
                .zip(k)
                .all(|(p, s)| crate::knobs::ifglob::glob_matches(p, s))
    }
}

impl fmt::Display for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: Vec<String> = self.0.iter().map(|s| s.replace('.', "/")).collect();
        f.write_str(&shown.join("."))
    }
}

fn brackets_close(p: &[u8]) -> bool {
    let mut i = 0;
    while i < p.len() {
        if p[i] == b'[' {
            // A ']' right after '[' (or after "[!") is a member, not the end, as in glob(7).
            let from = i + 1 + usize::from(matches!(p.get(i + 1), Some(b'!') | Some(b'^')));
            match p.iter().skip(from + 1).position(|&c| c == b']') {
                Some(n) => i = from + 1 + n,
                None => return false,
            }
        }
        i += 1;
    }
    true
}

/// One assignment, with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The file as named to the reader (a host path such as `/etc/sysctl.d/99-x.conf`).
    pub file: String,
    /// 1-based.
    pub line: usize,
    pub target: Target,
    /// The value, trimmed; `None` for `-key` alone (an exclusion from globs).
    pub value: Option<String>,
    /// A leading `-`: a failure to set the key is ignored.
    pub optional: bool,
}

/// A line that is not an assignment, a comment or blank.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {why}")]
pub struct LineError {
    pub file: String,
    pub line: usize,
    pub why: String,
}

/// Parses one file's text. Every line that is neither an assignment nor ignorable is an
/// error naming its line; the rest of the file is still read, as systemd-sysctl does.
pub fn parse(file: &str, text: &str) -> (Vec<Line>, Vec<LineError>) {
    let mut lines = Vec::new();
    let mut errs = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        match parse_line(raw) {
            Ok(None) => {}
            Ok(Some((target, value, optional))) => lines.push(Line {
                file: file.to_string(),
                line: i + 1,
                target,
                value,
                optional,
            }),
            Err(why) => errs.push(LineError {
                file: file.to_string(),
                line: i + 1,
                why,
            }),
        }
    }
    (lines, errs)
}

type Parsed = (Target, Option<String>, bool);

fn parse_line(raw: &str) -> Result<Option<Parsed>, String> {
    let s = raw.trim();
    if s.is_empty() || s.starts_with(['#', ';']) {
        return Ok(None);
    }
    if s.contains('\0') {
        return Err("the line contains a NUL byte".into());
    }
    let (key, value) = match s.split_once('=') {
        Some((k, v)) => (k.trim(), Some(v.trim().to_string())),
        None => (s, None),
    };
    let (optional, key) = match key.strip_prefix('-') {
        Some(k) => (true, k.trim_start()),
        None => (false, key),
    };
    if value.is_none() && !optional {
        return Err(format!(
            "not an assignment: no '=' after {key:?} (only `-KEY` may stand alone, to exclude \
             KEY from globs)"
        ));
    }
    if key.is_empty() {
        return Err("no key before '='".into());
    }
    if key.starts_with('-') {
        return Err(format!(
            "key {key:?}: only one leading '-' is allowed (it marks the key optional)"
        ));
    }
    Ok(Some((Target::parse(key)?, value, optional)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> SysctlKey {
        s.parse().unwrap()
    }

    #[test]
    fn assignments_comments_and_optional_keys() {
        let text = "\n# comment\n   ; also a comment\nnet.core.somaxconn=500000\n  \
                    net.ipv4.tcp_rmem =\t4096 16384 4194304  \n-net.netfilter.nf_conntrack_max \
                    = 700000\nkernel.core_pattern = core # not a comment\nvm.x =\n";
        let (lines, errs) = parse("a.conf", text);
        assert!(errs.is_empty(), "{errs:?}");
        let got: Vec<(usize, String, Option<&str>, bool)> = lines
            .iter()
            .map(|l| (l.line, l.target.to_string(), l.value.as_deref(), l.optional))
            .collect();
        assert_eq!(
            got,
            [
                (4, "net.core.somaxconn".into(), Some("500000"), false),
                (
                    5,
                    "net.ipv4.tcp_rmem".into(),
                    Some("4096 16384 4194304"),
                    false
                ),
                (
                    6,
                    "net.netfilter.nf_conntrack_max".into(),
                    Some("700000"),
                    true
                ),
                (
                    7,
                    "kernel.core_pattern".into(),
                    Some("core # not a comment"),
                    false
                ),
                (8, "vm.x".into(), Some(""), false),
            ]
        );
    }

    #[test]
    fn slashed_and_dotted_keys_name_the_same_file() {
        let (lines, _) = parse(
            "a.conf",
            "net/ipv4/conf/eth0.100/rp_filter = 2\nnet.ipv4.conf.eth0/100.rp_filter = 2\n",
        );
        assert_eq!(lines[0].target, lines[1].target);
        assert_eq!(
            lines[0].target,
            Target::Key(key("net.ipv4.conf.eth0/100.rp_filter"))
        );
    }

    #[test]
    fn bad_lines_name_their_line_and_why() {
        let (lines, errs) = parse(
            "/etc/sysctl.d/x.conf",
            "vm.swappiness\n= 3\n--net.core.somaxconn = 1\nnet..core = 1\n\
             net.ipv4.conf.eth[0.rp_filter = 1\nok.key = 1\n",
        );
        assert_eq!(lines.len(), 1);
        let shown: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert!(shown[0].starts_with("/etc/sysctl.d/x.conf:1: not an assignment"));
        assert_eq!(shown[1], "/etc/sysctl.d/x.conf:2: no key before '='");
        assert!(shown[2].contains(":3: key \"-net.core.somaxconn\": only one leading '-'"));
        assert!(shown[3].contains(":4: ") && shown[3].contains("empty segment"));
        assert!(shown[4].contains(":5: glob") && shown[4].contains("not closed"));
    }

    #[test]
    fn an_exclusion_is_a_key_alone_with_a_dash() {
        let (lines, errs) = parse("a.conf", "-net.ipv4.conf.all.rp_filter\n");
        assert!(errs.is_empty());
        assert_eq!(lines[0].value, None);
        assert!(lines[0].optional);
    }

    #[test]
    fn globs_match_within_one_segment() {
        let (lines, errs) = parse(
            "a.conf",
            "net.ipv4.conf.*.rp_filter = 2\nnet/ipv4/conf/eth?/arp_ignore = 1\n\
             net.ipv4.conf.eth[!0-1].x = 1\n",
        );
        assert!(errs.is_empty(), "{errs:?}");
        let Target::Glob(star) = &lines[0].target else {
            panic!("{:?}", lines[0])
        };
        assert!(star.matches(&key("net.ipv4.conf.eth0/100.rp_filter")));
        assert!(star.matches(&key("net.ipv4.conf.all.rp_filter")));
        assert!(!star.matches(&key("net.ipv4.conf.all.arp_ignore")));
        assert!(!star.matches(&key("net.ipv4.conf.a.b.rp_filter")));
        assert_eq!(lines[1].target.to_string(), "net.ipv4.conf.eth?.arp_ignore");
        assert!(
            lines[1]
                .target
                .matches(&key("net.ipv4.conf.eth1.arp_ignore"))
        );
        assert!(
            !lines[1]
                .target
                .matches(&key("net.ipv4.conf.eth10.arp_ignore"))
        );
        assert!(lines[2].target.matches(&key("net.ipv4.conf.eth2.x")));
        assert!(!lines[2].target.matches(&key("net.ipv4.conf.eth1.x")));
    }
}
