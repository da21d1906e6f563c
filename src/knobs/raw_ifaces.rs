//! Interfaces whose names are not UTF-8. The kernel takes any bytes but `/`, `:`, whitespace
//! and NUL in a name (`ip link add $'bv\xff\xfe' type veth ...`), and hosttune names
//! interfaces as text everywhere (sysctl keys, snapshots, reports), so it leaves such an
//! interface alone. So that this is never silent, a plan reports each one the profile covers
//! (a `[[nic]]` rule, a glob sysctl key, the `[dsr]` ARP uplinks) as one `skipped` item, named
//! escaped (`bv\xff\xfe`), and the rest of the profile applies as usual.

use std::collections::BTreeMap;

use crate::host::paths;
use crate::knobs::cx::PlanCx;
use crate::knobs::nic::{self, NicRule};
use crate::knobs::{Entry, Item, Kind, Status};
use crate::sysctl::SysctlKey;
use crate::types::RawIfName;

/// How the note of every such item begins; [`is_raw_iface`] tells them by it.
const NOTE: &str = "interface name is not UTF-8";

/// Whether an item is the report of an interface whose name is not UTF-8: `apply` and the
/// agent's first cycle say each one, which they do not for other skipped items.
pub fn is_raw_iface(item: &Item) -> bool {
    item.status == Status::Skipped && item.note.as_deref().is_some_and(|n| n.starts_with(NOTE))
}

/// The interfaces with names that are not UTF-8 that a profile covers, each with the kind of
/// the first section that covers it and every profile line that does.
#[derive(Debug, Default)]
pub struct Covered {
    by_name: BTreeMap<RawIfName, (Kind, Vec<String>)>,
}

impl Covered {
    fn add(&mut self, name: &RawIfName, kind: Kind, what: String) {
        let (_, whats) = self
            .by_name
            .entry(name.clone())
            .or_insert_with(|| (kind, Vec::new()));
        if !whats.contains(&what) {
            whats.push(what);
        }
    }

    /// Those a glob sysctl key matched (`net.ipv4.conf.*.rp_filter`).
    pub fn sysctl(&mut self, raw: &[(RawIfName, SysctlKey)]) {
        for (name, key) in raw {
            self.add(name, Kind::Sysctl, key.to_string());
        }
    }

    /// Those `[dsr]` would report as ARP uplinks: every interface but `lo` with IPv4
    /// configuration (`/proc/sys/net/ipv4/conf/IFACE`).
    pub fn arp(&mut self, cx: &PlanCx) {
        let conf = paths::sysctl_dir(&["net".into(), "ipv4".into(), "conf".into()]);
        for name in cx.raw_ifaces() {
            if cx.host.fs.exists(&conf.join(name.as_os_str())) {
                self.add(name, Kind::Arp, "[dsr] ARP uplinks".into());
            }
        }
    }

    /// Those a `[[nic]]` rule covers.
    pub fn nic(&mut self, rules: &[NicRule], cx: &PlanCx) {
        for rule in rules {
            let kind = rule.kinds().first().copied().unwrap_or(Kind::Channels);
            let what = match &rule.pattern {
                Some(g) => format!("[[nic]] match = {:?}", g.as_str()),
                None => "[[nic]] (every physical NIC)".into(),
            };
            for name in nic::resolve_raw(rule, cx) {
                self.add(name, kind, what.clone());
            }
        }
    }

    /// One `skipped` item per interface, in name order.
    pub fn items(self) -> Vec<Entry> {
        self.by_name
            .into_iter()
            .map(|(name, (kind, whats))| {
                let note = format!(
                    "{NOTE}, so hosttune leaves this interface alone (covered by {}); rename \
                     it to tune it",
                    whats.join(", ")
                );
                let item = Item::new(kind, name.to_string(), "-", "-", Status::Skipped).note(note);
                Entry::new(item, None, None)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_item_per_interface_names_it_escaped_and_says_what_covers_it() {
        let odd = RawIfName::from(b"bv\xff\xfe".to_vec());
        let other = RawIfName::from(b"a\x80".to_vec());
        let key: SysctlKey = "net.ipv4.conf.*.rp_filter".parse().unwrap();
        let key6: SysctlKey = "net.ipv6.conf.*.forwarding".parse().unwrap();
        let mut c = Covered::default();
        c.sysctl(&[
            (odd.clone(), key.clone()),
            (odd.clone(), key6),
            (odd.clone(), key),
            (other, "net.ipv4.neigh.*.x".parse().unwrap()),
        ]);
        c.add(&odd, Kind::Txqueuelen, "[[nic]] match = \"bv*\"".into());
        let items: Vec<Item> = c.items().into_iter().map(|e| e.item).collect();
        assert_eq!(items.len(), 2, "{items:?}");
        assert_eq!(items[0].object, r"a\x80");
        let i = &items[1];
        assert_eq!(i.object, r"bv\xff\xfe");
        assert_eq!((i.kind, i.status), (Kind::Sysctl, Status::Skipped));
        let note = i.note.as_deref().unwrap();
        assert!(
            note.contains(
                "(covered by net.ipv4.conf.*.rp_filter, net.ipv6.conf.*.forwarding, \
                 [[nic]] match = \"bv*\")"
            ),
            "{note}"
        );
        // Valid in every output: plain ASCII.
        assert!(i.object.is_ascii() && note.is_ascii());
        assert!(is_raw_iface(i));
        let other = Item::new(Kind::Sysctl, "x", "-", "-", Status::Skipped).note("optional");
        assert!(!is_raw_iface(&other));
    }
}
