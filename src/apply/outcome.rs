//! What an apply or rollback reports: each change done, and for a transaction that stopped,
//! why and what undoing each change did.

use crate::knobs::KnobError;
use crate::plan::Item;
use crate::snapshot::StoreError;

/// What happened to one change.
#[derive(Debug, Clone, PartialEq)]
pub struct Done {
    pub item: Item,
    /// What the kernel kept, when it differs from what was asked.
    pub kept: Option<String>,
    /// The change could not be made because the host does not support it.
    pub unsupported: Option<String>,
    /// The change was not made because its object vanished during the transaction (an
    /// interface deleted while the agent tuned it): skipped, not a failure.
    pub gone: Option<String>,
}

impl Done {
    /// A change skipped because its object vanished during the transaction.
    pub fn gone(item: Item, why: &KnobError) -> Self {
        Self {
            item,
            kept: None,
            unsupported: None,
            gone: Some(why.to_string()),
        }
    }

    /// Whether the host was changed.
    pub fn changed(&self) -> bool {
        self.unsupported.is_none() && self.gone.is_none()
    }
}

/// What stopped a transaction after it started writing.
#[derive(Debug)]
pub enum Cause {
    /// A change failed: an error, a partial effect, or a read-back that differs.
    Step { item: Item, error: KnobError },
    /// SIGTERM, SIGINT or SIGHUP arrived during an apply.
    Signal(&'static str),
    /// The state dir could not record the outcome (disk full, I/O error).
    Store(StoreError),
}

/// What undoing one change did.
#[derive(Debug, Clone, PartialEq)]
pub enum Undone {
    /// Written back and read back equal to the snapshot.
    Restored,
    /// Its object vanished meanwhile: nothing to restore.
    Gone(String),
    /// Could not be restored: the host differs from before here.
    Failed(String),
}

/// A transaction that stopped, and what undoing its changes did, newest first.
#[derive(Debug)]
pub struct Failure {
    pub cause: Cause,
    /// (kind/object/value restored, result) for every change undone, the failing one too.
    pub undo: Vec<(Item, Undone)>,
}

impl Failure {
    /// Whether something that still exists could not be restored.
    pub fn incomplete(&self) -> bool {
        self.undo
            .iter()
            .any(|(_, u)| matches!(u, Undone::Failed(_)))
    }

    /// The change that failed, when a change did.
    pub fn item(&self) -> Option<&Item> {
        match &self.cause {
            Cause::Step { item, .. } => Some(item),
            _ => None,
        }
    }

    /// The error of the change that failed, when a change did.
    pub fn error(&self) -> Option<&KnobError> {
        match &self.cause {
            Cause::Step { error, .. } => Some(error),
            _ => None,
        }
    }

    /// The undo results that are not `Restored`.
    pub fn undo_errors(&self) -> Vec<&Undone> {
        self.undo
            .iter()
            .map(|(_, u)| u)
            .filter(|u| **u != Undone::Restored)
            .collect()
    }
}

/// The result of an apply or rollback that got past planning.
#[derive(Debug)]
pub struct Outcome {
    /// The snapshot taken before the first write (none when nothing needed writing).
    pub snapshot: Option<String>,
    pub done: Vec<Done>,
    pub failure: Option<Failure>,
    /// A signal that arrived during a rollback, which was finished nonetheless.
    pub signal: Option<&'static str>,
    /// Things the state store could not record after the host was done (said, not fatal).
    pub warnings: Vec<String>,
}
