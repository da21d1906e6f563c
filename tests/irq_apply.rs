//! `[[nic]] irq_cpus` through the binary on copies of the fixture hosts (`--root`): apply
//! spreads each NIC's queue IRQs evenly, touches nothing else, a second apply writes nothing,
//! and rollback restores every file byte for byte. Plan-time errors change nothing.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

use assert_cmd::cargo::cargo_bin;
use common::fixture::{FixtureHost, changed};

fn run(h: &FixtureHost, args: &[&str]) -> (i32, String, String) {
    let o = Command::new(cargo_bin("hosttune"))
        .arg("--root")
        .arg(h.root())
        .arg("--state-dir")
        .arg(h.state())
        .args(args)
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into(),
        String::from_utf8_lossy(&o.stderr).into(),
    )
}

fn irq_file(irq: u32) -> PathBuf {
    PathBuf::from(format!("proc/irq/{irq}/smp_affinity_list"))
}

/// Checks, on what the fixture tree holds after apply, that one NIC's queue IRQs are spread
/// evenly over `cpus`: each `smp_affinity_list` names one CPU of the set, and per CPU of the
/// set (those given none count as 0) the counts differ by at most one.
fn assert_even_spread(h: &FixtureHost, host: &str, irqs: &[u32], cpus: &BTreeSet<u32>) {
    let mut per_cpu: BTreeMap<u32, usize> = cpus.iter().map(|c| (*c, 0)).collect();
    for irq in irqs {
        let held = h.affinity(*irq);
        let cpu: u32 = held.parse().unwrap_or_else(|_| {
            panic!("{host} irq {irq}: smp_affinity_list {held:?} is not one CPU")
        });
        match per_cpu.get_mut(&cpu) {
            Some(n) => *n += 1,
            None => panic!("{host} irq {irq}: CPU {cpu} is outside the set {cpus:?}"),
        }
    }
    let (lo, hi) = (per_cpu.values().min(), per_cpu.values().max());
    assert!(
        hi.unwrap() - lo.unwrap() <= 1,
        "{host}: uneven spread over {cpus:?}: {per_cpu:?}"
    );
}

/// Applies `irq_cpus` to the interfaces matching `glob` and checks the whole cycle: `nics`
/// holds, per interface, (IRQ, CPU) for every queue IRQ.
fn cycle(host: &str, glob: &str, irq_cpus: &str, nics: &[Vec<(u32, u32)>]) {
    cycle_on(&FixtureHost::new(host), host, glob, irq_cpus, nics);
}

/// [`cycle`] on a fixture copy the caller may have changed; returns the audit report from
/// before the apply.
fn cycle_on(
    h: &FixtureHost,
    host: &str,
    glob: &str,
    irq_cpus: &str,
    nics: &[Vec<(u32, u32)>],
) -> String {
    let profile = h.profile(
        "site",
        &format!("[[nic]]\nmatch = \"{glob}\"\nirq_cpus = \"{irq_cpus}\"\n"),
    );
    let want: Vec<(u32, u32)> = nics.iter().flatten().copied().collect();
    let before = h.bytes();
    let (_, report, _) = run(h, &["audit", &profile]);
    let (code, out, err) = run(h, &["apply", &profile]);
    assert_eq!(code, 0, "{host}: {out}{err}");
    for (irq, cpu) in &want {
        assert_eq!(h.affinity(*irq), cpu.to_string(), "{host} irq {irq}");
    }
    // Even spread of each NIC's queue IRQs, on the values read back from the tree.
    for nic in nics {
        let irqs: Vec<u32> = nic.iter().map(|(irq, _)| *irq).collect();
        let cpus: BTreeSet<u32> = nic.iter().map(|(_, cpu)| *cpu).collect();
        assert_even_spread(h, host, &irqs, &cpus);
    }
    // Only queue IRQs' smp_affinity_list changed: control vectors and other devices' IRQs
    // keep their bytes.
    let after = h.bytes();
    let allowed: Vec<PathBuf> = want.iter().map(|(irq, _)| irq_file(*irq)).collect();
    for p in changed(&before, &after) {
        assert!(allowed.contains(&p), "{host}: {} changed", p.display());
    }

    let (code, out, err) = run(h, &["apply", &profile]);
    assert_eq!(code, 0, "{host}: {out}{err}");
    assert!(out.contains("in sync, nothing written"), "{host}: {out}");
    assert!(
        changed(&after, &h.bytes()).is_empty(),
        "{host}: second apply wrote"
    );
    let (code, out, err) = run(h, &["audit", &profile]);
    assert_eq!(code, 0, "{host}: {out}{err}");

    let (code, out, err) = run(h, &["rollback"]);
    assert_eq!(code, 0, "{host}: {out}{err}");
    assert_eq!(
        changed(&before, &h.bytes()),
        Vec::<PathBuf>::new(),
        "{host}"
    );
    report
}

fn spread(irqs: impl IntoIterator<Item = u32>, cpus: &[u32]) -> Vec<(u32, u32)> {
    irqs.into_iter().zip(cpus.iter().copied().cycle()).collect()
}

/// Both ports sit on NUMA node 0 (`local_cpulist` 0-7); of the isolated CPUs 2-3,10-11 only
/// 2 and 3 are on that node, so the queues go there and never to the remote 10 and 11.
#[test]
fn mlx5_dual_port_over_the_isolated_cpus_of_its_numa_node() {
    let cpus = [2, 3];
    let nics = [spread(89..=96, &cpus), spread(98..=105, &cpus)];
    let out = cycle_on(
        &FixtureHost::new("lb-mlx5"),
        "lb-mlx5",
        "ens1f*",
        "isolated",
        &nics,
    );
    assert!(
        out.contains("ens1f0np0 queue 0 irq 89") && out.contains("numa node 0"),
        "{out}"
    );
    assert!(!out.contains("no isolated CPU on numa node"), "{out}");
}

/// Moves both mlx5 ports' PCI functions to another NUMA node with the given CPUs.
fn mlx5_on_node(h: &FixtureHost, node: &str, local: &str) {
    for f in ["0000:3b:00.0", "0000:3b:00.1"] {
        let dev = h.root().join("sys/devices/pci0000:3a/0000:3a:00.0").join(f);
        std::fs::write(dev.join("numa_node"), format!("{node}\n")).unwrap();
        std::fs::write(dev.join("local_cpulist"), format!("{local}\n")).unwrap();
    }
}

/// On node 1 (CPUs 8-15) the node-local isolated CPUs are 10 and 11.
#[test]
fn mlx5_on_node_1_uses_the_isolated_cpus_of_node_1() {
    let h = FixtureHost::new("lb-mlx5");
    mlx5_on_node(&h, "1", "8-15");
    let cpus = [10, 11];
    let nics = [spread(89..=96, &cpus), spread(98..=105, &cpus)];
    let out = cycle_on(&h, "lb-mlx5", "ens1f*", "isolated", &nics);
    assert!(out.contains("numa node 1"), "{out}");
}

/// A node with no isolated CPU: the whole isolated set, and the report says why.
#[test]
fn no_isolated_cpu_on_the_nics_node_uses_every_isolated_cpu_with_a_note() {
    let h = FixtureHost::new("lb-mlx5");
    mlx5_on_node(&h, "2", "4-7,12-15");
    let cpus = [2, 3, 10, 11];
    let nics = [spread(89..=96, &cpus), spread(98..=105, &cpus)];
    let out = cycle_on(&h, "lb-mlx5", "ens1f*", "isolated", &nics);
    assert!(
        out.contains(
            "numa node 2; no isolated CPU on numa node 2 (local 4-7,12-15): using every \
             isolated CPU 2-3,10-11"
        ),
        "{out}"
    );
}

/// `numa_node` -1 (NUMA_NO_NODE) is unknown: the whole isolated set, no node shown.
#[test]
fn an_unknown_numa_node_uses_every_isolated_cpu() {
    let h = FixtureHost::new("lb-mlx5");
    mlx5_on_node(&h, "-1", "0-15");
    let cpus = [2, 3, 10, 11];
    let nics = [spread(89..=96, &cpus), spread(98..=105, &cpus)];
    let out = cycle_on(&h, "lb-mlx5", "ens1f*", "isolated", &nics);
    assert!(!out.contains("numa node"), "{out}");
}

/// `local` is the NIC's node's CPUs; an explicit list is used as given, remote CPUs included.
#[test]
fn mlx5_local_and_an_explicit_list_on_node_1() {
    let h = FixtureHost::new("lb-mlx5");
    mlx5_on_node(&h, "1", "8-15");
    let local: Vec<u32> = (8..=15).collect();
    let nics = [spread(89..=96, &local), spread(98..=105, &local)];
    let out = cycle_on(&h, "lb-mlx5", "ens1f*", "local", &nics);
    assert!(out.contains("numa node 1"), "{out}");
    let h = FixtureHost::new("lb-mlx5");
    mlx5_on_node(&h, "1", "8-15");
    let nics = [spread(89..=96, &[2, 3]), spread(98..=105, &[2, 3])];
    let out = cycle_on(&h, "lb-mlx5", "ens1f*", "2-3", &nics);
    assert!(!out.contains("numa node"), "{out}");
}

#[test]
fn i40e_over_isolated_cpus_skips_misc_and_fdir() {
    let cpus = [8, 9, 10, 11];
    let nics = [spread(96..=103, &cpus), spread(106..=113, &cpus)];
    cycle("lb-i40e", "eth*", "isolated", &nics);
}

#[test]
fn ixgbe_over_isolated_cpus_skips_the_other_cause_vector() {
    let cpus = [4, 5, 6, 7];
    let nics = [spread(60..=63, &cpus), spread(65..=68, &cpus)];
    cycle("lb-ixgbe", "eth*", "isolated", &nics);
}

#[test]
fn virtio_local_is_every_online_cpu_without_a_numa_node() {
    let cpus = [0, 1, 2, 3];
    let nics = [spread(25..=32, &cpus), spread(39..=42, &cpus)];
    cycle("vm-virtio", "eth*", "local", &nics);
}

#[test]
fn virtio_with_a_cpu_list() {
    cycle("vm-virtio", "eth0", "1,3", &[spread(25..=32, &[1, 3])]);
}

/// A plan-time error: exit 2, one line naming the interface, nothing written.
fn refused(host: &str, irq_cpus: &str, says: &str) {
    let h = FixtureHost::new(host);
    let profile = h.profile(
        "site",
        &format!("[[nic]]\nmatch = \"eth0\"\nirq_cpus = \"{irq_cpus}\"\n"),
    );
    let before = h.bytes();
    let (code, out, err) = run(&h, &["apply", &profile]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("interface eth0") && err.contains(says),
        "{err}"
    );
    assert!(err.contains("nothing was changed"), "{err}");
    assert!(changed(&before, &h.bytes()).is_empty());
    let (code, out, _) = run(&h, &["audit", &profile]);
    assert_eq!(code, 2);
    assert!(out.contains("error"), "{out}");
}

#[test]
fn isolated_without_isolated_cpus_is_a_plan_time_error() {
    refused("vm-virtio", "isolated", "no isolated CPUs");
}

#[test]
fn a_cpu_that_is_not_online_is_a_plan_time_error() {
    refused("vm-virtio", "2-4", "CPU 4 is not online (online: 0-3)");
    // The i40e host has CPU 5 offline, a gap inside its range.
    refused("lb-i40e", "4-6", "CPU 5 is not online");
}

#[test]
fn isolated_cpu_drift_is_reported_and_never_written() {
    let h = FixtureHost::new("lb-mlx5");
    let profile = h.profile("site", "[cpu]\nisolated = \"6-10\"\n");
    let before = h.bytes();
    let (code, out, _) = run(&h, &["audit", &profile]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("isolated_cpus") && out.contains("isolcpus=6-10"),
        "{out}"
    );
    let (code, out, err) = run(&h, &["apply", &profile]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("not applied isolated_cpus cpu: 2-3,10-11 -> 6-10"),
        "{out}"
    );
    assert!(out.contains("reboot"), "{out}");
    assert!(changed(&before, &h.bytes()).is_empty());
}
