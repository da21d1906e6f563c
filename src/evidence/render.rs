//! Evidence in reports (pure): the order of the text report, the line under each item that
//! reads like a troubleshooting note ("somaxconn 4096 < 500000, ListenOverflows 6907 since
//! boot"), and the Prometheus gauges (written through [`crate::prom`]).

use std::collections::HashSet;
use std::fmt::Write as _;

use super::Evidence;
use crate::knobs::{Item, Kind, Status};
use crate::plan::Plan;
use crate::prom::{Text, Type};

/// Where an item goes in the text report with evidence: drifted items whose evidence shows
/// something first, then other items whose evidence shows something, then the rest.
pub fn tier(i: &Item) -> u8 {
    let shows = i.evidence.iter().any(Evidence::nonzero);
    match (shows, i.status == Status::Drift) {
        (true, true) => 0,
        (true, false) => 1,
        _ => 2,
    }
}

/// `items` in report order (stable: plan order within a tier).
pub fn order(mut items: Vec<&Item>) -> Vec<&Item> {
    items.sort_by_key(|i| tier(i));
    items
}

/// The short name of a counter in text: `ListenOverflows`, `Udp RcvbufErrors`,
/// `softnet dropped`.
pub fn short(counter: &str) -> String {
    if let Some(f) = counter.strip_prefix("TcpExt") {
        return f.to_string();
    }
    for p in ["Udp", "Tcp", "IpExt", "Ip"] {
        if let Some(f) = counter.strip_prefix(p) {
            if f.starts_with(|c: char| c.is_ascii_uppercase()) {
                return format!("{p} {f}");
            }
        }
    }
    match counter {
        "interrupts_outside_irq_cpus" => "interrupts outside irq_cpus".into(),
        c => c
            .replacen("softnet_", "softnet ", 1)
            .replacen("conntrack_", "conntrack ", 1),
    }
}

/// How the item stands, in a few words: `somaxconn 4096 < 500000`.
fn lead(i: &Item) -> String {
    let name = match i.kind {
        Kind::Sysctl => i.object.rsplit(['.', '/']).next().unwrap_or(&i.object),
        _ => &i.object,
    };
    let single = |s: &str| !s.trim().contains(' ');
    match i.status {
        Status::Drift => {
            let (l, d) = (i.live.as_str(), i.desired.as_str());
            match (d.strip_prefix("≥ "), d.strip_prefix("≤ ")) {
                (Some(b), _) if single(b) && single(l) => format!("{name} {l} < {b}"),
                (_, Some(b)) if single(b) && single(l) => format!("{name} {l} > {b}"),
                _ if i.kind == Kind::Sysctl && single(d) && single(l) => {
                    format!("{name} {l} ≠ {d}")
                }
                _ => format!("{name} {l}, wants {d}"),
            }
        }
        Status::Ok => format!("{name} {} (ok)", i.live),
        s => format!("{name} ({s})"),
    }
}

fn amount(e: &Evidence) -> String {
    match (e.increase, e.per_second) {
        (Some(d), Some(r)) => format!(
            "{} {}, +{d} in the interval ({:.1}/s)",
            e.value,
            e.since.as_str(),
            r.0
        ),
        _ => format!("{} {}", e.value, e.since.as_str()),
    }
}

/// The line under an item with evidence, or `None` without any.
pub fn sentence(i: &Item) -> Option<String> {
    let totals: Vec<&Evidence> = i.evidence.iter().filter(|e| e.cpu.is_none()).collect();
    if totals.is_empty() {
        return None;
    }
    let mut out = lead(i);
    for t in totals {
        let _ = write!(out, ", {} {}", short(&t.counter), amount(t));
        let mut parts: Vec<&Evidence> = i
            .evidence
            .iter()
            .filter(|e| e.cpu.is_some() && e.counter == t.counter)
            .collect();
        parts.sort_by_key(|e| std::cmp::Reverse(e.increase.unwrap_or(e.value)));
        if !parts.is_empty() {
            let shown: Vec<String> = parts
                .iter()
                .take(8)
                .map(|e| match e.increase {
                    Some(d) => format!("CPU {}: +{d}", e.cpu.unwrap_or_default()),
                    None => format!("CPU {}: {}", e.cpu.unwrap_or_default(), e.value),
                })
                .collect();
            let more = parts.len().saturating_sub(8);
            let more = if more > 0 {
                format!(", {more} more")
            } else {
                String::new()
            };
            let _ = write!(out, " ({}{more})", shown.join(", "));
        }
    }
    Some(out)
}

/// The most per-CPU evidence series one file carries with [`Series::per_cpu`]: the largest
/// values are kept, the rest counted in `hosttune_evidence_series_dropped`.
pub const PER_CPU_CAP: usize = 256;

/// Which evidence series a textfile carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Series {
    /// The per-CPU parts (`hosttune_evidence_per_cpu`), up to `cap` of them: one series per
    /// CPU where a counter is not zero, so IRQs x CPUs on a large host. Off by default
    /// (`--evidence-per-cpu` turns them on); the totals are always there.
    pub per_cpu: bool,
    pub cap: usize,
}

impl Default for Series {
    fn default() -> Self {
        Series {
            per_cpu: false,
            cap: PER_CPU_CAP,
        }
    }
}

impl Series {
    /// With the per-CPU series or without, under the default cap.
    pub fn per_cpu(on: bool) -> Series {
        Series {
            per_cpu: on,
            ..Series::default()
        }
    }
}

/// The evidence gauges of a plan, empty when no item has evidence:
/// `hosttune_evidence{profile,kind,object,counter}` (absolute), with an interval
/// `hosttune_evidence_per_second{profile,kind,object,counter}`, and with
/// [`Series::per_cpu`] the per-CPU parts in `hosttune_evidence_per_cpu{...,cpu}` (at most
/// `cap`, the largest; `hosttune_evidence_series_dropped` counts those left out). `profile`
/// is the label's value as it is (escaped when written).
pub fn prometheus(plan: &Plan, profile: &str, series: Series) -> String {
    let mut out = Text::new();
    gauges(&mut out, plan, profile, series);
    out.into_string()
}

/// [`prometheus`], added to `out`.
pub fn gauges(out: &mut Text, plan: &Plan, profile: &str, series: Series) {
    let items: Vec<&Item> = plan.items().filter(|i| !i.evidence.is_empty()).collect();
    if items.is_empty() {
        return;
    }
    // The per-CPU parts kept: the `cap` largest (ties in plan order).
    let mut parts: Vec<(u64, &Item, &Evidence)> = Vec::new();
    if series.per_cpu {
        let mut seen = HashSet::new();
        for i in &items {
            for e in i.evidence.iter().filter(|e| e.cpu.is_some()) {
                if seen.insert((i.kind, i.object.clone(), e.counter.clone(), e.cpu)) {
                    parts.push((e.value, i, e));
                }
            }
        }
        parts.sort_by_key(|p| std::cmp::Reverse(p.0));
    }
    let dropped = parts.len().saturating_sub(series.cap);
    parts.truncate(series.cap);
    let kept: HashSet<(Kind, &str, &str, Option<u32>)> = parts
        .iter()
        .map(|(_, i, e)| (i.kind, i.object.as_str(), e.counter.as_str(), e.cpu))
        .collect();
    let mut family = |name: &str, help: &str, pick: &dyn Fn(&Evidence) -> Option<String>| {
        let mut lines = Text::new();
        let mut seen = HashSet::new();
        for i in &items {
            for e in &i.evidence {
                let Some(v) = pick(e) else { continue };
                if e.cpu.is_some()
                    && !kept.contains(&(i.kind, i.object.as_str(), e.counter.as_str(), e.cpu))
                {
                    continue;
                }
                if !seen.insert((i.kind, i.object.clone(), e.counter.clone(), e.cpu)) {
                    continue;
                }
                let cpu = e.cpu.map(|c| c.to_string());
                let mut labels = vec![
                    ("profile", profile),
                    ("kind", i.kind.as_str()),
                    ("object", i.object.as_str()),
                    ("counter", e.counter.as_str()),
                ];
                if let Some(c) = &cpu {
                    labels.push(("cpu", c));
                }
                lines.sample(name, &labels, v);
            }
        }
        if !lines.is_empty() {
            out.family(name, Type::Gauge, help).append(&lines);
        }
    };
    family(
        "hosttune_evidence",
        "Kernel counters tied to an item (--evidence), absolute.",
        &|e| e.cpu.is_none().then(|| e.value.to_string()),
    );
    family(
        "hosttune_evidence_per_cpu",
        "Per-CPU parts of an item's evidence counters that are not zero (--evidence-per-cpu; \
         the largest, up to the series cap).",
        &|e| e.cpu.map(|_| e.value.to_string()),
    );
    family(
        "hosttune_evidence_per_second",
        "Rate of an item's evidence counters over --evidence-interval.",
        &|e| match (e.cpu, e.per_second) {
            (None, Some(r)) => Some(format!("{}", r.0)),
            _ => None,
        },
    );
    if series.per_cpu {
        out.family(
            "hosttune_evidence_series_dropped",
            Type::Gauge,
            &format!(
                "Per-CPU evidence series left out of this file by the series cap ({}).",
                series.cap
            ),
        )
        .sample(
            "hosttune_evidence_series_dropped",
            &[("profile", profile)],
            dropped,
        );
    }
}
