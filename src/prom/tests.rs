//! The exposition format, checked from the reading side: a strict parser of the text format
//! (as node_exporter's textfile collector and `promtool check metrics` read it) run on every
//! file hosttune writes, with label values that carry each character the format escapes.

use std::collections::{BTreeMap, HashSet};

use super::*;
use crate::evidence::{Evidence, PerSecond, Since};
use crate::plan::{Entry, Item, Kind, Plan, Status};

/// One sample as read back: the name, the label values unescaped, the value.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    name: String,
    labels: Labels,
    value: f64,
}

/// Label names and their values, unescaped.
type Labels = Vec<(String, String)>;

/// Reads a label set after `{`, up to and including `}`; returns it and the rest of the line.
fn labels(mut s: &str) -> Result<(Labels, &str), String> {
    let mut out = Vec::new();
    loop {
        if let Some(rest) = s.strip_prefix('}') {
            return Ok((out, rest));
        }
        if !out.is_empty() {
            s = s
                .strip_prefix(',')
                .ok_or(format!("no comma before {s:?}"))?;
        }
        let (name, rest) = s.split_once("=\"").ok_or(format!("no =\" in {s:?}"))?;
        if !valid_name(name, false) {
            return Err(format!("label name {name:?}"));
        }
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next() {
                None => return Err(format!("unterminated value of {name}")),
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, 'n')) => value.push('\n'),
                    other => return Err(format!("bad escape {other:?} in {name}")),
                },
                Some((_, c)) => value.push(c),
            }
        };
        out.push((name.to_string(), value));
        s = &rest[end + 1..];
    }
}

/// Parses a whole file: `# HELP` and `# TYPE` at most once per family and before its
/// samples, a family's samples together, no series twice, every value a number.
fn parse(text: &str) -> Result<Vec<Sample>, String> {
    let mut samples = Vec::new();
    let (mut typed, mut helped, mut series, mut done) = (
        HashSet::new(),
        HashSet::new(),
        HashSet::new(),
        HashSet::<String>::new(),
    );
    let mut current = String::new();
    for line in text.lines() {
        let err = |e: String| format!("{e}: {line:?}");
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap_or_default();
            if !helped.insert(name.to_string()) || typed.contains(name) {
                return Err(err("HELP twice or after TYPE".into()));
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, ty) = rest.split_once(' ').ok_or(err("no type".into()))?;
            if !["gauge", "counter"].contains(&ty) || !typed.insert(name.to_string()) {
                return Err(err("bad or second TYPE".into()));
            }
            continue;
        }
        let end = line.find(['{', ' ']).ok_or(err("no value".into()))?;
        let name = &line[..end];
        if !valid_name(name, true) || !typed.contains(name) {
            return Err(err("bad name or no TYPE before it".into()));
        }
        if name != current {
            if !done.insert(current.clone()) || done.contains(name) {
                return Err(err("family split".into()));
            }
            current = name.to_string();
        }
        let (labels, rest) = match line[end..].strip_prefix('{') {
            Some(l) => labels(l).map_err(err)?,
            None => (Vec::new(), &line[end..]),
        };
        let value = rest
            .strip_prefix(' ')
            .and_then(|v| v.parse::<f64>().ok())
            .ok_or(err("value".into()))?;
        if !series.insert((name.to_string(), labels.clone())) {
            return Err(err("series twice".into()));
        }
        samples.push(Sample {
            name: name.into(),
            labels,
            value,
        });
    }
    Ok(samples)
}

/// `promtool check metrics` on `text`, where promtool is installed (apt package
/// prometheus); required under HOSTTUNE_REQUIRE_ROOT_TESTS=1, as the other promtool tests.
fn promtool_accepts(text: &str) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let found = ["/usr/bin/promtool", "/usr/local/bin/promtool"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    let Some(tool) = found else {
        assert!(
            std::env::var("HOSTTUNE_REQUIRE_ROOT_TESTS").as_deref() != Ok("1"),
            "promtool is required (apt package prometheus)"
        );
        eprintln!("SKIPPED promtool check metrics: promtool not installed");
        return;
    };
    let mut child = Command::new(tool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(
        o.status.success(),
        "promtool check metrics: {}{}\n{text}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Every character the format escapes, and a `}` and `,` that must stay inside the quotes.
const HOSTILE: &str = "a\"b\\c\nd},e=\"";

fn evidence(counter: &str, cpu: Option<u32>, value: u64) -> Evidence {
    Evidence {
        counter: counter.into(),
        cpu,
        value,
        increase: Some(value / 2),
        per_second: Some(PerSecond(value as f64 / 4.0)),
        since: Since::Boot,
    }
}

fn plan(profile: &str) -> Plan {
    let mut a = Item::new(
        Kind::Sysctl,
        "net.core.somaxconn",
        "500000",
        "4096",
        Status::Drift,
    );
    a.evidence = vec![
        evidence("TcpExtListenOverflows", None, 6907),
        evidence("TcpExtListenOverflows", Some(2), 40),
    ];
    let mut b = Item::new(Kind::Txqueuelen, HOSTILE, "5000", "1000", Status::Ok);
    b.evidence = vec![evidence(HOSTILE, None, 3), evidence(HOSTILE, Some(0), 3)];
    Plan {
        profile: profile.into(),
        entries: vec![Entry::new(a, None, None), Entry::new(b, None, None)],
        ..Plan::default()
    }
}

fn label<'a>(s: &'a Sample, name: &str) -> Option<&'a str> {
    s.labels
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn label_values_escape_backslash_quote_and_newline_only() {
    assert_eq!(escape_label("plain.name-0"), "plain.name-0");
    assert!(matches!(escape_label("plain"), Cow::Borrowed(_)));
    assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    assert_eq!(escape_label("\\n"), "\\\\n");
    // Help text keeps its quotes.
    assert_eq!(escape_help("say \"x\"\\\n"), "say \"x\"\\\\\\n");
    let mut t = Text::new();
    t.family("m", Type::Counter, "Help.")
        .sample("m", &[("a", "x\"y"), ("b", "\\\n")], 2)
        .sample("m", &[], 3);
    assert_eq!(
        t.as_str(),
        "# HELP m Help.\n# TYPE m counter\nm{a=\"x\\\"y\",b=\"\\\\\\n\"} 2\nm 3\n"
    );
}

#[test]
fn the_audit_textfile_parses_and_carries_hostile_names_intact() {
    let series = crate::evidence::render::Series::per_cpu(true);
    let text = crate::report::prometheus(&plan(HOSTILE), 7, None, series);
    let samples = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert!(samples.iter().all(|s| label(s, "profile") == Some(HOSTILE)));
    let odd = samples
        .iter()
        .find(|s| s.name == "hosttune_item_in_sync" && label(s, "kind") == Some("txqueuelen"))
        .unwrap();
    assert_eq!(label(odd, "object"), Some(HOSTILE));
    let per_cpu = samples
        .iter()
        .find(|s| s.name == "hosttune_evidence_per_cpu" && label(s, "object") == Some(HOSTILE))
        .unwrap();
    assert_eq!(label(per_cpu, "counter"), Some(HOSTILE));
    assert_eq!(label(per_cpu, "cpu"), Some("0"));
    promtool_accepts(&text);
}

#[test]
fn the_evidence_gauges_parse_on_their_own() {
    let series = crate::evidence::render::Series {
        per_cpu: true,
        cap: 1,
    };
    let text = crate::evidence::render::prometheus(&plan("web"), HOSTILE, series);
    let samples = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let names: std::collections::BTreeSet<&str> = samples.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        [
            "hosttune_evidence",
            "hosttune_evidence_per_cpu",
            "hosttune_evidence_per_second",
            "hosttune_evidence_series_dropped"
        ]
    );
    // The cap kept the largest per-CPU part (40) and counted the other.
    let dropped = samples.last().unwrap();
    assert_eq!(
        (dropped.value, label(dropped, "profile")),
        (1.0, Some(HOSTILE))
    );
    promtool_accepts(&text);
}

#[test]
fn the_agent_textfile_escapes_every_label_it_writes() {
    use crate::agent::metrics::{Counters, Gauges, render};
    use crate::agent::{Ident, pause::Pause};
    let dir = tempfile::tempdir().unwrap();
    let store = crate::snapshot::Store::new(dir.path());
    let ident = Ident {
        name: HOSTILE.into(),
        sha256: "ab".repeat(32),
    };
    let pause = Pause {
        since: 1,
        until: Some(9),
        reason: None,
    };
    let mut c = Counters::default();
    c.change(HOSTILE);
    c.event(HOSTILE);
    let retries: BTreeMap<String, u32> = [(format!("txqueuelen {HOSTILE}"), 2)].into();
    let g = Gauges {
        ident: &ident,
        mode: HOSTILE,
        per_cpu: true,
        pause: Some(&pause),
        failing: 1,
        retries: &retries,
    };
    let text = render(&store, Some(&plan("ignored")), &mut c, &g);
    let samples = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let one = |name: &str| samples.iter().find(|s| s.name == name).unwrap();
    assert_eq!(
        label(one("hosttune_agent_changes_total"), "kind"),
        Some(HOSTILE)
    );
    assert_eq!(
        label(one("hosttune_agent_events_total"), "type"),
        Some(HOSTILE)
    );
    assert_eq!(label(one("hosttune_agent_mode"), "mode"), Some(HOSTILE));
    assert_eq!(
        label(one("hosttune_agent_item_failures"), "item"),
        Some(format!("txqueuelen {HOSTILE}").as_str())
    );
    assert_eq!(
        label(one("hosttune_profile_info"), "profile"),
        Some(HOSTILE)
    );
    // The audit part is labelled with the agent's name for the profile.
    assert_eq!(label(one("hosttune_in_sync"), "profile"), Some(HOSTILE));
    promtool_accepts(&text);
}

#[test]
fn the_parser_rejects_what_the_format_forbids() {
    for bad in [
        "m 1\n",                                           // no TYPE
        "# TYPE m gauge\nm{a=\"x\"y\"} 1\n",               // unescaped quote
        "# TYPE m gauge\nm{a=\"x\\q\"} 1\n",               // unknown escape
        "# TYPE m gauge\nm{a=\"x\"} 1\nm{a=\"x\"} 2\n",    // a series twice
        "# TYPE m gauge\n# TYPE m gauge\nm 1\n",           // TYPE twice
        "# TYPE m gauge\n# TYPE n gauge\nm 1\nn 1\nm 2\n", // family split
        "# TYPE m gauge\nm{a=\"x\n",                       // newline inside a value
    ] {
        assert!(parse(bad).is_err(), "accepted {bad:?}");
    }
}
