//! One module per knob kind, and the two places that dispatch over them: [`plan`] (resolve,
//! observe, diff in apply order) and [`read`]/[`write`] of a single [`Setting`].

pub mod channels;
pub mod cpu;
pub mod dsr;
pub mod irq;
pub mod irqbalance;
pub mod nic;
pub mod ring;
pub mod sysctl;
pub mod txqueuelen;

use std::io;

use crate::host::{AddrError, Host, NicError, ServiceError};
use crate::knobs::nic::NicRule;
use crate::plan::{Kind, Plan, Setting, apply_kept};
use crate::profile::{Locator, Profile, ProfileError};
use crate::snapshot::Kept;
use crate::sysctl::SysctlKey;
use crate::types::IfName;

/// A failed read or write of one setting, naming it.
#[derive(Debug, thiserror::Error)]
pub enum KnobError {
    #[error("sysctl {key}: {op}: {source}")]
    Sysctl {
        key: SysctlKey,
        op: &'static str,
        source: io::Error,
    },
    #[error("{0}")]
    Nic(#[from] NicError),
    #[error("{0}")]
    Addr(#[from] AddrError),
    #[error("{0}")]
    Service(#[from] ServiceError),
    #[error("{path}: {op}: {source}")]
    File {
        path: String,
        op: &'static str,
        source: io::Error,
    },
    #[error("irq {irq}: {op}: {source}")]
    Irq {
        irq: u32,
        op: &'static str,
        source: io::Error,
    },
    /// `EIO` from `smp_affinity_list`: the kernel manages this IRQ's affinity itself.
    #[error("irq {irq}: kernel-managed, its affinity cannot be set (write smp_affinity_list: EIO)")]
    IrqManaged { irq: u32 },
    /// `ENOENT`: the IRQ was freed since it was read (queues re-created, interface down).
    #[error("irq {irq}: no longer exists")]
    IrqGone { irq: u32 },
    #[error("{iface}: {what}")]
    Other { iface: IfName, what: String },
    #[error("{0}: not supported by this build")]
    NotWired(&'static str),
}

impl KnobError {
    /// Whether the failure means "this host cannot do it" (reported `unsupported`), rather
    /// than a failed change.
    pub fn is_unsupported(&self) -> bool {
        matches!(
            self,
            KnobError::Nic(NicError::Unsupported { .. })
                | KnobError::Addr(AddrError::Unsupported(_))
                | KnobError::Service(ServiceError::Unsupported(_))
                | KnobError::IrqManaged { .. }
                | KnobError::IrqGone { .. }
        )
    }
}

/// Sections whose knob is not part of this build are rejected, never silently ignored. Within
/// `[[nic]]`, `irq_cpus` is its own knob ("irq"), wired apart from the queue settings ("nic").
pub fn reject_unwired(
    loc: &Locator,
    dsr: bool,
    nic: Option<&[NicRule]>,
    cpu: bool,
    irqbalance: bool,
    errs: &mut Vec<ProfileError>,
) {
    let wired = |name: &str| WIRED.contains(&name);
    let unsupported = |what: String| {
        ProfileError::invalid(
            loc.file(),
            format!("{what} is not supported by this version of hosttune"),
        )
    };
    for (present, name) in [(dsr, "dsr"), (cpu, "cpu"), (irqbalance, "irqbalance")] {
        if present && !wired(name) {
            errs.push(unsupported(format!("section [{name}]")));
        }
    }
    let Some(rules) = nic else { return };
    if !wired("nic") && !wired("irq") {
        errs.push(unsupported("section [nic]".into()));
        return;
    }
    let mut keys: Vec<&str> = Vec::new();
    for r in rules {
        let used = [
            (r.rings.is_some(), "rings", "nic"),
            (r.channels.is_some(), "channels", "nic"),
            (r.txqueuelen.is_some(), "txqueuelen", "nic"),
            (r.irq_cpus.is_some(), "irq_cpus", "irq"),
        ];
        for (present, key, knob) in used {
            if present && !wired(knob) && !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
    for key in keys {
        errs.push(unsupported(format!("[[nic]] key {key}")));
    }
}

/// Knobs beyond `[sysctl]` that this build plans and applies ("irq" is `[[nic]] irq_cpus`).
const WIRED: &[&str] = &["irq", "cpu", "irqbalance"];

/// Resolves and observes everything the profile covers and compares it (apply order:
/// sysctls, DSR, then per NIC channels, rings, txqueuelen, IRQ affinity; then the isolated-CPU
/// check and irqbalance).
pub fn plan(profile: &Profile, host: &Host, kept: &Kept) -> Plan {
    let mut entries = sysctl::diff(sysctl::observe(host.fs, &profile.sysctl), Kind::Sysctl);
    if let Some(d) = &profile.dsr {
        entries.extend(dsr::plan(d, host));
    }
    let mut rediscover = Vec::new();
    if let Some(rules) = &profile.nic {
        entries.extend(nic::plan(rules, host));
        for rule in rules {
            if let Some(cpus) = &rule.irq_cpus {
                rediscover.extend(nic::resolve(rule, host).into_iter().map(|iface| {
                    irq::Rediscover {
                        iface,
                        cpus: cpus.clone(),
                    }
                }));
            }
        }
    }
    if let Some(c) = &profile.cpu {
        entries.extend(cpu::plan(c, host));
    }
    if let Some(i) = &profile.irqbalance {
        entries.extend(irqbalance::plan(i, profile, host));
    }
    apply_kept(&mut entries, kept);
    Plan {
        profile: profile.name.clone(),
        entries,
        rediscover,
    }
}

/// Writes one setting. Equivalent to the matching `sysctl -w`, `ip addr`, `ethtool -G/-L`,
/// `ip link set txqueuelen`, `echo > smp_affinity_list` or `systemctl` command.
pub fn write(host: &Host, s: &Setting) -> Result<(), KnobError> {
    match s {
        Setting::Sysctl { key, value } => {
            sysctl::write(host.fs, key, value).map_err(|source| KnobError::Sysctl {
                key: key.clone(),
                op: "write",
                source,
            })
        }
        Setting::Txqueuelen { .. } => txqueuelen::write(host, s),
        Setting::IrqAffinity { .. } => irq::write(host, s),
        Setting::Vip { .. } => dsr::write(host, s),
        Setting::Rings { .. } => ring::write(host, s),
        Setting::Channels { .. } => channels::write(host, s),
        Setting::Service { .. } | Setting::File { .. } => irqbalance::write(host, s),
    }
}

/// Reads the live value at a setting's address.
pub fn read(host: &Host, at: &Setting) -> Result<Setting, KnobError> {
    match at {
        Setting::Sysctl { key, .. } => sysctl::read(host.fs, key)
            .map(|value| Setting::Sysctl {
                key: key.clone(),
                value,
            })
            .map_err(|source| KnobError::Sysctl {
                key: key.clone(),
                op: "read",
                source,
            }),
        Setting::Txqueuelen { .. } => txqueuelen::read(host, at),
        Setting::IrqAffinity { .. } => irq::read(host, at),
        Setting::Vip { .. } => dsr::read(host, at),
        Setting::Rings { .. } => ring::read(host, at),
        Setting::Channels { .. } => channels::read(host, at),
        Setting::Service { .. } | Setting::File { .. } => irqbalance::read(host, at),
    }
}
