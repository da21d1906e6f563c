//! Real-kernel tests inside throw-away network namespaces (root and iproute2; skipped loudly
//! otherwise, a failure under `HOSTTUNE_REQUIRE_ROOT_TESTS=1`): namespaced sysctls, NIC knobs
//! on veths, `[dsr]` end to end, evidence, side effects, `--root` on a live tree, and the
//! netlink and ethtool seams. Each module is one former `tests/NAME.rs`; its tests keep their
//! names under `NAME::` (`cargo test --test netns dsr_e2e::`).

#[path = "../common/mod.rs"]
mod common;

mod conntrack_netns;
mod dsr_e2e;
mod dsr_mss_netns;
mod dsr_netns;
mod ethtool_cmds_live;
mod ethtool_live;
mod evidence_netns;
mod features_netns;
mod ifnames_netns;
mod in_sync_netns;
mod linkops_live;
mod live_root;
mod netlink_addrs;
mod netns_sysctl;
mod nic_netns;
mod rp_filter_netns;
mod rps_netns;
mod rxfh_live;
mod side_effects;
mod sysctl_values_netns;
mod xps_netns;
