//! Apply: snapshot what will change (durably, before the first write), journal the
//! transaction, write each change in plan order and read it back; on any failure (an error, a
//! partial effect, a read-back that differs, a signal, a state-store error) undo every change
//! made, the failing one included, newest first, reading each back.
//!
//! The rules are the README's "All or nothing": after an apply that exits 1 the
//! host reads back exactly as before it.

use crate::host::Host;
use crate::knobs::KnobError;
use crate::plan::{Item, Plan, ReadFailure, Setting, Status, describe};
use crate::side;
use crate::signals;
use crate::snapshot::{
    Journal, KeptValue, Origin, Place, Snapshot, Store, StoreError, now_rfc3339,
};

/// Why an apply did not start writing.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// Problems found while planning; nothing was written.
    #[error("{}", .0.iter().map(Item::problem).collect::<Vec<_>>().join("\n"))]
    Plan(Vec<Item>),
    /// The snapshot or the journal could not be written; nothing was written to the host.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a transaction records in the history when it completes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Commit {
    /// An apply: its snapshot becomes the default rollback target, taking the place of the
    /// interrupted apply it took over, if any.
    Push { replaces: Option<String> },
    /// A rollback to `target`: it and every later apply leave the history.
    Pop { target: String },
    /// Nothing (tests, manual snapshots).
    None,
}

/// How to run a transaction.
pub struct Opts<'a> {
    pub origin: Origin,
    pub host_name: &'a str,
    /// Signals blocked for the transaction (apply undoes on one, rollback finishes).
    pub signals: Option<&'a signals::Guard>,
    /// The snapshot of an interrupted apply: its values are this apply's "before" values.
    pub inherit: Option<&'a Snapshot>,
    /// That interrupted apply's journal: put back if this apply is undone, so that the next
    /// one still takes it over.
    pub interrupted: Option<&'a Journal>,
    /// Where this runs (`--root`, network namespace), recorded in the snapshot so that a
    /// rollback elsewhere is refused.
    pub place: Option<Place>,
    pub commit: Commit,
}

impl<'a> Opts<'a> {
    /// An apply or rollback with no signals, nothing inherited, no history change.
    pub fn new(origin: Origin, host_name: &'a str) -> Self {
        Self {
            origin,
            host_name,
            signals: None,
            inherit: None,
            interrupted: None,
            place: None,
            commit: Commit::None,
        }
    }
}

/// Runs a plan. `origin` says whose snapshot this is; a completed apply's becomes the default
/// for `hosttune rollback`.
pub fn run(
    host: &Host,
    store: &Store,
    plan: &Plan,
    origin: Origin,
    host_name: &str,
) -> Result<Outcome, ApplyError> {
    let commit = match origin {
        Origin::Apply => Commit::Push { replaces: None },
        _ => Commit::None,
    };
    let opts = Opts {
        commit,
        ..Opts::new(origin, host_name)
    };
    run_opts(host, store, plan, &opts)
}

// The seam apply reads and writes settings through lives with the knobs, so that a wrapper
// (a test build's fault injector, chosen with the store) needs nothing from apply.
pub(crate) use crate::knobs::setting_io::{Knobs, SettingIo};

/// One change of an apply: the item, the value to write, the value it replaces, and the
/// interface a NIC knob planned it for.
#[derive(Debug, Clone)]
pub(crate) struct Change {
    pub item: Item,
    pub to: Setting,
    pub from: Setting,
    pub iface: Option<crate::types::IfName>,
}

impl Change {
    /// The change an entry needs, as a step.
    fn step(e: &crate::plan::Entry) -> Option<Step> {
        let (to, from) = e.change()?;
        Some(Step::Change(Box::new(Change {
            item: e.item.clone(),
            to: to.clone(),
            from: from.clone(),
            iface: e.iface.clone(),
        })))
    }
}

/// One step of an apply: a change, or planning a NIC knob again (an index into
/// [`Plan::replan`]) after a change that made its plan stale.
#[derive(Debug)]
pub(crate) enum Step {
    Change(Box<Change>),
    Replan(usize),
}

/// The "before" values of a new snapshot: each change's live value, except where an
/// interrupted apply recorded the value from before it (which this apply may have found
/// already changed), plus every other value the interrupted apply recorded.
fn before_values(steps: &[Step], inherit: Option<&Snapshot>) -> Vec<Setting> {
    let mut out: Vec<Setting> = steps
        .iter()
        .filter_map(|s| match s {
            Step::Change(c) => Some(c.from.clone()),
            Step::Replan(_) => None,
        })
        .collect();
    if let Some(old) = inherit {
        for o in &old.settings {
            match out.iter_mut().find(|s| s.address() == o.address()) {
                Some(s) => *s = o.clone(),
                None => out.push(o.clone()),
            }
        }
    }
    out
}

/// The live values of settings in sync now that a change planned on the same interface will
/// disturb: a channel change makes the driver spread its queue IRQs again (virtio-net puts
/// `input.1` on `2-3` where it was on `1`), so an IRQ that needed no write must still be
/// recorded for undo and rollback to put it back after the channels.
fn disturbed(plan: &Plan, steps: &[Step]) -> Vec<Setting> {
    plan.entries
        .iter()
        .filter(|e| e.item.status == Status::Ok)
        .filter_map(|e| {
            let (iface, live) = (e.iface.as_ref()?, e.live.as_ref()?);
            let stale = plan.replan.iter().any(|r| {
                r.kind() == e.item.kind
                    && steps
                        .iter()
                        .any(|s| matches!(s, Step::Change(c) if r.stale_after(c.item.kind, iface)))
            });
            stale.then(|| live.clone())
        })
        .collect()
}

/// Appends each of `more` whose place `to` does not hold yet.
fn add_missing(to: &mut Vec<Setting>, more: &[Setting]) {
    for m in more {
        if !to.iter().any(|s| s.address() == m.address()) {
            to.push(m.clone());
        }
    }
}

/// Runs a plan as one transaction with the given options.
pub fn run_opts(
    host: &Host,
    store: &Store,
    plan: &Plan,
    opts: &Opts,
) -> Result<Outcome, ApplyError> {
    run_io(host, store, plan, opts, &Knobs)
}

/// [`run_opts`] through `io` for every read and write.
pub(crate) fn run_io(
    host: &Host,
    store: &Store,
    plan: &Plan,
    opts: &Opts,
    io: &dyn SettingIo,
) -> Result<Outcome, ApplyError> {
    let errors: Vec<Item> = plan.errors().cloned().collect();
    if !errors.is_empty() {
        return Err(ApplyError::Plan(errors));
    }
    // The store chose the wrapper, if any, around this transaction's setting I/O.
    let wrapped = store.wrap_io(io, opts.signals);
    let io: &dyn SettingIo = wrapped.as_deref().unwrap_or(io);
    let mut steps: Vec<Step> = plan.entries.iter().filter_map(Change::step).collect();
    let mut out = Outcome {
        snapshot: None,
        done: Vec::new(),
        failure: None,
        signal: None,
        warnings: Vec::new(),
    };
    if steps.is_empty() {
        return Ok(out);
    }
    // A signal while planning: nothing was written, so there is nothing to record or undo.
    if opts.origin == Origin::Apply {
        if let Some(sig) = stop_for_signal(opts, &mut out) {
            out.failure = Some(Failure {
                cause: Cause::Signal(sig),
                undo: Vec::new(),
            });
            return Ok(out);
        }
    }
    // What the writes can change besides themselves, read before the first of them: the
    // values the kernel rewrites on its own (recorded, so that undo and rollback put them
    // back) and the wider surface (compared afterwards, so that nothing changes unseen).
    let writes: Vec<&Setting> = steps
        .iter()
        .filter_map(|s| match s {
            Step::Change(c) => Some(&c.to),
            Step::Replan(_) => None,
        })
        .collect();
    let scopes = side::scopes(writes.iter().copied());
    let surface = side::Surface::read(host, &scopes);
    let side_now = side::capture(host, &side::reach_all(writes.iter().copied()));
    let side_now_own = side_now.clone();
    let tx = undo::Tx {
        store,
        opts,
        host,
        io,
        prior_history: store.history()?,
        scopes,
        surface,
    };
    let mut settings = before_values(&steps, opts.inherit);
    let disturbed = disturbed(plan, &steps);
    add_missing(&mut settings, &disturbed);
    let mut snap = Snapshot {
        id: Store::new_id(),
        profile: plan.profile.clone(),
        origin: opts.origin,
        created: now_rfc3339(),
        host: opts.host_name.to_string(),
        place: opts.place.clone(),
        side: side_values(&settings, side_now, opts.inherit),
        settings,
    };
    // What this transaction itself recorded, with the values it found: what its undo puts
    // back. The snapshot on disk may hold more (an interrupted apply's or the agent's earlier
    // values, for rollback); a failed transaction never undoes those.
    let mut own = Snapshot {
        settings: steps
            .iter()
            .filter_map(|s| match s {
                Step::Change(c) => Some(c.from.clone()),
                Step::Replan(_) => None,
            })
            .collect(),
        side: Vec::new(),
        ..snap.clone()
    };
    add_missing(&mut own.settings, &disturbed);
    own.side = side_values(&own.settings, side_now_own, None);
    // A full state dir: what retention may remove makes room first (old failed
    // transactions), then the snapshot is written again.
    if let Err(e) = store.save(&snap) {
        if store.prune().map_or(true, |r| r.is_empty()) {
            return Err(e.into());
        }
        store.save(&snap)?;
    }
    tracing::info!(
        "snapshot {} written: {} settings",
        snap.id,
        snap.settings.len()
    );
    store.begin(&Journal {
        snapshot: snap.id.clone(),
        origin: opts.origin,
        profile: plan.profile.clone(),
        pid: std::process::id(),
        started: snap.created.clone(),
        target: match &opts.commit {
            Commit::Pop { target } => Some(target.clone()),
            _ => None,
        },
        replaces: match &opts.commit {
            Commit::Push { replaces } => replaces.clone(),
            _ => None,
        },
    })?;
    out.snapshot = Some(snap.id.clone());
    let mut kept = if opts.origin == Origin::Apply {
        store.kept().unwrap_or_default()
    } else {
        Default::default()
    };
    // (item, value before) of every change attempted, newest last: what undo restores.
    let mut written: Vec<(Item, Setting)> = Vec::new();
    let mut i = 0;
    while i < steps.len() {
        if let Some(sig) = stop_for_signal(opts, &mut out) {
            let cause = Cause::Signal(sig);
            return Ok(fail(&tx, out, cause, &written, &own));
        }
        let (item, to, from, iface) = match &steps[i] {
            Step::Change(c) => {
                let c = (**c).clone();
                (c.item, c.to, c.from, c.iface)
            }
            Step::Replan(r) => {
                match rediscover::run(host, store, &mut snap, plan, *r) {
                    Ok(fresh) => {
                        for st in &fresh {
                            if let Step::Change(c) = st {
                                if !own.settings.iter().any(|x| x.address() == c.from.address()) {
                                    own.settings.push(c.from.clone());
                                }
                            }
                        }
                        steps.splice(i + 1..i + 1, fresh);
                    }
                    Err(e) => {
                        let (item, error) = *e;
                        let cause = Cause::Step { item, error };
                        return Ok(fail(&tx, out, cause, &written, &own));
                    }
                }
                i += 1;
                continue;
            }
        };
        i += 1;
        // A rollback restores what its own earlier writes may already have put back (writing
        // `ip_forward = 0` resets every interface's `forwarding`): a value that reads as
        // recorded now is not written again.
        if opts.origin == Origin::Rollback
            && io.read(host, &to).is_ok_and(|now| now.same_value(&to))
        {
            continue;
        }
        // Recorded before the write: a write can take effect in part and still fail.
        written.push((item.clone(), from));
        match io.write_item(host, &item, &to) {
            Ok(()) => {}
            Err(e) if e.is_unsupported() => {
                written.pop();
                out.done.push(Done {
                    item,
                    kept: None,
                    unsupported: Some(e.to_string()),
                    gone: None,
                });
                continue;
            }
            // The object vanished (an interface deleted while it was being tuned): nothing of
            // it is left to change or to undo.
            Err(e) if e.is_gone() => {
                written.pop();
                out.done.push(Done::gone(item, &e));
                continue;
            }
            Err(error) => {
                let cause = Cause::Step { item, error };
                return Ok(fail(&tx, out, cause, &written, &own));
            }
        }
        let back = match io.read(host, &to) {
            Ok(back) => back,
            Err(e) if e.is_gone() => {
                written.pop();
                out.done.push(Done::gone(item, &e));
                continue;
            }
            Err(error) => {
                let cause = Cause::Step { item, error };
                return Ok(fail(&tx, out, cause, &written, &own));
            }
        };
        // The report shows the value written (a bound's resolved value, not `≥ N`).
        let mut item = item;
        item.desired = describe(&to).2;
        let mut d = Done {
            item,
            kept: None,
            unsupported: None,
            gone: None,
        };
        if !back.same_value(&to) {
            if !to.may_round() {
                let error = KnobError::Mismatch {
                    object: format!("{} {}", d.item.kind, d.item.object),
                    wrote: describe(&to).2,
                    read: describe(&back).2,
                };
                let cause = Cause::Step {
                    item: d.item,
                    error,
                };
                return Ok(fail(&tx, out, cause, &written, &own));
            }
            // The driver rounded the value (a ring size): what it keeps is what later audits
            // compare against.
            d.kept = Some(describe(&back).2);
            kept.insert(
                to.address(),
                KeptValue {
                    asked: to.clone(),
                    kept: back,
                },
            );
        }
        if let Some(iface) = &iface {
            rediscover::schedule(plan, &mut steps, i, d.item.kind, iface);
        }
        out.done.push(d);
    }
    // A rollback restores channels before IRQ affinity and RPS masks; a queue that a channel
    // change had removed exists again only now, so what was `gone` when planning is read
    // again and restored if it is back. And a value that read as recorded when planning may
    // have been rewritten by the kernel since, as a side effect of a write before it
    // (`ip_forward = 0` resets every interface's `forwarding`): it is read again too.
    if opts.origin == Origin::Rollback {
        for e in plan
            .entries
            .iter()
            .filter(|e| matches!(e.item.status, Status::Gone | Status::Ok))
        {
            let Some(want) = &e.desired else { continue };
            let Ok(now) = io.read(host, want) else {
                continue;
            };
            if now.same_value(want) {
                continue;
            }
            if !own.settings.iter().any(|s| s.address() == now.address()) {
                own.settings.push(now.clone());
            }
            if !snap.settings.iter().any(|s| s.address() == now.address()) {
                snap.settings.push(now.clone());
                if let Err(e) = store.save(&snap) {
                    return Ok(fail(&tx, out, Cause::Store(e), &written, &own));
                }
            }
            let mut item = e.item.clone();
            item.live = describe(&now).2;
            item.status = Status::Drift;
            written.push((item.clone(), now));
            let res = io.write(host, want).and_then(|()| io.read(host, want));
            match res {
                Ok(back) if back.same_value(want) => out.done.push(Done {
                    item,
                    kept: None,
                    unsupported: None,
                    gone: None,
                }),
                Ok(back) => {
                    let error = KnobError::Mismatch {
                        object: format!("{} {}", item.kind, item.object),
                        wrote: describe(want).2,
                        read: describe(&back).2,
                    };
                    let cause = Cause::Step { item, error };
                    return Ok(fail(&tx, out, cause, &written, &own));
                }
                Err(error) => {
                    let cause = Cause::Step { item, error };
                    return Ok(fail(&tx, out, cause, &written, &own));
                }
            }
        }
    }
    // A signal during the last write: an apply still undoes.
    if let Some(sig) = stop_for_signal(opts, &mut out) {
        let cause = Cause::Signal(sig);
        return Ok(fail(&tx, out, cause, &written, &own));
    }
    if let Err(e) = surface_after(&tx, plan, &mut snap, &mut own, &mut out) {
        return Ok(fail(&tx, out, Cause::Store(e), &written, &own));
    }
    // The host is done; record the outcome. A store failure now undoes the writes: the
    // snapshot on disk already holds every value they replaced.
    let recorded = (|| {
        if opts.origin == Origin::Apply {
            store.save_kept(&kept)?;
        }
        commit(store, &opts.commit, &snap.id)
    })();
    if let Err(e) = recorded {
        return Ok(fail(&tx, out, Cause::Store(e), &written, &own));
    }
    if let Err(e) = store.end() {
        out.warnings
            .push(format!("cannot clear the transaction journal: {e}"));
    }
    prune(store, &mut out);
    Ok(out)
}

/// Compares the wider surface with before the writes. An apply records what else changed in
/// its snapshot (rollback then puts it back) and says so; a rollback says what its writes
/// changed beyond the recorded values.
fn surface_after(
    tx: &undo::Tx,
    plan: &Plan,
    snap: &mut Snapshot,
    own: &mut Snapshot,
    out: &mut Outcome,
) -> Result<(), StoreError> {
    if tx.surface.is_empty() {
        return Ok(());
    }
    let after = side::Surface::read(tx.host, &tx.scopes);
    let planned = |a: &str| plan.changes().any(|(to, _)| to.address() == a);
    // Devices this transaction creates or deletes: their per-interface keys and routes come
    // and go with them.
    // Creating the first device of a kind loads its module, whose fallback device (tunl0,
    // ip6tnl0) appears with it.
    let made: Vec<crate::types::IfName> = plan
        .changes()
        .filter_map(|(to, _)| match to {
            Setting::Tunnel { iface, link, .. } => Some((iface, link)),
            _ => None,
        })
        .flat_map(|(iface, link)| {
            let fallback = match link {
                crate::host::LinkKind::Ipip => "tunl0".parse().ok(),
                crate::host::LinkKind::Ip6tnl => "ip6tnl0".parse().ok(),
                _ => None,
            };
            std::iter::once(iface.clone()).chain(fallback)
        })
        .collect();
    let mut recorded = false;
    for d in after.since(&tx.surface) {
        if planned(&d.address) || made.iter().any(|i| d.concerns(i)) {
            continue;
        }
        if tx.opts.origin == Origin::Rollback {
            out.warnings
                .push(format!("the kernel also changed {}", d.describe()));
            continue;
        }
        let known = snap
            .settings
            .iter()
            .chain(&snap.side)
            .any(|s| s.address() == d.address);
        if known {
            continue;
        }
        if let Some(before) = d.before.clone() {
            own.side.push(before.clone());
            snap.side.push(before);
            recorded = true;
        }
        out.warnings.push(format!(
            "the kernel also changed {}; recorded, rollback puts it back",
            d.describe()
        ));
    }
    if recorded {
        tx.store.save(snap)?;
    }
    Ok(())
}

/// The side values of a new snapshot: those an interrupted apply recorded, then those read
/// now, less any that `settings` hold themselves.
fn side_values(
    settings: &[Setting],
    now: Vec<Setting>,
    inherit: Option<&Snapshot>,
) -> Vec<Setting> {
    let mut out: Vec<Setting> = inherit.map(|s| s.side.clone()).unwrap_or_default();
    for s in now {
        if !out.iter().any(|o| o.address() == s.address()) {
            out.push(s);
        }
    }
    out.retain(|s| !settings.iter().any(|x| x.address() == s.address()));
    out
}

/// Retention after a transaction: a failure costs a warning, never the run.
pub(crate) fn prune(store: &Store, out: &mut Outcome) {
    match store.prune() {
        Ok(removed) if !removed.is_empty() => {
            tracing::debug!("retention removed snapshots {}", removed.join(", "))
        }
        Ok(_) => {}
        Err(e) => out
            .warnings
            .push(format!("cannot prune old snapshots: {e}")),
    }
}

/// A signal received so far: an apply stops for it (it is returned); a rollback notes it and
/// goes on, since stopping a restore halfway would leave the host half-tuned.
fn stop_for_signal(opts: &Opts, out: &mut Outcome) -> Option<&'static str> {
    let sig = opts.signals.and_then(|g| g.caught()).map(signals::name)?;
    if opts.origin == Origin::Apply {
        return Some(sig);
    }
    out.signal.get_or_insert(sig);
    None
}

fn commit(store: &Store, c: &Commit, id: &str) -> Result<(), StoreError> {
    match c {
        Commit::Push { replaces } => store.push_history(id, replaces.as_deref()),
        Commit::Pop { target } => {
            let mut h = store.history()?;
            if let Some(at) = h.iter().position(|x| x == target) {
                h.truncate(at);
                store.set_history(&h)?;
            }
            Ok(())
        }
        Commit::None => Ok(()),
    }
}

/// Builds the rollback plan of a snapshot: read what is live at each recorded address.
pub fn rollback_plan(host: &Host, snap: &Snapshot) -> Plan {
    rollback_plan_with(host, snap, &Knobs)
}

pub(crate) fn rollback_plan_with(host: &Host, snap: &Snapshot, io: &dyn SettingIo) -> Plan {
    let order = snap.restore_order();
    let live = order
        .iter()
        .map(|s| {
            io.read(host, s).map_err(|e| {
                if e.is_gone() {
                    ReadFailure::Gone(e.to_string())
                } else if e.is_unsupported() {
                    ReadFailure::Unsupported(e.to_string())
                } else {
                    ReadFailure::Other(e.to_string())
                }
            })
        })
        .collect();
    Plan {
        profile: format!("to snapshot {}", snap.id),
        entries: crate::plan::rollback_entries(&order, live),
        replan: Vec::new(),
    }
}

mod journal;
mod outcome;
mod rediscover;
mod undo;

pub use journal::{Interrupted, recover};
pub use outcome::{Cause, Done, Failure, Outcome, Undone};
use undo::fail;
#[cfg(test)]
mod side_tests;
#[cfg(test)]
mod tests;
