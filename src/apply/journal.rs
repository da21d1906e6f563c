//! Finding a transaction that a `kill -9` or a power loss interrupted, and settling it before
//! the next one starts.

use crate::snapshot::{Journal, Origin, Snapshot, Store, StoreError};

/// An apply or rollback that was interrupted (killed, power lost) before it ended, found by
/// the next one.
#[derive(Debug)]
pub struct Interrupted {
    pub journal: Journal,
    /// Its snapshot, when still readable.
    pub snapshot: Result<Snapshot, StoreError>,
}

/// Looks for an interrupted transaction and settles it: an interrupted apply's snapshot
/// becomes the default rollback target (the host may hold part of its changes), in the place
/// of the snapshot it was taking over, whose values it holds too (so that a killed agent
/// correction never leaves two entries for one agent's life). The journal of an interrupted
/// transaction of the origin `keep` stays until the caller's transaction takes it over: an
/// apply that stops at planning must not use up an interrupted apply, and a rollback finishes
/// an interrupted rollback (to its target) instead of walking back one apply more. Call with
/// the lock held.
pub fn recover(store: &Store, keep: Option<Origin>) -> Result<Option<Interrupted>, StoreError> {
    let Some(journal) = store.journal()? else {
        return Ok(None);
    };
    let snapshot = store.load(&journal.snapshot);
    let is_apply = journal.origin == Origin::Apply && snapshot.is_ok();
    if is_apply && store.history()?.last() != Some(&journal.snapshot) {
        store.push_history(&journal.snapshot, journal.replaces.as_deref())?;
    }
    let kept = match keep {
        Some(Origin::Apply) => is_apply,
        Some(Origin::Rollback) => journal.origin == Origin::Rollback && journal.target.is_some(),
        _ => false,
    };
    if !kept {
        store.end()?;
    }
    Ok(Some(Interrupted { journal, snapshot }))
}
