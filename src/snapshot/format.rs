//! The snapshot file format: what took a snapshot ([`Origin`]), where ([`Place`]), and the
//! recorded values ([`Snapshot`]), as JSON under `snapshots/ID.json`. Every setting is
//! checked as it is read: a snapshot decides what `rollback` writes as root.

use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::knobs::Setting;

/// What took a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Taken by `apply` before its first change.
    Apply,
    /// Taken by `hosttune snapshot PROFILE`.
    Manual,
    /// Taken by `rollback` before it changed anything, so a rollback can be undone too.
    Rollback,
}

impl Origin {
    /// `apply`, `manual`, `rollback`.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Apply => "apply",
            Origin::Manual => "manual",
            Origin::Rollback => "rollback",
        }
    }
}

/// Recorded values, restorable by `hosttune rollback ID`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub id: String,
    pub profile: String,
    pub origin: Origin,
    /// UTC, RFC 3339.
    pub created: String,
    pub host: String,
    /// Where it was taken (`--root`, network namespace); absent in older snapshots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<Place>,
    /// Checked entry by entry as it is read: one outside the tuning surface refuses the
    /// whole snapshot (see [`crate::knobs::SettingOps::validate`]).
    #[serde(deserialize_with = "crate::knobs::setting::checked_list")]
    pub settings: Vec<Setting>,
    /// Values the kernel may change on its own when `settings` are written (another
    /// interface's `forwarding`, `accept_redirects`, the addresses and routes `disable_ipv6`
    /// drops, LRO): put back after them, keys first, then addresses, routes and LRO. Absent in
    /// older snapshots.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::knobs::setting::checked_list"
    )]
    pub side: Vec<Setting>,
}

impl Snapshot {
    /// Every recorded value in the order a rollback or an undo restores them: the settings in
    /// reverse order of the apply that recorded them (a VIP is re-added to its NIC before it
    /// leaves `lo`), then what their writes changed on the side, then IRQ affinity and RPS
    /// masks, since restoring channels re-creates a NIC's queues and their IRQs.
    pub fn restore_order(&self) -> Vec<&Setting> {
        let mut out: Vec<&Setting> = self.settings.iter().rev().collect();
        let mut side: Vec<&Setting> = self
            .side
            .iter()
            .filter(|s| !self.settings.iter().any(|x| x.address() == s.address()))
            .collect();
        side.sort_by_key(|s| crate::side::restore_rank(s));
        out.extend(side);
        out.sort_by_key(|s| crate::plan::restores_late(s));
        out
    }
}

/// Where a snapshot was taken: its values belong to that tree and network namespace only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    /// `--root` (`/` for the live host).
    pub root: String,
    /// The network namespace (`net:[4026531833]`), when it could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netns: Option<String>,
    /// Whether the tree was the live kernel (`/`, or the host's `/proc` and `/sys` mounted
    /// elsewhere in the same network namespace, as `/host` in a DaemonSet pod).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub live: bool,
}

impl Place {
    /// Whether a snapshot taken at `self` may be restored at `here`: the same tree, or two
    /// live trees (the kernel seen through `/` on the host and through `/host` in a pod is one
    /// kernel); and not another network namespace, where both are known.
    pub fn same_as(&self, here: &Place) -> bool {
        let live = |p: &Place| p.live || p.root == "/";
        let netns_ok = self.netns.is_none() || here.netns.is_none() || self.netns == here.netns;
        netns_ok && (self.root == here.root || (live(self) && live(here)))
    }
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "--root {}", self.root)?;
        if let Some(n) = &self.netns {
            write!(f, " in network namespace {n}")?;
        }
        Ok(())
    }
}

/// Refuses a snapshot id that could leave `snapshots/` or hide there (`..`, `.x`, `a/b`).
pub(super) fn check_id(id: &str) -> Result<(), StoreError> {
    let ok = !id.is_empty()
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::BadId(id.into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_belongs_to_its_tree_or_to_the_live_kernel() {
        let p = |root: &str, netns: Option<&str>, live: bool| Place {
            root: root.into(),
            netns: netns.map(Into::into),
            live,
        };
        let host = Some("net:[4026531833]");
        let other = Some("net:[4026532001]");
        // One kernel seen through / and through a pod's /host, in one namespace.
        assert!(p("/host", host, true).same_as(&p("/", host, true)));
        assert!(p("/", host, false).same_as(&p("/host", host, true)));
        // Not across namespaces, nor between a live tree and a capture, nor two captures.
        assert!(!p("/host", host, true).same_as(&p("/", other, true)));
        assert!(!p("/", host, true).same_as(&p("/tmp/capture", host, false)));
        assert!(!p("/tmp/a", None, false).same_as(&p("/tmp/b", None, false)));
        assert!(p("/tmp/a", None, false).same_as(&p("/tmp/a", host, false)));
    }

    #[test]
    fn ids_stay_inside_the_snapshots_dir() {
        assert!(check_id("20260101T000000Z-001-42").is_ok());
        for bad in ["", "..", ".hidden", "a/b", "../etc", "a b"] {
            assert!(
                matches!(check_id(bad), Err(StoreError::BadId(_))),
                "{bad:?}"
            );
        }
    }
}
