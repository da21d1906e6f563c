//! The plan context: what several knobs read, read once per plan. The interface list, the
//! online and isolated CPUs, and one read and one parse of `/proc/interrupts` (about 11 MB on
//! a 256-CPU host) serve every NIC's IRQ placement.

use std::cell::OnceCell;

use crate::cpulist::CpuList;
use crate::host::{Host, paths};
use crate::irq::Interrupts;
use crate::knobs::netns::{self, Policy, Scope};
use crate::types::{IfName, RawIfName};

/// The values a [`PlanCx`] caches. Owned by the caller, which lends it to the context, so
/// that the parsed `/proc/interrupts` can borrow the text it was parsed from.
#[derive(Default)]
pub struct Cache {
    ifaces: OnceCell<(Vec<IfName>, Vec<RawIfName>)>,
    online: OnceCell<Result<CpuList, String>>,
    isolated: OnceCell<Result<CpuList, String>>,
    scope: OnceCell<Scope>,
    interrupts: OnceCell<Result<Interrupts, String>>,
}

/// The host and what was already read from it during this plan.
#[derive(Clone, Copy)]
pub struct PlanCx<'c> {
    pub host: Host<'c>,
    cache: &'c Cache,
    /// `--allow-host-global`.
    pub allow_host_global: bool,
}

impl<'c> PlanCx<'c> {
    /// A context reading `host`, caching in `cache`.
    pub fn new(host: Host<'c>, cache: &'c Cache) -> Self {
        Self {
            host,
            cache,
            allow_host_global: false,
        }
    }

    /// The namespace rule for this plan: where it runs (detected once) and whether host-global
    /// settings may be written from a namespace.
    pub fn netns(&self) -> Policy {
        Policy {
            scope: *self.cache.scope.get_or_init(|| netns::detect(self.host.fs)),
            allow_host_global: self.allow_host_global,
        }
    }

    /// Interface names under `/sys/class/net`, sorted (`lo` included), but for those that
    /// are not UTF-8 ([`PlanCx::raw_ifaces`]).
    pub fn ifaces(&self) -> &'c [IfName] {
        &self.listing().0
    }

    /// The interfaces under `/sys/class/net` whose names are not UTF-8: never tuned, only
    /// reported.
    pub fn raw_ifaces(&self) -> &'c [RawIfName] {
        &self.listing().1
    }

    fn listing(&self) -> &'c (Vec<IfName>, Vec<RawIfName>) {
        self.cache.ifaces.get_or_init(|| {
            let names = self
                .host
                .fs
                .read_dir(&paths::net_class())
                .unwrap_or_default();
            let (text, raw) = RawIfName::split(names);
            (text.iter().filter_map(|n| n.parse().ok()).collect(), raw)
        })
    }

    /// `/sys/devices/system/cpu/online`.
    pub fn online(&self) -> Result<&'c CpuList, String> {
        self.cache
            .online
            .get_or_init(|| self.read_list("online"))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// `/sys/devices/system/cpu/isolated` (a bare newline when none is).
    pub fn isolated(&self) -> Result<&'c CpuList, String> {
        self.cache
            .isolated
            .get_or_init(|| self.read_list("isolated"))
            .as_ref()
            .map_err(Clone::clone)
    }

    fn read_list(&self, file: &str) -> Result<CpuList, String> {
        let path = paths::cpu(file);
        let shown = || self.host.fs.display(&path).display().to_string();
        let text = self
            .host
            .fs
            .read(&path)
            .map_err(|e| format!("{}: {e}", shown()))?;
        text.parse().map_err(|e| format!("{}: {e}", shown()))
    }

    /// `/proc/interrupts`, read and parsed on first use.
    pub fn interrupts(&self) -> Result<&'c Interrupts, String> {
        let cache = self.cache;
        cache
            .interrupts
            .get_or_init(|| {
                let path = paths::interrupts();
                let shown = || self.host.fs.display(&path).display().to_string();
                let file = self
                    .host
                    .fs
                    .open_read(&path)
                    .map_err(|e| format!("{}: {e}", shown()))?;
                Interrupts::read_from(file).map_err(|e| format!("/proc/interrupts: {e}"))
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}
