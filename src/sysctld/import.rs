//! `hosttune import`: a profile made from sysctl.conf / sysctl.d files (pure: the command
//! reads the files and prints the result).
//!
//! The files are taken in the order given, and as at boot the later assignment of a key wins.
//! A line that has no profile form (a bad line, an empty value) is left out with a note naming
//! its file and line; `-KEY` alone (an exclusion from globs) becomes `{ exclude = true }`.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::{Line, parse};
use crate::sysctl::normalize;

/// The profile text and what could not be carried over.
#[derive(Debug, Default)]
pub struct Imported {
    /// A profile (TOML) with a `description` and a `[sysctl]` table.
    pub profile: String,
    /// `FILE:LINE: ...`, one per line left out or replaced.
    pub notes: Vec<String>,
    /// Keys in the `[sysctl]` table.
    pub keys: usize,
}

/// Builds a profile from `(file name, text)` pairs. `name` goes into the description and
/// the header's hint of where to save the profile.
pub fn import(files: &[(String, String)], name: Option<&str>) -> Imported {
    let mut kept: Vec<Line> = Vec::new();
    let mut at: HashMap<String, usize> = HashMap::new();
    let mut notes = Vec::new();
    for (file, text) in files {
        let (lines, errs) = parse(file, text);
        notes.extend(
            errs.iter()
                .map(|e| format!("{}:{}: not imported: {}", e.file, e.line, e.why)),
        );
        for l in lines {
            if l.value.as_deref() == Some("") {
                notes.push(format!(
                    "{}:{}: not imported: {} has an empty value, which a profile cannot hold",
                    l.file, l.line, l.target
                ));
                continue;
            }
            if let Some(v) = l.value.as_deref() {
                let d = decimal(&normalize(v));
                if d != normalize(v) {
                    notes.push(format!(
                        "{}:{}: {} = {}: the kernel reads the leading-zero or 0x number as \
                         octal or hex; imported as {d}",
                        l.file,
                        l.line,
                        l.target,
                        normalize(v)
                    ));
                }
            }
            let id = l.target.to_string();
            match at.get(&id) {
                Some(&i) => {
                    let old = &kept[i];
                    notes.push(format!(
                        "{}:{}: {id} is set again: {} replaces {} from {}:{} (the later one \
                         wins, as at boot)",
                        l.file,
                        l.line,
                        l.value.as_deref().map_or("excluded".into(), normalize),
                        old.value.as_deref().map_or("excluded".into(), normalize),
                        old.file,
                        old.line
                    ));
                    kept[i] = l;
                }
                None => {
                    at.insert(id, kept.len());
                    kept.push(l);
                }
            }
        }
    }
    let names: Vec<&str> = files.iter().map(|(f, _)| f.as_str()).collect();
    Imported {
        profile: render(&kept, &names, name),
        notes,
        keys: kept.len(),
    }
}

/// The kernel reads a number with a leading 0 as octal and with 0x as hex (`010` is 8): each
/// such field is carried over as the decimal value the kernel would have set.
pub fn decimal(value: &str) -> String {
    value
        .split(' ')
        .map(|f| {
            let parsed = if let Some(h) = f.strip_prefix("0x").or_else(|| f.strip_prefix("0X")) {
                i64::from_str_radix(h, 16).ok()
            } else if f.len() > 1 && f.starts_with('0') && f.bytes().all(|b| b.is_ascii_digit()) {
                i64::from_str_radix(&f[1..], 8).ok()
            } else {
                None
            };
            parsed.map_or_else(|| f.to_string(), |n| n.to_string())
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn render(lines: &[Line], files: &[&str], name: Option<&str>) -> String {
    let from = files.join(", ");
    let mut out = String::new();
    let _ = match name {
        Some(n) => writeln!(
            out,
            "# Made by `hosttune import` from {from}.\n# Save as /etc/hosttune/profiles/{n}.toml \
             (or pass the file's path as PROFILE)."
        ),
        None => writeln!(out, "# Made by `hosttune import` from {from}."),
    };
    let description = match name {
        Some(n) => format!("{n}: sysctl settings imported from {from}"),
        None => format!("sysctl settings imported from {from}"),
    };
    let _ = writeln!(out, "description = {}", quote(&description));
    if lines.is_empty() {
        return out;
    }
    let _ = writeln!(out, "\n[sysctl]");
    for l in lines {
        // Globs are written as they are: `[sysctl]` takes glob keys as sysctl.d(5) does.
        let key = if l.optional {
            format!("-{}", l.target)
        } else {
            l.target.to_string()
        };
        // `-KEY` alone keeps the key out of every glob: `{ exclude = true }` in a profile.
        let Some(raw) = l.value.as_deref() else {
            let _ = writeln!(
                out,
                "{} = {{ exclude = true }}",
                quote(&l.target.to_string())
            );
            continue;
        };
        let value = decimal(&normalize(raw));
        // A number only where it reads back as written.
        let shown = match value.parse::<i64>() {
            Ok(n) if n.to_string() == value => value,
            _ => quote(&value),
        };
        let _ = writeln!(out, "{} = {shown}", quote(&key));
    }
    out
}

/// A TOML basic string.
fn quote(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(o, "\\u{:04X}", u32::from(c));
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(files: &[(&str, &str)]) -> Imported {
        let files: Vec<(String, String)> = files
            .iter()
            .map(|(f, t)| (f.to_string(), t.to_string()))
            .collect();
        import(&files, Some("site"))
    }

    #[test]
    fn numbers_strings_optional_keys_and_globs() {
        let i = run(&[(
            "a.conf",
            "net.core.somaxconn = 500000\nnet.ipv4.tcp_rmem = 4096\t16384  4194304\n\
             -net.netfilter.nf_conntrack_max = 700000\nnet/ipv4/conf/eth0.100/rp_filter = 2\n\
             net.ipv4.conf.*.rp_filter = 2\nkernel.core_pattern = |/bin/x \"%p\"\nvm.a = 010\n",
        )]);
        assert_eq!(i.notes.len(), 1, "{:?}", i.notes);
        assert!(i.notes[0].contains("vm.a = 010") && i.notes[0].contains("imported as 8"));
        assert_eq!(i.keys, 7);
        let body = i.profile.split_once("[sysctl]\n").unwrap().1;
        assert_eq!(
            body,
            "\"net.core.somaxconn\" = 500000\n\
             \"net.ipv4.tcp_rmem\" = \"4096 16384 4194304\"\n\
             \"-net.netfilter.nf_conntrack_max\" = 700000\n\
             \"net.ipv4.conf.eth0/100.rp_filter\" = 2\n\
             \"net.ipv4.conf.*.rp_filter\" = 2\n\
             \"kernel.core_pattern\" = \"|/bin/x \\\"%p\\\"\"\n\
             \"vm.a\" = 8\n"
        );
        assert!(
            i.profile
                .contains("description = \"site: sysctl settings imported from a.conf\"\n")
        );
        let p = crate::profile::parse_str("imported", &i.profile).unwrap();
        assert_eq!(p.sysctl.len(), 7);
    }

    #[test]
    fn the_later_assignment_wins_with_a_note() {
        let i = run(&[
            ("a.conf", "vm.swappiness = 10\nnet/core/somaxconn = 1\n"),
            ("b.conf", "vm.swappiness=100\n-net.core.somaxconn = 2\n"),
        ]);
        assert_eq!(i.keys, 2);
        assert!(
            i.profile
                .ends_with("[sysctl]\n\"vm.swappiness\" = 100\n\"-net.core.somaxconn\" = 2\n")
        );
        assert_eq!(
            i.notes,
            [
                "b.conf:1: vm.swappiness is set again: 100 replaces 10 from a.conf:1 (the later \
                 one wins, as at boot)",
                "b.conf:2: net.core.somaxconn is set again: 2 replaces 1 from a.conf:2 (the later \
                 one wins, as at boot)"
            ]
        );
    }

    #[test]
    fn lines_without_a_profile_form_are_noted() {
        let i = run(&[(
            "x.conf",
            "vm.swappiness\n-net.ipv4.conf.all.rp_filter\nvm.b =\nvm.c = 3\n",
        )]);
        assert_eq!(i.keys, 2);
        assert_eq!(i.notes.len(), 2);
        assert!(i.notes[0].starts_with("x.conf:1: not imported: not an assignment"));
        assert!(i.notes[1].starts_with("x.conf:3: not imported: vm.b has an empty value"));
        // An exclusion from globs carries over as `{ exclude = true }`.
        assert!(
            i.profile
                .contains("\"net.ipv4.conf.all.rp_filter\" = { exclude = true }"),
            "{}",
            i.profile
        );
        let nothing = run(&[("y.conf", "# only comments\n")]);
        assert_eq!(nothing.keys, 0);
        assert!(!nothing.profile.contains("[sysctl]"));
    }
}
