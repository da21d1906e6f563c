//! Undoing a transaction that stopped: every change attempted, the failing one included,
//! newest first, each read back.

use super::outcome::{Cause, Undone};
use super::{Commit, Failure, Opts, Outcome, SettingIo};
use crate::host::Host;
use crate::plan::{Item, Setting, describe};
use crate::snapshot::{Origin, Snapshot, Store};

/// What undoing needs beyond the changes: where to record, how, and the rollback history as
/// it was before the transaction.
pub(super) struct Tx<'a> {
    pub store: &'a Store,
    pub opts: &'a Opts<'a>,
    pub host: &'a Host<'a>,
    pub io: &'a dyn SettingIo,
    pub prior_history: Vec<String>,
    /// The wider surface the writes can reach, as read before the first of them.
    pub scopes: Vec<crate::side::Scope>,
    pub surface: crate::side::Surface,
}

/// Undoes every change attempted, newest first, then puts back anything else the snapshot
/// recorded that no longer reads as recorded (a queue's RPS mask or IRQ affinity that a
/// channel change re-created), and ends the transaction. A complete undo leaves the history
/// as it was before (the snapshot stays on disk for the record); an incomplete one makes this
/// apply's snapshot the default rollback target, so `hosttune rollback` retries what is left.
pub(super) fn fail(
    tx: &Tx,
    mut out: Outcome,
    cause: Cause,
    written: &[(Item, Setting)],
    recorded: &Snapshot,
) -> Outcome {
    let (store, opts) = (tx.store, tx.opts);
    let mut undone = undo(tx.host, tx.io, written);
    undone.extend(reconcile(tx.host, tx.io, recorded, written));
    undone.extend(surface_check(tx));
    let failure = Failure {
        cause,
        undo: undone,
    };
    let mut history = tx.prior_history.clone();
    if failure.incomplete() && opts.origin == Origin::Apply {
        if let (Some(id), Commit::Push { replaces }) = (&out.snapshot, &opts.commit) {
            history.retain(|h| h != id && Some(h.as_str()) != replaces.as_deref());
            history.push(id.clone());
        }
    }
    if store.history().ok().as_ref() != Some(&history) {
        if let Err(e) = store.set_history(&history) {
            out.warnings
                .push(format!("cannot put the rollback history back: {e}"));
        }
    }
    // An undone apply that took over an interrupted one hands it on to the next apply.
    let ended = match opts.interrupted {
        Some(j) if !failure.incomplete() => store.begin(j),
        _ => store.end(),
    };
    if let Err(e) = ended {
        out.warnings
            .push(format!("cannot clear the transaction journal: {e}"));
    }
    out.failure = Some(failure);
    super::prune(store, &mut out);
    out
}

/// Every difference of the wider surface from before the transaction, after everything was
/// put back: each is a value the kernel changed on its own that could not be restored, so the
/// host does not read back as before.
fn surface_check(tx: &Tx) -> Vec<(Item, Undone)> {
    if tx.surface.is_empty() {
        return Vec::new();
    }
    let after = crate::side::Surface::read(tx.host, &tx.scopes);
    after
        .since(&tx.surface)
        .into_iter()
        .map(|d| {
            let s = d
                .before
                .as_ref()
                .or(d.after.as_ref())
                .expect("one side exists");
            let (kind, object, _) = describe(s);
            let shown = |x: &Option<Setting>| {
                x.as_ref()
                    .map_or("absent".to_string(), |x| describe(x).2.trim().to_string())
            };
            let item = Item::new(
                kind,
                object,
                shown(&d.before),
                shown(&d.after),
                crate::plan::Status::Drift,
            );
            let why = format!(
                "reads {} (was {} before; the kernel changed it as a side effect)",
                shown(&d.after),
                shown(&d.before)
            );
            (item, Undone::Failed(why))
        })
        .collect()
}

/// Restores every recorded setting not among the changes undone whose object exists and whose
/// value differs from the record, in rollback order (the settings, then what their writes
/// changed on the side, then IRQ affinity and RPS).
fn reconcile(
    host: &Host,
    io: &dyn SettingIo,
    recorded: &Snapshot,
    written: &[(Item, Setting)],
) -> Vec<(Item, Undone)> {
    let rest: Vec<&Setting> = recorded
        .restore_order()
        .into_iter()
        .filter(|s| !written.iter().any(|(_, w)| w.address() == s.address()))
        .collect();
    rest.into_iter()
        .filter(|s| io.read(host, s).is_ok_and(|now| !now.same_value(s)))
        .map(|s| {
            let (kind, object, value) = describe(s);
            let item = Item::new(kind, object, value, "-", crate::plan::Status::Drift);
            undo(host, io, &[(item, s.clone())]).remove(0)
        })
        .collect()
}

/// Restores earlier values, newest first, each read back.
fn undo(host: &Host, io: &dyn SettingIo, written: &[(Item, Setting)]) -> Vec<(Item, Undone)> {
    written
        .iter()
        .rev()
        .map(|(item, from)| {
            let shown = Item::new(
                item.kind,
                item.object.clone(),
                describe(from).2,
                item.desired.clone(),
                item.status,
            );
            // A refused write usually changed nothing: what already reads back as before is
            // not written again.
            let now = io.read(host, from);
            if let Ok(back) = &now {
                if back.same_value(from) {
                    return (shown, Undone::Restored);
                }
            }
            let result = match now.and_then(|_| io.write(host, from)) {
                Err(e) if e.is_gone() => Undone::Gone(e.to_string()),
                Err(e) => Undone::Failed(e.to_string()),
                Ok(()) => match io.read(host, from) {
                    Err(e) if e.is_gone() => Undone::Gone(e.to_string()),
                    Err(e) => Undone::Failed(format!("read back: {e}")),
                    Ok(back) if back.same_value(from) => Undone::Restored,
                    Ok(back) => Undone::Failed(format!("reads back {}", describe(&back).2)),
                },
            };
            (shown, result)
        })
        .collect()
}
