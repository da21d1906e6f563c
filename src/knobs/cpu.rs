//! The `[cpu]` knob: the isolated CPUs the host was booted with (`isolcpus=`). It cannot be
//! changed at run time: audit compares it and prints the kernel command line to add.

use serde::{Deserialize, Serialize};

use crate::cpulist::CpuList;
use crate::knobs::cx::PlanCx;
use crate::knobs::{Entry, Item, Kind, Status};

/// The `[cpu]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CpuSection {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isolated: Option<CpuList>,
}

impl CpuSection {
    /// Field by field, the child wins.
    pub fn merge(self, child: CpuSection) -> CpuSection {
        CpuSection {
            isolated: child.isolated.or(self.isolated),
        }
    }
}

/// Compares the expected isolated CPUs with `/sys/devices/system/cpu/isolated`. Equivalent to
/// `cat /sys/devices/system/cpu/isolated`. Drift has nothing to write: the item carries no
/// setting, and its note gives the kernel command line to boot with.
pub fn plan(c: &CpuSection, cx: &PlanCx) -> Vec<Entry> {
    diff(c, cx.isolated().cloned())
}

/// The expected set against the live one (pure).
pub fn diff(c: &CpuSection, live: Result<CpuList, String>) -> Vec<Entry> {
    let Some(want) = &c.isolated else {
        return Vec::new();
    };
    let item = |live: &str, status| Item::new(Kind::IsolatedCpus, "cpu", show(want), live, status);
    let live = match live {
        Ok(l) => l,
        Err(why) => return vec![Entry::new(item("-", Status::Error).note(why), None, None)],
    };
    let it = if &live == want {
        item(&show(&live), Status::Ok)
    } else {
        item(&show(&live), Status::Drift).note(reboot_note(want))
    };
    vec![Entry::new(it, None, None)]
}

/// What to do about drift: hosttune never edits the bootloader.
pub fn reboot_note(want: &CpuList) -> String {
    if want.is_empty() {
        "remove isolcpus= from the kernel command line and reboot; hosttune does not edit the \
         bootloader"
            .into()
    } else {
        format!(
            "add isolcpus={want} to the kernel command line and reboot; hosttune does not edit \
             the bootloader"
        )
    }
}

/// A bare newline in sysfs means no isolated CPUs.
fn show(l: &CpuList) -> String {
    if l.is_empty() {
        "none".into()
    } else {
        l.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan_on(isolated: &str, want: &str) -> Item {
        let c = CpuSection {
            isolated: Some(want.parse().unwrap()),
        };
        let mut e = diff(
            &c,
            isolated
                .parse()
                .map_err(|e: crate::cpulist::CpuListError| e.to_string()),
        );
        assert_eq!(e.len(), 1);
        assert!(
            e[0].desired.is_none() && e[0].live.is_none(),
            "nothing to write"
        );
        e.remove(0).item
    }

    #[test]
    fn drift_says_which_command_line_and_reboot() {
        let i = plan_on("2-3\n", "6-10");
        assert_eq!(
            (i.status, i.live.as_str(), i.desired.as_str()),
            (Status::Drift, "2-3", "6-10")
        );
        let note = i.note.unwrap();
        assert!(
            note.contains("isolcpus=6-10") && note.contains("reboot"),
            "{note}"
        );
        let i = plan_on("\n", "6-10");
        assert_eq!((i.status, i.live.as_str()), (Status::Drift, "none"));
    }

    #[test]
    fn equal_sets_are_ok_whatever_the_spelling() {
        assert_eq!(plan_on("6-10\n", "6,7,8-10").status, Status::Ok);
        assert_eq!(plan_on("\n", "").status, Status::Ok);
    }
}
