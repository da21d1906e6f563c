//! The textfile stays small on a large host: on the 256-CPU, 4,096-IRQ fixture of
//! benches/plan.rs (two 64-queue mlx5 ports, the built-in `lb`), `audit --format prometheus
//! --evidence` writes no per-CPU series by default, and its series count is the README's
//! function of items and kinds; `--evidence-per-cpu` adds at most the cap (256), the largest,
//! and counts the rest in `hosttune_evidence_series_dropped`.

use crate::common::hosttune;

#[path = "../../benches/common/host.rs"]
mod host;

use std::collections::BTreeMap;

use host::{SHAPES, write_interrupts, write_tree};

/// Series per metric name in a textfile.
fn series(text: &str) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for l in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let name = l.split(['{', ' ']).next().unwrap().to_string();
        *m.entry(name).or_default() += 1;
    }
    m
}

fn audit(root: &std::path::Path, profiles: &std::path::Path, extra: &[&str]) -> String {
    let o = hosttune()
        .root(root)
        .global("--profile-dir", profiles)
        .state(root.join("state"))
        .command(&["audit", "lb", "--format", "prometheus", "--evidence"])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        o.status.code().is_some_and(|c| c <= 1),
        "audit: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

#[test]
fn the_textfile_of_a_256_cpu_host_does_not_grow_with_cpus_times_irqs() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let shape = &SHAPES[0];
    assert_eq!(shape.cpus, 256);
    write_interrupts(shape, &root.join("proc/interrupts")).unwrap();
    write_tree(shape, &root);
    let profiles = dir.path().join("profiles");
    std::fs::create_dir_all(&profiles).unwrap();

    let text = audit(&root, &profiles, &[]);
    let s = series(&text);
    eprintln!("{s:#?}");
    assert!(!s.contains_key("hosttune_evidence_per_cpu"), "{s:?}");
    assert!(!s.contains_key("hosttune_evidence_series_dropped"), "{s:?}");
    // The README's count: one hosttune_item_in_sync per item, kinds x (1 + 8 statuses) for
    // hosttune_drift_items and hosttune_items, the items' evidence totals (one per counter
    // tied to an item: here interrupts outside irq_cpus of each queue IRQ), and 3 (in_sync,
    // last run, build_info).
    let items = s["hosttune_item_in_sync"];
    let kinds = s["hosttune_drift_items"];
    assert_eq!(s["hosttune_items"], kinds * 8, "{s:?}");
    let evidence = s.get("hosttune_evidence").copied().unwrap_or(0);
    let total: usize = s.values().sum();
    assert_eq!(total, items + kinds * 9 + evidence + 3, "{s:?}");
    // Per item and NIC, never per CPU: 2 ports x 64 queues of IRQ affinity, the sysctls.
    assert!(total < 400, "{total} series: {s:?}");

    let text = audit(&root, &profiles, &["--evidence-per-cpu"]);
    let s2 = series(&text);
    eprintln!("{s2:#?}");
    assert_eq!(s2["hosttune_evidence_per_cpu"], 256, "{s2:?}");
    let dropped: usize = text
        .lines()
        .find(|l| l.starts_with("hosttune_evidence_series_dropped"))
        .and_then(|l| l.rsplit(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        dropped > 1000,
        "dropped {dropped}: IRQs x CPUs outside irq_cpus"
    );
    assert_eq!(s2.values().sum::<usize>(), total + 256 + 1);
}
