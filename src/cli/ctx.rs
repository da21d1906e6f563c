//! What the commands that read the host share: the root tree and the seams to the live
//! kernel (or stand-ins on a captured tree), the profile catalog and the state dir; planning
//! a profile against them; and the agent's view of the same ([`crate::agent::Host`]).

use anyhow::{Result, bail};

use crate::apply::{self, ApplyError};
use crate::host::ethtool::Ethtool;
use crate::host::netlink::Netlink;
use crate::host::nft::Nft;
use crate::host::systemd::Systemctl;
use crate::host::{
    AddrOps, Files, ForeignServices, Host, LinkOps, NftOps, NicOps, Offline, RootFs, Services,
};
use crate::knobs;
use crate::plan::Plan;
use crate::profile::{self, Catalog};
use crate::snapshot::{self, Store};

pub(super) struct Ctx {
    pub(super) fs: RootFs,
    /// The live kernel's seams on a live tree; `Offline` on a captured tree.
    pub(super) nic: Box<dyn NicOps>,
    pub(super) addrs: Box<dyn AddrOps>,
    pub(super) links: Box<dyn LinkOps>,
    pub(super) services: Box<dyn Services>,
    pub(super) nft: Box<dyn NftOps>,
    pub(super) catalog: Catalog,
    pub(super) store: Store,
    pub(super) quiet: bool,
    pub(super) allow_host_global: bool,
}

impl Ctx {
    pub(super) fn host(&self) -> Host<'_> {
        Host {
            fs: &self.fs,
            nic: &*self.nic,
            addrs: &*self.addrs,
            links: &*self.links,
            services: &*self.services,
            nft: &*self.nft,
        }
    }

    pub(super) fn host_name(&self) -> String {
        knobs::sysctl::read(&self.fs, &"kernel.hostname".parse().expect("valid key"))
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "unknown".into())
    }

    /// Fails when `--root` is no host tree at all (a typo, an empty directory): every item
    /// would read as absent and the report would say "in sync".
    pub(super) fn check_root(&self) -> Result<()> {
        let root = self.fs.root();
        if !root.join("proc").is_dir() {
            bail!(
                "--root {}: there is no proc/ under it; give / or a captured tree with proc/ \
                 (and sys/)",
                root.display()
            );
        }
        Ok(())
    }

    /// Where this run works: `--root`, and the network namespace of that tree.
    pub(super) fn place(&self) -> snapshot::Place {
        snapshot::Place {
            root: self.fs.root().display().to_string(),
            netns: self
                .fs
                .read_link(&crate::host::paths::self_netns())
                .ok()
                .map(|l| l.display().to_string()),
            live: self.fs.is_live(),
        }
    }

    pub(super) fn load(&self, name: &str) -> Result<profile::Profile> {
        Ok(self.catalog.load(name)?)
    }

    pub(super) fn plan(&self, name: &str) -> Result<Plan> {
        self.plan_opts(name, true)
    }

    /// [`Ctx::plan`], with or without the boot-time conflicts (reports show them; an apply's
    /// report does not, so it does not read the sysctl.d files).
    pub(super) fn plan_opts(&self, name: &str, boot_conflicts: bool) -> Result<Plan> {
        self.check_root()?;
        let p = self.load(name)?;
        // Kept values only turn a rounded ring size from drift into `clamped`: an unreadable
        // file costs a warning, never the run.
        let kept = match self.store.kept() {
            Ok(k) => k,
            Err(e @ snapshot::StoreError::Unsafe { .. }) => return Err(e.into()),
            Err(e) => {
                tracing::warn!("{e}; ignoring the kept values");
                Default::default()
            }
        };
        let build = crate::plan::Build {
            allow_host_global: self.allow_host_global,
            boot_conflicts,
        };
        let plan = crate::plan::build_opts(&p, &self.host(), &kept, build);
        tracing::info!(
            "planned {}: {} items from {}",
            plan.profile,
            plan.entries.len(),
            p.sources.join(", ")
        );
        for i in plan.items() {
            tracing::debug!(
                "{} {} {}: {} -> {}",
                i.status,
                i.kind,
                i.object,
                i.live,
                i.desired
            );
        }
        Ok(plan)
    }

    /// [`Ctx::plan`], then with `--evidence` the counters tied to each item.
    pub(super) fn plan_evidence(
        &self,
        name: &str,
        ev: &crate::evidence::EvidenceArgs,
    ) -> Result<Plan> {
        ev.check().map_err(anyhow::Error::msg)?;
        let mut plan = self.plan(name)?;
        if let Some(interval) = ev.wanted() {
            crate::evidence::collect(&mut plan, &self.load(name)?, &self.host(), interval);
        }
        Ok(plan)
    }
}

/// The seams to the host besides its files.
pub(super) struct Seams {
    pub(super) nic: Box<dyn NicOps>,
    pub(super) addrs: Box<dyn AddrOps>,
    pub(super) links: Box<dyn LinkOps>,
    pub(super) services: Box<dyn Services>,
    pub(super) nft: Box<dyn NftOps>,
}

/// The seams for `root`: the live kernel's on a live tree (`/`, or the host's `/proc` and
/// `/sys` mounted in a pod that shares the host's network namespace: see `RootFs::is_live`),
/// `Offline` on a captured tree (or, in builds for the tests, file-backed stand-ins when
/// `HOSTTUNE_TEST_SEAMS=files`). systemctl only on `/`: from a pod it cannot reach the host's
/// systemd, so service items are `unsupported` there.
pub(super) fn seams(fs: &RootFs) -> Seams {
    if !fs.is_slash() {
        match crate::host::fs::live_tree(fs.root()) {
            Ok(()) => tracing::info!(
                "--root {}: live (the kernel's procfs, in this process's network namespace): \
                 NIC, address and link items use the kernel; services are unsupported",
                fs.root().display()
            ),
            Err(why) => tracing::info!(
                "--root {}: a captured tree ({why}): NIC, address, link and service items \
                 are unsupported",
                fs.root().display()
            ),
        }
    }
    if fs.is_live() {
        let services: Box<dyn Services> = if fs.is_slash() {
            Box::new(Systemctl::host())
        } else {
            Box::new(ForeignServices)
        };
        return Seams {
            nic: Box::new(Ethtool),
            addrs: Box::new(Netlink::new()),
            links: Box::new(Netlink::new()),
            services,
            nft: Box::new(Nft::host()),
        };
    }
    #[cfg(feature = "test-hooks")]
    if std::env::var("HOSTTUNE_TEST_SEAMS").as_deref() == Ok("files") {
        use crate::testing::file_seams::{FileNic, FileServices};
        return Seams {
            nic: Box::new(FileNic { fs: fs.clone() }),
            addrs: Box::new(Offline),
            links: Box::new(Offline),
            services: Box::new(FileServices { fs: fs.clone() }),
            nft: Box::new(Offline),
        };
    }
    Seams {
        nic: Box::new(Offline),
        addrs: Box::new(Offline),
        links: Box::new(Offline),
        services: Box::new(Offline),
        nft: Box::new(Offline),
    }
}

impl crate::agent::Host for Ctx {
    fn load(&self, name: &str) -> Result<profile::Profile> {
        Ctx::load(self, name)
    }
    fn plan(&self, p: &profile::Profile) -> Result<Plan> {
        let kept = self.store.kept().unwrap_or_default();
        Ok(crate::plan::build_with(
            p,
            &self.host(),
            &kept,
            self.allow_host_global,
        ))
    }
    fn run(&self, plan: &Plan, opts: &apply::Opts) -> Result<apply::Outcome, ApplyError> {
        apply::run_opts(&self.host(), &self.store, plan, opts)
    }
    fn store(&self) -> &Store {
        &self.store
    }
    fn host_name(&self) -> String {
        Ctx::host_name(self)
    }
    fn place(&self) -> snapshot::Place {
        Ctx::place(self)
    }
    fn live(&self) -> bool {
        self.fs.is_live()
    }
    fn ifaces(&self) -> Vec<String> {
        let names = self
            .fs
            .read_dir(&crate::host::paths::net_class())
            .unwrap_or_default();
        crate::types::RawIfName::split(names).0
    }
    fn evidence(&self, profile: &profile::Profile, plan: &mut Plan) {
        crate::evidence::collect(plan, profile, &self.host(), None);
    }
}
