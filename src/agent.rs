//! `hosttune agent PROFILE`: hold the profile, not just apply it once.
//!
//! One blocking loop over poll(2): an rtnetlink socket subscribed to link events, the signalfd,
//! and a timer. At start it applies the profile. A link event re-plans and applies only that
//! interface's settings (its sysctls, queues, RPS, IRQs); every interval it audits the whole
//! profile and re-applies drift (`enforce`) or only reports it (`report`; an interface it had not
//! seen is still given its settings); `observe` never writes, not even at start. A pause
//! (`hosttune pause`, see [`pause`]) stops every write while audits and metrics go on. After
//! each cycle it writes its status file (see [`status`]) and, when it changed, tells the
//! service manager (`STATUS=`). Every change goes
//! through the same transaction as `apply`, and each one takes over the snapshot of the one
//! before (as an apply takes over an interrupted one), so the rollback history holds one
//! entry for the agent's whole life: a rollback after a day of corrections still returns the
//! host to where it was before the first apply.
//!
//! The state dir's transaction lock is held only during a transaction, so `audit` and
//! `snapshots` work beside the agent; a separate agent lock, held for the agent's life, keeps
//! a second agent, `apply` and `rollback` away with a clear message.

pub(crate) mod metrics;
pub mod pause;
pub mod status;

use std::collections::{BTreeMap, BTreeSet};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::Signal;

use crate::apply::{self, Commit, Opts, Outcome};
use crate::host::links::{LinkEvent, Links};
use crate::plan::{Plan, Status};
use crate::profile::Profile;
use crate::signals;
use crate::snapshot::{Origin, Store};

pub use metrics::Counters;

/// What the periodic audit does with drift.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Re-apply it.
    Enforce,
    /// Only report it (metrics and log); the start and interfaces that appear are still
    /// given the profile.
    Report,
    /// Never write anything to the host, not even at start: report drift only.
    Observe,
}

impl Mode {
    /// `enforce`, `report`, `observe`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Report => "report",
            Mode::Observe => "observe",
        }
    }
}

/// How the agent runs.
pub struct Settings {
    pub profile: String,
    pub interval: Duration,
    pub mode: Mode,
    pub textfile: Option<std::path::PathBuf>,
    /// `--evidence-per-cpu`: the textfile carries the per-CPU evidence series.
    pub evidence_per_cpu: bool,
}

/// What the agent needs from the command line's context: loading the profile, planning it,
/// and running a transaction on the host.
pub trait Host {
    fn load(&self, name: &str) -> anyhow::Result<Profile>;
    fn plan(&self, profile: &Profile) -> anyhow::Result<Plan>;
    fn run(&self, plan: &Plan, opts: &Opts) -> Result<Outcome, apply::ApplyError>;
    fn store(&self) -> &Store;
    fn host_name(&self) -> String;
    fn place(&self) -> crate::snapshot::Place;
    /// Whether this is the live kernel (link events exist only there).
    fn live(&self) -> bool;
    /// The interfaces there now.
    fn ifaces(&self) -> Vec<String>;
    /// Attaches each item's evidence counters (`--evidence`) for the textfile.
    fn evidence(&self, _profile: &Profile, _plan: &mut Plan) {}
}

/// Why a cycle ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Why {
    Start,
    Link,
    /// Link events were lost (socket overrun): the whole profile is planned again.
    Resync,
    Interval,
    Reload,
    /// A pause began or ended (`hosttune pause`, `resume`, an expiry).
    Pause,
    /// An item held back after a failed correction is due again.
    Retry,
}

impl Why {
    fn as_str(self) -> &'static str {
        match self {
            Why::Start => "start",
            Why::Link => "link",
            Why::Resync => "resync",
            Why::Interval => "interval",
            Why::Reload => "reload",
            Why::Pause => "pause",
            Why::Retry => "retry",
        }
    }
}

/// What a cycle plans: the whole profile, or the part of some interfaces (link events).
enum Scope {
    All,
    Ifaces(BTreeSet<String>),
}

/// How often the agent looks at the pause file between cycles, so that `pause` and `resume`
/// show in its status and metrics within this time (a cycle always reads it first).
const PAUSE_CHECK: Duration = Duration::from_secs(1);

/// The profile as the metrics and the status file name it: its name (a path-given profile by
/// its file stem, never the path) and the sha256 of its resolved text as `hosttune show`
/// prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    pub name: String,
    pub sha256: String,
}

impl Ident {
    /// `asked` is the PROFILE argument.
    pub fn of(profile: &Profile, asked: &str) -> Ident {
        Ident {
            name: crate::report::profile_label(asked),
            sha256: crate::sha256::hex(profile.to_toml().as_bytes()),
        }
    }
}

/// What the agent keeps between cycles.
struct State {
    counters: Counters,
    /// Interfaces that have been given their settings (or seen at start): a link event or a
    /// resync that finds one not in it gives it the profile, in report mode too.
    known: BTreeSet<String>,
    ident: Ident,
    started: u64,
    /// The pause that held at the last look (`None`: not paused).
    pause: Option<pause::Pause>,
    /// Items (`KIND OBJECT`) a correction did not fix, and items that cannot be read.
    failing: BTreeSet<String>,
    /// Items in drift that nothing corrected (report or observe mode, a pause, not yet).
    drift: BTreeSet<String>,
    /// The `STATUS=` last sent.
    summary: String,
    /// Items whose correction failed, held back until their next try.
    backoff: BTreeMap<String, Backoff>,
    /// The item whose write failed in the last transaction, and why.
    last_failed: Option<(String, String)>,
}

/// A failing item's retries: after the n-th failure it is left out of corrections for
/// 2^(n-1) seconds, at most [`BACKOFF_MAX`], while the rest of its transaction is applied.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    pub failures: u32,
    next: Instant,
}

/// The longest wait between two tries of a failing item.
const BACKOFF_MAX: Duration = Duration::from_secs(300);

impl Backoff {
    fn after(failures: u32) -> Self {
        let wait = Duration::from_secs(1u64 << failures.saturating_sub(1).min(16)).min(BACKOFF_MAX);
        Self {
            failures,
            next: Instant::now() + wait,
        }
    }
    fn wait(&self) -> Duration {
        self.next.saturating_duration_since(Instant::now())
    }
}

/// Runs until SIGTERM or SIGINT; returns the exit code (0 after a clean stop).
pub fn run(host: &dyn Host, s: &Settings) -> anyhow::Result<u8> {
    let guard = signals::Guard::block()?;
    let _agent = host.store().agent_lock(&s.profile)?;
    let mut profile = host.load(&s.profile)?;
    let links = if host.live() {
        Some(Links::open().map_err(|e| anyhow::anyhow!("cannot subscribe to link events: {e}"))?)
    } else {
        None
    };
    if s.mode == Mode::Observe {
        tracing::info!(
            "observe mode: profile {} is audited and reported, nothing is \
             written",
            s.profile
        );
    }
    let mut st = State {
        counters: Counters::default(),
        known: host.ifaces().into_iter().collect(),
        ident: Ident::of(&profile, &s.profile),
        started: crate::snapshot::now_unix(),
        pause: None,
        failing: BTreeSet::new(),
        drift: BTreeSet::new(),
        summary: String::new(),
        backoff: BTreeMap::new(),
        last_failed: None,
    };
    let mut agent = Agent {
        host,
        s,
        st: &mut st,
    };
    agent.cycle(&profile, Scope::All, Why::Start);
    let _ = sd_notify::notify(&[
        sd_notify::NotifyState::Ready,
        sd_notify::NotifyState::Status(&st.summary),
    ]);
    let watchdog = sd_notify::watchdog_enabled().map(|d| d / 2);
    let mut next_audit = Instant::now() + s.interval;
    let mut next_ping = watchdog.map(|d| Instant::now() + d);
    loop {
        let now = Instant::now();
        let wake = next_ping
            .map_or(next_audit, |p| p.min(next_audit))
            .min(now + PAUSE_CHECK);
        let wait = wake.saturating_duration_since(now);
        let timeout = PollTimeout::try_from(wait.as_millis().min(60_000) as i32 + 1)
            .unwrap_or(PollTimeout::MAX);
        let sigfd = guard.as_fd();
        let mut fds = vec![PollFd::new(sigfd, PollFlags::POLLIN)];
        if let Some(l) = &links {
            fds.push(PollFd::new(l.as_fd(), PollFlags::POLLIN));
        }
        match poll(&mut fds, timeout) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => anyhow::bail!("poll: {e}"),
        }
        let signalled = fds[0].any().unwrap_or(false);
        let linked = fds.get(1).and_then(|f| f.any()).unwrap_or(false);
        drop(fds);
        let mut agent = Agent {
            host,
            s,
            st: &mut st,
        };
        if signalled {
            match guard.take() {
                Some(Signal::SIGHUP) => {
                    agent.st.counters.event("hup");
                    match host.load(&s.profile) {
                        Ok(p) => {
                            tracing::info!("SIGHUP: profile {} reloaded", s.profile);
                            profile = p;
                            agent.st.ident = Ident::of(&profile, &s.profile);
                            agent.cycle(&profile, Scope::All, Why::Reload);
                        }
                        Err(e) => {
                            // Counted as a failure: the profile on disk is not the one held.
                            agent.st.counters.failures += 1;
                            tracing::warn!(
                                "SIGHUP: reload failed: the profile {} does \
                                 not load, keeping the one loaded before: {e:#}",
                                s.profile
                            );
                            agent.write_metrics(None);
                        }
                    }
                }
                Some(sig) => {
                    let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
                    tracing::info!("{} received; stopping", signals::name(sig));
                    return Ok(0);
                }
                None => {}
            }
        }
        if let (true, Some(l)) = (linked, &links) {
            // Let a burst settle (a NIC reset sends several events), then take them all.
            std::thread::sleep(Duration::from_millis(20));
            let mut changed = BTreeSet::new();
            let mut overrun = false;
            for e in l.drain() {
                match e {
                    LinkEvent::Changed(n) => {
                        agent.st.counters.event("link");
                        changed.insert(n);
                    }
                    LinkEvent::Removed(n) => {
                        agent.st.counters.event("link_removed");
                        // A later interface of the same name is a new one.
                        agent.st.known.remove(&n);
                        changed.remove(&n);
                    }
                    LinkEvent::Overrun => overrun = true,
                }
            }
            if overrun {
                agent.st.counters.event("resync");
                agent.cycle(&profile, Scope::All, Why::Resync);
            } else if !changed.is_empty() {
                agent.cycle(&profile, Scope::Ifaces(changed), Why::Link);
            }
        }
        // A pause that began, ended or changed since the last look: a full cycle, so that
        // corrections resume at once after `resume` and the status says so either way.
        let seen = agent.read_pause();
        if seen != agent.st.pause {
            agent.cycle(&profile, Scope::All, Why::Pause);
        }
        // A failed item's next try, without waiting for the interval (a new interface in
        // report mode would otherwise wait a whole interval for it).
        if agent.st.backoff.values().any(|b| b.wait().is_zero()) {
            agent.st.counters.event("retry");
            agent.cycle(&profile, Scope::All, Why::Retry);
            // What that cycle did not try (report mode: a known interface's drift is only
            // reported) waits for the next interval instead of waking the agent each second.
            for b in agent.st.backoff.values_mut() {
                if b.wait().is_zero() {
                    b.next = Instant::now() + s.interval;
                }
            }
        }
        let now = Instant::now();
        if now >= next_audit {
            agent.st.counters.event("interval");
            agent.cycle(&profile, Scope::All, Why::Interval);
            next_audit = now + s.interval;
        }
        let now = Instant::now();
        if let (Some(p), Some(d)) = (next_ping, watchdog) {
            if now >= p {
                let _ = sd_notify::notify(&[sd_notify::NotifyState::Watchdog]);
                next_ping = Some(now + d);
            }
        }
    }
}

struct Agent<'a> {
    host: &'a dyn Host,
    s: &'a Settings,
    st: &'a mut State,
}

/// `KIND OBJECT`: how the status file and the failing set name an item.
fn key(i: &crate::plan::Item) -> String {
    format!("{} {}", i.kind, i.object)
}

impl Agent<'_> {
    /// The pause that holds now; an unreadable state dir counts as no pause, logged.
    fn read_pause(&self) -> Option<pause::Pause> {
        match pause::active(self.host.store(), crate::snapshot::now_unix()) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!("cannot read the pause file: {e}");
                self.st.pause.clone()
            }
        }
    }

    /// Reads the pause file and logs a pause that began, changed or ended.
    fn refresh_pause(&mut self, why: Why) {
        let now = self.read_pause();
        if now == self.st.pause && why != Why::Start {
            return;
        }
        match (&now, &self.st.pause) {
            (Some(p), _) => tracing::info!(
                "{}: no corrections{}, audits and metrics go on \
                 (`hosttune resume` ends it)",
                p.describe(),
                if why == Why::Start {
                    ", the start apply is skipped"
                } else {
                    ""
                }
            ),
            (None, Some(_)) => {
                tracing::info!("the pause is over (resumed or expired); corrections resume")
            }
            (None, None) => {}
        }
        self.st.pause = now;
    }

    /// One cycle: plan the whole profile, then apply the drift of the scope (enforce, and at
    /// start), or of interfaces not seen before (report), or nothing (observe, paused), then
    /// write the metrics and the status file.
    fn cycle(&mut self, profile: &Profile, scope: Scope, why: Why) {
        let start = Instant::now();
        self.refresh_pause(why);
        let mut plan = match self.host.plan(profile) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!("cannot plan {}: {e:#}", self.s.profile);
                self.st.counters.failures += 1;
                return;
            }
        };
        let part = match &scope {
            Scope::Ifaces(set) => only_ifaces(&plan, |i| set.contains(i)),
            Scope::All => plan.clone(),
        };
        // Interfaces whose names are not UTF-8 are left alone: said when the profile is
        // (re)loaded, not every cycle; the metrics carry them every cycle.
        if matches!(why, Why::Start | Why::Reload) {
            for i in plan
                .items()
                .filter(|i| crate::knobs::raw_ifaces::is_raw_iface(i))
            {
                tracing::warn!(
                    "skipped {} {}: {}",
                    i.kind,
                    i.object,
                    i.note.as_deref().unwrap_or_default()
                );
            }
        }
        let drift = part.items().filter(|i| i.status == Status::Drift).count();
        tracing::debug!(
            "cycle ({}{}): {} items, {drift} drift",
            why.as_str(),
            match &scope {
                Scope::Ifaces(set) =>
                    format!(" {}", set.iter().cloned().collect::<Vec<_>>().join(" ")),
                Scope::All => String::new(),
            },
            part.entries.len()
        );
        // Interfaces the agent has not given the profile yet: in report mode they get it
        // (they are new, not drifted), whether a link event or a resync finds them.
        let present: BTreeSet<String> = match &scope {
            Scope::Ifaces(set) => set.clone(),
            Scope::All => {
                let now: BTreeSet<String> = self.host.ifaces().into_iter().collect();
                // Removals lost with the events: a later interface of the name is new.
                self.st.known.retain(|i| now.contains(i));
                now
            }
        };
        let new: BTreeSet<String> = present.difference(&self.st.known).cloned().collect();
        let writes = self.s.mode != Mode::Observe && self.st.pause.is_none();
        let all = writes && (self.s.mode == Mode::Enforce || why == Why::Start);
        // The transactions: the whole scope (one per interface for link events, so that one
        // failing interface does not undo another's), or the new interfaces together.
        // Each with the interfaces it gives their settings to.
        let mut parts: Vec<(Plan, BTreeSet<String>)> = Vec::new();
        let one = |i: &String| (only_ifaces(&plan, |x| x == i), BTreeSet::from([i.clone()]));
        if all {
            match &scope {
                Scope::All => parts.push((part.clone(), new.clone())),
                Scope::Ifaces(set) => parts.extend(set.iter().map(one)),
            }
        } else if writes && !new.is_empty() {
            match &scope {
                Scope::All => parts.push((only_ifaces(&plan, |i| new.contains(i)), new.clone())),
                Scope::Ifaces(_) => parts.extend(new.iter().map(one)),
            }
        }
        parts.retain(|(p, _)| p.items().any(|i| i.status == Status::Drift));
        let tried: BTreeSet<String> = parts
            .iter()
            .flat_map(|(p, _)| p.items().filter(|i| i.status == Status::Drift).map(key))
            .collect();
        for i in part
            .items()
            .filter(|i| i.status == Status::Drift && !tried.contains(&key(i)))
        {
            tracing::warn!(
                "drift {} {}: {} (wants {})",
                i.kind,
                i.object,
                i.live,
                i.desired
            );
        }
        let mut applied = None;
        // A new interface whose settings did not all take stays new, so that report mode
        // keeps giving it them (its failing item after its backoff), not only reporting.
        let mut unfinished = BTreeSet::new();
        for (p, ifaces) in parts {
            let ok = self.apply_failing_small(p);
            if !ok {
                unfinished.extend(ifaces);
            }
            applied = Some(applied.unwrap_or(true) && ok);
        }
        if writes {
            self.st
                .known
                .extend(new.into_iter().filter(|i| !unfinished.contains(i)));
        }
        // The metrics show the host after this cycle, not before its corrections.
        if applied.is_some() {
            if let Ok(p) = self.host.plan(profile) {
                plan = p;
            }
        }
        let changed = self.judge(&plan, &tried);
        self.st.counters.cycles += 1;
        self.st.counters.last_cycle = start.elapsed();
        // The textfile carries the evidence gauges; read after any apply, so they describe
        // the host as the next cycle finds it.
        if self.s.textfile.is_some() {
            self.host.evidence(profile, &mut plan);
        }
        self.write_metrics(Some((&plan, applied)));
        self.write_status();
        // Told last, so that whoever acts on `STATUS=` finds the textfile and the status
        // file already saying the same.
        if changed {
            let _ = sd_notify::notify(&[sd_notify::NotifyState::Status(&self.st.summary)]);
        }
    }

    /// Sorts the items that are not as desired after a cycle: failing (a correction tried
    /// and did not take, or an item that cannot be read) or in drift (left alone); then the
    /// `STATUS=` line, and whether it changed (the cycle sends it then).
    fn judge(&mut self, plan: &Plan, tried: &BTreeSet<String>) -> bool {
        let bad = |i: &&crate::plan::Item| matches!(i.status, Status::Drift | Status::Error);
        let now_bad: BTreeSet<String> = plan.items().filter(bad).map(key).collect();
        // An item that reads as desired again (or left the profile) needs no more tries.
        self.st.backoff.retain(|k, _| now_bad.contains(k));
        let failing = &mut self.st.failing;
        failing.retain(|k| now_bad.contains(k));
        failing.extend(tried.iter().filter(|k| now_bad.contains(*k)).cloned());
        failing.extend(plan.items().filter(|i| i.status == Status::Error).map(key));
        self.st.drift = now_bad.difference(&self.st.failing).cloned().collect();
        let (n_fail, n_drift) = (self.st.failing.len(), self.st.drift.len());
        let health = match (n_fail, n_drift) {
            (0, 0) => "in sync".to_string(),
            (0, d) => format!("drift: {d} items"),
            (f, 0) => format!("degraded: {f} items failing"),
            (f, d) => format!("degraded: {f} items failing, {d} in drift"),
        };
        let summary = match (&self.st.pause, self.s.mode) {
            (Some(p), _) => format!("{}: {health}", p.describe()),
            (None, Mode::Observe) => format!("observing: {health}"),
            (None, _) => health,
        };
        if summary == self.st.summary {
            return false;
        }
        tracing::info!("status: {summary}");
        self.st.summary = summary;
        true
    }

    /// The status file, for `hosttune status`.
    fn write_status(&self) {
        let store = self.host.store();
        let st = status::AgentStatus {
            pid: std::process::id(),
            mode: self.s.mode.as_str().into(),
            profile: self.st.ident.name.clone(),
            sha256: self.st.ident.sha256.clone(),
            interval_seconds: self.s.interval.as_secs(),
            started: self.st.started,
            last_cycle: crate::snapshot::now_unix(),
            paused: self.st.pause.is_some(),
            paused_until: self.st.pause.as_ref().and_then(|p| p.until),
            pause_reason: self.st.pause.as_ref().and_then(|p| p.reason.clone()),
            last_transaction: store.last_result().ok().flatten().map(
                |(profile, success, finished)| status::LastTransaction {
                    profile,
                    success,
                    finished,
                },
            ),
            drift: self.st.drift.iter().cloned().collect(),
            failing: self.st.failing.iter().cloned().collect(),
            summary: self.st.summary.clone(),
        };
        let body = serde_json::to_vec_pretty(&st).expect("the status serializes");
        if let Err(e) = store.write_state(status::FILE, &body) {
            tracing::warn!("cannot write its status file: {e}");
        }
    }

    /// A transaction for the plan's drift, taking over the agent's snapshot so far.
    /// One correction, failing small: items still waiting out their backoff are left out; when
    /// an item's write fails (and the transaction is undone), it is held back with a longer
    /// wait each time and the rest is tried again without it, a few times at most.
    fn apply_failing_small(&mut self, mut plan: Plan) -> bool {
        let mut ok = true;
        for _ in 0..4 {
            let backoff = &self.st.backoff;
            plan.entries.retain(|e| {
                e.item.status != Status::Drift
                    || backoff
                        .get(&key(&e.item))
                        .is_none_or(|b| b.wait().is_zero())
            });
            if !plan.items().any(|i| i.status == Status::Drift) {
                return ok;
            }
            self.st.last_failed = None;
            if self.apply(&plan) {
                return ok;
            }
            ok = false;
            let Some((k, why)) = self.st.last_failed.take() else {
                return false;
            };
            let failures = self.st.backoff.get(&k).map_or(0, |b| b.failures) + 1;
            let b = Backoff::after(failures);
            tracing::warn!(
                "{k}: correction failed {failures} time(s) ({why}), next try \
                 in {}s; the rest is applied without it",
                b.wait().as_secs().max(1)
            );
            self.st.backoff.insert(k, b);
        }
        ok
    }

    fn apply(&mut self, plan: &Plan) -> bool {
        let store = self.host.store();
        // Short: only `hosttune snapshot` or `pause` may hold the lock while an agent runs,
        // and SIGTERM must be answered promptly; a correction not made now is made next time.
        let _lock = match store.lock(Duration::from_millis(500)) {
            Ok(l) => l,
            Err(e) => {
                // Busy (a `hosttune snapshot` or `pause` holds it): tried again next time.
                tracing::warn!("{e}");
                self.st.counters.failures += 1;
                return false;
            }
        };
        // A transaction of this agent (or of an apply) that was killed: its snapshot holds the
        // values from before it and is the newest record; take it over, as `apply` does.
        let interrupted = match apply::recover(store, Some(Origin::Apply)) {
            Ok(Some(i)) if i.journal.origin == Origin::Apply => {
                tracing::warn!(
                    "the {} of profile {} started {} (pid {}) was \
                     interrupted; this transaction takes its snapshot over",
                    i.journal.origin.as_str(),
                    i.journal.profile,
                    i.journal.started,
                    i.journal.pid
                );
                i.snapshot.ok().map(|s| (i.journal, s))
            }
            _ => None,
        };
        // The newest apply of this profile is the agent's snapshot so far: this transaction's
        // "before" values are that snapshot's, wherever it recorded one.
        let base = match &interrupted {
            Some((_, s)) => Some(s.clone()),
            None => store
                .last_apply()
                .ok()
                .and_then(|id| store.load(&id).ok())
                .filter(|b| b.profile == plan.profile && b.origin == Origin::Apply),
        };
        let host_name = self.host.host_name();
        let opts = Opts {
            inherit: base.as_ref(),
            interrupted: interrupted.as_ref().map(|(j, _)| j),
            place: Some(self.host.place()),
            commit: Commit::Push {
                replaces: base.as_ref().map(|b| b.id.clone()),
            },
            ..Opts::new(Origin::Apply, &host_name)
        };
        let ok = match self.host.run(plan, &opts) {
            Ok(o) => {
                for d in &o.done {
                    let i = &d.item;
                    if let Some(why) = &d.gone {
                        tracing::info!(
                            "gone {} {}: vanished during the correction ({why}), \
                             skipped",
                            i.kind,
                            i.object
                        );
                        continue;
                    }
                    match (&d.unsupported, &d.kept) {
                        (Some(why), _) => {
                            tracing::warn!("unsupported {} {}: {why}", i.kind, i.object)
                        }
                        (None, kept) => {
                            self.st.counters.change(i.kind.as_str());
                            tracing::info!(
                                "changed {} {}: {} -> {}",
                                i.kind,
                                i.object,
                                i.live,
                                kept.as_deref().unwrap_or(&i.desired)
                            );
                        }
                    }
                }
                match &o.failure {
                    None => {
                        // The new snapshot holds every value the one it replaced held: the
                        // replaced file would only pile up (one per correction).
                        if let (Some(b), Some(new)) = (&base, &o.snapshot) {
                            if &b.id != new {
                                let _ = store.delete(&b.id);
                            }
                        }
                        true
                    }
                    Some(f) => {
                        let cause = crate::report::cause(&f.cause);
                        // An incomplete undo leaves the host between two states: an error.
                        if f.incomplete() {
                            tracing::error!("correction failed, its undo was INCOMPLETE: {cause}");
                        } else {
                            tracing::warn!(
                                "correction failed, its own changes were undone (earlier ones \
                                 stay): {cause}"
                            );
                        }
                        if let apply::Cause::Step { item, error } = &f.cause {
                            self.st.last_failed = Some((key(item), error.to_string()));
                        }
                        false
                    }
                }
            }
            Err(e) => {
                tracing::error!("{e}");
                false
            }
        };
        if !ok {
            self.st.counters.failures += 1;
        }
        let _ = store.record_apply(&plan.profile, ok);
        ok
    }

    fn write_metrics(&mut self, last: Option<(&Plan, Option<bool>)>) {
        let Some(path) = &self.s.textfile else {
            return;
        };
        let text = metrics::render(
            self.host.store(),
            last.map(|l| l.0),
            &mut self.st.counters,
            &metrics::Gauges {
                ident: &self.st.ident,
                mode: self.s.mode.as_str(),
                per_cpu: self.s.evidence_per_cpu,
                pause: self.st.pause.as_ref(),
                failing: self.st.failing.len(),
                retries: &self
                    .st
                    .backoff
                    .iter()
                    .map(|(k, b)| (k.clone(), b.failures))
                    .collect(),
            },
        );
        if let Err(e) =
            crate::atomic::write(path, text.as_bytes(), crate::atomic::Mode::KeepOr(0o644))
        {
            tracing::warn!("cannot write {}: {e}", path.display());
        }
    }
}

/// The part of a plan that belongs to one interface: its `[[nic]]` items and the sysctls
/// under it (`net.ipv4.conf.IFACE.*`, `neigh.IFACE.*`), with the re-plans of its knobs.
pub fn only_iface(plan: &Plan, iface: &str) -> Plan {
    only_ifaces(plan, |i| i == iface)
}

/// [`only_iface`] for every interface `wanted` accepts.
pub fn only_ifaces(plan: &Plan, wanted: impl Fn(&str) -> bool) -> Plan {
    let mine = |e: &crate::plan::Entry| {
        e.iface.as_ref().is_some_and(|i| wanted(i.as_str()))
            || e.item
                .object
                .parse::<crate::sysctl::SysctlKey>()
                .ok()
                .and_then(|k| crate::knobs::sysctl::key_iface(&k).map(&wanted))
                .unwrap_or(false)
    };
    Plan {
        profile: plan.profile.clone(),
        entries: plan.entries.iter().filter(|e| mine(e)).cloned().collect(),
        replan: plan
            .replan
            .iter()
            .filter(|r| wanted(r.iface.as_str()))
            .cloned()
            .collect(),
    }
}
