//! One module per knob kind, and the two places that dispatch over them: [`plan`] (resolve,
//! observe, diff in apply order) and [`read`]/[`write`] of a single [`Setting`].

pub mod bound;
pub mod channels;
pub mod coalesce;
pub mod conntrack;
pub mod cpu;
pub mod cx;
pub mod dsr;
pub mod features;
pub mod ifglob;
pub mod irq;
pub mod irqbalance;
pub mod lint;
pub mod lro;
pub mod netns;
pub mod nft;
pub mod nic;
pub mod nic_knob;
pub mod pause;
pub mod portset;
pub mod queues;
pub mod ram;
pub mod raw_ifaces;
pub mod registry;
pub mod ring;
pub mod route;
pub mod rps;
pub mod rss_indir;
pub mod rx_flow_hash;
pub(crate) mod setting;
pub mod setting_io;
pub mod sysctl;
pub mod txqueuelen;
pub mod values;
pub mod xps;

use std::io;

use crate::host::{AddrError, Host, NftError, NicError, ServiceError};

use crate::sysctl::SysctlKey;
use crate::types::IfName;
// The shared vocabulary lives in the model, below every knob; these paths stay for callers.
pub use crate::model::{Item, Kind, Status};
pub use registry::describe;
/// One planned item of this crate's plan: the model's entry over [`Setting`] and a
/// `[sysctl]` bound.
pub type Entry = crate::model::Entry<Setting, bound::Within>;
pub use setting::SettingOps;
pub use values::Setting;

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
    #[error("{0}")]
    Link(#[from] crate::host::LinkError),
    #[error("{0}")]
    Nft(#[from] NftError),
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
                | KnobError::Nft(NftError::Unsupported { .. })
                | KnobError::IrqManaged { .. }
                | KnobError::IrqGone { .. }
        ) || matches!(self, KnobError::Link(e) if e.is_unsupported())
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

/// Writes one setting. Equivalent to the matching `sysctl -w`, `ip addr`, `ethtool -G/-L/-N`,
/// `ip link set txqueuelen`, `echo > rps_cpus`, `echo > smp_affinity_list` or `systemctl`
/// command.
pub fn write(host: &Host, s: &Setting) -> Result<(), KnobError> {
    s.write(host)
}

/// Reads the live value at a setting's address.
pub fn read(host: &Host, at: &Setting) -> Result<Setting, KnobError> {
    at.read(host)
}
