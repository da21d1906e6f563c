//! Evidence (`--evidence`): the kernel counters that show whether each item's setting
//! matters on this host, read at plan time and attached to the items.
//!
//! ```text
//! Plan ─map::sources (pure)→ counters per item ─Sample::read(host)→ readings
//!      ─evaluate (pure)→ Item.evidence ─report→ text / json / prometheus
//! ```
//!
//! Values are absolute: since boot, or for the per-namespace files since the namespace was
//! created. With `--evidence-interval SECS` everything is read twice and the items also
//! carry each counter's increase and rate over the interval.

pub mod conntrack;
pub mod map;
pub mod netstat;
pub mod render;
pub mod sample;
pub mod snmp;
pub mod snmp6;
pub mod softnet;

use std::collections::BTreeMap;
use std::time::Duration;

use crate::cpulist::CpuList;
use crate::host::Host;
use crate::knobs::cx::{Cache, PlanCx};
use crate::knobs::netns::Scope;
use crate::plan::Plan;
use crate::profile::Profile;
use crate::types::IfName;
// The counter type lives in the model, below the knobs that carry it on their items.
pub use crate::model::{Evidence, PerSecond, Since};
pub use map::Source;
pub use sample::{Reading, Sample};

/// `--evidence` and `--evidence-interval` of `audit` and `apply --dry-run`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct EvidenceArgs {
    /// Attach to each item the kernel counters that show whether its setting matters
    /// (listen queue overflows, softnet drops, NIC rx drops, IRQs outside irq_cpus, ...).
    #[arg(long)]
    pub evidence: bool,
    /// Read the counters twice, SECS apart, and report their increase and rate too
    /// (implies --evidence).
    #[arg(long, value_name = "SECS")]
    pub evidence_interval: Option<f64>,
    /// With --format prometheus: also write the per-CPU parts of the counters
    /// (hosttune_evidence_per_cpu, one series per CPU and counter, at most 256, the largest);
    /// implies --evidence. Off by default: a large host has IRQs x CPUs of them.
    #[arg(long)]
    pub evidence_per_cpu: bool,
}

impl EvidenceArgs {
    /// Whether evidence is wanted, and the interval between the two samples if any.
    pub fn wanted(&self) -> Option<Option<Duration>> {
        match self.evidence_interval {
            Some(s) => Some(Some(Duration::from_secs_f64(s.max(0.0)))),
            None => (self.evidence || self.evidence_per_cpu).then_some(None),
        }
    }

    /// Refuses an interval that is not a positive number of seconds.
    pub fn check(&self) -> Result<(), String> {
        match self.evidence_interval {
            Some(s) if !(s > 0.0 && s <= 3600.0) => Err(format!(
                "--evidence-interval {s}: give a number of seconds from above 0 to 3600"
            )),
            _ => Ok(()),
        }
    }
}

/// The evidence of one counter (pure): the total, then each CPU part that shows something.
/// `before` is the first sample's reading and the seconds between the two.
pub fn evaluate(
    source: &Source,
    now: &Reading,
    before: Option<(&Reading, f64)>,
    since: Since,
) -> Vec<Evidence> {
    let counter = source.counter();
    let grew = before.map(|(b, secs)| (now.increase_since(b), secs));
    let rate = |d: u64, secs: f64| PerSecond(if secs > 0.0 { d as f64 / secs } else { 0.0 });
    let since = match source {
        Source::Mib(_) | Source::Conntrack(_) => since,
        _ => Since::Boot,
    };
    let total_inc = grew
        .as_ref()
        .map(|(g, secs)| (g.iter().map(|(_, d)| d).sum::<u64>(), *secs));
    let mut out = vec![Evidence {
        counter: counter.clone(),
        cpu: None,
        value: now.total(),
        increase: total_inc.map(|(d, _)| d),
        per_second: total_inc.map(|(d, s)| rate(d, s)),
        since,
    }];
    for (i, (cpu, v)) in now.parts.iter().enumerate() {
        let Some(cpu) = cpu else { continue };
        let inc = grew.as_ref().and_then(|(g, secs)| {
            g.get(i)
                .filter(|(c, _)| c == &Some(*cpu))
                .map(|(_, d)| (*d, *secs))
        });
        let e = Evidence {
            counter: counter.clone(),
            cpu: Some(*cpu),
            value: *v,
            increase: inc.map(|(d, _)| d),
            per_second: inc.map(|(d, s)| rate(d, s)),
            since,
        };
        if e.nonzero() {
            out.push(e);
        }
    }
    out
}

/// Each interface's resolved `irq_cpus`, from the first `[[nic]]` rule that sets it there.
pub fn irq_sets(profile: &Profile, cx: &PlanCx) -> BTreeMap<IfName, CpuList> {
    let mut out = BTreeMap::new();
    for rule in profile.nic.as_deref().unwrap_or_default() {
        let Some(cpus) = &rule.irq_cpus else { continue };
        for iface in crate::knobs::nic::resolve(rule, cx) {
            if out.contains_key(&iface) {
                continue;
            }
            if let Ok(set) = crate::knobs::irq::resolve_cpus(cpus, &iface, cx) {
                out.insert(iface, set);
            }
        }
    }
    out
}

/// Reads the counters tied to the plan's items and attaches them; with `interval`, reads
/// them again after it and adds increases and rates. A counter that cannot be read (a file
/// a kernel or namespace lacks, such as nf_conntrack's without the module) is left out, and
/// `-v` logs why.
pub fn collect(plan: &mut Plan, profile: &Profile, host: &Host, interval: Option<Duration>) {
    match interval {
        Some(d) => collect_between(plan, profile, host, Some(&mut || std::thread::sleep(d))),
        None => collect_between(plan, profile, host, None),
    }
}

/// [`collect`] with what happens between the two samples given: sleeping the interval, or in
/// a test, rewriting a fixture's counters. `None` reads once.
pub fn collect_between(
    plan: &mut Plan,
    profile: &Profile,
    host: &Host,
    between: Option<&mut dyn FnMut()>,
) {
    let cache = Cache::default();
    let cx = PlanCx::new(*host, &cache);
    let sets = irq_sets(profile, &cx);
    let wanted: Vec<Vec<Source>> = plan
        .entries
        .iter()
        .map(|e| map::sources(e, &sets))
        .collect();
    let mut all: Vec<Source> = Vec::new();
    for s in wanted.iter().flatten() {
        if !all.contains(s) {
            all.push(s.clone());
        }
    }
    if all.is_empty() {
        return;
    }
    let online = cx.online().ok();
    let since = match cx.netns().scope {
        Scope::Initial => Since::Boot,
        Scope::Namespace => Since::Namespace,
    };
    let first = Sample::read(host.fs, host.nic, &all, online);
    let second = between.map(|wait| {
        wait();
        Sample::read(host.fs, host.nic, &all, online)
    });
    for (e, sources) in plan.entries.iter_mut().zip(wanted) {
        for s in &sources {
            let got = match &second {
                Some(two) => two.reading(s).and_then(|now| {
                    let then = first.reading(s)?;
                    let secs = two.taken.duration_since(first.taken).as_secs_f64();
                    Ok(evaluate(s, &now, Some((&then, secs)), since))
                }),
                None => first.reading(s).map(|now| evaluate(s, &now, None, since)),
            };
            match got {
                Ok(ev) => e.item.evidence.extend(ev),
                // Detail: a counter this kernel or NIC lacks (the agent reads them every cycle).
                Err(why) => tracing::debug!(
                    "no evidence {} for {} {}: {why}",
                    s.counter(),
                    e.item.kind,
                    e.item.object
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests;
