//! One module per knob kind, and the two places that dispatch over them: [`plan`] (resolve,
//! observe, diff in apply order) and [`read`]/[`write`] of a single [`Setting`].

pub mod cpu;
pub mod dsr;
pub mod irqbalance;
pub mod nic;
pub mod sysctl;

use std::io;

use crate::host::{AddrError, Host, NicError, ServiceError, paths};
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
        )
    }
}

/// Sections whose knob is not part of this build are rejected, never silently ignored.
pub fn reject_unwired(
    loc: &Locator,
    dsr: bool,
    nic: bool,
    cpu: bool,
    irqbalance: bool,
    errs: &mut Vec<ProfileError>,
) {
    let wired = |name: &str| WIRED.contains(&name);
    for (present, name) in [
        (dsr, "dsr"),
        (nic, "nic"),
        (cpu, "cpu"),
        (irqbalance, "irqbalance"),
    ] {
        if present && !wired(name) {
            errs.push(ProfileError::invalid(
                loc.file(),
                format!("section [{name}] is not supported by this version of hosttune"),
            ));
        }
    }
}

/// Sections beyond `[sysctl]` that this build plans and applies.
const WIRED: &[&str] = &[];

/// Resolves and observes everything the profile covers and compares it (apply order:
/// sysctls, DSR, then per NIC channels, rings, txqueuelen, IRQ affinity; then the isolated-CPU
/// check and irqbalance).
pub fn plan(profile: &Profile, host: &Host, kept: &Kept) -> Plan {
    let mut entries = sysctl::diff(sysctl::observe(host.fs, &profile.sysctl), Kind::Sysctl);
    apply_kept(&mut entries, kept);
    Plan {
        profile: profile.name.clone(),
        entries,
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
        Setting::Txqueuelen { iface, len } => {
            let path = paths::net(iface, "tx_queue_len");
            host.fs
                .write(&path, &format!("{len}\n"))
                .map_err(|source| KnobError::File {
                    path: host.fs.display(&path).display().to_string(),
                    op: "write",
                    source,
                })
        }
        Setting::IrqAffinity { irq, cpus } => host
            .fs
            .write(&paths::irq(*irq, "smp_affinity_list"), &format!("{cpus}\n"))
            .map_err(|source| KnobError::Irq {
                irq: *irq,
                op: "write smp_affinity_list",
                source,
            }),
        Setting::Vip { .. } => Err(KnobError::NotWired("vip")),
        Setting::Rings { .. } => Err(KnobError::NotWired("rings")),
        Setting::Channels { .. } => Err(KnobError::NotWired("channels")),
        Setting::Service { .. } => Err(KnobError::NotWired("service")),
        Setting::File { .. } => Err(KnobError::NotWired("file")),
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
        Setting::Txqueuelen { iface, .. } => {
            let path = paths::net(iface, "tx_queue_len");
            let text = host.fs.read(&path).map_err(|source| KnobError::File {
                path: host.fs.display(&path).display().to_string(),
                op: "read",
                source,
            })?;
            let len = text.trim().parse().map_err(|_| KnobError::Other {
                iface: iface.clone(),
                what: format!("tx_queue_len {:?} is not a number", text.trim()),
            })?;
            Ok(Setting::Txqueuelen {
                iface: iface.clone(),
                len,
            })
        }
        Setting::IrqAffinity { irq, .. } => {
            let text = host
                .fs
                .read(&paths::irq(*irq, "smp_affinity_list"))
                .map_err(|source| KnobError::Irq {
                    irq: *irq,
                    op: "read smp_affinity_list",
                    source,
                })?;
            let cpus = text
                .parse()
                .map_err(|e: crate::cpulist::CpuListError| KnobError::Irq {
                    irq: *irq,
                    op: "parse smp_affinity_list",
                    source: io::Error::new(io::ErrorKind::InvalidData, e.to_string()),
                })?;
            Ok(Setting::IrqAffinity { irq: *irq, cpus })
        }
        Setting::Vip { .. } => Err(KnobError::NotWired("vip")),
        Setting::Rings { .. } => Err(KnobError::NotWired("rings")),
        Setting::Channels { .. } => Err(KnobError::NotWired("channels")),
        Setting::Service { .. } => Err(KnobError::NotWired("service")),
        Setting::File { .. } => Err(KnobError::NotWired("file")),
    }
}
