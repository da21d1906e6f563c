//! The resolved profile, [`Profile`]: the table the sections read and write once parents are
//! merged and every value is validated. It lives below profile loading (`crate::profile`),
//! which walks the section list to fill it, so that a [`super::Section`] can name it without
//! naming the loader: the dependency runs one way, loader to sections to this table.

use super::Extra;
use crate::knobs::cpu::CpuSection;
use crate::knobs::dsr::DsrSection;
use crate::knobs::irqbalance::IrqbalanceSection;
use crate::knobs::nic::NicRule;
use crate::knobs::sysctl::SysctlEntry;

/// A resolved profile: parents merged in, every value validated. This is the desired state.
/// Its sections are described by [`crate::section`]: the first five have a field each, every
/// later one keeps its value in `extra`. Loading, merging and printing it are in
/// [`crate::profile`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Profile {
    /// The name it was asked for by (a built-in name, a site name or a path).
    pub name: String,
    pub description: String,
    /// Files read, parents first (`builtin:web`, `/etc/hosttune/profiles/site.toml`).
    pub sources: Vec<String>,
    pub sysctl: Vec<SysctlEntry>,
    pub dsr: Option<DsrSection>,
    pub nic: Option<Vec<NicRule>>,
    pub cpu: Option<CpuSection>,
    pub irqbalance: Option<IrqbalanceSection>,
    /// The sections without a field of their own.
    pub extra: Extra,
}
