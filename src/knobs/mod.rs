//! One module per knob kind, and the two places that dispatch over them: [`plan`] (resolve,
//! observe, diff in apply order) and [`read`]/[`write`] of a single [`Setting`].

pub mod channels;
pub mod cpu;
pub mod dsr;
pub mod ifglob;
pub mod irq;
pub mod irqbalance;
pub mod nic;
pub mod queues;
pub mod ring;
pub mod sysctl;
pub mod txqueuelen;

use std::io;

use crate::host::{AddrError, Host, NicError, ServiceError};
use crate::plan::{Kind, Plan, Setting, apply_kept};
use crate::profile::Profile;
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
    /// A write took effect but read back as something else, on a kind of value the kernel
    /// does not round: the change failed.
    #[error("{object}: wrote {wrote}, read back {read}")]
    Mismatch {
        object: String,
        wrote: String,
        read: String,
    },
    /// A fault injected by a test (`HOSTTUNE_FAULT`, builds with the `test-hooks` feature).
    #[cfg(feature = "test-hooks")]
    #[error("{0}")]
    Injected(String),
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

    /// Whether the setting's object no longer exists (an interface deleted, an IRQ freed, a
    /// per-interface key gone with its interface): a rollback reports it `gone` and restores
    /// the rest.
    pub fn is_gone(&self) -> bool {
        use nix::errno::Errno;
        match self {
            KnobError::Sysctl { source, .. } | KnobError::File { source, .. } => {
                source.kind() == io::ErrorKind::NotFound
                    || source.raw_os_error() == Some(Errno::ENODEV as i32)
            }
            KnobError::Irq { source, .. } => source.kind() == io::ErrorKind::NotFound,
            KnobError::IrqGone { .. } => true,
            KnobError::Nic(NicError::Os { errno, .. }) => *errno == Errno::ENODEV,
            KnobError::Addr(AddrError::NoSuchInterface(_)) => true,
            KnobError::Addr(AddrError::Os { errno, .. }) => *errno == Errno::ENODEV,
            _ => false,
        }
    }
}

/// Resolves and observes everything the profile covers and compares it (apply order:
/// sysctls, DSR, then per NIC channels, rings, txqueuelen, IRQ affinity; then the isolated-CPU
/// check and irqbalance).
pub fn plan(profile: &Profile, host: &Host, kept: &Kept) -> Plan {
    let mut entries = sysctl::diff(sysctl::observe(host.fs, &profile.sysctl), Kind::Sysctl);
    if let Some(d) = &profile.dsr {
        entries.extend(dsr::plan(d, &profile.sysctl, host));
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
