//! `--evidence` on fixture roots: the counters of several kernels through the binary, and the
//! seed's IRQ check (after pinning, a NIC's queue interrupts grow only on the target CPUs).

mod common;

use std::path::Path;
use std::process::Command;

use assert_cmd::cargo::cargo_bin;
use common::fixture::{FixtureHost, grow_interrupts};
use hosttune::evidence::{self, Evidence};
use hosttune::host::{Host, RootFs};
use hosttune::plan::Kind;
use hosttune::profile::Catalog;

fn run(root: &Path, state: &Path, args: &[&str]) -> (i32, String, String) {
    let o = Command::new(cargo_bin("hosttune"))
        .arg("--root")
        .arg(root)
        .arg("--state-dir")
        .arg(state)
        .args(args)
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into(),
        String::from_utf8_lossy(&o.stderr).into(),
    )
}

const PROFILE: &str = r#"
[sysctl]
"net.core.somaxconn" = { min = 500000 }
"net.core.netdev_max_backlog" = { min = 1000000 }
"net.ipv4.tcp_rmem" = { min = [4096, 16384, 4194304] }
"-net.netfilter.nf_conntrack_max" = { min = 700000 }
"#;

/// A root with one kernel's `/proc/net` fixtures and the profile's keys.
fn kernel_root(dir: &Path, version: &str) {
    let net = dir.join("proc/net");
    std::fs::create_dir_all(net.join("stat")).unwrap();
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/proc-net")
        .join(version);
    for f in ["netstat", "snmp", "softnet_stat"] {
        std::fs::copy(from.join(f), net.join(f)).unwrap();
    }
    if from.join("nf_conntrack").exists() {
        std::fs::copy(from.join("nf_conntrack"), net.join("stat/nf_conntrack")).unwrap();
    }
    for (key, v) in [
        ("net/core/somaxconn", "4096"),
        ("net/core/netdev_max_backlog", "1000"),
        ("net/ipv4/tcp_rmem", "4096\t131072\t6291456"),
    ] {
        let p = dir.join("proc/sys").join(key);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, format!("{v}\n")).unwrap();
    }
    let cpu = dir.join("sys/devices/system/cpu");
    std::fs::create_dir_all(&cpu).unwrap();
    std::fs::write(cpu.join("online"), "0-3\n").unwrap();
}

fn evidence_of(doc: &serde_json::Value, object: &str) -> Vec<(String, Option<u64>, u64)> {
    doc["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["object"] == object)
        .unwrap_or_else(|| panic!("{object}: {doc}"))["evidence"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    (
                        e["counter"].as_str().unwrap().to_string(),
                        e["cpu"].as_u64(),
                        e["value"].as_u64().unwrap(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn evidence_of_three_kernels_through_the_binary() {
    // (kernel, ListenOverflows, softnet dropped with its CPUs, TCPRcvQDrop)
    type Row<'a> = (&'a str, u64, &'a [(u64, u64)], Option<u64>);
    let table: &[Row] = &[
        ("4.19", 275243, &[(1, 523), (3, 7)], None),
        ("5.10", 1900, &[(1, 100), (3, 23)], Some(0)),
        ("6.18", 6907, &[(1, 42)], Some(17)),
    ];
    for (v, overflows, dropped, rcvq) in table {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        kernel_root(&root, v);
        let profile = tmp.path().join("p.toml");
        std::fs::write(&profile, PROFILE).unwrap();
        let p = profile.to_str().unwrap();
        let state = tmp.path().join("state");
        let (code, out, err) = run(
            &root,
            &state,
            &["audit", p, "--evidence", "--format", "json"],
        );
        assert_eq!(code, 1, "{v}: {out}{err}");
        let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
        let som = evidence_of(&doc, "net.core.somaxconn");
        assert_eq!(
            som[0],
            ("TcpExtListenOverflows".into(), None, *overflows),
            "{v}"
        );
        let nb = evidence_of(&doc, "net.core.netdev_max_backlog");
        let total: u64 = dropped.iter().map(|(_, n)| n).sum();
        assert_eq!(nb[0], ("softnet_dropped".into(), None, total), "{v}");
        let cpus: Vec<(u64, u64)> = nb[1..].iter().map(|(_, c, n)| (c.unwrap(), *n)).collect();
        assert_eq!(cpus, *dropped, "{v}");
        let rmem = evidence_of(&doc, "net.ipv4.tcp_rmem");
        assert_eq!(rmem.first().map(|e| e.2), *rcvq, "{v}");
        // The text report: drifted items with evidence first, each with its line.
        let (_, text, _) = run(&root, &state, &["audit", p, "--evidence"]);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[1].contains("net.core.somaxconn"), "{v}: {text}");
        assert_eq!(
            lines[2].trim(),
            format!(
                "somaxconn 4096 < 500000, ListenOverflows {overflows} since boot, ListenDrops {} \
                 since boot",
                [("4.19", 152465), ("5.10", 1900), ("6.18", 7012)]
                    .iter()
                    .find(|(k, _)| k == v)
                    .unwrap()
                    .1
            ),
            "{text}"
        );
        let (_, prom, _) = run(
            &root,
            &state,
            &["audit", p, "--evidence", "--format", "prometheus"],
        );
        assert!(
            prom.contains(&format!(
                ",kind=\"sysctl\",object=\"net.core.somaxconn\",\
                 counter=\"TcpExtListenOverflows\"}} {overflows}\n"
            )),
            "{prom}"
        );
        // Without --evidence nothing changes.
        let (_, plain, _) = run(&root, &state, &["audit", p, "--format", "json"]);
        assert!(!plain.contains("evidence"), "{plain}");
    }
}

#[test]
fn evidence_is_for_reports_only() {
    let h = FixtureHost::new("lb-ixgbe");
    let (code, _, err) = run(&h.root(), &h.state(), &["apply", "web", "--evidence"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--evidence reports"), "{err}");
    let (code, _, err) = run(
        &h.root(),
        &h.state(),
        &["audit", "web", "--evidence-interval", "0"],
    );
    assert_eq!(code, 2, "{err}");
}

/// The evidence of eth0's IRQ items when the queue interrupts grow between the two samples
/// by `grow_on(irq)`: per IRQ, (absolute count outside irq_cpus, increase outside).
fn irq_evidence(h: &FixtureHost, profile: &str, grow_on: &dyn Fn(u32) -> u32) -> Vec<(u64, u64)> {
    let fs = RootFs::new(h.root());
    let host = Host::offline(&fs);
    let p = Catalog::new(vec![]).load(profile).unwrap();
    let mut plan = hosttune::plan::build(&p, &host, &Default::default());
    let root = h.root();
    evidence::collect_between(
        &mut plan,
        &p,
        &host,
        Some(&mut || grow_interrupts(&root, 60..=63, grow_on, 1000)),
    );
    plan.items()
        .filter(|i| i.kind == Kind::IrqAffinity)
        .map(|i| {
            let total: &Evidence = i.evidence.iter().find(|e| e.cpu.is_none()).unwrap();
            (total.value, total.increase.unwrap())
        })
        .collect()
}

#[test]
fn after_pinning_queue_interrupts_grow_only_on_the_target_cpus() {
    let h = FixtureHost::new("lb-ixgbe");
    let profile = h.profile(
        "pin",
        "[[nic]]\nmatch = \"eth0\"\nirq_cpus = \"isolated\"\n",
    );
    // Before pinning: IRQs 60-63 sit on CPUs 0-3, outside the isolated 4-7, and grow there.
    let before = irq_evidence(&h, &profile, &|irq| irq - 60);
    assert_eq!(before.len(), 4);
    assert_eq!(before[0], (476140 + 900 + 917 + 934 + 1000, 1000));
    assert!(before.iter().all(|(_, inc)| *inc == 1000), "{before:?}");
    let (code, out, err) = run(&h.root(), &h.state(), &["apply", &profile]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(h.affinity(60), "4");
    // After: the kernel delivers them to 4-7; the counts outside stay what they were.
    let after = irq_evidence(&h, &profile, &|irq| irq - 56);
    assert!(
        after.iter().all(|(abs, inc)| *abs > 0 && *inc == 0),
        "{after:?}"
    );
    let (_, text, _) = run(&h.root(), &h.state(), &["audit", &profile, "--evidence"]);
    assert!(
        text.contains("eth0 queue 0 irq 60 4 (ok), interrupts outside irq_cpus 479891 since boot"),
        "{text}"
    );
}
