//! Sysctl benchmarks, run with `cargo bench --bench sysctl` (as root for part 2).
//!
//! 1. `hosttune audit` of a fixture root with 1,000 to 20,000 sysctl keys: wall time, time per
//!    key (flat when the cost is linear) and peak RSS of one run.
//! 2. Side by side in a network namespace already in sync: `hosttune apply` of the `web`
//!    profile's namespaced sysctls against procps `sysctl -p` of the same keys, each run 200
//!    times from one shell inside the namespace (so `ip netns exec` is not part of the figure).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::resource::{UsageWho, getrusage};

/// The binary under test: this build's, or `HOSTTUNE_BENCH_BIN` (e.g. the static release
/// build the README installs).
fn bin() -> String {
    std::env::var("HOSTTUNE_BENCH_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_hosttune").to_string())
}

/// Runs `cmd` `n` times; returns the median wall time.
fn median_of(n: usize, mut cmd: impl FnMut() -> Command) -> Duration {
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

/// Peak RSS in KiB of one run of `cmd`, measured by a fresh copy of this program so that no
/// other child's peak is counted.
fn peak_rss_kib(cmd: &Command) -> i64 {
    let out = Command::new(std::env::current_exe().unwrap())
        .arg("--child-rss")
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
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
    println!("hosttune audit of a fixture root (median of 7 runs)");
    println!(
        "{:>8}  {:>10}  {:>10}  {:>10}",
        "keys", "wall", "per key", "peak RSS"
    );
    for keys in [1_000, 5_000, 10_000, 20_000] {
        let dir = tempfile::tempdir().unwrap();
        let prof = dir.path().join("bench.toml");
        std::fs::write(&prof, fixture(&dir.path().join("root"), keys)).unwrap();
        let state = dir.path().join("state");
        let cmd = || {
            let mut c = Command::new(bin());
            c.arg("--root")
                .arg(dir.path().join("root"))
                .arg("--state-dir")
                .arg(&state);
            c.arg("audit").arg(&prof);
            c
        };
        let t = median_of(7, cmd);
        println!(
            "{keys:>8}  {:>8.1}ms  {:>8.2}us  {:>6} KiB",
            t.as_secs_f64() * 1e3,
            t.as_secs_f64() * 1e6 / keys as f64,
            peak_rss_kib(&cmd())
        );
    }
}

/// The `web` profile's sysctls that exist and are writable in a network namespace.
fn web_namespaced() -> Vec<(String, String)> {
    let out = Command::new(bin()).args(["show", "web"]).output().unwrap();
    let table: toml::Table = toml::from_str(&String::from_utf8(out.stdout).unwrap()).unwrap();
    let global = |k: &str| {
        !k.starts_with("net.")
            || k.starts_with("net.core.") && k != "net.core.somaxconn"
            || k == "net.ipv4.tcp_mem"
            || k == "net.ipv4.tcp_max_orphans"
    };
    table["sysctl"]
        .as_table()
        .unwrap()
        .iter()
        .filter(|(k, _)| !k.starts_with('-') && !global(k))
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string()),
            )
        })
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
    let ht = format!(
        "{} --state-dir {} apply {}",
        bin(),
        state.display(),
        prof.display()
    );
    let sp = format!("sysctl -q -p {}", conf.display());
    let in_ns = |script: &str| {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &ns, "sh", "-c", script]);
        c
    };
    assert!(
        in_ns(&ht).stdout(Stdio::null()).status().unwrap().success(),
        "first apply"
    );
    let n = 200;
    let per_run = |cmd: &str| {
        let script =
            format!("i=0; while [ $i -lt {n} ]; do {cmd} >/dev/null || exit 9; i=$((i+1)); done");
        let t = Instant::now();
        assert!(in_ns(&script).status().unwrap().success(), "{cmd}");
        t.elapsed() / n
    };
    // Interleave and keep the better of three rounds each, so neither gets a cold cache.
    let (mut t_sp, mut t_ht) = (Duration::MAX, Duration::MAX);
    for _ in 0..3 {
        t_sp = t_sp.min(per_run(&sp));
        t_ht = t_ht.min(per_run(&ht));
    }
    let rss = |cmd: &str| peak_rss_kib(&in_ns(&format!("exec {cmd}")));
    println!(
        "\n{} namespaced sysctls of `web`, already in sync, per run ({n} runs, best of 3):",
        keys.len()
    );
    println!(
        "  sysctl -p        {:>6.2} ms  peak RSS {:>6} KiB  (writes every key)",
        t_sp.as_secs_f64() * 1e3,
        rss(&sp)
    );
    println!(
        "  hosttune apply   {:>6.2} ms  peak RSS {:>6} KiB  (reads every key, writes none)",
        t_ht.as_secs_f64() * 1e3,
        rss(&ht)
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
    // `cargo test` runs benchmarks once without `--bench`; only measure under `cargo bench`.
    if args.iter().any(|a| a == "--bench") {
        println!("binary: {}", bin());
        audit_scaling();
        apply_vs_sysctl_p();
    }
}
