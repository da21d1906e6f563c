//! `hosttune agent PROFILE`: hold the profile, not just apply it once.
//!
//! One blocking loop over poll(2): an rtnetlink socket subscribed to link events, the signalfd,
//! and a timer. At start it applies the profile. A link event re-plans and applies only that
//! interface's settings (its sysctls, queues, RPS, IRQs); every interval it audits the whole
//! profile and re-applies drift (`enforce`) or only reports it (`report`). Every change goes
//! through the same transaction as `apply`, and each one takes over the snapshot of the one
//! before (as an apply takes over an interrupted one), so the rollback history holds one
//! entry for the agent's whole life: a rollback after a day of corrections still returns the
//! host to where it was before the first apply.
//!
//! The state dir's transaction lock is held only during a transaction, so `audit` and
//! `snapshots` work beside the agent; a separate agent lock, held for the agent's life, keeps
//! a second agent, `apply` and `rollback` away with a clear message.

mod metrics;

use std::collections::BTreeSet;
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
    /// Only report it (metrics and log).
    Report,
}

/// How the agent runs.
pub struct Settings {
    pub profile: String,
    pub interval: Duration,
    pub mode: Mode,
    pub textfile: Option<std::path::PathBuf>,
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
    Interval,
    Reload,
}

impl Why {
    fn as_str(self) -> &'static str {
        match self {
            Why::Start => "start",
            Why::Link => "link",
            Why::Interval => "interval",
            Why::Reload => "reload",
        }
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
    let mut counters = Counters::default();
    let mut known: BTreeSet<String> = host.ifaces().into_iter().collect();
    let mut agent = Agent {
        host,
        s,
        counters: &mut counters,
        known: &mut known,
    };
    agent.cycle(&profile, None, Why::Start);
    let _ = sd_notify::notify(&[sd_notify::NotifyState::Ready]);
    let watchdog = sd_notify::watchdog_enabled().map(|d| d / 2);
    let mut next_audit = Instant::now() + s.interval;
    let mut next_ping = watchdog.map(|d| Instant::now() + d);
    loop {
        let now = Instant::now();
        let wake = next_ping.map_or(next_audit, |p| p.min(next_audit));
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
        if signalled {
            match guard.take() {
                Some(Signal::SIGHUP) => {
                    counters.event("hup");
                    let mut agent = Agent {
                        host,
                        s,
                        counters: &mut counters,
                        known: &mut known,
                    };
                    match host.load(&s.profile) {
                        Ok(p) => {
                            tracing::info!("SIGHUP: profile {} reloaded", s.profile);
                            profile = p;
                            agent.cycle(&profile, None, Why::Reload);
                        }
                        Err(e) => {
                            eprintln!(
                                "hosttune: agent: SIGHUP: the profile {} does not load, keeping \
                                 the one loaded before: {e:#}",
                                s.profile
                            );
                            agent.write_metrics(None);
                        }
                    }
                }
                Some(sig) => {
                    let _ = sd_notify::notify(&[sd_notify::NotifyState::Stopping]);
                    eprintln!("hosttune: agent: {} received; stopping", signals::name(sig));
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
                        counters.event("link");
                        changed.insert(n);
                    }
                    LinkEvent::Removed(n) => {
                        counters.event("link_removed");
                        // A later interface of the same name is a new one.
                        known.remove(&n);
                    }
                    LinkEvent::Overrun => overrun = true,
                }
            }
            let mut agent = Agent {
                host,
                s,
                counters: &mut counters,
                known: &mut known,
            };
            if overrun {
                agent.cycle(&profile, None, Why::Link);
            } else {
                for iface in changed {
                    agent.cycle(&profile, Some(&iface), Why::Link);
                }
            }
        }
        let now = Instant::now();
        if now >= next_audit {
            counters.event("interval");
            let mut agent = Agent {
                host,
                s,
                counters: &mut counters,
                known: &mut known,
            };
            agent.cycle(&profile, None, Why::Interval);
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
    counters: &'a mut Counters,
    /// Interfaces seen so far (at start, or since): a link event for one not in it is a new
    /// interface.
    known: &'a mut BTreeSet<String>,
}

impl Agent<'_> {
    /// One cycle: plan (the whole profile, or one interface's part of it), then apply what
    /// differs (enforce) or only count it (report), then write the metrics.
    fn cycle(&mut self, profile: &Profile, iface: Option<&str>, why: Why) {
        let start = Instant::now();
        let mut plan = match self.host.plan(profile) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("hosttune: agent: cannot plan {}: {e:#}", self.s.profile);
                self.counters.failures += 1;
                return;
            }
        };
        let part = match iface {
            Some(i) => only_iface(&plan, i),
            None => plan.clone(),
        };
        // Interfaces whose names are not UTF-8 are left alone: said when the profile is
        // (re)loaded, not every cycle; the metrics carry them every cycle.
        if matches!(why, Why::Start | Why::Reload) {
            for i in plan
                .items()
                .filter(|i| crate::knobs::raw_ifaces::is_raw_iface(i))
            {
                eprintln!(
                    "hosttune: agent: skipped {} {}: {}",
                    i.kind,
                    i.object,
                    i.note.as_deref().unwrap_or_default()
                );
            }
        }
        let drift = part.items().filter(|i| i.status == Status::Drift).count();
        tracing::info!(
            "cycle ({}{}): {} items, {drift} drift",
            why.as_str(),
            iface.map(|i| format!(" {i}")).unwrap_or_default(),
            part.entries.len()
        );
        // Report mode never corrects drift, but an interface that appeared since the agent
        // started is not drift: it gets the profile, like at start (link events apply).
        let new_iface = iface.is_some_and(|i| self.known.insert(i.to_string()));
        let enforce = self.s.mode == Mode::Enforce || why == Why::Start || new_iface;
        if drift > 0 && !enforce {
            for i in part.items().filter(|i| i.status == Status::Drift) {
                eprintln!(
                    "hosttune: agent: drift {} {}: {} (wants {})",
                    i.kind, i.object, i.live, i.desired
                );
            }
        }
        let mut applied = None;
        if drift > 0 && enforce {
            applied = Some(self.apply(&part));
        }
        // The metrics show the host after this cycle, not before its corrections.
        if applied == Some(true) {
            if let Ok(p) = self.host.plan(profile) {
                plan = p;
            }
        }
        self.counters.cycles += 1;
        self.counters.last_cycle = start.elapsed();
        // The textfile carries the evidence gauges; read after any apply, so they describe
        // the host as the next cycle finds it.
        if self.s.textfile.is_some() {
            self.host.evidence(profile, &mut plan);
        }
        self.write_metrics(Some((&plan, applied)));
    }

    /// A transaction for the plan's drift, taking over the agent's snapshot so far.
    fn apply(&mut self, plan: &Plan) -> bool {
        let store = self.host.store();
        let _lock = match store.lock(Duration::from_secs(30)) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("hosttune: agent: {e}");
                self.counters.failures += 1;
                return false;
            }
        };
        // A transaction of this agent (or of an apply) that was killed: its snapshot holds the
        // values from before it and is the newest record; take it over, as `apply` does.
        let interrupted = match apply::recover(store, Some(Origin::Apply)) {
            Ok(Some(i)) if i.journal.origin == Origin::Apply => {
                eprintln!(
                    "hosttune: agent: the {} of profile {} started {} (pid {}) was \
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
                        eprintln!(
                            "hosttune: agent: gone {} {}: vanished during the correction ({why}), \
                             skipped",
                            i.kind, i.object
                        );
                        continue;
                    }
                    match (&d.unsupported, &d.kept) {
                        (Some(why), _) => {
                            eprintln!(
                                "hosttune: agent: unsupported {} {}: {why}",
                                i.kind, i.object
                            )
                        }
                        (None, kept) => {
                            self.counters.change(i.kind.as_str());
                            eprintln!(
                                "hosttune: agent: changed {} {}: {} -> {}",
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
                        eprintln!(
                            "hosttune: agent: apply failed, {}: {}",
                            if f.incomplete() {
                                "the undo was INCOMPLETE"
                            } else {
                                "every change was undone"
                            },
                            crate::report::cause(&f.cause)
                        );
                        false
                    }
                }
            }
            Err(e) => {
                eprintln!("hosttune: agent: {e}");
                false
            }
        };
        if !ok {
            self.counters.failures += 1;
        }
        let _ = store.record_apply(&plan.profile, ok);
        ok
    }

    fn write_metrics(&mut self, last: Option<(&Plan, Option<bool>)>) {
        let Some(path) = &self.s.textfile else {
            return;
        };
        let text = metrics::render(self.host.store(), last.map(|l| l.0), self.counters);
        if let Err(e) =
            crate::atomic::write(path, text.as_bytes(), crate::atomic::Mode::KeepOr(0o644))
        {
            eprintln!("hosttune: agent: cannot write {}: {e}", path.display());
        }
    }
}

/// The part of a plan that belongs to one interface: its `[[nic]]` items and the sysctls
/// under it (`net.ipv4.conf.IFACE.*`, `neigh.IFACE.*`), with the re-plans of its knobs.
pub fn only_iface(plan: &Plan, iface: &str) -> Plan {
    let mine = |e: &crate::plan::Entry| {
        e.iface.as_ref().is_some_and(|i| i.as_str() == iface)
            || e.item
                .object
                .parse::<crate::sysctl::SysctlKey>()
                .ok()
                .is_some_and(|k| crate::knobs::sysctl::key_iface(&k) == Some(iface))
    };
    Plan {
        profile: plan.profile.clone(),
        entries: plan.entries.iter().filter(|e| mine(e)).cloned().collect(),
        replan: plan
            .replan
            .iter()
            .filter(|r| r.iface.as_str() == iface)
            .cloned()
            .collect(),
    }
}
