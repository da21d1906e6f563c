//! `contrib/prometheus/hosttune.rules.yml` passes `promtool check rules`, its unit tests
//! (`hosttune.rules.test.yml`) pass `promtool test rules` and name every alert, and every
//! metric the rules read is one hosttune writes. Without promtool (apt package prometheus)
//! the promtool tests skip loudly, or fail under HOSTTUNE_REQUIRE_ROOT_TESTS=1.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn contrib(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib").join(rel)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs promtool with `args` and panics with its output unless it succeeds.
fn promtool(args: &[&str]) -> String {
    let tool = common::tool_path("promtool").unwrap();
    let o = Command::new(&tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", tool.display()));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "promtool {}: {text}", args.join(" "));
    text
}

/// The `hosttune_*` metric names in `text` (recording rules' `hosttune:*` names excluded).
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("hosttune_") {
        let before = rest[..at].chars().last();
        let tail = &rest[at..];
        let len = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        if !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
            names.insert(tail[..len].to_string());
        }
        rest = &tail[len..];
    }
    names
}

/// The metric names hosttune writes: those in the source of the textfile writers.
fn written() -> String {
    ["src/report.rs", "src/agent/metrics.rs", "src/evidence/render.rs"]
        .iter()
        .map(|f| read(&Path::new(env!("CARGO_MANIFEST_DIR")).join(f)))
        .collect()
}

#[test]
fn alert_rules_pass_promtool_check_and_their_unit_tests() {
    let test = "alert_rules_pass_promtool_check_and_their_unit_tests";
    if !common::tools_present(test, &["promtool"]) {
        return;
    }
    let rules = contrib("prometheus/hosttune.rules.yml");
    let out = promtool(&["check", "rules", rules.to_str().unwrap()]);
    assert!(out.contains("SUCCESS"), "{out}");
    let tests = contrib("prometheus/hosttune.rules.test.yml");
    let out = promtool(&["test", "rules", tests.to_str().unwrap()]);
    assert!(out.contains("SUCCESS"), "{out}");
}

/// Each alert the rules define is tested by its alertname, firing (an expected alert) and
/// quiet (an evaluation that expects none, or a host in the same test that stays quiet).
#[test]
fn every_alert_is_unit_tested_and_reads_metrics_hosttune_writes() {
    let rules = read(&contrib("prometheus/hosttune.rules.yml"));
    let tests = read(&contrib("prometheus/hosttune.rules.test.yml"));
    let alerts: BTreeSet<&str> = rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert: "))
        .collect();
    for a in ["HosttuneDrift", "HosttuneFailing", "HosttuneStale"] {
        assert!(alerts.contains(a), "no alert {a}");
    }
    for a in &alerts {
        assert!(
            tests.contains(&format!("alertname: {a}\n")),
            "alert {a} has no unit test"
        );
    }
    for l in rules.lines().filter(|l| l.trim().starts_with("summary:")) {
        assert!(!l.contains("SPEC"), "{l}");
    }
    assert_eq!(
        rules.matches("runbook: ").count(),
        rules.matches("- alert: ").count(),
        "an alert without a runbook line"
    );
    let src = written();
    for m in metric_names(&rules) {
        assert!(
            src.contains(&m),
            "the rules read {m}, which hosttune does not write"
        );
    }
}
