//! Library tests against the fakes of `hosttune::testing` and fixture trees: NIC planning
//! and apply with `FakeNic`, `[dsr]` with `FakeAddrs`, IRQ discovery and faults, and the
//! systemctl seam against a stand-in script. No binary runs, no kernel is touched. Each module
//! is one former `tests/NAME.rs`; its tests keep their names under `NAME::`.

#[path = "../common/mod.rs"]
mod common;

mod dsr_fake;
mod dsr_l3_fake;
mod dsr_mss_fake;
mod dsr_rig;
mod irq_fixtures;
mod irq_knobs;
mod nic_apply;
mod nic_coalesce;
mod nic_plan;
mod nic_rig;
mod rss_indir;
mod systemctl_script;
