//! [`Item`], one report line, and [`Entry`], one planned item with the values behind it.
//! Later stages annotate items (boot-time conflicts, evidence) after diff; their types are
//! here too, so that the knobs that build items know nothing of those stages.

use serde::{Deserialize, Serialize};

use super::{Conflict, Evidence, Kind, Status};
use crate::types::IfName;

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
    pub conflicts: Vec<Conflict>,
    /// With `--evidence`: the kernel counters that show whether this setting matters here
    ///.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub evidence: Vec<Evidence>,
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
///
/// Generic over the setting type `S` and the bound type `B` because both are generated from
/// the knob registry, above the model: `crate::knobs::Entry` names the one the plan uses.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry<S, B> {
    pub item: Item,
    pub desired: Option<S>,
    pub live: Option<S>,
    /// The interface a `[[nic]]` knob planned this for (set by the NIC planner), so that
    /// apply can tell which steps a change on that interface makes stale.
    pub iface: Option<IfName>,
    /// The bound a `[sysctl]` value asked for (`{ min = N }`, `{ include = [...] }`), when it
    /// was one: another source's value conflicts only when it falls outside it.
    pub bound: Option<B>,
}

impl<S, B> Entry<S, B> {
    /// Builds an entry.
    pub fn new(item: Item, desired: Option<S>, live: Option<S>) -> Self {
        Self {
            item,
            desired,
            live,
            iface: None,
            bound: None,
        }
    }

    /// The write this entry needs, if any: drift with both sides known.
    pub fn change(&self) -> Option<(&S, &S)> {
        match (&self.desired, &self.live) {
            (Some(d), Some(l)) if self.item.status == Status::Drift => Some((d, l)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_without_annotations_serializes_without_them() {
        let i = Item::new(
            Kind::Sysctl,
            "net.core.somaxconn",
            "4096",
            "128",
            Status::Drift,
        );
        let v = serde_json::to_value(&i).unwrap();
        assert!(
            v.get("conflicts").is_none() && v.get("evidence").is_none() && v.get("note").is_none(),
            "{v}"
        );
        assert_eq!(i.problem(), "sysctl net.core.somaxconn: error");
        let back: Item = serde_json::from_value(v).unwrap();
        assert_eq!(back, i);
        assert_eq!(
            i.note("no such key").problem(),
            "sysctl net.core.somaxconn: no such key"
        );
    }

    #[test]
    fn only_drift_with_both_sides_is_a_change() {
        let drift = Item::new(Kind::Sysctl, "k", "1", "0", Status::Drift);
        let e: Entry<u8, ()> = Entry::new(drift.clone(), Some(1), Some(0));
        assert_eq!(e.change(), Some((&1, &0)));
        assert_eq!(Entry::<u8, ()>::new(drift, Some(1), None).change(), None);
        let ok = Item::new(Kind::Sysctl, "k", "1", "1", Status::Ok);
        assert_eq!(Entry::<u8, ()>::new(ok, Some(1), Some(1)).change(), None);
    }
}
