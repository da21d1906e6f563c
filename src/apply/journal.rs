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
/// becomes the default rollback target (the host may hold part of its changes). An
/// interrupted apply's journal stays until an apply takes it over (`keep_apply`): an apply
/// that stops at planning must not use it up. Call with the lock held.
pub fn recover(store: &Store, keep_apply: bool) -> Result<Option<Interrupted>, StoreError> {
    let Some(journal) = store.journal()? else {
        return Ok(None);
    };
    let snapshot = store.load(&journal.snapshot);
    let is_apply = journal.origin == Origin::Apply && snapshot.is_ok();
    if is_apply && store.history()?.last() != Some(&journal.snapshot) {
        store.push_history(&journal.snapshot, None)?;
    }
    if !(is_apply && keep_apply) {
        store.end()?;
    }
    Ok(Some(Interrupted { journal, snapshot }))
}
