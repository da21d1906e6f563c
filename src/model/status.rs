//! [`Status`]: how an item compares, live against desired, and what an apply or rollback
//! made of it.

use std::fmt;

use serde::{Deserialize, Serialize};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_stable_and_listed_once() {
        let names: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            names,
            [
                "ok",
                "drift",
                "skipped",
                "unsupported",
                "clamped",
                "error",
                "gone",
                "pending"
            ]
        );
        for s in Status::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert_eq!(Status::of(true), Status::Ok);
        assert_eq!(Status::of(false), Status::Drift);
    }
}
