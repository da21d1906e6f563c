//! `contrib/prometheus/hosttune.rules.yml` passes `promtool check rules`, its unit tests
//! (`hosttune.rules.test.yml`) pass `promtool test rules` and name every alert, and every
//! metric the rules read is one hosttune writes. Without promtool (apt package prometheus)
//! the promtool tests skip loudly, or fail under HOSTTUNE_REQUIRE_ROOT_TESTS=1.

use crate::common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn contrib(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("contrib")
        .join(rel)
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
    [
        "src/report.rs",
        "src/agent/metrics.rs",
        "src/evidence/render.rs",
    ]
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

/// The Grafana dashboard: valid JSON in the shape Grafana imports (a title, a uid, a schema
/// version, panels with unique ids and a grid position, each query with a refId on the
/// dashboard's Prometheus data source), whose every query parses (through `promtool check
/// rules`, each wrapped as a recording rule) and reads only metrics hosttune writes.
#[test]
fn the_dashboard_is_valid_and_its_queries_parse() {
    let test = "the_dashboard_is_valid_and_its_queries_parse";
    let path = contrib("grafana/hosttune.json");
    let d: serde_json::Value =
        serde_json::from_str(&read(&path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    for key in ["title", "uid"] {
        assert!(d[key].is_string(), "no {key}");
    }
    assert!(d["schemaVersion"].as_u64().is_some_and(|v| v >= 36));
    let panels = d["panels"].as_array().expect("panels");
    let mut ids = BTreeSet::new();
    let mut exprs = Vec::new();
    for p in panels {
        let title = p["title"].as_str().expect("a panel title");
        assert!(
            ids.insert(p["id"].as_u64().expect("a panel id")),
            "{title}: id"
        );
        for k in ["h", "w", "x", "y"] {
            assert!(p["gridPos"][k].is_u64(), "{title}: gridPos.{k}");
        }
        if p["type"] == "row" {
            continue;
        }
        assert_eq!(p["datasource"]["uid"], "${datasource}", "{title}");
        let targets = p["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "{title}: no query");
        for t in targets {
            assert!(t["refId"].is_string(), "{title}: refId");
            let e = t["expr"].as_str().expect("expr");
            exprs.push((title.to_string(), e.to_string()));
        }
    }
    let text: String = exprs.iter().map(|(_, e)| format!("{e}\n")).collect();
    let src = written();
    for m in metric_names(&text) {
        assert!(
            src.contains(&m),
            "the dashboard reads {m}, which hosttune does not write"
        );
    }
    for want in [
        "hosttune_in_sync",
        "hosttune_drift_items",
        "hosttune_profile_info",
    ] {
        assert!(text.contains(want), "no panel reads {want}");
    }
    assert!(text.contains("hosttune_evidence"), "no evidence panel");
    assert!(
        text.contains("hosttune_agent_failures_total"),
        "no failures panel"
    );
    if !common::tools_present(test, &["promtool"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut rules = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, (title, e)) in exprs.iter().enumerate() {
        rules.push_str(&format!(
            "      # {title}\n      - record: dashboard:query_{i}\n        expr: {}\n",
            serde_json::to_string(e).unwrap()
        ));
    }
    let file = dir.path().join("dashboard.rules.yml");
    std::fs::write(&file, &rules).unwrap();
    let out = promtool(&["check", "rules", file.to_str().unwrap()]);
    assert!(
        out.contains(&format!("SUCCESS: {} rules found", exprs.len())),
        "{out}"
    );
}
