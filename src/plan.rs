//! The plan: one [`Item`] per thing a profile covers (what the report shows) and, for items
//! that differ, the [`Setting`] to write and the one it replaces (what apply and the snapshot
//! use). Building it from observed values is pure; so is building a rollback plan from a
//! snapshot, which is why rollback is "just another plan".

use std::fmt;

use crate::host::Host;
use crate::knobs::cx::{Cache, PlanCx};
pub use crate::knobs::nic::Replan;
pub use crate::knobs::{Entry, Item, Kind, Setting, Status, describe};
use crate::profile::Profile;
use crate::section::{self, All, List, Run};
use crate::snapshot::Kept;

/// Resolves and observes everything the profile covers and compares it, in apply order: each
/// section of [`crate::section::All`] in its declared order (sysctls, DSR, then per NIC the
/// `[[nic]]` knobs in registry order; then the isolated-CPU check and irqbalance). What several knobs read (interfaces, CPUs, `/proc/interrupts`) is
/// read once. Items whose key a boot-time sysctl source sets differently carry the conflict.
pub fn build(profile: &Profile, host: &Host, kept: &Kept) -> Plan {
    build_with(profile, host, kept, false)
}

/// [`build`], with `--allow-host-global`: inside a non-initial network namespace, write the
/// host-global settings too.
pub fn build_with(profile: &Profile, host: &Host, kept: &Kept, allow_host_global: bool) -> Plan {
    build_opts(
        profile,
        host,
        kept,
        Build {
            allow_host_global,
            boot_conflicts: true,
        },
    )
}

/// What a plan is built with.
#[derive(Debug, Clone, Copy)]
pub struct Build {
    /// `--allow-host-global`.
    pub allow_host_global: bool,
    /// Attach the boot-time sysctl.d assignments that set a key differently (what reports
    /// show). An apply leaves them out: its report does not show them, and reading every
    /// sysctl.d file is most of what a small in-sync apply would otherwise open.
    pub boot_conflicts: bool,
}

/// [`build`] with the given options.
pub fn build_opts(profile: &Profile, host: &Host, kept: &Kept, opts: Build) -> Plan {
    build_in::<All>(profile, host, kept, opts)
}

/// [`build_opts`] over the sections of `L`, planned in their declared order
/// ([`crate::section::order`]).
pub(crate) fn build_in<L: List>(profile: &Profile, host: &Host, kept: &Kept, opts: Build) -> Plan {
    let cache = Cache::default();
    let mut cx = PlanCx::new(*host, &cache);
    cx.allow_host_global = opts.allow_host_global;
    let mut run = Run::new(cx, profile);
    let mut entries = section::plan::<L>(&mut run);
    let replan = run.replan;
    if cx.netns().skips_host_global() {
        skip_host_global(&mut entries);
    }
    apply_kept(&mut entries, kept);
    annotate_side_effects(&mut entries, host);
    if opts.boot_conflicts {
        crate::sysctld::conflicts::annotate(&mut entries, host.fs);
    }
    Plan {
        profile: profile.name.clone(),
        entries,
        replan,
    }
}

/// Says on each sysctl change what else the kernel will change with it (see [`crate::side`]).
fn annotate_side_effects(entries: &mut [Entry], host: &Host) {
    for e in entries.iter_mut() {
        let Some((Setting::Sysctl { key, value }, _)) = e.change() else {
            continue;
        };
        if let Some(more) = crate::side::predict(host, key, value) {
            e.item.note = Some(match e.item.note.take() {
                Some(n) => format!("{n}; {more}"),
                None => more,
            });
        }
    }
}

/// Everything a profile covers on one host, in the order apply works.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    pub profile: String,
    pub entries: Vec<Entry>,
    /// NIC knobs that apply plans again on an interface after a change that makes their
    /// plan stale (declared by each knob: IRQs and RPS after channels).
    pub replan: Vec<Replan>,
}

impl Plan {
    /// The report lines.
    pub fn items(&self) -> impl Iterator<Item = &Item> {
        self.entries.iter().map(|e| &e.item)
    }

    /// The writes, in order.
    pub fn changes(&self) -> impl Iterator<Item = (&Setting, &Setting)> {
        self.entries.iter().filter_map(Entry::change)
    }

    /// Items that stop an apply before any write.
    pub fn errors(&self) -> impl Iterator<Item = &Item> {
        self.items().filter(|i| i.status == Status::Error)
    }

    /// Counts per status.
    pub fn summary(&self) -> Vec<(Status, usize)> {
        Status::ALL
            .iter()
            .map(|s| (*s, self.items().filter(|i| i.status == *s).count()))
            .collect()
    }
}

/// Inside a non-initial network namespace: the isolated CPUs and the service manager belong
/// to the whole host, so the items of `[cpu]` and `[irqbalance]` are `skipped`, never
/// written. (NIC knobs declare it themselves: `NicKnob::HOST_GLOBAL`.)
fn skip_host_global(entries: &mut [Entry]) {
    for e in entries.iter_mut() {
        let global = matches!(e.item.kind, Kind::IsolatedCpus | Kind::Irqbalance);
        if global && e.item.status != Status::Skipped {
            e.item.status = Status::Skipped;
            e.item.note = Some(crate::knobs::netns::HOST_GLOBAL.into());
            e.desired = None;
        }
    }
}

/// Marks items whose live value is what the kernel kept when an earlier apply asked for the
/// desired one (a driver rounding a ring size): those are `clamped`, not drift, and need no
/// write. `kept` maps a setting's address to (asked, kept).
pub fn apply_kept(entries: &mut [Entry], kept: &crate::snapshot::Kept) {
    for e in entries.iter_mut() {
        if e.item.status != Status::Drift {
            continue;
        }
        if let (Some(d), Some(l)) = (&e.desired, &e.live) {
            if let Some(k) = kept.get(&d.address()) {
                if k.asked.same_value(d) && k.kept.same_value(l) {
                    e.item.status = Status::Clamped;
                    e.item.note = Some("the kernel keeps this value for the one asked".into());
                }
            }
        }
    }
}

/// A rollback plan: every recorded setting is desired again, in the order given (see
/// [`crate::snapshot::Snapshot::restore_order`]); `live` is what is there now, in the same
/// order. Pure: the caller reads the live values.
/// A read error whose object has vanished (an interface deleted, an IRQ freed) is `gone`, so
/// that one vanished object does not block restoring the rest.
pub fn rollback_entries(
    recorded: &[&Setting],
    live: Vec<Result<Setting, ReadFailure>>,
) -> Vec<Entry> {
    recorded
        .iter()
        .copied()
        .zip(live)
        .map(|(want, now)| {
            let (kind, object, desired) = describe(want);
            match now {
                Ok(now) => {
                    let (_, _, live_s) = describe(&now);
                    let status = Status::of(want.same_value(&now));
                    Entry::new(
                        Item::new(kind, object, desired, live_s, status),
                        Some(want.clone()),
                        Some(now),
                    )
                }
                Err(f) => {
                    let status = match f {
                        ReadFailure::Gone(_) => Status::Gone,
                        ReadFailure::Unsupported(_) => Status::Unsupported,
                        ReadFailure::Other(_) => Status::Error,
                    };
                    // A gone setting keeps what to restore: its object may come back during
                    // the rollback (a queue re-created by restoring channels).
                    let want = (status == Status::Gone).then(|| want.clone());
                    Entry::new(
                        Item::new(kind, object, desired, "-", status).note(f.to_string()),
                        want,
                        None,
                    )
                }
            }
        })
        .collect()
}

/// Whether a setting is restored after the others, as its kind declares
/// ([`crate::knobs::SettingOps::restores_late`]).
pub fn restores_late(s: &Setting) -> bool {
    s.restores_late()
}

/// Why a recorded setting could not be read back for a rollback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadFailure {
    /// Its object vanished since the snapshot.
    Gone(String),
    /// The host cannot do it (offline tree, kernel-managed IRQ).
    Unsupported(String),
    /// Anything else: blocks the rollback before any write.
    Other(String),
}

impl fmt::Display for ReadFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadFailure::Gone(w) => write!(f, "gone since the snapshot: {w}"),
            ReadFailure::Unsupported(w) | ReadFailure::Other(w) => f.write_str(w),
        }
    }
}
