//! Items whose key a boot-time source sets to another value than the profile (the report's
//! "conflicts"). hosttune's unit runs after systemd-sysctl, so its value is the one in place
//! after boot; but `sysctl --system`, run later by anyone, writes the other file's value back.

use super::boot::{Boot, sources};
use crate::host::Files;
use crate::knobs::{Entry, Kind, Setting, Status};
// The type lives in the model, below the knobs whose items carry it.
pub use crate::model::Conflict;
use crate::sysctl::{SysctlKey, same};

/// Attaches to each item that writes a sysctl (`sysctl` items, and `arp` items through the
/// conf/all, conf/default or conf/IFACE key they write) the boot-time assignment that decides
/// its key, when that assignment's value differs from the desired one (whitespace folded,
/// numbers as numbers). Items skipped on this host are left alone: their key does not exist.
pub fn annotate(entries: &mut [Entry], fs: &dyn Files) {
    let wanted: Vec<(usize, SysctlKey, String)> = entries
        .iter()
        .enumerate()
        .filter_map(|(i, e)| wanted(e).map(|(k, v)| (i, k, v)))
        .collect();
    if wanted.is_empty() {
        return;
    }
    let boot = Boot::new(sources(fs));
    if boot.is_empty() {
        return;
    }
    for (i, key, want) in wanted {
        let Some(l) = boot.effective(&key) else {
            continue;
        };
        let value = l.value.as_deref().unwrap_or_default();
        // A bound is satisfied by any value within it, not only the one this host resolves to.
        let differs = match &entries[i].bound {
            Some(b) => !b.accepts(value),
            None => !same(value, &want),
        };
        if differs {
            entries[i].item.conflicts.push(Conflict {
                file: l.file.clone(),
                line: l.line,
                value: value.to_string(),
            });
        }
    }
}

/// The key an entry sets and the value it wants there.
fn wanted(e: &Entry) -> Option<(SysctlKey, String)> {
    if e.item.status == Status::Skipped {
        return None;
    }
    match &e.desired {
        Some(Setting::Sysctl { key, value }) => Some((key.clone(), value.clone())),
        Some(_) => None,
        // A sysctl item that cannot be written (a field-count error) still names its key.
        None if e.item.kind == Kind::Sysctl => e
            .item
            .object
            .parse()
            .ok()
            .map(|k| (k, e.item.desired.clone())),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::RootFs;
    use crate::knobs::Item;

    fn sysctl(key: &str, want: &str, status: Status) -> Entry {
        let item = Item::new(Kind::Sysctl, key, want, "0", status);
        let set = Setting::Sysctl {
            key: key.parse().unwrap(),
            value: want.into(),
        };
        match status {
            Status::Ok | Status::Drift => Entry::new(item, Some(set), None),
            _ => Entry::new(item, None, None),
        }
    }

    #[test]
    fn differing_boot_values_are_attached_and_equal_ones_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("etc/sysctl.d");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(
            d.join("99-other.conf"),
            "# other team\n\nnet.core.somaxconn = 4096\nnet.ipv4.tcp_rmem = 4096\t16384 4194304\n\
             net.ipv4.conf.all.arp_ignore = 0\nvm.swappiness = 10\nnet.ipv4.tcp_mem = 1 2\n",
        )
        .unwrap();
        let arp = Entry::new(
            Item::new(Kind::Arp, "arp_ignore all", "1", "0", Status::Drift),
            Some(Setting::Sysctl {
                key: "net.ipv4.conf.all.arp_ignore".parse().unwrap(),
                value: "1".into(),
            }),
            None,
        );
        let mut entries = vec![
            sysctl("net.core.somaxconn", "500000", Status::Drift),
            sysctl("net.ipv4.tcp_rmem", "4096 16384 4194304", Status::Ok),
            arp,
            sysctl("vm.swappiness", "100", Status::Skipped),
            sysctl("net.ipv4.tcp_mem", "1 2 3", Status::Error),
            sysctl("net.core.rmem_max", "1", Status::Drift),
        ];
        annotate(&mut entries, &RootFs::new(dir.path()));
        let got: Vec<Vec<(usize, &str)>> = entries
            .iter()
            .map(|e| {
                e.item
                    .conflicts
                    .iter()
                    .map(|c| (c.line, c.value.as_str()))
                    .collect()
            })
            .collect();
        assert_eq!(
            got,
            [
                vec![(3, "4096")],
                vec![],
                vec![(5, "0")],
                vec![],
                vec![(7, "1 2")],
                vec![]
            ]
        );
        assert_eq!(
            entries[0].item.conflicts[0].file,
            "/etc/sysctl.d/99-other.conf"
        );
    }
}
