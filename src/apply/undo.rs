//! Undoing a transaction that stopped: every change attempted, the failing one included,
//! newest first, each read back.

use super::outcome::{Cause, Undone};
use super::{Commit, Failure, Opts, Outcome, SettingIo};
use crate::host::Host;
use crate::plan::{Item, Setting, describe};
use crate::snapshot::{Origin, Store};

/// Undoes every change attempted, newest first, then ends the transaction. A complete undo
/// leaves no trace in the history (the snapshot stays on disk for the record); an incomplete
/// one makes this apply's snapshot the default rollback target, so `hosttune rollback`
/// retries what is left.
pub(super) fn fail(
    store: &Store,
    opts: &Opts,
    mut out: Outcome,
    cause: Cause,
    host: &Host,
    io: &dyn SettingIo,
    written: &[(Item, Setting)],
) -> Outcome {
    let undo = undo(host, io, written);
    let failure = Failure { cause, undo };
    if failure.incomplete() && opts.origin == Origin::Apply {
        if let (Some(id), Commit::Push { replaces }) = (&out.snapshot, &opts.commit) {
            if let Err(e) = store.push_history(id, replaces.as_deref()) {
                out.warnings.push(format!(
                    "cannot record snapshot {id} as the rollback default: {e}"
                ));
            }
        }
    }
    if let Err(e) = store.end() {
        out.warnings
            .push(format!("cannot clear the transaction journal: {e}"));
    }
    out.failure = Some(failure);
    out
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
