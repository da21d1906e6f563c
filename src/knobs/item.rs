//! The plan's vocabulary: what an item tunes ([`Kind`]), how it compares ([`Status`]), the
//! report line ([`Item`]) and one planned item with the settings behind it ([`Entry`]).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{Kind, Setting};

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an item compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Live equals desired.
    Ok,
    /// Live differs; apply would write.
    Drift,
    /// Optional and absent on this host.
    Skipped,
    /// The NIC, driver or kernel cannot do it; not a failure.
    Unsupported,
    /// The kernel or driver keeps a rounded value, recorded by an earlier apply.
    Clamped,
    /// Could not be read or is impossible; stops an apply before any write.
    Error,
    /// Rollback or undo: the object (an interface, an IRQ, a key) vanished since the
    /// snapshot, so there is nothing to restore.
    Gone,
    /// Its object does not exist yet (a key of an interface not created yet); the agent
    /// applies it when it appears.
    Pending,
}

impl Status {
    /// Every status, in summary order.
    pub const ALL: [Status; 8] = [
        Status::Ok,
        Status::Drift,
        Status::Skipped,
        Status::Unsupported,
        Status::Clamped,
        Status::Error,
        Status::Gone,
        Status::Pending,
    ];

    /// The report name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Drift => "drift",
            Status::Skipped => "skipped",
            Status::Unsupported => "unsupported",
            Status::Clamped => "clamped",
            Status::Error => "error",
            Status::Gone => "gone",
            Status::Pending => "pending",
        }
    }
}

impl Status {
    /// `ok` when live equals desired, else `drift`: the one comparison every knob makes.
    pub fn of(in_sync: bool) -> Status {
        if in_sync { Status::Ok } else { Status::Drift }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One report line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub kind: Kind,
    pub object: String,
    pub desired: String,
    pub live: String,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub note: Option<String>,
    /// Boot-time sources (sysctl.d files, /etc/sysctl.conf) that set this item's key to
    /// another value.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub conflicts: Vec<crate::sysctld::Conflict>,
    /// With `--evidence`: the kernel counters that show whether this setting matters here
    ///.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub evidence: Vec<crate::evidence::Evidence>,
}

impl Item {
    /// An item without a note.
    pub fn new(
        kind: Kind,
        object: impl Into<String>,
        desired: impl Into<String>,
        live: impl Into<String>,
        status: Status,
    ) -> Self {
        Self {
            kind,
            object: object.into(),
            desired: desired.into(),
            live: live.into(),
            status,
            note: None,
            conflicts: Vec::new(),
            evidence: Vec::new(),
        }
    }

    /// One line naming the item and what is wrong with it: `sysctl net.core.x: no such key`.
    pub fn problem(&self) -> String {
        format!(
            "{} {}: {}",
            self.kind,
            self.object,
            self.note.as_deref().unwrap_or("error")
        )
    }

    /// Adds an explanation (why skipped, what to do about drift that cannot be applied).
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }
}

/// One planned item: the report line, the wanted setting and the live one. `desired` and
/// `live` are both present for anything apply could write.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub item: Item,
    pub desired: Option<Setting>,
    pub live: Option<Setting>,
    /// The interface a `[[nic]]` knob planned this for (set by the NIC planner), so that
    /// apply can tell which steps a change on that interface makes stale.
    pub iface: Option<crate::types::IfName>,
    /// The bound a `[sysctl]` value asked for (`{ min = N }`, `{ include = [...] }`), when it
    /// was one: another source's value conflicts only when it falls outside it.
    pub bound: Option<crate::knobs::bound::Within>,
}

impl Entry {
    /// Builds an entry.
    pub fn new(item: Item, desired: Option<Setting>, live: Option<Setting>) -> Self {
        Self {
            item,
            desired,
            live,
            iface: None,
            bound: None,
        }
    }

    /// The write this entry needs, if any: drift with both sides known.
    pub fn change(&self) -> Option<(&Setting, &Setting)> {
        match (&self.desired, &self.live) {
            (Some(d), Some(l)) if self.item.status == Status::Drift => Some((d, l)),
            _ => None,
        }
    }
}
