//! The narrow seams between hosttune and the host: files under the root, NIC ioctls, addresses,
//! network devices and FOU ports, the service manager, and hosttune's nftables tables. Only resolve, observe and apply use them; fakes in
//! [`crate::testing`] implement the same traits.

pub mod abi;
pub mod addrs;
// The SIOCETHTOOL ABI: the one module allowed `unsafe`, each block with its SAFETY comment.
#[allow(unsafe_code)]
pub mod ethtool;
pub mod ethtool_cmds;
pub mod fs;
pub mod inroot;
pub mod linkops;
pub mod links;
pub mod netlink;
pub mod nft;
pub mod nic;
pub mod nicerr;
pub mod services;
pub mod systemd;

pub use addrs::{AddrAttrs, AddrError, AddrFlags, AddrOps, AddrScope, IfAddr, IfRoute};
pub use fs::{Files, RootFs, paths};
pub use linkops::{
    FouFamily, FouKind, FouPort, LinkChange, LinkError, LinkInfo, LinkKind, LinkOps, LinkSpec,
    TunnelInfo,
};
pub use nft::{NftError, NftFamily, NftOps, NftTable};
pub use nic::{
    ChannelParams, Coalesce, FeatureMap, FeatureState, FlowHash, FlowType, HashFields, NicCmd,
    NicData, NicError, NicOps, NicOpsExt, NicValue, Pause, RingParams, RssIndir, RxRings,
};
pub use services::{ServiceError, ServiceState, Services};

/// Everything the pipeline may touch on one host.
#[derive(Clone, Copy)]
pub struct Host<'a> {
    /// `/proc` and `/sys`, under `--root`.
    pub fs: &'a dyn Files,
    /// Ring and channel ioctls.
    pub nic: &'a dyn NicOps,
    /// Interface addresses (rtnetlink).
    pub addrs: &'a dyn AddrOps,
    /// Network devices (rtnetlink) and FOU ports (generic netlink).
    pub links: &'a dyn LinkOps,
    /// The service manager (systemd).
    pub services: &'a dyn Services,
    /// hosttune's own nftables tables (the `nft` command).
    pub nft: &'a dyn NftOps,
}

impl<'a> Host<'a> {
    /// A captured tree at `fs` with no kernel behind it: NIC, address, link and service items
    /// are `unsupported` (what `--root DIR` gives).
    pub fn offline(fs: &'a dyn Files) -> Self {
        static OFF: Offline = Offline;
        Host {
            fs,
            nic: &OFF,
            addrs: &OFF,
            links: &OFF,
            services: &OFF,
            nft: &OFF,
        }
    }
}

/// Stand-in for the live-only seams when `--root` names a captured tree: there is no kernel
/// behind it to ask for rings, addresses, devices or services, so those items are
/// `unsupported`.
#[derive(Debug, Default, Clone, Copy)]
pub struct Offline;

const OFFLINE: &str = "not available on an offline --root tree";

impl NicOps for Offline {
    fn get(&self, iface: &crate::types::IfName, cmd: NicCmd) -> Result<NicValue, NicError> {
        Err(NicError::unsupported(cmd.get_name(), iface, OFFLINE))
    }
    fn set(&self, iface: &crate::types::IfName, v: &NicValue) -> Result<(), NicError> {
        Err(NicError::unsupported(v.cmd().set_name(), iface, OFFLINE))
    }
}

impl AddrOps for Offline {
    fn list(&self) -> Result<Vec<IfAddr>, AddrError> {
        Err(AddrError::Unsupported(OFFLINE.into()))
    }
    fn add(
        &self,
        _: &crate::types::IfName,
        _: std::net::IpAddr,
        _: u8,
        _: &AddrAttrs,
    ) -> Result<(), AddrError> {
        Err(AddrError::Unsupported(OFFLINE.into()))
    }
    fn del(&self, _: &crate::types::IfName, _: std::net::IpAddr, _: u8) -> Result<(), AddrError> {
        Err(AddrError::Unsupported(OFFLINE.into()))
    }
}

fn offline_link(op: &'static str, object: String) -> LinkError {
    LinkError::Offline { op, object }
}

impl LinkOps for Offline {
    fn list(&self) -> Result<Vec<LinkInfo>, LinkError> {
        Err(offline_link("list", "links".into()))
    }
    fn create(&self, spec: &LinkSpec) -> Result<(), LinkError> {
        Err(offline_link("create", linkops::spec_object(spec)))
    }
    fn delete(&self, name: &crate::types::IfName) -> Result<(), LinkError> {
        Err(offline_link("delete", format!("link {name}")))
    }
    fn set(&self, name: &crate::types::IfName, _: &LinkChange) -> Result<(), LinkError> {
        Err(offline_link("set", format!("link {name}")))
    }
    fn fou_list(&self) -> Result<Vec<FouPort>, LinkError> {
        Err(offline_link("list", "fou ports".into()))
    }
    fn fou_add(&self, p: &FouPort) -> Result<(), LinkError> {
        Err(offline_link("add", linkops::fou_object(p)))
    }
    fn fou_del(&self, p: &FouPort) -> Result<(), LinkError> {
        Err(offline_link("del", linkops::fou_object(p)))
    }
    fn module(&self, module: &str) -> Result<linkops::modules::ModuleState, LinkError> {
        Err(offline_link("check", format!("module {module}")))
    }
    fn load(&self, module: &str) -> Result<(), LinkError> {
        Err(offline_link("load", format!("module {module}")))
    }
}

impl Services for Offline {
    fn state(&self, _: &str) -> Result<Option<ServiceState>, ServiceError> {
        Err(ServiceError::Unsupported(OFFLINE.into()))
    }
    fn set_active(&self, _: &str, _: bool) -> Result<(), ServiceError> {
        Err(ServiceError::Unsupported(OFFLINE.into()))
    }
    fn set_enabled(&self, _: &str, _: bool) -> Result<(), ServiceError> {
        Err(ServiceError::Unsupported(OFFLINE.into()))
    }
    fn restart(&self, _: &str) -> Result<(), ServiceError> {
        Err(ServiceError::Unsupported(OFFLINE.into()))
    }
}

impl NftOps for Offline {
    fn load(&self, family: NftFamily, name: &str, _: &NftTable) -> Result<(), NftError> {
        Err(offline_nft(family, name))
    }
    fn delete(&self, family: NftFamily, name: &str) -> Result<(), NftError> {
        Err(offline_nft(family, name))
    }
    fn get(&self, family: NftFamily, name: &str) -> Result<Option<NftTable>, NftError> {
        Err(offline_nft(family, name))
    }
}

fn offline_nft(family: NftFamily, name: &str) -> NftError {
    NftError::Unsupported {
        table: format!("{family} {name}"),
        why: OFFLINE.into(),
    }
}

/// The service manager seen from a live tree that is not `/` (`--root /host` in a DaemonSet
/// pod): `systemctl` in the pod talks to no systemd, or to another one than the host's, so
/// service items (irqbalance) are `unsupported` there, with a note saying why and what to do.
#[derive(Debug, Default, Clone, Copy)]
pub struct ForeignServices;

const FOREIGN: &str = "the service manager of a --root other than / cannot be reached from \
                       here (systemctl talks to this system's systemd, not the host's); \
                       manage the unit on the host (package, Ansible, or hosttune run there)";

impl Services for ForeignServices {
    fn state(&self, _: &str) -> Result<Option<ServiceState>, ServiceError> {
        Err(ServiceError::Unsupported(FOREIGN.into()))
    }
    fn set_active(&self, _: &str, _: bool) -> Result<(), ServiceError> {
        Err(ServiceError::Unsupported(FOREIGN.into()))
    }
    fn set_enabled(&self, _: &str, _: bool) -> Result<(), ServiceError> {
        Err(ServiceError::Unsupported(FOREIGN.into()))
    }
    fn restart(&self, _: &str) -> Result<(), ServiceError> {
        Err(ServiceError::Unsupported(FOREIGN.into()))
    }
}
