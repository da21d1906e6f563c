//! Sysctl benchmarks, run with `cargo bench --bench sysctl` (as root for part 2).
//!
//! 1. `hosttune audit` of a fixture root with 1,000 to 20,000 sysctl keys: wall time and peak
//!    RSS per run, and time per key, which must stay flat (linear cost).
//! 2. Side by side in a fresh network namespace already in sync: `hosttune apply` of the `web`
//!    profile's namespaced sysctls against procps `sysctl -p` of the same keys.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::resource::{UsageWho, getrusage};

const BIN: &str = env!("CARGO_BIN_EXE_hosttune");

/// Runs `cmd` `n` times; returns the median wall time. Peak RSS of children is read after.
fn time_runs(n: usize, mut cmd: impl FnMut() -> Command) -> Duration {
    let mut times: Vec<Duration> = (0..n)
        .map(|_| {
            let t = Instant::now();
            let st = cmd()
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .expect("run");
            assert!(
                st.code().is_some_and(|c| c <= 1),
                "benchmark command failed: {st}"
            );
            t.elapsed()
        })
        .collect();
    times.sort();
    times[n / 2]
}

fn peak_child_rss_kib() -> i64 {
    getrusage(UsageWho::RUSAGE_CHILDREN)
        .map(|u| u.max_rss())
        .unwrap_or(-1)
}

fn fixture(dir: &Path, keys: usize) -> String {
    let mut profile = String::from("[sysctl]\n");
    for i in 0..keys {
        let (a, b) = (i / 100, i % 100);
        let d = dir.join(format!("proc/sys/bench/g{a}"));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(format!("k{b}")), format!("{}\t{}\n", i, i * 2)).unwrap();
        let want = if i % 10 == 0 {
            format!("{} {}", i, i * 3)
        } else {
            format!("{} {}", i, i * 2)
        };
        profile.push_str(&format!("\"bench.g{a}.k{b}\" = \"{want}\"\n"));
    }
    profile
}

fn audit_scaling() {
    println!("audit of a fixture root (median of 7 runs, release build)");
    println!(
        "{:>8}  {:>10}  {:>12}  {:>12}",
        "keys", "wall", "per key", "peak RSS"
    );
    for keys in [1_000, 5_000, 10_000, 20_000] {
        let dir = tempfile::tempdir().unwrap();
        let prof = dir.path().join("bench.toml");
        std::fs::write(&prof, fixture(&dir.path().join("root"), keys)).unwrap();
        let state = dir.path().join("state");
        let t = time_runs(7, || {
            let mut c = Command::new(BIN);
            c.arg("--root")
                .arg(dir.path().join("root"))
                .arg("--state-dir")
                .arg(&state);
            c.arg("audit").arg(&prof);
            c
        });
        println!(
            "{keys:>8}  {:>8.1}ms  {:>10.2}us",
            t.as_secs_f64() * 1e3,
            t.as_secs_f64() * 1e6 / keys as f64
        );
    }
    println!(
        "peak RSS of the largest audit: {} KiB",
        peak_child_rss_kib()
    );
}

/// The `web` profile's keys that exist and are writable in a network namespace.
fn web_namespaced() -> Vec<(String, String)> {
    let out = Command::new(BIN).args(["show", "web"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let table: toml::Table = toml::from_str(&text).unwrap();
    let sysctl = table["sysctl"].as_table().unwrap();
    sysctl
        .iter()
        .filter(|(k, _)| !k.starts_with('-'))
        .filter(|(k, _)| {
            k.starts_with("net.") && !k.starts_with("net.core.") && *k != "net.ipv4.tcp_mem"
        })
        .filter(|(k, _)| *k != "net.ipv4.tcp_max_orphans")
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string()),
            )
        })
        .chain([("net.core.somaxconn".to_string(), "500000".to_string())])
        .collect()
}

fn apply_vs_sysctl_p() {
    if !nix::unistd::Uid::effective().is_root() {
        println!("\n*** skipped apply vs sysctl -p: needs root for a network namespace ***");
        return;
    }
    let ns = format!("ht-bench-{}", std::process::id());
    assert!(
        Command::new("ip")
            .args(["netns", "add", &ns])
            .status()
            .unwrap()
            .success()
    );
    let dir = tempfile::tempdir().unwrap();
    let keys = web_namespaced();
    let conf = dir.path().join("web.conf");
    let prof = dir.path().join("web-ns.toml");
    let mut c = String::new();
    let mut p = String::from("[sysctl]\n");
    for (k, v) in &keys {
        c.push_str(&format!("{k} = {v}\n"));
        p.push_str(&format!("\"{k}\" = \"{v}\"\n"));
    }
    std::fs::write(&conf, c).unwrap();
    std::fs::write(&prof, p).unwrap();
    let state = dir.path().join("state");
    let exec = |args: &[&str]| {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &ns]).args(args);
        c
    };
    let bin_args = [
        "--state-dir",
        state.to_str().unwrap(),
        "apply",
        prof.to_str().unwrap(),
    ];
    let mut first = exec(&[BIN]);
    first.args(bin_args);
    assert!(first.status().unwrap().success());
    let n = 50;
    let t_sysctl = time_runs(n, || exec(&["sysctl", "-q", "-p", conf.to_str().unwrap()]));
    let t_ht = time_runs(n, || {
        let mut c = exec(&[BIN]);
        c.args(bin_args);
        c
    });
    println!(
        "\n{} namespaced keys of `web`, host already in sync, median of {n} runs via ip netns exec:",
        keys.len()
    );
    println!(
        "  sysctl -p        {:>7.2}ms (writes every key)",
        t_sysctl.as_secs_f64() * 1e3
    );
    println!(
        "  hosttune apply   {:>7.2}ms (reads every key, writes none)",
        t_ht.as_secs_f64() * 1e3
    );
    println!(
        "  peak RSS of any child so far: {} KiB",
        peak_child_rss_kib()
    );
    let _ = Command::new("ip").args(["netns", "del", &ns]).status();
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child-rss") {
        let st = Command::new(&args[2])
            .args(&args[3..])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        assert!(st.is_ok(), "cannot run {}", args[2]);
        println!(
            "{}",
            getrusage(UsageWho::RUSAGE_CHILDREN)
                .map(|u| u.max_rss())
                .unwrap_or(-1)
        );
        return;
    }
    // `cargo test --benches` runs this with --test-ish args; only benchmark under `cargo bench`.
    if args.iter().any(|a| a == "--bench") {
        audit_scaling();
        apply_vs_sysctl_p();
    }
}
