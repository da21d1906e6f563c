//! The plan: one [`Item`] per thing a profile covers (what the report shows) and, for items
//! that differ, the [`Setting`] to write and the one it replaces (what apply and the snapshot
//! use). Building it from observed values is pure; so is building a rollback plan from a
//! snapshot, which is why rollback is "just another plan".

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::cpulist::CpuList;
use crate::host::AddrAttrs;
use crate::sysctl::SysctlKey;
use crate::types::IfName;

/// What an item tunes. Serialized names are the report's `kind` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Sysctl,
    Vip,
    Arp,
    Ring,
    Channels,
    Txqueuelen,
    IrqAffinity,
    IsolatedCpus,
    Irqbalance,
}

impl Kind {
    /// Every kind, in report order.
    pub const ALL: [Kind; 9] = [
        Kind::Sysctl,
        Kind::Vip,
        Kind::Arp,
        Kind::Ring,
        Kind::Channels,
        Kind::Txqueuelen,
        Kind::IrqAffinity,
        Kind::IsolatedCpus,
        Kind::Irqbalance,
    ];

    /// The report name (`irq_affinity`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Sysctl => "sysctl",
            Kind::Vip => "vip",
            Kind::Arp => "arp",
            Kind::Ring => "ring",
            Kind::Channels => "channels",
            Kind::Txqueuelen => "txqueuelen",
            Kind::IrqAffinity => "irq_affinity",
            Kind::IsolatedCpus => "isolated_cpus",
            Kind::Irqbalance => "irqbalance",
        }
    }
}

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
}

impl Status {
    /// Every status, in summary order.
    pub const ALL: [Status; 7] = [
        Status::Ok,
        Status::Drift,
        Status::Skipped,
        Status::Unsupported,
        Status::Clamped,
        Status::Error,
        Status::Gone,
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
        }
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
        }
    }

    /// Adds an explanation (why skipped, what to do about drift that cannot be applied).
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }
}

/// A value at one place on the host that hosttune can read and write back. Snapshots are
/// lists of these, so the serialized form is a stable file format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Setting {
    /// `/proc/sys/KEY`, the raw text as read (so a restore is byte for byte).
    Sysctl { key: SysctlKey, value: String },
    /// An address on an interface, present or not. `attrs` are what a present one is added
    /// with (label, flags, scope, lifetimes): restored, never compared. Left out when they
    /// are the defaults, and absent from snapshots written before they were recorded, which
    /// then mean the defaults.
    Vip {
        iface: IfName,
        addr: std::net::IpAddr,
        prefix: u8,
        present: bool,
        #[serde(default, skip_serializing_if = "AddrAttrs::is_default")]
        attrs: AddrAttrs,
    },
    /// Ring sizes (`ethtool -G`); other counts are carried over from a fresh read.
    Rings { iface: IfName, rx: u32, tx: u32 },
    /// Channel counts (`ethtool -L`).
    Channels {
        iface: IfName,
        rx: u32,
        tx: u32,
        other: u32,
        combined: u32,
    },
    /// `/sys/class/net/IFACE/tx_queue_len`.
    Txqueuelen { iface: IfName, len: u32 },
    /// `/proc/irq/N/smp_affinity_list`.
    IrqAffinity { irq: u32, cpus: CpuList },
    /// A service's run and boot state.
    Service {
        unit: String,
        active: bool,
        enabled: bool,
    },
    /// A configuration file's whole contents; `None` when it does not exist.
    File {
        path: std::path::PathBuf,
        contents: Option<String>,
    },
}

impl Setting {
    /// The place this setting lives, for matching a snapshot entry with a live read and for
    /// the kept-values store (`sysctl net.core.somaxconn`, `channels eth0`).
    pub fn address(&self) -> String {
        match self {
            Setting::Sysctl { key, .. } => format!("sysctl {key}"),
            Setting::Vip {
                iface,
                addr,
                prefix,
                ..
            } => format!("vip {addr}/{prefix} on {iface}"),
            Setting::Rings { iface, .. } => format!("ring {iface}"),
            Setting::Channels { iface, .. } => format!("channels {iface}"),
            Setting::Txqueuelen { iface, .. } => format!("txqueuelen {iface}"),
            Setting::IrqAffinity { irq, .. } => format!("irq {irq}"),
            Setting::Service { unit, .. } => format!("service {unit}"),
            Setting::File { path, .. } => format!("file {}", path.display()),
        }
    }

    /// Whether two settings at the same address hold the same value, as the kernel compares
    /// them (sysctl values with whitespace folded; a VIP is there or not, whatever its
    /// attributes, whose lifetimes count down anyway).
    pub fn same_value(&self, other: &Setting) -> bool {
        match (self, other) {
            (Setting::Sysctl { key: a, value: x }, Setting::Sysctl { key: b, value: y }) => {
                a == b && crate::sysctl::same(x, y)
            }
            (
                Setting::Vip {
                    iface,
                    addr,
                    prefix,
                    present,
                    ..
                },
                Setting::Vip {
                    iface: i2,
                    addr: a2,
                    prefix: p2,
                    present: x2,
                    ..
                },
            ) => (iface, addr, prefix, present) == (i2, a2, p2, x2),
            _ => self == other,
        }
    }

    /// Whether the kernel or driver is known to round this kind of value on write, so that a
    /// read-back that differs is `clamped` (and remembered) rather than a failed write: ring
    /// sizes (drivers round to their descriptor granularity) and the sysctls in
    /// [`crate::sysctl::rounds`]. Anything else that reads back differently failed.
    pub fn may_round(&self) -> bool {
        match self {
            Setting::Rings { .. } => true,
            Setting::Sysctl { key, .. } => crate::sysctl::rounds(key),
            _ => false,
        }
    }
}

/// One planned item: the report line, the wanted setting and the live one. `desired` and
/// `live` are both present for anything apply could write.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub item: Item,
    pub desired: Option<Setting>,
    pub live: Option<Setting>,
}

impl Entry {
    /// Builds an entry.
    pub fn new(item: Item, desired: Option<Setting>, live: Option<Setting>) -> Self {
        Self {
            item,
            desired,
            live,
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

/// Everything a profile covers on one host, in the order apply works.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    pub profile: String,
    pub entries: Vec<Entry>,
    /// Interfaces whose queue IRQs apply plans again after it changes their channels.
    pub rediscover: Vec<crate::knobs::irq::Rediscover>,
}

impl Plan {
    /// The report lines.
    pub fn items(&self) -> impl Iterator<Item = &Item> {
        self.entries.iter().map(|e| &e.item)
    }

    /// The writes, in order.
    pub fn changes(&self) -> impl Iterator<Item = (&Setting, &Setting)> {
        self.entries.iter().filter_map(Entry::change)
    }

    /// Items that stop an apply before any write.
    pub fn errors(&self) -> impl Iterator<Item = &Item> {
        self.items().filter(|i| i.status == Status::Error)
    }

    /// Counts per status.
    pub fn summary(&self) -> Vec<(Status, usize)> {
        Status::ALL
            .iter()
            .map(|s| (*s, self.items().filter(|i| i.status == *s).count()))
            .collect()
    }
}

/// Marks items whose live value is what the kernel kept when an earlier apply asked for the
/// desired one (a driver rounding a ring size): those are `clamped`, not drift, and need no
/// write. `kept` maps a setting's address to (asked, kept).
pub fn apply_kept(entries: &mut [Entry], kept: &crate::snapshot::Kept) {
    for e in entries.iter_mut() {
        if e.item.status != Status::Drift {
            continue;
        }
        if let (Some(d), Some(l)) = (&e.desired, &e.live) {
            if let Some(k) = kept.get(&d.address()) {
                if k.asked.same_value(d) && k.kept.same_value(l) {
                    e.item.status = Status::Clamped;
                    e.item.note = Some("the kernel keeps this value for the one asked".into());
                }
            }
        }
    }
}

/// A rollback plan: every recorded setting is desired again; `live` is what is there now.
/// Pure: the caller reads the live values. Work goes in reverse order of the apply that
/// recorded them (a VIP is re-added to its NIC before it leaves `lo`), except that IRQ
/// affinity comes last: restoring channels re-creates a NIC's queue IRQs, which would lose
/// any affinity restored before.
/// A read error whose object has vanished (an interface deleted, an IRQ freed) is `gone`, so
/// that one vanished object does not block restoring the rest.
pub fn rollback_entries(
    recorded: &[Setting],
    live: Vec<Result<Setting, ReadFailure>>,
) -> Vec<Entry> {
    let mut pairs: Vec<(&Setting, Result<Setting, ReadFailure>)> =
        recorded.iter().zip(live).rev().collect();
    pairs.sort_by_key(|(s, _)| matches!(s, Setting::IrqAffinity { .. }));
    pairs
        .into_iter()
        .map(|(want, now)| {
            let (kind, object, desired) = describe(want);
            match now {
                Ok(now) => {
                    let (_, _, live_s) = describe(&now);
                    let status = if want.same_value(&now) {
                        Status::Ok
                    } else {
                        Status::Drift
                    };
                    Entry::new(
                        Item::new(kind, object, desired, live_s, status),
                        Some(want.clone()),
                        Some(now),
                    )
                }
                Err(f) => {
                    let status = match f {
                        ReadFailure::Gone(_) => Status::Gone,
                        ReadFailure::Unsupported(_) => Status::Unsupported,
                        ReadFailure::Other(_) => Status::Error,
                    };
                    Entry::new(
                        Item::new(kind, object, desired, "-", status).note(f.to_string()),
                        None,
                        None,
                    )
                }
            }
        })
        .collect()
}

/// Why a recorded setting could not be read back for a rollback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadFailure {
    /// Its object vanished since the snapshot.
    Gone(String),
    /// The host cannot do it (offline tree, kernel-managed IRQ).
    Unsupported(String),
    /// Anything else: blocks the rollback before any write.
    Other(String),
}

impl fmt::Display for ReadFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadFailure::Gone(w) => write!(f, "gone since the snapshot: {w}"),
            ReadFailure::Unsupported(w) | ReadFailure::Other(w) => f.write_str(w),
        }
    }
}

/// The report kind, object and value text of a setting.
pub fn describe(s: &Setting) -> (Kind, String, String) {
    match s {
        Setting::Sysctl { key, value } => (
            Kind::Sysctl,
            key.to_string(),
            crate::sysctl::normalize(value),
        ),
        Setting::Vip {
            iface,
            addr,
            prefix,
            present,
            attrs,
        } => (
            Kind::Vip,
            format!("{addr}/{prefix} on {iface}"),
            match (present, attrs.is_default()) {
                (false, _) => "absent".into(),
                (true, true) => "present".into(),
                (true, false) => format!("present ({attrs})"),
            },
        ),
        Setting::Rings { iface, rx, tx } => {
            (Kind::Ring, iface.to_string(), format!("rx {rx} tx {tx}"))
        }
        Setting::Channels {
            iface,
            rx,
            tx,
            other,
            combined,
        } => (
            Kind::Channels,
            iface.to_string(),
            format!("rx {rx} tx {tx} other {other} combined {combined}"),
        ),
        Setting::Txqueuelen { iface, len } => {
            (Kind::Txqueuelen, iface.to_string(), len.to_string())
        }
        Setting::IrqAffinity { irq, cpus } => {
            (Kind::IrqAffinity, format!("irq {irq}"), cpus.to_string())
        }
        Setting::Service {
            unit,
            active,
            enabled,
        } => (
            Kind::Irqbalance,
            unit.clone(),
            format!(
                "{} {}",
                if *active { "active" } else { "inactive" },
                if *enabled { "enabled" } else { "disabled" }
            ),
        ),
        Setting::File { path, contents } => (
            Kind::Irqbalance,
            path.display().to_string(),
            if contents.is_some() {
                "present"
            } else {
                "absent"
            }
            .into(),
        ),
    }
}
