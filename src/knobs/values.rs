//! [`Setting`], data only: every kind of value a snapshot holds, as its file format. Each
//! variant's reads and writes are its knob's `SettingOps`, wired in `registry.rs`.

use crate::cpulist::CpuList;
use crate::host::{
    AddrAttrs, FeatureMap, FlowType, FouPort, HashFields, IfRoute, LinkKind, NftFamily,
};
use crate::sysctl::SysctlKey;
use crate::types::IfName;

/// A value at one place on the host that hosttune can read and write back. Snapshots are
/// lists of these, so the serialized form is a stable file format.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
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
    /// `/sys/class/net/IFACE/queues/rx-N/rps_cpus`, the kernel's hex mask as read.
    Rps {
        iface: IfName,
        queue: u32,
        mask: String,
    },
    /// The RSS hash fields of one flow type (`ethtool -N IFACE rx-flow-hash FLOW FIELDS`).
    RxFlowHash {
        iface: IfName,
        flow: FlowType,
        fields: HashFields,
    },
    /// `/proc/irq/N/smp_affinity_list`.
    IrqAffinity { irq: u32, cpus: CpuList },
    /// irqbalance's run and boot state.
    #[serde(rename = "service")]
    IrqbalanceService {
        unit: String,
        active: bool,
        enabled: bool,
    },
    /// irqbalance's environment file, whole; `None` when it does not exist.
    #[serde(rename = "file")]
    IrqbalanceFile {
        path: std::path::PathBuf,
        contents: Option<String>,
    },
    /// A route through an interface, present or not (recorded when a write can drop it).
    Route { route: IfRoute, present: bool },
    /// Large receive offload of a device (recorded when a write can turn it off).
    Lro { iface: IfName, on: bool },
    /// `/sys/class/net/IFACE/queues/tx-N/xps_cpus`, the kernel's hex mask as read.
    Xps {
        iface: IfName,
        queue: u32,
        mask: String,
    },
    /// Offload features by the kernel's names (`ethtool -k`): every feature as read, or the
    /// named ones to write.
    Features { iface: IfName, features: FeatureMap },
    /// The `ethtool -C` parameters an apply changed, by name.
    Coalesce {
        iface: IfName,
        params: std::collections::BTreeMap<crate::host::ethtool_cmds::CoalesceParam, u32>,
    },
    /// The pause frame fields (`ethtool -A`) an apply changed; `None` for one left alone.
    Pause {
        iface: IfName,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        autoneg: Option<bool>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rx: Option<bool>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tx: Option<bool>,
    },
    /// The RSS indirection table (`ethtool -x/-X IFACE`), every entry.
    RssIndir { iface: IfName, table: Vec<u32> },
    /// An L3 DSR decapsulation device: `ip link add IFACE type ipip external` (`external`),
    /// or the module's fallback device (`tunl0`, `ip6tnl0`), and whether it is up.
    Tunnel {
        iface: IfName,
        link: LinkKind,
        external: bool,
        state: TunnelState,
    },
    /// A FOU receive port (`ip fou add port 6080 gue`), open or not.
    Fou { port: FouPort, present: bool },
    /// One of hosttune's nftables tables (`hosttune_*`), whole: its text as `nft -f` loads
    /// it (as `nft list table` printed it, for a recorded one), `None` when it does not
    /// exist. `shape` is what identifies its content: chain declarations and rule comments.
    NftTable {
        family: NftFamily,
        name: String,
        contents: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        shape: Vec<String>,
    },
    /// `/sys/module/nf_conntrack/parameters/hashsize`, the raw text as read.
    ConntrackHashsize { value: String },
    /// hosttune's modprobe.d file (`/etc/modprobe.d/hosttune-conntrack.conf`), whole; `None`
    /// when it does not exist.
    ModprobeFile {
        path: std::path::PathBuf,
        contents: Option<String>,
    },
}

/// A decapsulation device's state. A fallback device cannot be deleted (only unloading its
/// module removes it, which hosttune never does): for it `absent` and `down` are the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TunnelState {
    Absent,
    Down,
    Up,
}

impl std::fmt::Display for TunnelState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Absent => "absent",
            Self::Down => "down",
            Self::Up => "up",
        })
    }
}
