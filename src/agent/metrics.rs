//! The agent's textfile: the audit metrics of the last full plan, with each item's
//! evidence gauges (`hosttune_evidence{profile,kind,object,counter}`), plus the agent's
//! own: changes it made by kind, events it saw by type, cycles, failures and the last cycle's
//! duration; the items failing, whether it is paused (and until when), and the profile it
//! holds (`hosttune_profile_info{profile,sha256}`). Written atomically, mode 0644, after every
//! cycle, through [`crate::prom`], which escapes every label value.

use std::collections::BTreeMap;
use std::time::Duration;

use super::Ident;
use super::pause::Pause;
use crate::plan::Plan;
use crate::prom::{Text, Type};
use crate::report;
use crate::snapshot::Store;

/// What the agent counted since it started.
#[derive(Debug, Default)]
pub struct Counters {
    pub cycles: u64,
    pub failures: u64,
    pub last_cycle: Duration,
    pub changes: BTreeMap<String, u64>,
    pub events: BTreeMap<String, u64>,
    /// The audit part of the last file, kept for a cycle that has no plan (a bad reload).
    pub audit: Text,
}

impl Counters {
    /// One change of `kind` made.
    pub fn change(&mut self, kind: &str) {
        *self.changes.entry(kind.to_string()).or_default() += 1;
    }

    /// One event of `what` seen (`link`, `interval`, `hup`).
    pub fn event(&mut self, what: &str) {
        *self.events.entry(what.to_string()).or_default() += 1;
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

/// The agent's state the gauges show.
pub struct Gauges<'a> {
    pub ident: &'a Ident,
    /// `enforce`, `report` or `observe`: whether drift is corrected, for alerts.
    pub mode: &'a str,
    /// `--evidence-per-cpu`.
    pub per_cpu: bool,
    pub pause: Option<&'a Pause>,
    pub failing: usize,
    /// Items whose correction failed and is retried with backoff (`KIND OBJECT`), with how
    /// many times it failed in a row.
    pub retries: &'a BTreeMap<String, u32>,
}

/// The whole textfile.
pub fn render(store: &Store, plan: Option<&Plan>, c: &mut Counters, g: &Gauges) -> String {
    if let Some(plan) = plan {
        let last = match store.last_result() {
            Ok(Some((p, success, finished_unix))) if p == plan.profile => Some(report::LastApply {
                success,
                finished_unix,
            }),
            _ => None,
        };
        // Labelled with the profile's name, never its path (a path-given profile: its stem).
        let named = Plan {
            profile: g.ident.name.clone(),
            ..plan.clone()
        };
        let series = crate::evidence::render::Series::per_cpu(g.per_cpu);
        c.audit = report::metrics(&named, now(), last, series);
    }
    let mut out = c.audit.clone();
    let mut counter = |name: &str, help: &str, label: &str, values: &BTreeMap<String, u64>| {
        out.family(name, Type::Counter, help);
        for (k, v) in values {
            out.sample(name, &[(label, k)], v);
        }
    };
    counter(
        "hosttune_agent_changes_total",
        "Changes the agent made, by kind.",
        "kind",
        &c.changes,
    );
    counter(
        "hosttune_agent_events_total",
        "Events the agent saw, by type (link, link_removed, resync, retry, interval, hup).",
        "type",
        &c.events,
    );
    out.family(
        "hosttune_agent_cycles_total",
        Type::Counter,
        "Plans the agent made (start, events, intervals).",
    )
    .sample("hosttune_agent_cycles_total", &[], c.cycles);
    out.family(
        "hosttune_agent_failures_total",
        Type::Counter,
        "Cycles that could not plan or apply, and profile reloads that failed.",
    )
    .sample("hosttune_agent_failures_total", &[], c.failures);
    out.family(
        "hosttune_agent_last_cycle_seconds",
        Type::Gauge,
        "How long the last cycle took.",
    )
    .sample(
        "hosttune_agent_last_cycle_seconds",
        &[],
        format_args!("{:.6}", c.last_cycle.as_secs_f64()),
    );
    out.family(
        "hosttune_agent_items_failing",
        Type::Gauge,
        "Items a correction did not fix, or that cannot be read.",
    )
    .sample("hosttune_agent_items_failing", &[], g.failing);
    if !g.retries.is_empty() {
        out.family(
            "hosttune_agent_item_failures",
            Type::Gauge,
            "Consecutive failed corrections of an item, retried with backoff (at most one \
             series per failing item).",
        );
        for (item, n) in g.retries {
            out.sample("hosttune_agent_item_failures", &[("item", item)], n);
        }
    }
    out.family(
        "hosttune_agent_paused",
        Type::Gauge,
        "1 while `hosttune pause` holds: no corrections.",
    )
    .sample("hosttune_agent_paused", &[], u8::from(g.pause.is_some()));
    if let Some(until) = g.pause.and_then(|p| p.until) {
        out.family(
            "hosttune_agent_pause_expiry_timestamp_seconds",
            Type::Gauge,
            "When the pause ends by itself (Unix time).",
        )
        .sample("hosttune_agent_pause_expiry_timestamp_seconds", &[], until);
    }
    out.family(
        "hosttune_agent_mode",
        Type::Gauge,
        "The agent's --mode (enforce corrects drift; report and observe only report it), \
         always 1.",
    )
    .sample("hosttune_agent_mode", &[("mode", g.mode)], 1);
    out.family(
        "hosttune_profile_info",
        Type::Gauge,
        "The profile the agent holds: its name and the sha256 of its resolved text \
         (hosttune show NAME | sha256sum).",
    )
    .sample(
        "hosttune_profile_info",
        &[("profile", &g.ident.name), ("sha256", &g.ident.sha256)],
        1,
    );
    out.into_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_agent_gauges_name_the_profile_and_the_pause() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let ident = Ident {
            name: "site\"a".into(),
            sha256: "ab".repeat(32),
        };
        let pause = Pause {
            since: 1,
            until: Some(1_700_000_000),
            reason: None,
        };
        let mut c = Counters::default();
        let retries: BTreeMap<String, u32> = [("sysctl net.ipv6.conf.bv9.mtu".into(), 3)].into();
        let g = Gauges {
            ident: &ident,
            mode: "observe",
            per_cpu: false,
            pause: Some(&pause),
            failing: 2,
            retries: &retries,
        };
        let text = render(&store, None, &mut c, &g);
        assert!(text.contains("\nhosttune_agent_paused 1\n"), "{text}");
        assert!(text.contains("\nhosttune_agent_pause_expiry_timestamp_seconds 1700000000\n"));
        assert!(text.contains("\nhosttune_agent_items_failing 2\n"));
        assert!(text.contains("\nhosttune_agent_mode{mode=\"observe\"} 1\n"));
        assert!(
            text.contains(
                "\nhosttune_agent_item_failures{item=\"sysctl net.ipv6.conf.bv9.mtu\"} 3\n"
            )
        );
        assert!(text.contains(&format!(
            "\nhosttune_profile_info{{profile=\"site\\\"a\",sha256=\"{}\"}} 1\n",
            "ab".repeat(32)
        )));
        let g = Gauges { pause: None, ..g };
        let text = render(&store, None, &mut c, &g);
        assert!(text.contains("\nhosttune_agent_paused 0\n"));
        assert!(!text.contains("expiry"));
    }
}
