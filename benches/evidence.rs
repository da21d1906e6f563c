//! Proof of effect, run with `cargo bench --bench evidence` (as root for part 1).
//!
//! 1. In a network namespace it creates (and deletes after, also on a failure): a server
//!    listens with the largest backlog and never accepts, a client opens N connections at
//!    once (N above the default somaxconn, 4096). ListenOverflows grows before the built-in
//!    `web` profile, not after `hosttune apply web`, and again after `hosttune rollback`;
//!    `audit web --evidence-interval` around a burst shows it at each step. hosttune runs
//!    in its own mount namespace with web's host-global keys on scratch files.
//! 2. The seed's IRQ check on the `lb-ixgbe` fixture host: eth0's queue interrupts grow on
//!    CPUs outside `irq_cpus` before pinning, and only on the target CPUs after.
//! 3. What `--evidence` costs: `audit web` with and without it.

#[path = "../tests/common/mod.rs"]
mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::burst::{Scratched, burst};
use common::fixture::{FixtureHost, grow_interrupts};

const N: usize = 6000;
const ROUNDS: usize = 3;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_hosttune")
}

/// The evidence lines of the report that mention `what`, with the item line above each.
fn lines_about(report: &str, what: &[&str]) -> String {
    let lines: Vec<&str> = report.lines().collect();
    let mut out = String::new();
    for (i, l) in lines.iter().enumerate() {
        if l.starts_with("    ") && what.iter().any(|w| l.contains(w)) {
            out.push_str(&format!("  {}\n  {l}\n", lines[i - 1]));
        }
    }
    out
}

/// `audit web --evidence-interval 2` with one burst in the middle of the interval; returns the
/// burst's overflows and the report.
fn step(h: &Scratched) -> (u64, String) {
    let child = h
        .command(&["audit", "web", "--evidence-interval", "2"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("hosttune");
    std::thread::sleep(Duration::from_millis(500));
    let overflows = burst(h.ns, N);
    let out = child.wait_with_output().expect("hosttune");
    (overflows, String::from_utf8_lossy(&out.stdout).into_owned())
}

fn namespace_part() {
    if !nix::unistd::Uid::effective().is_root() {
        println!("part 1 skipped: needs root to create a network namespace");
        return;
    }
    let ns = common::Netns::new("bench-evid");
    let h = Scratched::new(&ns, bin());
    let somaxconn = ns.sysctl("net.core.somaxconn");
    println!(
        "## listen queue overflows, {N} connections at once, namespace {}",
        ns.name
    );
    let mut figures = Vec::new();
    for (name, cmd) in [
        ("before web", None),
        ("after apply web", Some("apply")),
        ("after rollback", Some("rollback")),
    ] {
        if let Some(cmd) = cmd {
            let args: &[&str] = if cmd == "apply" {
                &["apply", "web"]
            } else {
                &["rollback"]
            };
            let (code, out, err) = h.run(args);
            assert_eq!(code, 0, "hosttune {cmd}: {out}{err}");
        }
        let (first, report) = step(&h);
        let mut bursts = vec![first];
        bursts.extend((1..ROUNDS).map(|_| burst(&ns, N)));
        println!(
            "\n### {name}: somaxconn {}\n$ hosttune audit web --evidence-interval 2   (one burst during the interval)\n{}",
            ns.sysctl("net.core.somaxconn"),
            lines_about(&report, &["somaxconn", "tcp_max_syn_backlog"])
        );
        figures.push((name, ns.sysctl("net.core.somaxconn"), bursts));
    }
    println!(
        "\n| step | somaxconn | ListenOverflows per burst of {N} ({ROUNDS} bursts) |\n|---|---:|---|"
    );
    for (name, s, b) in figures {
        let b: Vec<String> = b.iter().map(u64::to_string).collect();
        println!("| {name} | {s} | {} |", b.join(", "));
    }
    println!("(namespace default somaxconn: {somaxconn})");
}

fn irq_part() {
    println!(
        "\n## the seed's IRQ check on fixture host lb-ixgbe (eth0 queue IRQs 60-63, isolated 4-7)"
    );
    let h = FixtureHost::new("lb-ixgbe");
    let profile = h.profile(
        "pin",
        "[[nic]]\nmatch = \"eth0\"\nirq_cpus = \"isolated\"\n",
    );
    let audit = |cpu_of: &dyn Fn(u32) -> u32| {
        let root = h.root();
        let child = Command::new(bin())
            .args([
                "--root",
                root.to_str().unwrap(),
                "--state-dir",
                h.state().to_str().unwrap(),
            ])
            .args(["audit", &profile, "--evidence-interval", "1"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(400));
        grow_interrupts(&root, 60..=63, cpu_of, 1000);
        let out = child.wait_with_output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    println!("\n### before pinning: 1000 interrupts per queue during the interval, on CPUs 0-3");
    print!("{}", audit(&|irq| irq - 60));
    let st = Command::new(bin())
        .args([
            "--root",
            h.root().to_str().unwrap(),
            "--state-dir",
            h.state().to_str().unwrap(),
        ])
        .args(["apply", &profile])
        .output()
        .unwrap();
    assert!(st.status.success(), "{st:?}");
    println!("\n### after `hosttune apply`: 1000 interrupts per queue, on the target CPUs 4-7");
    print!("{}", audit(&|irq| irq - 56));
}

fn cost_part() {
    // lb-ixgbe with a 6.18 /proc/net: sysctl, IRQ and NIC evidence all read.
    let h = FixtureHost::new("lb-ixgbe");
    let root = h.root();
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/proc-net/6.18");
    std::fs::create_dir_all(root.join("proc/net/stat")).unwrap();
    for (from, to) in [
        ("netstat", "netstat"),
        ("snmp", "snmp"),
        ("softnet_stat", "softnet_stat"),
        ("nf_conntrack", "stat/nf_conntrack"),
    ] {
        std::fs::copy(src.join(from), root.join("proc/net").join(to)).unwrap();
    }
    let profile = h.profile(
        "cost",
        "[sysctl]\n\"net.core.somaxconn\" = { min = 500000 }\n\
         \"net.ipv4.tcp_rmem\" = { min = [4096, 16384, 4194304] }\n\
         [[nic]]\nmatch = \"eth*\"\nirq_cpus = \"isolated\"\n",
    );
    let time = |extra: &[&str]| {
        let mut t: Vec<Duration> = (0..31)
            .map(|_| {
                let s = Instant::now();
                let st = Command::new(bin())
                    .args([
                        "--root",
                        root.to_str().unwrap(),
                        "--state-dir",
                        h.state().to_str().unwrap(),
                    ])
                    .args(["audit", &profile])
                    .args(extra)
                    .stdout(Stdio::null())
                    .status()
                    .unwrap();
                assert!(st.code() == Some(1), "audit: {st}");
                s.elapsed()
            })
            .collect();
        t.sort();
        t[15]
    };
    println!(
        "\n## cost: `audit` of 2 sysctls and 8 queue IRQs on lb-ixgbe, median of 31: {:.2?} \
         without --evidence, {:.2?} with",
        time(&[]),
        time(&["--evidence"])
    );
}

fn main() {
    // `cargo bench` passes --bench; nothing else is taken.
    namespace_part();
    irq_part();
    cost_part();
}
