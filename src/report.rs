//! Reports (pure): the audit table, its JSON document, the Prometheus textfile, and the
//! account of an apply or rollback. The textfile is written through [`crate::prom`].

use std::fmt::Write as _;

use serde::Serialize;

use crate::apply::{Cause, Outcome, Undone};
use crate::plan::{Item, Kind, Plan, Status};
use crate::prom::{Text, Type};

/// Output formats of `audit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Prometheus,
}

/// One line per item (kind, object, desired, live, status, note), columns aligned, then a
/// summary line. `quiet` leaves out items that are `ok`. With evidence (`--evidence`), items
/// whose counters show something come first and each evidence reads on a line of its own.
pub fn text(plan: &Plan, quiet: bool) -> String {
    let items: Vec<&Item> = plan
        .items()
        .filter(|i| !quiet || i.status != Status::Ok)
        .collect();
    let items = if items.iter().any(|i| !i.evidence.is_empty()) {
        crate::evidence::render::order(items)
    } else {
        items
    };
    let mut out = String::new();
    if !items.is_empty() {
        let w = |f: &dyn Fn(&Item) -> usize, h: &str| {
            items.iter().map(|i| f(i)).max().unwrap_or(0).max(h.len())
        };
        let (wk, wo, wd, wl) = (
            w(&|i| i.kind.as_str().len(), "KIND"),
            w(&|i| i.object.len(), "OBJECT"),
            w(&|i| i.desired.len(), "DESIRED"),
            w(&|i| i.live.len(), "LIVE"),
        );
        let _ = writeln!(
            out,
            "{:wk$}  {:wo$}  {:wd$}  {:wl$}  STATUS",
            "KIND", "OBJECT", "DESIRED", "LIVE"
        );
        for i in items {
            let line = format!(
                "{:wk$}  {:wo$}  {:wd$}  {:wl$}  {}",
                i.kind.as_str(),
                i.object,
                i.desired,
                i.live,
                i.status
            );
            match notes(i) {
                Some(n) => {
                    let _ = writeln!(out, "{line}  ({n})");
                }
                None => {
                    let _ = writeln!(out, "{}", line.trim_end());
                }
            }
            if let Some(s) = crate::evidence::render::sentence(i) {
                let _ = writeln!(out, "    {s}");
            }
        }
    }
    let _ = writeln!(out, "{}", summary_line(plan));
    out
}

/// An item's note and its boot-time conflicts, in one parenthesis.
fn notes(i: &Item) -> Option<String> {
    let mut parts: Vec<String> = i.note.iter().cloned().collect();
    parts.extend(
        i.conflicts
            .iter()
            .map(|c| format!("set to {} at boot by {}:{}", c.value, c.file, c.line)),
    );
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// `profile web: 25 items: 20 ok, 3 drift, 2 skipped`.
pub fn summary_line(plan: &Plan) -> String {
    let total = plan.entries.len();
    let parts: Vec<String> = plan
        .summary()
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(s, n)| format!("{n} {s}"))
        .collect();
    let verdict = if plan
        .items()
        .any(|i| i.status == Status::Drift || i.status == Status::Error)
    {
        "not in sync"
    } else {
        "in sync"
    };
    format!(
        "profile {}: {total} items: {}: {verdict}",
        plan.profile,
        if parts.is_empty() {
            "nothing to check".to_string()
        } else {
            parts.join(", ")
        }
    )
}

#[derive(Serialize)]
struct JsonReport<'a> {
    profile: &'a str,
    host: &'a str,
    summary: serde_json::Map<String, serde_json::Value>,
    items: Vec<&'a Item>,
}

/// The stable JSON document of the README's "Reports".
pub fn json(plan: &Plan, host: &str) -> String {
    let summary = plan
        .summary()
        .into_iter()
        .map(|(s, n)| (s.as_str().to_string(), serde_json::Value::from(n)))
        .collect();
    let doc = JsonReport {
        profile: &plan.profile,
        host,
        summary,
        items: plan.items().collect(),
    };
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

/// The last apply's outcome, for `hosttune_last_apply_success`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastApply {
    pub success: bool,
    pub finished_unix: u64,
}

/// How metrics name a profile: its name, or for a profile given as a path its file stem
/// (`/etc/hosttune/profiles/site-a.toml` → `site-a`), never the path: the label would change
/// with where the file lives and could carry any bytes.
pub fn profile_label(asked: &str) -> String {
    if asked.contains('/') || asked.ends_with(".toml") {
        std::path::Path::new(asked)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| asked.to_string())
    } else {
        asked.to_string()
    }
}

/// node_exporter textfile format: drift per kind, items per kind and status, one
/// gauge per item, when this ran, how the last apply ended, the items' evidence (the
/// per-CPU parts only as `series` says), and the build.
pub fn prometheus(
    plan: &Plan,
    now_unix: u64,
    last: Option<LastApply>,
    series: crate::evidence::render::Series,
) -> String {
    metrics(plan, now_unix, last, series).into_string()
}

/// [`prometheus`], as a [`Text`] that more families can follow.
pub fn metrics(
    plan: &Plan,
    now_unix: u64,
    last: Option<LastApply>,
    series: crate::evidence::render::Series,
) -> Text {
    let p = plan.profile.as_str();
    let mut out = Text::new();
    let count = |k: Kind, s: Status| {
        plan.items()
            .filter(|i| i.kind == k && i.status == s)
            .count()
    };
    let kinds: Vec<Kind> = Kind::ALL
        .iter()
        .copied()
        .filter(|k| plan.items().any(|i| i.kind == *k))
        .collect();
    out.family(
        "hosttune_drift_items",
        Type::Gauge,
        "Items that differ from the profile, by kind.",
    );
    for k in &kinds {
        out.sample(
            "hosttune_drift_items",
            &[("profile", p), ("kind", k.as_str())],
            count(*k, Status::Drift),
        );
    }
    out.family("hosttune_items", Type::Gauge, "Items by kind and status.");
    for k in &kinds {
        for s in Status::ALL {
            out.sample(
                "hosttune_items",
                &[("profile", p), ("kind", k.as_str()), ("status", s.as_str())],
                count(*k, s),
            );
        }
    }
    out.family(
        "hosttune_item_in_sync",
        Type::Gauge,
        "1 when the item is as the profile wants (ok, clamped, skipped, unsupported, \
         pending), 0 on drift or error.",
    );
    let mut seen = std::collections::HashSet::new();
    for i in plan.items() {
        // One series per (kind, object): a duplicate would make the file invalid.
        if !seen.insert((i.kind, i.object.clone())) {
            continue;
        }
        let bad = matches!(i.status, Status::Drift | Status::Error);
        out.sample(
            "hosttune_item_in_sync",
            &[
                ("profile", p),
                ("kind", i.kind.as_str()),
                ("object", &i.object),
            ],
            u8::from(!bad),
        );
    }
    out.family(
        "hosttune_in_sync",
        Type::Gauge,
        "1 when no item drifts or fails.",
    );
    let in_sync = !plan
        .items()
        .any(|i| i.status == Status::Drift || i.status == Status::Error);
    out.sample("hosttune_in_sync", &[("profile", p)], u8::from(in_sync));
    out.family(
        "hosttune_last_run_timestamp_seconds",
        Type::Gauge,
        "When this report was made.",
    )
    .sample(
        "hosttune_last_run_timestamp_seconds",
        &[("profile", p)],
        now_unix,
    );
    if let Some(l) = last {
        out.family(
            "hosttune_last_apply_success",
            Type::Gauge,
            "1 when the last apply completed, 0 when it failed (and was undone).",
        )
        .sample(
            "hosttune_last_apply_success",
            &[("profile", p)],
            u8::from(l.success),
        );
        out.family(
            "hosttune_last_apply_timestamp_seconds",
            Type::Gauge,
            "When the last apply ended.",
        )
        .sample(
            "hosttune_last_apply_timestamp_seconds",
            &[("profile", p)],
            l.finished_unix,
        );
    }
    crate::evidence::render::gauges(&mut out, plan, p, series);
    out.family(
        "hosttune_build_info",
        Type::Gauge,
        "The hosttune version that wrote this file.",
    )
    .sample(
        "hosttune_build_info",
        &[("profile", p), ("version", env!("CARGO_PKG_VERSION"))],
        1,
    );
    out
}

/// `why` without a leading repeat of the item's own name (`sysctl K: `, `K: `), which knob
/// errors carry, so that a line names its object once.
fn without_object<'a>(why: &'a str, i: &Item) -> &'a str {
    let mut w = why;
    loop {
        let before = w;
        for p in [
            "gone since the snapshot: ".to_string(),
            format!("{} {}: ", i.kind, i.object),
            format!("{}: ", i.object),
        ] {
            w = w.strip_prefix(p.as_str()).unwrap_or(w);
        }
        if w == before {
            return w;
        }
    }
}

/// What stopped a transaction, in one phrase. Knob errors already name their object.
pub fn cause(c: &Cause) -> String {
    match c {
        Cause::Step { error, .. } => error.to_string(),
        Cause::Signal(sig) => format!("interrupted by {sig}"),
        Cause::Store(e) => format!("the state dir could not record the outcome: {e}"),
    }
}

/// The account of an apply or rollback: items the host does not support, each change made,
/// then, on a failure, what failed and what undoing did to each change, and a verdict line.
pub fn outcome(verb: &str, plan: &Plan, o: &Outcome) -> String {
    let mut out = String::new();
    // What the host cannot do was known at plan time; say so, since it was not applied.
    for i in plan.items().filter(|i| i.status == Status::Unsupported) {
        let why = i.note.as_deref().unwrap_or("not supported");
        let _ = writeln!(out, "unsupported {} {}: {why}", i.kind, i.object);
    }
    // An interface whose name is not UTF-8 is left alone: said once, escaped.
    for i in plan
        .items()
        .filter(|i| crate::knobs::raw_ifaces::is_raw_iface(i))
    {
        let why = i.note.as_deref().unwrap_or_default();
        let _ = writeln!(out, "skipped {} {}: {why}", i.kind, i.object);
    }
    for i in plan.items().filter(|i| i.status == Status::Gone) {
        let why = without_object(i.note.as_deref().unwrap_or("vanished"), i);
        let _ = writeln!(
            out,
            "gone {} {}: vanished since the snapshot ({why}), skipped",
            i.kind, i.object
        );
    }
    for d in &o.done {
        let i = &d.item;
        if let Some(why) = &d.gone {
            let why = without_object(why, i);
            let _ = writeln!(
                out,
                "gone {} {}: vanished during the transaction ({why}), skipped",
                i.kind, i.object
            );
            continue;
        }
        let _ = match (&d.unsupported, &d.kept) {
            (Some(why), _) => writeln!(out, "unsupported {} {}: {why}", i.kind, i.object),
            (None, Some(kept)) => writeln!(
                out,
                "clamped {} {}: {} -> {} (asked {}; the kernel keeps {kept})",
                i.kind, i.object, i.live, kept, i.desired
            ),
            (None, None) => writeln!(
                out,
                "changed {} {}: {} -> {}",
                i.kind, i.object, i.live, i.desired
            ),
        };
    }
    // Drift that no write can fix (isolated CPUs need a reboot): said on every apply, so
    // that a boot-time run's log tells the operator what is left to do.
    let manual: Vec<&Item> = plan
        .entries
        .iter()
        .filter(|e| e.item.status == Status::Drift && e.change().is_none())
        .map(|e| &e.item)
        .collect();
    for i in &manual {
        let _ = writeln!(
            out,
            "not applied {} {}: {} -> {}: {}",
            i.kind,
            i.object,
            i.live,
            i.desired,
            i.note.as_deref().unwrap_or("cannot be changed at run time")
        );
    }
    let snap = o.snapshot.as_deref().unwrap_or("-");
    match &o.failure {
        None if o.snapshot.is_none() && !manual.is_empty() => {
            let _ = writeln!(
                out,
                "{verb} {}: nothing written; {} item(s) need action outside hosttune",
                plan.profile,
                manual.len()
            );
        }
        None if o.snapshot.is_none() => {
            let _ = writeln!(out, "{verb} {}: in sync, nothing written", plan.profile);
        }
        None => {
            let changed = o.done.iter().filter(|d| d.changed()).count();
            let _ = writeln!(
                out,
                "{verb} {}: {changed} changed, snapshot {snap}",
                plan.profile
            );
        }
        Some(f) => {
            match &f.cause {
                Cause::Step { item, error } => {
                    let e = error.to_string();
                    // Knob errors name their object; say it once.
                    let _ = if e.contains(&item.object) {
                        writeln!(out, "failed {e}")
                    } else {
                        writeln!(out, "failed {} {}: {e}", item.kind, item.object)
                    };
                }
                c => {
                    let _ = writeln!(out, "stopped: {}", cause(c));
                }
            }
            for (i, u) in &f.undo {
                let _ = match u {
                    Undone::Restored => {
                        writeln!(out, "restored {} {}: {}", i.kind, i.object, i.desired)
                    }
                    Undone::Gone(why) => {
                        writeln!(
                            out,
                            "gone {} {}: {why}, nothing to restore",
                            i.kind, i.object
                        )
                    }
                    Undone::Failed(why) => writeln!(
                        out,
                        "could not restore {} {} to {}: {why}",
                        i.kind, i.object, i.desired
                    ),
                };
            }
            let _ = if f.undo.is_empty() && o.snapshot.is_none() {
                writeln!(
                    out,
                    "{verb} {}: stopped before any change; nothing was written",
                    plan.profile
                )
            } else if f.incomplete() {
                writeln!(
                    out,
                    "{verb} {}: failed, and the undo was incomplete (snapshot {snap})",
                    plan.profile
                )
            } else {
                writeln!(
                    out,
                    "{verb} {}: failed; {} change(s) undone, the host reads back as before \
                     (snapshot {snap}, not a rollback target)",
                    plan.profile,
                    f.undo.len()
                )
            };
        }
    }
    if let (None, Some(sig)) = (&o.failure, o.signal) {
        let _ = writeln!(
            out,
            "{verb} {}: {sig} received and deferred until the {verb} was done",
            plan.profile
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Entry;

    #[test]
    fn apply_says_what_needs_a_reboot() {
        let p = Plan {
            profile: "lb".into(),
            entries: vec![Entry::new(
                Item::new(Kind::IsolatedCpus, "cpu", "6-10", "none", Status::Drift)
                    .note("add isolcpus=6-10 to the kernel command line and reboot"),
                None,
                None,
            )],
            ..Plan::default()
        };
        let o = Outcome {
            snapshot: None,
            done: Vec::new(),
            failure: None,
            signal: None,
            warnings: Vec::new(),
        };
        assert_eq!(
            outcome("apply", &p, &o),
            "not applied isolated_cpus cpu: none -> 6-10: add isolcpus=6-10 to the kernel \
             command line and reboot\napply lb: nothing written; 1 item(s) need action outside \
             hosttune\n"
        );
    }

    fn plan() -> Plan {
        let e = |o: &str, d: &str, l: &str, s| {
            Entry::new(Item::new(Kind::Sysctl, o, d, l, s), None, None)
        };
        Plan {
            profile: "web".into(),
            entries: vec![
                e("net.core.somaxconn", "500000", "4096", Status::Drift),
                e("vm.swappiness", "100", "100", Status::Ok),
                Entry::new(
                    Item::new(
                        Kind::Sysctl,
                        "net.netfilter.nf_conntrack_max",
                        "700000",
                        "-",
                        Status::Skipped,
                    )
                    .note("optional key not present on this host"),
                    None,
                    None,
                ),
            ],
            ..Plan::default()
        }
    }

    #[test]
    fn text_has_a_line_per_item_and_a_summary() {
        let t = text(&plan(), false);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 5, "{t}");
        assert!(
            lines[1].starts_with("sysctl  net.core.somaxconn") && lines[1].ends_with("drift"),
            "{t}"
        );
        assert!(
            lines[3].ends_with("skipped  (optional key not present on this host)"),
            "{t}"
        );
        assert_eq!(
            lines[4],
            "profile web: 3 items: 1 ok, 1 drift, 1 skipped: not in sync"
        );
        assert_eq!(text(&plan(), true).lines().count(), 4);
    }

    #[test]
    fn json_has_the_documented_shape() {
        let v: serde_json::Value = serde_json::from_str(&json(&plan(), "h1")).unwrap();
        assert_eq!(v["profile"], "web");
        assert_eq!(v["host"], "h1");
        assert_eq!(v["summary"]["drift"], 1);
        assert_eq!(v["summary"]["error"], 0);
        assert_eq!(v["items"][0]["kind"], "sysctl");
        assert_eq!(v["items"][0]["status"], "drift");
        assert_eq!(v["items"][0]["live"], "4096");
        assert!(v["items"][0].get("note").is_none());
    }

    #[test]
    fn conflicts_are_a_note_in_text_and_a_list_in_json() {
        let mut p = plan();
        let c = |file: &str, line, value: &str| crate::sysctld::Conflict {
            file: file.into(),
            line,
            value: value.into(),
        };
        p.entries[0]
            .item
            .conflicts
            .push(c("/etc/sysctl.d/99-other.conf", 3, "4096"));
        p.entries[2]
            .item
            .conflicts
            .push(c("/etc/sysctl.conf", 7, "1"));
        let t = text(&p, false);
        let lines: Vec<&str> = t.lines().collect();
        assert!(
            lines[1].ends_with("drift  (set to 4096 at boot by /etc/sysctl.d/99-other.conf:3)"),
            "{t}"
        );
        assert!(
            lines[3].ends_with(
                "skipped  (optional key not present on this host; set to 1 at boot by \
                 /etc/sysctl.conf:7)"
            ),
            "{t}"
        );
        let v: serde_json::Value = serde_json::from_str(&json(&p, "h1")).unwrap();
        assert_eq!(
            v["items"][0]["conflicts"],
            serde_json::json!([{"file": "/etc/sysctl.d/99-other.conf", "line": 3, "value": "4096"}])
        );
        assert!(v["items"][1].get("conflicts").is_none());
    }

    #[test]
    fn prometheus_counts_drift_per_kind() {
        let p = prometheus(
            &plan(),
            7,
            Some(LastApply {
                success: false,
                finished_unix: 5,
            }),
            Default::default(),
        );
        assert!(
            p.contains("hosttune_drift_items{profile=\"web\",kind=\"sysctl\"} 1\n"),
            "{p}"
        );
        assert!(
            p.contains("hosttune_items{profile=\"web\",kind=\"sysctl\",status=\"ok\"} 1\n"),
            "{p}"
        );
        assert!(p.contains("hosttune_in_sync{profile=\"web\"} 0\n"), "{p}");
        assert!(!p.contains("kind=\"vip\""), "{p}");
        assert!(
            p.contains(
                "hosttune_item_in_sync{profile=\"web\",kind=\"sysctl\",object=\"net.core.somaxconn\"} 0\n"
            ),
            "{p}"
        );
        assert!(
            p.contains("hosttune_last_apply_success{profile=\"web\"} 0\n"),
            "{p}"
        );
        assert!(
            p.contains("hosttune_last_run_timestamp_seconds{profile=\"web\"} 7\n"),
            "{p}"
        );
        assert!(
            p.contains("hosttune_build_info{profile=\"web\",version=\""),
            "{p}"
        );
    }
}
